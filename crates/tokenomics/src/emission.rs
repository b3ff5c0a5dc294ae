//! Emission schedules: how many new tokens each epoch mints.
//!
//! Every curve is defined by its **cumulative** issuance `C(t)` (tokens minted before epoch `t`),
//! and an epoch's emission is `C(t+1) − C(t)`. Summing per-epoch emissions therefore gives the
//! cumulative total exactly, with no drift from per-epoch rounding.
//!
//! Curves (each can be combined with the others, and capped by a hard supply cap):
//!
//! * [`EmissionCurve::Constant`]: the same amount every epoch.
//! * [`EmissionCurve::Halving`]: Bitcoin/Helium style, halving every `N` epochs. Helium's HNT
//!   schedule (HIP-20, <https://github.com/helium/HIP/blob/main/0020-hnt-max-supply.md>) is the
//!   preset [`EmissionSchedule::helium_hnt`].
//! * [`EmissionCurve::ExponentialDecay`]: Filecoin's "simple minting", `C(t) = S·(1 − e^(−λt))`
//!   with `λ = ln 2 / half-life` (Filecoin spec, "Block reward minting",
//!   <https://spec.filecoin.io/#section-systems.filecoin_token.minting_model>; reference code
//!   `builtin-actors/actors/reward/src/logic.rs`).
//! * [`EmissionCurve::Baseline`]: Filecoin's "baseline minting", which releases tokens as the
//!   network's realised capacity keeps up with an exponentially growing baseline (same sources).
//!
//! Helium's net-emissions smoothing (re-minting burned tokens, up to a cap) is [`NetEmissions`].
//!
//! All transcendental functions are evaluated in integer fixed point ([`crate::fixed`]); the
//! cumulative values are exact to within one base unit of the true real-valued curve for supplies
//! up to `10^30` base units.

use serde::{Deserialize, Serialize};

use crate::amount_serde;
use crate::error::{Result, TokenomicsError};
use crate::fixed::{
    FIXED_SCALE, Fixed, HP, LN2_HP, U256, exp_neg_hp, exp_split_hp, ln_ratio_hp, mul_div_floor,
};

/// Epochs per 365-day year with Filecoin's 30-second epochs.
pub const FILECOIN_EPOCHS_PER_YEAR: u64 = 1_051_200;

/// Filecoin's initial baseline: 2,888,888,880,000,000,000 bytes (≈ 2.5057 EiB), from
/// `builtin-actors/actors/reward/src/logic.rs` (`BASELINE_INITIAL_VALUE`).
pub const FILECOIN_INITIAL_BASELINE_BYTES: u128 = 2_888_888_880_000_000_000;

/// Maximum number of decimals a token may have here: `10^18` base units per token leaves room for
/// supplies of over `10^20` tokens in a `u128`, and keeps fixed-point products in range.
pub const MAX_DECIMALS: u8 = 18;

/// The default number of decimals of a token (as HNT: 1 token = 10^8 base units).
pub const DEFAULT_DECIMALS: u8 = 8;

/// `whole` tokens in base units for a token with `decimals` decimals.
pub fn whole_tokens(whole: u128, decimals: u8) -> Result<u128> {
    if decimals > MAX_DECIMALS {
        return Err(TokenomicsError::TooManyDecimals(decimals));
    }
    whole
        .checked_mul(10u128.pow(u32::from(decimals)))
        .ok_or(TokenomicsError::Overflow("a whole-token amount"))
}

/// The integral of realised capacity capped by the baseline, `R̄Σ`, at the start and at the end
/// of an epoch, in capacity units × epochs (see [`BaselineMinting::advance_capacity_integral`]).
///
/// Only baseline curves read it; schedules without one can pass [`CapacityIntegral::NONE`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityIntegral {
    /// `R̄Σ(t)`: before the epoch.
    #[serde(with = "amount_serde")]
    pub start: u128,
    /// `R̄Σ(t+1)`: after the epoch's capacity was added.
    #[serde(with = "amount_serde")]
    pub end: u128,
}

