//! HTTP endpoints for devices and their reports: ingest, listings, records and verdicts.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use groundwork_app::modules::devices::query::{DeviceFilter, list};
use groundwork_app::modules::devices::state::{
    DeviceKind, DeviceRecord, DeviceStatus, DevicesRead,
};
use groundwork_app::modules::reports::query as report_query;
use groundwork_app::modules::reports::state::ReportsRead;
use groundwork_app::report_index_key;
use groundwork_primitives::{Address, DeviceId};
use groundwork_proto::v1;
use groundwork_proto::{MAX_BLOCK_BYTES, MAX_REPORTS_PER_BATCH, decode_bounded};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiError, ApiResult, ApiState, ErrorBody, Inner};
use crate::ingest::BatchOutcome;
use groundwork_consensus::Gossip;

/// A batch of reports as JSON.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBatchJson {
    /// Encoded `ReportEnvelope`s, hex.
    pub reports: Vec<String>,
}

/// What became of a batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportBatchResponse {
    /// Reports queued for the next blocks.
    pub accepted: usize,
    /// Reports refused, by position in the batch.
    pub rejected: Vec<RefusalView>,
}

/// A refused report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RefusalView {
    /// Its position in the batch.
    pub index: usize,
    /// Why.
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/v1/reports",
    request_body(description = "A ReportBatch (Content-Type: application/x-protobuf) or JSON {\"reports\": [hex, …]}", content = ReportBatchJson),
    responses(
        (status = 200, description = "Authenticated reports queued; the rest refused with reasons", body = ReportBatchResponse),
        (status = 400, description = "Not a batch", body = ErrorBody),
        (status = 429, description = "The queue is full: nothing from this batch was queued; retry", body = ErrorBody),
    )
)]
pub(crate) async fn submit_reports(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<ReportBatchResponse> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let reports: Vec<Vec<u8>> = if is_json {
        let batch: ReportBatchJson = serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "expected JSON {{\"reports\": [\"<hex>\", …]}}: {e}"
            ))
        })?;
        batch
            .reports
            .iter()
            .enumerate()
            .map(|(i, r)| {
                hex::decode(r.trim())
                    .map_err(|e| ApiError::bad_request(format!("report {i} is not hex: {e}")))
            })
            .collect::<Result<_, _>>()?
    } else {
        let batch: v1::ReportBatch = decode_bounded("report batch", &body, 32 * 1024 * 1024)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        batch.reports
    };
    if reports.len() > MAX_REPORTS_PER_BATCH {
        return Err(ApiError::bad_request(format!(
            "a batch holds at most {MAX_REPORTS_PER_BATCH} reports, this one {}",
            reports.len()
        )));
    }
    let inner = state.inner.clone();
    let outcome: Result<BatchOutcome, ApiError> =
        tokio::task::spawn_blocking(move || admit_reports(&inner, reports, true))
            .await
            .map_err(ApiError::internal)?;
    let outcome = outcome?;
    Ok(Json(ReportBatchResponse {
        accepted: outcome.accepted,
        rejected: outcome
            .rejected
            .into_iter()
            .map(|r| RefusalView {
                index: r.index,
                reason: r.reason,
            })
            .collect(),
    }))
}

/// A device as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeviceView {
    /// Its id (gwd1…).
    pub id: String,
    /// Its key (`ed25519:<hex>` or `p256:<hex>`).
    pub public_key: String,
    /// Its owner.
    pub owner: String,
    /// hotspot, sensor, storage, compute or meter.
    pub kind: String,
    /// Its maker's id.
    pub maker: String,
    /// Its H3 cell, hex, once asserted.
    pub location: Option<String>,
    /// Location assertions so far.
    pub location_asserts: u32,
    /// Antenna gain, dBi.
    pub antenna_gain_dbi: f64,
    /// Elevation, metres.
    pub elevation_m: i32,
    /// active or decommissioned.
    pub status: String,
    /// Height it joined at.
    pub onboarded_height: u64,
    /// Stake bonded, base units.
    pub stake: String,
    /// Counter of its last authenticated report.
    pub last_report_counter: Option<u64>,
}

fn device_view(record: DeviceRecord, last_counter: Option<u64>) -> DeviceView {
    DeviceView {
        id: record.id.to_string(),
        public_key: record.public_key.to_string(),
        owner: record.owner.to_string(),
        kind: record.kind.name().into(),
        maker: record.maker.to_string(),
        location: record.location.map(|c| format!("{c:x}")),
        location_asserts: record.location_asserts,
        antenna_gain_dbi: f64::from(record.antenna_gain_dbi_x10) / 10.0,
        elevation_m: record.elevation_m,
        status: match record.status {
            DeviceStatus::Active => "active".into(),
            DeviceStatus::Decommissioned => "decommissioned".into(),
        },
        onboarded_height: record.onboarded_height,
        stake: record.stake.to_string(),
        last_report_counter: last_counter,
    }
}

