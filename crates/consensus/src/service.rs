//! A validator as a node runs it: Commonware's tokio runtime on its own thread, peers reached
//! over Commonware's authenticated `lookup` network (a static address book of validator key →
//! socket address, encrypted transport with its own handshake).
//!
//! The node hands [`spawn`] its app, genesis, seed and mempool plus where to listen and where
//! the other validators are; it gets back an [`EngineHandle`] for its status page and a
//! [`RunningValidator`] to stop it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use commonware_cryptography::{ChaCha20Poly1305, Signer as _};
use commonware_p2p::authenticated::lookup;
use commonware_p2p::{Address, AddressableManager as _};
use commonware_runtime::{Metrics as _, Quota, Runner as _, Spawner as _, Supervisor as _, tokio};
use commonware_stream::{cups, sake};
use commonware_utils::ordered::Map;
use futures::FutureExt as _;

use crate::{
    ConsensusError, EngineHandle, Network, Validator, ValidatorKey, channels, signer_from_seed,
    start, validator_keys,
};

/// Where this validator listens and how to reach the others.
#[derive(Debug, Clone)]
pub struct P2pConfig {
    /// The address to listen on for peers.
    pub listen: SocketAddr,
    /// Every validator's address (this one's included or not), by key.
    pub peers: Vec<(ValidatorKey, SocketAddr)>,
    /// Where consensus keeps its journal and archives.
    pub storage_dir: PathBuf,
    /// Threads of the runtime.
    pub worker_threads: usize,
}

/// A validator running on its own thread.
pub struct RunningValidator {
    stop: Option<futures::channel::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RunningValidator {
    /// Stops the engine and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Whether the engine's thread has ended by itself (a failure).
    pub fn has_stopped(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningValidator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts `validator` on a new thread and returns once consensus runs.
pub fn spawn(
    validator: Validator,
    p2p: P2pConfig,
) -> Result<(EngineHandle, RunningValidator), ConsensusError> {
    let keys = validator_keys(&validator.genesis)?;
    let signer = signer_from_seed(validator.seed)?;
    // The network panics on a port in use; say so plainly first (another node may still grab
    // the port in between, which only makes the error less clear).
    std::net::TcpListener::bind(p2p.listen).map_err(|e| {
        ConsensusError::Runtime(format!("cannot listen for peers on {}: {e}", p2p.listen))
    })?;
    let namespace = format!("groundwork/{}/p2p", validator.genesis.chain_id);
    let max_message_size = validator.config.max_message_size();
    let mempool = validator.mempool.clone();
    let quota_per_second = validator.config.quota_per_second;
    let mut book: Vec<(ValidatorKey, Address)> = p2p
        .peers
        .iter()
        .filter(|(key, _)| keys.contains(key))
        .map(|(key, addr)| (key.clone(), Address::Symmetric(*addr)))
        .collect();
    let me = signer.public_key();
    if !book.iter().any(|(key, _)| *key == me) {
        book.push((me, Address::Symmetric(p2p.listen)));
    }
    let book = Map::from_iter_dedup(book);
    let runtime = tokio::Config::new()
        .with_worker_threads(p2p.worker_threads.max(1))
        .with_storage_directory(p2p.storage_dir.clone());
    let (ready_tx, ready_rx) = mpsc::channel::<Result<EngineHandle, ConsensusError>>();
    let (stop_tx, stop_rx) = futures::channel::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("consensus".into())
        .spawn(move || {
            tokio::Runner::new(runtime).start(|context| async move {
                let handshake = cups::Cups::<_, ChaCha20Poly1305>::new(
                    sake::Sake {
                        signer,
                        synchrony_bound: Duration::from_secs(5),
                        max_handshake_age: Duration::from_secs(10),
                        version: sake::Version::V1,
                    },
                    cups::Version::V1,
                );
                let config = lookup::Config::local(
                    handshake,
                    namespace.as_bytes(),
                    p2p.listen,
                    crate::non_zero(keys.len().max(1)),
                    max_message_size,
                    crate::non_zero(10_000),
                );
                let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), config);
                let _ = oracle.track(0, book);
                let quota = Quota::per_second(
                    std::num::NonZeroU32::new(quota_per_second.max(1))
                        .unwrap_or(std::num::NonZeroU32::MIN),
                );
                let channels = Network {
                    votes: network.register(channels::VOTES, quota),
                    certificates: network.register(channels::CERTIFICATES, quota),
                    resolver: network.register(channels::RESOLVER, quota),
                    blocks: network.register(channels::BLOCKS, quota),
                    backfill: network.register(channels::BACKFILL, quota),
                };
                let (gossip_sender, gossip_receiver) = network.register(channels::GOSSIP, quota);
                network.start();
                let started = start(
                    context.child("consensus"),
                    validator,
                    channels,
                    oracle.clone(),
                    oracle,
                )
                .await;
                let engine = match started {
                    Ok((mut handle, engine)) => {
                        let (outgoing_tx, outgoing_rx) = futures::channel::mpsc::unbounded();
                        handle.gossip = Some(outgoing_tx);
                        context.child("gossip").spawn(move |_| {
                            crate::gossip::run(gossip_sender, gossip_receiver, outgoing_rx, mempool)
                        });
                        let metrics_context = context.child("metrics");
                        if let Ok(mut slot) = handle.metrics.lock() {
                            *slot = Some(Box::new(move || metrics_context.encode()));
                        }
                        let _ = ready_tx.send(Ok(handle));
                        engine
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                        return;
                    }
                };
                futures::select! {
                    _ = engine.fuse() => tracing::error!("the consensus engine stopped"),
                    _ = stop_rx.fuse() => {}
                }
                let _ = context.stop(0, Some(Duration::from_secs(5))).await;
            })
        })
        .map_err(|e| ConsensusError::Runtime(e.to_string()))?;
    let handle = ready_rx.recv().map_err(|_| {
        ConsensusError::Runtime("the consensus thread ended while starting".into())
    })??;
    Ok((
        handle,
        RunningValidator {
            stop: Some(stop_tx),
            thread: Some(thread),
        },
    ))
}
