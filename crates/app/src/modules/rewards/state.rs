//! Rewards state, reached only through [`RewardsRead`] and [`RewardsWrite`], and the derived
//! per-device breakdown records.
//!
//! Authenticated state (keys built only here):
//! - `rewards/params` → JSON [`RewardsParams`]
//! - `rewards/carry` → u128 BE: base units carried over to the next epoch (not yet minted)
//! - `rewards/latest` → u64 BE: the last epoch whose rewards were paid
//! - `rewards/epoch/` ‖ epoch (u64 BE) → JSON [`EpochSummary`]
//! - `rewards/reputation/` ‖ device (20) → α ‖ β (two u128 BE, 18-decimal fixed point): only
//!   for devices whose audit score differs from a fresh device's (a spotless history never
//!   writes a key)
//!
//! Derived records (the block store's `records` table, written with the epoch's last block,
//! never part of the state root; see docs/architecture.md):
//! - `w/` ‖ device (20) ‖ epoch (u64 BE) → [`DeviceRewards`] in the compact binary form of
//!   [`DeviceRewards::encode`]

use groundwork_primitives::{Address, Amount, DeviceId};
use groundwork_state::{StateRead, StateWrite};
use groundwork_tokenomics::{AuditScore, Fixed, Ineligibility, ProofKind};
use serde::{Deserialize, Serialize};

use crate::codec::{Reader, Writer};
use crate::error::{AppError, AppResult};
use crate::modules::rewards::params::RewardsParams;

const PARAMS_KEY: &[u8] = b"rewards/params";
const CARRY_KEY: &[u8] = b"rewards/carry";
const LATEST_KEY: &[u8] = b"rewards/latest";
const EPOCH_PREFIX: &[u8] = b"rewards/epoch/";
const REPUTATION_PREFIX: &[u8] = b"rewards/reputation/";
/// Prefix of the derived per-device breakdown records.
pub const BREAKDOWN_PREFIX: &[u8] = b"w/";

/// One pool's part of an epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSummary {
    /// The proof kind the pool pays for.
    pub kind: ProofKind,
    /// Its share of the epoch's funds.
    pub amount: Amount,
    /// Paid to devices.
    pub paid: Amount,
    /// Devices that took part (eligible or not).
    pub participants: u64,
    /// Devices paid more than zero.
    pub paid_devices: u64,
    /// Sum of the participants' weights (18-decimal fixed point, raw): a device's share is its
    /// weight over this.
    pub total_weight: Amount,
    /// What nobody qualified for (the whole pool when the total weight is zero), routed by
    /// `pools.unclaimed`.
    pub unclaimed: Amount,
    /// Rounding dust of the pool's shares, routed by `pools.rounding`.
    pub rounding: Amount,
}

/// What one epoch's rewards did, kept in state for every epoch.
///
/// The books: `emission + carried_in = paid + to_treasury + burned + carry_out`, and
/// `minted = paid + to_treasury` (carried and burned amounts are never minted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochSummary {
    /// The epoch.
    pub epoch: u64,
    /// Its first and last block heights (rewards are paid in the last).
    pub heights: (u64, u64),
    /// The schedule's emission for the epoch.
    pub emission: Amount,
    /// Carried over from the previous epoch.
    pub carried_in: Amount,
    /// Each pool, in the parameters' order.
    pub pools: Vec<PoolSummary>,
    /// Dust of splitting the funds into pools, routed by `pools.rounding`.
    pub split_rounding: Amount,
    /// Paid to devices' owners, all pools.
    pub paid: Amount,
    /// Unclaimed pools, all together.
    pub unclaimed: Amount,
    /// Rounding dust, all together (split and shares).
    pub rounding: Amount,
    /// Minted to the treasury account (unclaimed and/or dust, as the parameters route them).
    pub to_treasury: Amount,
    /// Routed to "burn": never minted.
    pub burned: Amount,
    /// Carried to the next epoch (not minted yet).
    pub carry_out: Amount,
    /// Minted this epoch: `paid + to_treasury`.
    pub minted: Amount,
    /// The treasury account.
    pub treasury: Address,
    /// Devices with counts for the epoch.
    pub devices: u64,
    /// Devices paid more than zero.
    pub devices_paid: u64,
    /// Owners credited.
    pub owners_paid: u64,
    /// Devices whose reputation multiplier was below one.
    pub devices_with_reduced_reputation: u64,
}