/// Filters and paging of the device list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeviceListParams {
    /// Most devices to return (1 to 1000, default 100).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only this owner's devices (gw1…).
    pub owner: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this status: active or decommissioned.
    pub status: Option<String>,
    /// Only devices in this H3 cell or region (hex cell index; a coarser cell is a larger region).
    pub cell: Option<String>,
}

/// A page of devices.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeviceListResponse {
    /// The devices.
    pub devices: Vec<DeviceView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/devices", params(DeviceListParams),
    responses((status = 200, body = DeviceListResponse), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_devices(
    State(state): State<ApiState>,
    params: Result<Query<DeviceListParams>, QueryRejection>,
) -> ApiResult<DeviceListResponse> {
    let params = crate::api::query_params(params)?;
    let limit = params.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit is 1 to 1000"));
    }
    let filter = DeviceFilter {
        owner: params
            .owner
            .as_deref()
            .map(|o| {
                o.parse::<Address>()
                    .map_err(|e| ApiError::bad_request(format!("owner: {e}")))
            })
            .transpose()?,
        kind: params
            .kind
            .as_deref()
            .map(|k| {
                DeviceKind::parse(k).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "kind {k:?}: use hotspot, sensor, storage, compute or meter"
                    ))
                })
            })
            .transpose()?,
        status: params
            .status
            .as_deref()
            .map(|s| match s {
                "active" => Ok(DeviceStatus::Active),
                "decommissioned" => Ok(DeviceStatus::Decommissioned),
                other => Err(ApiError::bad_request(format!(
                    "status {other:?}: use active or decommissioned"
                ))),
            })
            .transpose()?,
        cell: params
            .cell
            .as_deref()
            .map(|c| {
                u64::from_str_radix(c.trim_start_matches("0x"), 16)
                    .ok()
                    .and_then(|v| h3o::CellIndex::try_from(v).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("cell {c:?} is not a hex H3 cell index"))
                    })
            })
            .transpose()?,
    };
    let cursor = params
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<DeviceId>()
                .map_err(|e| ApiError::bad_request(format!("cursor: {e}")))
        })
        .transpose()?;
    let snapshot = state.inner.store.snapshot()?;
    let page = list(&snapshot, &filter, cursor, limit)?;
    let devices = page
        .devices
        .into_iter()
        .map(|record| {
            let counter = snapshot
                .activity(&record.id)
                .ok()
                .and_then(|a| a.last_counter);
            device_view(record, counter)
        })
        .collect();
    Ok(Json(DeviceListResponse {
        devices,
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    }))
}

fn parse_device(id: &str) -> Result<DeviceId, ApiError> {
    id.parse()
        .map_err(|e| ApiError::bad_request(format!("{id:?} is not a device id (gwd1…): {e}")))
}

#[utoipa::path(get, path = "/v1/devices/{id}", params(("id" = String, Path, description = "Device id, gwd1…")),
    responses((status = 200, body = DeviceView), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_device(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<DeviceView> {
    let id = parse_device(&id)?;
    let snapshot = state.inner.store.snapshot()?;
    let record = snapshot
        .device(&id)?
        .ok_or_else(|| ApiError::not_found(format!("no device {id}")))?;
    let counter = snapshot.activity(&id)?.last_counter;
    Ok(Json(device_view(record, counter)))
}

/// Options of the verdict listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct VerdictParams {
    /// Only this epoch (default: the current one).
    pub epoch: Option<u64>,
    /// Most verdicts to return (1 to 5000, default 500).
    pub limit: Option<usize>,
}

/// A device's verdicts.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerdictsResponse {
    /// The device.
    pub device: String,
    /// The epoch.
    pub epoch: u64,
    /// Its first and last block heights.
    pub heights: (u64, u64),
    /// The epoch's counts (valid reports by kind, invalid total).
    pub counts: Option<serde_json::Value>,
    /// Each report with its verdict, in block order.
    pub verdicts: Vec<VerdictView>,
}

/// One report and its verdict.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerdictView {
    /// The block it was judged in.
    pub height: u64,
    /// Its position among the block's reports.
    pub index: u32,
    /// heartbeat, beacon, witness, data_transfer or sensor.
    pub kind: String,
    /// Its counter.
    pub counter: u64,
    /// `valid` or `invalid`.
    pub verdict: String,
    /// 0 when valid; otherwise the reason code (docs/protocol.md).
    pub code: u32,
    /// Why it is invalid, with the numbers.
    pub reason: String,
}

