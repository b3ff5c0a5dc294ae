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
//!
//! Accepted reports are journaled durably in the node's store (`ingest_queue`, outside the state
//! root) before the batch is answered, and forgotten once a committed block includes them or
//! the chain has superseded them, so a crash or restart loses no report the node accepted: on
//! start the queue is refilled from the journal ([`ReportQueue::with_journal`]). The node's
//! workers authenticate a batch without the queue's lock (decoding, device lookups and signatures
//! need only the shared cache of device keys), check its counters and room under the lock,
//! journal it without the lock, and queue it under the lock again ([`admit_shared`]): two workers
//! authenticate at once, one batch's `fsync` runs while the next batch is checked, and batches
//! still join the queue in the order their counters were checked.
//!
//! Proposals take reports from the queue without removing them ([`ReportQueue::candidates`]): a
//! proposal may never be finalized. A report leaves the queue only when a committed block
//! includes it, or when the chain has seen a higher counter of its device, so it could only be
//! a replay ([`ReportQueue::after_block`]).

use std::collections::{BTreeMap, VecDeque};

/// Tables keyed by device ids and report hashes: randomly seeded per table (minimal resistance
/// to crafted collisions; the keys are digests an adversary can only grind), and much cheaper
/// per lookup than std's SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// See [`HashMap`].
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

use groundwork_app::ChainInfo;
use groundwork_app::modules::devices::state::{DeviceRecord, DeviceStatus, DevicesRead};
use groundwork_app::modules::reports::state::ReportsRead;
use groundwork_app::modules::reports::{DecodedReport, report_message};
use groundwork_app::parallel;
use groundwork_primitives::{DeviceId, Hash, PreparedKey, Signature, sha256};
use groundwork_state::{Snapshot, StateError, Store};
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
    /// SHA-256 of `bytes` (how a committed block names it).
    pub hash: Hash,
    /// Its place in the journal.
    pub seq: u64,
}

/// Reports waiting for blocks, bounded.
#[derive(Debug)]
pub struct ReportQueue {
    capacity: usize,
    queue: VecDeque<QueuedReport>,
    /// The highest counter queued per device (not yet known to be committed).
    queued_counters: HashMap<DeviceId, u64>,
    /// Where accepted reports are journaled (none in benchmarks and unit tests).
    journal: Option<Store>,
    /// The next journal sequence number.
    next_seq: u64,
    /// Decompressed device keys of devices seen lately (shared with workers authenticating
    /// batches without the queue's lock).
    keys: std::sync::Arc<KeyCache>,
    /// Batches that passed their checks and are being journaled (or are journaled and wait for
    /// an older batch), by first sequence number: they hold room in the queue and their
    /// counters, and join the queue in sequence order once durable.
    in_flight: BTreeMap<u64, InFlight>,
    /// Reports of the batches in flight.
    reserved: usize,
    /// Blocks seen by [`ReportQueue::after_block`] so far.
    blocks_seen: u64,
    /// The height of the last committed block [`ReportQueue::after_block`] saw.
    committed_height: u64,
}

/// A batch between its checks and the queue.
#[derive(Debug)]
struct InFlight {
    /// The highest counter per device in the batch.
    counters: HashMap<DeviceId, u64>,
    /// Its reports, once their journal entries are durable.
    durable: Option<Vec<QueuedReport>>,
    /// Blocks seen when it was checked.
    blocks_seen: u64,
}

/// A batch that passed its checks: it holds its sequence numbers, its room in the queue and its
/// devices' counters, and joins the queue through [`ReportQueue::enqueue`] once its journal
/// entries are durable ([`Admission::save`]), or gives them back through
/// [`ReportQueue::abandon`]. Answering the client only after `enqueue` is what makes an
/// accepted report survive a crash; journaling outside the queue's lock lets the next batch be
/// checked while this one's `fsync` runs.
#[derive(Debug)]
#[must_use = "an admission holds room in the queue until it is enqueued or abandoned"]
pub struct Admission {
    batch: Vec<QueuedReport>,
    outcome: BatchOutcome,
}

impl Admission {
    /// What the client will be told once the batch is queued.
    pub fn outcome(&self) -> &BatchOutcome {
        &self.outcome
    }

    /// The accepted reports' bytes (to share them with other validators).
    pub fn accepted_bytes(&self) -> Vec<Vec<u8>> {
        self.batch.iter().map(|r| r.bytes.clone()).collect()
    }

