//! HTTP endpoints for rewards: a device's per-epoch breakdown (why it earned what it did) and
//! epoch summaries.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use groundwork_app::modules::devices::state::DevicesRead;
use groundwork_app::modules::reports::state::ReportsRead;
use groundwork_app::modules::rewards::query::{self, DeviceRewardsView};
use groundwork_app::modules::rewards::state::{EpochSummary, RewardsRead};
use groundwork_primitives::DeviceId;
use groundwork_tokenomics::Fixed;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiError, ApiResult, ApiState, ErrorBody};

/// Options of the rewards listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RewardsParams {
    /// Only this epoch. Without it: the most recent epochs first.
    pub epoch: Option<u64>,
    /// Without `epoch`: only epochs before this one (the previous page's `next_before`).
    pub before: Option<u64>,
    /// Without `epoch`: most epochs to return (1 to 100, default 10).
    pub limit: Option<usize>,
}

/// A device's rewards.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeviceRewardsResponse {
    /// The device.
    pub device: String,
    /// One entry per epoch, newest first.
    pub epochs: Vec<EpochRewardsView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<u64>,
}

/// Why a device earned what it did in one epoch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EpochRewardsView {
    /// The epoch.
    pub epoch: u64,
    /// The owner credited.
    pub owner: String,
    /// Base units credited for this device (sum of the lines).
    pub total: String,
    /// The device's audit score after the epoch's verdicts (decimal).
    pub reputation_score: String,
    /// The reputation multiplier used (zero when disqualified).
    pub reputation: String,
    /// One line per pool the device took part in.
    pub lines: Vec<RewardLineView>,
    /// The epoch's report counts that counted (valid by kind, invalid total, per-beacon witness
    /// counts).
    #[schema(value_type = Object)]
    pub counts: Option<serde_json::Value>,
    /// Heartbeats the uptime pool requires.
    pub min_heartbeats: u32,
    /// HIP-15 units per beacon and per witness, when the device took part in coverage.
    pub coverage: Option<CoverageView>,
    /// The same in sentences.
    pub explanation: Vec<String>,
}

/// One pool line.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RewardLineView {
    /// uptime, coverage, data_transfer, sensor_data, storage or compute.
    pub pool: String,
    /// Units of work counted (decimal).
    pub units: String,
    /// HIP-17 density scale (decimal; one when the pool does not scale by density).
    pub density_scale: String,
    /// Reputation multiplier (decimal; one when the pool does not apply reputation).
    pub reputation: String,
    /// `units × density_scale × reputation` (decimal).
    pub weight: String,
    /// Sum of all participants' weights in the pool (decimal).
    pub pool_total_weight: String,
    /// The pool's amount, base units.
    pub pool_amount: String,
    /// Paid from this pool: `⌊pool_amount × weight / pool_total_weight⌋`, base units.
    pub amount: String,
    /// Why nothing was earned here: too_few_heartbeats, no_location or disqualified.
    pub ineligible: Option<String>,
}

/// HIP-15 coverage units.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CoverageView {
    /// Each valid beacon: its valid witnesses and the beaconer's units.
    pub beacons: Vec<WitnessUnits>,
    /// Each valid witness report: the beacon's valid witnesses when judged and the units.
    pub witnessed: Vec<WitnessUnits>,
    /// Witnesses that earn a full unit before returns diminish.
    pub witness_redundancy: u32,
    /// Decay per witness beyond that (decimal).
    pub decay_rate: String,
}

/// A witness count and the units it gives.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WitnessUnits {
    /// Valid witnesses.
    pub witnesses: u32,
    /// Units (decimal).
    pub units: String,
}

