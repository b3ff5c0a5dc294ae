//! The node's mempool and report queue as consensus sees them: proposals take candidates from
//! them, committed blocks clean them (and move the tip the API waits on), and what other
//! validators share is admitted into them.
//!
//! Shared submissions are admitted on a thread of their own (signature checks take time), in
//! the order they arrive, exactly as the API admits a client's batch (one batched signature
//! check for everything that arrived meanwhile), but not shared again.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use groundwork_app::PooledTx;
use groundwork_app::modules::accounts::state::AccountsRead as _;
use groundwork_consensus::{CommittedBlock, Gossip};
use groundwork_primitives::Hash;
use groundwork_state::{Store, Tip};
use tokio::sync::watch;

use crate::api::ApiState;
use crate::ingest::ReportQueue;
use crate::mempool::Mempool;
use crate::metrics::Metrics;

/// What consensus calls to build proposals and report commits.
pub struct NodePool {
    /// Waiting transactions (shared with the API).
    pub mempool: Arc<Mutex<Mempool>>,
    /// Waiting reports (shared with the API).
    pub reports: Arc<Mutex<ReportQueue>>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Announces each committed tip (`?wait=true` submissions wait on it).
    pub tips: watch::Sender<Tip>,
    /// Hands shared submissions to the admission thread.
    pub received: Mutex<mpsc::Sender<Gossip>>,
}

impl NodePool {
    /// The pool, and the thread admitting what other validators share through `api`.
    pub fn new(
        api: ApiState,
        mempool: Arc<Mutex<Mempool>>,
        reports: Arc<Mutex<ReportQueue>>,
        metrics: Arc<Metrics>,
        tips: watch::Sender<Tip>,
    ) -> std::io::Result<NodePool> {
        let (sender, receiver) = mpsc::channel::<Gossip>();
        std::thread::Builder::new()
            .name("shared-admission".into())
            .spawn(move || admit_shared(&api, &receiver))?;
        Ok(NodePool {
            mempool,
            reports,
            metrics,
            tips,
            received: Mutex::new(sender),
        })
    }

    fn after_block(&self, block: CommittedBlock<'_>, store: &Store) -> anyhow::Result<()> {
        let snapshot = store.snapshot()?;
        {
            let mut pool = self
                .mempool
                .lock()
                .map_err(|_| anyhow::anyhow!("mempool lock poisoned"))?;
            pool.after_block(block.tx_hashes, block.height, |sender| {
                snapshot.account(sender).map(|a| a.nonce).unwrap_or(0)
            });
            self.metrics.mempool_txs.set(pool.len() as i64);
        }
        {
            let mut queue = self
                .reports
                .lock()
                .map_err(|_| anyhow::anyhow!("report queue lock poisoned"))?;
            queue.after_block(block.report_hashes, &snapshot);
            self.metrics.reports_queued.set(queue.len() as i64);
        }
        // Outcomes counted by the execution (reading the results back and decoding them cost
        // tens of milliseconds per block while the app was locked).
        let txs = block.tx_hashes.len() as u64;
        self.metrics
            .txs_committed
            .inc_by(txs.saturating_sub(block.failed_txs));
        self.metrics.txs_failed.inc_by(block.failed_txs);
        self.metrics.reports_valid.inc_by(block.valid_reports);
        self.metrics.reports_invalid.inc_by(block.invalid_reports);
        self.metrics.block_txs.observe(txs as f64);
        let finality_ms = crate::now_ms().saturating_sub(block.time_ms);
        self.metrics
            .finality_seconds
            .observe(finality_ms as f64 / 1000.0);
        self.metrics.height.set(block.height as i64);
        if let Some(tip) = snapshot.tip() {
            self.tips.send_replace(tip);
        }
        let txs = block.tx_hashes.len();
        if txs > 0 {
            tracing::info!(height = block.height, txs, finality_ms, "committed block");
        } else {
            tracing::debug!(height = block.height, "committed block");
        }
        Ok(())
    }
}

impl groundwork_consensus::Mempool for NodePool {
    fn candidates(&self, max_txs: usize, max_bytes: usize) -> Vec<Arc<PooledTx>> {
        self.mempool
            .lock()
            .map(|pool| pool.candidates(max_txs, max_bytes))
            .unwrap_or_default()
    }

    fn waiting(&self, hashes: &[Hash]) -> Vec<Option<Arc<PooledTx>>> {
        self.mempool
            .lock()
            .map(|pool| pool.waiting(hashes))
            .unwrap_or_else(|_| vec![None; hashes.len()])
    }

    fn report_candidates(&self, max_reports: usize) -> Vec<Vec<u8>> {
        self.reports
            .lock()
            .map(|queue| queue.candidates(max_reports))
            .unwrap_or_default()
    }

    fn committed(&self, block: CommittedBlock<'_>, store: &Store) {
        if let Err(error) = self.after_block(block, store) {
            tracing::error!(height = block.height, %error, "cannot update the mempool after a block");
        }
    }

    fn received(&self, gossip: Gossip) {
        if let Ok(sender) = self.received.lock() {
            let _ = sender.send(gossip);
        }
    }
}

/// Admits what other validators shared until the pool is dropped: what arrived while the last
/// admission ran is admitted together, its signatures checked in one batch over the cores.
fn admit_shared(api: &ApiState, receiver: &mpsc::Receiver<Gossip>) {
    while let Ok(first) = receiver.recv() {
        let inner = &api.inner;
        let mut txs = first.txs;
        let mut reports = first.reports;
        while txs.len() < SHARED_BATCH
            && let Ok(more) = receiver.try_recv()
        {
            txs.extend(more.txs);
            reports.extend(more.reports);
        }
        if !txs.is_empty() {
            match crate::api::admit_txs(inner, txs, false) {
                Ok(outcomes) => {
                    let refused = outcomes.iter().filter(|o| o.is_err()).count();
                    if refused > 0 {
                        tracing::debug!(refused, "shared transactions were not admitted");
                    }
                }
                Err(error) => {
                    tracing::warn!(?error, "cannot admit shared transactions");
                }
            }
        }
        if !reports.is_empty()
            && let Err(error) = crate::devices_api::admit_reports(inner, reports, false)
        {
            tracing::debug!(?error, "shared reports were not admitted");
        }
    }
}

/// Most shared transactions admitted together (more waiting go in the next round).
const SHARED_BATCH: usize = 20_000;
