//! Transaction messages of the accounts module.

use groundwork_primitives::{Address, Amount};
use groundwork_proto::v1;

use crate::TxContext;
use crate::error::ExecError;
use crate::modules::accounts::events;
use crate::modules::accounts::state::AccountsWrite;

/// Move `amount` from the sender to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Recipient.
    pub to: Address,
    /// Amount, more than zero.
    pub amount: Amount,
}

impl Transfer {
    /// Stateless check of the wire message.
    pub fn from_proto(message: &v1::Transfer) -> Result<Transfer, String> {
        let to = Address::from_slice(&message.to).map_err(|e| format!("recipient: {e}"))?;
        let amount =
            Amount::parse_base_units(&message.amount).map_err(|e| format!("amount: {e}"))?;
        if amount == Amount::ZERO {
            return Err("amount: a transfer moves more than zero".into());
        }
        Ok(Transfer { to, amount })
    }

    /// Executes the transfer against state.
    pub fn execute(
        &self,
        state: &mut impl AccountsWrite,
        ctx: &mut TxContext<'_>,
    ) -> Result<(), ExecError> {
        state
            .debit(&ctx.sender, self.amount)?
            .map_err(|e| ExecError::Fail(e.to_string()))?;
        state
            .credit(&self.to, self.amount)?
            .map_err(|e| ExecError::Fail(e.to_string()))?;
        ctx.events
            .push(events::transfer(&ctx.sender, &self.to, self.amount));
        Ok(())
    }
}
