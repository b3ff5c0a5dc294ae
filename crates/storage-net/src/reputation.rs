//! Audit reputation of a storage provider, Storj-style, in deterministic fixed-point integers.
//!
//! # The model (Storj's audit score)
//!
//! ```text
//! after each audit, v = +1 on success, −1 on failure:
//!   α ← λ·α + w·(1 + v)/2
//!   β ← λ·β + w·(1 − v)/2
//! score = α / (α + β); the provider is disqualified when score < 0.96
//! λ = 0.999, w = 1, α₀ = 1000, β₀ = 0
//! ```
//!
//! `α` counts (forgetfully) passed audits and `β` failed ones; with `λ = 0.999` the memory is about
//! a thousand audits. A fresh provider starts at score 1 with α = 1000 — as if it had passed
//! a thousand audits — so one early failure does not disqualify it, but 41 failures in a row do
//! (0.999^41 < 0.96 ≤ 0.999^40).
//!
//! # Fixed point
//!
//! `α` and `β` are `u64` counts of [`REPUTATION_SCALE`]ths (10^-9). `λ` is the exact fraction
//! `decay_numerator / decay_denominator`; `λ·α` rounds down (towards zero), the only rounding.
//! The score is reported in parts per million, rounded down; disqualification compares
//! `α · 10^6 < threshold_ppm · (α + β)` exactly, in `u128`. The same audits give the same bits on
//! every machine: the state machine can run this.
//!
//! # Bytes
//!
//! [`AuditReputation::to_bytes`]: α then β, each `u64` little-endian (16 bytes).

/// Fixed-point scale of α and β: 10^9 units per audit.
pub const REPUTATION_SCALE: u64 = 1_000_000_000;
/// Parts per million: the unit of scores and thresholds.
pub const PPM: u64 = 1_000_000;

/// The constants of the reputation model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReputationParams {
    /// λ's numerator (Storj: 999).
    pub decay_numerator: u64,
    /// λ's denominator (Storj: 1000); λ must be at most 1.
    pub decay_denominator: u64,
    /// w, in [`REPUTATION_SCALE`] units (Storj: 1).
    pub weight: u64,
    /// α₀, in [`REPUTATION_SCALE`] units (Storj: 1000).
    pub initial_alpha: u64,
    /// β₀, in [`REPUTATION_SCALE`] units (Storj: 0).
    pub initial_beta: u64,
    /// A provider whose score falls below this, in parts per million, is disqualified
    /// (Storj: 0.96).
    pub disqualify_below_ppm: u64,
}

impl ReputationParams {
    /// Storj's audit reputation constants: λ = 0.999, w = 1, α₀ = 1000, β₀ = 0, threshold 0.96.
    pub const STORJ: ReputationParams = ReputationParams {
        decay_numerator: 999,
        decay_denominator: 1000,
        weight: REPUTATION_SCALE,
        initial_alpha: 1000 * REPUTATION_SCALE,
        initial_beta: 0,
        disqualify_below_ppm: 960_000,
    };

    /// Whether the constants make sense: `0 < λ ≤ 1`, `w > 0`, `α₀ + β₀ > 0`, a threshold of at
    /// most 1, and no overflow: `max(α₀, β₀, w/(1 − λ))` stays below 2^62.
    pub fn is_valid(&self) -> bool {
        let decay_ok = self.decay_denominator > 0
            && self.decay_numerator > 0
            && self.decay_numerator <= self.decay_denominator;
        let start_ok = u128::from(self.initial_alpha) + u128::from(self.initial_beta) > 0;
        let bound = 1u128 << 62;
        // With λ < 1, α and β stay below max(start, w · den / (den − num)).
        let steady = if self.decay_numerator < self.decay_denominator {
            u128::from(self.weight) * u128::from(self.decay_denominator)
                / u128::from(self.decay_denominator - self.decay_numerator)
        } else {
            // λ = 1 never forgets: refuse, α + β would grow without bound.
            bound
        };
        decay_ok
            && start_ok
            && self.weight > 0
            && self.disqualify_below_ppm <= PPM
            && u128::from(self.initial_alpha) < bound
            && u128::from(self.initial_beta) < bound
            && steady < bound
    }
}

impl Default for ReputationParams {
    fn default() -> ReputationParams {
        ReputationParams::STORJ
    }
}

/// A provider's audit reputation: α and β in fixed point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuditReputation {
    /// α, in [`REPUTATION_SCALE`] units.
    pub alpha: u64,
    /// β, in [`REPUTATION_SCALE`] units.
    pub beta: u64,
}

impl AuditReputation {
    /// A new provider's reputation: (α₀, β₀).
    pub const fn new(params: &ReputationParams) -> AuditReputation {
        AuditReputation {
            alpha: params.initial_alpha,
            beta: params.initial_beta,
        }
    }

    fn decay(value: u64, params: &ReputationParams) -> u64 {
        let decayed = u128::from(value) * u128::from(params.decay_numerator)
            / u128::from(params.decay_denominator.max(1));
        // λ ≤ 1 for valid params, so this never saturates; saturate rather than wrap if misused.
        u64::try_from(decayed).unwrap_or(u64::MAX)
    }

