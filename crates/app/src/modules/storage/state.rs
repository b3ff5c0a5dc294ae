//! Storage state, reached only through [`StorageRead`] and [`StorageWrite`].
//!
//! Keys:
//! - `storage/params` → JSON [`StorageParams`]
//! - `storage/totals` → JSON [`StorageTotals`]
//! - `storage/next_deal` → u64 BE, the next deal id (ids start at 1)
//! - `storage/p/` ‖ device id (20) → JSON [`ProviderRecord`]
//! - `storage/d/` ‖ deal id (u64 BE) → JSON [`Deal`]
//! - `storage/active/` ‖ deal id (u64 BE) → empty (deals whose periods are still being settled)
//! - `storage/client/` ‖ client (20) ‖ deal id (u64 BE) → empty
//! - `storage/cid/` ‖ SHA-256 of the CID string (32) ‖ deal id (u64 BE) → empty
//! - `storage/pd/` ‖ device id (20) ‖ deal id (u64 BE) → empty (deals a provider was ever in)
//! - `storage/proof/` ‖ deal id (u64 BE) ‖ period (u64 BE) ‖ device id (20) → JSON [`ProofRecord`]

use groundwork_primitives::{Address, Amount, DeviceId, Hash, sha256};
use groundwork_state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::modules::storage::params::StorageParams;

const PARAMS_KEY: &[u8] = b"storage/params";
const TOTALS_KEY: &[u8] = b"storage/totals";
const NEXT_DEAL_KEY: &[u8] = b"storage/next_deal";
const PROVIDER_PREFIX: &[u8] = b"storage/p/";
const DEAL_PREFIX: &[u8] = b"storage/d/";
const ACTIVE_PREFIX: &[u8] = b"storage/active/";
const CLIENT_PREFIX: &[u8] = b"storage/client/";
const CID_PREFIX: &[u8] = b"storage/cid/";
const PROVIDER_DEALS_PREFIX: &[u8] = b"storage/pd/";
const PROOF_PREFIX: &[u8] = b"storage/proof/";

/// Tokens the storage module holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageTotals {
    /// Held in deal escrows (joins the supply rule).
    pub escrowed: Amount,
}

/// Whether a provider takes new pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderStatus {
    /// Taking new pieces.
    Active,
    /// Offer withdrawn by its owner: no new pieces; may register again.
    Withdrawn,
    /// Disqualified by its audit reputation: no new pieces, its pieces are repairable, for good.
    Failed,
}

/// A storage provider's offer and record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRecord {
    /// The storage device.
    pub device: DeviceId,
    /// Price per GiB per proving period, base units.
    pub price_per_gib_period: Amount,
    /// Bytes offered.
    pub capacity_bytes: u64,
    /// Bytes reserved by pieces of active deals.
    pub reserved_bytes: u64,
    /// Upload and download URL.
    pub endpoint: String,
    /// Whether it takes new pieces.
    pub status: ProviderStatus,
    /// Height of its first registration.
    pub registered_height: u64,
    /// Audit reputation α (storage-net reputation fixed point).
    pub reputation_alpha: u64,
    /// Audit reputation β.
    pub reputation_beta: u64,
    /// Missed periods since its last pass or slash.
    pub consecutive_failures: u32,
    /// Periods proven.
    pub passes: u64,
    /// Periods missed.
    pub misses: u64,
    /// Stake burned by storage slashes.
    pub slashed: Amount,
}

impl ProviderRecord {
    /// Capacity not reserved.
    pub fn free_bytes(&self) -> u64 {
        self.capacity_bytes.saturating_sub(self.reserved_bytes)
    }
}

/// What happened to a deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealStatus {
    /// Its periods are being proven and paid.
    Active,
    /// Ran its full duration.
    Completed,
    /// Ended early by its client.
    Terminated,
}

/// One piece of a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    /// Who holds it.
    pub provider: DeviceId,
    /// Its commitment (BLAKE3 Merkle root, storage-net `commitment`).
    pub commitment: Hash,
    /// Its length in bytes.
    pub size: u64,
    /// What it earns per proven period.
    pub rate: Amount,
    /// The first period its current provider must prove.
    pub since_period: u64,
    /// After a repair, the provider that still answers for the piece in the periods before
    /// `since_period` (the period the repair happened in), so a repair never changes the
    /// challenges of a proof window already open.
    #[serde(default)]
    pub previous_provider: Option<DeviceId>,
    /// Its provider missed the last settled period.
    pub missed_last: bool,
}

