//! Report ingest: authenticate device reports, stamp their arrival, and queue them for blocks.
//!
//! Each report is checked in this order, and the first failure is its answer: the device is
//! registered and active; the report is for this network; the signature verifies with the
//! device's key; it is fresh; its counter is above every counter of that device seen so far
//! (committed or queued). A batch is queued whole or not at all: when the queue cannot hold every
//! report that passed, the whole batch is refused with 429 and nothing is queued, so a report the
//! node said it accepted is never dropped. The app judges every queued report again,
//! deterministically, when its block executes; only the signature check is not repeated on this
//! node, whose memo of verified signatures (`groundwork_app::parallel::VerifiedSignatures`) already
//! holds it — a pure function's remembered answer, so the verdict is the one any validator reaches.

use std::collections::{HashMap, VecDeque};

use groundwork_app::ChainInfo;
use groundwork_app::modules::devices::state::{DeviceStatus, DevicesRead};
use groundwork_app::modules::reports::state::ReportsRead;
use groundwork_app::modules::reports::{DecodedReport, report_message};
use groundwork_app::parallel;
use groundwork_primitives::DeviceId;
use groundwork_state::Snapshot;
use serde::Serialize;

/// A report waiting for a block.
#[derive(Debug, Clone)]
pub struct QueuedReport {
    /// The envelope bytes, exactly as received.
    pub bytes: Vec<u8>,
    /// Its device.
    pub device: DeviceId,
    /// Its counter.
    pub counter: u64,
    /// When the node received it, ms since the Unix epoch.
    pub received_at_ms: u64,
}

/// Reports waiting for blocks, bounded.
#[derive(Debug)]
pub struct ReportQueue {
    capacity: usize,
    queue: VecDeque<QueuedReport>,
    /// The highest counter queued per device (not yet known to be committed).
    queued_counters: HashMap<DeviceId, u64>,
}

/// Why one report of a batch was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// Its position in the batch.
    pub index: usize,
    /// Why.
    pub reason: String,
}

/// What became of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchOutcome {
    /// Reports queued.
    pub accepted: usize,
    /// Reports refused, with reasons.
    pub rejected: Vec<Refusal>,
}

/// The queue cannot take the batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the report queue holds {queued} of {capacity}; a batch of {wanted} does not fit: retry shortly"
)]
pub struct QueueFull {
    /// Reports queued now.
    pub queued: usize,
    /// Its capacity.
    pub capacity: usize,
    /// Reports the batch wanted to add.
    pub wanted: usize,
}

impl ReportQueue {
    /// An empty queue holding at most `capacity` reports.
    pub fn new(capacity: usize) -> ReportQueue {
        ReportQueue {
            capacity,
            queue: VecDeque::new(),
            queued_counters: HashMap::new(),
        }
    }