    /// The reputation after one audit (`passed` is v = +1, otherwise v = −1).
    #[must_use]
    pub fn after_audit(self, params: &ReputationParams, passed: bool) -> AuditReputation {
        let alpha = Self::decay(self.alpha, params);
        let beta = Self::decay(self.beta, params);
        if passed {
            AuditReputation {
                alpha: alpha.saturating_add(params.weight),
                beta,
            }
        } else {
            AuditReputation {
                alpha,
                beta: beta.saturating_add(params.weight),
            }
        }
    }

    /// α / (α + β) in parts per million, rounded down (0 when α + β = 0).
    pub fn score_ppm(&self) -> u64 {
        let total = u128::from(self.alpha) + u128::from(self.beta);
        if total == 0 {
            return 0;
        }
        (u128::from(self.alpha) * u128::from(PPM) / total) as u64
    }

    /// Whether the score is below the disqualification threshold (compared exactly).
    pub fn is_disqualified(&self, params: &ReputationParams) -> bool {
        let total = u128::from(self.alpha) + u128::from(self.beta);
        u128::from(self.alpha) * u128::from(PPM) < u128::from(params.disqualify_below_ppm) * total
    }

    /// α then β, `u64` little-endian.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.alpha.to_le_bytes());
        bytes[8..].copy_from_slice(&self.beta.to_le_bytes());
        bytes
    }

    /// The inverse of [`AuditReputation::to_bytes`].
    pub fn from_bytes(bytes: &[u8; 16]) -> AuditReputation {
        let mut alpha = [0u8; 8];
        let mut beta = [0u8; 8];
        alpha.copy_from_slice(&bytes[..8]);
        beta.copy_from_slice(&bytes[8..]);
        AuditReputation {
            alpha: u64::from_le_bytes(alpha),
            beta: u64::from_le_bytes(beta),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const STORJ: ReputationParams = ReputationParams::STORJ;

    fn after(audits: impl IntoIterator<Item = bool>) -> AuditReputation {
        audits
            .into_iter()
            .fold(AuditReputation::new(&STORJ), |reputation, passed| {
                reputation.after_audit(&STORJ, passed)
            })
    }

    #[test]
    fn a_new_provider_has_a_perfect_score() {
        let fresh = AuditReputation::new(&STORJ);
        assert_eq!(fresh.score_ppm(), PPM);
        assert!(!fresh.is_disqualified(&STORJ));
        assert!(STORJ.is_valid());
    }

    #[test]
    fn forty_failures_in_a_row_are_survived_and_the_forty_first_disqualifies() {
        let forty = after(std::iter::repeat_n(false, 40));
        assert!(!forty.is_disqualified(&STORJ), "{}", forty.score_ppm());
        let forty_one = forty.after_audit(&STORJ, false);
        assert!(
            forty_one.is_disqualified(&STORJ),
            "{}",
            forty_one.score_ppm()
        );
        // 0.999^40 = 0.960770…, 0.999^41 = 0.959809…
        assert_eq!(forty.score_ppm(), 960_770);
        assert_eq!(forty_one.score_ppm(), 959_809);
    }

    #[test]
    fn passed_audits_restore_a_damaged_score() {
        let damaged = after(std::iter::repeat_n(false, 30));
        let healed = (0..2000).fold(damaged, |r, _| r.after_audit(&STORJ, true));
        // β has decayed by 0.999^2000 ≈ 0.135: from about 29.6 to 4, a score of about 0.996.
        assert!(healed.score_ppm() > 995_000, "{}", healed.score_ppm());
        assert!(healed.score_ppm() > damaged.score_ppm());
    }

    #[test]
    fn a_fixed_history_gives_fixed_bits() {
        // Pins the arithmetic: any change to rounding shows up here.
        let history = (0u32..1000).map(|i| i.wrapping_mul(2_654_435_761) % 7 != 0);
        let reputation = after(history);
        assert_eq!(
            AuditReputation::from_bytes(&reputation.to_bytes()),
            reputation
        );
        assert_eq!(
            (reputation.alpha, reputation.beta),
            (GOLDEN_ALPHA, GOLDEN_BETA)
        );
    }

    const GOLDEN_ALPHA: u64 = 910_688_300_929;
    const GOLDEN_BETA: u64 = 89_311_698_448;

    #[test]
    fn parameters_that_overflow_or_never_forget_are_invalid() {
        let never_forget = ReputationParams {
            decay_numerator: 1000,
            ..STORJ
        };
        assert!(!never_forget.is_valid());
        let zero_start = ReputationParams {
            initial_alpha: 0,
            initial_beta: 0,
            ..STORJ
        };
        assert!(!zero_start.is_valid());
        let huge = ReputationParams {
            weight: u64::MAX / 2,
            ..STORJ
        };
        assert!(!huge.is_valid());
    }

    proptest! {
        #[test]
        fn the_fixed_point_score_follows_the_real_valued_model(
            audits in proptest::collection::vec(any::<bool>(), 0..3000),
        ) {
            let (mut alpha, mut beta) = (1000.0f64, 0.0f64);
            for &passed in &audits {
                alpha = 0.999 * alpha + if passed { 1.0 } else { 0.0 };
                beta = 0.999 * beta + if passed { 0.0 } else { 1.0 };
            }
            let reputation = after(audits.iter().copied());
            let expected = alpha / (alpha + beta) * 1e6;
            prop_assert!((reputation.score_ppm() as f64 - expected).abs() <= 1.0);
            prop_assert!((reputation.alpha as f64 / 1e9 - alpha).abs() < 1e-5);
        }
    }
}
