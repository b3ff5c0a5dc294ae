//! Reports: proofs of physical work, signed by devices, each given a verdict.
//!
//! Reports ride in blocks after the transactions. Each is decoded (bounded, canonical), tied to
//! a registered active device, signature-checked with the device's key (batched), checked for
//! replay (strictly increasing counter) and freshness, then checked for its kind:
//! heartbeats for cadence; beacons for chain-randomness selection and radio sanity; witnesses
//! against the beacon they claim to have heard with radio physics; data transfer receipts for the
//! payer's countersignature and session reuse; sensor readings for plausible values and rates.
//!
//! Every report gets a verdict — valid, or invalid with a typed reason carrying the numbers —
//! kept in the block results and indexed by device, so an operator can always ask why. Report
//! bodies stay in blocks; state keeps per-device aggregates (counter, last readings, the epoch's
//! counts) and, at each epoch's end, a per-device summary that rewards are computed from.

pub mod events;
pub mod msgs;
pub mod params;
pub mod physics;
pub mod query;
pub mod sensors;
pub mod state;

use std::collections::BTreeMap;

use groundwork_primitives::{
    Address, DeviceId, Hash, PublicKey, Signature, domain, sha256, signed_message,
};
use groundwork_proto::v1::{self, report_body::Kind};
use groundwork_proto::{MAX_REPORT_BYTES, decode_bounded};
use groundwork_state::{StateRead, StateWrite};

use crate::chain::{self, ChainInfo};
use crate::error::AppResult;
use crate::modules::credits::params::CreditsParams;
use crate::modules::credits::state::{CreditsRead, CreditsWrite};
use crate::modules::devices::state::{DeviceKind, DeviceRecord, DeviceStatus, DevicesRead};
use crate::parallel;
use params::ReportsParams;
use state::{BeaconRecord, DeviceActivity, ReportsRead, ReportsWrite};

/// Why a report is invalid. The numeric [`ReportInvalid::code`] is part of the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportInvalid {
    /// Not a well-formed report.
    #[error("malformed report: {0}")]
    Malformed(String),
    /// No device has this id.
    #[error("unknown device {0}")]
    UnknownDevice(String),
    /// The device was decommissioned.
    #[error("device {0} is decommissioned")]
    Decommissioned(String),
    /// The signature does not verify with the device's key.
    #[error("the signature does not match the device's key")]
    BadSignature,
    /// The report names another chain.
    #[error("the report is for chain {0:?}")]
    WrongChain(String),
    /// The counter is not above the last one seen (a replay).
    #[error("counter {got} is not above the device's last counter {last}: a replay")]
    Replayed {
        /// The last counter seen.
        last: u64,
        /// The report's counter.
        got: u64,
    },
    /// Too old or too far in the future.
    #[error(
        "timestamp {timestamp_ms} is outside the accepted window around the block time {block_ms} (ms)"
    )]
    NotFresh {
        /// The report's time.
        timestamp_ms: u64,
        /// The block's time.
        block_ms: u64,
    },
    /// This kind of device cannot make this kind of report.
    #[error("a {device_kind} cannot send a {report_kind} report")]
    WrongDeviceKind {
        /// The device's kind.
        device_kind: &'static str,
        /// The report's kind.
        report_kind: &'static str,
    },
    /// Radio reports need an asserted location.
    #[error("the device has no asserted location")]
    NoLocation,
    /// The heartbeat came too soon after the previous one.
    #[error("heartbeat cadence: {0}")]
    Heartbeat(String),
    /// Chain randomness did not select this device to beacon.
    #[error("the device was not selected to beacon by the hash of block {entropy_height}")]
    NotSelected {
        /// The block whose hash was used.
        entropy_height: u64,
    },
    /// The beacon names a block outside the randomness window.
    #[error("beacon entropy from block {entropy_height} is outside the last {window} blocks")]
    EntropyOutOfWindow {
        /// The block named.
        entropy_height: u64,
        /// The window.
        window: u64,
    },
    /// The beacon itself is implausible.
    #[error("invalid beacon: {0}")]
    Beacon(String),
    /// The same beacon payload was reported already.
    #[error("a beacon with this payload id was already reported")]
    DuplicateBeacon,
    /// The witness refers to no live beacon.
    #[error("no live beacon with payload id {0}")]
    UnknownBeacon(String),
    /// The witness fails a physics check.
    #[error("invalid witness: {0}")]
    Witness(String),
    /// The data transfer receipt is invalid.
    #[error("invalid data transfer receipt: {0}")]
    DataTransfer(String),
    /// A sensor value is implausible.
    #[error("implausible sensor reading: {0}")]
    Sensor(String),
    /// The receipt's payer holds fewer credits than the bytes carried cost.
    #[error(
        "insufficient credits: payer {payer} holds {available} credits, the receipt costs {needed}"
    )]
    InsufficientCredits {
        /// The paying account.
        payer: String,
        /// Its credits.
        available: u64,
        /// What the bytes cost.
        needed: u64,
    },
}

