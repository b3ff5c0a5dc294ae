//! Reward pools: an epoch's emission split by proof kind, and what happens to what nobody earned.
//!
//! Each pool gets `⌊amount · share_bps / 10,000⌋`; the few base units lost to rounding are returned
//! as [`PoolAmounts::rounding_remainder`]. A pool nobody qualified for is not paid out: its amount
//! goes to the [`UnclaimedDestination`] the parameters name (treasury, burn, or the next epoch),
//! and [`Settlement`] records every such base unit, so nothing is ever lost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::amount_serde;
use crate::error::{Result, TokenomicsError};

/// Basis points in a whole.
pub const BPS_WHOLE: u32 = 10_000;

/// The kinds of physical work a device can prove, one reward pool each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProofKind {
    /// Heartbeats proving the device was online.
    Uptime,
    /// Radio coverage: beacons and the witnesses that heard them.
    Coverage,
    /// Data transferred for paying users (credits actually burned).
    DataTransfer,
    /// Sensor readings that passed plausibility checks.
    SensorData,
    /// Storage challenges answered (capacity × time proven).
    Storage,
    /// Compute results verified.
    Compute,
}

impl ProofKind {
    /// Every proof kind, in order.
    pub const ALL: [ProofKind; 6] = [
        ProofKind::Uptime,
        ProofKind::Coverage,
        ProofKind::DataTransfer,
        ProofKind::SensorData,
        ProofKind::Storage,
        ProofKind::Compute,
    ];
}

/// Where tokens go that no device earned (and rounding dust).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum UnclaimedDestination {
    /// To the network's treasury account (the default: nothing is destroyed by accident).
    #[default]
    Treasury,
    /// Burned (reduces supply).
    Burn,
    /// Added to the next epoch's distributable amount.
    CarryOver,
}

/// One pool: its share of the epoch and which multipliers apply to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSpec {
    /// The proof kind this pool rewards.
    pub kind: ProofKind,
    /// Share of the distributable amount, in basis points.
    pub share_bps: u32,
    /// Whether the device's reputation multiplier scales its weight (default: yes).
    #[serde(default = "default_true")]
    pub apply_reputation: bool,
    /// Whether HIP-17 density scaling scales its weight (default: no; coverage pools set it).
    #[serde(default)]
    pub apply_density: bool,
}

fn default_true() -> bool {
    true
}

/// How an epoch's distributable amount is split into pools.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSplit {
    /// The pools; shares must add up to exactly 10,000 basis points; each kind at most once.
    pub pools: Vec<PoolSpec>,
    /// Where a pool goes that nobody qualified for (default: treasury).
    #[serde(default)]
    pub unclaimed: UnclaimedDestination,
    /// Where rounding dust goes (default: treasury).
    #[serde(default)]
    pub rounding: UnclaimedDestination,
}

/// The amount of each pool for one epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolAmounts {
    /// Base units per pool.
    pub pools: BTreeMap<ProofKind, u128>,
    /// What the split itself lost to rounding down.
    #[serde(with = "amount_serde")]
    pub rounding_remainder: u128,
}

impl PoolSplit {
    /// Check that the shares add up to a whole and no kind repeats.
    pub fn validate(&self) -> Result<()> {
        let mut seen = BTreeMap::new();
        let mut sum: u32 = 0;
        for pool in &self.pools {
            if seen.insert(pool.kind, ()).is_some() {
                return Err(TokenomicsError::DuplicatePool(pool.kind));
            }
            sum = sum.saturating_add(pool.share_bps);
        }
        if sum != BPS_WHOLE {
            return Err(TokenomicsError::PoolSharesDoNotSumToWhole { sum });
        }
        Ok(())
    }

    /// The spec of one pool, if configured.
    pub fn pool(&self, kind: ProofKind) -> Option<&PoolSpec> {
        self.pools.iter().find(|pool| pool.kind == kind)
    }