/// One segment of a deal's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Its length in bytes.
    pub length: u64,
    /// Its `n` pieces in index order.
    pub pieces: Vec<Piece>,
}

/// A storage deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deal {
    /// Its id (from 1).
    pub id: u64,
    /// Who pays.
    pub client: Address,
    /// The file's CIDv1 string.
    pub cid: String,
    /// The file's length.
    pub file_size: u64,
    /// k.
    pub data_pieces: u16,
    /// n.
    pub total_pieces: u16,
    /// Bytes per segment.
    pub segment_size: u64,
    /// Repair is due when a segment's healthy pieces fall to this.
    pub repair_threshold: u16,
    /// The segments.
    pub segments: Vec<Segment>,
    /// Height of the block that created it.
    pub created_height: u64,
    /// First period.
    pub start_period: u64,
    /// One past the last period.
    pub end_period: u64,
    /// Periods settled so far: every period below this had its deadline.
    pub settled_through: u64,
    /// What the client put in escrow.
    pub escrowed_total: Amount,
    /// What is still in escrow.
    pub escrow_left: Amount,
    /// The part of `escrow_left` set aside to pay repairers.
    pub repair_reserve_left: Amount,
    /// Paid to providers so far.
    pub paid_to_providers: Amount,
    /// Paid to repairers so far.
    pub paid_to_repairers: Amount,
    /// Refunded to the client (when the deal ended).
    pub refunded: Amount,
    /// Whether it is running.
    pub status: DealStatus,
    /// Height it ended at, once ended.
    pub ended_height: Option<u64>,
}

impl Deal {
    /// The providers with pieces due in `period`, in id order, each with its due pieces
    /// `(segment, piece index)` ordered by segment then piece index. A piece is due from its
    /// current provider from `since_period` on, and before that from its previous provider
    /// (after a repair) if it had one.
    pub fn due_pieces(&self, period: u64) -> Vec<(DeviceId, Vec<(u32, u32)>)> {
        let mut by_provider: std::collections::BTreeMap<DeviceId, Vec<(u32, u32)>> =
            Default::default();
        for (s, segment) in self.segments.iter().enumerate() {
            for (p, piece) in segment.pieces.iter().enumerate() {
                let holder = if piece.since_period <= period {
                    Some(piece.provider)
                } else {
                    piece.previous_provider
                };
                if let Some(holder) = holder {
                    by_provider
                        .entry(holder)
                        .or_default()
                        .push((s as u32, p as u32));
                }
            }
        }
        by_provider.into_iter().collect()
    }

    /// The piece at `(segment, piece)`.
    pub fn piece(&self, segment: u32, piece: u32) -> Option<&Piece> {
        self.segments
            .get(segment as usize)?
            .pieces
            .get(piece as usize)
    }

    /// Bytes each provider holds in this deal, in id order.
    pub fn bytes_by_provider(&self) -> Vec<(DeviceId, u64)> {
        let mut sums: std::collections::BTreeMap<DeviceId, u64> = Default::default();
        for piece in self.segments.iter().flat_map(|s| &s.pieces) {
            let entry = sums.entry(piece.provider).or_default();
            *entry = entry.saturating_add(piece.size);
        }
        sums.into_iter().collect()
    }
}

/// The outcome of one provider's period of one deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProofOutcome {
    /// Proven in time; paid.
    Proven,
    /// Not proven by the deadline; not paid.
    Missed,
}

/// One provider's period of one deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofRecord {
    /// The deal.
    pub deal: u64,
    /// The period.
    pub period: u64,
    /// The provider.
    pub provider: DeviceId,
    /// Proven or missed.
    pub outcome: ProofOutcome,
    /// When it was proven or settled as missed.
    pub height: u64,
    /// What the provider was paid for it.
    pub paid: Amount,
}

fn corrupt(key: &[u8], reason: impl Into<String>) -> AppError {
    AppError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: reason.into(),
    }
}

fn decode<T: for<'de> Deserialize<'de>>(key: &[u8], bytes: &[u8]) -> AppResult<T> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(key, e.to_string()))
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain data structs always serialise.
    serde_json::to_vec(value).unwrap_or_default()
}

fn provider_key(device: &DeviceId) -> Vec<u8> {
    [PROVIDER_PREFIX, device.as_bytes()].concat()
}

fn deal_key(id: u64) -> Vec<u8> {
    [DEAL_PREFIX, &id.to_be_bytes()].concat()
}