impl CapacityIntegral {
    /// No capacity at all (for schedules without a baseline curve).
    pub const NONE: CapacityIntegral = CapacityIntegral { start: 0, end: 0 };
}

/// Filecoin-style baseline minting.
///
/// The baseline grows exponentially: `B(t) = b0 · (1 + growth)^(t / epochs_per_year)`. The network
/// accumulates `R̄Σ(t) = Σ min(B(τ), capacity(τ))`. The effective network time `θ` is the time at
/// which the baseline's own integral would equal `R̄Σ`:
/// `θ(t) = (1/g)·ln(g·R̄Σ(t)/b0 + 1)` with `g = ln(1 + growth)` per epoch, and the cumulative
/// minted amount is `M_B = total · (1 − e^(−λθ))`, `λ = ln 2 / half-life`.
///
/// While the network keeps up with the baseline, `θ(t) ≈ t` and the curve behaves like simple
/// exponential decay; when it falls behind, minting is deferred, not lost.
///
/// The integral uses the continuous form; Filecoin's actor uses the discrete left sum, which
/// differs by about half an epoch of baseline. Capacity is in any unit (bytes for the Filecoin
/// preset) as long as `initial_baseline` uses the same one; `R̄Σ` saturates at `u128::MAX`
/// (with bytes and Filecoin's parameters, after about 46 years, when 99.5% has been minted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineMinting {
    /// Tokens this curve mints in total (base units). Filecoin: 770M FIL.
    #[serde(with = "amount_serde")]
    pub total: u128,
    /// Half-life of the decay in effective epochs. Filecoin: 6 years of 30 s epochs.
    pub half_life_epochs: u64,
    /// Baseline capacity at epoch 0, in capacity units. Filecoin: 2,888,888,880,000,000,000 bytes.
    #[serde(with = "amount_serde")]
    pub initial_baseline: u128,
    /// Baseline growth per year in basis points: 10,000 doubles it every year (Filecoin).
    pub growth_bps_per_year: u32,
    /// Epochs per year (Filecoin: 1,051,200).
    pub epochs_per_year: u64,
}

impl BaselineMinting {
    /// Check that the parameters can be evaluated.
    pub fn validate(&self) -> Result<()> {
        if self.half_life_epochs == 0 {
            return Err(TokenomicsError::ZeroParameter("baseline.half_life_epochs"));
        }
        if self.initial_baseline == 0 {
            return Err(TokenomicsError::ZeroParameter("baseline.initial_baseline"));
        }
        if self.growth_bps_per_year == 0 {
            return Err(TokenomicsError::ZeroParameter(
                "baseline.growth_bps_per_year",
            ));
        }
        if self.epochs_per_year == 0 {
            return Err(TokenomicsError::ZeroParameter("baseline.epochs_per_year"));
        }
        self.initial_baseline
            .checked_mul(u128::from(self.epochs_per_year))
            .ok_or(TokenomicsError::ParameterOutOfRange {
                name: "baseline.initial_baseline",
                reason: "initial_baseline × epochs_per_year must fit in 128 bits",
            })?;
        Ok(())
    }

    /// `g` = ln(1 + growth) per year, at 36 decimals.
    fn growth_rate_per_year_hp(&self) -> Result<u128> {
        let numerator = 10_000u128 + u128::from(self.growth_bps_per_year);
        ln_ratio_hp(U256::from_u128(numerator), U256::from_u128(10_000))
            .filter(|g| *g > 0)
            .ok_or(TokenomicsError::ZeroParameter(
                "baseline.growth_bps_per_year",
            ))
    }

    /// The baseline `B(t)` at an epoch, in capacity units (saturating at `u128::MAX`).
    pub fn baseline_at(&self, epoch: u64) -> Result<u128> {
        self.validate()?;
        let growth = self.growth_rate_per_year_hp()?;
        let exponent = mul_div_floor(growth, u128::from(epoch), u128::from(self.epochs_per_year))
            .ok_or(TokenomicsError::Overflow("baseline exponent"))?;
        let (mantissa, doublings) = exp_split_hp(exponent);
        let scaled = mul_div_floor(self.initial_baseline, mantissa, HP)
            .ok_or(TokenomicsError::Overflow("baseline"))?;
        if doublings >= 128 || scaled.leading_zeros() < doublings as u32 {
            return Ok(u128::MAX);
        }
        Ok(scaled << doublings)
    }

