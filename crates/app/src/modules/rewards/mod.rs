//! Rewards: at each epoch's last block, mint the epoch's emission to the owners of the devices
//! that did verified work, and keep, per device, why it earned what it did.
//!
//! The order, in the epoch's last block, after the reports module saved the epoch's counts
//! (`reports/epoch/`):
//!
//! 1. **Emission**: the genesis schedule's amount for the epoch
//!    ([`groundwork_tokenomics::EmissionSchedule::emission_for_epoch`]), plus what the previous
//!    epoch carried over.
//! 2. **Activity**: every device with counts for the epoch, in device-id order: valid heartbeats
//!    (uptime needs `tokenomics.uptime.min_heartbeats`), its beacons' witness counts and the
//!    witness counts of the beacons it heard (HIP-15 units, diminishing beyond
//!    `coverage.witness_redundancy`), its asserted cell (HIP-17 density scaling),
//!    [`data_transfer_weight`], valid sensor readings.
//! 3. **Reputation**: the device's audit score is updated with the epoch's verdicts (valid reports
//!    as successes, then invalid ones as failures, Storj's beta model); the multiplier is the score,
//!    zero below the disqualification threshold. A device with a spotless history has no key.
//! 4. **Shares**: [`groundwork_tokenomics::compute_epoch_rewards`] splits the funds into pools
//!    and shares each by weight, rounding every payout down.
//! 5. **Payment**: each owner is minted the sum of its devices' payouts (owners in address
//!    order); the treasury is minted what the parameters route to it; what is routed to burn is
//!    never minted; what is carried over waits in `rewards/carry` (not minted either).
//! 6. **Records**: the epoch summary goes into state; each device's breakdown goes into the
//!    block store's derived records (`w/` ‖ device ‖ epoch), written with the block.
//!
//! Integers only: amounts are base units (u128), fractions 18-decimal fixed point, rounded down.

pub mod events;
pub mod msgs;
pub mod params;
pub mod query;
pub mod state;

use groundwork_primitives::{Address, Amount, DeviceId};
use groundwork_proto::v1::Event;
use groundwork_state::{StateRead, StateWrite};
use groundwork_tokenomics::{
    AuditOutcome, CapacityIntegral, DeviceActivity, Distribution, EpochFunds, Fixed, ProofKind,
    compute_epoch_rewards,
};
use rayon::prelude::*;

use crate::error::{AppError, AppResult};
use crate::modules::accounts::state::{Account, AccountsRead, AccountsWrite};
use crate::modules::devices::state::DevicesRead;
use crate::modules::reports::state::{EpochCounts, ReportsRead};
use params::RewardsParams;
use state::{
    DeviceRewards, EpochSummary, PoolLine, PoolSummary, RewardsRead, RewardsWrite, breakdown_key,
};

/// The data-transfer pool's weight for a device's epoch: the credits its valid data transfer
/// receipts spent (credits module): rewards follow what users actually paid for.
pub fn data_transfer_weight(counts: &EpochCounts) -> u128 {
    u128::from(counts.credits_spent)
}

/// Valid reports the device itself made in the epoch (its verdict history's successes).
pub fn valid_reports(counts: &EpochCounts) -> u64 {
    counts
        .heartbeats
        .saturating_add(counts.beacons)
        .saturating_add(counts.witnesses)
        .saturating_add(counts.data_transfers)
        .saturating_add(counts.sensor_readings)
}

/// Stores the parameters at genesis.
pub fn init_genesis(state: &mut impl RewardsWrite, params: &RewardsParams) {
    state.put_rewards_params(params);
}

/// What paying an epoch produced besides state changes.
#[derive(Debug, Default)]
pub struct EpochPayout {
    /// The summary (also in state).
    pub summary: Option<EpochSummary>,
    /// Derived records to write with the block: breakdown key → encoded [`DeviceRewards`].
    pub records: Vec<(Vec<u8>, Vec<u8>)>,
    /// Block events.
    pub events: Vec<Event>,
}