    /// Split `amount` into pools, rounding each down.
    pub fn split(&self, amount: u128) -> Result<PoolAmounts> {
        self.validate()?;
        let mut pools = BTreeMap::new();
        let mut allocated = 0u128;
        for pool in &self.pools {
            // amount / 10,000 · bps + (amount mod 10,000) · bps / 10,000 = ⌊amount·bps/10,000⌋
            // without overflowing for any u128 amount.
            let bps = u128::from(pool.share_bps);
            let whole = u128::from(BPS_WHOLE);
            let share = (amount / whole) * bps + (amount % whole) * bps / whole;
            allocated += share;
            pools.insert(pool.kind, share);
        }
        Ok(PoolAmounts {
            pools,
            rounding_remainder: amount - allocated,
        })
    }
}

/// Where an epoch's undistributed tokens went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// Base units credited to the treasury.
    #[serde(with = "amount_serde")]
    pub to_treasury: u128,
    /// Base units burned.
    #[serde(with = "amount_serde")]
    pub to_burn: u128,
    /// Base units carried to the next epoch.
    #[serde(with = "amount_serde")]
    pub carry_over: u128,
}

impl Settlement {
    /// Send `amount` to `destination`.
    pub fn route(&mut self, destination: UnclaimedDestination, amount: u128) {
        let slot = match destination {
            UnclaimedDestination::Treasury => &mut self.to_treasury,
            UnclaimedDestination::Burn => &mut self.to_burn,
            UnclaimedDestination::CarryOver => &mut self.carry_over,
        };
        *slot = slot.saturating_add(amount);
    }

    /// Everything routed.
    pub fn total(&self) -> u128 {
        self.to_treasury
            .saturating_add(self.to_burn)
            .saturating_add(self.carry_over)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split(shares: &[(ProofKind, u32)]) -> PoolSplit {
        PoolSplit {
            pools: shares
                .iter()
                .map(|&(kind, share_bps)| PoolSpec {
                    kind,
                    share_bps,
                    apply_reputation: true,
                    apply_density: false,
                })
                .collect(),
            unclaimed: UnclaimedDestination::Treasury,
            rounding: UnclaimedDestination::Treasury,
        }
    }

    #[test]
    fn shares_that_do_not_add_up_to_a_whole_are_rejected() {
        let bad = split(&[(ProofKind::Uptime, 5_000), (ProofKind::Coverage, 4_000)]);
        assert_eq!(
            bad.split(100),
            Err(TokenomicsError::PoolSharesDoNotSumToWhole { sum: 9_000 })
        );
        let twice = split(&[(ProofKind::Uptime, 5_000), (ProofKind::Uptime, 5_000)]);
        assert_eq!(
            twice.validate(),
            Err(TokenomicsError::DuplicatePool(ProofKind::Uptime))
        );
    }

    #[test]
    fn a_split_rounds_each_pool_down_and_reports_the_dust() {
        let thirds = split(&[
            (ProofKind::Uptime, 3_333),
            (ProofKind::Coverage, 3_333),
            (ProofKind::DataTransfer, 3_334),
        ]);
        let amounts = thirds.split(10).unwrap();
        assert_eq!(amounts.pools[&ProofKind::Uptime], 3);
        assert_eq!(amounts.pools[&ProofKind::DataTransfer], 3);
        assert_eq!(amounts.rounding_remainder, 1);
    }

    #[test]
    fn settlement_routes_each_amount_to_its_destination() {
        let mut settlement = Settlement::default();
        settlement.route(UnclaimedDestination::Burn, 5);
        settlement.route(UnclaimedDestination::CarryOver, 7);
        settlement.route(UnclaimedDestination::Treasury, 1);
        assert_eq!(
            (
                settlement.to_burn,
                settlement.carry_over,
                settlement.to_treasury
            ),
            (5, 7, 1)
        );
        assert_eq!(settlement.total(), 13);
    }

    proptest! {
        #[test]
        fn pools_plus_dust_equal_the_amount_exactly(amount in any::<u128>(), a in 0u32..=10_000, b in 0u32..=10_000) {
            let b = b.min(10_000 - a);
            let pools = split(&[(ProofKind::Uptime, a), (ProofKind::Coverage, b), (ProofKind::Storage, 10_000 - a - b)]);
            let amounts = pools.split(amount).unwrap();
            let total: u128 = amounts.pools.values().sum::<u128>() + amounts.rounding_remainder;
            prop_assert_eq!(total, amount);
            prop_assert!(amounts.rounding_remainder < 3);
        }
    }
}
