//! Read-only views of staking.

use groundwork_primitives::Address;

use crate::error::AppResult;
use crate::modules::staking::state::{StakeTotals, StakingRead, Unbonding};

/// The totals.
pub fn totals(state: &impl StakingRead) -> AppResult<StakeTotals> {
    state.stake_totals()
}

/// An owner's unbonding entries.
pub fn unbonding(state: &impl StakingRead, owner: &Address) -> AppResult<Vec<Unbonding>> {
    state.unbonding_of(owner, 1024)
}
