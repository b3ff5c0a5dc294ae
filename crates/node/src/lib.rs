//! The Groundwork node: it opens a home folder, runs the state machine under Simplex consensus
//! (the `groundwork-consensus` crate; one validator is a set of one), and serves the HTTP API
//! and metrics.
//!
//! ```text
//!  HTTP client ──POST /v1/txs──▶ api ──check_tx──▶ mempool ──candidates──▶ consensus ──▶ App ──▶ redb
//!       ▲                          │   share ▼         ▲ committed            ▲ │ votes, blocks
//!       │                          │   other validators (gossip channel) ─────┘ ▼ other validators
//!       └──── GET /v1/... ◀────────┴──────────────── reads snapshots of the store ◀──────────────┘
//! ```
//!
//! [`Node::start`] runs all of it and returns a handle: call [`RunningNode::shutdown`] to stop
//! the HTTP server and the engine. Everything the engine acknowledged is committed; votes and
//! certificates are journaled, so a restart (or a SIGKILL) loses nothing and never double-signs.

pub mod api;
pub mod bench;
pub mod config;
mod credits_api;
pub mod dashboard;
mod devices_api;
pub mod home;
pub mod ingest;
pub mod keystore;
pub mod mempool;
pub mod metrics;
pub mod pool;
mod rewards_api;
mod storage_api;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use groundwork_app::{App, BlockLimits};
use groundwork_consensus::{RunningValidator, ValidatorKey};
use groundwork_primitives::Amount;
use groundwork_state::Store;
use tokio::sync::{oneshot, watch};

use crate::config::NodeConfig;
use crate::home::{Home, VALIDATOR_KEY};
use crate::mempool::Mempool;
use crate::metrics::Metrics;

/// How to start a node.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// The home folder.
    pub home: PathBuf,
    /// Overrides `http.listen` (flag `--http`).
    pub http: Option<SocketAddr>,
    /// Overrides `block.interval_ms`.
    pub block_interval_ms: Option<u64>,
}

/// Milliseconds since the Unix epoch by the wall clock (a proposer's clock; the app only ever
/// sees it through the block header).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A running node.
pub struct RunningNode {
    addr: SocketAddr,
    chain_id: String,
    shutdown_http: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    consensus: Option<RunningValidator>,
}

/// Entry point.
pub struct Node;

