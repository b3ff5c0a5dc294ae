//! The node's configuration: `config.toml` in the home folder, overridden by `GROUNDWORK_*`
//! environment variables, overridden by command-line flags.

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Everything a node reads from `config.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// A name for logs and the status page.
    #[serde(default = "default_moniker")]
    pub moniker: String,
    /// HTTP API.
    #[serde(default)]
    pub http: HttpConfig,
    /// Block production.
    #[serde(default)]
    pub block: BlockConfig,
    /// The mempool.
    #[serde(default)]
    pub mempool: MempoolConfig,
    /// The faucet (devnets only).
    #[serde(default)]
    pub faucet: FaucetConfig,
    /// Device report ingest.
    #[serde(default)]
    pub reports: ReportsConfig,
    /// How this validator reaches the others.
    #[serde(default)]
    pub p2p: P2pConfig,
}

/// `[p2p]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P2pConfig {
    /// Address this validator listens on for the others (votes, blocks, shared transactions).
    pub listen: SocketAddr,
    /// The other validators: their consensus key and address.
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
}

/// One entry of `[[p2p.peers]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// Its validator public key as genesis lists it (ed25519, hex).
    pub public_key: String,
    /// Where it listens for peers.
    pub address: SocketAddr,
}

impl Default for P2pConfig {
    fn default() -> Self {
        P2pConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 26656)),
            peers: Vec::new(),
        }
    }
}

impl PeerConfig {
    /// Parses `KEY@HOST:PORT` (the form of `GROUNDWORK_P2P_PEERS`).
    pub fn parse(text: &str) -> Result<PeerConfig, String> {
        let (key, address) = text
            .split_once('@')
            .ok_or_else(|| format!("{text:?} is not KEY@HOST:PORT"))?;
        let address = address
            .parse()
            .map_err(|e| format!("{address:?} is not an address: {e}"))?;
        let peer = PeerConfig {
            public_key: key.trim().to_string(),
            address,
        };
        peer.check()?;
        Ok(peer)
    }

    fn check(&self) -> Result<(), String> {
        match hex::decode(&self.public_key) {
            Ok(bytes) if bytes.len() == 32 => Ok(()),
            _ => Err(format!(
                "peer key {:?} is not 64 hex characters (an ed25519 public key)",
                self.public_key
            )),
        }
    }
}

/// `[reports]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsConfig {
    /// Most reports waiting for a block; beyond it a batch gets 429.
    pub queue_capacity: usize,
    /// Most reports in one block.
    pub max_per_block: usize,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            queue_capacity: 500_000,
            max_per_block: 100_000,
        }
    }
}

/// `[http]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address the API listens on.
    pub listen: SocketAddr,
}

/// `[block]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockConfig {
    /// Target time between blocks, in milliseconds.
    pub interval_ms: u64,
    /// Most transactions in one block.
    pub max_txs: usize,
    /// Most transaction bytes in one block.
    pub max_bytes: usize,
}

/// `[mempool]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MempoolConfig {
    /// Most transactions waiting; beyond it submissions get 503.
    pub max_txs: usize,
    /// Most bytes waiting.
    pub max_bytes: usize,
    /// How far ahead of an account's committed nonce a transaction may be.
    pub max_nonce_gap: u64,
}

/// `[faucet]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaucetConfig {
    /// Name of a plain-text key in `keys/` whose account pays faucet requests; none disables it.
    pub key: Option<String>,
    /// Most a single request may ask for, in whole tokens.
    #[serde(default = "default_faucet_max")]
    pub max_tokens: u64,
}

fn default_moniker() -> String {
    "groundwork-node".into()
}
fn default_faucet_max() -> u64 {
    1_000
}

impl Default for FaucetConfig {
    fn default() -> Self {
        FaucetConfig {
            key: None,
            max_tokens: default_faucet_max(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 26657)),
        }
    }
}

