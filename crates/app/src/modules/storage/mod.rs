//! Storage: providers' offers, deals with escrowed payment, proofs of retrievability each
//! proving period, reputation and slashing, early termination and repair.
//!
//! The full contract — every message, its checks, the challenge derivation, the parameters and
//! the detection table behind `challenges_per_period` — is `docs/storage.md`, "On-chain
//! interface". In short:
//!
//! - A storage device's owner posts an offer (price per GiB per period, capacity, endpoint).
//! - A client's `CreateDeal` names every piece of every segment of an erasure-coded file with its
//!   provider, commitment, size and the provider's signed receipt; the whole price moves from the
//!   client's balance into escrow and the providers' capacity is reserved.
//! - In every period of the deal, chain randomness (the hash of the period's first block) picks
//!   chunks per (deal, provider) with `storage-net`'s challenge derivation; the provider answers
//!   with Merkle proofs before the deadline and is paid that period's share at once. At the
//!   deadline, providers that did not prove are recorded as missed: no pay, Storj-style
//!   reputation down, stake slashed after repeated misses, disqualified below the threshold.
//! - Escrow is part of the supply rule: `liquid + bonded + unbonding + escrowed = supply`.
//!
//! Everything here is integer arithmetic over state read in key order: deterministic.

pub mod events;
pub mod msgs;
pub mod params;
pub mod query;
pub mod state;

use groundwork_primitives::{Address, Amount, DeviceId, Hash, sha256};
use groundwork_proto::v1::Event;
use groundwork_state::StateRead;
use groundwork_storage_net::{commitment, derive_challenges};
use serde::Serialize;

use crate::chain;
use crate::error::{AppError, AppResult, ExecError};
use crate::modules::accounts::state::AccountsWrite;
use crate::modules::devices::state::{DeviceKind, DeviceStatus, DevicesRead};
use crate::modules::storage::params::{BPS, StorageParams};
use crate::modules::storage::state::{
    Deal, DealStatus, ProofOutcome, ProofRecord, ProviderRecord, ProviderStatus, StorageRead,
    StorageWrite,
};
use groundwork_storage_net::{AuditReputation, ReputationParams};

/// Bytes in a GiB: prices are per 2^30 bytes.
pub const GIB: u128 = 1 << 30;
/// Domain prefix of the per-provider challenge seed.
pub const CHALLENGE_SEED_TAG: &[u8] = b"groundwork/v1/storage-challenge";
/// The reputation model: Storj's audit constants (docs/storage.md, "Reputation").
pub const REPUTATION: ReputationParams = ReputationParams::STORJ;

/// Stores the parameters.
pub fn init_genesis(state: &mut impl StorageWrite, params: &StorageParams) {
    state.put_storage_params(params);
}

/// The proving period a height is in.
pub fn period_of(height: u64, params: &StorageParams) -> u64 {
    height / params.proving_period_blocks.max(1)
}

/// What a piece of `size` bytes earns per period at `price` per GiB: rounded up, so no piece
/// stores for free at a non-zero price. `None` on overflow.
pub fn rate_for(price_per_gib_period: Amount, size: u64) -> Option<Amount> {
    let product = price_per_gib_period.0.checked_mul(u128::from(size))?;
    Some(Amount(product.div_ceil(GIB)))
}

/// `amount × bps / 10000`, rounded down. `None` on overflow.
pub fn share_bps(amount: Amount, bps: u32) -> Option<Amount> {
    Some(Amount(amount.0.checked_mul(u128::from(bps))? / BPS))
}

/// One challenged chunk, named by its place in the deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DueChallenge {
    /// The segment.
    pub segment: u32,
    /// The piece's index in the segment.
    pub piece: u32,
    /// The chunk of the piece (4 KiB chunks, storage-net `commitment`).
    pub chunk: u64,
}

/// The seed of a provider's challenges in a period: SHA-256 of the tag, the hash of the period's
/// first block and the provider's id.
pub fn challenge_seed(period_block_hash: &Hash, provider: &DeviceId) -> [u8; 32] {
    sha256(
        &[
            CHALLENGE_SEED_TAG,
            &period_block_hash.0,
            provider.as_bytes(),
        ]
        .concat(),
    )
    .0
}