impl Node {
    /// Opens the home, initialises the chain from `genesis.json` on first start (or checks the
    /// store belongs to that chain), starts consensus with the validator key and the HTTP
    /// server.
    pub async fn start(options: NodeOptions) -> anyhow::Result<RunningNode> {
        let home = Home::new(&options.home);
        let mut config = NodeConfig::load(&home.config_path())?;
        if let Some(http) = options.http {
            config.http.listen = http;
        }
        if let Some(ms) = options.block_interval_ms {
            config.block.interval_ms = ms;
        }
        config.validate()?;
        let genesis = home.genesis()?;
        let store_path = home.store_path();
        if let Some(parent) = store_path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let store = Store::open(&store_path)
            .with_context(|| format!("cannot open the store {}", store_path.display()))?;
        let mut app = App::open(store.clone())?;
        match app.chain_info() {
            None => {
                let app_hash = app.init_chain(&genesis)?;
                tracing::info!(chain_id = %genesis.chain_id, %app_hash, "initialised the chain from genesis");
            }
            Some(info) if info.chain_id != genesis.chain_id => bail!(
                "the store in {} belongs to chain {:?} but genesis.json is for {:?}",
                store_path.display(),
                info.chain_id,
                genesis.chain_id
            ),
            Some(_) => {}
        }
        let chain = app
            .chain_info()
            .cloned()
            .context("the chain has no genesis after init")?;
        let tip = app.tip()?.context("the store has no tip after genesis")?;
        tracing::info!(height = tip.height, app_hash = %tip.app_hash, "resuming from the last committed block");

        let keys = home.keystore();
        let validator = keys.load(VALIDATOR_KEY, None).with_context(|| {
            format!(
                "cannot load the validator key from {}",
                home.root().join("keys").display()
            )
        })?;
        let faucet = match &config.faucet.key {
            Some(name) => {
                let key = keys
                    .load(name, None)
                    .with_context(|| format!("cannot load the faucet key {name:?}"))?;
                let max = Amount(
                    Amount::one_token(chain.token.decimals)?.0
                        * u128::from(config.faucet.max_tokens),
                );
                Some(api::Faucet {
                    key,
                    max,
                    lock: tokio::sync::Mutex::new(()),
                })
            }
            None => None,
        };

        let metrics = Arc::new(Metrics::default());
        metrics.height.set(tip.height as i64);
        let mempool = Arc::new(Mutex::new(Mempool::new(config.mempool.clone())));
        // Reports accepted before a crash or restart and not yet committed come back first.
        let (queue, restored) = ingest::ReportQueue::with_journal(
            config.reports.queue_capacity,
            store.clone(),
            &store.snapshot()?,
        )?;
        if restored > 0 {
            tracing::info!(
                restored,
                "reports accepted before the restart are queued again"
            );
        }
        metrics.reports_queued.set(restored as i64);
        let reports = Arc::new(Mutex::new(queue));
        let (tips_tx, tips_rx) = watch::channel(tip);

        let listener = tokio::net::TcpListener::bind(config.http.listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {} (is another node running there? use --http)",
                    config.http.listen
                )
            })?;
        let addr = listener.local_addr()?;
        let checker = App::open(store.clone())?;
        let state = api::ApiState::new(
            store,
            checker,
            chain.clone(),
            mempool.clone(),
            reports.clone(),
            tips_rx,
            metrics.clone(),
            config.moniker.clone(),
            faucet,
        );
        let pool = pool::NodePool::new(state.clone(), mempool, reports, metrics, tips_tx)
            .context("cannot start the thread admitting shared transactions")?;

        let peers = config
            .p2p
            .peers
            .iter()
            .map(|peer| {
                let key = hex::decode(&peer.public_key)
                    .ok()
                    .and_then(|bytes| groundwork_consensus::validator_key(&bytes))
                    .with_context(|| {
                        format!("p2p peer key {:?} is not an ed25519 key", peer.public_key)
                    })?;
                Ok::<(ValidatorKey, SocketAddr), anyhow::Error>((key, peer.address))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let consensus_config = groundwork_consensus::Config {
            partition_prefix: "groundwork".into(),
            block_interval: Duration::from_millis(config.block.interval_ms),
            limits: BlockLimits {
                max_txs: config.block.max_txs,
                max_bytes: config.block.max_bytes,
            },
            max_reports: config.reports.max_per_block,
            ..groundwork_consensus::Config::default()
        };
        let storage_dir = home.consensus_path();
        let p2p_listen = config.p2p.listen;
        let validator_count = genesis.validators.len();
        let seed = validator.seed();
        let (engine, running) = tokio::task::spawn_blocking(move || {
            groundwork_consensus::spawn(
                groundwork_consensus::Validator {
                    app,
                    genesis,
                    seed,
                    mempool: Arc::new(pool),
                    config: consensus_config,
                },
                groundwork_consensus::P2pConfig {
                    listen: p2p_listen,
                    peers,
                    storage_dir,
                    worker_threads: 2,
                },
            )
        })
        .await?
        .with_context(|| {
            format!(
                "cannot start consensus (p2p listens on {p2p_listen}; is another node using it?)"
            )
        })?;
        state.attach_engine(engine);

        let (shutdown_http, shutdown_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, api::router(state))
                .with_graceful_shutdown(async move {
                    let _ = shutdown_rx.await;
                })
                .await
        });
        tracing::info!(%addr, chain_id = %chain.chain_id, validators = validator_count, %p2p_listen, "node started");
        Ok(RunningNode {
            addr,
            chain_id: chain.chain_id,
            shutdown_http: Some(shutdown_http),
            server,
            consensus: Some(running),
        })
    }
}

impl RunningNode {
    /// Where the HTTP API listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Whether consensus stopped by itself (a store or network failure: the node must exit).
    pub fn consensus_failed(&self) -> bool {
        self.consensus
            .as_ref()
            .is_none_or(RunningValidator::has_stopped)
    }

    /// Closes the HTTP server and stops consensus (whatever it acknowledged is committed).
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown_http.take() {
            let _ = tx.send(());
        }
        let failed = self.consensus_failed();
        if let Some(consensus) = self.consensus.take() {
            tokio::task::spawn_blocking(move || consensus.stop()).await?;
        }
        self.server.await??;
        if failed {
            bail!("consensus stopped by itself: see the log above");
        }
        Ok(())
    }
}