fn snake(kind: impl Serialize) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn view(view: DeviceRewardsView) -> EpochRewardsView {
    let explanation = query::explain_in_words(&view);
    let units = |items: &[(u32, Fixed)]| {
        items
            .iter()
            .map(|(witnesses, units)| WitnessUnits {
                witnesses: *witnesses,
                units: units.to_string(),
            })
            .collect()
    };
    EpochRewardsView {
        epoch: view.rewards.epoch,
        owner: view.rewards.owner.to_string(),
        total: view.rewards.total.to_string(),
        reputation_score: view.rewards.reputation_score.to_string(),
        reputation: view.rewards.reputation.to_string(),
        lines: view
            .lines
            .iter()
            .map(|l| RewardLineView {
                pool: snake(l.line.kind),
                units: l.line.units.to_string(),
                density_scale: l.line.density_scale.to_string(),
                reputation: l.line.reputation.to_string(),
                weight: Fixed::from_raw(l.line.weight.0).to_string(),
                pool_total_weight: Fixed::from_raw(l.pool_total_weight.0).to_string(),
                pool_amount: l.pool_amount.to_string(),
                amount: l.line.amount.to_string(),
                ineligible: l.line.ineligible.map(snake),
            })
            .collect(),
        counts: view
            .counts
            .as_ref()
            .and_then(|c| serde_json::to_value(c).ok()),
        min_heartbeats: view.min_heartbeats,
        coverage: view.coverage.as_ref().map(|c| CoverageView {
            beacons: units(&c.beacons),
            witnessed: units(&c.witnessed),
            witness_redundancy: c.witness_redundancy,
            decay_rate: c.decay_rate.to_string(),
        }),
        explanation,
    }
}

#[utoipa::path(get, path = "/v1/devices/{id}/rewards",
    params(("id" = String, Path, description = "Device id, gwd1…"), RewardsParams),
    responses(
        (status = 200, description = "The device's breakdowns, newest epoch first", body = DeviceRewardsResponse),
        (status = 400, description = "Bad id or options", body = ErrorBody),
        (status = 404, description = "No such device, or (with `epoch`) no breakdown for it in that epoch", body = ErrorBody),
    ))]
pub(crate) async fn device_rewards(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    params: Result<Query<RewardsParams>, QueryRejection>,
) -> ApiResult<DeviceRewardsResponse> {
    let params = crate::api::query_params(params)?;
    let id: DeviceId = id
        .parse()
        .map_err(|e| ApiError::bad_request(format!("{id:?} is not a device id (gwd1…): {e}")))?;
    let limit = params.limit.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("limit is 1 to 100"));
    }
    let store = &state.inner.store;
    let snapshot = store.snapshot()?;
    if snapshot.device(&id)?.is_none() {
        return Err(ApiError::not_found(format!("no device {id}")));
    }
    let (records, next_before) = match params.epoch {
        Some(epoch) => {
            let Some(record) = query::device_rewards(store, &id, epoch)? else {
                let why = match snapshot.epoch_summary(epoch)? {
                    Some(_) => format!(
                        "device {id} has no rewards in epoch {epoch}: it had no counted reports that epoch"
                    ),
                    None => {
                        let reports = snapshot.reports_params()?;
                        let tip = snapshot.tip().map_or(0, |t| t.height);
                        format!(
                            "epoch {epoch} is not paid yet (the chain is in epoch {}; epochs are paid at their last block, every {} blocks)",
                            reports.epoch_of(tip),
                            reports.epoch_blocks
                        )
                    }
                };
                return Err(ApiError::not_found(why));
            };
            (vec![record], None)
        }
        None => {
            let mut records = query::device_rewards_recent(store, &id, params.before, limit + 1)?;
            let next = (records.len() > limit).then(|| {
                records.truncate(limit);
                records.last().map(|r| r.epoch)
            });
            (records, next.flatten())
        }
    };
    let epochs = records
        .into_iter()
        .map(|record| query::explain(&snapshot, record).map(view))
        .collect::<Result<_, _>>()?;
    Ok(Json(DeviceRewardsResponse {
        device: id.to_string(),
        epochs,
        next_before,
    }))
}

/// An epoch's rewards summary.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EpochSummaryView {
    /// The epoch.
    pub epoch: u64,
    /// Its first and last block heights (paid in the last).
    pub heights: (u64, u64),
    /// The schedule's emission, base units.
    pub emission: String,
    /// Carried over from the previous epoch.
    pub carried_in: String,
    /// Each pool.
    pub pools: Vec<PoolSummaryView>,
    /// Dust of splitting into pools.
    pub split_rounding: String,
    /// Paid to device owners.
    pub paid: String,
    /// Pools nobody qualified for.
    pub unclaimed: String,
    /// Rounding dust, all together.
    pub rounding: String,
    /// Minted to the treasury.
    pub to_treasury: String,
    /// Routed to burn (never minted).
    pub burned: String,
    /// Carried to the next epoch (not minted yet).
    pub carry_out: String,
    /// Minted this epoch: paid + to_treasury.
    pub minted: String,
    /// The treasury account.
    pub treasury: String,
    /// Devices with counts this epoch.
    pub devices: u64,
    /// Devices paid more than zero.
    pub devices_paid: u64,
    /// Owners credited.
    pub owners_paid: u64,
    /// Devices whose reputation multiplier was below one.
    pub devices_with_reduced_reputation: u64,
}

