//! Prometheus metrics, served at `/metrics` in the text exposition format.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The node's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Height of the last committed block.
    pub height: Gauge,
    /// Transactions committed successfully.
    pub txs_committed: Counter,
    /// Transactions committed with a failure result.
    pub txs_failed: Counter,
    /// Transactions accepted into the mempool.
    pub txs_accepted: Counter,
    /// Transactions refused at submission.
    pub txs_rejected: Counter,
    /// Transactions waiting in the mempool.
    pub mempool_txs: Gauge,
    /// Time from a block's proposal (its header time) to its commit here, in seconds.
    pub finality_seconds: Histogram,
    /// Transactions per block.
    pub block_txs: Histogram,
    /// Device reports waiting for a block.
    pub reports_queued: Gauge,
    /// Device reports accepted at ingest.
    pub reports_accepted: Counter,
    /// Device reports refused at ingest.
    pub reports_refused: Counter,
    /// Reports committed with a valid verdict.
    pub reports_valid: Counter,
    /// Reports committed with an invalid verdict.
    pub reports_invalid: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("groundwork");
        let height = Gauge::default();
        let txs_committed = Counter::default();
        let txs_failed = Counter::default();
        let txs_accepted = Counter::default();
        let txs_rejected = Counter::default();
        let mempool_txs = Gauge::default();
        let finality_seconds = Histogram::new(exponential_buckets(0.01, 1.6, 16));
        let block_txs = Histogram::new(exponential_buckets(1.0, 4.0, 10));
        let reports_queued = Gauge::default();
        let reports_accepted = Counter::default();
        let reports_refused = Counter::default();
        let reports_valid = Counter::default();
        let reports_invalid = Counter::default();
        registry.register(
            "reports_queued",
            "Device reports waiting for a block",
            reports_queued.clone(),
        );
        registry.register(
            "reports_accepted",
            "Device reports accepted at ingest",
            reports_accepted.clone(),
        );
        registry.register(
            "reports_refused",
            "Device reports refused at ingest",
            reports_refused.clone(),
        );
        registry.register(
            "reports_valid",
            "Reports committed with a valid verdict",
            reports_valid.clone(),
        );
        registry.register(
            "reports_invalid",
            "Reports committed with an invalid verdict",
            reports_invalid.clone(),
        );
        registry.register(
            "block_height",
            "Height of the last committed block",
            height.clone(),
        );
        registry.register(
            "txs_committed",
            "Transactions committed successfully",
            txs_committed.clone(),
        );
        registry.register(
            "txs_failed",
            "Transactions committed with a failure result",
            txs_failed.clone(),
        );
        registry.register(
            "txs_accepted",
            "Transactions accepted into the mempool",
            txs_accepted.clone(),
        );
        registry.register(
            "txs_rejected",
            "Transactions refused at submission",
            txs_rejected.clone(),
        );
        registry.register(
            "mempool_txs",
            "Transactions waiting in the mempool",
            mempool_txs.clone(),
        );
        registry.register(
            "finality_seconds",
            "Time from a block's proposal to its commit on this node",
            finality_seconds.clone(),
        );
        registry.register("block_txs", "Transactions per block", block_txs.clone());
        Metrics {
            registry,
            height,
            txs_committed,
            txs_failed,
            txs_accepted,
            txs_rejected,
            mempool_txs,
            finality_seconds,
            block_txs,
            reports_queued,
            reports_accepted,
            reports_refused,
            reports_valid,
            reports_invalid,
        }
    }
}

impl Metrics {
    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