impl ReportInvalid {
    /// The protocol's numeric code (0 means valid and is never used here).
    pub fn code(&self) -> u32 {
        match self {
            ReportInvalid::Malformed(_) => 1,
            ReportInvalid::UnknownDevice(_) => 2,
            ReportInvalid::Decommissioned(_) => 3,
            ReportInvalid::BadSignature => 4,
            ReportInvalid::WrongChain(_) => 5,
            ReportInvalid::Replayed { .. } => 6,
            ReportInvalid::NotFresh { .. } => 7,
            ReportInvalid::WrongDeviceKind { .. } => 8,
            ReportInvalid::NoLocation => 9,
            ReportInvalid::Heartbeat(_) => 10,
            ReportInvalid::NotSelected { .. } => 11,
            ReportInvalid::EntropyOutOfWindow { .. } => 12,
            ReportInvalid::Beacon(_) => 13,
            ReportInvalid::DuplicateBeacon => 14,
            ReportInvalid::UnknownBeacon(_) => 15,
            ReportInvalid::Witness(_) => 16,
            ReportInvalid::DataTransfer(_) => 17,
            ReportInvalid::Sensor(_) => 18,
            ReportInvalid::InsufficientCredits { .. } => 19,
        }
    }
}

/// A report decoded without state.
#[derive(Debug, Clone)]
pub struct DecodedReport {
    /// SHA-256 of the envelope bytes.
    pub hash: Hash,
    /// The device.
    pub device: DeviceId,
    /// The signature.
    pub signature: Signature,
    /// The signed body bytes.
    pub body_bytes: Vec<u8>,
    /// The body.
    pub body: v1::ReportBody,
}

impl DecodedReport {
    /// Decodes an envelope with limits, insisting on canonical encodings.
    pub fn decode(bytes: &[u8]) -> Result<DecodedReport, ReportInvalid> {
        let malformed = |e: String| ReportInvalid::Malformed(e);
        let envelope: v1::ReportEnvelope = decode_bounded("report", bytes, MAX_REPORT_BYTES)
            .map_err(|e| malformed(e.to_string()))?;
        if !groundwork_proto::encodes_to(&envelope, bytes) {
            return Err(malformed("the envelope is not canonically encoded".into()));
        }
        let device = DeviceId::from_slice(&envelope.device)
            .map_err(|e| malformed(format!("device: {e}")))?;
        let signature =
            Signature::from_slice(&envelope.signature).map_err(|e| malformed(e.to_string()))?;
        let body: v1::ReportBody = decode_bounded("report body", &envelope.body, MAX_REPORT_BYTES)
            .map_err(|e| malformed(e.to_string()))?;
        if !groundwork_proto::encodes_to(&body, &envelope.body) {
            return Err(malformed("the body is not canonically encoded".into()));
        }
        if body.kind.is_none() {
            return Err(malformed("the report has no kind".into()));
        }
        Ok(DecodedReport {
            hash: sha256(bytes),
            device,
            signature,
            body_bytes: envelope.body,
            body,
        })
    }

    /// The report's kind name.
    pub fn kind_name(&self) -> &'static str {
        kind_name(self.body.kind.as_ref())
    }
}

fn kind_name(kind: Option<&Kind>) -> &'static str {
    match kind {
        Some(Kind::Heartbeat(_)) => "heartbeat",
        Some(Kind::Beacon(_)) => "beacon",
        Some(Kind::Witness(_)) => "witness",
        Some(Kind::DataTransfer(_)) => "data_transfer",
        Some(Kind::Sensor(_)) => "sensor",
        None => "unknown",
    }
}

/// Whether the hash of a block selects `device` to beacon: the first 8 bytes of
/// SHA-256(block hash ‖ device id), big-endian, fall below `u64::MAX / interval`.
pub fn selected_to_beacon(block_hash: &Hash, device: &DeviceId, interval_blocks: u64) -> bool {
    let digest = sha256(&[block_hash.as_bytes().as_slice(), device.as_bytes()].concat());
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest.0[..8]);
    u64::from_be_bytes(head) < u64::MAX / interval_blocks.max(1)
}

