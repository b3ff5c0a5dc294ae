//! Credits parameters: the oracles, the credit's fiat price, price freshness, what data costs and
//! the re-mint share.

use groundwork_primitives::{Address, Amount};
use serde::{Deserialize, Serialize};

/// Helium's Data Credit price: $1 buys 100,000 credits, so one credit is $0.00001, i.e. 10
/// micro-dollars (`/work/shared/REFERENCES.md`, "Money").
pub const HELIUM_MICRO_FIAT_PER_CREDIT: u64 = 10;
/// Helium charges one Data Credit per 24 bytes of payload, each started 24 bytes counting whole.
pub const HELIUM_PACKET_BYTES: u64 = 24;
/// Helium refuses oracle prices older than ten minutes.
pub const HELIUM_MAX_PRICE_AGE_MS: u64 = 10 * 60 * 1000;
/// Basis points in one whole (100%).
pub const BASIS_POINTS: u64 = 10_000;

/// Credits parameters, set at genesis (`params.credits`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditsParams {
    /// The accounts allowed to submit token prices (`SubmitPrice`). Empty: nobody can, so
    /// nobody can mint credits.
    #[serde(default)]
    pub oracles: Vec<Address>,
    /// The fixed fiat price of one credit, in millionths of the fiat unit. Default 10
    /// ($0.00001, Helium's Data Credit).
    pub micro_fiat_per_credit: u64,
    /// An oracle's submission counts for this long after the block that carried it, in ms of
    /// block time. Default ten minutes, as Helium.
    pub max_price_age_ms: u64,
    /// Minting needs at least this many fresh submissions (from distinct oracles). Default 1;
    /// with several oracles, a majority keeps one faulty oracle from setting the price alone.
    pub min_fresh_prices: u32,
    /// Data transfer is charged per started packet of this many bytes. Default 24 (Helium).
    pub packet_bytes: u64,
    /// Credits charged per started packet. Default 1 (Helium). 0 makes data transfer free.
    pub credits_per_packet: u64,
    /// At each epoch's end, this share (basis points) of the tokens burned for credits during
    /// the epoch is minted again into the re-mint pool, from which epoch rewards pay (net
    /// emissions, as Helium's HIP-20 re-mint of burned HNT). Default 0: off.
    #[serde(default)]
    pub remint_bps: u64,
    /// The most one epoch may re-mint, base units; 0 means no cap.
    #[serde(default)]
    pub remint_cap_per_epoch: Amount,
}

impl Default for CreditsParams {
    fn default() -> Self {
        CreditsParams {
            oracles: Vec::new(),
            micro_fiat_per_credit: HELIUM_MICRO_FIAT_PER_CREDIT,
            max_price_age_ms: HELIUM_MAX_PRICE_AGE_MS,
            min_fresh_prices: 1,
            packet_bytes: HELIUM_PACKET_BYTES,
            credits_per_packet: 1,
            remint_bps: 0,
            remint_cap_per_epoch: Amount::ZERO,
        }
    }
}

impl CreditsParams {
    /// Checks the parameters, naming the one that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.micro_fiat_per_credit == 0 {
            return Err("credits.micro_fiat_per_credit must be above 0".into());
        }
        if self.max_price_age_ms == 0 {
            return Err("credits.max_price_age_ms must be above 0".into());
        }
        if self.packet_bytes == 0 {
            return Err("credits.packet_bytes must be above 0".into());
        }
        if self.min_fresh_prices == 0 {
            return Err("credits.min_fresh_prices must be at least 1".into());
        }
        if !self.oracles.is_empty() && self.min_fresh_prices as usize > self.oracles.len() {
            return Err(format!(
                "credits.min_fresh_prices is {} but only {} oracles are listed",
                self.min_fresh_prices,
                self.oracles.len()
            ));
        }
        if self.remint_bps > BASIS_POINTS {
            return Err(format!(
                "credits.remint_bps is {}, at most {BASIS_POINTS} (100%)",
                self.remint_bps
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for oracle in &self.oracles {
            if !seen.insert(oracle) {
                return Err(format!("credits.oracles lists {oracle} twice"));
            }
        }
        Ok(())
    }

    /// Whether `account` is a price oracle.
    pub fn is_oracle(&self, account: &Address) -> bool {
        self.oracles.contains(account)
    }

    /// Credits a data transfer of `bytes` costs: every started packet of `packet_bytes` costs
    /// `credits_per_packet` (rounded up, as Helium charges a 25-byte packet two credits).
    /// `None` on overflow.
    pub fn credits_for_bytes(&self, bytes: u64) -> Option<u64> {
        bytes
            .div_ceil(self.packet_bytes.max(1))
            .checked_mul(self.credits_per_packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_charged_per_started_packet() {
        let params = CreditsParams::default();
        assert_eq!(params.credits_for_bytes(1), Some(1));
        assert_eq!(params.credits_for_bytes(24), Some(1));
        assert_eq!(params.credits_for_bytes(25), Some(2));
        assert_eq!(params.credits_for_bytes(24 * 1000), Some(1000));
        let free = CreditsParams {
            credits_per_packet: 0,
            ..CreditsParams::default()
        };
        assert_eq!(free.credits_for_bytes(1_000_000), Some(0));
    }

    #[test]
    fn bad_parameters_are_named() {
        let mut params = CreditsParams {
            oracles: vec![Address([1; 20])],
            min_fresh_prices: 2,
            ..CreditsParams::default()
        };
        assert!(params.validate().unwrap_err().contains("min_fresh_prices"));
        params.min_fresh_prices = 1;
        params.oracles.push(Address([1; 20]));
        assert!(params.validate().unwrap_err().contains("twice"));
        params.oracles.pop();
        params.remint_bps = 10_001;
        assert!(params.validate().unwrap_err().contains("remint_bps"));
        params.remint_bps = 10_000;
        assert!(params.validate().is_ok());
    }
}
