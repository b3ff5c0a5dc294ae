//! Reputation from a device's verdict history: the Storj audit score.
//!
//! A beta-reputation model (Storj's satellite, package `satellite/reputation` in `storj/storj`,
//! and the paper it follows: Jøsang & Ismail, "The Beta Reputation System"): after each audit with outcome `v` (+1 success, −1 failure),
//! `α ← λα + w(1+v)/2` and `β ← λβ + w(1−v)/2`; the score is `α/(α+β)`. Defaults: `λ = 0.999`,
//! `w = 1`, `α₀ = 1000`, `β₀ = 0`, and a device is disqualified below 0.96.
//!
//! The score is the reward multiplier here (1 for a spotless history), and zero once
//! disqualified. With the defaults, 40 consecutive failures from a fresh start leave the score at
//! `0.999^40 ≈ 0.9608`; the 41st disqualifies. Arithmetic is [`Fixed`], rounded down.

use serde::{Deserialize, Serialize};

use crate::fixed::Fixed;

/// The outcome of one audit (a verdict on one proof).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// The proof was valid (`v = +1`).
    Success,
    /// The proof was invalid (`v = −1`).
    Failure,
}

/// Parameters of the audit score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReputationParams {
    /// `λ`: how much of the past is kept at each audit (Storj: 0.999).
    pub forgetting_factor: Fixed,
    /// `w`: weight of one audit (Storj: 1).
    pub audit_weight: Fixed,
    /// `α₀` (Storj: 1000).
    pub initial_alpha: Fixed,
    /// `β₀` (Storj: 0).
    pub initial_beta: Fixed,
    /// Score below which a device earns nothing (Storj: 0.96).
    pub disqualification_threshold: Fixed,
}

impl Default for ReputationParams {
    fn default() -> Self {
        ReputationParams {
            forgetting_factor: Fixed::from_raw(999_000_000_000_000_000),
            audit_weight: Fixed::ONE,
            initial_alpha: Fixed::from_raw(1_000 * Fixed::ONE.raw()),
            initial_beta: Fixed::ZERO,
            disqualification_threshold: Fixed::from_bps(9_600),
        }
    }
}

/// A device's audit state: the caller stores it and feeds it back with each new verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditScore {
    /// Accumulated evidence of success.
    pub alpha: Fixed,
    /// Accumulated evidence of failure.
    pub beta: Fixed,
}

impl ReputationParams {
    /// The score of a device with no history.
    pub fn initial(&self) -> AuditScore {
        AuditScore {
            alpha: self.initial_alpha,
            beta: self.initial_beta,
        }
    }

    /// The score after one more audit.
    pub fn update(&self, score: AuditScore, outcome: AuditOutcome) -> AuditScore {
        let decay = |value: Fixed| value.checked_mul(self.forgetting_factor).unwrap_or(value);
        let (alpha, beta) = (decay(score.alpha), decay(score.beta));
        match outcome {
            AuditOutcome::Success => AuditScore {
                alpha: alpha.saturating_add(self.audit_weight),
                beta,
            },
            AuditOutcome::Failure => AuditScore {
                alpha,
                beta: beta.saturating_add(self.audit_weight),
            },
        }
    }

    /// The score after `count` audits with the same outcome, in closed form so a device with
    /// thousands of verdicts in an epoch costs the same as one with a few:
    /// `x ← λⁿ·x` for both counters, and the outcome's counter also gains
    /// `w·(1 + λ + … + λⁿ⁻¹) = w·(1 − λⁿ)/(1 − λ)` (`w·n` when `λ = 1`). `λⁿ` is computed by
    /// squaring, each step rounded down, so the result can differ from `count` calls of
    /// [`ReputationParams::update`] in the last digits of the 18 decimals; it is equally
    /// deterministic.
    pub fn update_many(&self, score: AuditScore, outcome: AuditOutcome, count: u64) -> AuditScore {
        if count == 0 {
            return score;
        }
        let decay = pow_by_squaring(self.forgetting_factor, count);
        let keep = |value: Fixed| value.checked_mul(decay).unwrap_or(value);
        let gained = if self.forgetting_factor >= Fixed::ONE {
            Fixed::from_integer(u128::from(count))
                .and_then(|n| n.checked_mul(self.audit_weight))
                .unwrap_or(Fixed::from_raw(u128::MAX))
        } else {
            Fixed::ONE
                .saturating_sub(decay)
                .checked_div(Fixed::ONE.saturating_sub(self.forgetting_factor))
                .and_then(|sum| sum.checked_mul(self.audit_weight))
                .unwrap_or(Fixed::from_raw(u128::MAX))
        };
        let (alpha, beta) = (keep(score.alpha), keep(score.beta));
        match outcome {
            AuditOutcome::Success => AuditScore {
                alpha: alpha.saturating_add(gained),
                beta,
            },
            AuditOutcome::Failure => AuditScore {
                alpha,
                beta: beta.saturating_add(gained),
            },
        }
    }