/// The bytes a payer signs for a data transfer receipt.
pub fn data_receipt_message(
    chain_id: &str,
    device: &DeviceId,
    session: u64,
    bytes: u64,
) -> Vec<u8> {
    let body = [
        device.as_bytes().as_slice(),
        &session.to_be_bytes(),
        &bytes.to_be_bytes(),
    ]
    .concat();
    signed_message(domain::DATA_RECEIPT, chain_id, &body)
}

/// The bytes a device signs for a report.
pub fn report_message(chain_id: &str, body: &[u8]) -> Vec<u8> {
    signed_message(domain::DEVICE_REPORT, chain_id, body)
}

/// What processing a block's reports produced.
#[derive(Debug, Default)]
pub struct ProcessedReports {
    /// One result per report, in order.
    pub results: Vec<v1::ReportResult>,
    /// Report hashes, in order.
    pub hashes: Vec<Hash>,
}

/// Stores the parameters at genesis.
pub fn init_genesis(state: &mut impl ReportsWrite, params: &ReportsParams) {
    state.put_reports_params(params);
}

/// Runs every report of a block against the state and returns their verdicts.
pub fn process_reports<S>(
    state: &mut S,
    chain: &ChainInfo,
    height: u64,
    time_ms: u64,
    reports: &[Vec<u8>],
    threads: usize,
) -> AppResult<ProcessedReports>
where
    S: StateRead + StateWrite,
{
    let params = state.reports_params()?;
    let mut charge = CreditCharge {
        params: state.credits_params()?,
        spent_in_block: 0,
    };
    let decoded: Vec<Result<DecodedReport, ReportInvalid>> =
        parallel::par_map(reports, threads, |b| DecodedReport::decode(b));

    // Look every device up once.
    let mut devices: BTreeMap<DeviceId, Option<DeviceRecord>> = BTreeMap::new();
    for report in decoded.iter().flatten() {
        if let std::collections::btree_map::Entry::Vacant(entry) = devices.entry(report.device) {
            entry.insert(state.device(&report.device)?);
        }
    }
    // Each device's key is decompressed once per block, however many reports it sent.
    let known: Vec<(DeviceId, PublicKey)> = devices
        .iter()
        .filter_map(|(id, record)| record.as_ref().map(|r| (*id, r.public_key)))
        .collect();
    let keys = parallel::prepare_keys(&known, threads);
    let items: Vec<parallel::PreparedItem<'_>> = parallel::par_map(&decoded, threads, |r| {
        let report = r.as_ref().ok()?;
        let key = keys.get(&report.device)?;
        Some((
            key,
            report_message(&chain.chain_id, &report.body_bytes),
            report.signature,
        ))
    });
    let signatures_ok = parallel::verify_prepared(&items, threads);

    let epoch = params.epoch_of(height);
    let mut processed = ProcessedReports::default();
    let mut witnesses = Vec::new();
    // Beacons first, then everything else in order, witnesses last, so a witness and the beacon
    // it heard may travel in the same block.
    let order: Vec<usize> = (0..reports.len())
        .filter(|&i| {
            matches!(
                decoded[i].as_ref().ok().and_then(|r| r.body.kind.as_ref()),
                Some(Kind::Beacon(_))
            )
        })
        .chain((0..reports.len()).filter(|&i| {
            !matches!(
                decoded[i].as_ref().ok().and_then(|r| r.body.kind.as_ref()),
                Some(Kind::Beacon(_)) | Some(Kind::Witness(_))
            )
        }))
        .chain((0..reports.len()).filter(|&i| {
            let is_witness = matches!(
                decoded[i].as_ref().ok().and_then(|r| r.body.kind.as_ref()),
                Some(Kind::Witness(_))
            );
            if is_witness {
                witnesses.push(i);
            }
            is_witness
        }))
        .collect();
    let mut results: Vec<Option<v1::ReportResult>> = vec![None; reports.len()];
    let mut cache = ActivityCache::default();
    // Replays are decided in block order, whatever order the kinds are judged in below: each
    // device's authenticated reports must carry rising counters as they stand in the block.
    let mut replayed: Vec<Option<u64>> = vec![None; reports.len()];
    let mut highest: BTreeMap<DeviceId, Option<u64>> = BTreeMap::new();
    for (i, report) in decoded.iter().enumerate() {
        let Ok(report) = report else { continue };
        let authentic = signatures_ok[i]
            && report.body.chain_id == chain.chain_id
            && devices
                .get(&report.device)
                .and_then(Option::as_ref)
                .is_some_and(|d| d.status == DeviceStatus::Active);
        if !authentic {
            continue;
        }
        let last = match highest.entry(report.device) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                entry.insert(cache.get(state, &report.device, epoch)?.last_counter)
            }
        };
        match *last {
            Some(previous) if report.body.counter <= previous => replayed[i] = Some(previous),
            _ => *last = Some(report.body.counter),
        }
    }
    for i in order {
        let result = match &decoded[i] {
            Err(invalid) => result_for(None, 0, "unknown", Err(invalid.clone())),
            Ok(report) => {
                let record = devices.get(&report.device).and_then(Option::as_ref);
                let verdict = judge(
                    state,
                    &mut cache,
                    chain,
                    &params,
                    height,
                    time_ms,
                    epoch,
                    report,
                    record,
                    signatures_ok[i],
                    replayed[i],
                    &mut charge,
                )?;
                result_for(
                    Some(&report.device),
                    report.body.counter,
                    report.kind_name(),
                    verdict,
                )
            }
        };
        results[i] = Some(result);
    }
    cache.flush(state, epoch);
    state.record_credits_spent(charge.spent_in_block)?;
    for (i, bytes) in reports.iter().enumerate() {
        processed.hashes.push(
            decoded[i]
                .as_ref()
                .map(|r| r.hash)
                .unwrap_or_else(|_| sha256(bytes)),
        );
        processed
            .results
            .push(results[i].take().unwrap_or_default());
    }
    Ok(processed)
}