fn active_key(id: u64) -> Vec<u8> {
    [ACTIVE_PREFIX, &id.to_be_bytes()].concat()
}

fn client_key(client: &Address, id: u64) -> Vec<u8> {
    [CLIENT_PREFIX, client.as_bytes(), &id.to_be_bytes()].concat()
}

fn cid_prefix(cid: &str) -> Vec<u8> {
    [CID_PREFIX, &sha256(cid.as_bytes()).0].concat()
}

fn provider_deal_key(device: &DeviceId, id: u64) -> Vec<u8> {
    [PROVIDER_DEALS_PREFIX, device.as_bytes(), &id.to_be_bytes()].concat()
}

fn proof_key(deal: u64, period: u64, provider: &DeviceId) -> Vec<u8> {
    [
        PROOF_PREFIX,
        &deal.to_be_bytes(),
        &period.to_be_bytes(),
        provider.as_bytes(),
    ]
    .concat()
}

fn trailing_id(key: &[u8]) -> AppResult<u64> {
    let tail = key
        .len()
        .checked_sub(8)
        .and_then(|start| key.get(start..))
        .ok_or_else(|| corrupt(key, "index key too short"))?;
    let bytes: [u8; 8] = tail
        .try_into()
        .map_err(|_| corrupt(key, "index key too short"))?;
    Ok(u64::from_be_bytes(bytes))
}

fn ids_after(
    state: &(impl StateRead + ?Sized),
    prefix: &[u8],
    after: Option<u64>,
    limit: usize,
) -> AppResult<Vec<u64>> {
    let after = after.map(|id| [prefix, &id.to_be_bytes()].concat());
    state
        .scan_prefix(prefix, after.as_deref(), limit)?
        .into_iter()
        .map(|(key, _)| trailing_id(&key))
        .collect()
}

/// Reading storage state.
pub trait StorageRead: StateRead {
    /// The parameters.
    fn storage_params(&self) -> AppResult<StorageParams> {
        match self.get(PARAMS_KEY)? {
            Some(bytes) => decode(PARAMS_KEY, &bytes),
            None => Ok(StorageParams::default()),
        }
    }

    /// The totals.
    fn storage_totals(&self) -> AppResult<StorageTotals> {
        match self.get(TOTALS_KEY)? {
            Some(bytes) => decode(TOTALS_KEY, &bytes),
            None => Ok(StorageTotals::default()),
        }
    }

    /// A provider.
    fn provider(&self, device: &DeviceId) -> AppResult<Option<ProviderRecord>> {
        let key = provider_key(device);
        self.get(&key)?
            .map(|bytes| decode(&key, &bytes))
            .transpose()
    }

    /// Up to `limit` providers in id order after `after`.
    fn providers_page(
        &self,
        after: Option<&DeviceId>,
        limit: usize,
    ) -> AppResult<Vec<ProviderRecord>> {
        let after = after.map(provider_key);
        self.scan_prefix(PROVIDER_PREFIX, after.as_deref(), limit)?
            .into_iter()
            .map(|(key, value)| decode(&key, &value))
            .collect()
    }

    /// A deal.
    fn deal(&self, id: u64) -> AppResult<Option<Deal>> {
        let key = deal_key(id);
        self.get(&key)?
            .map(|bytes| decode(&key, &bytes))
            .transpose()
    }

