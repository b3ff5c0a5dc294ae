//! Reports state, reached only through [`ReportsRead`] and [`ReportsWrite`].
//!
//! Report bodies are not state: they live in the blocks, with their verdicts in the block
//! results. State keeps only what later reports are checked against and what rewards need:
//! - `reports/agg/` ‖ device (20) → JSON [`DeviceActivity`]: last counter, last heartbeat and
//!   readings, and the current epoch's verdict counts
//! - `reports/epoch/` ‖ epoch (u64 BE) ‖ device (20) → JSON [`EpochCounts`] of a finished epoch
//! - `reports/beacon/` ‖ payload id (32) → JSON [`BeaconRecord`] while witnesses may arrive
//! - `reports/session/` ‖ device (20) ‖ payer (20) ‖ session (u64 BE) → empty (receipts used)
//! - `reports/params` → JSON [`ReportsParams`]

use std::collections::BTreeMap;

use groundwork_primitives::{Address, DeviceId};
use groundwork_state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::modules::reports::params::ReportsParams;

const AGG_PREFIX: &[u8] = b"reports/agg/";
const EPOCH_PREFIX: &[u8] = b"reports/epoch/";
const BEACON_PREFIX: &[u8] = b"reports/beacon/";
const SESSION_PREFIX: &[u8] = b"reports/session/";
const PARAMS_KEY: &[u8] = b"reports/params";

/// Valid and invalid reports of one device in one epoch, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochCounts {
    /// The epoch.
    pub epoch: u64,
    /// Valid heartbeats.
    pub heartbeats: u64,
    /// Valid beacons.
    pub beacons: u64,
    /// Witnesses of the device's beacons that were valid (summed when witnesses arrive).
    pub beacon_witnesses: u64,
    /// Valid witness reports the device made.
    pub witnesses: u64,
    /// Valid data transfer receipts.
    pub data_transfers: u64,
    /// Bytes carried in valid receipts.
    pub data_bytes: u64,
    /// Credits the payers of valid receipts spent (credits module): what the data transfer
    /// reward pool is shared by.
    #[serde(default)]
    pub credits_spent: u64,
    /// Valid sensor readings.
    pub sensor_readings: u64,
    /// Reports with an invalid verdict.
    pub invalid: u64,
    /// For each valid beacon the device sent in the epoch, in order: its valid witnesses, counted
    /// while the epoch was open (witnesses judged after the epoch closed are not added).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beacon_witness_counts: Vec<u32>,
    /// For each valid witness report the device made in the epoch, in order: the beacon's valid
    /// witnesses counted so far, this one included (what the chain knew when judging it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnessed_counts: Vec<u32>,
}

/// What later reports of a device are checked against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceActivity {
    /// The highest counter of an authenticated report.
    pub last_counter: Option<u64>,
    /// Time of the last valid heartbeat, ms.
    pub last_heartbeat_ms: Option<u64>,
    /// Last valid reading per measurement kind (wire enum value): (value in milli-units, time ms).
    pub last_readings: BTreeMap<i32, (i64, u64)>,
    /// The current epoch's counts.
    pub counts: EpochCounts,
}

/// A beacon witnesses may still refer to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconRecord {
    /// Who beaconed.
    pub beaconer: DeviceId,
    /// The beaconer's asserted cell.
    pub cell: u64,
    /// Frequency, Hz.
    pub frequency_hz: u64,
    /// Transmit power, tenths of dBm.
    pub tx_power_dbm_x10: i32,
    /// The beaconer's antenna gain, tenths of dBi.
    pub antenna_gain_dbi_x10: i32,
    /// The beaconer's elevation, metres.
    pub elevation_m: i32,
    /// The beacon's timestamp, ms.
    pub timestamp_ms: u64,
    /// The height of the block that carried it.
    pub height: u64,
    /// Valid witnesses so far.
    pub witnesses: u64,
    /// Arrival time of the first valid witness, ms.
    pub first_witness_ms: Option<u64>,
    /// The epoch the beacon was judged in and its position in the beaconer's
    /// [`EpochCounts::beacon_witness_counts`] of that epoch.
    #[serde(default)]
    pub epoch_slot: Option<(u64, u32)>,
}

