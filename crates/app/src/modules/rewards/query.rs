//! Read-only views of rewards: a device's breakdown joined with what explains it (the epoch's
//! counts, the pools' totals, the HIP-15 units of each beacon), and epoch summaries.

use groundwork_primitives::{Amount, DeviceId};
use groundwork_state::{StateRead, Store};
use groundwork_tokenomics::{Fixed, ProofKind};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::modules::reports::state::{EpochCounts, ReportsRead};
use crate::modules::rewards::state::{
    BREAKDOWN_PREFIX, DeviceRewards, EpochSummary, PoolLine, RewardsRead, breakdown_key,
};

/// One pool line with the pool's totals beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainedLine {
    /// The device's line.
    #[serde(flatten)]
    pub line: PoolLine,
    /// The pool's amount that epoch.
    pub pool_amount: Amount,
    /// The sum of every participant's weight in the pool (raw fixed point).
    pub pool_total_weight: Amount,
}

/// HIP-15 units of the device's beacons and witnesses, one entry per report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageDetail {
    /// For each valid beacon: (valid witnesses, units earned by the beaconer).
    pub beacons: Vec<(u32, Fixed)>,
    /// For each valid witness: (the beacon's valid witnesses when judged, units earned).
    pub witnessed: Vec<(u32, Fixed)>,
    /// Witnesses that earn a full unit each before returns diminish.
    pub witness_redundancy: u32,
    /// Decay of each witness beyond that.
    pub decay_rate: Fixed,
}

/// Why a device earned what it did in one epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRewardsView {
    /// The breakdown as paid.
    #[serde(flatten)]
    pub rewards: DeviceRewards,
    /// The pool lines with the pools' totals.
    pub lines: Vec<ExplainedLine>,
    /// The valid report counts that counted (and the invalid ones that cost reputation).
    pub counts: Option<EpochCounts>,
    /// Heartbeats the uptime pool requires.
    pub min_heartbeats: u32,
    /// Coverage units per beacon and witness.
    pub coverage: Option<CoverageDetail>,
}

fn corrupt(key: &[u8]) -> AppError {
    AppError::Corrupt {
        key: hex::encode(key),
        reason: "not a reward breakdown record".into(),
    }
}

/// A device's breakdown for one epoch, as stored.
pub fn device_rewards(
    store: &Store,
    device: &DeviceId,
    epoch: u64,
) -> AppResult<Option<DeviceRewards>> {
    let key = breakdown_key(device, epoch);
    store
        .record(&key)?
        .map(|bytes| DeviceRewards::decode(*device, epoch, &bytes).ok_or_else(|| corrupt(&key)))
        .transpose()
}

/// A device's breakdowns, newest epoch first, for epochs before `before` (all when `None`).
pub fn device_rewards_recent(
    store: &Store,
    device: &DeviceId,
    before: Option<u64>,
    limit: usize,
) -> AppResult<Vec<DeviceRewards>> {
    let start = breakdown_key(device, 0);
    let end = match before {
        Some(epoch) => breakdown_key(device, epoch),
        None => [BREAKDOWN_PREFIX, device.as_bytes(), &[0xff; 9]].concat(),
    };
    store
        .records_range(&start, &end, limit, true)?
        .into_iter()
        .map(|(key, value)| {
            let tail: [u8; 8] = key
                .get(key.len().saturating_sub(8)..)
                .and_then(|t| t.try_into().ok())
                .ok_or_else(|| corrupt(&key))?;
            let epoch = u64::from_be_bytes(tail);
            DeviceRewards::decode(*device, epoch, &value).ok_or_else(|| corrupt(&key))
        })
        .collect()
}

