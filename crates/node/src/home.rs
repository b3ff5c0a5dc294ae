//! The home folder: everything one node keeps.
//!
//! ```text
//! HOME/config.toml        node settings (commented)
//! HOME/genesis.json       the chain's genesis, identical on every node
//! HOME/keys/NAME.json     keys (see keystore); `validator` signs blocks
//! HOME/data/state.redb    state and blocks
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use groundwork_app::Genesis;
use groundwork_app::genesis::{GenesisAccount, GenesisParams, GenesisValidator, TokenInfo};
use groundwork_primitives::{Address, Amount, SigningKey};

use crate::config::NodeConfig;
use crate::keystore::{Keystore, Protection};

/// The name of the validator's key in `keys/`.
pub const VALIDATOR_KEY: &str = "validator";

/// Paths inside a home folder.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// The home at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }
    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    /// `genesis.json`.
    pub fn genesis_path(&self) -> PathBuf {
        self.root.join("genesis.json")
    }
    /// The key store.
    pub fn keystore(&self) -> Keystore {
        Keystore::new(self.root.join("keys"))
    }
    /// The store file.
    pub fn store_path(&self) -> PathBuf {
        self.root.join("data").join("state.redb")
    }

    /// Reads and validates the genesis file.
    pub fn genesis(&self) -> anyhow::Result<Genesis> {
        let path = self.genesis_path();
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}: is this a Groundwork home? Run `groundwork init` first",
                path.display()
            )
        })?;
        Genesis::from_json(&text).with_context(|| format!("in {}", path.display()))
    }
}

/// What `groundwork init` sets up.
#[derive(Debug, Clone)]
pub struct InitOptions<'a> {
    /// The chain id.
    pub chain_id: String,
    /// The funded account's key name.
    pub account_name: String,
    /// How the funded account's key is kept.
    pub account_protection: Protection<'a>,
    /// Its starting balance in whole tokens.
    pub account_tokens: u64,
    /// Also create a plain `faucet` key, fund it and enable the faucet endpoint.
    pub faucet_tokens: Option<u64>,
    /// The node's settings.
    pub config: NodeConfig,
    /// Genesis time, ms since the Unix epoch.
    pub genesis_time_ms: u64,
    /// Token decimals.
    pub decimals: u8,
    /// Also create a plain `maker` key and register it as a hardware maker in the genesis
    /// (devnets: lets simulated devices be attested).
    pub with_maker: bool,
    /// Also create a plain `oracle` key, fund it with 1,000 tokens for fees and list it as the
    /// genesis price oracle (devnets: lets credits be minted once it submits a price).
    pub with_oracle: bool,
    /// Module parameters for the genesis (`rewards.tokenomics.decimals` must equal `decimals`;
    /// see [`groundwork_app::modules::rewards::params::RewardsParams::preset`]).
    pub params: GenesisParams,
}

/// What `init` created.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InitReport {
    /// The home folder.
    pub home: PathBuf,
    /// The chain id.
    pub chain_id: String,
    /// The validator's public key, hex.
    pub validator_public_key: String,
    /// The funded account.
    pub account_name: String,
    /// Its address.
    pub account_address: Address,
    /// The faucet's address, when there is one.
    pub faucet_address: Option<Address>,
    /// The devnet maker's id, when there is one.
    pub maker_id: Option<Address>,
    /// The price oracle's address, when there is one.
    pub oracle_address: Option<Address>,
}

/// Creates a home: keys, genesis and config. Refuses to touch an existing one.
pub fn init(home: &Home, options: InitOptions<'_>) -> anyhow::Result<InitReport> {
    for existing in [home.config_path(), home.genesis_path()] {
        if existing.exists() {
            bail!(
                "{} exists already: this home is initialised (use another --home, or delete it to start over)",
                existing.display()
            );
        }
    }
    groundwork_app::genesis::validate_chain_id(&options.chain_id).map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(home.root().join("data"))
        .with_context(|| format!("cannot create {}", home.root().display()))?;
    let keys = home.keystore();
    let validator = SigningKey::generate();
    keys.add(VALIDATOR_KEY, &validator, Protection::Plain)?;
    let account = SigningKey::generate();
    let account_info = keys.add(&options.account_name, &account, options.account_protection)?;
    let one = Amount::one_token(options.decimals)?;
    let tokens = |n: u64| Amount(one.0 * u128::from(n));
    let mut accounts = vec![GenesisAccount {
        address: account_info.address,
        balance: tokens(options.account_tokens),
    }];
    let mut config = options.config;
    let faucet_address = match options.faucet_tokens {
        Some(amount) => {
            let faucet = SigningKey::generate();
            let info = keys.add("faucet", &faucet, Protection::Plain)?;
            accounts.push(GenesisAccount {
                address: info.address,
                balance: tokens(amount),
            });
            config.faucet.key = Some("faucet".into());
            Some(info.address)
        }
        None => None,
    };
    let mut makers = Vec::new();
    let maker_id = if options.with_maker {
        let maker = SigningKey::generate();
        let info = keys.add("maker", &maker, Protection::Plain)?;
        makers.push(groundwork_app::genesis::GenesisMaker {
            name: "devnet-maker".into(),
            public_key: maker.public_key().to_string(),
            allowance: 1_000_000,
        });
        Some(info.address)
    } else {
        None
    };
    let mut params = options.params;
    let oracle_address = if options.with_oracle {
        let oracle = SigningKey::generate();
        let info = keys.add("oracle", &oracle, Protection::Plain)?;
        accounts.push(GenesisAccount {
            address: info.address,
            balance: tokens(1_000),
        });
        params.credits.oracles = vec![info.address];
        Some(info.address)
    } else {
        None
    };
    let genesis = Genesis {
        makers,
        chain_id: options.chain_id.clone(),
        genesis_time_ms: options.genesis_time_ms,
        token: TokenInfo {
            decimals: options.decimals,
            ..TokenInfo::default()
        },
        params,
        accounts,
        validators: vec![GenesisValidator {
            name: config.moniker.clone(),
            public_key: hex::encode(validator.public_key().as_bytes()),
            power: 1,
        }],
    };
    genesis.validate()?;
    std::fs::write(home.genesis_path(), genesis.to_json() + "\n")
        .with_context(|| format!("cannot write {}", home.genesis_path().display()))?;
    std::fs::write(home.config_path(), config.to_commented_toml())
        .with_context(|| format!("cannot write {}", home.config_path().display()))?;
    Ok(InitReport {
        home: home.root().to_path_buf(),
        chain_id: options.chain_id,
        validator_public_key: hex::encode(validator.public_key().as_bytes()),
        account_name: options.account_name,
        account_address: account_info.address,
        faucet_address,
        maker_id,
        oracle_address,
    })
}
