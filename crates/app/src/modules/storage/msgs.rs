//! Transaction messages of the storage module (docs/storage.md lists every check).

use std::collections::{BTreeMap, BTreeSet};

use groundwork_primitives::{
    Address, Amount, DeviceId, Hash, Signature, domain, sha256, signed_message,
};
use groundwork_proto::v1;
use groundwork_storage_net::commitment::{ChunkProof, verify_chunk_proof};
use groundwork_storage_net::{Cid, ErasureParams};

use crate::TxContext;
use crate::error::ExecError;
use crate::modules::accounts::state::AccountsWrite;
use crate::modules::devices::state::{DevicesRead, DevicesWrite};
use crate::modules::staking::state::StakingWrite;
use crate::modules::storage::params::MAX_CHALLENGES_PER_PERIOD;
use crate::modules::storage::state::{
    Deal, DealStatus, Piece, ProofOutcome, ProofRecord, ProviderRecord, ProviderStatus, Segment,
    StorageRead, StorageWrite,
};
use crate::modules::storage::{
    REPUTATION, derive_deal_challenges, device_is_active_storage, events, pay_from_escrow,
    period_of, period_randomness, provider_owner, rate_for, record_audit, release_capacity,
    share_bps,
};

/// Longest endpoint URL, bytes.
pub const MAX_ENDPOINT_BYTES: usize = 256;
/// Longest CID string, bytes.
pub const MAX_CID_BYTES: usize = 128;

fn fail(reason: impl Into<String>) -> ExecError {
    ExecError::Fail(reason.into())
}

fn device_id(field: &str, bytes: &[u8]) -> Result<DeviceId, String> {
    DeviceId::from_slice(bytes).map_err(|e| format!("{field}: {e}"))
}

fn commitment(field: &str, bytes: &[u8]) -> Result<Hash, String> {
    Hash::from_slice(bytes).map_err(|e| format!("{field}: {e}"))
}

fn signature(field: &str, bytes: &[u8]) -> Result<Signature, String> {
    Signature::from_slice(bytes).map_err(|e| format!("{field}: {e}"))
}

/// The bytes a provider's device key signs as its receipt for a piece (docs/storage.md):
/// `"groundwork/v1/storage-piece-receipt" ‖ u8(len(chain)) ‖ chain ‖ client (20) ‖
/// SHA-256(cid string) (32) ‖ u32 BE segment ‖ u32 BE piece ‖ commitment (32) ‖ u64 BE size`.
pub fn piece_receipt_message(
    chain_id: &str,
    client: &Address,
    cid: &str,
    segment: u32,
    piece: u32,
    commitment: &Hash,
    size: u64,
) -> Vec<u8> {
    let mut body = Vec::with_capacity(20 + 32 + 8 + 32 + 8);
    body.extend_from_slice(client.as_bytes());
    body.extend_from_slice(&sha256(cid.as_bytes()).0);
    body.extend_from_slice(&segment.to_be_bytes());
    body.extend_from_slice(&piece.to_be_bytes());
    body.extend_from_slice(&commitment.0);
    body.extend_from_slice(&size.to_be_bytes());
    signed_message(domain::STORAGE_PIECE_RECEIPT, chain_id, &body)
}

/// The fields an offer carries (register and update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The storage device.
    pub device: DeviceId,
    /// Price per GiB per period.
    pub price_per_gib_period: Amount,
    /// Bytes offered.
    pub capacity_bytes: u64,
    /// Upload and download URL.
    pub endpoint: String,
}

impl Offer {
    fn parse(device: &[u8], price: &str, capacity: u64, endpoint: &str) -> Result<Offer, String> {
        let device = device_id("device", device)?;
        let price_per_gib_period =
            Amount::parse_base_units(price).map_err(|e| format!("price_per_gib_period: {e}"))?;
        if capacity == 0 {
            return Err("capacity_bytes: a provider offers more than zero bytes".into());
        }
        if endpoint.len() > MAX_ENDPOINT_BYTES {
            return Err(format!(
                "endpoint: {} bytes, at most {MAX_ENDPOINT_BYTES}",
                endpoint.len()
            ));
        }
        let rest = endpoint
            .strip_prefix("http://")
            .or_else(|| endpoint.strip_prefix("https://"))
            .ok_or("endpoint: an http:// or https:// URL")?;
        if rest.is_empty()
            || endpoint
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!("endpoint: {endpoint:?} is not a URL"));
        }
        Ok(Offer {
            device,
            price_per_gib_period,
            capacity_bytes: capacity,
            endpoint: endpoint.to_string(),
        })
    }

    fn check_owner_and_device<S: DevicesRead>(
        &self,
        state: &S,
        sender: &Address,
    ) -> Result<(), ExecError> {
        let Some(device) = state.device(&self.device)? else {
            return Err(fail(format!("no device {}", self.device)));
        };
        if device.owner != *sender {
            return Err(fail(format!(
                "device {} belongs to {}, not the signer",
                self.device, device.owner
            )));
        }
        if !device_is_active_storage(state, &self.device)? {
            return Err(fail(format!(
                "device {} is not an active storage device",
                self.device
            )));
        }
        Ok(())
    }
}

/// Posts or re-activates an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterStorageProvider(pub Offer);

impl RegisterStorageProvider {
    /// Stateless checks.
    pub fn from_proto(m: &v1::RegisterStorageProvider) -> Result<Self, String> {
        Offer::parse(
            &m.device,
            &m.price_per_gib_period,
            m.capacity_bytes,
            &m.endpoint,
        )
        .map(RegisterStorageProvider)
    }

