//! Devices state, reached only through [`DevicesRead`] and [`DevicesWrite`].
//!
//! Keys:
//! - `devices/d/` ‖ device id (20) → JSON [`DeviceRecord`] (kept after decommissioning, so a key
//!   can never join twice)
//! - `devices/owner/` ‖ owner (20) ‖ device id (20) → empty (index for "devices of an owner")
//! - `devices/maker/` ‖ maker id (20) → JSON [`Maker`]
//! - `devices/params` → JSON [`DevicesParams`]

use groundwork_primitives::{Address, Amount, DeviceId, PublicKey};
use groundwork_state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::modules::devices::params::DevicesParams;

const DEVICE_PREFIX: &[u8] = b"devices/d/";
const OWNER_PREFIX: &[u8] = b"devices/owner/";
const MAKER_PREFIX: &[u8] = b"devices/maker/";
const PARAMS_KEY: &[u8] = b"devices/params";

/// What a device does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// A radio hotspot: beacons, witnesses, carries data.
    Hotspot,
    /// An environmental sensor.
    Sensor,
    /// A storage provider's disk.
    Storage,
    /// A compute node.
    Compute,
    /// An energy meter.
    Meter,
}

impl DeviceKind {
    /// From the wire enum.
    pub fn from_proto(value: i32) -> Option<DeviceKind> {
        match value {
            1 => Some(DeviceKind::Hotspot),
            2 => Some(DeviceKind::Sensor),
            3 => Some(DeviceKind::Storage),
            4 => Some(DeviceKind::Compute),
            5 => Some(DeviceKind::Meter),
            _ => None,
        }
    }

    /// The wire enum value (also the byte in the maker's attestation).
    pub fn to_proto(self) -> i32 {
        match self {
            DeviceKind::Hotspot => 1,
            DeviceKind::Sensor => 2,
            DeviceKind::Storage => 3,
            DeviceKind::Compute => 4,
            DeviceKind::Meter => 5,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Hotspot => "hotspot",
            DeviceKind::Sensor => "sensor",
            DeviceKind::Storage => "storage",
            DeviceKind::Compute => "compute",
            DeviceKind::Meter => "meter",
        }
    }

    /// Parses a name.
    pub fn parse(name: &str) -> Option<DeviceKind> {
        [
            DeviceKind::Hotspot,
            DeviceKind::Sensor,
            DeviceKind::Storage,
            DeviceKind::Compute,
            DeviceKind::Meter,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// Whether a device takes part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Onboarded and reporting.
    Active,
    /// Retired for good.
    Decommissioned,
}

/// Everything the chain knows about a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// Its id.
    pub id: DeviceId,
    /// Its key.
    pub public_key: PublicKey,
    /// Its owner.
    pub owner: Address,
    /// What it is.
    pub kind: DeviceKind,
    /// Who built it.
    pub maker: Address,
    /// Where it is (H3 cell), once asserted.
    pub location: Option<u64>,
    /// How many times its location was asserted.
    pub location_asserts: u32,
    /// Antenna gain, tenths of dBi.
    pub antenna_gain_dbi_x10: i32,
    /// Antenna elevation, metres.
    pub elevation_m: i32,
    /// Active or decommissioned.
    pub status: DeviceStatus,
    /// The height it joined at.
    pub onboarded_height: u64,
    /// Stake bonded to it now.
    pub stake: Amount,
}

/// A hardware maker allowed to attest device keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maker {
    /// Its id: the address of its attestation key.
    pub id: Address,
    /// Its name.
    pub name: String,
    /// Its attestation key.
    pub public_key: PublicKey,
    /// Onboardings it may still attest.
    pub allowance: u64,
    /// Devices onboarded with its attestation.
    pub onboarded: u64,
}

fn device_key(id: &DeviceId) -> Vec<u8> {
    [DEVICE_PREFIX, id.as_bytes()].concat()
}

fn owner_index_key(owner: &Address, id: &DeviceId) -> Vec<u8> {
    [OWNER_PREFIX, owner.as_bytes(), id.as_bytes()].concat()
}