    /// `R̄Σ(t+1) = R̄Σ(t) + min(B(t), capacity(t))`: the value to store after epoch `t`.
    pub fn advance_capacity_integral(
        &self,
        integral_before: u128,
        epoch: u64,
        realised_capacity: u128,
    ) -> Result<u128> {
        let baseline = self.baseline_at(epoch)?;
        Ok(integral_before.saturating_add(baseline.min(realised_capacity)))
    }

    /// `ln(g·R̄Σ/(E·b0) + 1)` at 36 decimals (E = epochs per year; g per year).
    fn log_of_progress_hp(&self, integral: u128) -> Result<u128> {
        self.validate()?;
        let growth = self.growth_rate_per_year_hp()?;
        // Checked in `validate`.
        let baseline_year = self
            .initial_baseline
            .checked_mul(u128::from(self.epochs_per_year))
            .ok_or(TokenomicsError::Overflow("baseline × epochs per year"))?;
        let denominator = U256::product(baseline_year, HP);
        let numerator = U256::product(growth, integral)
            .checked_add(denominator)
            .ok_or(TokenomicsError::Overflow("baseline progress"))?;
        ln_ratio_hp(numerator, denominator).ok_or(TokenomicsError::Overflow("baseline logarithm"))
    }

    /// Effective network time `θ` in epochs (18 decimals) for a capacity integral `R̄Σ`.
    pub fn effective_network_time(&self, integral: u128) -> Result<Fixed> {
        let log = self.log_of_progress_hp(integral)?;
        let growth = self.growth_rate_per_year_hp()?;
        let epochs_scaled = u128::from(self.epochs_per_year)
            .checked_mul(FIXED_SCALE)
            .ok_or(TokenomicsError::Overflow("epochs per year"))?;
        mul_div_floor(log, epochs_scaled, growth)
            .map(Fixed::from_raw)
            .ok_or(TokenomicsError::Overflow("effective network time"))
    }

    /// Cumulative tokens minted by this curve once the capacity integral reached `R̄Σ`.
    pub fn cumulative(&self, integral: u128) -> Result<u128> {
        let log = self.log_of_progress_hp(integral)?;
        let growth = self.growth_rate_per_year_hp()?;
        // λθ = ln2 · θ / H = ln2 · E · log / (g · H).
        let decay_exponent = mul_div_floor(
            log,
            u128::from(self.epochs_per_year),
            u128::from(self.half_life_epochs),
        )
        .and_then(|x| mul_div_floor(x, LN2_HP, growth));
        Ok(match decay_exponent {
            Some(exponent) => decayed_cumulative(self.total, exponent),
            // So far past the half-life that everything has been minted.
            None => self.total,
        })
    }
}

/// `total · (1 − e^(−x))` for `x` at 36 decimals; the remaining supply is rounded down, so the
/// result never exceeds `total`.
fn decayed_cumulative(total: u128, exponent_hp: u128) -> u128 {
    let remaining_fraction = exp_neg_hp(exponent_hp);
    // remaining_fraction ≤ HP, so the quotient ≤ total and always fits.
    let remaining = mul_div_floor(total, remaining_fraction, HP).unwrap_or(0);
    total - remaining.min(total)
}