/// Timings of one epoch's payout, in microseconds (for the benchmark; not consensus).
#[derive(Debug, Clone, Copy, Default)]
pub struct PayoutTimings {
    /// Reading counts, owners, cells and scores.
    pub load_us: u64,
    /// The reward computation.
    pub compute_us: u64,
    /// Minting to owners, scores, summary and encoding the records.
    pub apply_us: u64,
}

/// A device's audit score after the epoch, its value and the multiplier it gives, and what it
/// was paid (all pools).
struct Scored {
    score: groundwork_tokenomics::AuditScore,
    value: Fixed,
    multiplier: Fixed,
    paid: u128,
}

/// One device's inputs, read from state (its counts go into its activity).
struct Loaded {
    device: DeviceId,
    owner: Address,
    cell: Option<u64>,
    stored_score: Option<groundwork_tokenomics::AuditScore>,
}

/// What the pure part of an epoch's payout produced: per device (in id order) its inputs and
/// score, the tokenomics result and the encoded breakdown records.
struct EpochComputation {
    devices: Vec<Loaded>,
    scored: Vec<Scored>,
    rewards: groundwork_tokenomics::EpochRewards<DeviceId>,
    records: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Runs `work` on `pool` when there is one (its parallel loops then use its threads).
fn on_threads<R: Send>(pool: Option<&rayon::ThreadPool>, work: impl FnOnce() -> R + Send) -> R {
    match pool {
        Some(pool) => pool.install(work),
        None => work(),
    }
}

/// Owners with what they are owed, in address order, and their accounts (same order).
type OwnersToCredit = (Vec<(Address, Amount)>, Vec<Account>);

/// The owners of paid devices with what they are owed, in address order, and each one's account
/// as `state` holds it (read in parallel; the first error in address order is returned).
fn owners_and_accounts<S: StateRead + Sync>(
    state: &S,
    devices: &[Loaded],
    scored: &[Scored],
) -> AppResult<OwnersToCredit> {
    let mut owed: Vec<(Address, u128)> = devices
        .par_iter()
        .zip(scored)
        .filter(|(_, s)| s.paid > 0)
        .map(|(d, s)| (d.owner, s.paid))
        .collect();
    // Byte order of the address, compared as two integers rather than by `memcmp`.
    let order = |address: &Address| {
        let [
            b0,
            b1,
            b2,
            b3,
            b4,
            b5,
            b6,
            b7,
            b8,
            b9,
            b10,
            b11,
            b12,
            b13,
            b14,
            b15,
            b16,
            b17,
            b18,
            b19,
        ] = address.0;
        (
            u128::from_be_bytes([
                b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15,
            ]),
            u32::from_be_bytes([b16, b17, b18, b19]),
        )
    };
    owed.par_sort_unstable_by_key(|(owner, _)| order(owner));
    let mut credits: Vec<(Address, Amount)> = Vec::new();
    for (owner, amount) in owed {
        match credits.last_mut() {
            Some((last, total)) if *last == owner => {
                *total = Amount(total.0.saturating_add(amount))
            }
            _ => credits.push((owner, Amount(amount))),
        }
    }
    let accounts: Vec<AppResult<Account>> = credits
        .par_iter()
        .map(|(owner, _)| state.account(owner))
        .collect();
    let accounts = accounts.into_iter().collect::<AppResult<Vec<Account>>>()?;
    Ok((credits, accounts))
}

/// Devices per chunk when breakdown records are built in parallel.
const RECORD_CHUNK: usize = 4096;

/// The breakdown records of a run of devices (in id order), and each one's total paid (into
/// `scored`). `pools` are the epoch's distributions in the parameters' order.
fn breakdown_records(
    epoch: u64,
    pools: &[(ProofKind, &Distribution<DeviceId>)],
    devices: &[Loaded],
    scored: &mut [Scored],
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let Some(first) = devices.first() else {
        return Vec::new();
    };
    // Per pool, the first payout at or after this run's first device.
    let mut next: Vec<usize> = pools
        .iter()
        .map(|(_, d)| d.payouts.partition_point(|p| p.device < first.device))
        .collect();
    // One breakdown reused for every device of the run (its pool lines are cleared each time).
    let mut breakdown = DeviceRewards {
        device: first.device,
        epoch,
        owner: first.owner,
        reputation_score: Fixed::ZERO,
        reputation: Fixed::ZERO,
        pools: Vec::with_capacity(pools.len()),
        total: Amount::ZERO,
    };
    let mut out = Vec::with_capacity(devices.len());
    for (device, scored) in devices.iter().zip(scored) {
        breakdown.pools.clear();
        let mut total = 0u128;
        for ((kind, distribution), at) in pools.iter().zip(next.iter_mut()) {
            let payouts = &distribution.payouts;
            while payouts.get(*at).is_some_and(|p| p.device < device.device) {
                *at += 1;
            }
            let Some(payout) = payouts.get(*at).filter(|p| p.device == device.device) else {
                continue;
            };
            *at += 1;
            total = total.saturating_add(payout.amount);
            breakdown.pools.push(PoolLine {
                kind: *kind,
                units: payout.units,
                density_scale: payout.density_scale,
                reputation: payout.reputation,
                weight: Amount(payout.weight),
                amount: Amount(payout.amount),
                ineligible: payout.ineligible,
            });
        }
        scored.paid = total;
        breakdown.device = device.device;
        breakdown.owner = device.owner;
        breakdown.reputation_score = scored.value;
        breakdown.reputation = scored.multiplier;
        breakdown.total = Amount(total);
        out.push((breakdown_key(&device.device, epoch), breakdown.encode()));
    }
    out
}

/// Reads the inputs of the devices whose id starts with byte `shard`: their counts, owner and
/// cell (from ordered scans of the shard's device records while most of them reported), and
/// stored score (merged from one ordered scan of the shard's scores rather than a lookup per
/// device). Devices without a record are skipped.
fn load_shard<S: StateRead>(
    state: &S,
    epoch: u64,
    shard: u8,
) -> AppResult<Vec<(Loaded, EpochCounts)>> {
    let counted = state.epoch_counts_of_shard(epoch, shard)?;
    if counted.is_empty() {
        return Ok(Vec::new());
    }
    let mut scores = state.audit_scores_of_shard(shard)?.into_iter().peekable();
    let ids: Vec<DeviceId> = counted.iter().map(|(device, _)| *device).collect();
    let records = state.owners_and_cells_of_shard(shard, &ids)?;
    drop(ids);
    let mut out = Vec::with_capacity(counted.len());
    for ((device, counts), record) in counted.into_iter().zip(records) {
        while scores.next_if(|(id, _)| *id < device).is_some() {}
        let stored_score = scores
            .next_if(|(id, _)| *id == device)
            .map(|(_, score)| score);
        let Some((owner, cell)) = record else {
            continue;
        };
        out.push((
            Loaded {
                device,
                owner,
                cell,
                stored_score,
            },
            counts,
        ));
    }
    Ok(out)
}

/// The pure part of paying an epoch: reads the inputs, scores the devices, runs the tokenomics
/// and builds the breakdown records, on the current rayon pool.
fn compute_epoch<S: StateRead + Sync>(
    state: &S,
    tokenomics: &groundwork_tokenomics::TokenomicsParams,
    epoch: u64,
    funds: EpochFunds,
    timings: &mut PayoutTimings,
) -> AppResult<EpochComputation> {
    let phase = std::time::Instant::now();
    let internal = |what: &str, e: groundwork_tokenomics::TokenomicsError| AppError::Corrupt {
        key: "rewards/params".into(),
        reason: format!("{what}: {e}"),
    };
    // Every device with counts this epoch, in id order: the 256 shards (first byte of the id)
    // are read in parallel and put back in shard order.
    let shards: Vec<u8> = (0..=u8::MAX).collect();
    let loaded: Vec<AppResult<Vec<(Loaded, EpochCounts)>>> = shards
        .par_iter()
        .map(|shard| load_shard(state, epoch, *shard))
        .collect();
    let mut devices = Vec::new();
    let mut counts = Vec::new();
    for shard in loaded {
        for (device, device_counts) in shard? {
            devices.push(device);
            counts.push(device_counts);
        }
    }
    timings.load_us = phase.elapsed().as_micros() as u64;

    let phase = std::time::Instant::now();
    let reputation = &tokenomics.reputation;
    let initial = reputation.initial();
    // Each device's score after the epoch, its value and multiplier, computed once.
    let mut scored: Vec<Scored> = devices
        .par_iter()
        .zip(&counts)
        .map(|(d, counts)| {
            let before = d.stored_score.unwrap_or(initial);
            let after =
                reputation.update_many(before, AuditOutcome::Success, valid_reports(counts));
            let score = reputation.update_many(after, AuditOutcome::Failure, counts.invalid);
            let value = reputation.score(score);
            let multiplier = if value < reputation.disqualification_threshold {
                Fixed::ZERO
            } else {
                value
            };
            Scored {
                score,
                value,
                multiplier,
                paid: 0,
            }
        })
        .collect();
    let activities: Vec<DeviceActivity<DeviceId>> = devices
        .par_iter()
        .zip(counts)
        .zip(&scored)
        .map(|((d, counts), s)| activity_for(d, counts, s.multiplier))
        .collect();
    let rewards = compute_epoch_rewards(tokenomics, epoch, funds, &activities)
        .map_err(|e| internal("epoch rewards", e))?;
    drop(activities);
    if !rewards.is_balanced() {
        return Err(AppError::Corrupt {
            key: "rewards".into(),
            reason: format!("epoch {epoch}'s rewards do not balance"),
        });
    }
    timings.compute_us = phase.elapsed().as_micros() as u64;

    let phase = std::time::Instant::now();
    // Each device's breakdown, from its payout in every pool, encoded straight into its record.
    // Pools list their participants in device order, as `devices` is, so each fixed-size chunk
    // of devices finds its start in every pool by one binary search and then walks the pools
    // alongside its devices. Chunks are cut by position, not by thread, and come back in order.
    let pools_in_order: Vec<_> = tokenomics
        .pools
        .pools
        .iter()
        .filter_map(|spec| rewards.pools.get(&spec.kind).map(|d| (spec.kind, d)))
        .collect();
    let records: Vec<Vec<(Vec<u8>, Vec<u8>)>> = devices
        .par_chunks(RECORD_CHUNK)
        .zip(scored.par_chunks_mut(RECORD_CHUNK))
        .map(|(chunk, scored)| breakdown_records(epoch, &pools_in_order, chunk, scored))
        .collect();
    let records = records.concat();
    // Building the records is the first part of the apply phase; the caller adds the rest.
    timings.apply_us = phase.elapsed().as_micros() as u64;
    Ok(EpochComputation {
        devices,
        scored,
        rewards,
        records,
    })
}

/// End of block: when `height` closes an epoch, pays it. Runs after the reports module's
/// `end_block` in the same block.
pub fn end_block<S>(state: &mut S, height: u64, threads: usize) -> AppResult<EpochPayout>
where
    S: StateRead + StateWrite + Sync,
{
    let reports = state.reports_params()?;
    let epoch_blocks = reports.epoch_blocks.max(1);
    if !(height + 1).is_multiple_of(epoch_blocks) {
        return Ok(EpochPayout::default());
    }
    let (payout, _) = pay_epoch(state, reports.epoch_of(height), epoch_blocks, threads)?;
    Ok(payout)
}

/// Pays one epoch from its saved counts (see the module docs for the order).
pub fn pay_epoch<S>(
    state: &mut S,
    epoch: u64,
    epoch_blocks: u64,
    threads: usize,
) -> AppResult<(EpochPayout, PayoutTimings)>
where
    S: StateRead + StateWrite + Sync,
{
    let mut timings = PayoutTimings::default();
    let params = state.rewards_params()?;
    let tokenomics = &params.tokenomics;
    let internal = |what: &str, e: groundwork_tokenomics::TokenomicsError| AppError::Corrupt {
        key: "rewards/params".into(),
        reason: format!("{what}: {e}"),
    };

    // The pure part runs on a pool of `threads` threads (the tokenomics crate's parallel loops
    // included). Every parallel step maps items to results kept in input order, so nothing
    // depends on the number of threads. Without a pool (threads could not be spawned) the same
    // steps run on rayon's global pool, with the same results.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .ok();
    let carried_in = state.rewards_carry()?;
    let emission = tokenomics
        .emission
        .emission_for_epoch(epoch, CapacityIntegral::NONE)
        .map_err(|e| internal("emission", e))?;
    let funds = EpochFunds {
        emission: emission.amount,
        carried_in: carried_in.0,
    };
    let shared: &S = state;
    let computed = on_threads(pool.as_ref(), || {
        compute_epoch(shared, tokenomics, epoch, funds, &mut timings)
    })?;
    let EpochComputation {
        devices,
        scored,
        rewards,
        records,
    } = computed;
    let phase = std::time::Instant::now();
    // Changed scores, in device order.
    let initial = tokenomics.reputation.initial();
    let mut devices_paid = 0u64;
    let mut reduced = 0u64;
    for (device, scored) in devices.iter().zip(&scored) {
        if scored.multiplier < Fixed::ONE {
            reduced += 1;
        }
        if scored.paid > 0 {
            devices_paid += 1;
        }
        // Scores: keep only what differs from a fresh device's.
        let new_score = (scored.score != initial).then_some(scored.score);
        if new_score != device.stored_score {
            state.put_audit_score(&device.device, new_score);
        }
    }
    let device_count = devices.len() as u64;
    // Owners' totals in address order, and their accounts as they stand, on the pool: the paid
    // devices' (owner, amount) sorted by owner and summed per owner (integer sums, so the order
    // within an owner does not matter), then every owner's account read in parallel from the
    // state as it is now (minting below writes each account once, so nothing read here is stale).
    let shared: &S = state;
    let (credits, accounts) = on_threads(pool.as_ref(), || {
        owners_and_accounts(shared, &devices, &scored)
    })?;
    drop(devices);
    drop(scored);
    let paid = state
        .mint_many_read(&credits, &accounts)?
        .map_err(|e| AppError::Corrupt {
            key: "accounts".into(),
            reason: format!("minting rewards: {e}"),
        })?
        .0;
    let owners_paid = credits.len() as u64;
    drop(accounts);
    drop(credits);
    let settlement = rewards.settlement;
    mint(state, &params.treasury, Amount(settlement.to_treasury))?;
    state.put_rewards_carry(Amount(settlement.carry_over));
    if paid != rewards.total_paid() {
        return Err(AppError::Corrupt {
            key: "rewards".into(),
            reason: format!(
                "epoch {epoch}: owners were credited {paid}, the pools paid {}",
                rewards.total_paid()
            ),
        });
    }

    let pools = tokenomics
        .pools
        .pools
        .iter()
        .map(|spec| {
            let amount = rewards
                .pool_amounts
                .pools
                .get(&spec.kind)
                .copied()
                .unwrap_or(0);
            let distribution = rewards.pools.get(&spec.kind);
            let total_weight = distribution.map_or(0, |d| d.total_weight);
            let remainder = distribution.map_or(amount, |d| d.remainder);
            PoolSummary {
                kind: spec.kind,
                amount: Amount(amount),
                paid: Amount(amount.saturating_sub(remainder)),
                participants: distribution.map_or(0, |d| d.payouts.len() as u64),
                paid_devices: distribution.map_or(0, |d| {
                    d.payouts.iter().filter(|p| p.amount > 0).count() as u64
                }),
                total_weight: Amount(total_weight),
                unclaimed: Amount(if total_weight == 0 { remainder } else { 0 }),
                rounding: Amount(if total_weight == 0 { 0 } else { remainder }),
            }
        })
        .collect();
    let summary = EpochSummary {
        epoch,
        heights: (
            epoch.saturating_mul(epoch_blocks),
            epoch.saturating_mul(epoch_blocks) + epoch_blocks - 1,
        ),
        emission: Amount(funds.emission),
        carried_in,
        pools,
        split_rounding: Amount(rewards.pool_amounts.rounding_remainder),
        paid: Amount(paid),
        unclaimed: Amount(rewards.unclaimed),
        rounding: Amount(rewards.rounding),
        to_treasury: Amount(settlement.to_treasury),
        burned: Amount(settlement.to_burn),
        carry_out: Amount(settlement.carry_over),
        minted: Amount(paid.saturating_add(settlement.to_treasury)),
        treasury: params.treasury,
        devices: device_count,
        devices_paid,
        owners_paid,
        devices_with_reduced_reputation: reduced,
    };
    state.put_epoch_summary(&summary);
    let events = vec![events::epoch_paid(&summary)];
    timings.apply_us += phase.elapsed().as_micros() as u64;
    Ok((
        EpochPayout {
            summary: Some(summary),
            records,
            events,
        },
        timings,
    ))
}

fn mint<S: AccountsWrite>(state: &mut S, to: &Address, amount: Amount) -> AppResult<()> {
    if amount == Amount::ZERO {
        return Ok(());
    }
    state.mint_to(to, amount)?.map_err(|e| AppError::Corrupt {
        key: "accounts".into(),
        reason: format!("minting rewards: {e}"),
    })
}

fn activity_for(
    device: &Loaded,
    counts: EpochCounts,
    reputation: Fixed,
) -> DeviceActivity<DeviceId> {
    let mut activity = DeviceActivity::new(device.device);
    activity.location = device
        .cell
        .and_then(|cell| h3o::CellIndex::try_from(cell).ok());
    activity.heartbeats = u32::try_from(counts.heartbeats).unwrap_or(u32::MAX);
    activity.data_credits = data_transfer_weight(&counts);
    activity.sensor_readings = counts.sensor_readings;
    activity.beacons = counts.beacon_witness_counts;
    activity.witnessed = counts.witnessed_counts;
    activity.reputation = reputation;
    activity
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::devices::state::{DeviceKind, DeviceRecord, DeviceStatus, DevicesWrite};
    use crate::modules::reports::state::ReportsWrite;
    use groundwork_primitives::PublicKey;
    use groundwork_state::{ChangeSet, Overlay};
    use groundwork_tokenomics::AuditScore;
    use std::collections::BTreeMap;

    /// A committed state with `devices` devices that reported in epoch 4: varied counts, owners
    /// shared by three devices, cells crowded into a few hexes, some stored scores, and some
    /// devices with counts but no record.
    fn epoch_state(devices: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let base = BTreeMap::new();
        let mut state = Overlay::new(&base);
        state.put_rewards_params(&RewardsParams::devnet(8, 20).unwrap());
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        let towns = [(52.52, 13.40), (48.14, 11.58), (50.94, 6.96)];
        for i in 0..devices {
            let mut id = [0u8; 20];
            id[..8].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
            let device = DeviceId(id);
            let (lat, lng) = towns[next(3) as usize];
            let cell = h3o::LatLng::new(
                lat + next(100) as f64 / 2_000.0,
                lng + next(100) as f64 / 2_000.0,
            )
            .map(|p| u64::from(p.to_cell(h3o::Resolution::Twelve)))
            .ok()
            .filter(|_| next(20) > 0);
            if i % 97 != 0 {
                state.put_device(&DeviceRecord {
                    id: device,
                    public_key: PublicKey::Ed25519([7; 32]),
                    owner: Address([(i / 3 % 251) as u8; 20]),
                    kind: DeviceKind::Hotspot,
                    maker: Address([2; 20]),
                    location: cell,
                    location_asserts: 1,
                    antenna_gain_dbi_x10: 30,
                    elevation_m: 10,
                    status: DeviceStatus::Active,
                    onboarded_height: 0,
                    stake: Amount(0),
                });
            }
            let beacon_witness_counts: Vec<u32> = (0..next(4)).map(|_| next(15) as u32).collect();
            let witnessed_counts: Vec<u32> = (0..next(12)).map(|_| 1 + next(14) as u32).collect();
            let data_bytes = next(5_000_000);
            state.put_epoch_counts(
                &device,
                &EpochCounts {
                    epoch: 4,
                    heartbeats: 15 + next(10),
                    beacons: beacon_witness_counts.len() as u64,
                    beacon_witnesses: beacon_witness_counts.iter().map(|w| u64::from(*w)).sum(),
                    witnesses: witnessed_counts.len() as u64,
                    data_transfers: next(30),
                    data_bytes,
                    credits_spent: data_bytes.div_ceil(24),
                    sensor_readings: next(3) * 40,
                    invalid: if next(10) == 0 { 1 + next(6) } else { 0 },
                    beacon_witness_counts,
                    witnessed_counts,
                },
            );
            if next(8) == 0 {
                state.put_audit_score(
                    &device,
                    Some(AuditScore {
                        alpha: Fixed::from_integer(u128::from(10 + next(900))).unwrap(),
                        beta: Fixed::from_integer(u128::from(1 + next(60))).unwrap(),
                    }),
                );
            }
        }
        state
            .into_changes()
            .into_iter()
            .filter_map(|(key, value)| Some((key, value?)))
            .collect()
    }

    fn pay_with(base: &BTreeMap<Vec<u8>, Vec<u8>>, threads: usize) -> (EpochPayout, ChangeSet) {
        let mut state = Overlay::new(base);
        let (payout, _) = pay_epoch(&mut state, 4, 10, threads).unwrap();
        (payout, state.into_changes())
    }

    /// One hash over everything a payout produced: state changes, records and events, in order.
    fn payout_digest(payout: &EpochPayout, changes: &ChangeSet) -> String {
        let mut all = Vec::new();
        for (key, value) in changes {
            all.extend_from_slice(&(key.len() as u64).to_be_bytes());
            all.extend_from_slice(key);
            match value {
                Some(value) => {
                    all.push(1);
                    all.extend_from_slice(&(value.len() as u64).to_be_bytes());
                    all.extend_from_slice(value);
                }
                None => all.push(0),
            }
        }
        for (key, value) in &payout.records {
            all.extend_from_slice(&(key.len() as u64).to_be_bytes());
            all.extend_from_slice(key);
            all.extend_from_slice(&(value.len() as u64).to_be_bytes());
            all.extend_from_slice(value);
        }
        all.extend_from_slice(format!("{:?}", payout.events).as_bytes());
        hex::encode(groundwork_primitives::sha256(&all).0)
    }

    #[test]
    fn an_epochs_payout_is_byte_for_byte_what_it_was_before_the_speed_work() {
        // The digest was taken from the payout code as of commit b0a62d0, before the apply and
        // load phases were reworked for speed (issue #4): state changes, records and events must
        // not change with how they are computed.
        let base = epoch_state(6_000);
        let (payout, changes) = pay_with(&base, 2);
        assert_eq!(
            payout_digest(&payout, &changes),
            "64a664aa333df589ad9e5149b28055dee2afcc377643766c93ea97ee49adb7f5"
        );
    }

    #[test]
    fn an_epoch_pays_the_same_on_one_two_or_three_threads() {
        let base = epoch_state(6_000);
        let (one, one_changes) = pay_with(&base, 1);
        let summary = one.summary.clone().unwrap();
        // A real epoch: most devices paid, some reputations reduced, owners shared.
        assert_eq!(summary.devices, 6_000 - 6_000_u64.div_ceil(97));
        assert!(summary.devices_paid > 5_000, "{summary:?}");
        assert!(summary.devices_with_reduced_reputation > 500, "{summary:?}");
        assert_eq!(summary.owners_paid, 251);
        assert_eq!(one.records.len() as u64, summary.devices);
        for threads in [2, 3] {
            let (other, other_changes) = pay_with(&base, threads);
            assert_eq!(other.summary, one.summary, "{threads} threads");
            assert_eq!(other.records, one.records, "{threads} threads");
            assert_eq!(other.events, one.events, "{threads} threads");
            assert_eq!(other_changes, one_changes, "{threads} threads");
        }
    }
}