/// Joins a breakdown with the epoch's counts, the pools' totals and the coverage units.
pub fn explain(state: &impl StateRead, rewards: DeviceRewards) -> AppResult<DeviceRewardsView> {
    let params = state.rewards_params()?.tokenomics;
    let summary = state.epoch_summary(rewards.epoch)?;
    let counts = state.epoch_counts(rewards.epoch, &rewards.device)?;
    let lines = rewards
        .pools
        .iter()
        .map(|line| {
            let pool = summary
                .as_ref()
                .and_then(|s| s.pools.iter().find(|p| p.kind == line.kind));
            ExplainedLine {
                line: line.clone(),
                pool_amount: pool.map_or(Amount::ZERO, |p| p.amount),
                pool_total_weight: pool.map_or(Amount::ZERO, |p| p.total_weight),
            }
        })
        .collect();
    let coverage = rewards
        .pools
        .iter()
        .any(|l| l.kind == ProofKind::Coverage)
        .then(|| {
            let c = &params.coverage;
            let counts = counts.clone().unwrap_or_default();
            CoverageDetail {
                beacons: counts
                    .beacon_witness_counts
                    .iter()
                    .map(|&w| (w, c.beacon_units(w).beaconer))
                    .collect(),
                witnessed: counts
                    .witnessed_counts
                    .iter()
                    .map(|&w| (w, c.beacon_units(w).per_witness))
                    .collect(),
                witness_redundancy: c.witness_redundancy,
                decay_rate: c.decay_rate,
            }
        });
    Ok(DeviceRewardsView {
        lines,
        counts,
        min_heartbeats: params.uptime.min_heartbeats,
        coverage,
        rewards,
    })
}

/// The breakdown in sentences, one per pool line and one for reputation: what an operator
/// reads to see why the device earned what it did.
pub fn explain_in_words(view: &DeviceRewardsView) -> Vec<String> {
    let counts = view.counts.clone().unwrap_or_default();
    let mut words = Vec::new();
    words.push(format!(
        "reputation: {} valid and {} invalid reports this epoch; audit score {} gives multiplier {}{}",
        crate::modules::rewards::valid_reports(&counts),
        counts.invalid,
        view.rewards.reputation_score,
        view.rewards.reputation,
        if view.rewards.reputation.is_zero() {
            " (disqualified: below the threshold)"
        } else {
            ""
        }
    ));
    for explained in &view.lines {
        let line = &explained.line;
        let work = match line.kind {
            ProofKind::Uptime => format!(
                "{} valid heartbeats (at least {} needed)",
                counts.heartbeats, view.min_heartbeats
            ),
            ProofKind::Coverage => {
                let detail = view.coverage.as_ref();
                let list = |items: Option<&Vec<(u32, Fixed)>>| {
                    items
                        .map(|items| {
                            items
                                .iter()
                                .map(|(w, units)| format!("{w}→{units}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default()
                };
                format!(
                    "{} beacons [witnesses→units: {}], {} witnesses [beacon's witnesses→units: {}] (HIP-15: full units up to {} witnesses, then ×{} each)",
                    counts.beacons,
                    list(detail.map(|d| &d.beacons)),
                    counts.witnesses,
                    list(detail.map(|d| &d.witnessed)),
                    detail.map_or(0, |d| d.witness_redundancy),
                    detail.map_or(Fixed::ZERO, |d| d.decay_rate),
                )
            }
            ProofKind::DataTransfer => format!(
                "{} valid data receipts carrying {} bytes, paid with {} credits",
                counts.data_transfers, counts.data_bytes, counts.credits_spent
            ),
            ProofKind::SensorData => format!("{} valid sensor readings", counts.sensor_readings),
            ProofKind::Storage | ProofKind::Compute => "verified work".to_string(),
        };
        let outcome = match line.ineligible {
            Some(reason) => format!("not eligible ({reason:?}): 0"),
            None => format!(
                "{} units × density {} × reputation {} = weight {} of the pool's {} → {} of {} base units",
                line.units,
                line.density_scale,
                line.reputation,
                Fixed::from_raw(line.weight.0),
                Fixed::from_raw(explained.pool_total_weight.0),
                line.amount.0,
                explained.pool_amount.0
            ),
        };
        words.push(format!("{:?}: {work}; {outcome}", line.kind));
    }
    words.push(format!(
        "total {} base units to owner {}",
        view.rewards.total.0, view.rewards.owner
    ));
    words
}

/// An epoch's summary.
pub fn epoch_summary(state: &impl RewardsRead, epoch: u64) -> AppResult<Option<EpochSummary>> {
    state.epoch_summary(epoch)
}

/// The last paid epoch's summary.
pub fn latest_summary(state: &impl RewardsRead) -> AppResult<Option<EpochSummary>> {
    match state.latest_rewarded_epoch()? {
        Some(epoch) => state.epoch_summary(epoch),
        None => Ok(None),
    }
}