    /// Registers the offer.
    pub fn execute<S: DevicesRead + StorageWrite>(
        &self,
        state: &mut S,
        ctx: &mut TxContext<'_>,
    ) -> Result<(), ExecError> {
        let offer = &self.0;
        offer.check_owner_and_device(state, &ctx.sender)?;
        let record = match state.provider(&offer.device)? {
            Some(existing) => match existing.status {
                ProviderStatus::Active => {
                    return Err(fail(format!(
                        "provider {} is already registered: update its offer instead",
                        offer.device
                    )));
                }
                ProviderStatus::Failed => {
                    return Err(fail(format!(
                        "provider {} was disqualified by its audit reputation and cannot register again",
                        offer.device
                    )));
                }
                ProviderStatus::Withdrawn => {
                    if offer.capacity_bytes < existing.reserved_bytes {
                        return Err(fail(format!(
                            "capacity {} is below the {} bytes deals already reserve",
                            offer.capacity_bytes, existing.reserved_bytes
                        )));
                    }
                    ProviderRecord {
                        price_per_gib_period: offer.price_per_gib_period,
                        capacity_bytes: offer.capacity_bytes,
                        endpoint: offer.endpoint.clone(),
                        status: ProviderStatus::Active,
                        ..existing
                    }
                }
            },
            None => {
                let reputation = groundwork_storage_net::AuditReputation::new(&REPUTATION);
                ProviderRecord {
                    device: offer.device,
                    price_per_gib_period: offer.price_per_gib_period,
                    capacity_bytes: offer.capacity_bytes,
                    reserved_bytes: 0,
                    endpoint: offer.endpoint.clone(),
                    status: ProviderStatus::Active,
                    registered_height: ctx.height,
                    reputation_alpha: reputation.alpha,
                    reputation_beta: reputation.beta,
                    consecutive_failures: 0,
                    passes: 0,
                    misses: 0,
                    slashed: Amount::ZERO,
                }
            }
        };
        state.put_provider(&record);
        ctx.events.push(events::provider_offer(
            "registered",
            &offer.device,
            offer.price_per_gib_period,
            offer.capacity_bytes,
        ));
        Ok(())
    }
}

/// Changes an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateStorageProvider(pub Offer);

impl UpdateStorageProvider {
    /// Stateless checks.
    pub fn from_proto(m: &v1::UpdateStorageProvider) -> Result<Self, String> {
        Offer::parse(
            &m.device,
            &m.price_per_gib_period,
            m.capacity_bytes,
            &m.endpoint,
        )
        .map(UpdateStorageProvider)
    }

    /// Updates the offer.
    pub fn execute<S: DevicesRead + StorageWrite>(
        &self,
        state: &mut S,
        ctx: &mut TxContext<'_>,
    ) -> Result<(), ExecError> {
        let offer = &self.0;
        offer.check_owner_and_device(state, &ctx.sender)?;
        let Some(mut record) = state.provider(&offer.device)? else {
            return Err(fail(format!(
                "device {} is not a registered provider",
                offer.device
            )));
        };
        if record.status != ProviderStatus::Active {
            return Err(fail(format!(
                "provider {} is {:?}, not active",
                offer.device, record.status
            )));
        }
        if offer.capacity_bytes < record.reserved_bytes {
            return Err(fail(format!(
                "capacity {} is below the {} bytes deals already reserve",
                offer.capacity_bytes, record.reserved_bytes
            )));
        }
        record.price_per_gib_period = offer.price_per_gib_period;
        record.capacity_bytes = offer.capacity_bytes;
        record.endpoint = offer.endpoint.clone();
        state.put_provider(&record);
        ctx.events.push(events::provider_offer(
            "updated",
            &offer.device,
            offer.price_per_gib_period,
            offer.capacity_bytes,
        ));
        Ok(())
    }
}

/// Withdraws an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawStorageProvider {
    /// The storage device.
    pub device: DeviceId,
}

impl WithdrawStorageProvider {
    /// Stateless checks.
    pub fn from_proto(m: &v1::WithdrawStorageProvider) -> Result<Self, String> {
        Ok(WithdrawStorageProvider {
            device: device_id("device", &m.device)?,
        })
    }

    /// Marks the offer withdrawn.
    pub fn execute<S: DevicesRead + StorageWrite>(
        &self,
        state: &mut S,
        ctx: &mut TxContext<'_>,
    ) -> Result<(), ExecError> {
        let Some(mut record) = state.provider(&self.device)? else {
            return Err(fail(format!(
                "device {} is not a registered provider",
                self.device
            )));
        };
        let owner = provider_owner(state, &self.device)?;
        if owner != ctx.sender {
            return Err(fail(format!(
                "device {} belongs to {owner}, not the signer",
                self.device
            )));
        }
        if record.status != ProviderStatus::Active {
            return Err(fail(format!(
                "provider {} is {:?}, not active",
                self.device, record.status
            )));
        }
        record.status = ProviderStatus::Withdrawn;
        state.put_provider(&record);
        ctx.events.push(events::provider_withdrawn(&self.device));
        Ok(())
    }
}

/// A piece as the client places it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedPiece {
    /// Its provider.
    pub provider: DeviceId,
    /// Its commitment.
    pub commitment: Hash,
    /// Its size.
    pub size: u64,
    /// The provider's receipt.
    pub receipt: Signature,
}

