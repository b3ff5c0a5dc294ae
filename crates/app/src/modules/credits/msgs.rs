//! Transaction messages of the credits module: `SubmitPrice` (oracles) and `MintCredits`.
//!
//! There is deliberately no message that moves credits between accounts: credits are bought for
//! a beneficiary when they are minted and are then only spent on service.

use groundwork_primitives::{Address, Amount};
use groundwork_proto::v1;

use crate::TxContext;
use crate::error::ExecError;
use crate::modules::accounts::state::AccountsWrite;
use crate::modules::credits::pricing::{
    PriceSubmission, base_units_per_credit, credits_for_burn, median_price,
};
use crate::modules::credits::state::CreditsWrite;
use crate::modules::credits::{epoch_of_height, events};
use crate::modules::reports::state::ReportsRead;

/// An oracle's price report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitPrice {
    /// Micro-fiat per whole token, more than zero.
    pub micro_fiat_per_token: u64,
}

impl SubmitPrice {
    /// Stateless check of the wire message.
    pub fn from_proto(message: &v1::SubmitPrice) -> Result<SubmitPrice, String> {
        if message.micro_fiat_per_token == 0 {
            return Err("micro_fiat_per_token: a price is more than zero".into());
        }
        Ok(SubmitPrice {
            micro_fiat_per_token: message.micro_fiat_per_token,
        })
    }

    /// Records the price if the sender is an oracle.
    pub fn execute(
        &self,
        state: &mut impl CreditsWrite,
        ctx: &mut TxContext<'_>,
    ) -> Result<(), ExecError> {
        let params = state.credits_params()?;
        if !params.is_oracle(&ctx.sender) {
            return Err(ExecError::Fail(format!(
                "account {} is not a price oracle (oracles are listed in the genesis credits.oracles)",
                ctx.sender
            )));
        }
        state.put_price_submission(&PriceSubmission {
            oracle: ctx.sender,
            micro_fiat_per_token: self.micro_fiat_per_token,
            height: ctx.height,
            time_ms: ctx.time_ms,
        });
        ctx.events.push(events::price_submitted(
            &ctx.sender,
            self.micro_fiat_per_token,
        ));
        Ok(())
    }
}

/// Burn tokens for credits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintCredits {
    /// Base units to burn, more than zero.
    pub amount: Amount,
    /// Who receives the credits (`None`: the signer).
    pub beneficiary: Option<Address>,
    /// The fewest credits accepted.
    pub min_credits: u64,
}

impl MintCredits {
    /// Stateless check of the wire message.
    pub fn from_proto(message: &v1::MintCredits) -> Result<MintCredits, String> {
        let amount =
            Amount::parse_base_units(&message.amount).map_err(|e| format!("amount: {e}"))?;
        if amount == Amount::ZERO {
            return Err("amount: minting burns more than zero".into());
        }
        let beneficiary = if message.beneficiary.is_empty() {
            None
        } else {
            Some(
                Address::from_slice(&message.beneficiary)
                    .map_err(|e| format!("beneficiary: {e}"))?,
            )
        };
        Ok(MintCredits {
            amount,
            beneficiary,
            min_credits: message.min_credits,
        })
    }

    /// Burns the sender's tokens and credits the beneficiary at the oracle median.
    pub fn execute<S: AccountsWrite + CreditsWrite + ReportsRead>(
        &self,
        state: &mut S,
        ctx: &mut TxContext<'_>,
    ) -> Result<(), ExecError> {
        let params = state.credits_params()?;
        let price = median_price(
            &state.price_submissions()?,
            ctx.time_ms,
            params.max_price_age_ms,
            params.min_fresh_prices,
        )
        .map_err(|e| ExecError::Fail(e.to_string()))?;
        let decimals = ctx.chain.token.decimals;
        let credits = credits_for_burn(
            self.amount,
            price.micro_fiat_per_token,
            decimals,
            params.micro_fiat_per_credit,
        )
        .ok_or_else(|| {
            ExecError::Fail(format!(
                "burning {} base units at {} micro-fiat per token buys more credits than a balance holds",
                self.amount, price.micro_fiat_per_token
            ))
        })?;
        if credits == 0 {
            let needed = base_units_per_credit(
                price.micro_fiat_per_token,
                decimals,
                params.micro_fiat_per_credit,
            )
            .unwrap_or(u128::MAX);
            return Err(ExecError::Fail(format!(
                "burning {} base units buys no credit at {} micro-fiat per token: one credit costs {needed} base units",
                self.amount, price.micro_fiat_per_token
            )));
        }
        if credits < self.min_credits {
            return Err(ExecError::Fail(format!(
                "burning {} base units buys {credits} credits at {} micro-fiat per token, fewer than the {} asked for",
                self.amount, price.micro_fiat_per_token, self.min_credits
            )));
        }
        state
            .burn_from(&ctx.sender, self.amount)?
            .map_err(|e| ExecError::Fail(e.to_string()))?;
        let beneficiary = self.beneficiary.unwrap_or(ctx.sender);
        let epoch = epoch_of_height(state, ctx.height)?;
        state
            .add_minted_credits(&beneficiary, credits, self.amount, epoch)?
            .map_err(|()| {
                ExecError::Fail(format!(
                    "the credit balance of {beneficiary} would overflow"
                ))
            })?;
        ctx.events.push(events::credits_minted(
            &ctx.sender,
            &beneficiary,
            self.amount,
            credits,
            price.micro_fiat_per_token,
        ));
        Ok(())
    }
}