/// One device's line in one pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolLine {
    /// The pool.
    pub kind: ProofKind,
    /// Units of work counted (heartbeat eligibility = 1, HIP-15 coverage units, bytes, readings).
    pub units: Fixed,
    /// HIP-17 density scale applied (one when the pool does not scale by density).
    pub density_scale: Fixed,
    /// Reputation multiplier applied (one when the pool does not apply reputation).
    pub reputation: Fixed,
    /// `units × density_scale × reputation`, rounded down (raw 18-decimal fixed point).
    pub weight: Amount,
    /// Paid from this pool: `⌊pool × weight / total_weight⌋`.
    pub amount: Amount,
    /// Why the device earned nothing here, when that is the reason.
    pub ineligible: Option<Ineligibility>,
}

/// Why one device earned what it did in one epoch (a derived record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRewards {
    /// The device.
    pub device: DeviceId,
    /// The epoch.
    pub epoch: u64,
    /// The owner credited (the device's owner when the epoch closed).
    pub owner: Address,
    /// The device's audit score after the epoch's verdicts (`α / (α + β)`).
    pub reputation_score: Fixed,
    /// The reputation multiplier used (the score, or zero below the disqualification threshold).
    pub reputation: Fixed,
    /// One line per pool the device took part in.
    pub pools: Vec<PoolLine>,
    /// Total credited to the owner for this device.
    pub total: Amount,
}

fn kind_code(kind: ProofKind) -> u8 {
    match kind {
        ProofKind::Uptime => 1,
        ProofKind::Coverage => 2,
        ProofKind::DataTransfer => 3,
        ProofKind::SensorData => 4,
        ProofKind::Storage => 5,
        ProofKind::Compute => 6,
    }
}

fn kind_from_code(code: u8) -> Option<ProofKind> {
    ProofKind::ALL.into_iter().find(|k| kind_code(*k) == code)
}

fn ineligible_code(reason: Option<Ineligibility>) -> u8 {
    match reason {
        None => 0,
        Some(Ineligibility::TooFewHeartbeats) => 1,
        Some(Ineligibility::NoLocation) => 2,
        Some(Ineligibility::Disqualified) => 3,
    }
}

fn ineligible_from_code(code: u8) -> Option<Option<Ineligibility>> {
    Some(match code {
        0 => None,
        1 => Some(Ineligibility::TooFewHeartbeats),
        2 => Some(Ineligibility::NoLocation),
        3 => Some(Ineligibility::Disqualified),
        _ => return None,
    })
}

/// Version byte of the breakdown record.
const RECORD_VERSION: u8 = 1;
/// Most pool lines a record may hold (one per proof kind).
const MAX_LINES: usize = ProofKind::ALL.len();

impl DeviceRewards {
    /// The compact record: version (1) ‖ owner (20) ‖ varint score ‖ varint multiplier ‖
    /// varint total ‖ line count (1) ‖ per line: kind (1) ‖ ineligible code (1) ‖ varints
    /// units, density scale, reputation, weight, amount. Device and epoch are in the key.
    /// About 60–120 bytes for a device in three pools.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Writer::with_capacity(64 + self.pools.len() * 40);
        out.u8(RECORD_VERSION);
        out.bytes(self.owner.as_bytes());
        out.varint(self.reputation_score.raw());
        out.varint(self.reputation.raw());
        out.varint(self.total.0);
        out.u8(self.pools.len().min(MAX_LINES) as u8);
        for line in self.pools.iter().take(MAX_LINES) {
            out.u8(kind_code(line.kind));
            out.u8(ineligible_code(line.ineligible));
            out.varint(line.units.raw());
            out.varint(line.density_scale.raw());
            out.varint(line.reputation.raw());
            out.varint(line.weight.0);
            out.varint(line.amount.0);
        }
        out.finish()
    }

    /// Reads a record written by [`DeviceRewards::encode`]; `None` if it is not one (varints
    /// must be in their shortest form, so each record has one encoding).
    pub fn decode(device: DeviceId, epoch: u64, bytes: &[u8]) -> Option<DeviceRewards> {
        let mut reader = Reader::new(bytes);
        if reader.u8().ok()? != RECORD_VERSION {
            return None;
        }
        let owner = Address(reader.array().ok()?);
        let reputation_score = Fixed::from_raw(reader.varint_u128().ok()?);
        let reputation = Fixed::from_raw(reader.varint_u128().ok()?);
        let total = Amount(reader.varint_u128().ok()?);
        let count = usize::from(reader.u8().ok()?);
        if count > MAX_LINES {
            return None;
        }
        let mut pools = Vec::with_capacity(count);
        for _ in 0..count {
            let kind = kind_from_code(reader.u8().ok()?)?;
            let ineligible = ineligible_from_code(reader.u8().ok()?)?;
            pools.push(PoolLine {
                kind,
                ineligible,
                units: Fixed::from_raw(reader.varint_u128().ok()?),
                density_scale: Fixed::from_raw(reader.varint_u128().ok()?),
                reputation: Fixed::from_raw(reader.varint_u128().ok()?),
                weight: Amount(reader.varint_u128().ok()?),
                amount: Amount(reader.varint_u128().ok()?),
            });
        }
        reader.finish().ok()?;
        Some(DeviceRewards {
            device,
            epoch,
            owner,
            reputation_score,
            reputation,
            pools,
            total,
        })
    }
}