/// Creates a deal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateDeal {
    /// The file's CID, canonical string.
    pub cid: String,
    /// The file's length.
    pub file_size: u64,
    /// The erasure layout.
    pub erasure: ErasureParams,
    /// Repair threshold.
    pub repair_threshold: u16,
    /// Segments: (length, pieces).
    pub segments: Vec<(u64, Vec<PlacedPiece>)>,
    /// The most the client escrows.
    pub max_price: Amount,
    /// Periods.
    pub duration_periods: u64,
}

impl CreateDeal {
    /// Stateless checks.
    pub fn from_proto(m: &v1::CreateDeal) -> Result<Self, String> {
        if m.cid.len() > MAX_CID_BYTES {
            return Err(format!(
                "cid: {} bytes, at most {MAX_CID_BYTES}",
                m.cid.len()
            ));
        }
        let cid: Cid = m.cid.parse().map_err(|e| format!("cid: {e}"))?;
        if cid.to_string() != m.cid {
            return Err(format!(
                "cid: write it in its canonical form {cid} (CIDv1, base32)"
            ));
        }
        if m.file_size == 0 {
            return Err("file_size: an empty file needs no storage deal".into());
        }
        let data_pieces = u16::try_from(m.data_pieces).map_err(|_| "data_pieces: too many")?;
        let total_pieces = u16::try_from(m.total_pieces).map_err(|_| "total_pieces: too many")?;
        let erasure = ErasureParams {
            data_pieces,
            total_pieces,
            segment_size: m.segment_size,
        };
        erasure
            .validate()
            .map_err(|e| format!("erasure layout: {e}"))?;
        let repair_threshold =
            u16::try_from(m.repair_threshold).map_err(|_| "repair_threshold: too large")?;
        if repair_threshold < data_pieces || repair_threshold >= total_pieces {
            return Err(format!(
                "repair_threshold {repair_threshold} must be at least k = {data_pieces} and below n = {total_pieces}"
            ));
        }
        let expected_segments = m.file_size.div_ceil(m.segment_size);
        if expected_segments != m.segments.len() as u64 {
            return Err(format!(
                "a {}-byte file in {}-byte segments has {expected_segments} segments, the deal lists {}",
                m.file_size,
                m.segment_size,
                m.segments.len()
            ));
        }
        let mut segments = Vec::with_capacity(m.segments.len());
        for (index, (segment, range)) in m
            .segments
            .iter()
            .zip(erasure.segment_ranges(m.file_size))
            .enumerate()
        {
            let length = range.end - range.start;
            if segment.length != length {
                return Err(format!(
                    "segment {index} is {length} bytes long, the deal says {}",
                    segment.length
                ));
            }
            if segment.pieces.len() != usize::from(total_pieces) {
                return Err(format!(
                    "segment {index} has {} pieces, the layout makes n = {total_pieces}",
                    segment.pieces.len()
                ));
            }
            let piece_size = erasure.piece_size(length) as u64;
            let mut providers = BTreeSet::new();
            let mut pieces = Vec::with_capacity(segment.pieces.len());
            for (p, piece) in segment.pieces.iter().enumerate() {
                let at = format!("segment {index} piece {p}");
                let provider = device_id(&format!("{at} provider"), &piece.provider)?;
                if !providers.insert(provider) {
                    return Err(format!(
                        "{at}: provider {provider} already holds a piece of this segment; a segment's pieces go to distinct providers"
                    ));
                }
                if piece.size != piece_size {
                    return Err(format!(
                        "{at} is {} bytes, a {length}-byte segment's pieces are {piece_size}",
                        piece.size
                    ));
                }
                pieces.push(PlacedPiece {
                    provider,
                    commitment: commitment(&format!("{at} commitment"), &piece.commitment)?,
                    size: piece.size,
                    receipt: signature(&format!("{at} receipt"), &piece.receipt)?,
                });
            }
            segments.push((length, pieces));
        }
        let max_price =
            Amount::parse_base_units(&m.max_price).map_err(|e| format!("max_price: {e}"))?;
        if m.duration_periods == 0 {
            return Err("duration_periods: a deal lasts at least one period".into());
        }
        Ok(CreateDeal {
            cid: m.cid.clone(),
            file_size: m.file_size,
            erasure,
            repair_threshold,
            segments,
            max_price,
            duration_periods: m.duration_periods,
        })
    }