/// The challenges `provider` must answer for `period` of `deal`, given the hash of block
/// `period × proving_period_blocks` (docs/storage.md, "Challenges"). Empty if it has no piece
/// due in that period.
pub fn derive_deal_challenges(
    period_block_hash: &Hash,
    deal: &Deal,
    provider: &DeviceId,
    period: u64,
    count: u32,
) -> Result<Vec<DueChallenge>, String> {
    let due = deal.due_pieces(period);
    let Some((_, pieces)) = due.into_iter().find(|(p, _)| p == provider) else {
        return Ok(Vec::new());
    };
    let mut counts = Vec::with_capacity(pieces.len());
    for &(segment, piece) in &pieces {
        let record = deal
            .piece(segment, piece)
            .ok_or_else(|| format!("deal {} has no piece {segment}/{piece}", deal.id))?;
        counts.push(commitment::chunk_count(record.size));
    }
    let seed = challenge_seed(period_block_hash, provider);
    let challenges = derive_challenges(&seed, deal.id, period, &counts, count)
        .map_err(|e| format!("cannot derive challenges: {e}"))?;
    challenges
        .into_iter()
        .map(|c| {
            let &(segment, piece) = pieces
                .get(c.piece as usize)
                .ok_or_else(|| "a challenge names a piece out of range".to_string())?;
            Ok(DueChallenge {
                segment,
                piece,
                chunk: c.chunk,
            })
        })
        .collect()
}

/// The hash of the block that seeds `period`'s challenges, read from the recent block hashes in
/// state; `None` if that block is not executed yet or no longer kept.
pub fn period_randomness(
    state: &impl StateRead,
    period: u64,
    params: &StorageParams,
) -> AppResult<Option<Hash>> {
    let height = period.saturating_mul(params.proving_period_blocks);
    chain::block_hash_at(state, height)
}

/// Moves `amount` out of a deal's escrow to `to`.
pub(crate) fn pay_from_escrow<S: AccountsWrite + StorageWrite>(
    state: &mut S,
    deal: &mut Deal,
    to: &Address,
    amount: Amount,
) -> Result<(), ExecError> {
    if amount == Amount::ZERO {
        return Ok(());
    }
    deal.escrow_left = deal.escrow_left.checked_sub(amount).ok_or_else(|| {
        ExecError::Fatal(AppError::Corrupt {
            key: format!("storage/d/{}", deal.id),
            reason: format!("paying {amount} from an escrow of {}", deal.escrow_left),
        })
    })?;
    state.release_escrowed(amount)?;
    state
        .credit(to, amount)?
        .map_err(|e| ExecError::Fail(e.to_string()))?;
    Ok(())
}

/// The account a provider's payments go to: its device's owner now.
pub(crate) fn provider_owner(state: &impl DevicesRead, device: &DeviceId) -> AppResult<Address> {
    state
        .device(device)?
        .map(|d| d.owner)
        .ok_or_else(|| AppError::Corrupt {
            key: format!("storage/p/{device}"),
            reason: "a provider without a device".into(),
        })
}

/// Whether a device can hold pieces: it exists, is a storage device and is active.
pub(crate) fn device_is_active_storage(
    state: &impl DevicesRead,
    device: &DeviceId,
) -> AppResult<bool> {
    Ok(state
        .device(device)?
        .is_some_and(|d| d.kind == DeviceKind::Storage && d.status == DeviceStatus::Active))
}

/// Gives back every piece's reserved capacity.
pub(crate) fn release_capacity<S: StorageWrite>(state: &mut S, deal: &Deal) -> AppResult<()> {
    for (device, bytes) in deal.bytes_by_provider() {
        if let Some(mut provider) = state.provider(&device)? {
            provider.reserved_bytes = provider.reserved_bytes.saturating_sub(bytes);
            state.put_provider(&provider);
        }
    }
    Ok(())
}

