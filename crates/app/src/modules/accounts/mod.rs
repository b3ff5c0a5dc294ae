//! Accounts: balances, nonces, the minimum fee and total-supply tracking.
//!
//! Fees are **burned**: the fee leaves the payer's balance and the supply's `burned` counter
//! grows by it. Burning keeps the supply rule simple (`supply = genesis + minted − burned`), ties
//! network use to token demand as burn-and-mint networks do, and gives no single proposer a
//! reason to reorder transactions for fees.

pub mod events;
pub mod msgs;
pub mod params;
pub mod query;
pub mod state;

use groundwork_primitives::Amount;

use crate::error::{AppError, AppResult};
use crate::genesis::Genesis;
use state::{Account, AccountsRead, AccountsWrite, Supply};

/// Writes the genesis balances, the supply and the parameters.
pub fn init_genesis(state: &mut impl AccountsWrite, genesis: &Genesis) -> AppResult<()> {
    let mut total: u128 = 0;
    for entry in &genesis.accounts {
        state.put_account(
            &entry.address,
            &Account {
                balance: entry.balance,
                nonce: 0,
            },
        );
        total = total
            .checked_add(entry.balance.0)
            .ok_or_else(|| AppError::Genesis("starting balances overflow".into()))?;
    }
    state.put_supply(&Supply {
        genesis: Amount(total),
        minted: Amount::ZERO,
        burned: Amount::ZERO,
    });
    state.put_accounts_params(&genesis.params.accounts);
    Ok(())
}

/// Checks the supply invariants over the whole state: liquid balances plus what other modules
/// hold (`held`: bonded and unbonding stake, escrow) add up to the supply, and the supply equals
/// genesis + minted − burned. Scans every account: for tests and audits.
pub fn check_invariants(state: &impl AccountsRead, held: Amount) -> Result<(), String> {
    let supply = state.supply().map_err(|e| e.to_string())?;
    let expected = supply
        .total()
        .ok_or_else(|| format!("burned {} exceeds genesis + minted", supply.burned.0))?;
    let mut sum: u128 = held.0;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = state
            .accounts_page(after.as_deref(), 1024)
            .map_err(|e| e.to_string())?;
        if page.is_empty() {
            break;
        }
        for (address, account) in &page {
            sum = sum
                .checked_add(account.balance.0)
                .ok_or_else(|| format!("balances overflow at {address}"))?;
        }
        after = page.last().map(|(address, _)| state::account_key(address));
    }
    if sum != expected.0 {
        return Err(format!(
            "balances and held stake add up to {sum}, the supply is {}",
            expected.0
        ));
    }
    Ok(())
}