    /// Checks the providers, capacity, receipts and price; escrows the payment and records the
    /// deal.
    pub fn execute<S: AccountsWrite + DevicesRead + StorageWrite>(
        &self,
        state: &mut S,
        ctx: &mut TxContext<'_>,
    ) -> Result<(), ExecError> {
        let params = state.storage_params()?;
        let piece_count: usize = self.segments.iter().map(|(_, p)| p.len()).sum();
        if piece_count > params.max_pieces_per_deal as usize {
            return Err(fail(format!(
                "the deal places {piece_count} pieces, at most {} per deal",
                params.max_pieces_per_deal
            )));
        }
        if self.duration_periods > params.max_duration_periods {
            return Err(fail(format!(
                "duration {} periods is above the maximum {}",
                self.duration_periods, params.max_duration_periods
            )));
        }
        // Each provider once: it exists, takes pieces, and has room for all of its pieces here.
        let mut needed: BTreeMap<DeviceId, u64> = BTreeMap::new();
        for piece in self.segments.iter().flat_map(|(_, p)| p) {
            let entry = needed.entry(piece.provider).or_default();
            *entry = entry.saturating_add(piece.size);
        }
        let mut providers: BTreeMap<DeviceId, ProviderRecord> = BTreeMap::new();
        for (device, bytes) in &needed {
            let provider = taking_provider(state, device)?;
            if provider.free_bytes() < *bytes {
                return Err(fail(format!(
                    "provider {device} has {} bytes free, this deal places {bytes} on it",
                    provider.free_bytes()
                )));
            }
            providers.insert(*device, provider);
        }
        let current = period_of(ctx.height, &params);
        let start_period = current + 1;
        let end_period = start_period
            .checked_add(self.duration_periods)
            .ok_or_else(|| fail("duration_periods overflows"))?;
        let mut segments = Vec::with_capacity(self.segments.len());
        let mut per_period = Amount::ZERO;
        for (s, (length, placed)) in self.segments.iter().enumerate() {
            let mut pieces = Vec::with_capacity(placed.len());
            for (p, piece) in placed.iter().enumerate() {
                let provider = providers
                    .get(&piece.provider)
                    .ok_or_else(|| fail("provider vanished"))?;
                check_receipt(
                    state,
                    ctx,
                    &ctx.sender,
                    &self.cid,
                    (s as u32, p as u32),
                    piece,
                )?;
                let rate = rate_for(provider.price_per_gib_period, piece.size)
                    .ok_or_else(|| fail("a piece's price overflows"))?;
                per_period = per_period
                    .checked_add(rate)
                    .ok_or_else(|| fail("the deal's price overflows"))?;
                pieces.push(Piece {
                    provider: piece.provider,
                    commitment: piece.commitment,
                    size: piece.size,
                    rate,
                    since_period: start_period,
                    previous_provider: None,
                    missed_last: false,
                });
            }
            segments.push(Segment {
                length: *length,
                pieces,
            });
        }
        let overflow = || fail("the deal's price overflows");
        let provider_total = Amount(
            per_period
                .0
                .checked_mul(u128::from(self.duration_periods))
                .ok_or_else(overflow)?,
        );
        let reserve = share_bps(provider_total, params.repair_reserve_bps).ok_or_else(overflow)?;
        let total = provider_total.checked_add(reserve).ok_or_else(overflow)?;
        if total > self.max_price {
            return Err(fail(format!(
                "the deal costs {total} ({provider_total} for the providers + {reserve} repair reserve), above max_price {}",
                self.max_price
            )));
        }
        state
            .debit(&ctx.sender, total)?
            .map_err(|e| fail(format!("cannot escrow the deal's price: {e}")))?;
        state.add_escrowed(total)?;
        for (device, bytes) in &needed {
            if let Some(mut provider) = providers.remove(device) {
                provider.reserved_bytes = provider.reserved_bytes.saturating_add(*bytes);
                state.put_provider(&provider);
            }
        }
        let id = state.take_deal_id()?;
        let deal = Deal {
            id,
            client: ctx.sender,
            cid: self.cid.clone(),
            file_size: self.file_size,
            data_pieces: self.erasure.data_pieces,
            total_pieces: self.erasure.total_pieces,
            segment_size: self.erasure.segment_size,
            repair_threshold: self.repair_threshold,
            segments,
            created_height: ctx.height,
            start_period,
            end_period,
            settled_through: start_period,
            escrowed_total: total,
            escrow_left: total,
            repair_reserve_left: reserve,
            paid_to_providers: Amount::ZERO,
            paid_to_repairers: Amount::ZERO,
            refunded: Amount::ZERO,
            status: DealStatus::Active,
            ended_height: None,
        };
        state.put_deal(&deal);
        state.index_deal(&deal);
        for device in needed.keys() {
            state.index_provider_deal(device, id);
        }
        ctx.events.push(events::deal_created(
            id,
            &ctx.sender,
            &self.cid,
            total,
            start_period,
            end_period,
        ));
        Ok(())
    }
}

/// A provider that may take new pieces: registered, active, its device an active storage device.
fn taking_provider<S: DevicesRead + StorageRead>(
    state: &S,
    device: &DeviceId,
) -> Result<ProviderRecord, ExecError> {
    let Some(provider) = state.provider(device)? else {
        return Err(fail(format!(
            "{device} is not a registered storage provider"
        )));
    };
    if provider.status != ProviderStatus::Active {
        return Err(fail(format!(
            "provider {device} is {}, it takes no new pieces",
            match provider.status {
                ProviderStatus::Withdrawn => "withdrawn",
                ProviderStatus::Failed => "disqualified",
                ProviderStatus::Active => "active",
            }
        )));
    }
    if !device_is_active_storage(state, device)? {
        return Err(fail(format!(
            "provider {device}'s device is not an active storage device"
        )));
    }
    Ok(provider)
}

fn check_receipt<S: DevicesRead>(
    state: &S,
    ctx: &TxContext<'_>,
    client: &Address,
    cid: &str,
    (segment, index): (u32, u32),
    piece: &PlacedPiece,
) -> Result<(), ExecError> {
    let device = state
        .device(&piece.provider)?
        .ok_or_else(|| fail(format!("no device {}", piece.provider)))?;
    let message = piece_receipt_message(
        &ctx.chain.chain_id,
        client,
        cid,
        segment,
        index,
        &piece.commitment,
        piece.size,
    );
    device
        .public_key
        .verify_message(&message, &piece.receipt)
        .map_err(|_| {
            fail(format!(
                "segment {segment} piece {index}: the receipt does not verify with provider {}'s device key",
                piece.provider
            ))
        })
}

/// Proves one period of one deal for one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitStorageProof {
    /// The deal.
    pub deal_id: u64,
    /// The provider.
    pub provider: DeviceId,
    /// The period.
    pub period: u64,
    /// The decoded proofs, in challenge order.
    pub proofs: Vec<ChunkProof>,
}