/// The derived-record key of a device's breakdown for an epoch.
pub fn breakdown_key(device: &DeviceId, epoch: u64) -> Vec<u8> {
    [BREAKDOWN_PREFIX, device.as_bytes(), &epoch.to_be_bytes()].concat()
}

fn epoch_key(epoch: u64) -> Vec<u8> {
    [EPOCH_PREFIX, &epoch.to_be_bytes()].concat()
}

fn reputation_key(device: &DeviceId) -> Vec<u8> {
    [REPUTATION_PREFIX, device.as_bytes()].concat()
}

fn corrupt(key: &[u8], reason: impl Into<String>) -> AppError {
    AppError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: reason.into(),
    }
}

fn u128_at(bytes: &[u8], index: usize) -> Option<u128> {
    let raw: [u8; 16] = bytes.get(index * 16..(index + 1) * 16)?.try_into().ok()?;
    Some(u128::from_be_bytes(raw))
}

fn decode_score(key: &[u8], bytes: &[u8]) -> AppResult<AuditScore> {
    match (bytes.len(), u128_at(bytes, 0), u128_at(bytes, 1)) {
        (32, Some(alpha), Some(beta)) => Ok(AuditScore {
            alpha: Fixed::from_raw(alpha),
            beta: Fixed::from_raw(beta),
        }),
        _ => Err(corrupt(key, "an audit score is 32 bytes")),
    }
}

/// Reading rewards state.
pub trait RewardsRead: StateRead {
    /// The parameters.
    fn rewards_params(&self) -> AppResult<RewardsParams> {
        match self.get(PARAMS_KEY)? {
            Some(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| corrupt(PARAMS_KEY, e.to_string()))
            }
            None => Ok(RewardsParams::default()),
        }
    }

    /// Base units carried over to the next epoch's pools.
    fn rewards_carry(&self) -> AppResult<Amount> {
        match self.get(CARRY_KEY)? {
            Some(bytes) if bytes.len() == 16 => Ok(Amount(u128_at(&bytes, 0).unwrap_or(0))),
            Some(_) => Err(corrupt(CARRY_KEY, "not 16 bytes")),
            None => Ok(Amount::ZERO),
        }
    }

    /// The last epoch whose rewards were paid.
    fn latest_rewarded_epoch(&self) -> AppResult<Option<u64>> {
        match self.get(LATEST_KEY)? {
            Some(bytes) => {
                let raw: [u8; 8] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt(LATEST_KEY, "not 8 bytes"))?;
                Ok(Some(u64::from_be_bytes(raw)))
            }
            None => Ok(None),
        }
    }

    /// An epoch's summary.
    fn epoch_summary(&self, epoch: u64) -> AppResult<Option<EpochSummary>> {
        let key = epoch_key(epoch);
        self.get(&key)?
            .map(|bytes| serde_json::from_slice(&bytes).map_err(|e| corrupt(&key, e.to_string())))
            .transpose()
    }

    /// The stored audit scores of the devices whose id starts with the byte `shard`, in device
    /// order (one ordered scan instead of a lookup per device).
    fn audit_scores_of_shard(&self, shard: u8) -> AppResult<Vec<(DeviceId, AuditScore)>> {
        const PAGE: usize = 4096;
        let prefix = [REPUTATION_PREFIX, &[shard]].concat();
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.scan_prefix(&prefix, after.as_deref(), PAGE)?;
            let full = page.len() == PAGE;
            for (key, value) in &page {
                let device = DeviceId::from_slice(&key[REPUTATION_PREFIX.len()..])
                    .map_err(|e| corrupt(key, e.to_string()))?;
                out.push((device, decode_score(key, value)?));
            }
            match page.into_iter().last() {
                Some((key, _)) if full => after = Some(key),
                _ => return Ok(out),
            }
        }
    }

    /// A device's stored audit score, `None` for a fresh (spotless) one.
    fn audit_score(&self, device: &DeviceId) -> AppResult<Option<AuditScore>> {
        let key = reputation_key(device);
        self.get(&key)?
            .map(|bytes| decode_score(&key, &bytes))
            .transpose()
    }
}