fn result_for(
    device: Option<&DeviceId>,
    counter: u64,
    kind: &str,
    verdict: Result<(), ReportInvalid>,
) -> v1::ReportResult {
    let (code, reason) = match verdict {
        Ok(()) => (0, String::new()),
        Err(invalid) => (invalid.code(), invalid.to_string()),
    };
    v1::ReportResult {
        device: device.map(|d| d.as_bytes().to_vec()).unwrap_or_default(),
        counter,
        kind: kind.to_string(),
        code,
        reason,
    }
}

/// Every device's activity touched in a block, loaded once and written once at the end of the
/// block's reports (a device sending many reports per block costs one read and one write).
#[derive(Default)]
struct ActivityCache {
    /// Each device's activity, and whether this block is its first in the epoch (so it must be
    /// marked active for the epoch's end).
    entries: BTreeMap<DeviceId, (DeviceActivity, bool)>,
}

impl ActivityCache {
    fn get<S: ReportsRead>(
        &mut self,
        state: &S,
        device: &DeviceId,
        epoch: u64,
    ) -> AppResult<&mut DeviceActivity> {
        if let std::collections::btree_map::Entry::Vacant(entry) = self.entries.entry(*device) {
            let mut activity = state.activity(device)?;
            // A device with nothing counted yet in this epoch starts the epoch here (every judged
            // report adds to some count), so it is marked for the epoch's end.
            let fresh = state::EpochCounts {
                epoch,
                ..Default::default()
            };
            let first_in_epoch = activity.counts.epoch != epoch || activity.counts == fresh;
            if activity.counts.epoch != epoch {
                activity.counts = state::EpochCounts {
                    epoch,
                    ..Default::default()
                };
            }
            entry.insert((activity, first_in_epoch));
        }
        self.entries
            .get_mut(device)
            .map(|(activity, _)| activity)
            .ok_or_else(|| crate::error::AppError::Corrupt {
                key: device.to_string(),
                reason: "activity cache".into(),
            })
    }

    fn flush<S: StateWrite>(self, state: &mut S, epoch: u64) {
        for (device, (activity, first_in_epoch)) in self.entries {
            if first_in_epoch {
                mark_active(state, epoch, &device);
            }
            state.put_activity(&device, &activity);
        }
    }
}

/// What data transfer costs, and the credits spent so far in the block (added to the credits
/// module's counters once, after the block's reports).
struct CreditCharge {
    params: CreditsParams,
    spent_in_block: u64,
}

