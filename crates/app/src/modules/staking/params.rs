//! Staking parameters.

use serde::{Deserialize, Serialize};

/// Staking parameters, set at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StakingParams {
    /// Blocks a decommissioned device's stake waits before it can be withdrawn. The default,
    /// 600 blocks (10 minutes at 1 s blocks), suits a devnet; a production network would choose
    /// days, long enough to slash for faults discovered after the device left.
    pub unbonding_blocks: u64,
}

impl Default for StakingParams {
    fn default() -> Self {
        StakingParams {
            unbonding_blocks: 600,
        }
    }
}
