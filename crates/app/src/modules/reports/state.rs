//! Reports state, reached only through [`ReportsRead`] and [`ReportsWrite`].
//!
//! Report bodies are not state: they live in the blocks, with their verdicts in the block
//! results. State keeps only what later reports are checked against and what rewards need:
//! - `reports/agg/` ‖ device (20) → JSON [`DeviceActivity`]: last counter, last heartbeat and
//!   readings, and the current epoch's verdict counts
//! - `reports/epoch/` ‖ epoch (u64 BE) ‖ device (20) → [`EpochCounts`] of a finished epoch, in the
//!   compact binary form of [`EpochCounts::encode`] (rewards read a whole epoch of them at once)
//! - `reports/beacon/` ‖ payload id (32) → JSON [`BeaconRecord`] while witnesses may arrive
//! - `reports/session/` ‖ device (20) ‖ payer (20) ‖ session (u64 BE) → empty (receipts used)
//! - `reports/params` → JSON [`ReportsParams`]

use std::collections::BTreeMap;

use groundwork_primitives::{Address, DeviceId};
use groundwork_state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::codec::{DecodeError, Reader, Writer};
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

/// Version byte of the binary [`EpochCounts`].
const EPOCH_COUNTS_VERSION: u8 = 1;

impl EpochCounts {
    /// The state encoding: `u8(1)` ‖ varints `epoch`, `heartbeats`, `beacons`,
    /// `beacon_witnesses`, `witnesses`, `data_transfers`, `data_bytes`, `credits_spent`,
    /// `sensor_readings`, `invalid` ‖ varint n ‖ n varints `beacon_witness_counts` ‖ varint m ‖
    /// m varints `witnessed_counts` (varints in the shortest form, see [`crate::codec`]).
    /// A typical hotspot's counts take 20–40 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let lists = self.beacon_witness_counts.len() + self.witnessed_counts.len();
        let mut out = Writer::with_capacity(32 + 2 * lists);
        out.u8(EPOCH_COUNTS_VERSION);
        for value in [
            self.epoch,
            self.heartbeats,
            self.beacons,
            self.beacon_witnesses,
            self.witnesses,
            self.data_transfers,
            self.data_bytes,
            self.credits_spent,
            self.sensor_readings,
            self.invalid,
        ] {
            out.varint(u128::from(value));
        }
        for list in [&self.beacon_witness_counts, &self.witnessed_counts] {
            out.varint(list.len() as u128);
            for value in list {
                out.varint(u128::from(*value));
            }
        }
        out.finish()
    }

    /// Reads what [`EpochCounts::encode`] wrote; refuses every other byte string.
    pub fn decode(bytes: &[u8]) -> Result<EpochCounts, DecodeError> {
        let mut reader = Reader::new(bytes);
        match reader.u8()? {
            EPOCH_COUNTS_VERSION => {}
            other => return Err(DecodeError::UnknownVersion(other)),
        }
        let mut counts = EpochCounts {
            epoch: reader.varint_u64()?,
            heartbeats: reader.varint_u64()?,
            beacons: reader.varint_u64()?,
            beacon_witnesses: reader.varint_u64()?,
            witnesses: reader.varint_u64()?,
            data_transfers: reader.varint_u64()?,
            data_bytes: reader.varint_u64()?,
            credits_spent: reader.varint_u64()?,
            sensor_readings: reader.varint_u64()?,
            invalid: reader.varint_u64()?,
            ..EpochCounts::default()
        };
        for list in [
            &mut counts.beacon_witness_counts,
            &mut counts.witnessed_counts,
        ] {
            // `count` is at most the bytes left, so this allocation is bounded by the input.
            let n = reader.count()?;
            list.reserve_exact(n);
            for _ in 0..n {
                list.push(reader.varint_u32()?);
            }
        }
        reader.finish()?;
        Ok(counts)
    }
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

