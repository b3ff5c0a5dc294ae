//! Devices state, reached only through [`DevicesRead`] and [`DevicesWrite`].
//!
//! Keys:
//! - `devices/d/` ‖ device id (20) → [`DeviceRecord`] in the fixed binary layout of
//!   [`DeviceRecord::encode`] (kept after decommissioning, so a key can never join twice)
//! - `devices/owner/` ‖ owner (20) ‖ device id (20) → empty (index for "devices of an owner")
//! - `devices/maker/` ‖ maker id (20) → JSON [`Maker`]
//! - `devices/params` → JSON [`DevicesParams`]

use groundwork_primitives::{Address, Amount, DeviceId, PublicKey};
use groundwork_state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::codec::{DecodeError, Reader, Writer};
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

/// Version byte of the binary [`DeviceRecord`].
const DEVICE_RECORD_VERSION: u8 = 1;
/// Where the owner starts in an encoded record, and where the location flag is.
const OWNER_AT: usize = 1;
const LOCATION_AT: usize = OWNER_AT + 20;
/// Bytes before the public key (the part with a fixed size).
const FIXED_PART: usize = LOCATION_AT + 9 + 2 + 20 + 4 + 4 + 4 + 8 + 16;

impl DeviceStatus {
    fn code(self) -> u8 {
        match self {
            DeviceStatus::Active => 1,
            DeviceStatus::Decommissioned => 2,
        }
    }

    fn from_code(code: u8) -> Option<DeviceStatus> {
        match code {
            1 => Some(DeviceStatus::Active),
            2 => Some(DeviceStatus::Decommissioned),
            _ => None,
        }
    }
}

/// Reads the location fields (flag ‖ u64 LE): only `0 ‖ 0u64` means "none", so the encoding
/// stays canonical.
fn read_location(reader: &mut Reader<'_>) -> Result<Option<u64>, DecodeError> {
    let flag = reader.u8()?;
    let cell = reader.u64_le()?;
    match (flag, cell) {
        (0, 0) => Ok(None),
        (1, cell) => Ok(Some(cell)),
        _ => Err(DecodeError::Invalid("location")),
    }
}

impl DeviceRecord {
    /// The state encoding, fixed little-endian fields (the id is in the key):
    ///
    /// | bytes | field |
    /// |---|---|
    /// | 1 | version, `1` |
    /// | 20 | owner |
    /// | 1 + 8 | location: `1` ‖ H3 cell (u64), or `0` ‖ eight zero bytes when none |
    /// | 1 | kind: the wire `DeviceKind` (1 hotspot … 5 meter) |
    /// | 1 | status: 1 active, 2 decommissioned |
    /// | 20 | maker |
    /// | 4 | location asserts (u32) |
    /// | 4 | antenna gain, tenths of dBi (i32) |
    /// | 4 | elevation, metres (i32) |
    /// | 8 | onboarded height (u64) |
    /// | 16 | stake, base units (u128) |
    /// | 1 + 32 or 33 | public key: `1` ‖ ed25519 key, or `2` ‖ compressed P-256 key |
    ///
    /// 121 bytes for an ed25519 device. Owner and location come first so that rewards read them
    /// without decoding the rest ([`DeviceRecord::owner_and_cell`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Writer::with_capacity(FIXED_PART + 34);
        out.u8(DEVICE_RECORD_VERSION);
        out.bytes(self.owner.as_bytes());
        match self.location {
            Some(cell) => {
                out.u8(1);
                out.u64_le(cell);
            }
            None => {
                out.u8(0);
                out.u64_le(0);
            }
        }
        // Wire values 1–5, so the conversion to a byte is exact.
        out.u8(self.kind.to_proto() as u8);
        out.u8(self.status.code());
        out.bytes(self.maker.as_bytes());
        out.u32_le(self.location_asserts);
        out.i32_le(self.antenna_gain_dbi_x10);
        out.i32_le(self.elevation_m);
        out.u64_le(self.onboarded_height);
        out.u128_le(self.stake.0);
        match &self.public_key {
            PublicKey::Ed25519(key) => {
                out.u8(1);
                out.bytes(key);
            }
            PublicKey::P256(key) => {
                out.u8(2);
                out.bytes(key);
            }
        }
        out.finish()
    }

    /// Reads what [`DeviceRecord::encode`] wrote for device `id`; refuses every other byte
    /// string. The key's bytes are taken as stored: the key was checked when the device joined,
    /// and only the app writes this key.
    pub fn decode(id: DeviceId, bytes: &[u8]) -> Result<DeviceRecord, DecodeError> {
        let mut reader = Reader::new(bytes);
        match reader.u8()? {
            DEVICE_RECORD_VERSION => {}
            other => return Err(DecodeError::UnknownVersion(other)),
        }
        let owner = Address(reader.array()?);
        let location = read_location(&mut reader)?;
        let kind = DeviceKind::from_proto(i32::from(reader.u8()?))
            .ok_or(DecodeError::Invalid("device kind"))?;
        let status =
            DeviceStatus::from_code(reader.u8()?).ok_or(DecodeError::Invalid("device status"))?;
        let maker = Address(reader.array()?);
        let location_asserts = reader.u32_le()?;
        let antenna_gain_dbi_x10 = reader.i32_le()?;
        let elevation_m = reader.i32_le()?;
        let onboarded_height = reader.u64_le()?;
        let stake = Amount(reader.u128_le()?);
        let public_key = match reader.u8()? {
            1 => PublicKey::Ed25519(reader.array()?),
            2 => PublicKey::P256(reader.array()?),
            _ => return Err(DecodeError::Invalid("public key type")),
        };
        reader.finish()?;
        Ok(DeviceRecord {
            id,
            public_key,
            owner,
            kind,
            maker,
            location,
            location_asserts,
            antenna_gain_dbi_x10,
            elevation_m,
            status,
            onboarded_height,
            stake,
        })
    }

    /// The owner and asserted cell of an encoded record, read from their fixed places without
    /// decoding the rest (what rewards need for every device at each epoch's end). Checks the
    /// version, the fields it reads and that the record is long enough to be one.
    pub fn owner_and_cell(bytes: &[u8]) -> Result<(Address, Option<u64>), DecodeError> {
        if bytes.len() < FIXED_PART + 1 + 32 {
            return Err(DecodeError::Truncated);
        }
        let mut reader = Reader::new(bytes);
        match reader.u8()? {
            DEVICE_RECORD_VERSION => {}
            other => return Err(DecodeError::UnknownVersion(other)),
        }
        let owner = Address(reader.array()?);
        Ok((owner, read_location(&mut reader)?))
    }
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

