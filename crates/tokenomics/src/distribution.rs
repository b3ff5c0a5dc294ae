//! Sharing one pool among devices, in proportion to their weights, with an explanation for each.
//!
//! A device's weight is `units × density scale × reputation` (each product rounded down, in
//! [`Fixed`] with 18 decimals). Its payout is `⌊pool · weight / total weight⌋`. Rounding always
//! goes down, so the payouts never add up to more than the pool; what is left is
//! [`Distribution::remainder`], and `Σ payouts + remainder == pool` holds exactly.
//!
//! ```
//! use groundwork_tokenomics::{Contribution, Fixed, distribute};
//!
//! let contributions = vec![
//!     Contribution::new("alice", Fixed::from_integer(2).unwrap()),
//!     Contribution::new("bob", Fixed::ONE).with_reputation(Fixed::from_bps(5_000)),
//! ];
//! let distribution = distribute(100, &contributions).unwrap();
//! assert_eq!(distribution.amount_for(&"alice"), Some(80)); // weight 2 of 2.5
//! assert_eq!(distribution.amount_for(&"bob"), Some(20)); // weight 0.5 of 2.5
//! assert_eq!(distribution.remainder, 0);
//! ```

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::amount_serde;
use crate::error::{Result, TokenomicsError};
use crate::fixed::{Fixed, mul_div_floor};
use crate::pools::ProofKind;

/// Below this many contributions the work stays on the calling thread.
const PARALLEL_THRESHOLD: usize = 4_096;

/// Why a device that reported work was given zero units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ineligibility {
    /// Fewer heartbeats than the uptime pool's minimum.
    TooFewHeartbeats,
    /// No asserted location (or one coarser than density scaling needs), so no coverage rewards.
    NoLocation,
    /// The reputation score is below the disqualification threshold.
    Disqualified,
}

/// One device's claim on a pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution<K> {
    /// The device.
    pub device: K,
    /// Units of work, before multipliers (e.g. 1 per qualifying uptime, HIP-15 units, credits).
    pub units: Fixed,
    /// HIP-17 density scale in `[0, 1]` (1 when density scaling does not apply).
    pub density_scale: Fixed,
    /// Reputation multiplier in `[0, 1]` (1 when reputation does not apply).
    pub reputation: Fixed,
    /// Why the device earns nothing despite reporting, when that is the case.
    pub ineligible: Option<Ineligibility>,
}

impl<K> Contribution<K> {
    /// A contribution of `units` with no multipliers.
    pub fn new(device: K, units: Fixed) -> Self {
        Contribution {
            device,
            units,
            density_scale: Fixed::ONE,
            reputation: Fixed::ONE,
            ineligible: None,
        }
    }

    /// The same contribution with a density scale.
    pub fn with_density_scale(mut self, density_scale: Fixed) -> Self {
        self.density_scale = density_scale;
        self
    }

    /// The same contribution with a reputation multiplier.
    pub fn with_reputation(mut self, reputation: Fixed) -> Self {
        self.reputation = reputation;
        self
    }

    /// The same contribution marked as earning nothing, for a reason; its units become zero.
    pub fn ineligible(mut self, reason: Ineligibility) -> Self {
        self.units = Fixed::ZERO;
        self.ineligible = Some(reason);
        self
    }

    /// `units × density scale × reputation` (raw 18-decimal value), each product rounded down.
    pub fn weight(&self) -> Result<u128> {
        if self.ineligible.is_some() {
            return Ok(0);
        }
        self.units
            .checked_mul(self.density_scale)
            .and_then(|w| w.checked_mul(self.reputation))
            .map(Fixed::raw)
            .ok_or(TokenomicsError::Overflow("a contribution's weight"))
    }
}

