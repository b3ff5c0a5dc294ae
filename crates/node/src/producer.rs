//! The in-process block producer: until the BFT engine drives the app (consensus issue), one
//! thread makes a block every `block.interval_ms` from the mempool, calling only the app's
//! ABCI++-shaped interface (through `App::produce_block`). Replace this module, not the app, to
//! change how blocks are ordered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use groundwork_app::modules::accounts::state::AccountsRead;
use groundwork_app::{App, BlockLimits};
use groundwork_primitives::{PublicKey, SigningKey};
use groundwork_state::Tip;
use tokio::sync::watch;

use crate::config::BlockConfig;
use crate::ingest::ReportQueue;
use crate::mempool::Mempool;
use crate::metrics::Metrics;

/// Milliseconds since the Unix epoch by the wall clock (the proposer's clock; the app only ever
/// sees it through the block header).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What the producer needs.
pub struct Producer {
    /// The state machine (owned: only this thread writes).
    pub app: App,
    /// The validator key that proposes.
    pub proposer: SigningKey,
    /// Shared with the API.
    pub mempool: Arc<Mutex<Mempool>>,
    /// Ingested reports, shared with the API.
    pub reports: Arc<Mutex<ReportQueue>>,
    /// Most reports per block.
    pub max_reports: usize,
    /// Block settings.
    pub config: BlockConfig,
    /// Announces each new tip.
    pub tips: watch::Sender<Tip>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Set to stop after the current block.
    pub stop: Arc<AtomicBool>,
}

impl Producer {
    /// Runs until `stop` is set or the store fails (the error is returned; the node then exits,
    /// because a node that cannot commit must not pretend to run).
    pub fn run(mut self) -> anyhow::Result<()> {
        let proposer: PublicKey = self.proposer.public_key();
        let interval = Duration::from_millis(self.config.interval_ms);
        let limits = BlockLimits {
            max_txs: self.config.max_txs,
            max_bytes: self.config.max_bytes,
        };
        let mut next = Instant::now() + interval;
        while !self.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now < next {
                std::thread::sleep((next - now).min(Duration::from_millis(50)));
                continue;
            }
            next += interval;
            if next < Instant::now() {
                next = Instant::now() + interval;
            }
            let candidates = {
                let pool = self
                    .mempool
                    .lock()
                    .map_err(|_| anyhow::anyhow!("mempool lock poisoned"))?;
                // Offer more than fit: prepare_proposal skips those whose nonce does not follow.
                pool.candidates(
                    limits.max_txs.saturating_mul(2),
                    limits.max_bytes.saturating_mul(2),
                )
            };
            let reports: Vec<Vec<u8>> = {
                let mut queue = self
                    .reports
                    .lock()
                    .map_err(|_| anyhow::anyhow!("report queue lock poisoned"))?;
                queue
                    .take(self.max_reports)
                    .into_iter()
                    .map(|r| r.bytes)
                    .collect()
            };
            let report_count = reports.len() as u64;
            let started = Instant::now();
            let block = self.app.produce_block_with_reports(
                now_ms(),
                proposer,
                &candidates,
                reports,
                limits,
            )?;
            let elapsed = started.elapsed();
            let height = block.header().height;
            let failed = block
                .results
                .tx_results
                .iter()
                .filter(|r| r.code != 0)
                .count() as u64;
            let committed = block.tx_hashes.len() as u64;
            {
                let snapshot = self.app.store().snapshot()?;
                let mut pool = self
                    .mempool
                    .lock()
                    .map_err(|_| anyhow::anyhow!("mempool lock poisoned"))?;
                pool.after_block(&block.tx_hashes, height, |sender| {
                    snapshot.account(sender).map(|a| a.nonce).unwrap_or(0)
                });
                self.metrics.mempool_txs.set(pool.len() as i64);
                drop(pool);
                let mut queue = self
                    .reports
                    .lock()
                    .map_err(|_| anyhow::anyhow!("report queue lock poisoned"))?;
                queue.after_block(&snapshot);
                self.metrics.reports_queued.set(queue.len() as i64);
            }
            let valid_reports = block
                .results
                .report_results
                .iter()
                .filter(|r| r.code == 0)
                .count() as u64;
            self.metrics.reports_valid.inc_by(valid_reports);
            self.metrics
                .reports_invalid
                .inc_by(report_count - valid_reports);
            self.metrics.height.set(height as i64);
            self.metrics.txs_committed.inc_by(committed - failed);
            self.metrics.txs_failed.inc_by(failed);
            self.metrics.block_seconds.observe(elapsed.as_secs_f64());
            self.metrics.block_txs.observe(committed as f64);
            if committed > 0 {
                tracing::info!(
                    height,
                    txs = committed,
                    failed,
                    ms = elapsed.as_millis() as u64,
                    "committed block"
                );
            } else {
                tracing::debug!(height, "committed empty block");
            }
            if let Some(tip) = self.app.tip()? {
                self.tips.send_replace(tip);
            }
        }
        Ok(())
    }
}