fn corrupt_record(key: &[u8], error: DecodeError) -> AppError {
    AppError::Corrupt {
        key: hex::encode(key),
        reason: format!("device record: {error}"),
    }
}

fn decode_record(key: &[u8], bytes: &[u8]) -> AppResult<DeviceRecord> {
    let id = key
        .strip_prefix(DEVICE_PREFIX)
        .and_then(|id| DeviceId::from_slice(id).ok())
        .ok_or_else(|| corrupt_record(key, DecodeError::Invalid("key")))?;
    DeviceRecord::decode(id, bytes).map_err(|e| corrupt_record(key, e))
}

/// A device's owner and asserted cell (an H3 index), as rewards read them.
pub type OwnerAndCell = (Address, Option<u64>);

/// Reading devices.
pub trait DevicesRead: StateRead {
    /// A device.
    fn device(&self, id: &DeviceId) -> AppResult<Option<DeviceRecord>> {
        let key = device_key(id);
        self.get(&key)?
            .map(|bytes| DeviceRecord::decode(*id, &bytes).map_err(|e| corrupt_record(&key, e)))
            .transpose()
    }

    /// A device's owner and asserted cell, without decoding the rest of its record: what
    /// rewards need for every paid device at each epoch's end.
    fn device_owner_and_cell(&self, id: &DeviceId) -> AppResult<Option<(Address, Option<u64>)>> {
        let key = device_key(id);
        self.get(&key)?
            .map(|bytes| DeviceRecord::owner_and_cell(&bytes).map_err(|e| corrupt_record(&key, e)))
            .transpose()
    }