/// One component of an emission schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "curve", rename_all = "snake_case")]
pub enum EmissionCurve {
    /// The same amount every epoch, forever (bound it with a supply cap).
    Constant {
        /// Base units minted per epoch.
        #[serde(with = "amount_serde")]
        per_epoch: u128,
    },
    /// `initial_per_epoch` for `halving_interval_epochs` epochs, then half of that (rounded
    /// down), and so on. Helium HNT (HIP-20): halving every two years.
    Halving {
        /// Base units per epoch in the first period.
        #[serde(with = "amount_serde")]
        initial_per_epoch: u128,
        /// Epochs between halvings.
        halving_interval_epochs: u64,
    },
    /// Filecoin simple minting: cumulative `total · (1 − e^(−ln2 · t / half_life))`.
    ExponentialDecay {
        /// Base units minted over infinite time.
        #[serde(with = "amount_serde")]
        total: u128,
        /// Epochs after which half of `total` has been minted.
        half_life_epochs: u64,
    },
    /// Filecoin baseline minting (depends on the network's realised capacity).
    Baseline(BaselineMinting),
}

impl EmissionCurve {
    /// Check that the parameters can be evaluated.
    pub fn validate(&self) -> Result<()> {
        match self {
            EmissionCurve::Constant { .. } => Ok(()),
            EmissionCurve::Halving {
                halving_interval_epochs: 0,
                ..
            } => Err(TokenomicsError::ZeroParameter("halving_interval_epochs")),
            EmissionCurve::ExponentialDecay {
                half_life_epochs: 0,
                ..
            } => Err(TokenomicsError::ZeroParameter("half_life_epochs")),
            EmissionCurve::Halving { .. } | EmissionCurve::ExponentialDecay { .. } => Ok(()),
            EmissionCurve::Baseline(baseline) => baseline.validate(),
        }
    }

    /// Tokens minted before epoch `epoch` (i.e. by epochs `0..epoch`); `capacity_integral` is
    /// `R̄Σ(epoch)` and is read only by the baseline curve. Saturates at `u128::MAX`.
    pub fn cumulative(&self, epoch: u64, capacity_integral: u128) -> Result<u128> {
        self.validate()?;
        Ok(match self {
            EmissionCurve::Constant { per_epoch } => per_epoch.saturating_mul(u128::from(epoch)),
            EmissionCurve::Halving {
                initial_per_epoch,
                halving_interval_epochs,
            } => halving_cumulative(*initial_per_epoch, *halving_interval_epochs, epoch),
            EmissionCurve::ExponentialDecay {
                total,
                half_life_epochs,
            } => match mul_div_floor(LN2_HP, u128::from(epoch), u128::from(*half_life_epochs)) {
                Some(exponent) => decayed_cumulative(*total, exponent),
                None => *total,
            },
            EmissionCurve::Baseline(baseline) => baseline.cumulative(capacity_integral)?,
        })
    }
}

fn halving_cumulative(initial_per_epoch: u128, interval: u64, epoch: u64) -> u128 {
    let full_periods = epoch / interval;
    let partial = u128::from(epoch % interval);
    let interval = u128::from(interval);
    let mut sum = 0u128;
    // After 128 halvings every per-epoch amount is zero.
    for period in 0..full_periods.min(128) {
        sum = sum.saturating_add((initial_per_epoch >> period).saturating_mul(interval));
    }
    if full_periods < 128 {
        sum = sum.saturating_add((initial_per_epoch >> full_periods).saturating_mul(partial));
    }
    sum
}

/// A full emission schedule: one or more curves added together, optionally capped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmissionSchedule {
    /// The curves whose cumulative issuances add up (e.g. simple + baseline for Filecoin).
    pub curves: Vec<EmissionCurve>,
    /// A hard cap on total issuance by this schedule, in base units; `None` for no cap.
    #[serde(default, with = "amount_serde::option")]
    pub supply_cap: Option<u128>,
}

/// What one epoch mints, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochEmission {
    /// The epoch.
    pub epoch: u64,
    /// Base units minted in this epoch: `cumulative_after − cumulative_before`.
    #[serde(with = "amount_serde")]
    pub amount: u128,
    /// Capped cumulative issuance before this epoch.
    #[serde(with = "amount_serde")]
    pub cumulative_before: u128,
    /// Capped cumulative issuance after this epoch.
    #[serde(with = "amount_serde")]
    pub cumulative_after: u128,
    /// What each curve would have minted this epoch, in the order of [`EmissionSchedule::curves`].
    pub per_curve: Vec<u128>,
    /// How much of the curves' sum the supply cap withheld this epoch.
    #[serde(with = "amount_serde")]
    pub withheld_by_cap: u128,
}

