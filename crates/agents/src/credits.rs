//! The simulated payers' credits: a conservative local ledger of what each payer can still
//! spend, topped up by burning the buyer's tokens at the oracle price.
//!
//! The ledger starts from each payer's credits on the chain and subtracts every receipt the
//! fleet signs at once, before the chain has judged it; receipts that never land only make the
//! ledger too low, never too high. So a receipt the fleet signs is always covered, and honest
//! devices never carry unpaid data.

use std::time::{Duration, Instant};

use groundwork_app::modules::credits::params::CreditsParams;
use groundwork_app::tx::{build_signed_tx, mint_credits_message};
use groundwork_primitives::{Address, Amount, SigningKey};

use crate::client::NodeClient;
use crate::{FleetError, Result};

/// How long to wait for a fresh oracle price before giving up.
const PRICE_WAIT: Duration = Duration::from_secs(30);

/// Who pays for the payers' credits, and how it gets tokens.
#[derive(Debug, Clone)]
pub struct Buyer {
    /// The burning account's key.
    pub key: SigningKey,
    /// Whether to ask the faucet for the tokens it lacks (devnets).
    pub faucet: bool,
    /// Fee per transaction, base units.
    pub fee: Amount,
}

/// The payers and what each may still spend.
#[derive(Debug)]
pub struct PayerWallets {
    keys: Vec<SigningKey>,
    addresses: Vec<Address>,
    credits: Vec<u64>,
    params: CreditsParams,
    topup: u64,
    buyer: Buyer,
}

impl PayerWallets {
    /// Payers with `keys`, charged per `params`, topped up by `topup` credits at a time by
    /// `buyer`. Reads each payer's credits from the chain.
    pub fn open(
        client: &NodeClient,
        keys: Vec<SigningKey>,
        params: CreditsParams,
        topup: u64,
        buyer: Buyer,
    ) -> Result<PayerWallets> {
        let addresses: Vec<Address> = keys
            .iter()
            .map(|k| Address::from_public_key(&k.public_key()))
            .collect();
        let credits = addresses
            .iter()
            .map(|a| client.credits(a))
            .collect::<Result<Vec<_>>>()?;
        Ok(PayerWallets {
            keys,
            addresses,
            credits,
            params,
            topup,
            buyer,
        })
    }

    /// The payers' keys.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// What a receipt for `bytes` costs (the chain's rule, [`CreditsParams::credits_for_bytes`]).
    pub fn cost(&self, bytes: u64) -> u64 {
        self.params.credits_for_bytes(bytes).unwrap_or(u64::MAX)
    }

    /// Tops up every payer holding less than one top-up, in one transaction.
    pub fn fund_all(&mut self, client: &NodeClient, chain_id: &str, decimals: u8) -> Result<()> {
        if self.params.credits_per_packet == 0 {
            return Ok(());
        }
        let wanted: Vec<(usize, u64)> = (0..self.keys.len())
            .filter(|&i| self.credits[i] < self.topup)
            .map(|i| (i, self.topup - self.credits[i]))
            .collect();
        self.buy(client, chain_id, decimals, &wanted)
    }

    /// Makes sure payer `index` can pay `cost`, buying credits if its ledger is short, then
    /// takes `cost` from the ledger. `false` if it could not be funded (the reason is logged;
    /// the caller skips the session rather than send a receipt nobody pays for).
    pub fn spend(
        &mut self,
        client: &NodeClient,
        chain_id: &str,
        decimals: u8,
        index: usize,
        cost: u64,
    ) -> bool {
        if self.credits[index] < cost {
            let wanted = cost.saturating_sub(self.credits[index]).max(self.topup);
            if let Err(error) = self.buy(client, chain_id, decimals, &[(index, wanted)]) {
                tracing::warn!(%error, payer = %self.addresses[index], "could not buy credits; skipping the session");
                return false;
            }
        }
        if self.credits[index] < cost {
            return false;
        }
        self.credits[index] -= cost;
        true
    }