    /// Writes the accepted reports to `journal` durably (one `fsync`), without the queue's lock.
    pub fn save(&self, journal: &Store) -> Result<(), AdmitError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let entries: Vec<(u64, u64, &[u8])> = self
            .batch
            .iter()
            .map(|r| (r.seq, r.received_at_ms, r.bytes.as_slice()))
            .collect();
        journal
            .ingest_save(&entries)
            .map_err(|error| AdmitError::Journal(error.to_string()))
    }
}

/// The bytes of a batch's accepted reports.
pub type AcceptedBytes = Vec<Vec<u8>>;

/// Admits a batch into a queue shared behind a lock, as the node's HTTP workers do:
/// authenticates it without the lock (decoding, device lookups, signatures, freshness), checks
/// counters and room under the lock, journals durably without it (so another batch can be
/// checked meanwhile), then queues under the lock again. Returns only once the accepted reports are durable and queued;
/// on a journal failure nothing of the batch was accepted. With `share`, also returns the
/// accepted reports' bytes.
pub fn admit_shared(
    queue: &std::sync::Mutex<ReportQueue>,
    snapshot: &Snapshot,
    chain: &ChainInfo,
    reports: Vec<Vec<u8>>,
    now_ms: u64,
    threads: usize,
    share: bool,
) -> Result<(BatchOutcome, Option<AcceptedBytes>), AdmitError> {
    let lock = || {
        // A poisoned lock only means another worker panicked; the queue's own state is updated
        // in steps that each leave it consistent.
        queue.lock().unwrap_or_else(|e| e.into_inner())
    };
    // Decoding, device lookups and signatures need nothing of the queue but its key cache: two
    // workers authenticate their batches at the same time; only the counters and the room in
    // the queue are checked under the lock.
    let keys = lock().keys.clone();
    let authenticated = authenticate(&keys, snapshot, chain, reports, now_ms, threads);
    let (admission, journal) = {
        let mut queue = lock();
        let admission = queue.accept(authenticated, now_ms)?;
        (admission, queue.journal.clone())
    };
    let shared = (share && !admission.batch.is_empty()).then(|| admission.accepted_bytes());
    let saved = match &journal {
        Some(journal) => admission.save(journal),
        None => Ok(()),
    };
    Ok((lock().settle(admission, saved)?, shared))
}

/// Decompressed keys of recently seen devices (a device's key never changes: its id is derived
/// from it), bounded like the app's memos: 65,536 keys per generation (about 15 MB), the older
/// generation dropped when the newer fills, so devices that report regularly stay in.
type KeyCache = parallel::Recent<DeviceId, PreparedKey>;

/// Keys per shard and generation of a [`KeyCache`] (16 shards).
const KEYS_PER_GENERATION: usize = 1 << 12;

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