impl EmissionSchedule {
    /// Check that every curve can be evaluated.
    pub fn validate(&self) -> Result<()> {
        if self.curves.is_empty() {
            return Err(TokenomicsError::ZeroParameter("emission.curves"));
        }
        self.curves.iter().try_for_each(EmissionCurve::validate)
    }

    /// Capped cumulative issuance before `epoch`, given `R̄Σ(epoch)`.
    pub fn cumulative(&self, epoch: u64, capacity_integral: u128) -> Result<u128> {
        let mut sum = 0u128;
        for curve in &self.curves {
            sum = sum.saturating_add(curve.cumulative(epoch, capacity_integral)?);
        }
        Ok(self.supply_cap.map_or(sum, |cap| sum.min(cap)))
    }

    /// The emission of one epoch: `cumulative(epoch + 1) − cumulative(epoch)`.
    ///
    /// The curves are non-decreasing; at the far end of a decay (centuries out, when one
    /// epoch's true emission is below the fixed-point resolution) a rounding step could make
    /// the difference negative, and it is then clamped to zero.
    pub fn emission_for_epoch(
        &self,
        epoch: u64,
        capacity: CapacityIntegral,
    ) -> Result<EpochEmission> {
        self.validate()?;
        let next_epoch = epoch.saturating_add(1);
        let mut per_curve = Vec::with_capacity(self.curves.len());
        let mut before_sum = 0u128;
        let mut after_sum = 0u128;
        for curve in &self.curves {
            let before = curve.cumulative(epoch, capacity.start)?;
            let after = curve.cumulative(next_epoch, capacity.end)?;
            per_curve.push(after.saturating_sub(before));
            before_sum = before_sum.saturating_add(before);
            after_sum = after_sum.saturating_add(after);
        }
        let cap = |value: u128| self.supply_cap.map_or(value, |cap| value.min(cap));
        let cumulative_before = cap(before_sum);
        let cumulative_after = cap(after_sum).max(cumulative_before);
        let amount = cumulative_after - cumulative_before;
        let uncapped: u128 = per_curve.iter().fold(0u128, |a, b| a.saturating_add(*b));
        Ok(EpochEmission {
            epoch,
            amount,
            cumulative_before,
            cumulative_after,
            per_curve,
            withheld_by_cap: uncapped.saturating_sub(amount),
        })
    }

    /// Helium's HNT schedule (HIP-20): 5,000,000 HNT a month at launch, halving every two years,
    /// paid per day-long epoch (as since the 2023 move to Solana). Years are 365 days, so the first
    /// period mints `⌊60,000,000 / 365⌋` HNT per day for 730 days.
    ///
    /// HIP-20 also states a maximum supply of 223M HNT, reached because Helium's first period was
    /// shorter than two years; this preset starts a fresh network at a period boundary, so it
    /// sets no cap (the curve converges to 240M tokens).
    pub fn helium_hnt(decimals: u8) -> Result<EmissionSchedule> {
        let per_year = whole_tokens(60_000_000, decimals)?;
        Ok(EmissionSchedule {
            curves: vec![EmissionCurve::Halving {
                initial_per_epoch: per_year / 365,
                halving_interval_epochs: 2 * 365,
            }],
            supply_cap: None,
        })
    }

    /// Filecoin's simple minting alone: 330M tokens decaying with a six-year half-life over 30 s
    /// epochs.
    pub fn filecoin_simple(decimals: u8) -> Result<EmissionSchedule> {
        Ok(EmissionSchedule {
            curves: vec![EmissionCurve::ExponentialDecay {
                total: whole_tokens(330_000_000, decimals)?,
                half_life_epochs: 6 * FILECOIN_EPOCHS_PER_YEAR,
            }],
            supply_cap: None,
        })
    }

