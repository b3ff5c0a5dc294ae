//! The home folder: everything one node keeps.
//!
//! ```text
//! HOME/config.toml        node settings (commented)
//! HOME/genesis.json       the chain's genesis, identical on every node
//! HOME/keys/NAME.json     keys (see keystore); `validator` signs blocks
//! HOME/data/state.redb    state and blocks
//! HOME/data/consensus/    consensus journal (votes, certificates) and finalized-block archives
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

    /// Where consensus keeps its journal and archives.
    pub fn consensus_path(&self) -> PathBuf {
        self.root.join("data").join("consensus")
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

/// What `groundwork testnet` sets up: several validators sharing one genesis on loopback.
#[derive(Debug, Clone)]
pub struct TestnetOptions<'a> {
    /// How validator-0's home is made (its funded account, faucet and maker keys are the
    /// network's; its `config` is the template of every validator's config).
    pub first: InitOptions<'a>,
    /// Validators (at least 1).
    pub validators: usize,
    /// HTTP port of validator-0; validator `i` gets this plus `i`.
    pub http_port: u16,
    /// P2p port of validator-0; validator `i` gets this plus `i`.
    pub p2p_port: u16,
}

/// The folder of validator `index` in a testnet.
pub fn validator_folder(out: &Path, index: usize) -> PathBuf {
    out.join(format!("validator-{index}"))
}

/// Creates `out/validator-0` … `out/validator-{n-1}`: one genesis listing every validator, one
/// validator key per home, and configs with loopback ports that do not clash, each listing the
/// others as peers. Refuses to touch existing homes.
pub fn init_testnet(out: &Path, options: TestnetOptions<'_>) -> anyhow::Result<InitReport> {
    if options.validators == 0 {
        bail!("a testnet needs at least one validator");
    }
    let last = options.validators - 1;
    let highest = |base: u16| usize::from(base) + last;
    if highest(options.http_port) > usize::from(u16::MAX)
        || highest(options.p2p_port) > usize::from(u16::MAX)
    {
        bail!(
            "the ports of {} validators do not fit below 65536",
            options.validators
        );
    }
    let http_range = usize::from(options.http_port)..=highest(options.http_port);
    if http_range.contains(&usize::from(options.p2p_port))
        || http_range.contains(&highest(options.p2p_port))
    {
        bail!(
            "the HTTP ports ({}…) and p2p ports ({}…) overlap: pick bases further apart",
            options.http_port,
            options.p2p_port
        );
    }
    let homes: Vec<Home> = (0..options.validators)
        .map(|i| Home::new(validator_folder(out, i)))
        .collect();
    for home in &homes {
        if home.genesis_path().exists() {
            bail!(
                "{} exists already: choose another --out or delete it",
                home.genesis_path().display()
            );
        }
    }
    let template = options.first.config.clone();
    let moniker = |i: usize| format!("{}-{i}", template.moniker);
    let mut first = options.first;
    first.config.moniker = moniker(0);
    let report = init(&homes[0], first)?;
    let mut genesis = homes[0].genesis()?;
    for (i, home) in homes.iter().enumerate().skip(1) {
        std::fs::create_dir_all(home.root().join("data"))
            .with_context(|| format!("cannot create {}", home.root().display()))?;
        let key = SigningKey::generate();
        home.keystore()
            .add(VALIDATOR_KEY, &key, Protection::Plain)?;
        genesis.validators.push(GenesisValidator {
            name: moniker(i),
            public_key: hex::encode(key.public_key().as_bytes()),
            power: 1,
        });
    }
    genesis.validate()?;
    let ip = template.http.listen.ip();
    let p2p_ip = template.p2p.listen.ip();
    let p2p_address = |i: usize| std::net::SocketAddr::new(p2p_ip, options.p2p_port + i as u16);
    for (i, home) in homes.iter().enumerate() {
        std::fs::write(home.genesis_path(), genesis.to_json() + "\n")
            .with_context(|| format!("cannot write {}", home.genesis_path().display()))?;
        let mut config = template.clone();
        config.moniker = moniker(i);
        config.http.listen = std::net::SocketAddr::new(ip, options.http_port + i as u16);
        config.p2p.listen = p2p_address(i);
        config.p2p.peers = genesis
            .validators
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, v)| crate::config::PeerConfig {
                public_key: v.public_key.clone(),
                address: p2p_address(j),
            })
            .collect();
        if i == 0 {
            // Only validator-0 holds the faucet key: one signer keeps its nonces in order.
            config.faucet = NodeConfig::load(&home.config_path())?.faucet;
        } else {
            config.faucet.key = None;
        }
        config.validate()?;
        std::fs::write(home.config_path(), config.to_commented_toml())
            .with_context(|| format!("cannot write {}", home.config_path().display()))?;
    }
    Ok(InitReport {
        home: out.to_path_buf(),
        ..report
    })
}