    /// Burns the buyer's tokens for `credits` more credits for each `(payer, credits)`.
    fn buy(
        &mut self,
        client: &NodeClient,
        chain_id: &str,
        decimals: u8,
        wanted: &[(usize, u64)],
    ) -> Result<()> {
        if wanted.is_empty() {
            return Ok(());
        }
        let (price, micro_fiat_per_credit) = fresh_price(client)?;
        let buyer = Address::from_public_key(&self.buyer.key.public_key());
        let mut messages = Vec::new();
        let mut burn_total: u128 = 0;
        for &(index, credits) in wanted {
            let burn = tokens_for_credits(credits, price, decimals, micro_fiat_per_credit)
                .ok_or_else(|| FleetError::Credits(format!("{credits} credits overflow")))?;
            burn_total += burn;
            messages.push(mint_credits_message(
                Amount(burn),
                Some(&self.addresses[index]),
                credits,
            ));
        }
        let needed = burn_total + self.buyer.fee.0;
        let balance = client.balance(&buyer)?;
        if balance < needed {
            if !self.buyer.faucet {
                return Err(FleetError::Credits(format!(
                    "buyer {buyer} holds {balance} base units but the payers' credits need {needed}: fund it"
                )));
            }
            let one = Amount::one_token(decimals)
                .map_err(|e| FleetError::Config(format!("token decimals {decimals}: {e}")))?;
            crate::fleet::fund_from_faucet(client, &buyer, needed - balance, one)?;
        }
        let nonce = client.next_nonce(&buyer)?;
        let tx = build_signed_tx(
            &self.buyer.key,
            chain_id,
            nonce,
            self.buyer.fee,
            messages,
            "agents: credits for simulated payers",
        );
        let outcome = client.submit_tx_and_wait(&tx)?;
        if outcome.status != "committed" || outcome.code != Some(0) {
            return Err(FleetError::Credits(format!(
                "minting transaction {} (code {:?}): {}",
                outcome.status,
                outcome.code,
                outcome.error.unwrap_or_default()
            )));
        }
        for &(index, credits) in wanted {
            self.credits[index] = self.credits[index].saturating_add(credits);
        }
        tracing::info!(payers = wanted.len(), burned = burn_total, %buyer, "bought credits for simulated payers");
        Ok(())
    }
}

/// The oracle median and the credit price, waiting up to [`PRICE_WAIT`] for a fresh price.
fn fresh_price(client: &NodeClient) -> Result<(u64, u64)> {
    let started = Instant::now();
    loop {
        let oracle = client.oracle()?;
        if let Some(price) = oracle.median_micro_fiat_per_token {
            return Ok((price, oracle.micro_fiat_per_credit));
        }
        if started.elapsed() > PRICE_WAIT {
            return Err(FleetError::Credits(format!(
                "no fresh oracle price after {} s ({}): is a price oracle submitting?",
                PRICE_WAIT.as_secs(),
                oracle.stale_reason.unwrap_or_default()
            )));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The fewest base units that mint at least `credits` at `price` (micro-fiat per token):
/// `⌈credits × micro_fiat_per_credit × 10^decimals / price⌉`, the inverse of the chain's
/// rounded-down rule.
pub fn tokens_for_credits(
    credits: u64,
    price: u64,
    decimals: u8,
    micro_fiat_per_credit: u64,
) -> Option<u128> {
    let value = u128::from(credits)
        .checked_mul(u128::from(micro_fiat_per_credit))?
        .checked_mul(10u128.checked_pow(u32::from(decimals))?)?;
    Some(value.div_ceil(u128::from(price.max(1))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_app::modules::credits::pricing::credits_for_burn;

    #[test]
    fn the_tokens_bought_mint_at_least_the_credits_wanted() {
        for (credits, price) in [(1, 1_000_000), (7, 1_234_567), (5_000_000, 3), (1, 999)] {
            let burn = tokens_for_credits(credits, price, 8, 10).unwrap();
            let minted = credits_for_burn(Amount(burn), price, 8, 10).unwrap();
            assert!(minted >= credits, "{credits} at {price}: {minted}");
            // One base unit less would not do (the burn is the least that works).
            if burn > 0 {
                let short = credits_for_burn(Amount(burn - 1), price, 8, 10).unwrap();
                assert!(short < credits, "{credits} at {price}");
            }
        }
    }
}