impl SubmitStorageProof {
    /// Stateless checks: ids, and every proof decodes within storage-net's limits.
    pub fn from_proto(m: &v1::SubmitStorageProof) -> Result<Self, String> {
        if m.proofs.len() > MAX_CHALLENGES_PER_PERIOD as usize {
            return Err(format!(
                "{} proofs, at most {MAX_CHALLENGES_PER_PERIOD}",
                m.proofs.len()
            ));
        }
        let proofs = m
            .proofs
            .iter()
            .enumerate()
            .map(|(i, bytes)| ChunkProof::from_bytes(bytes).map_err(|e| format!("proof {i}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SubmitStorageProof {
            deal_id: m.deal_id,
            provider: device_id("provider", &m.provider)?,
            period: m.period,
            proofs,
        })
    }

    /// Verifies the proofs against the period's challenges and pays the provider.
    pub fn execute<S>(&self, state: &mut S, ctx: &mut TxContext<'_>) -> Result<(), ExecError>
    where
        S: AccountsWrite + DevicesWrite + StakingWrite + StorageWrite,
    {
        let params = state.storage_params()?;
        let Some(mut deal) = state.deal(self.deal_id)? else {
            return Err(fail(format!("no deal {}", self.deal_id)));
        };
        if deal.status != DealStatus::Active {
            return Err(fail(format!("deal {} has ended", deal.id)));
        }
        if self.period < deal.start_period || self.period >= deal.end_period {
            return Err(fail(format!(
                "deal {} runs periods {} to {}, not {}",
                deal.id,
                deal.start_period,
                deal.end_period - 1,
                self.period
            )));
        }
        let opens = self.period.saturating_mul(params.proving_period_blocks);
        let closes = opens.saturating_add(params.proof_deadline_blocks);
        if ctx.height <= opens || ctx.height > closes {
            return Err(fail(format!(
                "proofs of period {} are accepted in blocks {} to {closes}, this is block {}",
                self.period,
                opens + 1,
                ctx.height
            )));
        }
        if state
            .proof_record(deal.id, self.period, &self.provider)?
            .is_some()
        {
            return Err(fail(format!(
                "provider {} already proved period {} of deal {}",
                self.provider, self.period, deal.id
            )));
        }
        let randomness = period_randomness(state, self.period, &params)?
            .ok_or_else(|| fail(format!("block {opens}'s hash is not known")))?;
        let challenges = derive_deal_challenges(
            &randomness,
            &deal,
            &self.provider,
            self.period,
            params.challenges_per_period,
        )
        .map_err(fail)?;
        if challenges.is_empty() {
            return Err(fail(format!(
                "provider {} holds no piece of deal {} due in period {}",
                self.provider, deal.id, self.period
            )));
        }
        if self.proofs.len() != challenges.len() {
            return Err(fail(format!(
                "{} proofs for {} challenges",
                self.proofs.len(),
                challenges.len()
            )));
        }
        for (i, (proof, challenge)) in self.proofs.iter().zip(&challenges).enumerate() {
            if proof.chunk_index != challenge.chunk {
                return Err(fail(format!(
                    "proof {i} proves chunk {} of segment {} piece {}, the challenge is chunk {}",
                    proof.chunk_index, challenge.segment, challenge.piece, challenge.chunk
                )));
            }
            let piece = deal
                .piece(challenge.segment, challenge.piece)
                .ok_or_else(|| fail("a challenge names a missing piece"))?;
            verify_chunk_proof(&piece.commitment.0, piece.size, proof).map_err(|e| {
                fail(format!(
                    "proof {i} (segment {} piece {} chunk {}) is wrong: {e}",
                    challenge.segment, challenge.piece, challenge.chunk
                ))
            })?;
        }
        // Paid: the rates of its pieces due in this period.
        let mut paid = Amount::ZERO;
        for (device, pieces) in deal.due_pieces(self.period) {
            if device != self.provider {
                continue;
            }
            for (segment, piece) in pieces {
                if let Some(piece) = deal.piece(segment, piece) {
                    paid = paid
                        .checked_add(piece.rate)
                        .ok_or_else(|| fail("payment overflows"))?;
                }
            }
        }
        // The reserve is never touched by provider payments.
        let payable = deal
            .escrow_left
            .checked_sub(deal.repair_reserve_left)
            .unwrap_or(Amount::ZERO);
        let paid = paid.min(payable);
        let owner = provider_owner(state, &self.provider)?;
        pay_from_escrow(state, &mut deal, &owner, paid)?;
        deal.paid_to_providers = deal
            .paid_to_providers
            .checked_add(paid)
            .ok_or_else(|| fail("payment overflows"))?;
        state.put_deal(&deal);
        state.put_proof_record(&ProofRecord {
            deal: deal.id,
            period: self.period,
            provider: self.provider,
            outcome: ProofOutcome::Proven,
            height: ctx.height,
            paid,
        });
        if let Some(mut provider) = state.provider(&self.provider)? {
            let emitted = record_audit(state, &mut provider, true, &params)?;
            ctx.events.extend(emitted);
            state.put_provider(&provider);
        }
        ctx.events.push(events::proof_accepted(
            deal.id,
            &self.provider,
            self.period,
            paid,
        ));
        Ok(())
    }
}

/// Ends a deal early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminateDeal {
    /// The deal.
    pub deal_id: u64,
}

impl TerminateDeal {
    /// Stateless checks.
    pub fn from_proto(m: &v1::TerminateDeal) -> Result<Self, String> {
        Ok(TerminateDeal { deal_id: m.deal_id })
    }

