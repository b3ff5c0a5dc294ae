//! Credits state, reached only through [`CreditsRead`] and [`CreditsWrite`].
//!
//! Keys (built only here):
//! - `credits/params` → JSON [`CreditsParams`]
//! - `credits/balance/` ‖ account (20) → credits (u64 BE, 8 bytes); no key means 0
//! - `credits/price/` ‖ oracle (20) → price (u64 BE) ‖ height (u64 BE) ‖ block time ms (u64 BE):
//!   the oracle's latest submission
//! - `credits/totals` → JSON [`CreditTotals`]
//! - `credits/epoch_burn/` ‖ epoch (u64 BE) → tokens burned for credits in that epoch (u128
//!   BE), kept until the epoch's re-mint is done
//!
//! Tokens move through the accounts module (burns from the payer) and the rewards module
//! (re-mints paid with the epoch's rewards); this module keeps only credits and its counters.

use groundwork_primitives::{Address, Amount};
use groundwork_state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::modules::credits::params::CreditsParams;
use crate::modules::credits::pricing::PriceSubmission;

const PARAMS_KEY: &[u8] = b"credits/params";
const BALANCE_PREFIX: &[u8] = b"credits/balance/";
const PRICE_PREFIX: &[u8] = b"credits/price/";
const TOTALS_KEY: &[u8] = b"credits/totals";
const EPOCH_BURN_PREFIX: &[u8] = b"credits/epoch_burn/";

/// The module's running counters since genesis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditTotals {
    /// Credits minted.
    pub credits_minted: u64,
    /// Credits spent on service (data transfer).
    pub credits_spent: u64,
    /// Tokens burned to mint credits, base units.
    pub tokens_burned: Amount,
    /// Tokens handed to epoch rewards from credit burns (net emissions), base units.
    pub tokens_reminted: Amount,
}

impl CreditTotals {
    /// Credits still held by accounts: minted − spent.
    pub fn credits_outstanding(&self) -> Option<u64> {
        self.credits_minted.checked_sub(self.credits_spent)
    }
}

/// A payer lacks the credits a receipt costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsufficientCredits {
    /// What the payer holds.
    pub available: u64,
    /// What the receipt costs.
    pub needed: u64,
}

fn corrupt(key: &[u8], reason: impl Into<String>) -> AppError {
    AppError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: reason.into(),
    }
}

fn balance_key(account: &Address) -> Vec<u8> {
    [BALANCE_PREFIX, account.as_bytes()].concat()
}

fn price_key(oracle: &Address) -> Vec<u8> {
    [PRICE_PREFIX, oracle.as_bytes()].concat()
}

fn epoch_burn_key(epoch: u64) -> Vec<u8> {
    [EPOCH_BURN_PREFIX, &epoch.to_be_bytes()].concat()
}

fn u64_at(bytes: &[u8], index: usize) -> Option<u64> {
    let raw: [u8; 8] = bytes.get(index * 8..index * 8 + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(raw))
}

/// Reading credits state.
pub trait CreditsRead: StateRead {
    /// The parameters.
    fn credits_params(&self) -> AppResult<CreditsParams> {
        match self.get(PARAMS_KEY)? {
            Some(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| corrupt(PARAMS_KEY, e.to_string()))
            }
            None => Ok(CreditsParams::default()),
        }
    }

    /// An account's credits.
    fn credits_of(&self, account: &Address) -> AppResult<u64> {
        let key = balance_key(account);
        match self.get(&key)? {
            Some(bytes) if bytes.len() == 8 => {
                u64_at(&bytes, 0).ok_or_else(|| corrupt(&key, "credits are not 8 bytes"))
            }
            Some(_) => Err(corrupt(&key, "credits are not 8 bytes")),
            None => Ok(0),
        }
    }

    /// Up to `limit` credit balances in account order, after the account `after`.
    fn credit_balances_page(
        &self,
        after: Option<&Address>,
        limit: usize,
    ) -> AppResult<Vec<(Address, u64)>> {
        let after = after.map(balance_key);
        self.scan_prefix(BALANCE_PREFIX, after.as_deref(), limit)?
            .into_iter()
            .map(|(key, value)| {
                let account = Address::from_slice(&key[BALANCE_PREFIX.len()..])
                    .map_err(|e| corrupt(&key, e.to_string()))?;
                let credits = (value.len() == 8)
                    .then(|| u64_at(&value, 0))
                    .flatten()
                    .ok_or_else(|| corrupt(&key, "credits are not 8 bytes"))?;
                Ok((account, credits))
            })
            .collect()
    }

    /// Every oracle's latest submission, in oracle address order (at most one per oracle, and
    /// oracles are few: fixed at genesis).
    fn price_submissions(&self) -> AppResult<Vec<PriceSubmission>> {
        self.scan_prefix(PRICE_PREFIX, None, 1024)?
            .into_iter()
            .map(|(key, value)| {
                let oracle = Address::from_slice(&key[PRICE_PREFIX.len()..])
                    .map_err(|e| corrupt(&key, e.to_string()))?;
                let field = |i| u64_at(&value, i).ok_or_else(|| corrupt(&key, "not 24 bytes"));
                if value.len() != 24 {
                    return Err(corrupt(&key, "not 24 bytes"));
                }
                Ok(PriceSubmission {
                    oracle,
                    micro_fiat_per_token: field(0)?,
                    height: field(1)?,
                    time_ms: field(2)?,
                })
            })
            .collect()
    }

    /// The running counters.
    fn credit_totals(&self) -> AppResult<CreditTotals> {
        match self.get(TOTALS_KEY)? {
            Some(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| corrupt(TOTALS_KEY, e.to_string()))
            }
            None => Ok(CreditTotals::default()),
        }
    }

    /// Tokens burned for credits during `epoch` and not yet re-minted for.
    fn epoch_credit_burns(&self, epoch: u64) -> AppResult<Amount> {
        let key = epoch_burn_key(epoch);
        match self.get(&key)? {
            Some(bytes) => {
                let raw: [u8; 16] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt(&key, "not 16 bytes"))?;
                Ok(Amount(u128::from_be_bytes(raw)))
            }
            None => Ok(Amount::ZERO),
        }
    }
}