impl<S: StateRead + ?Sized> RewardsRead for S {}

/// Changing rewards state.
pub trait RewardsWrite: StateWrite + RewardsRead {
    /// Stores the parameters.
    fn put_rewards_params(&mut self, params: &RewardsParams) {
        self.put(
            PARAMS_KEY.to_vec(),
            serde_json::to_vec(params).unwrap_or_default(),
        );
    }

    /// Stores the carried-over amount.
    fn put_rewards_carry(&mut self, amount: Amount) {
        self.put(CARRY_KEY.to_vec(), amount.0.to_be_bytes().to_vec());
    }

    /// Stores an epoch's summary and makes it the latest.
    fn put_epoch_summary(&mut self, summary: &EpochSummary) {
        self.put(
            epoch_key(summary.epoch),
            serde_json::to_vec(summary).unwrap_or_default(),
        );
        self.put(LATEST_KEY.to_vec(), summary.epoch.to_be_bytes().to_vec());
    }

    /// Stores a device's audit score, or forgets it (`None`: back to a fresh device's).
    fn put_audit_score(&mut self, device: &DeviceId, score: Option<AuditScore>) {
        match score {
            Some(score) => self.put(
                reputation_key(device),
                [
                    score.alpha.raw().to_be_bytes(),
                    score.beta.raw().to_be_bytes(),
                ]
                .concat(),
            ),
            None => self.delete(reputation_key(device)),
        }
    }
}

impl<S: StateWrite + ?Sized> RewardsWrite for S {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_breakdown_record_round_trips_and_garbage_is_refused() {
        let record = DeviceRewards {
            device: DeviceId([3; 20]),
            epoch: 9,
            owner: Address([7; 20]),
            reputation_score: Fixed::from_bps(9_990),
            reputation: Fixed::from_bps(9_990),
            pools: vec![PoolLine {
                kind: ProofKind::Coverage,
                units: Fixed::from_bps(15_000),
                density_scale: Fixed::from_bps(5_000),
                reputation: Fixed::from_bps(9_990),
                weight: Amount(749_250_000_000_000_000),
                amount: Amount(u128::MAX),
                ineligible: Some(Ineligibility::NoLocation),
            }],
            total: Amount(12_345),
        };
        let bytes = record.encode();
        assert_eq!(
            DeviceRewards::decode(record.device, 9, &bytes),
            Some(record.clone())
        );
        assert!(bytes.len() < 100, "{} bytes", bytes.len());
        for cut in 0..bytes.len() {
            assert_eq!(DeviceRewards::decode(record.device, 9, &bytes[..cut]), None);
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(DeviceRewards::decode(record.device, 9, &extra), None);
        // The total (12,345 = 0xb9 0x60) padded with an empty group: a second encoding, refused.
        let total_at = bytes.windows(2).position(|w| w == [0xb9, 0x60]).unwrap();
        let mut overlong = bytes[..total_at].to_vec();
        overlong.extend_from_slice(&[0xb9, 0xe0, 0x00]);
        overlong.extend_from_slice(&bytes[total_at + 2..]);
        assert_eq!(DeviceRewards::decode(record.device, 9, &overlong), None);
    }
}