    /// Reports waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Authenticates a batch against `snapshot` and queues what passes, all or nothing.
    pub fn admit(
        &mut self,
        snapshot: &Snapshot,
        chain: &ChainInfo,
        reports: Vec<Vec<u8>>,
        now_ms: u64,
        threads: usize,
    ) -> Result<BatchOutcome, QueueFull> {
        let params = snapshot.reports_params().unwrap_or_default();
        let decoded: Vec<Result<DecodedReport, String>> =
            parallel::par_map(&reports, threads, |bytes| {
                DecodedReport::decode(bytes).map_err(|e| e.to_string())
            });
        let mut rejected = Vec::new();
        let mut keys = Vec::with_capacity(reports.len());
        let mut devices = HashMap::new();
        for (index, report) in decoded.iter().enumerate() {
            let key = match report {
                Err(reason) => {
                    rejected.push(Refusal {
                        index,
                        reason: reason.clone(),
                    });
                    None
                }
                Ok(report) => {
                    let record = devices
                        .entry(report.device)
                        .or_insert_with(|| snapshot.device(&report.device).ok().flatten())
                        .clone();
                    match record {
                        None => {
                            rejected.push(Refusal {
                                index,
                                reason: format!(
                                    "unknown device {}: onboard it first",
                                    report.device
                                ),
                            });
                            None
                        }
                        Some(record) if record.status != DeviceStatus::Active => {
                            rejected.push(Refusal {
                                index,
                                reason: format!("device {} is decommissioned", report.device),
                            });
                            None
                        }
                        Some(_) if report.body.chain_id != chain.chain_id => {
                            rejected.push(Refusal {
                                index,
                                reason: format!(
                                    "the report is for chain {:?}, this is {:?}",
                                    report.body.chain_id, chain.chain_id
                                ),
                            });
                            None
                        }
                        Some(record) => Some((
                            record.id,
                            record.public_key,
                            report_message(&chain.chain_id, &report.body_bytes),
                            report.signature,
                        )),
                    }
                }
            };
            keys.push(key);
        }
        // Each device's key is decompressed once per batch.
        let distinct: Vec<(DeviceId, groundwork_primitives::PublicKey)> = keys
            .iter()
            .flatten()
            .map(|(id, key, _, _)| (*id, *key))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_iter()
            .collect();
        let prepared = parallel::prepare_keys(&distinct, threads);
        let authenticated: Vec<bool> = keys.iter().map(Option::is_some).collect();
        let items: Vec<parallel::PreparedItem<'_>> = keys
            .into_iter()
            .map(|item| {
                let (id, _, message, signature) = item?;
                Some((prepared.get(&id)?, message, signature))
            })
            .collect();
        let signatures = parallel::verify_prepared(&items, threads);
        let mut batch: Vec<QueuedReport> = Vec::new();
        let mut batch_counters: HashMap<DeviceId, u64> = HashMap::new();
        for (index, report) in decoded.into_iter().enumerate() {
            let (Ok(report), true) = (report, authenticated[index]) else {
                continue;
            };
            if !signatures[index] {
                rejected.push(Refusal {
                    index,
                    reason: "the signature does not match the device's key".into(),
                });
                continue;
            }
            let timestamp = report.body.timestamp_ms;
            if timestamp.saturating_add(params.max_report_age_ms) < now_ms
                || timestamp > now_ms.saturating_add(params.max_report_future_ms)
            {
                rejected.push(Refusal {
                    index,
                    reason: format!("timestamp {timestamp} is not fresh (now {now_ms})"),
                });
                continue;
            }
            let committed = snapshot
                .activity(&report.device)
                .ok()
                .and_then(|a| a.last_counter);
            let highest = [
                committed,
                self.queued_counters.get(&report.device).copied(),
                batch_counters.get(&report.device).copied(),
            ]
            .into_iter()
            .flatten()
            .max();
            if let Some(highest) = highest
                && report.body.counter <= highest
            {
                rejected.push(Refusal {
                    index,
                    reason: format!(
                        "counter {} is not above {highest}: a duplicate or replay",
                        report.body.counter
                    ),
                });
                continue;
            }
            batch_counters.insert(report.device, report.body.counter);
            batch.push(QueuedReport {
                bytes: reports[index].clone(),
                device: report.device,
                counter: report.body.counter,
                received_at_ms: now_ms,
            });
        }
        if self.queue.len() + batch.len() > self.capacity {
            return Err(QueueFull {
                queued: self.queue.len(),
                capacity: self.capacity,
                wanted: batch.len(),
            });
        }
        let accepted = batch.len();
        for (device, counter) in batch_counters {
            let entry = self.queued_counters.entry(device).or_insert(counter);
            *entry = (*entry).max(counter);
        }
        self.queue.extend(batch);
        rejected.sort_by_key(|r| r.index);
        Ok(BatchOutcome { accepted, rejected })
    }

    /// Takes up to `max` reports for the next block, oldest first.
    pub fn take(&mut self, max: usize) -> Vec<QueuedReport> {
        let n = max.min(self.queue.len());
        self.queue.drain(..n).collect()
    }

    /// After a block commits: forgets queued counters the chain now knows.
    pub fn after_block(&mut self, snapshot: &Snapshot) {
        self.queued_counters.retain(|device, counter| {
            let committed = snapshot.activity(device).ok().and_then(|a| a.last_counter);
            committed.is_none_or(|c| c < *counter)
        });
    }
}