    /// The score after a history of audits, oldest first, from [`ReputationParams::initial`].
    pub fn replay(&self, outcomes: impl IntoIterator<Item = AuditOutcome>) -> AuditScore {
        outcomes
            .into_iter()
            .fold(self.initial(), |score, outcome| self.update(score, outcome))
    }

    /// `α / (α + β)`, rounded down; one for a device with no evidence at all.
    pub fn score(&self, score: AuditScore) -> Fixed {
        let total = score.alpha.saturating_add(score.beta);
        if total.is_zero() {
            return Fixed::ONE;
        }
        score
            .alpha
            .checked_div(total)
            .unwrap_or(Fixed::ONE)
            .min(Fixed::ONE)
    }

    /// Whether the score is below the disqualification threshold.
    pub fn is_disqualified(&self, score: AuditScore) -> bool {
        self.score(score) < self.disqualification_threshold
    }

    /// The reward multiplier: the score, or zero when disqualified.
    pub fn multiplier(&self, score: AuditScore) -> Fixed {
        if self.is_disqualified(score) {
            Fixed::ZERO
        } else {
            self.score(score)
        }
    }
}

/// `base^exponent` by squaring, each product rounded down; saturates at the largest value.
fn pow_by_squaring(base: Fixed, mut exponent: u64) -> Fixed {
    let mut result = Fixed::ONE;
    let mut power = base;
    while exponent > 0 {
        if exponent & 1 == 1 {
            result = result
                .checked_mul(power)
                .unwrap_or(Fixed::from_raw(u128::MAX));
        }
        exponent >>= 1;
        if exponent > 0 {
            power = power
                .checked_mul(power)
                .unwrap_or(Fixed::from_raw(u128::MAX));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn many_audits_at_once_match_one_at_a_time_to_the_last_digits() {
        let params = ReputationParams::default();
        let start = params.update(params.initial(), AuditOutcome::Failure);
        for (outcome, count) in [(AuditOutcome::Success, 37u64), (AuditOutcome::Failure, 12)] {
            let one_by_one = (0..count).fold(start, |s, _| params.update(s, outcome));
            let at_once = params.update_many(start, outcome, count);
            let close = |a: Fixed, b: Fixed| a.raw().abs_diff(b.raw()) < 1_000_000;
            assert!(
                close(one_by_one.alpha, at_once.alpha),
                "{one_by_one:?} {at_once:?}"
            );
            assert!(
                close(one_by_one.beta, at_once.beta),
                "{one_by_one:?} {at_once:?}"
            );
        }
        // A spotless device stays exactly at its starting score.
        assert_eq!(
            params.update_many(params.initial(), AuditOutcome::Success, 1_000_000),
            params.initial()
        );
    }

    #[test]
    fn a_fresh_device_has_a_perfect_score() {
        let params = ReputationParams::default();
        assert_eq!(params.score(params.initial()), Fixed::ONE);
        assert_eq!(params.multiplier(params.initial()), Fixed::ONE);
    }

    #[test]
    fn one_failure_costs_a_tenth_of_a_percent() {
        let params = ReputationParams::default();
        let after = params.update(params.initial(), AuditOutcome::Failure);
        // α = 999, β = 1.
        assert_eq!(after.alpha, Fixed::from_integer(999).unwrap());
        assert_eq!(after.beta, Fixed::ONE);
        assert_eq!(params.score(after), Fixed::from_bps(9_990));
    }

    #[test]
    fn forty_one_consecutive_failures_disqualify_a_fresh_device_but_forty_do_not() {
        let params = ReputationParams::default();
        let forty = params.replay(std::iter::repeat_n(AuditOutcome::Failure, 40));
        assert!(!params.is_disqualified(forty));
        let score = params.score(forty).raw() as f64 / 1e18;
        assert!((score - 0.999f64.powi(40)).abs() < 1e-12, "{score}");
        let forty_one = params.update(forty, AuditOutcome::Failure);
        assert!(params.is_disqualified(forty_one));
        assert_eq!(params.multiplier(forty_one), Fixed::ZERO);
    }

    #[test]
    fn successes_restore_a_damaged_score() {
        let params = ReputationParams::default();
        let damaged = params.replay(std::iter::repeat_n(AuditOutcome::Failure, 30));
        let healed = params.replay(
            std::iter::repeat_n(AuditOutcome::Failure, 30)
                .chain(std::iter::repeat_n(AuditOutcome::Success, 3_000)),
        );
        assert!(params.score(healed) > params.score(damaged));
        // β decays by 0.999 per audit: 30 · 0.999^3000 ≈ 1.5 of 1000 remains.
        assert!(params.score(healed) > Fixed::from_bps(9_980));
    }

    proptest! {
        #[test]
        fn the_score_stays_between_zero_and_one_and_a_failure_never_raises_it(history in proptest::collection::vec(any::<bool>(), 0..300)) {
            let params = ReputationParams::default();
            let outcomes = history.iter().map(|ok| if *ok { AuditOutcome::Success } else { AuditOutcome::Failure });
            let score = params.replay(outcomes);
            prop_assert!(params.score(score) <= Fixed::ONE);
            let failed = params.update(score, AuditOutcome::Failure);
            prop_assert!(params.score(failed) <= params.score(score));
        }
    }
}