    /// Filecoin's full mining reward: simple minting (330M) plus baseline minting (770M) with
    /// capacity in bytes, the 2.5057 EiB baseline doubling every year, 30 s epochs.
    pub fn filecoin(decimals: u8) -> Result<EmissionSchedule> {
        let mut schedule = EmissionSchedule::filecoin_simple(decimals)?;
        schedule
            .curves
            .push(EmissionCurve::Baseline(BaselineMinting {
                total: whole_tokens(770_000_000, decimals)?,
                half_life_epochs: 6 * FILECOIN_EPOCHS_PER_YEAR,
                initial_baseline: FILECOIN_INITIAL_BASELINE_BYTES,
                growth_bps_per_year: 10_000,
                epochs_per_year: FILECOIN_EPOCHS_PER_YEAR,
            }));
        Ok(schedule)
    }
}

/// Helium-style net emissions: burned tokens are smoothed over time and re-minted up to a cap per
/// epoch, so that burn-and-mint does not shrink the rewards budget abruptly.
///
/// Smoothing: `s_t = ⌊6·s_{t−1}/7⌋ + ⌊burn_t/7⌋` (an exponential moving average with weight 1/7,
/// i.e. about a week of daily epochs); re-minted: `min(s_t, cap)`. Source: Helium's net
/// emissions as implemented in `helium-program-library` (the cap is a governance parameter there
/// too, so it has no default here).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetEmissions {
    /// The most base units re-minted in one epoch.
    #[serde(with = "amount_serde")]
    pub max_remint_per_epoch: u128,
}

impl NetEmissions {
    /// The smoothed burn after an epoch in which `burned` base units were burned.
    pub fn smoothed_burn(previous_smoothed: u128, burned: u128) -> u128 {
        // ⌊6s/7⌋ without overflowing: 6s/7 = 6·⌊s/7⌋ + ⌊6·(s mod 7)/7⌋ exactly.
        let decayed = 6 * (previous_smoothed / 7) + (6 * (previous_smoothed % 7)) / 7;
        decayed.saturating_add(burned / 7)
    }