    /// Pays providers their share of the unearned payments and refunds the rest.
    pub fn execute<S: AccountsWrite + DevicesRead + StorageWrite>(
        &self,
        state: &mut S,
        ctx: &mut TxContext<'_>,
    ) -> Result<(), ExecError> {
        let params = state.storage_params()?;
        let Some(mut deal) = state.deal(self.deal_id)? else {
            return Err(fail(format!("no deal {}", self.deal_id)));
        };
        if deal.client != ctx.sender {
            return Err(fail(format!(
                "deal {} belongs to client {}, not the signer",
                deal.id, deal.client
            )));
        }
        if deal.status != DealStatus::Active {
            return Err(fail(format!("deal {} has already ended", deal.id)));
        }
        let now = period_of(ctx.height, &params);
        // Unearned, per provider: the period in progress if it has not proven it yet, and
        // every later period (all pieces are due in those).
        let mut unearned: BTreeMap<DeviceId, Amount> = BTreeMap::new();
        let mut add = |device: DeviceId, amount: Amount| -> Result<(), ExecError> {
            let entry = unearned.entry(device).or_insert(Amount::ZERO);
            *entry = entry
                .checked_add(amount)
                .ok_or_else(|| fail("payment overflows"))?;
            Ok(())
        };
        if now >= deal.start_period && now < deal.end_period {
            for (device, pieces) in deal.due_pieces(now) {
                if state.proof_record(deal.id, now, &device)?.is_none() {
                    add(device, rate_sum(&deal, &pieces)?)?;
                }
            }
        }
        let later = (now + 1).max(deal.start_period);
        if later < deal.end_period {
            let count = u128::from(deal.end_period - later);
            for (device, pieces) in deal.due_pieces(later) {
                let per_period = rate_sum(&deal, &pieces)?;
                let amount = per_period
                    .0
                    .checked_mul(count)
                    .ok_or_else(|| fail("payment overflows"))?;
                add(device, Amount(amount))?;
            }
        }
        let penalties = unearned;
        let mut penalty_total = Amount::ZERO;
        for (device, unearned) in penalties {
            let share = share_bps(unearned, params.termination_penalty_bps)
                .ok_or_else(|| fail("payment overflows"))?;
            let payable = deal.escrow_left.min(share);
            let owner = provider_owner(state, &device)?;
            pay_from_escrow(state, &mut deal, &owner, payable)?;
            deal.paid_to_providers = deal
                .paid_to_providers
                .checked_add(payable)
                .ok_or_else(|| fail("payment overflows"))?;
            penalty_total = penalty_total
                .checked_add(payable)
                .ok_or_else(|| fail("payment overflows"))?;
        }
        let refund = deal.escrow_left;
        let client = deal.client;
        pay_from_escrow(state, &mut deal, &client, refund)?;
        deal.refunded = refund;
        deal.repair_reserve_left = Amount::ZERO;
        deal.status = DealStatus::Terminated;
        deal.ended_height = Some(ctx.height);
        release_capacity(state, &deal)?;
        state.put_deal(&deal);
        ctx.events.push(events::deal_ended(
            deal.id,
            "terminated",
            refund,
            penalty_total,
        ));
        Ok(())
    }
}

fn rate_sum(deal: &Deal, pieces: &[(u32, u32)]) -> Result<Amount, ExecError> {
    pieces
        .iter()
        .try_fold(Amount::ZERO, |sum, &(s, p)| {
            sum.checked_add(deal.piece(s, p).map(|x| x.rate).unwrap_or(Amount::ZERO))
        })
        .ok_or_else(|| fail("payment overflows"))
}

/// Moves an unhealthy piece to a new provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairDeal {
    /// The deal.
    pub deal_id: u64,
    /// The segment.
    pub segment: u32,
    /// The piece's index.
    pub piece: u32,
    /// The new provider.
    pub new_provider: DeviceId,
    /// The rebuilt piece's commitment.
    pub commitment: Hash,
    /// Its size.
    pub size: u64,
    /// The new provider's receipt.
    pub receipt: Signature,
}

impl RepairDeal {
    /// Stateless checks.
    pub fn from_proto(m: &v1::RepairDeal) -> Result<Self, String> {
        Ok(RepairDeal {
            deal_id: m.deal_id,
            segment: m.segment,
            piece: m.piece,
            new_provider: device_id("new_provider", &m.new_provider)?,
            commitment: commitment("commitment", &m.commitment)?,
            size: m.size,
            receipt: signature("receipt", &m.receipt)?,
        })
    }