/// One device's payout from a pool, with the numbers that produced it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout<K> {
    /// The device.
    pub device: K,
    /// Base units paid: `⌊pool · weight / total weight⌋`.
    #[serde(with = "amount_serde")]
    pub amount: u128,
    /// Units before multipliers.
    pub units: Fixed,
    /// Density scale applied.
    pub density_scale: Fixed,
    /// Reputation multiplier applied.
    pub reputation: Fixed,
    /// The resulting weight (raw 18-decimal value).
    #[serde(with = "amount_serde")]
    pub weight: u128,
    /// Why the device earned nothing, if it was ineligible.
    pub ineligible: Option<Ineligibility>,
}

/// A pool shared among devices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distribution<K> {
    /// The pool's amount in base units.
    #[serde(with = "amount_serde")]
    pub pool: u128,
    /// The sum of all weights (raw 18-decimal value).
    #[serde(with = "amount_serde")]
    pub total_weight: u128,
    /// One payout per contributing device, sorted by device key.
    pub payouts: Vec<Payout<K>>,
    /// `pool − Σ payouts`: rounding dust, or the whole pool if nobody had any weight.
    #[serde(with = "amount_serde")]
    pub remainder: u128,
}

/// A device's earnings from one pool, spelled out for an operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation<K> {
    /// The device.
    pub device: K,
    /// The pool's proof kind, when known.
    pub kind: Option<ProofKind>,
    /// The pool's amount.
    #[serde(with = "amount_serde")]
    pub pool: u128,
    /// Units before multipliers.
    pub units: Fixed,
    /// The multipliers applied, in order (a multiplier of exactly 1 is still listed).
    pub multipliers: Vec<AppliedMultiplier>,
    /// The device's weight (units × multipliers).
    pub weight: Fixed,
    /// The weight of all devices in the pool.
    pub total_weight: Fixed,
    /// Base units earned.
    #[serde(with = "amount_serde")]
    pub amount: u128,
    /// Why the device earned nothing, if it was ineligible.
    pub ineligible: Option<Ineligibility>,
}

/// A multiplier applied to a device's units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedMultiplier {
    /// Which multiplier.
    pub kind: MultiplierKind,
    /// Its value.
    pub value: Fixed,
}

/// The multipliers this crate knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiplierKind {
    /// HIP-17 density scaling.
    Density,
    /// Reputation from audit history.
    Reputation,
}

impl<K: Ord> Distribution<K> {
    /// Base units paid in total.
    pub fn paid(&self) -> u128 {
        self.pool - self.remainder
    }

    /// The payout of one device, found by binary search.
    pub fn payout_for(&self, device: &K) -> Option<&Payout<K>> {
        self.payouts
            .binary_search_by(|payout| payout.device.cmp(device))
            .ok()
            .map(|index| &self.payouts[index])
    }

    /// The amount paid to one device.
    pub fn amount_for(&self, device: &K) -> Option<u128> {
        self.payout_for(device).map(|payout| payout.amount)
    }

    /// The full explanation of one device's payout.
    pub fn explain(&self, device: &K, kind: Option<ProofKind>) -> Option<Explanation<K>>
    where
        K: Clone,
    {
        let payout = self.payout_for(device)?;
        Some(Explanation {
            device: payout.device.clone(),
            kind,
            pool: self.pool,
            units: payout.units,
            multipliers: vec![
                AppliedMultiplier {
                    kind: MultiplierKind::Density,
                    value: payout.density_scale,
                },
                AppliedMultiplier {
                    kind: MultiplierKind::Reputation,
                    value: payout.reputation,
                },
            ],
            weight: Fixed::from_raw(payout.weight),
            total_weight: Fixed::from_raw(self.total_weight),
            amount: payout.amount,
            ineligible: payout.ineligible,
        })
    }
}

/// Share `pool` among `contributions` in proportion to their weights.
///
/// Contributions may come in any order (sorted input is not re-sorted); each device may
/// appear only once. Every payout rounds down; `Σ payouts + remainder == pool` exactly. When
/// no device has any weight, nobody is paid and the whole pool is the remainder.
pub fn distribute<K>(pool: u128, contributions: &[Contribution<K>]) -> Result<Distribution<K>>
where
    K: Ord + Clone + Send + Sync,
{
    distribute_owned(pool, contributions.to_vec())
}

