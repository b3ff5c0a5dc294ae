//! The genesis document: the chain's id, token, parameters, first balances and validators.
//!
//! It is JSON (`genesis.json`), written by `groundwork init` and read by every node of the chain;
//! all nodes must hold byte-for-byte the same document. Amounts are strings of base units.

use std::collections::BTreeSet;

use groundwork_primitives::{Address, Amount, MAX_DECIMALS, PublicKey};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::modules::accounts::params::AccountsParams;
use crate::modules::credits::params::CreditsParams;
use crate::modules::devices::params::DevicesParams;
use crate::modules::reports::params::ReportsParams;
use crate::modules::rewards::params::RewardsParams;
use crate::modules::staking::params::StakingParams;
use crate::modules::storage::params::StorageParams;

/// The whole genesis document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The chain's id: 1 to 64 characters of `a-z`, `0-9`, `-` and `.`. Every signature covers it.
    pub chain_id: String,
    /// The chain's start, milliseconds since the Unix epoch. Block times never go below it.
    pub genesis_time_ms: u64,
    /// The native token.
    pub token: TokenInfo,
    /// Module parameters.
    #[serde(default)]
    pub params: GenesisParams,
    /// Starting balances.
    #[serde(default)]
    pub accounts: Vec<GenesisAccount>,
    /// Hardware makers allowed to attest device keys.
    #[serde(default)]
    pub makers: Vec<GenesisMaker>,
    /// The validators that order blocks (one by default).
    pub validators: Vec<GenesisValidator>,
}

/// The native token's name and precision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenInfo {
    /// Ticker, e.g. `GWT`.
    pub symbol: String,
    /// How many decimal places one token has (base units per token = 10^decimals). Default 8.
    pub decimals: u8,
}

impl Default for TokenInfo {
    fn default() -> Self {
        TokenInfo {
            symbol: "GWT".into(),
            decimals: groundwork_primitives::DEFAULT_DECIMALS,
        }
    }
}

/// Parameters of every module.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisParams {
    /// The accounts module.
    #[serde(default)]
    pub accounts: AccountsParams,
    /// The devices module.
    #[serde(default)]
    pub devices: DevicesParams,
    /// The staking module.
    #[serde(default)]
    pub staking: StakingParams,
    /// The reports module.
    #[serde(default)]
    pub reports: ReportsParams,
    /// The credits module: price oracles, the credit's fiat price, data prices, re-mints.
    #[serde(default)]
    pub credits: CreditsParams,
    /// The rewards module: emission schedule, pools, share rules, treasury.
    #[serde(default)]
    pub rewards: RewardsParams,
    /// The storage module.
    #[serde(default)]
    pub storage: StorageParams,
}

/// A hardware maker registered at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisMaker {
    /// Its name.
    pub name: String,
    /// Its attestation key: `ed25519:<hex>` or `p256:<hex>`.
    pub public_key: String,
    /// How many devices it may onboard.
    pub allowance: u64,
}

/// A starting balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// The account.
    pub address: Address,
    /// Its balance in base units.
    pub balance: Amount,
}

/// A validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// A name for people.
    pub name: String,
    /// Its ed25519 public key, hex.
    pub public_key: String,
    /// Voting power (1 each for now).
    #[serde(default = "one")]
    pub power: u64,
}

fn one() -> u64 {
    1
}

impl GenesisValidator {
    /// The validator's key.
    pub fn key(&self) -> AppResult<PublicKey> {
        let bytes = hex::decode(&self.public_key).map_err(|e| {
            AppError::Genesis(format!(
                "validator {:?}: public key is not hex: {e}",
                self.name
            ))
        })?;
        PublicKey::ed25519(&bytes)
            .map_err(|e| AppError::Genesis(format!("validator {:?}: {e}", self.name)))
    }
}

impl Genesis {
    /// Parses and validates a genesis document.
    pub fn from_json(text: &str) -> AppResult<Genesis> {
        let genesis: Genesis =
            serde_json::from_str(text).map_err(|e| AppError::Genesis(e.to_string()))?;
        genesis.validate()?;
        Ok(genesis)
    }