    /// The id the next deal gets.
    fn next_deal_id(&self) -> AppResult<u64> {
        match self.get(NEXT_DEAL_KEY)? {
            Some(bytes) => Ok(u64::from_be_bytes(
                bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt(NEXT_DEAL_KEY, "not 8 bytes"))?,
            )),
            None => Ok(1),
        }
    }

    /// Up to `limit` active deal ids after `after`.
    fn active_deals(&self, after: Option<u64>, limit: usize) -> AppResult<Vec<u64>> {
        ids_after(self, ACTIVE_PREFIX, after, limit)
    }

    /// Up to `limit` deal ids of `client` after `after`.
    fn deals_of_client(
        &self,
        client: &Address,
        after: Option<u64>,
        limit: usize,
    ) -> AppResult<Vec<u64>> {
        ids_after(
            self,
            &[CLIENT_PREFIX, client.as_bytes()].concat(),
            after,
            limit,
        )
    }

    /// Up to `limit` deal ids storing `cid` after `after`.
    fn deals_of_cid(&self, cid: &str, after: Option<u64>, limit: usize) -> AppResult<Vec<u64>> {
        ids_after(self, &cid_prefix(cid), after, limit)
    }

    /// Up to `limit` deal ids a provider was ever placed in, after `after`.
    fn deals_of_provider(
        &self,
        device: &DeviceId,
        after: Option<u64>,
        limit: usize,
    ) -> AppResult<Vec<u64>> {
        ids_after(
            self,
            &[PROVIDER_DEALS_PREFIX, device.as_bytes()].concat(),
            after,
            limit,
        )
    }

    /// One provider's record for one period of a deal.
    fn proof_record(
        &self,
        deal: u64,
        period: u64,
        provider: &DeviceId,
    ) -> AppResult<Option<ProofRecord>> {
        let key = proof_key(deal, period, provider);
        self.get(&key)?
            .map(|bytes| decode(&key, &bytes))
            .transpose()
    }

    /// A deal's proof records in (period, provider) order, at most `limit`, after the record of
    /// `(period, provider)` `after`.
    fn proof_records(
        &self,
        deal: u64,
        after: Option<(u64, DeviceId)>,
        limit: usize,
    ) -> AppResult<Vec<ProofRecord>> {
        let prefix = [PROOF_PREFIX, &deal.to_be_bytes()].concat();
        let after = after.map(|(period, provider)| proof_key(deal, period, &provider));
        self.scan_prefix(&prefix, after.as_deref(), limit)?
            .into_iter()
            .map(|(key, value)| decode(&key, &value))
            .collect()
    }
}

impl<S: StateRead + ?Sized> StorageRead for S {}

/// Changing storage state. Token movements in and out of accounts are the caller's; this trait
/// keeps the escrow total in step with them.
pub trait StorageWrite: StateWrite + StorageRead {
    /// Stores the parameters.
    fn put_storage_params(&mut self, params: &StorageParams) {
        self.put(PARAMS_KEY.to_vec(), encode(params));
    }

    /// Stores a provider.
    fn put_provider(&mut self, record: &ProviderRecord) {
        self.put(provider_key(&record.device), encode(record));
    }

    /// Takes the next deal id.
    fn take_deal_id(&mut self) -> AppResult<u64> {
        let id = self.next_deal_id()?;
        let next = id
            .checked_add(1)
            .ok_or_else(|| corrupt(NEXT_DEAL_KEY, "deal ids exhausted"))?;
        self.put(NEXT_DEAL_KEY.to_vec(), next.to_be_bytes().to_vec());
        Ok(id)
    }

    /// Stores a deal; keeps the active index in step with its status.
    fn put_deal(&mut self, deal: &Deal) {
        self.put(deal_key(deal.id), encode(deal));
        if deal.status == DealStatus::Active {
            self.put(active_key(deal.id), Vec::new());
        } else {
            self.delete(active_key(deal.id));
        }
    }

    /// Indexes a new deal by client and CID.
    fn index_deal(&mut self, deal: &Deal) {
        self.put(client_key(&deal.client, deal.id), Vec::new());
        let mut cid = cid_prefix(&deal.cid);
        cid.extend_from_slice(&deal.id.to_be_bytes());
        self.put(cid, Vec::new());
    }

    /// Indexes a provider's place in a deal.
    fn index_provider_deal(&mut self, device: &DeviceId, deal: u64) {
        self.put(provider_deal_key(device, deal), Vec::new());
    }

    /// Stores a proof record.
    fn put_proof_record(&mut self, record: &ProofRecord) {
        self.put(
            proof_key(record.deal, record.period, &record.provider),
            encode(record),
        );
    }

    /// Records `amount` moved into escrow (already taken from an account).
    fn add_escrowed(&mut self, amount: Amount) -> AppResult<()> {
        let mut totals = self.storage_totals()?;
        totals.escrowed = totals
            .escrowed
            .checked_add(amount)
            .ok_or_else(|| corrupt(TOTALS_KEY, "escrow overflow"))?;
        self.put(TOTALS_KEY.to_vec(), encode(&totals));
        Ok(())
    }

    /// Records `amount` released from escrow (to be credited to an account by the caller).
    fn release_escrowed(&mut self, amount: Amount) -> AppResult<()> {
        let mut totals = self.storage_totals()?;
        totals.escrowed = totals
            .escrowed
            .checked_sub(amount)
            .ok_or_else(|| corrupt(TOTALS_KEY, "escrow underflow"))?;
        self.put(TOTALS_KEY.to_vec(), encode(&totals));
        Ok(())
    }
}

impl<S: StateWrite + ?Sized> StorageWrite for S {}
