//! Genesis documents with keys from a seed.

use groundwork_app::Genesis;
use groundwork_app::genesis::{
    GenesisAccount, GenesisMaker, GenesisParams, GenesisValidator, TokenInfo,
};
use groundwork_app::modules::accounts::params::AccountsParams;
use groundwork_app::modules::credits::params::CreditsParams;
use groundwork_app::modules::devices::params::DevicesParams;
use groundwork_app::modules::reports::params::ReportsParams;
use groundwork_app::modules::rewards::params::{Preset, RewardsParams};
use groundwork_app::modules::staking::params::StakingParams;
use groundwork_app::modules::storage::params::StorageParams;
use groundwork_primitives::{Address, Amount, SigningKey, sha256};

/// A genesis together with the secret keys of its accounts and validator.
#[derive(Debug, Clone)]
pub struct TestGenesis {
    /// The document every node of the test chain starts from.
    pub genesis: Genesis,
    /// The funded accounts' keys, in the order of `genesis.accounts`.
    pub account_keys: Vec<SigningKey>,
    /// The one validator's key (it proposes every block).
    pub validator_key: SigningKey,
    /// The hardware makers' attestation keys, in the order of `genesis.makers`.
    pub maker_keys: Vec<SigningKey>,
    /// The price oracles' keys, in the order of `genesis.params.credits.oracles`. Their funded
    /// accounts follow the ordinary accounts in `genesis.accounts`.
    pub oracle_keys: Vec<SigningKey>,
    /// How far each block moves the clock, in ms.
    pub block_step_ms: u64,
}

/// Builds a [`TestGenesis`]: `accounts` funded accounts with keys derived from `seed`.
///
/// Defaults: chain `groundwork-test-1`, 8 decimals, minimum fee 1,000 base units, 3 accounts
/// of 10^12 base units each, no makers, the app's default devices, staking and reports
/// parameters, genesis at 1,700,000,000,000 ms, blocks 1,000 ms apart, seed 0.
#[derive(Debug, Clone)]
pub struct GenesisBuilder {
    chain_id: String,
    decimals: u8,
    min_fee: Amount,
    account_count: usize,
    balance: Amount,
    seed: u64,
    genesis_time_ms: u64,
    block_step_ms: u64,
    maker_allowances: Vec<u64>,
    devices: DevicesParams,
    staking: StakingParams,
    reports: ReportsParams,
    credits: CreditsParams,
    oracle_count: usize,
    rewards: Option<RewardsParams>,
    storage: StorageParams,
}

impl Default for GenesisBuilder {
    fn default() -> Self {
        GenesisBuilder {
            chain_id: "groundwork-test-1".into(),
            decimals: 8,
            min_fee: Amount(1_000),
            account_count: 3,
            balance: Amount(1_000_000_000_000),
            seed: 0,
            genesis_time_ms: 1_700_000_000_000,
            block_step_ms: 1_000,
            maker_allowances: Vec::new(),
            devices: DevicesParams::default(),
            staking: StakingParams::default(),
            reports: ReportsParams::default(),
            credits: CreditsParams::default(),
            oracle_count: 0,
            rewards: None,
            storage: StorageParams::default(),
        }
    }
}

impl GenesisBuilder {
    /// The defaults (see the type's docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// The chain id.
    pub fn chain_id(mut self, chain_id: &str) -> Self {
        self.chain_id = chain_id.into();
        self
    }

    /// The token's decimal places.
    pub fn decimals(mut self, decimals: u8) -> Self {
        self.decimals = decimals;
        self
    }

    /// The minimum fee, in base units.
    pub fn min_fee(mut self, min_fee: Amount) -> Self {
        self.min_fee = min_fee;
        self
    }

    /// `count` funded accounts holding `balance` each.
    pub fn accounts(mut self, count: usize, balance: Amount) -> Self {
        self.account_count = count;
        self.balance = balance;
        self
    }

    /// The seed every key is derived from: two builders with the same seed make the same keys.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The genesis time, ms since the Unix epoch.
    pub fn genesis_time_ms(mut self, genesis_time_ms: u64) -> Self {
        self.genesis_time_ms = genesis_time_ms;
        self
    }

    /// How far each block moves the clock, in ms.
    pub fn block_step_ms(mut self, block_step_ms: u64) -> Self {
        self.block_step_ms = block_step_ms;
        self
    }