impl Default for BlockConfig {
    fn default() -> Self {
        BlockConfig {
            interval_ms: 1_000,
            max_txs: 20_000,
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_txs: 100_000,
            max_bytes: 64 * 1024 * 1024,
            max_nonce_gap: 64,
        }
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            moniker: default_moniker(),
            http: HttpConfig::default(),
            block: BlockConfig::default(),
            mempool: MempoolConfig::default(),
            faucet: FaucetConfig::default(),
            reports: ReportsConfig::default(),
            p2p: P2pConfig::default(),
        }
    }
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is invalid or has an unknown key.
    #[error("{path} is not a valid config: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message (names the line and key).
        reason: String,
    },
    /// An environment variable holds a bad value.
    #[error("environment variable {name}={value:?}: {reason}")]
    Env {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// Why it is bad.
        reason: String,
    },
    /// A value is out of range.
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl NodeConfig {
    /// Reads `path`, then applies environment overrides.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut config: NodeConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Applies `GROUNDWORK_HTTP_LISTEN`, `GROUNDWORK_BLOCK_INTERVAL_MS`, `GROUNDWORK_MONIKER`,
    /// `GROUNDWORK_P2P_LISTEN` and `GROUNDWORK_P2P_PEERS` (comma-separated `KEY@HOST:PORT`,
    /// replacing the configured peers), read through `lookup`.
    pub fn apply_env(
        &mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(value) = lookup("GROUNDWORK_HTTP_LISTEN") {
            self.http.listen =
                value
                    .parse()
                    .map_err(|e: std::net::AddrParseError| ConfigError::Env {
                        name: "GROUNDWORK_HTTP_LISTEN",
                        value: value.clone(),
                        reason: e.to_string(),
                    })?;
        }
        if let Some(value) = lookup("GROUNDWORK_BLOCK_INTERVAL_MS") {
            self.block.interval_ms =
                value
                    .parse()
                    .map_err(|e: std::num::ParseIntError| ConfigError::Env {
                        name: "GROUNDWORK_BLOCK_INTERVAL_MS",
                        value: value.clone(),
                        reason: e.to_string(),
                    })?;
        }
        if let Some(value) = lookup("GROUNDWORK_MONIKER") {
            self.moniker = value;
        }
        if let Some(value) = lookup("GROUNDWORK_P2P_LISTEN") {
            self.p2p.listen =
                value
                    .parse()
                    .map_err(|e: std::net::AddrParseError| ConfigError::Env {
                        name: "GROUNDWORK_P2P_LISTEN",
                        value: value.clone(),
                        reason: e.to_string(),
                    })?;
        }
        if let Some(value) = lookup("GROUNDWORK_P2P_PEERS") {
            self.p2p.peers = value
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(PeerConfig::parse)
                .collect::<Result<_, _>>()
                .map_err(|reason| ConfigError::Env {
                    name: "GROUNDWORK_P2P_PEERS",
                    value: value.clone(),
                    reason,
                })?;
        }
        Ok(())
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for peer in &self.p2p.peers {
            peer.check().map_err(ConfigError::Invalid)?;
        }
        if !(10..=600_000).contains(&self.block.interval_ms) {
            return Err(ConfigError::Invalid(format!(
                "block.interval_ms must be between 10 and 600000, not {}",
                self.block.interval_ms
            )));
        }
        if self.reports.queue_capacity == 0 || self.reports.max_per_block == 0 {
            return Err(ConfigError::Invalid(
                "reports.queue_capacity and reports.max_per_block must be above 0".into(),
            ));
        }
        if self.block.max_txs == 0 || self.mempool.max_txs == 0 {
            return Err(ConfigError::Invalid(
                "block.max_txs and mempool.max_txs must be above 0".into(),
            ));
        }
        if self.block.max_bytes < groundwork_proto::MAX_TX_BYTES {
            return Err(ConfigError::Invalid(format!(
                "block.max_bytes must hold at least one transaction ({} bytes)",
                groundwork_proto::MAX_TX_BYTES
            )));
        }
        Ok(())
    }

    /// The config as a commented TOML file, as `groundwork init` writes it.
    pub fn to_commented_toml(&self) -> String {
        let faucet = match &self.faucet.key {
            Some(key) => format!("key = {key:?}\n"),
            None => "# key = \"faucet\"\n".to_string(),
        };
        format!(
            r#"# Groundwork node configuration.
# Environment variables override these values: GROUNDWORK_HTTP_LISTEN, GROUNDWORK_BLOCK_INTERVAL_MS,
# GROUNDWORK_MONIKER, GROUNDWORK_P2P_LISTEN, GROUNDWORK_P2P_PEERS (KEY@HOST:PORT,…); command-line
# flags override both.

# A name for this node in logs and on the status page.
moniker = {moniker:?}

[http]
# Where the HTTP API (/v1/..., /v1/openapi.json, /metrics) listens. Keep it on loopback unless a
# reverse proxy with TLS stands in front of it.
listen = "{listen}"

[block]
# Target time between blocks in milliseconds: a validator leading a view proposes no sooner than
# this after the parent block's time. Lower means faster confirmation and more blocks.
interval_ms = {interval}
# Most transactions and transaction bytes in one block.
max_txs = {block_txs}
max_bytes = {block_bytes}

[mempool]
# Most transactions and bytes waiting for a block. A full mempool answers 503 (try again later).
max_txs = {pool_txs}
max_bytes = {pool_bytes}
# How far ahead of an account's committed nonce a queued transaction may be.
max_nonce_gap = {gap}

[faucet]
# Name of an unencrypted key in keys/ whose account pays POST /v1/faucet requests (devnets only).
{faucet}# Most whole tokens one faucet request may ask for.
max_tokens = {faucet_max}

[reports]
# Most device reports waiting for a block. A batch that does not fit gets 429 (retry later);
# nothing the node accepted is ever dropped.
queue_capacity = {queue_capacity}
# Most reports in one block.
max_per_block = {reports_per_block}

[p2p]
# Where this validator listens for the other validators (Simplex votes and certificates, blocks,
# backfill, shared transactions and reports; authenticated and encrypted with the validator key).
listen = "{p2p_listen}"
# The other genesis validators: one [[p2p.peers]] each, with the key genesis lists and its
# p2p address. A single validator has none.
{peers}"#,
            moniker = self.moniker,
            listen = self.http.listen,
            interval = self.block.interval_ms,
            block_txs = self.block.max_txs,
            block_bytes = self.block.max_bytes,
            pool_txs = self.mempool.max_txs,
            pool_bytes = self.mempool.max_bytes,
            gap = self.mempool.max_nonce_gap,
            faucet = faucet,
            faucet_max = self.faucet.max_tokens,
            queue_capacity = self.reports.queue_capacity,
            reports_per_block = self.reports.max_per_block,
            p2p_listen = self.p2p.listen,
            peers = self
                .p2p
                .peers
                .iter()
                .map(|p| format!(
                    "\n[[p2p.peers]]\npublic_key = {:?}\naddress = \"{}\"\n",
                    p.public_key, p.address
                ))
                .collect::<String>(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commented_config_parses_back_to_the_same_values() {
        let mut config = NodeConfig::default();
        config.faucet.key = Some("faucet".into());
        config.p2p.peers = vec![
            PeerConfig::parse(&format!("{}@127.0.0.1:7001", "ab".repeat(32))).unwrap(),
            PeerConfig::parse(&format!("{}@127.0.0.1:7002", "cd".repeat(32))).unwrap(),
        ];
        let text = config.to_commented_toml();
        let back: NodeConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, config);
        assert_eq!(
            back.faucet.max_tokens, 1_000,
            "the faucet must give something by default"
        );
    }

    #[test]
    fn environment_overrides_win_and_bad_values_are_named() {
        let mut config = NodeConfig::default();
        config
            .apply_env(|name| (name == "GROUNDWORK_HTTP_LISTEN").then(|| "127.0.0.1:9999".into()))
            .unwrap();
        assert_eq!(config.http.listen.port(), 9999);
        let err = config
            .apply_env(|name| (name == "GROUNDWORK_BLOCK_INTERVAL_MS").then(|| "soon".into()))
            .unwrap_err();
        assert!(
            err.to_string().contains("GROUNDWORK_BLOCK_INTERVAL_MS"),
            "{err}"
        );
        let key = "ef".repeat(32);
        config
            .apply_env(|name| {
                (name == "GROUNDWORK_P2P_PEERS")
                    .then(|| format!("{key}@127.0.0.1:5,{key}@127.0.0.1:6"))
            })
            .unwrap();
        assert_eq!(config.p2p.peers.len(), 2);
        assert_eq!(config.p2p.peers[1].address.port(), 6);
        let err = config
            .apply_env(|name| (name == "GROUNDWORK_P2P_PEERS").then(|| "nokey@127.0.0.1:5".into()))
            .unwrap_err();
        assert!(err.to_string().contains("GROUNDWORK_P2P_PEERS"), "{err}");
    }

    #[test]
    fn a_typo_in_a_key_is_refused_with_its_name() {
        let err = toml::from_str::<NodeConfig>("[http]\nlisten = \"127.0.0.1:1\"\nlistn = 1\n")
            .unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
    }
}