/// [`distribute`] taking ownership of the contributions, so device keys are moved into the
/// payouts instead of cloned (what [`crate::compute_epoch_rewards`] uses for large epochs).
pub fn distribute_owned<K>(
    pool: u128,
    mut contributions: Vec<Contribution<K>>,
) -> Result<Distribution<K>>
where
    K: Ord + Send + Sync,
{
    let sorted = contributions
        .par_windows(2)
        .all(|pair| pair[0].device < pair[1].device);
    if !sorted {
        contributions.par_sort_by(|a, b| a.device.cmp(&b.device));
        if let Some(index) = contributions
            .windows(2)
            .position(|pair| pair[0].device == pair[1].device)
        {
            return Err(TokenomicsError::DuplicateDevice { index: index + 1 });
        }
    }
    let parallel = contributions.len() >= PARALLEL_THRESHOLD;
    let weights: Vec<u128> = if parallel {
        contributions
            .par_iter()
            .map(Contribution::weight)
            .collect::<Result<_>>()?
    } else {
        contributions
            .iter()
            .map(Contribution::weight)
            .collect::<Result<_>>()?
    };
    let total_weight = weights
        .iter()
        .try_fold(0u128, |sum, w| sum.checked_add(*w))
        .ok_or(TokenomicsError::Overflow("the total weight of a pool"))?;

    let payout_of = |(contribution, weight): (Contribution<K>, u128)| -> Payout<K> {
        let amount = if total_weight == 0 {
            0
        } else {
            // weight ≤ total_weight, so the quotient ≤ pool and always fits.
            mul_div_floor(pool, weight, total_weight).unwrap_or(0)
        };
        Payout {
            device: contribution.device,
            amount,
            units: contribution.units,
            density_scale: contribution.density_scale,
            reputation: contribution.reputation,
            weight,
            ineligible: contribution.ineligible,
        }
    };
    let payouts: Vec<Payout<K>> = if parallel {
        contributions
            .into_par_iter()
            .zip(weights.into_par_iter())
            .map(payout_of)
            .collect()
    } else {
        contributions
            .into_iter()
            .zip(weights)
            .map(payout_of)
            .collect()
    };
    // Σ ⌊pool·wᵢ/W⌋ ≤ pool·Σwᵢ/W = pool, so this cannot underflow.
    let paid = payouts.iter().map(|p| p.amount).sum::<u128>();
    Ok(Distribution {
        pool,
        total_weight,
        payouts,
        remainder: pool - paid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn units(n: u128) -> Fixed {
        Fixed::from_integer(n).unwrap()
    }

    #[test]
    fn payouts_are_proportional_to_weight_and_round_down() {
        let contributions = vec![
            Contribution::new(1u32, units(1)),
            Contribution::new(2u32, units(1)),
            Contribution::new(3u32, units(1)),
        ];
        let distribution = distribute(100, &contributions).unwrap();
        assert_eq!(distribution.amount_for(&1), Some(33));
        assert_eq!(distribution.remainder, 1);
        assert_eq!(distribution.paid(), 99);
    }

    #[test]
    fn a_pool_nobody_qualified_for_is_returned_whole() {
        let contributions =
            vec![Contribution::new(1u32, units(5)).ineligible(Ineligibility::TooFewHeartbeats)];
        let distribution = distribute(1_000, &contributions).unwrap();
        assert_eq!(distribution.remainder, 1_000);
        assert_eq!(
            distribution.payouts[0].ineligible,
            Some(Ineligibility::TooFewHeartbeats)
        );
        let empty: Vec<Contribution<u32>> = Vec::new();
        assert_eq!(distribute(1_000, &empty).unwrap().remainder, 1_000);
    }

    #[test]
    fn unsorted_input_is_sorted_and_duplicates_are_rejected() {
        let contributions = vec![
            Contribution::new(9u32, units(1)),
            Contribution::new(3u32, units(3)),
        ];
        let distribution = distribute(4, &contributions).unwrap();
        assert_eq!(distribution.payouts[0].device, 3);
        assert_eq!(distribution.payouts[0].amount, 3);
        let twice = vec![
            Contribution::new(3u32, units(1)),
            Contribution::new(1u32, units(1)),
            Contribution::new(3u32, units(1)),
        ];
        assert_eq!(
            distribute(4, &twice),
            Err(TokenomicsError::DuplicateDevice { index: 2 })
        );
    }

    #[test]
    fn the_explanation_lists_units_multipliers_and_pool() {
        let contributions = vec![
            Contribution::new("a", units(4)).with_density_scale(Fixed::from_bps(2_500)),
            Contribution::new("b", units(1)),
        ];
        let distribution = distribute(1_000, &contributions).unwrap();
        let explanation = distribution
            .explain(&"a", Some(ProofKind::Coverage))
            .unwrap();
        assert_eq!(explanation.weight, units(1));
        assert_eq!(explanation.total_weight, units(2));
        assert_eq!(explanation.amount, 500);
        assert_eq!(explanation.multipliers[0].kind, MultiplierKind::Density);
        assert_eq!(explanation.multipliers[0].value, Fixed::from_bps(2_500));
        assert_eq!(explanation.pool, 1_000);
        assert!(distribution.explain(&"c", None).is_none());
    }

    #[test]
    fn huge_pools_and_weights_use_wide_arithmetic() {
        let contributions = vec![
            Contribution::new(1u8, Fixed::from_raw(u128::MAX / 4)),
            Contribution::new(2u8, Fixed::from_raw(u128::MAX / 4)),
        ];
        let distribution = distribute(u128::MAX, &contributions).unwrap();
        assert_eq!(distribution.payouts[0].amount, u128::MAX / 2);
        assert_eq!(distribution.remainder, 1);
    }

    proptest! {
        #[test]
        fn payouts_plus_remainder_equal_the_pool_exactly(
            pool in any::<u128>(),
            raw_units in vec(0u128..1u128 << 80, 0..60),
            reputations in vec(0u32..=10_000, 60),
        ) {
            let contributions: Vec<_> = raw_units
                .iter()
                .enumerate()
                .map(|(i, u)| Contribution::new(i, Fixed::from_raw(*u)).with_reputation(Fixed::from_bps(reputations[i])))
                .collect();
            let distribution = distribute(pool, &contributions).unwrap();
            let paid: u128 = distribution.payouts.iter().map(|p| p.amount).sum();
            prop_assert!(paid <= pool);
            prop_assert_eq!(paid + distribution.remainder, pool);
            if distribution.total_weight > 0 {
                // Each payout is within one base unit of its exact share, so dust < devices.
                prop_assert!(distribution.remainder < contributions.len() as u128);
            }
        }

        #[test]
        fn more_weight_never_earns_less(
            pool in 0u128..1u128 << 100,
            raw_units in vec(1u128..1u128 << 70, 2..40),
        ) {
            let contributions: Vec<_> = raw_units.iter().enumerate().map(|(i, u)| Contribution::new(i, Fixed::from_raw(*u))).collect();
            let distribution = distribute(pool, &contributions).unwrap();
            for a in &distribution.payouts {
                for b in &distribution.payouts {
                    if a.weight >= b.weight {
                        prop_assert!(a.amount >= b.amount);
                    }
                }
            }
        }

        #[test]
        fn a_device_earns_more_when_its_units_grow(
            pool in 1u128..1u128 << 100,
            raw_units in vec(1u128..1u128 << 70, 2..20),
            extra in 1u128..1u128 << 70,
        ) {
            let before: Vec<_> = raw_units.iter().enumerate().map(|(i, u)| Contribution::new(i, Fixed::from_raw(*u))).collect();
            let mut after = before.clone();
            after[0].units = Fixed::from_raw(raw_units[0] + extra);
            let earned_before = distribute(pool, &before).unwrap().payouts[0].amount;
            let earned_after = distribute(pool, &after).unwrap().payouts[0].amount;
            prop_assert!(earned_after >= earned_before);
        }
    }
}