impl<S: StateRead + ?Sized> CreditsRead for S {}

/// Changing credits state.
pub trait CreditsWrite: StateWrite + CreditsRead {
    /// Stores the parameters.
    fn put_credits_params(&mut self, params: &CreditsParams) {
        // Plain data always serialises.
        self.put(
            PARAMS_KEY.to_vec(),
            serde_json::to_vec(params).unwrap_or_default(),
        );
    }

    /// Stores the counters.
    fn put_credit_totals(&mut self, totals: &CreditTotals) {
        self.put(
            TOTALS_KEY.to_vec(),
            serde_json::to_vec(totals).unwrap_or_default(),
        );
    }

    /// Sets an account's credits (a zero balance removes the key).
    fn put_credits(&mut self, account: &Address, credits: u64) {
        if credits == 0 {
            self.delete(balance_key(account));
        } else {
            self.put(balance_key(account), credits.to_be_bytes().to_vec());
        }
    }

    /// Records an oracle's submission, replacing its previous one.
    fn put_price_submission(&mut self, submission: &PriceSubmission) {
        let value = [
            submission.micro_fiat_per_token.to_be_bytes(),
            submission.height.to_be_bytes(),
            submission.time_ms.to_be_bytes(),
        ]
        .concat();
        self.put(price_key(&submission.oracle), value);
    }

    /// Adds freshly minted credits to `account` and to the counters, with the tokens burned
    /// for them in `epoch`. `Ok(Err(()))` if the account's balance would overflow.
    fn add_minted_credits(
        &mut self,
        account: &Address,
        credits: u64,
        tokens_burned: Amount,
        epoch: u64,
    ) -> AppResult<Result<(), ()>> {
        let Some(balance) = self.credits_of(account)?.checked_add(credits) else {
            return Ok(Err(()));
        };
        let mut totals = self.credit_totals()?;
        totals.credits_minted = totals
            .credits_minted
            .checked_add(credits)
            .ok_or_else(|| corrupt(TOTALS_KEY, "credits_minted overflow"))?;
        totals.tokens_burned = totals
            .tokens_burned
            .checked_add(tokens_burned)
            .ok_or_else(|| corrupt(TOTALS_KEY, "tokens_burned overflow"))?;
        let epoch_burns = self
            .epoch_credit_burns(epoch)?
            .checked_add(tokens_burned)
            .ok_or_else(|| corrupt(EPOCH_BURN_PREFIX, "epoch burn overflow"))?;
        self.put_credits(account, balance);
        self.put_credit_totals(&totals);
        self.put(epoch_burn_key(epoch), epoch_burns.0.to_be_bytes().to_vec());
        Ok(Ok(()))
    }

    /// Takes `credits` from a payer's balance (the counters are updated once per block with
    /// [`CreditsWrite::record_credits_spent`]).
    fn spend_credits(
        &mut self,
        payer: &Address,
        credits: u64,
    ) -> AppResult<Result<(), InsufficientCredits>> {
        let available = self.credits_of(payer)?;
        let Some(left) = available.checked_sub(credits) else {
            return Ok(Err(InsufficientCredits {
                available,
                needed: credits,
            }));
        };
        self.put_credits(payer, left);
        Ok(Ok(()))
    }

    /// Adds `credits` spent in a block to the counters.
    fn record_credits_spent(&mut self, credits: u64) -> AppResult<()> {
        if credits == 0 {
            return Ok(());
        }
        let mut totals = self.credit_totals()?;
        totals.credits_spent = totals
            .credits_spent
            .checked_add(credits)
            .ok_or_else(|| corrupt(TOTALS_KEY, "credits_spent overflow"))?;
        self.put_credit_totals(&totals);
        Ok(())
    }

    /// Forgets an epoch's burn record (its re-mint is done).
    fn clear_epoch_credit_burns(&mut self, epoch: u64) {
        self.delete(epoch_burn_key(epoch));
    }

    /// Adds re-minted tokens to the counters.
    fn record_reminted(&mut self, amount: Amount) -> AppResult<()> {
        let mut totals = self.credit_totals()?;
        totals.tokens_reminted = totals
            .tokens_reminted
            .checked_add(amount)
            .ok_or_else(|| corrupt(TOTALS_KEY, "tokens_reminted overflow"))?;
        self.put_credit_totals(&totals);
        Ok(())
    }
}

impl<S: StateWrite + ?Sized> CreditsWrite for S {}