/// Judges one decoded report and updates the device's activity.
#[allow(clippy::too_many_arguments)]
fn judge<S: StateRead + StateWrite>(
    state: &mut S,
    cache: &mut ActivityCache,
    chain: &ChainInfo,
    params: &ReportsParams,
    height: u64,
    time_ms: u64,
    epoch: u64,
    report: &DecodedReport,
    record: Option<&DeviceRecord>,
    signature_ok: bool,
    replayed_after: Option<u64>,
    charge: &mut CreditCharge,
) -> AppResult<Result<(), ReportInvalid>> {
    let Some(record) = record else {
        return Ok(Err(ReportInvalid::UnknownDevice(report.device.to_string())));
    };
    if record.status != DeviceStatus::Active {
        return Ok(Err(ReportInvalid::Decommissioned(
            report.device.to_string(),
        )));
    }
    if !signature_ok {
        return Ok(Err(ReportInvalid::BadSignature));
    }
    if report.body.chain_id != chain.chain_id {
        return Ok(Err(ReportInvalid::WrongChain(report.body.chain_id.clone())));
    }
    let activity = cache.get(state, &report.device, epoch)?;
    if let Some(last) = replayed_after {
        activity.counts.invalid += 1;
        return Ok(Err(ReportInvalid::Replayed {
            last,
            got: report.body.counter,
        }));
    }
    let mut credit_beaconer = None;
    let verdict = judge_fresh_report(
        state,
        chain,
        params,
        height,
        time_ms,
        report,
        record,
        activity,
        &mut credit_beaconer,
        charge,
    )?;
    activity.last_counter = activity.last_counter.max(Some(report.body.counter));
    if verdict.is_err() {
        activity.counts.invalid += 1;
    }
    if let Some((beaconer, slot)) = credit_beaconer {
        let counts = &mut cache.get(state, &beaconer, epoch)?.counts;
        counts.beacon_witnesses += 1;
        if let Some((slot_epoch, index)) = slot
            && slot_epoch == counts.epoch
            && let Some(count) = counts.beacon_witness_counts.get_mut(index as usize)
        {
            *count = count.saturating_add(1);
        }
    }
    Ok(verdict)
}

const ACTIVE_PREFIX: &[u8] = b"reports/active/";

fn mark_active<S: StateWrite>(state: &mut S, epoch: u64, device: &DeviceId) {
    state.put(
        [ACTIVE_PREFIX, &epoch.to_be_bytes(), device.as_bytes()].concat(),
        Vec::new(),
    );
}

