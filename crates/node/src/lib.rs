//! The Groundwork node: it opens a home folder, runs the state machine, produces blocks from its
//! mempool, and serves the HTTP API and metrics.
//!
//! ```text
//!  HTTP client ──POST /v1/txs──▶ api ──check_tx──▶ mempool ──candidates──▶ producer ──▶ App ──▶ redb
//!       ▲                          │                                         (one thread)   │
//!       └──── GET /v1/... ◀────────┴──────────────── reads snapshots of the store ◀─────────┘
//! ```
//!
//! [`Node::start`] runs all of it inside a tokio runtime and returns a handle; dropping nothing
//! is needed to stop it cleanly: call [`RunningNode::shutdown`], which finishes the block in
//! progress and returns.

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
pub mod producer;
mod rewards_api;
mod storage_api;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use groundwork_app::App;
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

/// A running node.
pub struct RunningNode {
    addr: SocketAddr,
    chain_id: String,
    stop: Arc<AtomicBool>,
    shutdown_http: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    producer: std::thread::JoinHandle<anyhow::Result<()>>,
}

/// Entry point.
pub struct Node;

impl Node {
    /// Opens the home, initialises the chain from `genesis.json` on first start (or checks the
    /// store belongs to that chain), starts the block producer and the HTTP server.
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
        let reports = Arc::new(Mutex::new(ingest::ReportQueue::new(
            config.reports.queue_capacity,
        )));
        let (tips_tx, tips_rx) = watch::channel(tip);
        let stop = Arc::new(AtomicBool::new(false));

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
        let (shutdown_http, shutdown_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, api::router(state))
                .with_graceful_shutdown(async move {
                    let _ = shutdown_rx.await;
                })
                .await
        });

        let producer = producer::Producer {
            app,
            proposer: validator,
            mempool,
            reports,
            max_reports: config.reports.max_per_block,
            config: config.block.clone(),
            tips: tips_tx,
            metrics,
            stop: stop.clone(),
        };
        let producer = std::thread::Builder::new()
            .name("block-producer".into())
            .spawn(move || producer.run())
            .context("cannot start the block producer thread")?;
        tracing::info!(%addr, chain_id = %chain.chain_id, "node started");
        Ok(RunningNode {
            addr,
            chain_id: chain.chain_id,
            stop,
            shutdown_http: Some(shutdown_http),
            server,
            producer,
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

    /// Whether the block producer stopped by itself (a store failure).
    pub fn producer_failed(&self) -> bool {
        self.producer.is_finished()
    }

    /// Stops producing after the block in progress, closes the HTTP server, and reports the
    /// producer's error if it failed.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(tx) = self.shutdown_http.take() {
            let _ = tx.send(());
        }
        let producer = tokio::task::spawn_blocking(move || self.producer.join()).await?;
        let served = self.server.await;
        match producer {
            Ok(result) => result?,
            Err(_) => bail!("the block producer panicked"),
        }
        served??;
        Ok(())
    }
}