    /// Checks the piece is unhealthy and repair due, moves it and pays the repairer.
    pub fn execute<S: AccountsWrite + DevicesRead + StorageWrite>(
        &self,
        state: &mut S,
        ctx: &mut TxContext<'_>,
    ) -> Result<(), ExecError> {
        let params = state.storage_params()?;
        let Some(mut deal) = state.deal(self.deal_id)? else {
            return Err(fail(format!("no deal {}", self.deal_id)));
        };
        if deal.status != DealStatus::Active {
            return Err(fail(format!("deal {} has ended", deal.id)));
        }
        let at = format!(
            "deal {} segment {} piece {}",
            deal.id, self.segment, self.piece
        );
        let Some(old) = deal.piece(self.segment, self.piece).cloned() else {
            return Err(fail(format!("{at} does not exist")));
        };
        if old.commitment != self.commitment || old.size != self.size {
            return Err(fail(format!(
                "{at}: a rebuilt piece is the same bytes, so its commitment and size must be the recorded {} and {}",
                old.commitment, old.size
            )));
        }
        // Health of every piece of the segment.
        let segment = deal
            .segments
            .get(self.segment as usize)
            .ok_or_else(|| fail(format!("{at} does not exist")))?;
        let mut healthy = 0u32;
        let mut target_health = None;
        for (index, piece) in segment.pieces.iter().enumerate() {
            let health = piece_health(state, piece)?;
            if health == Health::Healthy {
                healthy += 1;
            }
            if index == self.piece as usize {
                target_health = Some(health);
            }
            if piece.provider == self.new_provider {
                return Err(fail(format!(
                    "{at}: provider {} already holds piece {index} of this segment",
                    self.new_provider
                )));
            }
        }
        match target_health {
            Some(Health::Gone) => {}
            Some(Health::Unhealthy) if healthy <= u32::from(deal.repair_threshold) => {}
            Some(Health::Unhealthy) => {
                return Err(fail(format!(
                    "{at}: the segment still has {healthy} healthy pieces, above the repair threshold {}",
                    deal.repair_threshold
                )));
            }
            _ => {
                return Err(fail(format!(
                    "{at}: its provider {} is healthy (active and proved the last settled period)",
                    old.provider
                )));
            }
        }
        let mut new_provider = taking_provider(state, &self.new_provider)?;
        if new_provider.free_bytes() < self.size {
            return Err(fail(format!(
                "provider {} has {} bytes free, the piece is {}",
                self.new_provider,
                new_provider.free_bytes(),
                self.size
            )));
        }
        let new_rate = rate_for(new_provider.price_per_gib_period, self.size)
            .ok_or_else(|| fail("the piece's price overflows"))?;
        if new_rate > old.rate {
            return Err(fail(format!(
                "provider {} asks {new_rate} per period for the piece, the deal pays {}",
                self.new_provider, old.rate
            )));
        }
        let placed = PlacedPiece {
            provider: self.new_provider,
            commitment: self.commitment,
            size: self.size,
            receipt: self.receipt,
        };
        let client = deal.client;
        check_receipt(
            state,
            ctx,
            &client,
            &deal.cid,
            (self.segment, self.piece),
            &placed,
        )?;
        // Move the reservation.
        if let Some(mut previous) = state.provider(&old.provider)? {
            previous.reserved_bytes = previous.reserved_bytes.saturating_sub(old.size);
            state.put_provider(&previous);
        }
        new_provider.reserved_bytes = new_provider.reserved_bytes.saturating_add(self.size);
        state.put_provider(&new_provider);
        state.index_provider_deal(&self.new_provider, deal.id);
        let now = period_of(ctx.height, &params);
        if let Some(piece) = deal
            .segments
            .get_mut(self.segment as usize)
            .and_then(|s| s.pieces.get_mut(self.piece as usize))
        {
            // The provider due in the period in progress stays due in it (its window may be
            // open); a second repair in the same period keeps the first one's previous provider.
            if piece.since_period <= now {
                piece.previous_provider = Some(piece.provider);
            }
            let next_period = now + 1;
            piece.provider = self.new_provider;
            piece.since_period = next_period;
            piece.missed_last = false;
        }
        let wanted = Amount(
            old.rate
                .0
                .checked_mul(u128::from(params.repair_reward_periods))
                .ok_or_else(|| fail("the repair reward overflows"))?,
        );
        let reward = wanted.min(deal.repair_reserve_left).min(deal.escrow_left);
        deal.repair_reserve_left = Amount(deal.repair_reserve_left.0 - reward.0);
        pay_from_escrow(state, &mut deal, &ctx.sender, reward)?;
        deal.paid_to_repairers = deal
            .paid_to_repairers
            .checked_add(reward)
            .ok_or_else(|| fail("payment overflows"))?;
        state.put_deal(&deal);
        ctx.events.push(events::piece_repaired(
            deal.id,
            self.segment,
            self.piece,
            &old.provider,
            &self.new_provider,
            &ctx.sender,
            reward,
        ));
        Ok(())
    }
}

/// How a piece's provider stands, for repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Active and proved the last settled period.
    Healthy,
    /// Withdrawn, or missed the last settled period: repairable once the segment is at its
    /// repair threshold.
    Unhealthy,
    /// Disqualified, or its device gone: repairable at once.
    Gone,
}

/// A piece's health (docs/storage.md, RepairDeal).
pub fn piece_health<S: DevicesRead + StorageRead>(
    state: &S,
    piece: &Piece,
) -> crate::error::AppResult<Health> {
    if !device_is_active_storage(state, &piece.provider)? {
        return Ok(Health::Gone);
    }
    let status = state.provider(&piece.provider)?.map(|p| p.status);
    Ok(match status {
        None | Some(ProviderStatus::Failed) => Health::Gone,
        Some(ProviderStatus::Withdrawn) => Health::Unhealthy,
        Some(ProviderStatus::Active) if piece.missed_last => Health::Unhealthy,
        Some(ProviderStatus::Active) => Health::Healthy,
    })
}

/// Every storage message, for the app's dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageMsg {
    /// Post an offer.
    Register(RegisterStorageProvider),
    /// Change an offer.
    Update(UpdateStorageProvider),
    /// Withdraw an offer.
    Withdraw(WithdrawStorageProvider),
    /// Create a deal.
    CreateDeal(CreateDeal),
    /// Prove a period.
    SubmitProof(SubmitStorageProof),
    /// End a deal early.
    Terminate(TerminateDeal),
    /// Repair a piece.
    Repair(RepairDeal),
}