#[allow(clippy::too_many_arguments)]
fn judge_fresh_report<S: StateRead + StateWrite>(
    state: &mut S,
    chain: &ChainInfo,
    params: &ReportsParams,
    height: u64,
    time_ms: u64,
    report: &DecodedReport,
    record: &DeviceRecord,
    activity: &mut DeviceActivity,
    credit_beaconer: &mut Option<(DeviceId, Option<(u64, u32)>)>,
    charge: &mut CreditCharge,
) -> AppResult<Result<(), ReportInvalid>> {
    let timestamp = report.body.timestamp_ms;
    if timestamp.saturating_add(params.max_report_age_ms) < time_ms
        || timestamp > time_ms.saturating_add(params.max_report_future_ms)
    {
        return Ok(Err(ReportInvalid::NotFresh {
            timestamp_ms: timestamp,
            block_ms: time_ms,
        }));
    }
    let wrong_kind = |report_kind: &'static str| ReportInvalid::WrongDeviceKind {
        device_kind: record.kind.name(),
        report_kind,
    };
    match report.body.kind.as_ref() {
        None => Ok(Err(ReportInvalid::Malformed("no kind".into()))),
        Some(Kind::Heartbeat(_)) => {
            if let Err(e) =
                sensors::check_heartbeat(activity.last_heartbeat_ms, timestamp, &params.heartbeat)
            {
                return Ok(Err(ReportInvalid::Heartbeat(e.to_string())));
            }
            activity.last_heartbeat_ms = Some(timestamp);
            activity.counts.heartbeats += 1;
            Ok(Ok(()))
        }
        Some(Kind::Beacon(beacon)) => {
            if record.kind != DeviceKind::Hotspot {
                return Ok(Err(wrong_kind("beacon")));
            }
            let Some(cell) = record.location else {
                return Ok(Err(ReportInvalid::NoLocation));
            };
            let window = params.beacon_window_blocks;
            if beacon.entropy_height >= height || beacon.entropy_height + window < height {
                return Ok(Err(ReportInvalid::EntropyOutOfWindow {
                    entropy_height: beacon.entropy_height,
                    window,
                }));
            }
            let Some(entropy) = chain::block_hash_at(state, beacon.entropy_height)? else {
                return Ok(Err(ReportInvalid::EntropyOutOfWindow {
                    entropy_height: beacon.entropy_height,
                    window,
                }));
            };
            if !selected_to_beacon(&entropy, &report.device, params.beacon_interval_blocks) {
                return Ok(Err(ReportInvalid::NotSelected {
                    entropy_height: beacon.entropy_height,
                }));
            }
            let Ok(payload) = <[u8; 32]>::try_from(beacon.payload_id.as_slice()) else {
                return Ok(Err(ReportInvalid::Malformed(
                    "payload_id must be 32 bytes".into(),
                )));
            };
            if state.beacon(&payload)?.is_some() {
                return Ok(Err(ReportInvalid::DuplicateBeacon));
            }
            let facts = physics::BeaconFacts {
                beaconer: *report.device.as_bytes(),
                cell,
                frequency_hz: beacon.frequency_hz,
                tx_power_dbm_x10: beacon.tx_power_dbm_x10,
                antenna_gain_dbi_x10: record.antenna_gain_dbi_x10,
                elevation_m: record.elevation_m,
                timestamp_ms: timestamp,
                payload_id: payload,
            };
            if let Err(e) = physics::check_beacon(&facts, &params.coverage) {
                return Ok(Err(ReportInvalid::Beacon(e.to_string())));
            }
            state.put_beacon(
                &payload,
                &BeaconRecord {
                    beaconer: report.device,
                    cell,
                    frequency_hz: beacon.frequency_hz,
                    tx_power_dbm_x10: beacon.tx_power_dbm_x10,
                    antenna_gain_dbi_x10: record.antenna_gain_dbi_x10,
                    elevation_m: record.elevation_m,
                    timestamp_ms: timestamp,
                    height,
                    witnesses: 0,
                    first_witness_ms: None,
                    epoch_slot: Some((
                        activity.counts.epoch,
                        activity.counts.beacon_witness_counts.len() as u32,
                    )),
                },
            );
            activity.counts.beacons += 1;
            activity.counts.beacon_witness_counts.push(0);
            Ok(Ok(()))
        }
        Some(Kind::Witness(witness)) => {
            if record.kind != DeviceKind::Hotspot {
                return Ok(Err(wrong_kind("witness")));
            }
            let Some(cell) = record.location else {
                return Ok(Err(ReportInvalid::NoLocation));
            };
            let Ok(payload) = <[u8; 32]>::try_from(witness.payload_id.as_slice()) else {
                return Ok(Err(ReportInvalid::Malformed(
                    "payload_id must be 32 bytes".into(),
                )));
            };
            let Some(mut beacon) = state.beacon(&payload)? else {
                return Ok(Err(ReportInvalid::UnknownBeacon(hex::encode(payload))));
            };
            let beacon_facts = physics::BeaconFacts {
                beaconer: *beacon.beaconer.as_bytes(),
                cell: beacon.cell,
                frequency_hz: beacon.frequency_hz,
                tx_power_dbm_x10: beacon.tx_power_dbm_x10,
                antenna_gain_dbi_x10: beacon.antenna_gain_dbi_x10,
                elevation_m: beacon.elevation_m,
                timestamp_ms: beacon.timestamp_ms,
                payload_id: payload,
            };
            let claimed_beaconer = DeviceId::from_slice(&witness.beaconer).ok();
            let witness_facts = physics::WitnessFacts {
                witness: *report.device.as_bytes(),
                cell,
                antenna_gain_dbi_x10: record.antenna_gain_dbi_x10,
                frequency_hz: witness.frequency_hz,
                rssi_dbm_x10: witness.rssi_dbm_x10,
                snr_db_x10: witness.snr_db_x10,
                received_at_ms: witness.received_at_ms,
                // A witness naming another beaconer than the payload's heard something else.
                payload_id: if claimed_beaconer == Some(beacon.beaconer) {
                    payload
                } else {
                    [0; 32]
                },
            };
            if let Err(e) = physics::check_witness(
                &beacon_facts,
                &witness_facts,
                beacon.first_witness_ms,
                beacon.witnesses as usize,
                &params.coverage,
            ) {
                return Ok(Err(ReportInvalid::Witness(e.to_string())));
            }
            beacon.witnesses += 1;
            beacon.first_witness_ms = Some(
                beacon
                    .first_witness_ms
                    .map_or(witness.received_at_ms, |f| f.min(witness.received_at_ms)),
            );
            state.put_beacon(&payload, &beacon);
            // The beaconer's epoch counts get the witness too.
            *credit_beaconer = Some((beacon.beaconer, beacon.epoch_slot));
            activity.counts.witnesses += 1;
            activity
                .counts
                .witnessed_counts
                .push(u32::try_from(beacon.witnesses).unwrap_or(u32::MAX));
            Ok(Ok(()))
        }
        Some(Kind::DataTransfer(receipt)) => {
            if !matches!(
                record.kind,
                DeviceKind::Hotspot | DeviceKind::Storage | DeviceKind::Compute
            ) {
                return Ok(Err(wrong_kind("data_transfer")));
            }
            use v1::public_key::Key;
            let payer_key = match receipt.payer_key.as_ref().and_then(|k| k.key.as_ref()) {
                Some(Key::Ed25519(b)) => PublicKey::ed25519(b),
                Some(Key::P256(b)) => PublicKey::p256(b),
                None => {
                    return Ok(Err(ReportInvalid::DataTransfer(
                        "payer_key is missing".into(),
                    )));
                }
            };
            let payer_key = match payer_key {
                Ok(key) => key,
                Err(e) => return Ok(Err(ReportInvalid::DataTransfer(format!("payer_key: {e}")))),
            };
            if receipt.bytes == 0 {
                return Ok(Err(ReportInvalid::DataTransfer(
                    "a receipt carries more than zero bytes".into(),
                )));
            }
            let Ok(signature) = Signature::from_slice(&receipt.payer_signature) else {
                return Ok(Err(ReportInvalid::DataTransfer(
                    "payer_signature must be 64 bytes".into(),
                )));
            };
            let message = data_receipt_message(
                &chain.chain_id,
                &report.device,
                receipt.session,
                receipt.bytes,
            );
            if payer_key.verify_message(&message, &signature).is_err() {
                return Ok(Err(ReportInvalid::DataTransfer(
                    "the payer's signature does not verify".into(),
                )));
            }
            let payer = Address::from_public_key(&payer_key);
            if state.session_used(&report.device, &payer, receipt.session)? {
                return Ok(Err(ReportInvalid::DataTransfer(format!(
                    "session {} with this payer was already counted",
                    receipt.session
                ))));
            }
            // The payer's credits pay for the bytes carried (credits module); without enough,
            // the receipt is invalid and nothing is spent or counted.
            let Some(cost) = charge.params.credits_for_bytes(receipt.bytes) else {
                return Ok(Err(ReportInvalid::DataTransfer(format!(
                    "{} bytes cost more credits than a balance holds",
                    receipt.bytes
                ))));
            };
            if cost > 0 {
                if let Err(short) = state.spend_credits(&payer, cost)? {
                    return Ok(Err(ReportInvalid::InsufficientCredits {
                        payer: payer.to_string(),
                        available: short.available,
                        needed: short.needed,
                    }));
                }
                charge.spent_in_block = charge.spent_in_block.saturating_add(cost);
                activity.counts.credits_spent = activity.counts.credits_spent.saturating_add(cost);
            }
            state.use_session(&report.device, &payer, receipt.session);
            activity.counts.data_transfers += 1;
            activity.counts.data_bytes = activity.counts.data_bytes.saturating_add(receipt.bytes);
            Ok(Ok(()))
        }
        Some(Kind::Sensor(reading)) => {
            if !matches!(record.kind, DeviceKind::Sensor | DeviceKind::Meter) {
                return Ok(Err(wrong_kind("sensor")));
            }
            if reading.measurements.is_empty() || reading.measurements.len() > 32 {
                return Ok(Err(ReportInvalid::Sensor(
                    "a reading holds 1 to 32 measurements".into(),
                )));
            }
            let mut updates = Vec::new();
            for measurement in &reading.measurements {
                let Some(kind) = measurement_kind(measurement.kind) else {
                    return Ok(Err(ReportInvalid::Sensor(format!(
                        "unknown measurement kind {}",
                        measurement.kind
                    ))));
                };
                let previous = activity.last_readings.get(&measurement.kind).map(
                    |&(value_milli, timestamp_ms)| sensors::Reading {
                        value_milli,
                        timestamp_ms,
                    },
                );
                let current = sensors::Reading {
                    value_milli: measurement.value_milli,
                    timestamp_ms: timestamp,
                };
                if let Err(e) = sensors::check_reading(previous, current, kind, &params.sensors) {
                    return Ok(Err(ReportInvalid::Sensor(e.to_string())));
                }
                updates.push((measurement.kind, (measurement.value_milli, timestamp)));
            }
            activity.last_readings.extend(updates);
            activity.counts.sensor_readings += 1;
            Ok(Ok(()))
        }
    }
}

