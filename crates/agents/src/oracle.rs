//! A price feed: an oracle account that submits the token's fiat price to a node at a steady
//! interval, so that credits can be minted (minting refuses a price older than the chain's
//! `credits.max_price_age_ms`). `groundwork devnet` runs one with the genesis oracle's key.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use groundwork_app::tx::{build_signed_tx, submit_price_message};
use groundwork_primitives::{Address, Amount, SigningKey};

use crate::client::NodeClient;
use crate::{FleetError, Result};

/// What a price feed submits, where and how often.
#[derive(Debug, Clone)]
pub struct PriceFeed {
    /// The node's API URL.
    pub node_url: String,
    /// The oracle's key (listed in the genesis `credits.oracles`).
    pub key: SigningKey,
    /// The price to report: micro-fiat per whole token ($1.00 = 1,000,000).
    pub micro_fiat_per_token: u64,
    /// Time between submissions; well under the chain's `max_price_age_ms` (ten minutes by
    /// default), so the price never goes stale while the feed runs.
    pub interval: Duration,
    /// Fee per submission, base units.
    pub fee: Amount,
}

impl PriceFeed {
    /// A feed of a fixed `micro_fiat_per_token` every minute, at the default minimum fee.
    pub fn new(node_url: impl Into<String>, key: SigningKey, micro_fiat_per_token: u64) -> Self {
        PriceFeed {
            node_url: node_url.into(),
            key,
            micro_fiat_per_token,
            interval: Duration::from_secs(60),
            fee: Amount(1_000),
        }
    }
}

/// Submits the price now and then every `interval` until `stop` is raised; returns how many
/// submissions the chain accepted. A node that does not answer is retried; a submission the
/// chain refuses (the key is not an oracle) is an error.
pub fn run_price_feed(feed: PriceFeed, stop: Arc<AtomicBool>) -> Result<u64> {
    let client = NodeClient::new(&feed.node_url);
    let oracle = Address::from_public_key(&feed.key.public_key());
    let mut accepted = 0;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        match submit_once(&client, &feed) {
            Ok(()) => {
                accepted += 1;
                tracing::debug!(%oracle, price = feed.micro_fiat_per_token, "price submitted");
            }
            Err(FleetError::Credits(reason)) => return Err(FleetError::Credits(reason)),
            Err(error) => {
                tracing::warn!(%error, "price feed: the node did not take the price; retrying")
            }
        }
        let wait = if accepted == 0 {
            Duration::from_secs(1)
        } else {
            feed.interval
        };
        while !stop.load(Ordering::Relaxed) && started.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(100).min(wait));
        }
    }
    Ok(accepted)
}

fn submit_once(client: &NodeClient, feed: &PriceFeed) -> Result<()> {
    let chain_id = client.status()?.chain_id;
    let oracle = Address::from_public_key(&feed.key.public_key());
    let nonce = client.next_nonce(&oracle)?;
    let tx = build_signed_tx(
        &feed.key,
        &chain_id,
        nonce,
        feed.fee,
        vec![submit_price_message(feed.micro_fiat_per_token)],
        "agents: oracle price",
    );
    let outcome = client.submit_tx_and_wait(&tx)?;
    match outcome.code {
        Some(0) => Ok(()),
        Some(code) => Err(FleetError::Credits(format!(
            "the chain refused the price of oracle {oracle} (code {code}): {}",
            outcome.error.unwrap_or_default()
        ))),
        None => Err(FleetError::Node {
            url: client.base().to_string(),
            message: format!("the price transaction is {}", outcome.status),
        }),
    }
}