    /// The owner and asserted cell of each of `ids` (sorted, distinct, all starting with the
    /// byte `shard`), in the same order; `None` for an id without a record. Reads the shard's
    /// records in key order, in pages sized to the ids still wanted, while most of what a page
    /// brings is wanted; once a page is mostly other devices, reads the rest one by one. The
    /// answer is the same either way (only the cost differs).
    fn owners_and_cells_of_shard(
        &self,
        shard: u8,
        ids: &[DeviceId],
    ) -> AppResult<Vec<Option<OwnerAndCell>>> {
        const MIN_PAGE: usize = 64;
        const MAX_PAGE: usize = 4096;
        let prefix = [DEVICE_PREFIX, &[shard]].concat();
        let mut out = Vec::with_capacity(ids.len());
        let mut wanted = ids.iter().peekable();
        let mut after: Option<Vec<u8>> = None;
        while wanted.peek().is_some() {
            let limit = (ids.len() - out.len())
                .saturating_mul(2)
                .clamp(MIN_PAGE, MAX_PAGE);
            let page = self.scan_prefix(&prefix, after.as_deref(), limit)?;
            let full = page.len() == limit;
            let mut matched = 0usize;
            for (key, value) in &page {
                let id = &key[DEVICE_PREFIX.len()..];
                while wanted.next_if(|w| w.as_bytes().as_slice() < id).is_some() {
                    out.push(None);
                }
                if wanted.next_if(|w| w.as_bytes().as_slice() == id).is_some() {
                    let found =
                        DeviceRecord::owner_and_cell(value).map_err(|e| corrupt_record(key, e))?;
                    out.push(Some(found));
                    matched += 1;
                }
            }
            if !full {
                // The shard has no more records: the ids still wanted have none.
                out.extend(wanted.map(|_| None));
                break;
            }
            after = page.into_iter().last().map(|(key, _)| key);
            if matched.saturating_mul(4) < limit {
                // Sparse: the rest by point reads.
                for id in wanted {
                    out.push(self.device_owner_and_cell(id)?);
                }
                break;
            }
        }
        Ok(out)
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
            .map(|(key, value)| decode_record(&key, &value))
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
        self.put(device_key(&record.id), record.encode());
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hotspot() -> DeviceRecord {
        DeviceRecord {
            id: DeviceId([9; 20]),
            public_key: PublicKey::Ed25519([0xee; 32]),
            owner: Address([0x11; 20]),
            kind: DeviceKind::Hotspot,
            maker: Address([0x22; 20]),
            location: Some(0x08c1_8d4c_a2b3_4fff),
            location_asserts: 2,
            antenna_gain_dbi_x10: -15,
            elevation_m: 340,
            status: DeviceStatus::Active,
            onboarded_height: 77,
            stake: Amount(5 * 10u128.pow(20)),
        }
    }

    #[test]
    fn a_device_record_has_a_fixed_byte_layout() {
        let record = hotspot();
        let bytes = record.encode();
        assert_eq!(bytes.len(), 121);
        assert_eq!(bytes[0], 1);
        assert_eq!(&bytes[1..21], &[0x11; 20]);
        assert_eq!(bytes[21], 1);
        assert_eq!(&bytes[22..30], &0x08c1_8d4c_a2b3_4fffu64.to_le_bytes());
        assert_eq!(&bytes[30..32], &[1, 1]);
        assert_eq!(&bytes[32..52], &[0x22; 20]);
        assert_eq!(&bytes[52..56], &[2, 0, 0, 0]);
        assert_eq!(&bytes[56..60], &[0xf1, 0xff, 0xff, 0xff]);
        assert_eq!(&bytes[60..64], &[0x54, 0x01, 0, 0]);
        assert_eq!(&bytes[64..72], &[77, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&bytes[72..88], &(5 * 10u128.pow(20)).to_le_bytes());
        assert_eq!(bytes[88], 1);
        assert_eq!(&bytes[89..], &[0xee; 32]);
        assert_eq!(DeviceRecord::decode(record.id, &bytes), Ok(record.clone()));
        assert_eq!(
            DeviceRecord::owner_and_cell(&bytes),
            Ok((record.owner, record.location))
        );
    }

    #[test]
    fn owners_and_cells_of_a_shard_match_point_reads_whether_dense_or_sparse() {
        use std::collections::BTreeMap;
        let base: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut state = groundwork_state::Overlay::new(&base);
        // Shard 7 holds 3,000 records (ids 7 ‖ i), shard 8 one; other shards are empty.
        let id_of = |shard: u8, i: u32| {
            let mut id = [0u8; 20];
            id[0] = shard;
            id[1..5].copy_from_slice(&i.to_be_bytes());
            DeviceId(id)
        };
        for i in 0..3_000u32 {
            if i % 5 == 3 {
                continue;
            }
            state.put_device(&DeviceRecord {
                id: id_of(7, i),
                owner: Address([(i % 251) as u8; 20]),
                location: (i % 3 != 0).then_some(0x08c1_8d4c_a2b3_4fff + u64::from(i)),
                ..hotspot()
            });
        }
        state.put_device(&DeviceRecord {
            id: id_of(8, 0),
            ..hotspot()
        });
        let cases: Vec<Vec<DeviceId>> = vec![
            // Every id, with and without records: pages while dense.
            (0..3_100).map(|i| id_of(7, i)).collect(),
            // Every other id: still dense enough to page.
            (0..3_000).step_by(2).map(|i| id_of(7, i)).collect(),
            // A few ids far apart: point reads after the first page.
            vec![
                id_of(7, 2),
                id_of(7, 1_500),
                id_of(7, 2_998),
                id_of(7, 5_000),
            ],
            // Ids past the shard's last record, and none at all.
            vec![id_of(7, 4_000), id_of(7, 4_001)],
            Vec::new(),
        ];
        for ids in cases {
            let expected: Vec<_> = ids
                .iter()
                .map(|id| state.device_owner_and_cell(id).unwrap())
                .collect();
            assert_eq!(state.owners_and_cells_of_shard(7, &ids).unwrap(), expected);
        }
        assert_eq!(
            state
                .owners_and_cells_of_shard(8, &[id_of(8, 0), id_of(8, 1)])
                .unwrap(),
            vec![Some((hotspot().owner, hotspot().location)), None]
        );
        assert_eq!(
            state.owners_and_cells_of_shard(9, &[id_of(9, 0)]).unwrap(),
            vec![None]
        );
    }

    #[test]
    fn a_p256_device_without_a_location_round_trips() {
        let record = DeviceRecord {
            public_key: PublicKey::P256([0x03; 33]),
            location: None,
            kind: DeviceKind::Meter,
            status: DeviceStatus::Decommissioned,
            ..hotspot()
        };
        let bytes = record.encode();
        assert_eq!(bytes.len(), 122);
        assert_eq!(DeviceRecord::decode(record.id, &bytes), Ok(record.clone()));
        assert_eq!(
            DeviceRecord::owner_and_cell(&bytes),
            Ok((record.owner, None))
        );
    }

    #[test]
    fn bad_device_records_are_refused() {
        let id = hotspot().id;
        let bytes = hotspot().encode();
        for cut in 0..bytes.len() {
            assert!(
                DeviceRecord::decode(id, &bytes[..cut]).is_err(),
                "cut {cut}"
            );
            assert!(
                DeviceRecord::owner_and_cell(&bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
        let changed = |at: usize, value: u8| {
            let mut bytes = bytes.clone();
            bytes[at] = value;
            DeviceRecord::decode(id, &bytes)
        };
        assert_eq!(changed(0, 2), Err(DecodeError::UnknownVersion(2)));
        assert_eq!(changed(21, 2), Err(DecodeError::Invalid("location")));
        assert_eq!(changed(30, 0), Err(DecodeError::Invalid("device kind")));
        assert_eq!(changed(31, 3), Err(DecodeError::Invalid("device status")));
        assert_eq!(changed(88, 3), Err(DecodeError::Invalid("public key type")));
        // "No location" with a cell left in is a second encoding of the same record: refused.
        let mut none_with_cell = bytes.clone();
        none_with_cell[21] = 0;
        assert_eq!(
            DeviceRecord::decode(id, &none_with_cell),
            Err(DecodeError::Invalid("location"))
        );
        assert_eq!(
            DeviceRecord::owner_and_cell(&none_with_cell),
            Err(DecodeError::Invalid("location"))
        );
        let mut padded = bytes.clone();
        padded.push(0);
        assert_eq!(
            DeviceRecord::decode(id, &padded),
            Err(DecodeError::TrailingBytes(1))
        );
        // A P-256 tag in front of an ed25519 key's 32 bytes runs out of bytes.
        assert_eq!(changed(88, 2), Err(DecodeError::Truncated));
        let json = serde_json::to_vec(&hotspot()).unwrap();
        assert_eq!(
            DeviceRecord::decode(id, &json),
            Err(DecodeError::UnknownVersion(b'{'))
        );
    }

    proptest! {
        #[test]
        fn a_changed_byte_either_is_refused_or_decodes_to_values_that_encode_to_it(
            position in 0usize..121,
            value: u8,
        ) {
            let mut bytes = hotspot().encode();
            bytes[position] = value;
            if let Ok(record) = DeviceRecord::decode(DeviceId([9; 20]), &bytes) {
                prop_assert_eq!(record.encode(), bytes.clone());
                prop_assert_eq!(
                    DeviceRecord::owner_and_cell(&bytes),
                    Ok((record.owner, record.location))
                );
            }
        }
    }
}
