//! Read-only views of credits and the oracle price for the API and the CLI.

use groundwork_primitives::{Address, Amount};
use serde::{Deserialize, Serialize};

use crate::error::AppResult;
use crate::modules::accounts::state::AccountsRead;
use crate::modules::credits::pricing::median_price;
use crate::modules::credits::state::{CreditTotals, CreditsRead};
use crate::modules::staking::state::StakingRead;

/// An account's credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditBalanceView {
    /// The account.
    pub address: Address,
    /// Its credits (not tokens; they cannot be transferred).
    pub credits: u64,
}

/// One oracle's latest submission as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionView {
    /// The oracle.
    pub oracle: Address,
    /// Micro-fiat per whole token.
    pub micro_fiat_per_token: u64,
    /// The block that carried it.
    pub height: u64,
    /// That block's time, ms.
    pub time_ms: u64,
    /// Age at the last block's time, ms.
    pub age_ms: u64,
    /// Whether it counts toward the median now.
    pub fresh: bool,
}

/// The oracle price as minting would see it at the last block's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OracleView {
    /// The oracle accounts named at genesis.
    pub oracles: Vec<Address>,
    /// Their latest submissions.
    pub submissions: Vec<SubmissionView>,
    /// The median minting uses, or `None` when the price is stale.
    pub median_micro_fiat_per_token: Option<u64>,
    /// Why there is no median, when there is none.
    pub stale_reason: Option<String>,
    /// `max_price_age_ms`.
    pub max_price_age_ms: u64,
    /// `min_fresh_prices`.
    pub min_fresh_prices: u32,
    /// The fixed price of one credit, micro-fiat.
    pub micro_fiat_per_credit: u64,
    /// The time the view was computed at (the last block's), ms.
    pub as_of_time_ms: u64,
}

/// An account's credits.
pub fn credit_balance(state: &impl CreditsRead, address: &Address) -> AppResult<CreditBalanceView> {
    Ok(CreditBalanceView {
        address: *address,
        credits: state.credits_of(address)?,
    })
}

/// The oracle view at block time `now_ms`.
pub fn oracle(state: &impl CreditsRead, now_ms: u64) -> AppResult<OracleView> {
    let params = state.credits_params()?;
    let submissions = state.price_submissions()?;
    let median = median_price(
        &submissions,
        now_ms,
        params.max_price_age_ms,
        params.min_fresh_prices,
    );
    Ok(OracleView {
        submissions: submissions
            .iter()
            .map(|s| {
                let age_ms = now_ms.saturating_sub(s.time_ms);
                SubmissionView {
                    oracle: s.oracle,
                    micro_fiat_per_token: s.micro_fiat_per_token,
                    height: s.height,
                    time_ms: s.time_ms,
                    age_ms,
                    fresh: age_ms <= params.max_price_age_ms,
                }
            })
            .collect(),
        median_micro_fiat_per_token: median.as_ref().ok().map(|m| m.micro_fiat_per_token),
        stale_reason: median.err().map(|e| e.to_string()),
        oracles: params.oracles,
        max_price_age_ms: params.max_price_age_ms,
        min_fresh_prices: params.min_fresh_prices,
        micro_fiat_per_credit: params.micro_fiat_per_credit,
        as_of_time_ms: now_ms,
    })
}

/// Where the supply's mints and burns came from, base units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplyBreakdown {
    /// Burned to mint credits.
    pub burned_for_credits: Amount,
    /// Burned by slashing.
    pub burned_by_slashing: Amount,
    /// Burned as transaction and location fees: every burn not counted above.
    pub burned_as_fees: Amount,
    /// Handed from credit burns to epoch rewards (net emissions; minted when rewards pay it).
    pub reminted: Amount,
    /// Credit counters.
    pub credits: CreditTotals,
}

/// The breakdown of the supply counters by cause.
pub fn supply_breakdown<S: CreditsRead + AccountsRead + StakingRead>(
    state: &S,
) -> AppResult<SupplyBreakdown> {
    let supply = state.supply()?;
    let totals = state.credit_totals()?;
    let slashed = state.stake_totals()?.slashed;
    let burned_as_fees = supply
        .burned
        .checked_sub(totals.tokens_burned)
        .and_then(|rest| rest.checked_sub(slashed))
        .unwrap_or(Amount::ZERO);
    Ok(SupplyBreakdown {
        burned_for_credits: totals.tokens_burned,
        burned_by_slashing: slashed,
        burned_as_fees,
        reminted: totals.tokens_reminted,
        credits: totals,
    })
}
