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

use std::collections::BTreeMap;

use groundwork_primitives::{Address, Amount, DeviceId};
use groundwork_proto::v1::Event;
use groundwork_state::{StateRead, StateWrite};
use groundwork_tokenomics::{
    AuditOutcome, CapacityIntegral, DeviceActivity, EpochFunds, Fixed, compute_epoch_rewards,
};

use crate::error::{AppError, AppResult};
use crate::modules::accounts::state::AccountsWrite;
use crate::modules::devices::state::DevicesRead;
use crate::modules::reports::state::{EpochCounts, ReportsRead};
use crate::parallel;
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

/// A device's audit score after the epoch, its value and the multiplier it gives.
struct Scored {
    score: groundwork_tokenomics::AuditScore,
    value: Fixed,
    multiplier: Fixed,
}

/// One device's inputs, read from state.
struct Loaded {
    device: DeviceId,
    counts: EpochCounts,
    owner: Address,
    cell: Option<u64>,
    stored_score: Option<groundwork_tokenomics::AuditScore>,
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
    let phase = std::time::Instant::now();
    let params = state.rewards_params()?;
    let tokenomics = &params.tokenomics;
    let internal = |what: &str, e: groundwork_tokenomics::TokenomicsError| AppError::Corrupt {
        key: "rewards/params".into(),
        reason: format!("{what}: {e}"),
    };

    // Every device with counts this epoch, in id order.
    let counted = state.epoch_counts_all(epoch, threads)?;
    let shared: &S = state;
    let loaded: Vec<AppResult<Option<Loaded>>> =
        parallel::par_map(&counted, threads, |(device, counts)| {
            let Some((owner, cell)) = shared.device_owner_and_cell(device)? else {
                return Ok(None);
            };
            Ok(Some(Loaded {
                device: *device,
                counts: counts.clone(),
                owner,
                cell,
                stored_score: shared.audit_score(device)?,
            }))
        });
    drop(counted);
    let mut devices = Vec::with_capacity(loaded.len());
    for entry in loaded {
        if let Some(device) = entry? {
            devices.push(device);
        }
    }
    timings.load_us = phase.elapsed().as_micros() as u64;

    let phase = std::time::Instant::now();
    let reputation = &tokenomics.reputation;
    let initial = reputation.initial();
    // Each device's score after the epoch, its value and multiplier, computed once.
    let scored: Vec<Scored> = parallel::par_map(&devices, threads, |d| {
        let before = d.stored_score.unwrap_or(initial);
        let after = reputation.update_many(before, AuditOutcome::Success, valid_reports(&d.counts));
        let score = reputation.update_many(after, AuditOutcome::Failure, d.counts.invalid);
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
        }
    });
    let pairs: Vec<(&Loaded, &Scored)> = devices.iter().zip(&scored).collect();
    let activities: Vec<DeviceActivity<DeviceId>> =
        parallel::par_map(&pairs, threads, |(d, s)| activity_for(d, s.multiplier));
    drop(pairs);
    let carried_in = state.rewards_carry()?;
    let emission = tokenomics
        .emission
        .emission_for_epoch(epoch, CapacityIntegral::NONE)
        .map_err(|e| internal("emission", e))?;
    let funds = EpochFunds {
        emission: emission.amount,
        carried_in: carried_in.0,
    };
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
    // Each device's breakdown, from its payout in every pool (found by binary search, since
    // pools list their participants in device order), built on all cores.
    let pools_in_order: Vec<_> = tokenomics
        .pools
        .pools
        .iter()
        .filter_map(|spec| rewards.pools.get(&spec.kind).map(|d| (spec.kind, d)))
        .collect();
    let pairs: Vec<(&Loaded, &Scored)> = devices.iter().zip(&scored).collect();
    let breakdowns: Vec<DeviceRewards> = parallel::par_map(&pairs, threads, |(device, scored)| {
        let mut lines = Vec::new();
        let mut total = 0u128;
        for (kind, distribution) in &pools_in_order {
            let Some(payout) = distribution.payout_for(&device.device) else {
                continue;
            };
            total = total.saturating_add(payout.amount);
            lines.push(PoolLine {
                kind: *kind,
                units: payout.units,
                density_scale: payout.density_scale,
                reputation: payout.reputation,
                weight: Amount(payout.weight),
                amount: Amount(payout.amount),
                ineligible: payout.ineligible,
            });
        }
        DeviceRewards {
            device: device.device,
            epoch,
            owner: device.owner,
            reputation_score: scored.value,
            reputation: scored.multiplier,
            pools: lines,
            total: Amount(total),
        }
    });
    let records: Vec<(Vec<u8>, Vec<u8>)> = parallel::par_map(&breakdowns, threads, |b| {
        (breakdown_key(&b.device, epoch), b.encode())
    });
    // Owners' totals and changed scores, in device order.
    let mut owners: BTreeMap<Address, u128> = BTreeMap::new();
    let mut devices_paid = 0u64;
    let mut reduced = 0u64;
    for ((device, scored), breakdown) in pairs.iter().zip(&breakdowns) {
        if scored.multiplier < Fixed::ONE {
            reduced += 1;
        }
        if breakdown.total.0 > 0 {
            devices_paid += 1;
            let owed = owners.entry(device.owner).or_default();
            *owed = owed.saturating_add(breakdown.total.0);
        }
        // Scores: keep only what differs from a fresh device's.
        let new_score = (scored.score != initial).then_some(scored.score);
        if new_score != device.stored_score {
            state.put_audit_score(&device.device, new_score);
        }
    }
    drop(pairs);
    drop(breakdowns);
    let credits: Vec<(Address, Amount)> = owners
        .iter()
        .map(|(owner, amount)| (*owner, Amount(*amount)))
        .collect();
    let paid = state
        .mint_many(&credits)?
        .map_err(|e| AppError::Corrupt {
            key: "accounts".into(),
            reason: format!("minting rewards: {e}"),
        })?
        .0;
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
        devices: devices.len() as u64,
        devices_paid,
        owners_paid: owners.len() as u64,
        devices_with_reduced_reputation: reduced,
    };
    state.put_epoch_summary(&summary);
    let events = vec![events::epoch_paid(&summary)];
    timings.apply_us = phase.elapsed().as_micros() as u64;
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

fn activity_for(device: &Loaded, reputation: Fixed) -> DeviceActivity<DeviceId> {
    let counts = &device.counts;
    let mut activity = DeviceActivity::new(device.device);
    activity.location = device
        .cell
        .and_then(|cell| h3o::CellIndex::try_from(cell).ok());
    activity.heartbeats = u32::try_from(counts.heartbeats).unwrap_or(u32::MAX);
    activity.beacons = counts.beacon_witness_counts.clone();
    activity.witnessed = counts.witnessed_counts.clone();
    activity.data_credits = data_transfer_weight(counts);
    activity.sensor_readings = counts.sensor_readings;
    activity.reputation = reputation;
    activity
}