    /// The document as pretty JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data to a String cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks every rule a genesis must meet, saying which one is broken.
    pub fn validate(&self) -> AppResult<()> {
        validate_chain_id(&self.chain_id).map_err(AppError::Genesis)?;
        if self.token.decimals > MAX_DECIMALS {
            return Err(AppError::Genesis(format!(
                "token decimals {} is above the maximum {MAX_DECIMALS}",
                self.token.decimals
            )));
        }
        if self.token.symbol.is_empty() || self.token.symbol.len() > 12 {
            return Err(AppError::Genesis(
                "the token symbol must have 1 to 12 characters".into(),
            ));
        }
        let mut seen = BTreeSet::new();
        let mut total: u128 = 0;
        for account in &self.accounts {
            if !seen.insert(account.address) {
                return Err(AppError::Genesis(format!(
                    "account {} appears twice",
                    account.address
                )));
            }
            total = total.checked_add(account.balance.0).ok_or_else(|| {
                AppError::Genesis("the starting balances add up to more than u128".into())
            })?;
        }
        if self.validators.is_empty() {
            return Err(AppError::Genesis("at least one validator is needed".into()));
        }
        let mut keys = BTreeSet::new();
        for validator in &self.validators {
            let key = validator.key()?;
            if !keys.insert(key) {
                return Err(AppError::Genesis(format!(
                    "validator key {} appears twice",
                    validator.public_key
                )));
            }
            if validator.power == 0 {
                return Err(AppError::Genesis(format!(
                    "validator {:?} has zero power",
                    validator.name
                )));
            }
        }
        self.params.accounts.validate().map_err(AppError::Genesis)?;
        self.params.devices.validate().map_err(AppError::Genesis)?;
        self.params.reports.validate().map_err(AppError::Genesis)?;
        self.params.credits.validate().map_err(AppError::Genesis)?;
        self.params
            .rewards
            .validate(self.token.decimals)
            .map_err(AppError::Genesis)?;
        self.params.storage.validate().map_err(AppError::Genesis)?;
        let mut makers = BTreeSet::new();
        for maker in &self.makers {
            let key: PublicKey = maker
                .public_key
                .parse()
                .map_err(|e| AppError::Genesis(format!("maker {:?}: {e}", maker.name)))?;
            if !makers.insert(key) {
                return Err(AppError::Genesis(format!(
                    "maker key of {:?} appears twice",
                    maker.name
                )));
            }
        }
        Ok(())
    }
}

/// Chain ids: 1 to 64 characters of `a-z`, `0-9`, `-`, `.`.
pub fn validate_chain_id(chain_id: &str) -> Result<(), String> {
    if chain_id.is_empty() || chain_id.len() > 64 {
        return Err(format!(
            "a chain id has 1 to 64 characters, {chain_id:?} has {}",
            chain_id.len()
        ));
    }
    if let Some(bad) = chain_id
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Err(format!(
            "a chain id uses a-z, 0-9, '-' and '.'; {chain_id:?} has {bad:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_primitives::SigningKey;

    fn genesis() -> Genesis {
        Genesis {
            makers: Vec::new(),
            chain_id: "test-1".into(),
            genesis_time_ms: 1_000,
            token: TokenInfo::default(),
            params: GenesisParams::default(),
            accounts: vec![GenesisAccount {
                address: Address([1; 20]),
                balance: Amount(5),
            }],
            validators: vec![GenesisValidator {
                name: "v0".into(),
                public_key: hex::encode(SigningKey::from_seed([1; 32]).public_key().as_bytes()),
                power: 1,
            }],
        }
    }

    #[test]
    fn a_genesis_round_trips_through_json() {
        let g = genesis();
        assert_eq!(Genesis::from_json(&g.to_json()).unwrap(), g);
    }

    #[test]
    fn a_genesis_with_a_duplicate_account_is_refused_by_name() {
        let mut g = genesis();
        g.accounts.push(g.accounts[0].clone());
        let err = g.validate().unwrap_err().to_string();
        assert!(err.contains("appears twice"), "{err}");
    }

    #[test]
    fn bad_chain_ids_are_refused() {
        assert!(validate_chain_id("").is_err());
        assert!(validate_chain_id("Upper").is_err());
        assert!(validate_chain_id(&"a".repeat(65)).is_err());
        assert!(validate_chain_id("groundwork-devnet.1").is_ok());
    }

    #[test]
    fn unknown_fields_are_refused_so_typos_do_not_pass_silently() {
        let text = genesis().to_json().replace("\"chain_id\"", "\"chainid\"");
        assert!(Genesis::from_json(&text).is_err());
    }
}