fn decode<T: for<'de> Deserialize<'de>>(key: &[u8], bytes: &[u8]) -> AppResult<T> {
    serde_json::from_slice(bytes).map_err(|e| AppError::Corrupt {
        key: hex::encode(key),
        reason: e.to_string(),
    })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

fn agg_key(device: &DeviceId) -> Vec<u8> {
    [AGG_PREFIX, device.as_bytes()].concat()
}

fn epoch_key(epoch: u64, device: &DeviceId) -> Vec<u8> {
    [EPOCH_PREFIX, &epoch.to_be_bytes(), device.as_bytes()].concat()
}

fn beacon_key(payload: &[u8; 32]) -> Vec<u8> {
    [BEACON_PREFIX, payload].concat()
}

fn session_key(device: &DeviceId, payer: &Address, session: u64) -> Vec<u8> {
    [
        SESSION_PREFIX,
        device.as_bytes(),
        payer.as_bytes(),
        &session.to_be_bytes(),
    ]
    .concat()
}

/// Reading reports state.
pub trait ReportsRead: StateRead {
    /// A device's activity (empty before its first report).
    fn activity(&self, device: &DeviceId) -> AppResult<DeviceActivity> {
        let key = agg_key(device);
        match self.get(&key)? {
            Some(bytes) => decode(&key, &bytes),
            None => Ok(DeviceActivity::default()),
        }
    }

    /// A device's counts for a finished epoch.
    fn epoch_counts(&self, epoch: u64, device: &DeviceId) -> AppResult<Option<EpochCounts>> {
        let key = epoch_key(epoch, device);
        self.get(&key)?.map(|b| decode(&key, &b)).transpose()
    }

    /// Every device's counts for a finished epoch, in device order (at most `limit` after `after`).
    fn epoch_counts_page(
        &self,
        epoch: u64,
        after: Option<&DeviceId>,
        limit: usize,
    ) -> AppResult<Vec<(DeviceId, EpochCounts)>> {
        let prefix = [EPOCH_PREFIX, &epoch.to_be_bytes()].concat();
        let after = after.map(|d| epoch_key(epoch, d));
        self.scan_prefix(&prefix, after.as_deref(), limit)?
            .into_iter()
            .map(|(key, value)| {
                let device =
                    DeviceId::from_slice(&key[prefix.len()..]).map_err(|e| AppError::Corrupt {
                        key: hex::encode(&key),
                        reason: e.to_string(),
                    })?;
                Ok((device, decode(&key, &value)?))
            })
            .collect()
    }

    /// Every device's counts for a finished epoch, in device order, decoded on up to `threads`
    /// threads (rewards read a whole epoch at once).
    fn epoch_counts_all(
        &self,
        epoch: u64,
        threads: usize,
    ) -> AppResult<Vec<(DeviceId, EpochCounts)>>
    where
        Self: Sync,
    {
        let prefix = [EPOCH_PREFIX, &epoch.to_be_bytes()].concat();
        let mut raw: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        loop {
            let after = raw.last().map(|(key, _)| key.clone());
            let page = self.scan_prefix(&prefix, after.as_deref(), 16_384)?;
            if page.is_empty() {
                break;
            }
            raw.extend(page);
        }
        crate::parallel::par_map(&raw, threads, |(key, value)| {
            let device =
                DeviceId::from_slice(&key[prefix.len()..]).map_err(|e| AppError::Corrupt {
                    key: hex::encode(key),
                    reason: e.to_string(),
                })?;
            Ok((device, decode(key, value)?))
        })
        .into_iter()
        .collect()
    }

    /// A live beacon.
    fn beacon(&self, payload: &[u8; 32]) -> AppResult<Option<BeaconRecord>> {
        let key = beacon_key(payload);
        self.get(&key)?.map(|b| decode(&key, &b)).transpose()
    }

    /// Live beacons, oldest key first (for pruning).
    fn beacons(&self, limit: usize) -> AppResult<Vec<([u8; 32], BeaconRecord)>> {
        self.scan_prefix(BEACON_PREFIX, None, limit)?
            .into_iter()
            .map(|(key, value)| {
                let mut payload = [0u8; 32];
                payload.copy_from_slice(&key[BEACON_PREFIX.len()..]);
                Ok((payload, decode(&key, &value)?))
            })
            .collect()
    }

    /// Whether a data session receipt was already counted.
    fn session_used(&self, device: &DeviceId, payer: &Address, session: u64) -> AppResult<bool> {
        Ok(self.get(&session_key(device, payer, session))?.is_some())
    }

    /// The parameters.
    fn reports_params(&self) -> AppResult<ReportsParams> {
        match self.get(PARAMS_KEY)? {
            Some(bytes) => decode(PARAMS_KEY, &bytes),
            None => Ok(ReportsParams::default()),
        }
    }
}

impl<S: StateRead + ?Sized> ReportsRead for S {}

/// Changing reports state.
pub trait ReportsWrite: StateWrite + ReportsRead {
    /// Stores a device's activity.
    fn put_activity(&mut self, device: &DeviceId, activity: &DeviceActivity) {
        self.put(agg_key(device), encode(activity));
    }

    /// Stores a finished epoch's counts.
    fn put_epoch_counts(&mut self, device: &DeviceId, counts: &EpochCounts) {
        self.put(epoch_key(counts.epoch, device), encode(counts));
    }

    /// Stores a beacon.
    fn put_beacon(&mut self, payload: &[u8; 32], beacon: &BeaconRecord) {
        self.put(beacon_key(payload), encode(beacon));
    }

    /// Forgets a beacon.
    fn delete_beacon(&mut self, payload: &[u8; 32]) {
        self.delete(beacon_key(payload));
    }

    /// Marks a data session receipt as counted.
    fn use_session(&mut self, device: &DeviceId, payer: &Address, session: u64) {
        self.put(session_key(device, payer, session), Vec::new());
    }

    /// Stores the parameters.
    fn put_reports_params(&mut self, params: &ReportsParams) {
        self.put(PARAMS_KEY.to_vec(), encode(params));
    }
}

impl<S: StateWrite + ?Sized> ReportsWrite for S {}