    /// One more hardware maker, `maker-<index>`, with a key derived from the seed and
    /// `allowance` onboardings.
    pub fn maker(mut self, allowance: u64) -> Self {
        self.maker_allowances.push(allowance);
        self
    }

    /// The devices parameters (stakes per kind, location fee, coarsest location).
    pub fn devices_params(mut self, params: DevicesParams) -> Self {
        self.devices = params;
        self
    }

    /// The staking parameters (the unbonding delay).
    pub fn staking_params(mut self, params: StakingParams) -> Self {
        self.staking = params;
        self
    }

    /// The reports parameters (epoch length, beacon selection, physics and sensor thresholds).
    pub fn reports_params(mut self, params: ReportsParams) -> Self {
        self.reports = params;
        self
    }

    /// The credits parameters (credit price, freshness, data prices, re-mints). The oracle list
    /// is replaced by the keys [`GenesisBuilder::oracles`] makes.
    pub fn credits_params(mut self, params: CreditsParams) -> Self {
        self.credits = params;
        self
    }

    /// `count` price oracles with keys derived from the seed, each funded like the accounts
    /// (their accounts come after the ordinary ones).
    pub fn oracles(mut self, count: usize) -> Self {
        self.oracle_count = count;
        self
    }

    /// Rewards parameters (default: the wireless preset at the builder's decimals).
    pub fn rewards_params(mut self, params: RewardsParams) -> Self {
        self.rewards = Some(params);
        self
    }

    /// The storage parameters (proving periods, challenges, escrow shares, slashing).
    pub fn storage_params(mut self, params: StorageParams) -> Self {
        self.storage = params;
        self
    }

    /// The genesis and its keys.
    pub fn build(self) -> TestGenesis {
        let account_keys: Vec<SigningKey> = (0..self.account_count)
            .map(|i| derive_key(self.seed, "account", i as u64))
            .collect();
        let validator_key = derive_key(self.seed, "validator", 0);
        let maker_keys: Vec<SigningKey> = (0..self.maker_allowances.len())
            .map(|i| derive_key(self.seed, "maker", i as u64))
            .collect();
        let oracle_keys: Vec<SigningKey> = (0..self.oracle_count)
            .map(|i| derive_key(self.seed, "oracle", i as u64))
            .collect();
        let credits = CreditsParams {
            oracles: oracle_keys
                .iter()
                .map(|key| Address::from_public_key(&key.public_key()))
                .collect(),
            ..self.credits
        };
        let genesis = Genesis {
            makers: maker_keys
                .iter()
                .zip(&self.maker_allowances)
                .enumerate()
                .map(|(i, (key, &allowance))| GenesisMaker {
                    name: format!("maker-{i}"),
                    public_key: key.public_key().to_string(),
                    allowance,
                })
                .collect(),
            chain_id: self.chain_id,
            genesis_time_ms: self.genesis_time_ms,
            token: TokenInfo {
                symbol: "GWT".into(),
                decimals: self.decimals,
            },
            params: GenesisParams {
                accounts: AccountsParams {
                    min_fee: self.min_fee,
                },
                devices: self.devices,
                staking: self.staking,
                reports: self.reports,
                credits,
                rewards: match self.rewards {
                    Some(params) => params,
                    None => {
                        RewardsParams::preset(Preset::Wireless, self.decimals).unwrap_or_default()
                    }
                },
                storage: self.storage,
            },
            accounts: account_keys
                .iter()
                .chain(&oracle_keys)
                .map(|key| GenesisAccount {
                    address: Address::from_public_key(&key.public_key()),
                    balance: self.balance,
                })
                .collect(),
            validators: vec![GenesisValidator {
                name: "validator-0".into(),
                public_key: hex::encode(validator_key.public_key().as_bytes()),
                power: 1,
            }],
        };
        TestGenesis {
            genesis,
            account_keys,
            validator_key,
            maker_keys,
            oracle_keys,
            block_step_ms: self.block_step_ms,
        }
    }
}

/// A key from `(seed, role, index)`: SHA-256 of a tag and the three, as the ed25519 seed.
pub(crate) fn derive_key(seed: u64, role: &str, index: u64) -> SigningKey {
    let mut material = b"groundwork-testkit/key/".to_vec();
    material.extend_from_slice(role.as_bytes());
    material.extend_from_slice(&seed.to_be_bytes());
    material.extend_from_slice(&index.to_be_bytes());
    SigningKey::from_seed(sha256(&material).0)
}
