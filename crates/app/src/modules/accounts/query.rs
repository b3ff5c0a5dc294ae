//! Read-only views of the accounts module for the API and the CLI.

use groundwork_primitives::{Address, Amount};
use serde::{Deserialize, Serialize};

use crate::error::AppResult;
use crate::modules::accounts::state::AccountsRead;

/// An account as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// The address.
    pub address: Address,
    /// Balance in base units.
    pub balance: Amount,
    /// The nonce its next transaction must carry.
    pub nonce: u64,
}

/// The supply as the API shows it (base units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplyView {
    /// Sum of genesis balances.
    pub genesis: Amount,
    /// Minted since genesis.
    pub minted: Amount,
    /// Burned since genesis.
    pub burned: Amount,
    /// genesis + minted − burned.
    pub total: Amount,
}

/// An account's view.
pub fn account(state: &impl AccountsRead, address: &Address) -> AppResult<AccountView> {
    let account = state.account(address)?;
    Ok(AccountView {
        address: *address,
        balance: account.balance,
        nonce: account.nonce,
    })
}

/// The supply's view.
pub fn supply(state: &impl AccountsRead) -> AppResult<SupplyView> {
    let supply = state.supply()?;
    Ok(SupplyView {
        genesis: supply.genesis,
        minted: supply.minted,
        burned: supply.burned,
        total: supply.total().unwrap_or(Amount::ZERO),
    })
}