#[utoipa::path(get, path = "/v1/devices/{id}/verdicts", params(("id" = String, Path, description = "Device id, gwd1…"), VerdictParams),
    responses((status = 200, body = VerdictsResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn device_verdicts(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    params: Result<Query<VerdictParams>, QueryRejection>,
) -> ApiResult<VerdictsResponse> {
    let params = crate::api::query_params(params)?;
    let id = parse_device(&id)?;
    let limit = params.limit.unwrap_or(500);
    if !(1..=5000).contains(&limit) {
        return Err(ApiError::bad_request("limit is 1 to 5000"));
    }
    let store = &state.inner.store;
    let snapshot = store.snapshot()?;
    if snapshot.device(&id)?.is_none() {
        return Err(ApiError::not_found(format!("no device {id}")));
    }
    let report_params = snapshot.reports_params()?;
    let tip = snapshot.tip().map_or(0, |t| t.height);
    let epoch = params.epoch.unwrap_or_else(|| report_params.epoch_of(tip));
    let first = epoch.saturating_mul(report_params.epoch_blocks);
    let last = first.saturating_add(report_params.epoch_blocks - 1);
    let counts = report_query::epoch_counts(&snapshot, &id, epoch)?
        .and_then(|c| serde_json::to_value(c).ok());
    let heights = store.index_range(
        &report_index_key(id.as_bytes(), first),
        &report_index_key(id.as_bytes(), last.saturating_add(1)),
        limit,
    )?;
    let mut verdicts = Vec::new();
    'blocks: for key in heights {
        let tail = &key[key.len() - 8..];
        let height = u64::from_be_bytes(tail.try_into().map_err(ApiError::internal)?);
        let bytes = store
            .results(height)?
            .ok_or_else(|| ApiError::internal(format!("results of block {height} missing")))?;
        let results: v1::BlockResults =
            decode_bounded("block results", &bytes, MAX_BLOCK_BYTES).map_err(ApiError::internal)?;
        for (index, result) in results.report_results.iter().enumerate() {
            if result.device != id.as_bytes() {
                continue;
            }
            if verdicts.len() == limit {
                break 'blocks;
            }
            verdicts.push(VerdictView {
                height,
                index: index as u32,
                kind: result.kind.clone(),
                counter: result.counter,
                verdict: if result.code == 0 {
                    "valid".into()
                } else {
                    "invalid".into()
                },
                code: result.code,
                reason: result.reason.clone(),
            });
        }
    }
    Ok(Json(VerdictsResponse {
        device: id.to_string(),
        epoch,
        heights: (first, last),
        counts,
        verdicts,
    }))
}

/// A hardware maker.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MakerView {
    /// Its id (the address of its attestation key).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its attestation key.
    pub public_key: String,
    /// Onboardings left.
    pub allowance: u64,
    /// Devices onboarded with its attestation.
    pub onboarded: u64,
}

#[utoipa::path(get, path = "/v1/makers", responses((status = 200, body = Vec<MakerView>)))]
pub(crate) async fn list_makers(State(state): State<ApiState>) -> ApiResult<Vec<MakerView>> {
    let snapshot = state.inner.store.snapshot()?;
    Ok(Json(
        snapshot
            .makers()?
            .into_iter()
            .map(|m| MakerView {
                id: m.id.to_string(),
                name: m.name,
                public_key: m.public_key.to_string(),
                allowance: m.allowance,
                onboarded: m.onboarded,
            })
            .collect(),
    ))
}

/// Authenticates a batch of reports and queues what passes, all or nothing; what was queued is
/// shared with the other validators when `share` (it came from devices, not from a validator).
pub(crate) fn admit_reports(
    inner: &Inner,
    reports: Vec<Vec<u8>>,
    share: bool,
) -> Result<BatchOutcome, ApiError> {
    let snapshot = inner.store.snapshot()?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let count = reports.len();
    // Authenticated without the queue's lock, its counters checked under it, journaled without
    // it (another worker's batch is checked meanwhile), queued under it again: the answer comes
    // only once the reports are durable.
    let admitted = crate::ingest::admit_shared(
        &inner.reports,
        &snapshot,
        &inner.chain,
        reports,
        crate::now_ms(),
        threads,
        share,
    );
    match admitted {
        Ok((outcome, accepted)) => {
            inner
                .metrics
                .reports_accepted
                .inc_by(outcome.accepted as u64);
            inner
                .metrics
                .reports_refused
                .inc_by(outcome.rejected.len() as u64);
            if let Ok(queue) = inner.reports.lock() {
                inner.metrics.reports_queued.set(queue.len() as i64);
            }
            if let (Some(engine), Some(reports)) = (inner.engine.get(), accepted) {
                engine.share(Gossip {
                    txs: Vec::new(),
                    reports,
                });
            }
            Ok(outcome)
        }
        Err(crate::ingest::AdmitError::Full(full)) => {
            inner.metrics.reports_refused.inc_by(count as u64);
            Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "queue_full",
                full.to_string(),
            ))
        }
        Err(error @ crate::ingest::AdmitError::Journal(_)) => {
            inner.metrics.reports_refused.inc_by(count as u64);
            Err(ApiError::internal(error.to_string()))
        }
    }
}