fn decode_counts(key: &[u8], bytes: &[u8]) -> AppResult<EpochCounts> {
    EpochCounts::decode(bytes).map_err(|e| AppError::Corrupt {
        key: hex::encode(key),
        reason: format!("epoch counts: {e}"),
    })
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
        self.get(&key)?.map(|b| decode_counts(&key, &b)).transpose()
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
                Ok((device, decode_counts(&key, &value)?))
            })
            .collect()
    }

    /// The counts of a finished epoch of the devices whose id starts with the byte `shard`, in
    /// device order. The 256 shards split an epoch's counts into disjoint ranges of keys, so a
    /// reader can take them in parallel and put them back together in shard order.
    fn epoch_counts_of_shard(
        &self,
        epoch: u64,
        shard: u8,
    ) -> AppResult<Vec<(DeviceId, EpochCounts)>> {
        const PAGE: usize = 4096;
        let prefix = [EPOCH_PREFIX, &epoch.to_be_bytes(), &[shard]].concat();
        let device_at = prefix.len() - 1;
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.scan_prefix(&prefix, after.as_deref(), PAGE)?;
            let full = page.len() == PAGE;
            for (key, value) in &page {
                let device =
                    DeviceId::from_slice(&key[device_at..]).map_err(|e| AppError::Corrupt {
                        key: hex::encode(key),
                        reason: e.to_string(),
                    })?;
                out.push((device, decode_counts(key, value)?));
            }
            // A short page is the last one.
            match page.into_iter().last() {
                Some((key, _)) if full => after = Some(key),
                _ => return Ok(out),
            }
        }
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
        self.put(epoch_key(counts.epoch, device), counts.encode());
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hotspot_counts() -> EpochCounts {
        EpochCounts {
            epoch: 3,
            heartbeats: 22,
            beacons: 2,
            beacon_witnesses: 9,
            witnesses: 3,
            data_transfers: 1,
            data_bytes: 200_000,
            credits_spent: 8_334,
            sensor_readings: 0,
            invalid: 1,
            beacon_witness_counts: vec![4, 5],
            witnessed_counts: vec![1, 300, 7],
        }
    }

    #[test]
    fn epoch_counts_have_a_fixed_byte_layout() {
        // Written out by hand from the layout in `EpochCounts::encode`'s docs.
        let expected = [
            0x01, // version
            0x03, 0x16, 0x02, 0x09, 0x03, 0x01, // epoch … data transfers
            0xc0, 0x9a, 0x0c, // 200,000 bytes
            0x8e, 0x41, // 8,334 credits
            0x00, 0x01, // readings, invalid
            0x02, 0x04, 0x05, // beacon witness counts
            0x03, 0x01, 0xac, 0x02, 0x07, // witnessed counts
        ];
        let counts = hotspot_counts();
        assert_eq!(counts.encode(), expected);
        assert_eq!(EpochCounts::decode(&expected), Ok(counts));
    }

    #[test]
    fn cut_padded_or_foreign_epoch_counts_are_refused() {
        let bytes = hotspot_counts().encode();
        for cut in 0..bytes.len() {
            assert!(EpochCounts::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert_eq!(
            EpochCounts::decode(&padded),
            Err(DecodeError::TrailingBytes(1))
        );
        let json = serde_json::to_vec(&hotspot_counts()).unwrap();
        assert_eq!(
            EpochCounts::decode(&json),
            Err(DecodeError::UnknownVersion(b'{'))
        );
        // A list announcing more entries than there are bytes allocates nothing.
        let mut huge = bytes[..14].to_vec();
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(EpochCounts::decode(&huge), Err(DecodeError::Truncated));
    }

    proptest! {
        #[test]
        fn epoch_counts_round_trip(
            fields in proptest::array::uniform10(any::<u64>()),
            beacons in proptest::collection::vec(any::<u32>(), 0..20),
            witnessed in proptest::collection::vec(any::<u32>(), 0..20),
        ) {
            let counts = EpochCounts {
                epoch: fields[0],
                heartbeats: fields[1],
                beacons: fields[2],
                beacon_witnesses: fields[3],
                witnesses: fields[4],
                data_transfers: fields[5],
                data_bytes: fields[6],
                credits_spent: fields[7],
                sensor_readings: fields[8],
                invalid: fields[9],
                beacon_witness_counts: beacons,
                witnessed_counts: witnessed,
            };
            prop_assert_eq!(EpochCounts::decode(&counts.encode()), Ok(counts));
        }

        #[test]
        fn a_changed_byte_either_is_refused_or_decodes_to_values_that_encode_to_it(
            position in 0usize..22,
            value: u8,
        ) {
            // Canonical: any byte string that decodes is the encoding of what it decodes to.
            let mut bytes = hotspot_counts().encode();
            bytes[position] = value;
            if let Ok(counts) = EpochCounts::decode(&bytes) {
                prop_assert_eq!(counts.encode(), bytes);
            }
        }
    }
}
