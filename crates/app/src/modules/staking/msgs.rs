//! Transaction messages of the staking module.

use groundwork_primitives::Amount;

use crate::TxContext;
use crate::error::ExecError;
use crate::modules::accounts::state::AccountsWrite;
use crate::modules::staking::{events, state::StakingWrite};

/// Withdraws every unbonding entry of the sender whose release height has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawUnbonded;

impl WithdrawUnbonded {
    /// Executes the withdrawal.
    pub fn execute<S: AccountsWrite + StakingWrite>(
        &self,
        state: &mut S,
        ctx: &mut TxContext<'_>,
    ) -> Result<(), ExecError> {
        let released = state.take_released(&ctx.sender, ctx.height)?;
        if released == Amount::ZERO {
            return Err(ExecError::Fail("nothing has finished unbonding yet".into()));
        }
        state
            .credit(&ctx.sender, released)?
            .map_err(|e| ExecError::Fail(e.to_string()))?;
        ctx.events.push(events::withdrawn(&ctx.sender, released));
        Ok(())
    }
}