fn maker_key(id: &Address) -> Vec<u8> {
    [MAKER_PREFIX, id.as_bytes()].concat()
}

fn decode<T: for<'de> Deserialize<'de>>(key: &[u8], bytes: &[u8]) -> AppResult<T> {
    serde_json::from_slice(bytes).map_err(|e| AppError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Reading devices.
pub trait DevicesRead: StateRead {
    /// A device.
    fn device(&self, id: &DeviceId) -> AppResult<Option<DeviceRecord>> {
        let key = device_key(id);
        self.get(&key)?
            .map(|bytes| decode(&key, &bytes))
            .transpose()
    }

    /// A device's owner and asserted cell, without decoding (and decompressing) its key: what
    /// rewards need for every paid device at each epoch's end.
    fn device_owner_and_cell(&self, id: &DeviceId) -> AppResult<Option<(Address, Option<u64>)>> {
        /// The fields of a stored [`DeviceRecord`] that rewards read; the rest are skipped.
        #[derive(Deserialize)]
        struct OwnerAndCell {
            owner: Address,
            location: Option<u64>,
        }
        let key = device_key(id);
        self.get(&key)?
            .map(|bytes| decode::<OwnerAndCell>(&key, &bytes).map(|d| (d.owner, d.location)))
            .transpose()
    }

    /// A maker.
    fn maker(&self, id: &Address) -> AppResult<Option<Maker>> {
        let key = maker_key(id);
        self.get(&key)?
            .map(|bytes| decode(&key, &bytes))
            .transpose()
    }

    /// The parameters.
    fn devices_params(&self) -> AppResult<DevicesParams> {
        match self.get(PARAMS_KEY)? {
            Some(bytes) => decode(PARAMS_KEY, &bytes),
            None => Ok(DevicesParams::default()),
        }
    }

    /// Up to `limit` devices in id order after `after`.
    fn devices_page(&self, after: Option<&DeviceId>, limit: usize) -> AppResult<Vec<DeviceRecord>> {
        let after = after.map(device_key);
        self.scan_prefix(DEVICE_PREFIX, after.as_deref(), limit)?
            .into_iter()
            .map(|(key, value)| decode(&key, &value))
            .collect()
    }

    /// Up to `limit` device ids of `owner` after `after`.
    fn devices_of_owner(
        &self,
        owner: &Address,
        after: Option<&DeviceId>,
        limit: usize,
    ) -> AppResult<Vec<DeviceId>> {
        let prefix = [OWNER_PREFIX, owner.as_bytes()].concat();
        let after = after.map(|id| owner_index_key(owner, id));
        self.scan_prefix(&prefix, after.as_deref(), limit)?
            .into_iter()
            .map(|(key, _)| {
                DeviceId::from_slice(&key[prefix.len()..]).map_err(|e| AppError::Corrupt {
                    key: hex::encode(&key),
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    /// Every maker.
    fn makers(&self) -> AppResult<Vec<Maker>> {
        self.scan_prefix(MAKER_PREFIX, None, 10_000)?
            .into_iter()
            .map(|(k, v)| decode(&k, &v))
            .collect()
    }
}

impl<S: StateRead + ?Sized> DevicesRead for S {}

/// Changing devices.
pub trait DevicesWrite: StateWrite + DevicesRead {
    /// Stores a device (and its owner index entry).
    fn put_device(&mut self, record: &DeviceRecord) {
        self.put(device_key(&record.id), encode(record));
        self.put(owner_index_key(&record.owner, &record.id), Vec::new());
    }

    /// Moves a device's owner index entry.
    fn reindex_owner(&mut self, id: &DeviceId, old: &Address, new: &Address) {
        self.delete(owner_index_key(old, id));
        self.put(owner_index_key(new, id), Vec::new());
    }

    /// Stores a maker.
    fn put_maker(&mut self, maker: &Maker) {
        self.put(maker_key(&maker.id), encode(maker));
    }

    /// Stores the parameters.
    fn put_devices_params(&mut self, params: &DevicesParams) {
        self.put(PARAMS_KEY.to_vec(), encode(params));
    }
}

impl<S: StateWrite + ?Sized> DevicesWrite for S {}