    /// Base units to re-mint this epoch for a smoothed burn.
    pub fn remint(&self, smoothed: u128) -> u128 {
        smoothed.min(self.max_remint_per_epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FIL: u128 = 1_000_000_000_000_000_000;

    #[test]
    fn filecoin_simple_minting_releases_half_of_330m_after_six_years() {
        let schedule = EmissionSchedule::filecoin_simple(18).unwrap();
        let six_years = 6 * FILECOIN_EPOCHS_PER_YEAR;
        let minted = schedule.cumulative(six_years, 0).unwrap();
        assert!(minted.abs_diff(165_000_000 * FIL) <= 1, "{minted}");
        let twelve_years = schedule.cumulative(2 * six_years, 0).unwrap();
        assert!(
            twelve_years.abs_diff(247_500_000 * FIL) <= 1,
            "{twelve_years}"
        );
    }

    #[test]
    fn filecoin_simple_minting_pays_about_36_27_fil_in_the_first_epoch() {
        // 330M · (1 − 2^(−1/6,307,200)) = 36.266260… FIL.
        let schedule = EmissionSchedule::filecoin_simple(18).unwrap();
        let first = schedule
            .emission_for_epoch(0, CapacityIntegral::NONE)
            .unwrap();
        let expected = -330e6 * (-std::f64::consts::LN_2 / 6_307_200.0).exp_m1();
        let got = first.amount as f64 / FIL as f64;
        assert!((got - expected).abs() < 1e-9, "{got} vs {expected}");
        assert!((36.26..36.27).contains(&got));
    }

    #[test]
    fn per_epoch_emissions_sum_exactly_to_the_cumulative_total() {
        let schedule = EmissionSchedule::filecoin_simple(8).unwrap();
        let start = 5 * FILECOIN_EPOCHS_PER_YEAR;
        let mut sum = schedule.cumulative(start, 0).unwrap();
        for epoch in start..start + 2_000 {
            sum += schedule
                .emission_for_epoch(epoch, CapacityIntegral::NONE)
                .unwrap()
                .amount;
        }
        assert_eq!(sum, schedule.cumulative(start + 2_000, 0).unwrap());
    }

    #[test]
    fn helium_hnt_halves_every_two_years_and_mints_15m_a_year_in_its_third_period() {
        let schedule = EmissionSchedule::helium_hnt(8).unwrap();
        let hnt = 100_000_000u128;
        let day = |epoch| {
            schedule
                .emission_for_epoch(epoch, CapacityIntegral::NONE)
                .unwrap()
                .amount
        };
        assert_eq!(day(0), 60_000_000 * hnt / 365);
        assert_eq!(day(730), day(0) / 2);
        assert_eq!(day(1_460), day(0) / 4);
        // Published: 120M in the first two years, 60M in the next, 15M a year from Aug 2023.
        let first_period = schedule.cumulative(730, 0).unwrap();
        assert!(first_period.abs_diff(120_000_000 * hnt) < 730);
        let third_period_year =
            schedule.cumulative(1_825, 0).unwrap() - schedule.cumulative(1_460, 0).unwrap();
        assert!(third_period_year.abs_diff(15_000_000 * hnt) < 365);
        // The total converges to twice the first period.
        let far = schedule.cumulative(u64::MAX, 0).unwrap();
        assert!(far <= 2 * first_period && far > 2 * first_period - 2 * 730 * 130);
    }

    #[test]
    fn a_supply_cap_stops_emission_exactly_at_the_cap() {
        let schedule = EmissionSchedule {
            curves: vec![EmissionCurve::Constant { per_epoch: 7 }],
            supply_cap: Some(100),
        };
        let epoch_14 = schedule
            .emission_for_epoch(14, CapacityIntegral::NONE)
            .unwrap();
        assert_eq!(epoch_14.amount, 2);
        assert_eq!(epoch_14.withheld_by_cap, 5);
        assert_eq!(epoch_14.cumulative_after, 100);
        let epoch_15 = schedule
            .emission_for_epoch(15, CapacityIntegral::NONE)
            .unwrap();
        assert_eq!(epoch_15.amount, 0);
    }

    #[test]
    fn baseline_minting_at_the_baseline_runs_on_network_time() {
        let schedule = EmissionSchedule::filecoin(18).unwrap();
        let EmissionCurve::Baseline(baseline) = &schedule.curves[1] else {
            panic!("the second curve is the baseline");
        };
        let year = u128::from(FILECOIN_EPOCHS_PER_YEAR);
        // A network exactly at the doubling baseline for two years has integral
        // b0·E·(2² − 1)/ln 2, so θ = two years and M_B = 770M·(1 − 2^(−1/3)).
        let integral =
            mul_div_floor(FILECOIN_INITIAL_BASELINE_BYTES * year * 3, HP, LN2_HP).unwrap();
        let theta = baseline.effective_network_time(integral).unwrap();
        let two_years = Fixed::from_integer(2 * year).unwrap();
        assert!(theta.raw().abs_diff(two_years.raw()) < 1_000_000, "{theta}");
        let minted = baseline.cumulative(integral).unwrap() as f64 / FIL as f64;
        let expected = 770e6 * (1.0 - 2f64.powf(-1.0 / 3.0));
        assert!((minted - expected).abs() < 1e-6, "{minted} vs {expected}");
    }

    #[test]
    fn a_network_below_the_baseline_defers_baseline_minting() {
        let baseline = BaselineMinting {
            total: 770_000,
            half_life_epochs: 6 * 365,
            initial_baseline: 1_000_000,
            growth_bps_per_year: 10_000,
            epochs_per_year: 365,
        };
        let mut at_baseline = 0u128;
        let mut half_baseline = 0u128;
        for epoch in 0..730 {
            let b = baseline.baseline_at(epoch).unwrap();
            at_baseline = baseline
                .advance_capacity_integral(at_baseline, epoch, 10 * b)
                .unwrap();
            half_baseline = baseline
                .advance_capacity_integral(half_baseline, epoch, b / 2)
                .unwrap();
        }
        assert_eq!(baseline.baseline_at(365).unwrap(), 2_000_000);
        let theta = baseline.effective_network_time(at_baseline).unwrap();
        // The discrete left sum trails the continuous integral by about half an epoch.
        assert!(
            theta.raw().abs_diff(730 * FIXED_SCALE) < FIXED_SCALE,
            "{theta}"
        );
        assert!(
            baseline.cumulative(half_baseline).unwrap() < baseline.cumulative(at_baseline).unwrap()
        );
    }

    #[test]
    fn helium_net_emissions_smoothing_converges_to_a_steady_burn() {
        let mut smoothed = 0u128;
        for _ in 0..400 {
            smoothed = NetEmissions::smoothed_burn(smoothed, 7_000_000);
        }
        // Fixed point of s = ⌊6s/7⌋ + 10^6 within rounding: s ≈ 7·10^6 − 6.
        assert!(smoothed.abs_diff(7_000_000) <= 7, "{smoothed}");
        assert_eq!(NetEmissions::smoothed_burn(7, 0), 6);
        let net = NetEmissions {
            max_remint_per_epoch: 1_000,
        };
        assert_eq!(net.remint(smoothed), 1_000);
        assert_eq!(net.remint(10), 10);
    }

    #[test]
    fn schedules_round_trip_through_json_and_toml() {
        let schedule = EmissionSchedule::filecoin(18).unwrap();
        let json = serde_json::to_string(&schedule).unwrap();
        assert!(json.contains("\"770000000000000000000000000\""));
        assert_eq!(
            serde_json::from_str::<EmissionSchedule>(&json).unwrap(),
            schedule
        );
        let toml_text = toml::to_string(&schedule).unwrap();
        assert_eq!(
            toml::from_str::<EmissionSchedule>(&toml_text).unwrap(),
            schedule
        );
    }

    #[test]
    fn invalid_parameters_are_reported_not_panicked_on() {
        let schedule = EmissionSchedule {
            curves: vec![EmissionCurve::ExponentialDecay {
                total: 1,
                half_life_epochs: 0,
            }],
            supply_cap: None,
        };
        assert_eq!(
            schedule.emission_for_epoch(0, CapacityIntegral::NONE),
            Err(TokenomicsError::ZeroParameter("half_life_epochs"))
        );
        assert_eq!(
            whole_tokens(1, 19),
            Err(TokenomicsError::TooManyDecimals(19))
        );
    }

    proptest! {
        #[test]
        fn cumulative_issuance_never_decreases_and_never_exceeds_the_total(
            epoch in 0u64..200 * FILECOIN_EPOCHS_PER_YEAR,
            step in 1u64..10_000,
        ) {
            let schedule = EmissionSchedule::filecoin_simple(18).unwrap();
            let a = schedule.cumulative(epoch, 0).unwrap();
            let b = schedule.cumulative(epoch + step, 0).unwrap();
            prop_assert!(a <= b);
            prop_assert!(b <= 330_000_000 * FIL);
        }

        #[test]
        fn an_epoch_emission_is_the_difference_of_cumulatives(
            epoch in 0u64..1_000_000,
            start in 0u128..1u128 << 100,
            added in 0u128..1u128 << 90,
        ) {
            let schedule = EmissionSchedule::filecoin(8).unwrap();
            let capacity = CapacityIntegral { start, end: start + added };
            let emission = schedule.emission_for_epoch(epoch, capacity).unwrap();
            prop_assert_eq!(emission.amount, emission.cumulative_after - emission.cumulative_before);
            prop_assert_eq!(emission.per_curve.iter().sum::<u128>(), emission.amount);
        }

        #[test]
        fn halving_cumulative_matches_a_running_sum(initial in 0u128..1u128 << 80, interval in 1u64..50, epochs in 0u64..400) {
            let curve = EmissionCurve::Halving { initial_per_epoch: initial, halving_interval_epochs: interval };
            let running: u128 = (0..epochs)
                .map(|e| initial.checked_shr((e / interval) as u32).unwrap_or(0))
                .sum();
            prop_assert_eq!(curve.cumulative(epochs, 0).unwrap(), running);
        }
    }
}