impl StorageMsg {
    /// Stateless checks of a storage message (`Err` for any other kind).
    pub fn from_proto(kind: &v1::message::Kind) -> Result<StorageMsg, String> {
        use v1::message::Kind;
        match kind {
            Kind::RegisterStorageProvider(m) => {
                RegisterStorageProvider::from_proto(m).map(StorageMsg::Register)
            }
            Kind::UpdateStorageProvider(m) => {
                UpdateStorageProvider::from_proto(m).map(StorageMsg::Update)
            }
            Kind::WithdrawStorageProvider(m) => {
                WithdrawStorageProvider::from_proto(m).map(StorageMsg::Withdraw)
            }
            Kind::CreateDeal(m) => CreateDeal::from_proto(m).map(StorageMsg::CreateDeal),
            Kind::SubmitStorageProof(m) => {
                SubmitStorageProof::from_proto(m).map(StorageMsg::SubmitProof)
            }
            Kind::TerminateDeal(m) => TerminateDeal::from_proto(m).map(StorageMsg::Terminate),
            Kind::RepairDeal(m) => RepairDeal::from_proto(m).map(StorageMsg::Repair),
            _ => Err("not a storage message".into()),
        }
    }

    /// The message's wire name.
    pub fn name(&self) -> &'static str {
        match self {
            StorageMsg::Register(_) => "register_storage_provider",
            StorageMsg::Update(_) => "update_storage_provider",
            StorageMsg::Withdraw(_) => "withdraw_storage_provider",
            StorageMsg::CreateDeal(_) => "create_deal",
            StorageMsg::SubmitProof(_) => "submit_storage_proof",
            StorageMsg::Terminate(_) => "terminate_deal",
            StorageMsg::Repair(_) => "repair_deal",
        }
    }

    /// What it acts on, for people: a provider's device id, a CID, or `deal <id>`.
    pub fn subject(&self) -> String {
        match self {
            StorageMsg::Register(m) => m.0.device.to_string(),
            StorageMsg::Update(m) => m.0.device.to_string(),
            StorageMsg::Withdraw(m) => m.device.to_string(),
            StorageMsg::CreateDeal(m) => m.cid.clone(),
            StorageMsg::SubmitProof(m) => format!("deal {}", m.deal_id),
            StorageMsg::Terminate(m) => format!("deal {}", m.deal_id),
            StorageMsg::Repair(m) => format!("deal {}", m.deal_id),
        }
    }

    /// Executes the message.
    pub fn execute<S>(&self, state: &mut S, ctx: &mut TxContext<'_>) -> Result<(), ExecError>
    where
        S: AccountsWrite + DevicesWrite + StakingWrite + StorageWrite,
    {
        match self {
            StorageMsg::Register(m) => m.execute(state, ctx),
            StorageMsg::Update(m) => m.execute(state, ctx),
            StorageMsg::Withdraw(m) => m.execute(state, ctx),
            StorageMsg::CreateDeal(m) => m.execute(state, ctx),
            StorageMsg::SubmitProof(m) => m.execute(state, ctx),
            StorageMsg::Terminate(m) => m.execute(state, ctx),
            StorageMsg::Repair(m) => m.execute(state, ctx),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn piece_strategy() -> impl Strategy<Value = v1::PiecePlacement> {
        (
            proptest::collection::vec(any::<u8>(), 0..24),
            proptest::collection::vec(any::<u8>(), 0..40),
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..70),
        )
            .prop_map(|(provider, commitment, size, receipt)| v1::PiecePlacement {
                provider,
                commitment,
                size,
                receipt,
            })
    }

    proptest! {
        #[test]
        fn arbitrary_storage_messages_are_judged_without_panicking(
            cid in prop_oneof![
                Just(groundwork_storage_net::compute_cid(&b"groundwork"[..]).unwrap().to_string()),
                "b[a-z2-7]{0,70}",
            ],
            file_size in any::<u64>(),
            data_pieces in 0u32..70_000,
            total_pieces in 0u32..70_000,
            segment_size in prop_oneof![Just(0u64), 1u64..1 << 20, any::<u64>()],
            repair_threshold in any::<u32>(),
            segments in proptest::collection::vec(
                (any::<u64>(), proptest::collection::vec(piece_strategy(), 0..5))
                    .prop_map(|(length, pieces)| v1::SegmentPlacement { length, pieces }),
                0..4,
            ),
            max_price in "[0-9]{0,45}",
            duration_periods in any::<u64>(),
            proofs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..12),
        ) {
            let deal = v1::CreateDeal {
                cid,
                file_size,
                data_pieces,
                total_pieces,
                segment_size,
                repair_threshold,
                segments,
                max_price,
                duration_periods,
            };
            let _ = CreateDeal::from_proto(&deal);
            let proof = v1::SubmitStorageProof {
                deal_id: duration_periods,
                provider: vec![1; 20],
                period: file_size,
                proofs,
            };
            let _ = SubmitStorageProof::from_proto(&proof);
        }
    }

    #[test]
    fn endpoints_must_be_http_urls() {
        let device = [7u8; 20];
        for bad in [
            "",
            "ftp://x",
            "http://",
            "http://a b",
            "javascript:alert(1)",
        ] {
            assert!(Offer::parse(&device, "1", 1, bad).is_err(), "{bad}");
        }
        let long = format!("http://{}", "a".repeat(MAX_ENDPOINT_BYTES));
        assert!(Offer::parse(&device, "1", 1, &long).is_err());
        assert!(Offer::parse(&device, "1", 0, "http://a").is_err());
        assert!(Offer::parse(&device, "-1", 1, "http://a").is_err());
        let offer = Offer::parse(&device, "0", 5, "https://provider.example:8080/x").unwrap();
        assert_eq!(offer.capacity_bytes, 5);
    }
}