/// One pool of an epoch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PoolSummaryView {
    /// The proof kind.
    pub pool: String,
    /// Its amount, base units.
    pub amount: String,
    /// Paid to devices.
    pub paid: String,
    /// Devices that took part.
    pub participants: u64,
    /// Devices paid more than zero.
    pub paid_devices: u64,
    /// Sum of the participants' weights (decimal).
    pub total_weight: String,
    /// Unclaimed (nobody qualified).
    pub unclaimed: String,
    /// Rounding dust.
    pub rounding: String,
}

fn summary_view(s: EpochSummary) -> EpochSummaryView {
    EpochSummaryView {
        epoch: s.epoch,
        heights: s.heights,
        emission: s.emission.to_string(),
        carried_in: s.carried_in.to_string(),
        pools: s
            .pools
            .into_iter()
            .map(|p| PoolSummaryView {
                pool: snake(p.kind),
                amount: p.amount.to_string(),
                paid: p.paid.to_string(),
                participants: p.participants,
                paid_devices: p.paid_devices,
                total_weight: Fixed::from_raw(p.total_weight.0).to_string(),
                unclaimed: p.unclaimed.to_string(),
                rounding: p.rounding.to_string(),
            })
            .collect(),
        split_rounding: s.split_rounding.to_string(),
        paid: s.paid.to_string(),
        unclaimed: s.unclaimed.to_string(),
        rounding: s.rounding.to_string(),
        to_treasury: s.to_treasury.to_string(),
        burned: s.burned.to_string(),
        carry_out: s.carry_out.to_string(),
        minted: s.minted.to_string(),
        treasury: s.treasury.to_string(),
        devices: s.devices,
        devices_paid: s.devices_paid,
        owners_paid: s.owners_paid,
        devices_with_reduced_reputation: s.devices_with_reduced_reputation,
    }
}

#[utoipa::path(get, path = "/v1/epochs/{n}", params(("n" = u64, Path, description = "Epoch number")),
    responses((status = 200, body = EpochSummaryView), (status = 400, body = ErrorBody), (status = 404, description = "Not paid yet", body = ErrorBody)))]
pub(crate) async fn epoch_summary(
    State(state): State<ApiState>,
    Path(n): Path<String>,
) -> ApiResult<EpochSummaryView> {
    let epoch: u64 = n
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{n:?} is not an epoch number")))?;
    let snapshot = state.inner.store.snapshot()?;
    match query::epoch_summary(&snapshot, epoch)? {
        Some(summary) => Ok(Json(summary_view(summary))),
        None => {
            let reports = snapshot.reports_params()?;
            let tip = snapshot.tip().map_or(0, |t| t.height);
            Err(ApiError::not_found(format!(
                "epoch {epoch} is not paid yet (the chain is in epoch {}; epochs are paid at their last block, every {} blocks)",
                reports.epoch_of(tip),
                reports.epoch_blocks
            )))
        }
    }
}

#[utoipa::path(get, path = "/v1/epochs/latest",
    responses((status = 200, body = EpochSummaryView), (status = 404, description = "No epoch paid yet", body = ErrorBody)))]
pub(crate) async fn latest_epoch(State(state): State<ApiState>) -> ApiResult<EpochSummaryView> {
    let snapshot = state.inner.store.snapshot()?;
    match query::latest_summary(&snapshot)? {
        Some(summary) => Ok(Json(summary_view(summary))),
        None => {
            let reports = snapshot.reports_params()?;
            Err(ApiError::not_found(format!(
                "no epoch is paid yet: the first is paid at block {}",
                reports.epoch_blocks.saturating_sub(1)
            )))
        }
    }
}