/// Refunds what is left in escrow to the client and closes the deal.
fn complete_deal<S: AccountsWrite + StorageWrite>(
    state: &mut S,
    deal: &mut Deal,
    height: u64,
) -> Result<Event, ExecError> {
    let refund = deal.escrow_left;
    let client = deal.client;
    pay_from_escrow(state, deal, &client, refund)?;
    deal.refunded = deal
        .refunded
        .checked_add(refund)
        .unwrap_or(Amount(u128::MAX));
    deal.repair_reserve_left = Amount::ZERO;
    deal.status = DealStatus::Completed;
    deal.ended_height = Some(height);
    release_capacity(state, deal)?;
    state.put_deal(deal);
    Ok(events::deal_ended(
        deal.id,
        "completed",
        refund,
        Amount::ZERO,
    ))
}

/// Records one audit on a provider: reputation, counters, and for a failure the slash after
/// repeated misses and disqualification. Returns the events.
pub(crate) fn record_audit<S>(
    state: &mut S,
    provider: &mut ProviderRecord,
    passed: bool,
    params: &StorageParams,
) -> AppResult<Vec<Event>>
where
    S: AccountsWrite
        + StorageWrite
        + crate::modules::devices::state::DevicesWrite
        + crate::modules::staking::state::StakingWrite,
{
    let mut emitted = Vec::new();
    let reputation = AuditReputation {
        alpha: provider.reputation_alpha,
        beta: provider.reputation_beta,
    }
    .after_audit(&REPUTATION, passed);
    provider.reputation_alpha = reputation.alpha;
    provider.reputation_beta = reputation.beta;
    if passed {
        provider.passes += 1;
        provider.consecutive_failures = 0;
    } else {
        provider.misses += 1;
        provider.consecutive_failures += 1;
        if provider.consecutive_failures >= params.slash_after_failures {
            provider.consecutive_failures = 0;
            let stake = state
                .device(&provider.device)?
                .map(|d| d.stake)
                .unwrap_or(Amount::ZERO);
            let amount = share_bps(stake, params.slash_bps).unwrap_or(stake);
            let (burned, event) = crate::modules::devices::slash(
                state,
                &provider.device,
                amount,
                "storage proofs missed repeatedly",
            )?;
            provider.slashed = provider
                .slashed
                .checked_add(burned)
                .unwrap_or(provider.slashed);
            emitted.push(event);
        }
        if provider.status != ProviderStatus::Failed && reputation.is_disqualified(&REPUTATION) {
            provider.status = ProviderStatus::Failed;
            emitted.push(events::provider_failed(
                &provider.device,
                reputation.score_ppm(),
            ));
        }
    }
    Ok(emitted)
}

/// Checks the storage module's books over the whole state (for tests and audits): the escrow
/// total equals what the active deals still hold, and every active deal's escrow is accounted
/// for (escrowed = left + paid to providers + paid to repairers + refunded, reserve ≤ left).
pub fn check_invariants(state: &impl StorageRead) -> AppResult<Result<(), String>> {
    let mut held: u128 = 0;
    let mut after = None;
    loop {
        let ids = state.active_deals(after, 256)?;
        let Some(&last) = ids.last() else {
            break;
        };
        after = Some(last);
        for id in ids {
            let Some(deal) = state.deal(id)? else {
                return Ok(Err(format!("active deal {id} has no record")));
            };
            let accounted = [
                deal.escrow_left,
                deal.paid_to_providers,
                deal.paid_to_repairers,
                deal.refunded,
            ]
            .iter()
            .try_fold(0u128, |sum, amount| sum.checked_add(amount.0));
            if accounted != Some(deal.escrowed_total.0) {
                return Ok(Err(format!(
                    "deal {id} escrowed {} but accounts for {accounted:?}",
                    deal.escrowed_total
                )));
            }
            if deal.repair_reserve_left > deal.escrow_left {
                return Ok(Err(format!(
                    "deal {id} reserves {} for repairs out of {} left",
                    deal.repair_reserve_left, deal.escrow_left
                )));
            }
            held = held.saturating_add(deal.escrow_left.0);
        }
    }
    let escrowed = state.storage_totals()?.escrowed;
    if held != escrowed.0 {
        return Ok(Err(format!(
            "active deals hold {held} in escrow, the escrow total is {escrowed}"
        )));
    }
    Ok(Ok(()))
}

