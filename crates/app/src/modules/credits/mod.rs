//! Credits: burn-and-mint service credits, priced by token price oracles.
//!
//! Users burn tokens to mint **credits**, fixed in fiat (`micro_fiat_per_credit`, by default
//! $0.00001 as Helium's Data Credits). Credits belong to an account, cannot be transferred (no
//! message moves them) and are not tokens: they never count toward the supply. They pay for
//! service: a valid data transfer receipt (reports module) debits its payer's credits for the
//! bytes carried, and a payer without enough credits gets the receipt judged
//! `insufficient_credits`.
//!
//! **Price.** Oracle accounts named at genesis send `SubmitPrice`; minting uses the median of
//! each oracle's latest submission that is at most `max_price_age_ms` old by block time, and
//! refuses when fewer than `min_fresh_prices` are fresh ([`pricing`]).
//!
//! **Burns and re-mints.** Tokens burned for credits leave the supply (the accounts module's
//! `burned` counter) and are also counted here, in total and per epoch. At each epoch's end a
//! share (`remint_bps`) of that epoch's credit burns, capped by `remint_cap_per_epoch`, is added
//! to what the rewards module pays out in that block (`rewards/carry`, not yet minted): Helium's
//! "net emissions". Re-mints round down.
//!
//! Block lifecycle: messages run inside transactions; reports spend credits while they are
//! judged; [`end_block`] runs after the reports module's end of block and before the rewards
//! module's.

pub mod events;
pub mod msgs;
pub mod params;
pub mod pricing;
pub mod query;
pub mod state;

use groundwork_primitives::Amount;
use groundwork_proto::v1::Event;
use groundwork_state::{StateRead, StateWrite};

use crate::error::AppResult;
use crate::events::event;
use crate::modules::accounts::state::AccountsRead;
use crate::modules::reports::state::ReportsRead;
use crate::modules::rewards::state::{RewardsRead, RewardsWrite};
use params::{BASIS_POINTS, CreditsParams};
use state::{CreditsRead, CreditsWrite};

/// Stores the parameters at genesis.
pub fn init_genesis(state: &mut impl CreditsWrite, params: &CreditsParams) {
    state.put_credits_params(params);
}

/// The epoch a height belongs to: epochs are the reports module's (`reports.epoch_blocks`).
pub fn epoch_of_height(state: &impl ReportsRead, height: u64) -> AppResult<u64> {
    Ok(state.reports_params()?.epoch_of(height))
}

/// The tokens an epoch with `burned` credit burns re-mints: `⌊burned × remint_bps / 10,000⌋`,
/// at most `remint_cap_per_epoch` when that is set.
pub fn remint_for(burned: Amount, params: &CreditsParams) -> Amount {
    // remint_bps ≤ 10,000, so the share is at most `burned`; split the product to avoid overflow.
    let bps = u128::from(params.remint_bps.min(BASIS_POINTS));
    let whole = burned.0 / u128::from(BASIS_POINTS);
    let rest = burned.0 % u128::from(BASIS_POINTS);
    let share = Amount(whole * bps + rest * bps / u128::from(BASIS_POINTS));
    if params.remint_cap_per_epoch > Amount::ZERO {
        share.min(params.remint_cap_per_epoch)
    } else {
        share
    }
}

/// End of block: at an epoch's last block, hands the epoch's share of credit burns to epoch
/// rewards and forgets the epoch's burn record. Returns the block events it emits.
pub fn end_block<S: StateRead + StateWrite>(state: &mut S, height: u64) -> AppResult<Vec<Event>> {
    let reports = state.reports_params()?;
    if !(height + 1).is_multiple_of(reports.epoch_blocks.max(1)) {
        return Ok(Vec::new());
    }
    let epoch = reports.epoch_of(height);
    let burned = state.epoch_credit_burns(epoch)?;
    if burned == Amount::ZERO {
        return Ok(Vec::new());
    }
    state.clear_epoch_credit_burns(epoch);
    let params = state.credits_params()?;
    let reminted = remint_for(burned, &params);
    if reminted == Amount::ZERO {
        return Ok(Vec::new());
    }
    // The re-mint joins what the rewards module pays out in this same block (it runs next),
    // as tokens not minted yet: rewards mint them with the epoch's emission, or route them as
    // their parameters say.
    let carry = state
        .rewards_carry()?
        .checked_add(reminted)
        .ok_or_else(|| crate::error::AppError::Corrupt {
            key: "rewards/carry".into(),
            reason: "carry overflow".into(),
        })?;
    state.put_rewards_carry(carry);
    state.record_reminted(reminted)?;
    Ok(vec![event(
        "tokens_reminted",
        [
            ("epoch", epoch.to_string()),
            ("credit_burns", burned.to_string()),
            ("reminted", reminted.to_string()),
            ("to", "epoch rewards".to_string()),
        ],
    )])
}

/// Checks the module's invariants over the whole state: the credit balances add up to credits
/// minted − spent; credit burns and slashing are within the supply's burned counter. Scans every
/// credit balance: for tests and audits.
pub fn check_invariants<S: CreditsRead + AccountsRead>(
    state: &S,
    slashed: Amount,
) -> Result<(), String> {
    let totals = state.credit_totals().map_err(|e| e.to_string())?;
    let outstanding = totals.credits_outstanding().ok_or_else(|| {
        format!(
            "credits spent {} exceed credits minted {}",
            totals.credits_spent, totals.credits_minted
        )
    })?;
    let mut sum: u128 = 0;
    let mut after = None;
    loop {
        let page = state
            .credit_balances_page(after.as_ref(), 1024)
            .map_err(|e| e.to_string())?;
        let Some((last, _)) = page.last() else { break };
        after = Some(*last);
        sum += page.iter().map(|(_, c)| u128::from(*c)).sum::<u128>();
    }
    if sum != u128::from(outstanding) {
        return Err(format!(
            "credit balances add up to {sum}, but {} were minted and {} spent",
            totals.credits_minted, totals.credits_spent
        ));
    }
    let supply = state.supply().map_err(|e| e.to_string())?;
    let accounted_burns = totals.tokens_burned.checked_add(slashed);
    if accounted_burns.is_none_or(|b| b > supply.burned) {
        return Err(format!(
            "credit burns {} and slashing {} exceed everything burned, {}",
            totals.tokens_burned, slashed, supply.burned
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remint_is_a_rounded_down_share_with_an_optional_cap() {
        let mut params = CreditsParams {
            remint_bps: 2_500,
            ..CreditsParams::default()
        };
        assert_eq!(remint_for(Amount(1_000), &params), Amount(250));
        assert_eq!(remint_for(Amount(3), &params), Amount(0));
        assert_eq!(remint_for(Amount(10_003), &params), Amount(2_500));
        assert_eq!(
            remint_for(Amount(u128::MAX), &params),
            Amount(u128::MAX / 4)
        );
        params.remint_cap_per_epoch = Amount(100);
        assert_eq!(remint_for(Amount(1_000), &params), Amount(100));
        params.remint_bps = 0;
        assert_eq!(remint_for(Amount(1_000), &params), Amount(0));
    }
}