/// The checks' measurement kind for a wire `MeasurementKind` value.
pub fn measurement_kind(value: i32) -> Option<sensors::MeasurementKind> {
    use sensors::MeasurementKind as K;
    Some(match v1::MeasurementKind::try_from(value).ok()? {
        v1::MeasurementKind::Unspecified => return None,
        v1::MeasurementKind::TemperatureC => K::TemperatureMilliCelsius,
        v1::MeasurementKind::HumidityPercent => K::RelativeHumidityMilliPercent,
        v1::MeasurementKind::Pm25UgM3 => K::Pm2_5NanogramsPerCubicMetre,
        v1::MeasurementKind::Pm10UgM3 => K::Pm10NanogramsPerCubicMetre,
        v1::MeasurementKind::Co2Ppm => K::Co2MilliPpm,
        v1::MeasurementKind::PressureHpa => K::PressureMilliHectopascal,
        v1::MeasurementKind::NoiseDba => K::NoiseMilliDecibelA,
        v1::MeasurementKind::EnergyWh => K::EnergyMilliWattHours,
    })
}

/// End of block: closes the epoch when this is its last block (every device that reported gets
/// its counts saved for the epoch), and forgets beacons too old to be witnessed.
pub fn end_block<S: StateRead + StateWrite>(state: &mut S, height: u64) -> AppResult<()> {
    let params = state.reports_params()?;
    if (height + 1).is_multiple_of(params.epoch_blocks.max(1)) {
        let epoch = params.epoch_of(height);
        let prefix = [ACTIVE_PREFIX, &epoch.to_be_bytes()].concat();
        // Paged from the last key seen: restarting at the prefix would walk past every key
        // deleted so far on each page (quadratic in the number of reporting devices).
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = state.scan_prefix(&prefix, after.as_deref(), 1024)?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = Some(last.clone());
            for (key, _) in page {
                if let Ok(device) = DeviceId::from_slice(&key[prefix.len()..]) {
                    let mut activity = state.activity(&device)?;
                    if activity.counts.epoch == epoch {
                        state.put_epoch_counts(&device, &activity.counts);
                        activity.counts = state::EpochCounts {
                            epoch: epoch + 1,
                            ..Default::default()
                        };
                        state.put_activity(&device, &activity);
                    }
                }
                state.delete(key);
            }
        }
    }
    let keep = params.beacon_window_blocks + 10;
    let mut stale = Vec::new();
    for (payload, beacon) in state.beacons(100_000)? {
        if beacon.height + keep < height {
            stale.push(payload);
        }
    }
    for payload in stale {
        state.delete_beacon(&payload);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_proto::Message as _;

    fn envelope(body: Vec<u8>) -> Vec<u8> {
        v1::ReportEnvelope {
            body,
            device: vec![7; 20],
            signature: vec![9; 64],
        }
        .encode_to_vec()
    }

    fn refusal(bytes: &[u8]) -> String {
        match DecodedReport::decode(bytes) {
            Err(ReportInvalid::Malformed(reason)) => reason,
            other => panic!("expected a malformed verdict, got {other:?}"),
        }
    }

    /// A relayer must not be able to re-encode a report (padding, unknown fields) and so change
    /// its hash while its signature stays valid: both the envelope and the signed body must be
    /// exactly their canonical encodings.
    #[test]
    fn a_re_encoded_report_envelope_or_body_is_refused() {
        let body = v1::ReportBody {
            chain_id: "c".into(),
            counter: 1,
            ..Default::default()
        }
        .encode_to_vec();
        // Canonical throughout: the decoder gets past both checks to the missing kind.
        assert_eq!(refusal(&envelope(body.clone())), "the report has no kind");
        // An unknown field 15 appended to the envelope.
        let mut padded = envelope(body.clone());
        padded.extend_from_slice(&[0x78, 0x01]);
        assert_eq!(refusal(&padded), "the envelope is not canonically encoded");
        // The same inside the signed body.
        let mut padded_body = body;
        padded_body.extend_from_slice(&[0x78, 0x01]);
        assert_eq!(
            refusal(&envelope(padded_body)),
            "the body is not canonically encoded"
        );
    }
}