/// End of block: if this block closes a proof window, settles that period for every active deal
/// (providers that did not prove are missed), then completes deals whose last period it was.
pub fn end_block<S>(state: &mut S, height: u64) -> AppResult<Vec<Event>>
where
    S: AccountsWrite
        + StorageWrite
        + crate::modules::devices::state::DevicesWrite
        + crate::modules::staking::state::StakingWrite,
{
    let params = state.storage_params()?;
    let deadline = params.proof_deadline_blocks;
    let length = params.proving_period_blocks;
    if height < deadline || !(height - deadline).is_multiple_of(length) {
        return Ok(Vec::new());
    }
    let period = (height - deadline) / length;
    let mut emitted = Vec::new();
    let mut after = None;
    loop {
        let ids = state.active_deals(after, 256)?;
        let Some(&last) = ids.last() else {
            break;
        };
        after = Some(last);
        for id in ids {
            let Some(mut deal) = state.deal(id)? else {
                continue;
            };
            settle_period(state, &mut deal, period, height, &params, &mut emitted)?;
        }
    }
    Ok(emitted)
}

fn settle_period<S>(
    state: &mut S,
    deal: &mut Deal,
    period: u64,
    height: u64,
    params: &StorageParams,
    emitted: &mut Vec<Event>,
) -> AppResult<()>
where
    S: AccountsWrite
        + StorageWrite
        + crate::modules::devices::state::DevicesWrite
        + crate::modules::staking::state::StakingWrite,
{
    let deal_id = deal.id;
    let fatal = move |e: ExecError| match e {
        ExecError::Fatal(e) => e,
        ExecError::Fail(reason) => AppError::Corrupt {
            key: format!("storage/d/{deal_id}"),
            reason,
        },
    };
    if period < deal.start_period {
        return Ok(());
    }
    if period < deal.end_period {
        for (device, pieces) in deal.due_pieces(period) {
            let proven = state.proof_record(deal.id, period, &device)?.is_some();
            for (segment, piece) in pieces {
                // A piece repaired during the period answers to its new provider's record
                // from the next period on: only the current holder's outcome marks it.
                if let Some(record) = deal
                    .segments
                    .get_mut(segment as usize)
                    .and_then(|s| s.pieces.get_mut(piece as usize))
                    .filter(|record| record.provider == device)
                {
                    record.missed_last = !proven;
                }
            }
            if proven {
                continue;
            }
            state.put_proof_record(&ProofRecord {
                deal: deal.id,
                period,
                provider: device,
                outcome: ProofOutcome::Missed,
                height,
                paid: Amount::ZERO,
            });
            emitted.push(events::proof_missed(deal.id, &device, period));
            if let Some(mut provider) = state.provider(&device)? {
                emitted.extend(record_audit(state, &mut provider, false, params)?);
                state.put_provider(&provider);
            }
        }
        deal.settled_through = period + 1;
    }
    if deal.settled_through >= deal.end_period || period + 1 >= deal.end_period {
        deal.settled_through = deal.end_period;
        emitted.push(complete_deal(state, deal, height).map_err(fatal)?);
    } else {
        state.put_deal(deal);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use groundwork_primitives::{Address, Amount, DeviceId, Hash};

    use super::*;
    use crate::modules::storage::msgs::piece_receipt_message;
    use crate::modules::storage::state::{Piece, Segment};

    fn device(byte: u8) -> DeviceId {
        DeviceId::from_slice(&[byte; 20]).unwrap()
    }

    fn piece(provider: u8, size: u64, since_period: u64) -> Piece {
        Piece {
            provider: device(provider),
            commitment: Hash([provider; 32]),
            size,
            rate: Amount(u128::from(size)),
            since_period,
            previous_provider: None,
            missed_last: false,
        }
    }

    fn deal() -> Deal {
        Deal {
            id: 9,
            client: Address([1; 20]),
            cid: "bafkq".into(),
            file_size: 100,
            data_pieces: 2,
            total_pieces: 3,
            segment_size: 64,
            repair_threshold: 2,
            segments: vec![
                Segment {
                    length: 64,
                    pieces: vec![
                        piece(1, 40_000, 1),
                        piece(2, 40_000, 1),
                        piece(3, 40_000, 1),
                    ],
                },
                Segment {
                    length: 36,
                    pieces: vec![piece(3, 9_000, 1), piece(1, 9_000, 5), piece(2, 9_000, 1)],
                },
            ],
            created_height: 0,
            start_period: 1,
            end_period: 10,
            settled_through: 1,
            escrowed_total: Amount::ZERO,
            escrow_left: Amount::ZERO,
            repair_reserve_left: Amount::ZERO,
            paid_to_providers: Amount::ZERO,
            paid_to_repairers: Amount::ZERO,
            refunded: Amount::ZERO,
            status: DealStatus::Active,
            ended_height: None,
        }
    }

    #[test]
    fn rates_round_up_so_no_piece_is_stored_for_free() {
        assert_eq!(rate_for(Amount(1 << 30), 4096), Some(Amount(4096)));
        assert_eq!(rate_for(Amount(1), 1), Some(Amount(1)));
        assert_eq!(rate_for(Amount(0), 1 << 40), Some(Amount(0)));
        assert_eq!(rate_for(Amount(3), (1 << 30) + 1), Some(Amount(4)));
        assert_eq!(rate_for(Amount(u128::MAX), 2), None);
        assert_eq!(share_bps(Amount(1_999), 1_000), Some(Amount(199)));
    }

    #[test]
    fn the_default_parameters_are_valid_and_bad_ones_are_named() {
        StorageParams::default().validate().unwrap();
        let cases = [
            (
                StorageParams {
                    proof_deadline_blocks: 61,
                    ..StorageParams::default()
                },
                "proof_deadline_blocks",
            ),
            (
                StorageParams {
                    challenges_per_period: 11,
                    ..StorageParams::default()
                },
                "challenges_per_period",
            ),
            (
                StorageParams {
                    slash_bps: 10_001,
                    ..StorageParams::default()
                },
                "slash_bps",
            ),
            (
                StorageParams {
                    proving_period_blocks: 0,
                    ..StorageParams::default()
                },
                "proving_period_blocks",
            ),
        ];
        for (params, name) in cases {
            let error = params.validate().unwrap_err();
            assert!(error.contains(name), "{error}");
        }
    }

    #[test]
    fn challenges_are_per_provider_and_cover_only_pieces_due() {
        let deal = deal();
        let seed = Hash([7; 32]);
        let first = derive_deal_challenges(&seed, &deal, &device(1), 2, 10).unwrap();
        assert_eq!(first.len(), 10);
        assert_eq!(
            first,
            derive_deal_challenges(&seed, &deal, &device(1), 2, 10).unwrap()
        );
        // Provider 1's piece of segment 1 is due only from period 5.
        assert!(first.iter().all(|c| (c.segment, c.piece) == (0, 0)));
        assert!(first.iter().all(|c| c.chunk < 10));
        let later = derive_deal_challenges(&seed, &deal, &device(1), 5, 50).unwrap();
        assert!(later.iter().any(|c| (c.segment, c.piece) == (1, 1)));
        assert!(
            later
                .iter()
                .all(|c| c.chunk < commitment::chunk_count(40_000))
        );
        // Other providers, periods and block hashes give other challenges.
        let other = derive_deal_challenges(&seed, &deal, &device(3), 2, 10).unwrap();
        assert!(
            other
                .iter()
                .all(|c| [(0, 2), (1, 0)].contains(&(c.segment, c.piece)))
        );
        assert_ne!(
            first,
            derive_deal_challenges(&Hash([8; 32]), &deal, &device(1), 2, 10).unwrap()
        );
        assert_ne!(
            first,
            derive_deal_challenges(&seed, &deal, &device(1), 3, 10).unwrap()
        );
        // No pieces, no challenges.
        assert!(
            derive_deal_challenges(&seed, &deal, &device(4), 2, 10)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_repaired_piece_stays_due_from_its_previous_provider_until_the_next_period() {
        let mut deal = deal();
        // Segment 0's piece 0 moved from provider 1 to provider 4 during period 3.
        let moved = &mut deal.segments[0].pieces[0];
        moved.previous_provider = Some(moved.provider);
        moved.provider = device(4);
        moved.since_period = 4;
        let holders = |period| {
            deal.due_pieces(period)
                .into_iter()
                .filter(|(_, pieces)| pieces.contains(&(0, 0)))
                .map(|(provider, _)| provider)
                .collect::<Vec<_>>()
        };
        assert_eq!(holders(3), [device(1)]);
        assert_eq!(holders(4), [device(4)]);
        let seed = Hash([3; 32]);
        // Provider 1's window of period 3 is what it was before the repair.
        let before = {
            let mut original = self::tests::deal();
            original.segments[0].pieces[0].since_period = 1;
            derive_deal_challenges(&seed, &original, &device(1), 3, 10).unwrap()
        };
        assert_eq!(
            derive_deal_challenges(&seed, &deal, &device(1), 3, 10).unwrap(),
            before
        );
        assert!(
            derive_deal_challenges(&seed, &deal, &device(4), 3, 10)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn the_books_check_catches_escrow_that_is_not_accounted_for() {
        let empty: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = Default::default();
        let mut state = groundwork_state::Overlay::new(&empty);
        let mut deal = deal();
        deal.escrowed_total = Amount(100);
        deal.escrow_left = Amount(60);
        deal.paid_to_providers = Amount(40);
        state.put_deal(&deal);
        state.add_escrowed(Amount(60)).unwrap();
        assert_eq!(check_invariants(&state).unwrap(), Ok(()));
        // Paid out without leaving the escrow total.
        deal.escrow_left = Amount(50);
        deal.paid_to_providers = Amount(50);
        state.put_deal(&deal);
        let broken = check_invariants(&state).unwrap().unwrap_err();
        assert!(
            broken.contains("hold 50 in escrow, the escrow total is 60"),
            "{broken}"
        );
        // A deal that pays out more than it took in.
        deal.paid_to_providers = Amount(70);
        state.put_deal(&deal);
        let broken = check_invariants(&state).unwrap().unwrap_err();
        assert!(broken.contains("deal 9 escrowed 100"), "{broken}");
    }

    #[test]
    fn a_piece_receipt_binds_client_cid_place_commitment_and_size() {
        let message =
            piece_receipt_message("c", &Address([1; 20]), "bafy", 2, 1, &Hash([5; 32]), 7);
        let tag = groundwork_primitives::domain::STORAGE_PIECE_RECEIPT;
        assert!(message.starts_with(tag));
        assert_eq!(message.len(), tag.len() + 1 + 1 + 20 + 32 + 4 + 4 + 32 + 8);
        let variations = [
            piece_receipt_message("d", &Address([1; 20]), "bafy", 2, 1, &Hash([5; 32]), 7),
            piece_receipt_message("c", &Address([2; 20]), "bafy", 2, 1, &Hash([5; 32]), 7),
            piece_receipt_message("c", &Address([1; 20]), "bafz", 2, 1, &Hash([5; 32]), 7),
            piece_receipt_message("c", &Address([1; 20]), "bafy", 1, 2, &Hash([5; 32]), 7),
            piece_receipt_message("c", &Address([1; 20]), "bafy", 2, 1, &Hash([6; 32]), 7),
            piece_receipt_message("c", &Address([1; 20]), "bafy", 2, 1, &Hash([5; 32]), 8),
        ];
        assert!(variations.iter().all(|v| *v != message));
    }

    #[test]
    fn a_genesis_without_a_storage_section_gets_the_defaults() {
        let text = r#"{"chain_id":"t","genesis_time_ms":1,"token":{"symbol":"GWT","decimals":8},
            "validators":[{"name":"v","public_key":"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"}]}"#;
        let genesis = crate::Genesis::from_json(text).unwrap();
        assert_eq!(genesis.params.storage, StorageParams::default());
        let typo = text.replace(
            r#""token""#,
            r#""params":{"storage":{"proving_period":5}},"token""#,
        );
        assert!(crate::Genesis::from_json(&typo).is_err());
    }
}
