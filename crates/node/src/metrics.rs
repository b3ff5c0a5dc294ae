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
    /// Time to execute and commit a block, in seconds.
    pub block_seconds: Histogram,
    /// Transactions per block.
    pub block_txs: Histogram,
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
        let block_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let block_txs = Histogram::new(exponential_buckets(1.0, 4.0, 10));
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
            "block_commit_seconds",
            "Time to execute and commit a block",
            block_seconds.clone(),
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
            block_seconds,
            block_txs,
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