/// Why a batch was not queued (nothing of it was).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// The queue cannot take the batch: the client should retry shortly (429).
    #[error(transparent)]
    Full(#[from] QueueFull),
    /// The journal could not be written (a full disk, say): nothing was accepted.
    #[error("the report journal could not be written ({0}); nothing of the batch was accepted")]
    Journal(String),
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

/// A batch after the checks that need nothing of the queue's state: decoded, its devices
/// registered and active, for this network, signed, fresh.
#[derive(Debug)]
struct Authenticated {
    /// The height of the snapshot it was authenticated against (its committed counters).
    height: u64,
    reports: Vec<Vec<u8>>,
    /// Per report, what the queue's checks need of it (`None`: refused, see `rejected`).
    passed: Vec<Option<Passed>>,
    rejected: Vec<Refusal>,
}

/// A report that passed authentication.
#[derive(Debug)]
struct Passed {
    device: DeviceId,
    counter: u64,
    hash: Hash,
    /// Its device's committed counter, if any.
    committed: Option<u64>,
}

/// Authenticates a batch against `snapshot` in the order (registered and active, this
/// network, signature, freshness), on `threads` threads, using and filling the shared cache of
/// decompressed keys. The counters are the queue's to check ([`ReportQueue::accept`]).
fn authenticate(
    keys: &KeyCache,
    snapshot: &Snapshot,
    chain: &ChainInfo,
    reports: Vec<Vec<u8>>,
    now_ms: u64,
    threads: usize,
) -> Authenticated {
    let params = snapshot.reports_params().unwrap_or_default();
    let decoded: Vec<Result<DecodedReport, String>> =
        parallel::par_map(&reports, threads, |bytes| {
            DecodedReport::decode(bytes).map_err(|e| e.to_string())
        });
    // Each device is looked up once per batch (record and committed counter), in parallel.
    let distinct: Vec<DeviceId> = decoded
        .iter()
        .flatten()
        .map(|r| r.device)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let looked_up = parallel::par_map(&distinct, threads, |device| {
        let record = snapshot.device(device).ok().flatten();
        let committed = record
            .as_ref()
            .and_then(|_| snapshot.activity(device).ok())
            .and_then(|a| a.last_counter);
        (record, committed)
    });
    let devices: HashMap<DeviceId, (Option<DeviceRecord>, Option<u64>)> =
        distinct.into_iter().zip(looked_up).collect();
    let mut rejected = Vec::new();
    let mut items_to_check: Vec<Option<(DeviceId, &[u8], Signature)>> =
        Vec::with_capacity(reports.len());
    for (index, report) in decoded.iter().enumerate() {
        let key = match report {
            Err(reason) => {
                rejected.push(Refusal {
                    index,
                    reason: reason.clone(),
                });
                None
            }
            Ok(report) => match devices.get(&report.device).and_then(|(r, _)| r.as_ref()) {
                None => {
                    rejected.push(Refusal {
                        index,
                        reason: format!("unknown device {}: onboard it first", report.device),
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
                Some(record) => Some((record.id, report.body_bytes.as_slice(), report.signature)),
            },
        };
        items_to_check.push(key);
    }
    // This batch's devices' keys are copied out of the shared cache (signatures are then checked
    // without it, and an eviction meanwhile cannot lose a key); only devices not seen lately are
    // decompressed, in parallel, then remembered.
    let mut batch_keys: HashMap<DeviceId, PreparedKey> = HashMap::default();
    let mut missing = std::collections::BTreeMap::new();
    for (id, _, _) in items_to_check.iter().flatten() {
        if batch_keys.contains_key(id) || missing.contains_key(id) {
            continue;
        }
        match keys.get(id) {
            Some(key) => {
                batch_keys.insert(*id, key);
            }
            None => {
                if let Some(record) = devices.get(id).and_then(|(r, _)| r.as_ref()) {
                    missing.insert(*id, record.public_key);
                }
            }
        }
    }
    let missing: Vec<(DeviceId, groundwork_primitives::PublicKey)> = missing.into_iter().collect();
    let prepared = parallel::prepare_keys(&missing, threads);
    for (id, key) in &prepared {
        keys.insert(*id, key.clone());
    }
    batch_keys.extend(prepared);
    let authenticated: Vec<bool> = items_to_check.iter().map(Option::is_some).collect();
    let items: Vec<parallel::PreparedItem<'_>> =
        parallel::par_map(&items_to_check, threads, |item| {
            let (id, body, signature) = item.as_ref()?;
            Some((
                batch_keys.get(id)?,
                report_message(&chain.chain_id, body),
                *signature,
            ))
        });
    let signatures = parallel::verify_prepared(&items, threads);
    drop(items);
    let hashes: Vec<Hash> = parallel::par_map(&reports, threads, |bytes| sha256(bytes));
    let mut passed: Vec<Option<Passed>> = Vec::with_capacity(reports.len());
    for (index, report) in decoded.into_iter().enumerate() {
        let (Ok(report), true) = (report, authenticated[index]) else {
            passed.push(None);
            continue;
        };
        if !signatures[index] {
            rejected.push(Refusal {
                index,
                reason: "the signature does not match the device's key".into(),
            });
            passed.push(None);
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
            passed.push(None);
            continue;
        }
        passed.push(Some(Passed {
            device: report.device,
            counter: report.body.counter,
            hash: hashes[index],
            committed: devices.get(&report.device).and_then(|(_, c)| *c),
        }));
    }
    Authenticated {
        height: snapshot.tip().map_or(0, |tip| tip.height),
        reports,
        passed,
        rejected,
    }
}

impl ReportQueue {
    /// An empty queue holding at most `capacity` reports.
    pub fn new(capacity: usize) -> ReportQueue {
        ReportQueue {
            capacity,
            queue: VecDeque::new(),
            queued_counters: HashMap::default(),
            journal: None,
            next_seq: 1,
            keys: std::sync::Arc::new(KeyCache::new(KEYS_PER_GENERATION)),
            in_flight: BTreeMap::new(),
            reserved: 0,
            blocks_seen: 0,
            committed_height: 0,
        }
    }

    /// The queue journaled in `store`, refilled with what the journal holds: every report
    /// accepted before a crash or restart and not yet committed. Entries that no longer decode
    /// or that the chain has superseded (a counter at or below the device's committed one) are
    /// forgotten. Returns the queue and how many reports it restored.
    pub fn with_journal(
        capacity: usize,
        store: Store,
        snapshot: &Snapshot,
    ) -> Result<(ReportQueue, usize), StateError> {
        let mut queue = ReportQueue::new(capacity);
        let mut stale = Vec::new();
        for (seq, received_at_ms, bytes) in store.ingest_load()? {
            queue.next_seq = queue.next_seq.max(seq + 1);
            let Ok(report) = DecodedReport::decode(&bytes) else {
                stale.push(seq);
                continue;
            };
            let committed = snapshot
                .activity(&report.device)
                .ok()
                .and_then(|a| a.last_counter);
            if committed.is_some_and(|c| report.body.counter <= c) {
                stale.push(seq);
                continue;
            }
            let counter = queue
                .queued_counters
                .entry(report.device)
                .or_insert(report.body.counter);
            *counter = (*counter).max(report.body.counter);
            queue.queue.push_back(QueuedReport {
                hash: sha256(&bytes),
                device: report.device,
                counter: report.body.counter,
                received_at_ms,
                seq,
                bytes,
            });
        }
        store.ingest_forget(&stale)?;
        let restored = queue.queue.len();
        queue.journal = Some(store);
        Ok((queue, restored))
    }

    /// Reports waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Authenticates a batch against `snapshot` and queues what passes, all or nothing: checks,
    /// journals durably, then queues ([`ReportQueue::check`], [`Admission::save`],
    /// [`ReportQueue::enqueue`]) while holding `self` throughout. A queue shared by several
    /// workers uses [`admit_shared`], which journals without the lock.
    pub fn admit(
        &mut self,
        snapshot: &Snapshot,
        chain: &ChainInfo,
        reports: Vec<Vec<u8>>,
        now_ms: u64,
        threads: usize,
    ) -> Result<BatchOutcome, AdmitError> {
        let admission = self.check(snapshot, chain, reports, now_ms, threads)?;
        let saved = match &self.journal {
            Some(journal) => admission.save(journal),
            None => Ok(()),
        };
        self.settle(admission, saved)
    }

    /// Queues a checked batch once its journal write succeeded, or gives back what it held when
    /// the write failed (then nothing of it was accepted).
    fn settle(
        &mut self,
        admission: Admission,
        saved: Result<(), AdmitError>,
    ) -> Result<BatchOutcome, AdmitError> {
        match saved {
            Ok(()) => Ok(self.enqueue(admission)),
            Err(error) => {
                self.abandon(admission);
                Err(error)
            }
        }
    }

    /// Authenticates a batch against `snapshot`, all or nothing: what passes holds its room in
    /// the queue, its sequence numbers and its devices' counters (a later batch is checked
    /// against them), but is not queued until [`ReportQueue::enqueue`]. Refuses the whole batch
    /// with [`AdmitError::Full`] when the queue, with the batches in flight, cannot hold it.
    pub fn check(
        &mut self,
        snapshot: &Snapshot,
        chain: &ChainInfo,
        reports: Vec<Vec<u8>>,
        now_ms: u64,
        threads: usize,
    ) -> Result<Admission, AdmitError> {
        let authenticated = authenticate(&self.keys, snapshot, chain, reports, now_ms, threads);
        self.accept(authenticated, now_ms)
    }

    /// The queue's part of [`ReportQueue::check`] for a batch [`authenticate`]d beforehand:
    /// counters (above every counter committed, queued or earlier in the batch) and room.
    fn accept(
        &mut self,
        authenticated: Authenticated,
        now_ms: u64,
    ) -> Result<Admission, AdmitError> {
        let Authenticated {
            height,
            reports,
            passed,
            mut rejected,
        } = authenticated;
        // A block committed while the batch was authenticated (without the lock) may have
        // included some of its reports, and `after_block` has since forgotten their queued
        // counters: the batch's devices' committed counters are read again.
        let fresher: HashMap<DeviceId, Option<u64>> = match &self.journal {
            Some(store) if height < self.committed_height => match store.snapshot() {
                Ok(snapshot) => passed
                    .iter()
                    .flatten()
                    .map(|r| {
                        let committed = snapshot
                            .activity(&r.device)
                            .ok()
                            .and_then(|a| a.last_counter);
                        (r.device, committed)
                    })
                    .collect(),
                Err(error) => {
                    tracing::warn!(%error, "cannot read the committed counters again");
                    HashMap::default()
                }
            },
            _ => HashMap::default(),
        };
        let mut batch: Vec<QueuedReport> = Vec::new();
        let mut batch_counters: HashMap<DeviceId, u64> = HashMap::default();
        for ((index, passed), bytes) in passed.into_iter().enumerate().zip(reports) {
            let Some(report) = passed else {
                continue;
            };
            let committed = fresher
                .get(&report.device)
                .copied()
                .unwrap_or(report.committed);
            let highest = [
                committed,
                self.queued_counters.get(&report.device).copied(),
                batch_counters.get(&report.device).copied(),
            ]
            .into_iter()
            .flatten()
            .max();
            if let Some(highest) = highest
                && report.counter <= highest
            {
                rejected.push(Refusal {
                    index,
                    reason: format!(
                        "counter {} is not above {highest}: a duplicate or replay",
                        report.counter
                    ),
                });
                continue;
            }
            batch_counters.insert(report.device, report.counter);
            batch.push(QueuedReport {
                hash: report.hash,
                bytes,
                device: report.device,
                counter: report.counter,
                received_at_ms: now_ms,
                seq: 0,
            });
        }
        if self.queue.len() + self.reserved + batch.len() > self.capacity {
            return Err(QueueFull {
                queued: self.queue.len() + self.reserved,
                capacity: self.capacity,
                wanted: batch.len(),
            }
            .into());
        }
        let first_seq = self.next_seq;
        for report in &mut batch {
            report.seq = self.next_seq;
            self.next_seq += 1;
        }
        let accepted = batch.len();
        for (device, counter) in &batch_counters {
            let entry = self.queued_counters.entry(*device).or_insert(*counter);
            *entry = (*entry).max(*counter);
        }
        if accepted > 0 {
            self.reserved += accepted;
            self.in_flight.insert(
                first_seq,
                InFlight {
                    counters: batch_counters,
                    durable: None,
                    blocks_seen: self.blocks_seen,
                },
            );
        }
        rejected.sort_by_key(|r| r.index);
        Ok(Admission {
            batch,
            outcome: BatchOutcome { accepted, rejected },
        })
    }

    /// Queues a checked batch whose journal entries are durable (or that needs no journal) and
    /// returns what to tell the client. Batches join the queue in the order they were checked:
    /// one whose journaling finished first waits for the older ones (it is durable already, so
    /// nothing is lost meanwhile).
    pub fn enqueue(&mut self, admission: Admission) -> BatchOutcome {
        let Admission { batch, outcome } = admission;
        let Some(first) = batch.first().map(|r| r.seq) else {
            return outcome;
        };
        match self.in_flight.get_mut(&first) {
            Some(flight) => flight.durable = Some(batch),
            // Not checked by this queue (it never is in the node): queued as it is.
            None => self.queue.extend(batch),
        }
        self.drain_in_order();
        outcome
    }

    /// Gives back what a checked batch held (its journal write failed): its room in the queue,
    /// and the counters it raised, so its reports can be sent again.
    pub fn abandon(&mut self, admission: Admission) {
        let Some(first) = admission.batch.first().map(|r| r.seq) else {
            return;
        };
        let Some(flight) = self.in_flight.remove(&first) else {
            return;
        };
        self.reserved -= admission.batch.len();
        for device in flight.counters.keys() {
            let highest = self
                .queue
                .iter()
                .filter(|r| r.device == *device)
                .map(|r| r.counter)
                .chain(
                    self.in_flight
                        .values()
                        .filter_map(|f| f.counters.get(device).copied()),
                )
                .max();
            match highest {
                Some(counter) => {
                    self.queued_counters.insert(*device, counter);
                }
                None => {
                    self.queued_counters.remove(device);
                }
            }
        }
        // Its sequence numbers are simply never used.
        self.drain_in_order();
    }

    /// Moves durable batches at the front of the batches in flight into the queue (after an
    /// abandoned batch no longer holds them back).
    fn drain_in_order(&mut self) {
        while let Some(entry) = self.in_flight.first_entry() {
            if entry.get().durable.is_none() {
                break;
            }
            let flight = entry.remove();
            let mut reports = flight.durable.unwrap_or_default();
            self.reserved -= reports.len();
            if flight.blocks_seen != self.blocks_seen {
                reports = self.drop_superseded(reports);
            }
            self.queue.extend(reports);
        }
    }

    /// A batch checked before a block committed may hold reports that block included (shared
    /// by another validator meanwhile): those are dropped, and forgotten in the journal.
    fn drop_superseded(&self, reports: Vec<QueuedReport>) -> Vec<QueuedReport> {
        let Some(snapshot) = self.journal.as_ref().and_then(|j| j.snapshot().ok()) else {
            return reports;
        };
        let mut committed: HashMap<DeviceId, Option<u64>> = HashMap::default();
        let mut gone = Vec::new();
        let kept = reports
            .into_iter()
            .filter(|r| {
                let last = *committed.entry(r.device).or_insert_with(|| {
                    snapshot
                        .activity(&r.device)
                        .ok()
                        .and_then(|a| a.last_counter)
                });
                let keep = last.is_none_or(|c| r.counter > c);
                if !keep {
                    gone.push(r.seq);
                }
                keep
            })
            .collect();
        if let Some(journal) = &self.journal
            && let Err(error) = journal.ingest_forget(&gone)
        {
            tracing::warn!(%error, "could not forget superseded reports in the ingest journal");
        }
        kept
    }

    /// Takes up to `max` reports out of the queue, oldest first (for a driver that commits
    /// every block it builds; consensus uses [`ReportQueue::candidates`]).
    pub fn take(&mut self, max: usize) -> Vec<QueuedReport> {
        let n = max.min(self.queue.len());
        self.queue.drain(..n).collect()
    }

    /// Up to `max` reports for the next proposal, oldest first, left in the queue.
    pub fn candidates(&self, max: usize) -> Vec<Vec<u8>> {
        self.queue
            .iter()
            .take(max)
            .map(|r| r.bytes.clone())
            .collect()
    }

    /// After a block commits: drops the reports it included (by hash) and those the chain has
    /// made stale (a counter at or below the device's committed one), and forgets queued
    /// counters the chain now knows.
    pub fn after_block(&mut self, included: &[Hash], snapshot: &Snapshot) {
        self.blocks_seen += 1;
        if let Some(tip) = snapshot.tip() {
            self.committed_height = self.committed_height.max(tip.height);
        }
        let mut included: HashSet<Hash> = included.iter().copied().collect();
        let mut touched: HashSet<DeviceId> = HashSet::default();
        let mut gone: Vec<u64> = Vec::new();
        // Proposals take the oldest reports, so a block usually includes a prefix of the queue.
        while let Some(front) = self.queue.front() {
            if !included.remove(&front.hash) {
                break;
            }
            touched.insert(front.device);
            gone.push(front.seq);
            self.queue.pop_front();
        }
        if !included.is_empty() {
            self.queue.retain(|r| {
                let keep = !included.contains(&r.hash);
                if !keep {
                    touched.insert(r.device);
                    gone.push(r.seq);
                }
                keep
            });
        }
        let committed =
            |device: &DeviceId| snapshot.activity(device).ok().and_then(|a| a.last_counter);
        let counters: HashMap<DeviceId, u64> = touched
            .iter()
            .filter_map(|device| Some((*device, committed(device)?)))
            .collect();
        if !counters.is_empty() {
            self.queue.retain(|r| {
                let keep = counters.get(&r.device).is_none_or(|c| r.counter > *c);
                if !keep {
                    gone.push(r.seq);
                }
                keep
            });
        }
        self.queued_counters
            .retain(|device, counter| committed(device).is_none_or(|c| c < *counter));
        if let Some(journal) = &self.journal
            && let Err(error) = journal.ingest_forget(&gone)
        {
            // Harmless: a leftover entry is recognised as committed and forgotten on restart.
            tracing::warn!(%error, "could not forget committed reports in the ingest journal");
        }
    }
}
