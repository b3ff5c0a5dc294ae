//! The web dashboard every node serves at `/`, and the JSON endpoints made for it.
//!
//! The front end (plain HTML, CSS and JavaScript in `crates/node/dashboard/`) is compiled into the
//! binary with `include_str!`, so a node needs nothing else installed to show it. The endpoints
//! here answer what the pages need without ever walking every device per request:
//!
//! - `GET /v1/map/cells?res=R&bbox=W,S,E,N` — devices aggregated per H3 cell of resolution `R`
//!   within a box, with each cell's boundary, from an in-memory [`MapIndex`] that follows the
//!   chain block by block (a full scan happens once, when the index is first needed);
//! - `GET /v1/network` — devices by kind and status, stake totals, the current epoch;
//! - `GET /v1/blocks?before=H&limit=N` — recent block summaries for lists and charts;
//! - `GET /v1/accounts/{address}/txs` — an account's recent transactions, newest first, from the
//!   store's lookup index;
//! - `GET /v1/accounts/{address}/stake` — what an owner has bonded to devices and unbonding;
//! - `GET /v1/events` — server-sent events, one `block` event per committed block.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use groundwork_app::modules::devices::state::{
    DeviceKind, DeviceRecord, DeviceStatus, DevicesRead,
};
use groundwork_app::modules::reports::state::ReportsRead;
use groundwork_app::modules::rewards::state::{
    BREAKDOWN_PREFIX, DeviceRewards, RewardsRead, breakdown_key,
};
use groundwork_app::modules::staking::state::StakingRead;
use groundwork_primitives::{Address, DeviceId, sha256};
use groundwork_proto::v1;
use groundwork_proto::{MAX_BLOCK_BYTES, decode_bounded};
use groundwork_state::Store;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiError, ApiResult, ApiState, ErrorBody};

// ---------------------------------------------------------------------------------------------
// Static files

const INDEX_HTML: &str = include_str!("../dashboard/index.html");
const APP_JS: &str = include_str!("../dashboard/app.js");
const MAP_JS: &str = include_str!("../dashboard/map.js");
const APP_CSS: &str = include_str!("../dashboard/app.css");
const FAVICON_SVG: &str = include_str!("../dashboard/favicon.svg");

/// One embedded file: its bytes, content type and strong validator.
struct Asset {
    body: String,
    content_type: &'static str,
    etag: String,
}

impl Asset {
    fn new(body: String, content_type: &'static str) -> Asset {
        let etag = format!(
            "\"{}\"",
            &groundwork_primitives::sha256(body.as_bytes()).to_hex()[..16]
        );
        Asset {
            body,
            content_type,
            etag,
        }
    }
}

/// A version stamp of all assets together: pages ask for `app.js?v=<stamp>`, so a new binary's
/// files are fetched again while an unchanged one's stay cached for good.
static STAMP: LazyLock<String> = LazyLock::new(|| {
    let all = [APP_JS, MAP_JS, APP_CSS, FAVICON_SVG].concat();
    groundwork_primitives::sha256(all.as_bytes()).to_hex()[..12].to_string()
});

static INDEX: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        INDEX_HTML.replace("{{STAMP}}", &STAMP),
        "text/html; charset=utf-8",
    )
});
static ASSETS: LazyLock<[(&'static str, Asset); 4]> = LazyLock::new(|| {
    [
        (
            "app.js",
            Asset::new(APP_JS.into(), "text/javascript; charset=utf-8"),
        ),
        (
            "map.js",
            Asset::new(MAP_JS.into(), "text/javascript; charset=utf-8"),
        ),
        (
            "app.css",
            Asset::new(APP_CSS.into(), "text/css; charset=utf-8"),
        ),
        (
            "favicon.svg",
            Asset::new(FAVICON_SVG.into(), "image/svg+xml"),
        ),
    ]
});

fn serve(asset: &Asset, headers: &HeaderMap, cache: &'static str) -> Response {
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == asset.etag));
    let etag = HeaderValue::from_str(&asset.etag).unwrap_or(HeaderValue::from_static("\"\""));
    let common = [
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::ETAG, etag),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    if matches {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        asset.body.clone(),
    )
        .into_response()
}

async fn index(headers: HeaderMap) -> Response {
    serve(&INDEX, &headers, "no-cache")
}

/// Query of an asset request: `v` is the stamp the page was built with.
#[derive(Debug, Deserialize)]
struct AssetParams {
    v: Option<String>,
}

async fn asset(
    Path(name): Path<String>,
    Query(params): Query<AssetParams>,
    headers: HeaderMap,
) -> Response {
    let Some((_, asset)) = ASSETS.iter().find(|(n, _)| *n == name) else {
        return ApiError::not_found(format!("no dashboard file {name:?}")).into_response();
    };
    // A request naming this build's stamp may be cached for good; any other must revalidate.
    let cache = if params.v.as_deref() == Some(STAMP.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    serve(asset, &headers, cache)
}

/// The dashboard's routes, merged into the API router.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/", get(index))
        .route("/dashboard/{name}", get(asset))
        .route("/v1/events", get(events))
        .route("/v1/map/cells", get(map_cells))
        .route("/v1/map/cell/{cell}", get(map_cell))
        .route("/v1/network", get(network))
        .route("/v1/blocks", get(recent_blocks))
        .route("/v1/accounts/{address}/txs", get(account_txs))
        .route("/v1/accounts/{address}/stake", get(account_stake))
}

// ---------------------------------------------------------------------------------------------
// Server-sent events

/// A committed block, as sent on `/v1/events`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockEvent {
    /// Its height.
    pub height: u64,
    /// Its hash, hex.
    pub hash: String,
    /// Its time, ms since the Unix epoch.
    pub time_ms: u64,
}

#[utoipa::path(get, path = "/v1/events",
    responses((status = 200, description = "text/event-stream: a `block` event (JSON BlockEvent) now and after every committed block", content_type = "text/event-stream")))]
pub(crate) async fn events(
    State(state): State<ApiState>,
) -> Sse<impl futures::Stream<Item = Result<SseEvent, Infallible>>> {
    let mut tips = state.inner.tips.clone();
    tips.mark_changed();
    let stream = futures::stream::unfold(tips, |mut tips| async move {
        tips.changed().await.ok()?;
        let tip = *tips.borrow_and_update();
        let body = BlockEvent {
            height: tip.height,
            hash: tip.block_hash.to_hex(),
            time_ms: tip.time_ms,
        };
        let event = SseEvent::default()
            .event("block")
            .json_data(&body)
            .unwrap_or_else(|_| SseEvent::default().event("block"));
        Some((Ok(event), tips))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

// ---------------------------------------------------------------------------------------------
// The map index

/// The finest H3 resolution the map aggregates to (devices locate at 8 or finer by default).
pub const MAP_MAX_RES: u8 = 8;
/// Cells returned by one map request at most.
const MAP_MAX_CELLS: usize = 20_000;
/// A catch-up longer than this many blocks rescans the devices instead.
const RESCAN_AFTER_BLOCKS: u64 = 5_000;
/// The block event of an epoch's payout (`groundwork_app::modules::rewards::events`): the map's
/// earnings move to that epoch.
const EPOCH_PAID_EVENT: &str = "rewards.epoch_paid";
const KINDS: usize = 5;

/// Where a device sits on the map, what it is and what it last earned: what the index keeps
/// per device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Placed {
    /// Its cell at [`MAP_MAX_RES`], or `None` before it asserts a location.
    cell: Option<h3o::CellIndex>,
    kind: u8,
    active: bool,
    /// Base units credited for it in the index's earnings epoch (saturating: a device earning
    /// more than `u64::MAX` base units in one epoch is shown as earning that).
    earned: u64,
}

/// Devices counted in one cell.
#[derive(Debug, Clone, Copy, Default)]
struct CellCounts {
    lat: f32,
    lng: f32,
    kinds: [u32; KINDS],
    active: u32,
    decommissioned: u32,
    /// Base units its devices earned in the earnings epoch.
    earned: u128,
    /// Its devices that earned more than zero then.
    earning: u32,
}

/// The aggregated devices: per device, where it is; per resolution, counts per cell.
struct MapData {
    height: u64,
    devices: HashMap<DeviceId, Placed>,
    levels: Vec<BTreeMap<u64, CellCounts>>,
    /// All devices by kind: (active, decommissioned).
    totals: [(u64, u64); KINDS],
    located: u64,
    /// The epoch whose rewards `earned` holds: the latest paid when the index last looked.
    earnings_epoch: Option<u64>,
    /// A newer paid epoch whose earnings are still to be read (see [`MapIndex::current`]).
    earnings_due: Option<u64>,
}

/// Devices per H3 cell at every resolution up to [`MAP_MAX_RES`], kept in memory and brought up
/// to the chain's tip on use: a full scan of the devices the first time, then only the devices
/// named by the events of each new block. Derived data: never part of consensus.
#[derive(Default)]
pub struct MapIndex {
    data: Mutex<Option<MapData>>,
    /// Set while one request reads a newly paid epoch's earnings with the lock released.
    loading_earnings: AtomicBool,
}

fn kind_index(kind: DeviceKind) -> u8 {
    (kind.to_proto() - 1).clamp(0, KINDS as i32 - 1) as u8
}

fn kind_name(index: usize) -> &'static str {
    ["hotspot", "sensor", "storage", "compute", "meter"][index.min(KINDS - 1)]
}

fn place(record: &DeviceRecord) -> Placed {
    let finest = h3o::Resolution::try_from(MAP_MAX_RES).unwrap_or(h3o::Resolution::Eight);
    let cell = record
        .location
        .and_then(|c| h3o::CellIndex::try_from(c).ok())
        .map(|cell| {
            if cell.resolution() >= finest {
                cell.parent(finest).unwrap_or(cell)
            } else {
                // Coarser than the map's finest level: drawn in its centre child.
                cell.center_child(finest).unwrap_or(cell)
            }
        });
    Placed {
        cell,
        kind: kind_index(record.kind),
        active: record.status == DeviceStatus::Active,
        earned: 0,
    }
}

/// What each of `devices` was credited in `epoch`, from the rewards module's derived breakdown
/// records (`w/` ‖ device ‖ epoch), read in key order in one transaction. Devices without a
/// record (no counted reports that epoch) are left out: they earned nothing.
fn load_earnings(
    store: &Store,
    epoch: u64,
    devices: impl Iterator<Item = DeviceId>,
) -> Result<HashMap<DeviceId, u64>, ApiError> {
    let mut ids: Vec<DeviceId> = devices.collect();
    ids.sort_unstable();
    let mut earned = HashMap::new();
    let mut corrupt = None;
    store.records_each(
        ids.iter().map(|id| breakdown_key(id, epoch)),
        |key, value| {
            let Some(id) = key
                .get(BREAKDOWN_PREFIX.len()..BREAKDOWN_PREFIX.len() + 20)
                .and_then(|b| <[u8; 20]>::try_from(b).ok())
                .map(DeviceId)
            else {
                corrupt = Some(hex::encode(key));
                return;
            };
            match DeviceRewards::decode(id, epoch, value) {
                Some(rewards) if rewards.total.0 > 0 => {
                    earned.insert(id, u64::try_from(rewards.total.0).unwrap_or(u64::MAX));
                }
                Some(_) => {}
                None => corrupt = Some(hex::encode(key)),
            }
        },
    )?;
    match corrupt {
        Some(key) => Err(ApiError::internal(format!(
            "derived record {key} is not a reward breakdown"
        ))),
        None => Ok(earned),
    }
}

impl MapData {
    fn empty() -> MapData {
        MapData {
            height: 0,
            devices: HashMap::new(),
            levels: (0..=MAP_MAX_RES).map(|_| BTreeMap::new()).collect(),
            totals: [(0, 0); KINDS],
            located: 0,
            earnings_epoch: None,
            earnings_due: None,
        }
    }

    fn count(&mut self, placed: Placed, add: bool) {
        let step = |n: &mut u32| {
            *n = if add {
                n.saturating_add(1)
            } else {
                n.saturating_sub(1)
            };
        };
        let total = &mut self.totals[usize::from(placed.kind)];
        let slot = if placed.active {
            &mut total.0
        } else {
            &mut total.1
        };
        *slot = if add {
            slot.saturating_add(1)
        } else {
            slot.saturating_sub(1)
        };
        let Some(cell) = placed.cell else {
            return;
        };
        self.located = if add {
            self.located.saturating_add(1)
        } else {
            self.located.saturating_sub(1)
        };
        for (res, level) in self.levels.iter_mut().enumerate() {
            let Some(parent) = h3o::Resolution::try_from(res as u8)
                .ok()
                .and_then(|r| cell.parent(r))
            else {
                continue;
            };
            let entry = level.entry(u64::from(parent)).or_insert_with(|| {
                let center = h3o::LatLng::from(parent);
                CellCounts {
                    lat: center.lat() as f32,
                    lng: center.lng() as f32,
                    ..CellCounts::default()
                }
            });
            step(&mut entry.kinds[usize::from(placed.kind)]);
            step(if placed.active {
                &mut entry.active
            } else {
                &mut entry.decommissioned
            });
            if placed.earned > 0 {
                step(&mut entry.earning);
                let earned = u128::from(placed.earned);
                entry.earned = if add {
                    entry.earned.saturating_add(earned)
                } else {
                    entry.earned.saturating_sub(earned)
                };
            }
            if entry.active == 0 && entry.decommissioned == 0 {
                level.remove(&u64::from(parent));
            }
        }
    }

    /// Builds the whole index at once: counts per finest cell first, then each coarser level
    /// from the one below it (far cheaper than adding devices one by one).
    fn build(height: u64, devices: HashMap<DeviceId, Placed>) -> MapData {
        let mut data = MapData::empty();
        data.height = height;
        let mut finest: HashMap<u64, CellCounts> = HashMap::new();
        for placed in devices.values() {
            let total = &mut data.totals[usize::from(placed.kind)];
            if placed.active {
                total.0 += 1;
            } else {
                total.1 += 1;
            }
            let Some(cell) = placed.cell else {
                continue;
            };
            data.located += 1;
            let entry = finest.entry(u64::from(cell)).or_default();
            entry.kinds[usize::from(placed.kind)] += 1;
            if placed.active {
                entry.active += 1;
            } else {
                entry.decommissioned += 1;
            }
            if placed.earned > 0 {
                entry.earning += 1;
                entry.earned += u128::from(placed.earned);
            }
        }
        let mut below: BTreeMap<u64, CellCounts> = finest.into_iter().collect();
        for res in (0..=MAP_MAX_RES).rev() {
            let mut level: BTreeMap<u64, CellCounts> = BTreeMap::new();
            let Ok(resolution) = h3o::Resolution::try_from(res) else {
                continue;
            };
            for (cell, counts) in &below {
                let Some(parent) = h3o::CellIndex::try_from(*cell)
                    .ok()
                    .and_then(|c| c.parent(resolution))
                else {
                    continue;
                };
                let entry = level.entry(u64::from(parent)).or_default();
                for (sum, n) in entry.kinds.iter_mut().zip(counts.kinds) {
                    *sum += n;
                }
                entry.active += counts.active;
                entry.decommissioned += counts.decommissioned;
                entry.earning += counts.earning;
                entry.earned += counts.earned;
            }
            for (cell, counts) in level.iter_mut() {
                if let Ok(index) = h3o::CellIndex::try_from(*cell) {
                    let center = h3o::LatLng::from(index);
                    counts.lat = center.lat() as f32;
                    counts.lng = center.lng() as f32;
                }
            }
            below = level.clone();
            if let Some(slot) = data.levels.get_mut(usize::from(res)) {
                *slot = level;
            }
        }
        data.devices = devices;
        data
    }

    fn set(&mut self, id: DeviceId, placed: Option<Placed>) {
        if let Some(old) = self.devices.remove(&id) {
            self.count(old, false);
        }
        if let Some(new) = placed {
            self.count(new, true);
            self.devices.insert(id, new);
        }
    }

    /// A device's record changed (moved, retired, new): its earnings stay with it.
    fn update(&mut self, id: DeviceId, placed: Option<Placed>) {
        let earned = self.devices.get(&id).map_or(0, |p| p.earned);
        self.set(id, placed.map(|p| Placed { earned, ..p }));
    }

    /// Replaces every device's earnings with what it earned in `epoch` (absent: nothing) and
    /// sums them per cell again: per finest cell first, then each coarser level from the one
    /// below, as [`MapData::build`] does for the counts.
    fn set_earnings(&mut self, epoch: u64, earned: &HashMap<DeviceId, u64>) {
        self.earnings_epoch = Some(epoch);
        let mut below: BTreeMap<u64, (u128, u32)> = BTreeMap::new();
        {
            let mut finest: HashMap<u64, (u128, u32)> = HashMap::new();
            for (id, placed) in self.devices.iter_mut() {
                placed.earned = earned.get(id).copied().unwrap_or(0);
                if let (Some(cell), true) = (placed.cell, placed.earned > 0) {
                    let sum = finest.entry(u64::from(cell)).or_default();
                    sum.0 += u128::from(placed.earned);
                    sum.1 += 1;
                }
            }
            below.extend(finest);
        }
        for res in (0..=MAP_MAX_RES).rev() {
            let Ok(resolution) = h3o::Resolution::try_from(res) else {
                continue;
            };
            let mut sums: BTreeMap<u64, (u128, u32)> = BTreeMap::new();
            for (cell, (amount, devices)) in &below {
                let Some(parent) = h3o::CellIndex::try_from(*cell)
                    .ok()
                    .and_then(|c| c.parent(resolution))
                else {
                    continue;
                };
                let sum = sums.entry(u64::from(parent)).or_default();
                sum.0 += amount;
                sum.1 += devices;
            }
            if let Some(level) = self.levels.get_mut(usize::from(res)) {
                for (cell, counts) in level.iter_mut() {
                    let (amount, devices) = sums.get(cell).copied().unwrap_or_default();
                    counts.earned = amount;
                    counts.earning = devices;
                }
            }
            below = sums;
        }
    }
}

impl MapIndex {
    /// Brings the index to the store's tip and hands it over locked.
    fn current(&self, store: &Store) -> Result<MutexGuard<'_, Option<MapData>>, ApiError> {
        let mut guard = self
            .data
            .lock()
            .map_err(|_| ApiError::internal("map index lock poisoned"))?;
        let snapshot = store.snapshot()?;
        let tip = snapshot.tip().map_or(0, |t| t.height);
        let stale = guard
            .as_ref()
            .is_none_or(|d| d.height > tip || tip - d.height > RESCAN_AFTER_BLOCKS);
        if stale {
            let mut devices = HashMap::new();
            let mut after = None;
            loop {
                let page = snapshot.devices_page(after.as_ref(), 4096)?;
                let Some(last) = page.last() else {
                    break;
                };
                after = Some(last.id);
                for record in &page {
                    devices.insert(record.id, place(record));
                }
            }
            let mut data = MapData::build(tip, devices);
            if let Some(epoch) = snapshot.latest_rewarded_epoch()? {
                let earned = load_earnings(store, epoch, data.devices.keys().copied())?;
                data.set_earnings(epoch, &earned);
            }
            *guard = Some(data);
            return Ok(guard);
        }
        if let Some(data) = guard.as_mut()
            && data.height < tip
        {
            let mut touched = std::collections::BTreeSet::new();
            let mut paid_epoch = None;
            for height in data.height + 1..=tip {
                let Some(bytes) = store.results(height)? else {
                    continue;
                };
                let results: v1::BlockResults =
                    decode_bounded("block results", &bytes, MAX_BLOCK_BYTES)
                        .map_err(ApiError::internal)?;
                let events = results
                    .tx_results
                    .iter()
                    .flat_map(|r| r.events.iter())
                    .chain(results.block_events.iter());
                for event in events {
                    for attribute in &event.attributes {
                        if attribute.key == "device"
                            && let Ok(id) = attribute.value.parse::<DeviceId>()
                        {
                            touched.insert(id);
                        }
                        if event.kind == EPOCH_PAID_EVENT
                            && attribute.key == "epoch"
                            && let Ok(epoch) = attribute.value.parse::<u64>()
                        {
                            paid_epoch = Some(epoch);
                        }
                    }
                }
            }
            for id in touched {
                let placed = snapshot.device(&id)?.map(|r| place(&r));
                data.update(id, placed);
            }
            if let Some(epoch) = paid_epoch {
                data.earnings_due = Some(epoch);
            }
            data.height = tip;
        }
        self.read_due_earnings(store, guard)
    }

    /// When an epoch was paid since the index last looked, reads what every device earned in it
    /// (a million breakdown records take seconds) with the lock released, so other requests
    /// keep being answered from the previous epoch's earnings meanwhile; one request reads,
    /// the others do not wait for it. The devices are those the index held when the read
    /// began: a device added later cannot have earned in an epoch paid before it existed.
    fn read_due_earnings<'a>(
        &'a self,
        store: &Store,
        guard: MutexGuard<'a, Option<MapData>>,
    ) -> Result<MutexGuard<'a, Option<MapData>>, ApiError> {
        let Some(epoch) = guard.as_ref().and_then(|d| d.earnings_due) else {
            return Ok(guard);
        };
        if self.loading_earnings.swap(true, Ordering::AcqRel) {
            return Ok(guard);
        }
        let ids: Vec<DeviceId> = guard
            .as_ref()
            .map(|d| d.devices.keys().copied().collect())
            .unwrap_or_default();
        drop(guard);
        let earned = load_earnings(store, epoch, ids.into_iter());
        self.loading_earnings.store(false, Ordering::Release);
        let earned = earned?;
        let mut guard = self
            .data
            .lock()
            .map_err(|_| ApiError::internal("map index lock poisoned"))?;
        if let Some(data) = guard.as_mut()
            && data.earnings_due == Some(epoch)
        {
            data.earnings_due = None;
            if data.earnings_epoch.is_none_or(|e| e < epoch) {
                data.set_earnings(epoch, &earned);
            }
        }
        Ok(guard)
    }
}

/// Options of `GET /v1/map/cells`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MapParams {
    /// H3 resolution to aggregate to, 0 to 8.
    pub res: u8,
    /// The view: `west,south,east,north` in degrees (west > east crosses the antimeridian).
    pub bbox: String,
    /// Most cells to return (1 to 20000, default 5000); the densest come first when cut.
    pub limit: Option<usize>,
}

/// Devices in one H3 cell.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MapCell {
    /// The cell, hex.
    pub cell: String,
    /// Its centre latitude, degrees.
    pub lat: f64,
    /// Its centre longitude, degrees.
    pub lng: f64,
    /// Its boundary, `[lat, lng]` pairs in degrees.
    pub boundary: Vec<[f64; 2]>,
    /// Devices in it.
    pub total: u32,
    /// Active devices.
    pub active: u32,
    /// Decommissioned devices.
    pub decommissioned: u32,
    /// Devices by kind (kinds with none left out).
    pub kinds: BTreeMap<String, u32>,
    /// Base units its devices were credited in `earnings_epoch` (each device counted where it is
    /// now); "0" when no epoch is paid yet.
    pub earned: String,
    /// Its devices credited more than zero in `earnings_epoch`.
    pub earning: u32,
}

/// The cells in view.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MapCellsResponse {
    /// The height the counts reflect.
    pub height: u64,
    /// The resolution.
    pub res: u8,
    /// Cells with devices whose centre is in the box (widened by about a cell).
    pub cells: Vec<MapCell>,
    /// Cells in view before `limit` cut the list.
    pub cells_in_view: usize,
    /// Whether `limit` cut the list (ask at a finer resolution or a smaller box).
    pub truncated: bool,
    /// The epoch whose rewards `earned` counts: the latest paid one; absent before the first.
    pub earnings_epoch: Option<u64>,
}

fn parse_bbox(text: &str) -> Result<[f64; 4], ApiError> {
    let parts: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::bad_request(format!(
                "bbox {text:?}: expected four numbers west,south,east,north in degrees"
            ))
        })?;
    let [west, south, east, north] = parts[..] else {
        return Err(ApiError::bad_request(format!(
            "bbox {text:?}: expected four numbers west,south,east,north, got {}",
            parts.len()
        )));
    };
    let lng_ok = |v: f64| (-180.0..=180.0).contains(&v);
    let lat_ok = |v: f64| (-90.0..=90.0).contains(&v);
    if !(lng_ok(west) && lng_ok(east) && lat_ok(south) && lat_ok(north) && south <= north) {
        return Err(ApiError::bad_request(format!(
            "bbox {text:?}: longitudes are -180 to 180, latitudes -90 to 90, south ≤ north"
        )));
    }
    Ok([west, south, east, north])
}

fn in_box(lat: f64, lng: f64, [west, south, east, north]: [f64; 4], margin: f64) -> bool {
    if lat < south - margin || lat > north + margin {
        return false;
    }
    // A degree of longitude shrinks towards the poles: widen the margin to match.
    let margin = margin / lat.to_radians().cos().max(0.05);
    if east - west + 2.0 * margin >= 360.0 {
        return true;
    }
    let (w, e) = (west - margin, east + margin);
    let shift = |v: f64| if v < w { v + 360.0 } else { v };
    let e = if e < w { e + 360.0 } else { e };
    let lng = shift(lng);
    lng >= w && lng <= e
}

#[utoipa::path(get, path = "/v1/map/cells", params(MapParams),
    responses((status = 200, body = MapCellsResponse), (status = 400, body = ErrorBody)))]
pub(crate) async fn map_cells(
    State(state): State<ApiState>,
    params: Result<Query<MapParams>, QueryRejection>,
) -> ApiResult<MapCellsResponse> {
    let params = crate::api::query_params(params)?;
    if params.res > MAP_MAX_RES {
        return Err(ApiError::bad_request(format!(
            "res is an H3 resolution from 0 to {MAP_MAX_RES}"
        )));
    }
    let limit = params.limit.unwrap_or(5_000);
    if !(1..=MAP_MAX_CELLS).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit is 1 to {MAP_MAX_CELLS}"
        )));
    }
    let bbox = parse_bbox(&params.bbox)?;
    let inner = state.inner.clone();
    tokio::task::spawn_blocking(move || {
        let guard = inner.map.current(&inner.store)?;
        let Some(data) = guard.as_ref() else {
            return Err(ApiError::internal("the map index is empty after building"));
        };
        cells_in_view(data, params.res, bbox, limit).map(Json)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Levels finer than this are searched through the level [`PRUNE_STEP`] coarser.
const PRUNE_FROM: u8 = 5;
/// How many resolutions coarser the pruning level is.
const PRUNE_STEP: u8 = 3;

/// The cells of level `res` that may lie in `bbox`: a scan of the level for coarse
/// resolutions; for fine ones, the descendants (a contiguous range of cell indexes) of the
/// coarser cells in the box, so a small view at a fine level reads only its neighbourhood.
fn candidates(data: &MapData, res: u8, bbox: [f64; 4]) -> Vec<(u64, CellCounts)> {
    let Some(level) = data.levels.get(usize::from(res)) else {
        return Vec::new();
    };
    if res < PRUNE_FROM {
        return level.iter().map(|(cell, c)| (*cell, *c)).collect();
    }
    let coarse = res - PRUNE_STEP;
    let Ok(coarse_res) = h3o::Resolution::try_from(coarse) else {
        return Vec::new();
    };
    let Ok(fine_res) = h3o::Resolution::try_from(res) else {
        return Vec::new();
    };
    // A coarse cell reaches about two of its edges from its centre.
    let margin = coarse_res.edge_length_km() * 2.5 / 111.0;
    let mut out = Vec::new();
    for (parent, counts) in candidates(data, coarse, bbox) {
        if !in_box(f64::from(counts.lat), f64::from(counts.lng), bbox, margin) {
            continue;
        }
        let Some(first) = h3o::CellIndex::try_from(parent)
            .ok()
            .and_then(|p| p.center_child(fine_res))
        else {
            continue;
        };
        // Descendants share the parent's digits; the finer digits run from 0 to 6.
        let low = u64::from(first);
        let high = (coarse + 1..=res).fold(low, |acc, digit| {
            acc | (6u64 << ((15 - u64::from(digit)) * 3))
        });
        out.extend(level.range(low..=high).map(|(cell, c)| (*cell, *c)));
    }
    out
}

/// The cells of resolution `res_u8` whose centres lie in `bbox`, densest first when more than
/// `limit`.
fn cells_in_view(
    data: &MapData,
    res_u8: u8,
    bbox: [f64; 4],
    limit: usize,
) -> Result<MapCellsResponse, ApiError> {
    let res = h3o::Resolution::try_from(res_u8).map_err(ApiError::internal)?;
    // A cell whose centre lies just outside the view may still show: widen by about a cell.
    let margin = res.edge_length_km() * 2.5 / 111.0;
    let mut hits = candidates(data, res_u8, bbox);
    hits.retain(|(_, c)| in_box(f64::from(c.lat), f64::from(c.lng), bbox, margin));
    let cells_in_view = hits.len();
    let truncated = cells_in_view > limit;
    if truncated {
        hits.sort_by_key(|(cell, c)| (std::cmp::Reverse(c.active + c.decommissioned), *cell));
        hits.truncate(limit);
    }
    let cells = hits
        .into_iter()
        .filter_map(|(cell, counts)| {
            let index = h3o::CellIndex::try_from(cell).ok()?;
            let center = h3o::LatLng::from(index);
            Some(MapCell {
                cell: format!("{cell:x}"),
                lat: center.lat(),
                lng: center.lng(),
                boundary: index
                    .boundary()
                    .iter()
                    .map(|p| [round6(p.lat()), round6(p.lng())])
                    .collect(),
                total: counts.active + counts.decommissioned,
                active: counts.active,
                decommissioned: counts.decommissioned,
                kinds: counts
                    .kinds
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                    .map(|(k, n)| (kind_name(k).to_string(), *n))
                    .collect(),
                earned: counts.earned.to_string(),
                earning: counts.earning,
            })
        })
        .collect();
    Ok(MapCellsResponse {
        height: data.height,
        res: res_u8,
        cells,
        cells_in_view,
        truncated,
        earnings_epoch: data.earnings_epoch,
    })
}

/// One H3 cell's geometry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CellGeometry {
    /// The cell, hex.
    pub cell: String,
    /// Its resolution.
    pub res: u8,
    /// Its centre latitude, degrees.
    pub lat: f64,
    /// Its centre longitude, degrees.
    pub lng: f64,
    /// Its boundary, `[lat, lng]` pairs in degrees.
    pub boundary: Vec<[f64; 2]>,
}

#[utoipa::path(get, path = "/v1/map/cell/{cell}", params(("cell" = String, Path, description = "An H3 cell index, hex")),
    responses((status = 200, body = CellGeometry), (status = 400, body = ErrorBody)))]
pub(crate) async fn map_cell(Path(cell): Path<String>) -> ApiResult<CellGeometry> {
    let index = u64::from_str_radix(cell.trim_start_matches("0x"), 16)
        .ok()
        .and_then(|v| h3o::CellIndex::try_from(v).ok())
        .ok_or_else(|| ApiError::bad_request(format!("{cell:?} is not a hex H3 cell index")))?;
    let center = h3o::LatLng::from(index);
    Ok(Json(CellGeometry {
        cell: index.to_string(),
        res: u8::from(index.resolution()),
        lat: center.lat(),
        lng: center.lng(),
        boundary: index
            .boundary()
            .iter()
            .map(|p| [round6(p.lat()), round6(p.lng())])
            .collect(),
    }))
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

// ---------------------------------------------------------------------------------------------
// Network summary

/// Devices of one kind.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KindCounts {
    /// Active.
    pub active: u64,
    /// Decommissioned.
    pub decommissioned: u64,
}

/// The network at a glance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NetworkResponse {
    /// The height these numbers reflect.
    pub height: u64,
    /// Devices ever onboarded.
    pub devices_total: u64,
    /// Devices with an asserted location.
    pub devices_located: u64,
    /// Devices by kind and status.
    pub devices_by_kind: BTreeMap<String, KindCounts>,
    /// Stake bonded to active devices, base units.
    pub staked: String,
    /// Stake waiting out its unbonding period, base units.
    pub unbonding: String,
    /// Stake burned by slashing since genesis, base units.
    pub slashed: String,
    /// Blocks per epoch.
    pub epoch_blocks: u64,
    /// The current epoch.
    pub epoch: u64,
    /// Its first and last heights.
    pub epoch_heights: (u64, u64),
}

#[utoipa::path(get, path = "/v1/network", responses((status = 200, body = NetworkResponse)))]
pub(crate) async fn network(State(state): State<ApiState>) -> ApiResult<NetworkResponse> {
    let inner = state.inner.clone();
    tokio::task::spawn_blocking(move || {
        let guard = inner.map.current(&inner.store)?;
        let data = guard
            .as_ref()
            .ok_or_else(|| ApiError::internal("the map index is empty after building"))?;
        let snapshot = inner.store.snapshot()?;
        let stake = snapshot.stake_totals()?;
        let params = snapshot.reports_params()?;
        let height = data.height;
        let epoch = params.epoch_of(height);
        let first = epoch.saturating_mul(params.epoch_blocks);
        let devices_by_kind = data
            .totals
            .iter()
            .enumerate()
            .map(|(k, (active, decommissioned))| {
                (
                    kind_name(k).to_string(),
                    KindCounts {
                        active: *active,
                        decommissioned: *decommissioned,
                    },
                )
            })
            .collect();
        Ok(Json(NetworkResponse {
            height,
            devices_total: data.totals.iter().map(|(a, d)| a + d).sum(),
            devices_located: data.located,
            devices_by_kind,
            staked: stake.bonded.to_string(),
            unbonding: stake.unbonding.to_string(),
            slashed: stake.slashed.to_string(),
            epoch_blocks: params.epoch_blocks,
            epoch,
            epoch_heights: (
                first,
                first.saturating_add(params.epoch_blocks.saturating_sub(1)),
            ),
        }))
    })
    .await
    .map_err(ApiError::internal)?
}

// ---------------------------------------------------------------------------------------------
// Recent blocks

/// Options of `GET /v1/blocks`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct BlocksParams {
    /// Only blocks below this height (default: up to the latest).
    pub before: Option<u64>,
    /// Most blocks (1 to 100, default 20).
    pub limit: Option<u64>,
}

/// A block in a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockSummary {
    /// Height.
    pub height: u64,
    /// Hash, hex.
    pub hash: String,
    /// Time, ms since the Unix epoch.
    pub time_ms: u64,
    /// Transactions in it.
    pub txs: u32,
    /// Of which failed.
    pub failed_txs: u32,
    /// Device reports in it.
    pub reports: u32,
    /// Of which judged invalid.
    pub invalid_reports: u32,
}

/// Recent blocks, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlocksResponse {
    /// The blocks.
    pub blocks: Vec<BlockSummary>,
    /// Pass as `before` for the next page; absent at genesis.
    pub next_before: Option<u64>,
}

#[utoipa::path(get, path = "/v1/blocks", params(BlocksParams),
    responses((status = 200, body = BlocksResponse), (status = 400, body = ErrorBody)))]
pub(crate) async fn recent_blocks(
    State(state): State<ApiState>,
    params: Result<Query<BlocksParams>, QueryRejection>,
) -> ApiResult<BlocksResponse> {
    let params = crate::api::query_params(params)?;
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("limit is 1 to 100"));
    }
    let inner = state.inner.clone();
    tokio::task::spawn_blocking(move || {
        let store = &inner.store;
        let tip = store.tip()?.map_or(0, |t| t.height);
        let top = params.before.map_or(tip, |b| b.saturating_sub(1).min(tip));
        let bottom = top.saturating_sub(limit - 1).max(1);
        let mut blocks = Vec::new();
        for height in (bottom..=top).rev() {
            if height == 0 {
                break;
            }
            let block = crate::api::load_block(store, height)?;
            let results: v1::BlockResults = match store.results(height)? {
                Some(bytes) => decode_bounded("block results", &bytes, MAX_BLOCK_BYTES)
                    .map_err(ApiError::internal)?,
                None => v1::BlockResults::default(),
            };
            let header = block.header.unwrap_or_default();
            use groundwork_proto::Message as _;
            blocks.push(BlockSummary {
                height,
                hash: groundwork_primitives::sha256(&header.encode_to_vec()).to_hex(),
                time_ms: header.time_ms,
                txs: header.tx_count,
                failed_txs: results.tx_results.iter().filter(|r| r.code != 0).count() as u32,
                reports: header.report_count,
                invalid_reports: results
                    .report_results
                    .iter()
                    .filter(|r| r.code != 0)
                    .count() as u32,
            });
        }
        Ok(Json(BlocksResponse {
            next_before: (bottom > 1).then_some(bottom),
            blocks,
        }))
    })
    .await
    .map_err(ApiError::internal)?
}

// ---------------------------------------------------------------------------------------------
// Accounts: recent transactions and stake

/// Options of `GET /v1/accounts/{address}/txs`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AccountTxsParams {
    /// Only transactions in blocks below this height (the previous page's `next_before`).
    pub before: Option<u64>,
    /// Most transactions (1 to 100, default 20).
    pub limit: Option<usize>,
}

/// A transaction in an account's history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountTx {
    /// Hash, hex.
    pub hash: String,
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
    /// `sender` or `recipient`.
    pub role: String,
    /// Result code (0 = success).
    pub code: u32,
    /// Why it failed.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub error: String,
    /// Block time, ms since the Unix epoch.
    pub time_ms: u64,
    /// Service credits this transaction minted that the account paid for or received (from its
    /// `credits_minted` events); left out when none.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub credit_mints: Vec<CreditMintView>,
}

/// Credits minted by burning tokens (a `credits_minted` event).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreditMintView {
    /// Who burned the tokens (gw1…).
    pub payer: String,
    /// Who received the credits (gw1…).
    pub beneficiary: String,
    /// Tokens burned, base units.
    pub burned: String,
    /// Credits minted.
    pub credits: u64,
    /// The oracle price used, micro-fiat per whole token.
    pub micro_fiat_per_token: u64,
}

/// The credit mints among a transaction's events that involve `address`.
fn credit_mints(events: &[v1::Event], address: &str) -> Vec<CreditMintView> {
    events
        .iter()
        .filter(|e| e.kind == "credits_minted")
        .filter_map(|e| {
            let get = |key: &str| {
                e.attributes
                    .iter()
                    .find(|a| a.key == key)
                    .map(|a| a.value.clone())
            };
            let view = CreditMintView {
                payer: get("payer")?,
                beneficiary: get("beneficiary")?,
                burned: get("burned")?,
                credits: get("credits")?.parse().ok()?,
                micro_fiat_per_token: get("micro_fiat_per_token")?.parse().ok()?,
            };
            (view.payer == address || view.beneficiary == address).then_some(view)
        })
        .collect()
}

/// An account's transactions, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountTxsResponse {
    /// The account.
    pub address: String,
    /// The transactions.
    pub txs: Vec<AccountTx>,
    /// Pass as `before` for older ones; absent when there are none.
    pub next_before: Option<u64>,
}

fn parse_address(text: &str) -> Result<Address, ApiError> {
    text.parse()
        .map_err(|e| ApiError::bad_request(format!("{text:?} is not an address (gw1…): {e}")))
}

#[utoipa::path(get, path = "/v1/accounts/{address}/txs", params(("address" = String, Path, description = "A gw1… address"), AccountTxsParams),
    responses((status = 200, body = AccountTxsResponse), (status = 400, body = ErrorBody)))]
pub(crate) async fn account_txs(
    State(state): State<ApiState>,
    Path(address): Path<String>,
    params: Result<Query<AccountTxsParams>, QueryRejection>,
) -> ApiResult<AccountTxsResponse> {
    let params = crate::api::query_params(params)?;
    let address = parse_address(&address)?;
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("limit is 1 to 100"));
    }
    let inner = state.inner.clone();
    tokio::task::spawn_blocking(move || {
        let store = &inner.store;
        let prefix = [b"a/".as_slice(), address.as_bytes()].concat();
        let start = prefix.clone();
        let end = match params.before {
            Some(before) => [prefix.as_slice(), &before.to_be_bytes()].concat(),
            None => [prefix.as_slice(), &[0xff; 9]].concat(),
        };
        // One entry per block (older stores: per transaction) names the account's transactions
        // in that block; read until one more than asked, to know whether an older page exists.
        let entries = store.index_entries_rev(&start, &end, limit + 1)?;
        let mut found: Vec<(u64, u32, u8)> = Vec::new();
        for (key, value) in &entries {
            let height = key
                .get(prefix.len()..prefix.len() + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| ApiError::internal("malformed account index key"))?;
            let positions =
                groundwork_app::account_tx_positions(key, value).map_err(ApiError::internal)?;
            // Newest first: the block's later transactions first.
            found.extend(
                positions
                    .into_iter()
                    .rev()
                    .map(|(i, role)| (height, i, role)),
            );
            if found.len() > limit {
                break;
            }
        }
        let more = found.len() > limit;
        let address_text = address.to_string();
        let mut results_cache: BTreeMap<u64, (v1::Block, v1::BlockResults)> = BTreeMap::new();
        let mut txs = Vec::new();
        for &(height, index, role) in found.iter().take(limit) {
            let role = if role == 0 { "sender" } else { "recipient" };
            if let std::collections::btree_map::Entry::Vacant(slot) = results_cache.entry(height) {
                let results = match store.results(height)? {
                    Some(bytes) => decode_bounded("block results", &bytes, MAX_BLOCK_BYTES)
                        .map_err(ApiError::internal)?,
                    None => v1::BlockResults::default(),
                };
                slot.insert((crate::api::load_block(store, height)?, results));
            }
            let (block, results) = results_cache
                .get(&height)
                .ok_or_else(|| ApiError::internal("results cache"))?;
            let hash = block
                .txs
                .get(index as usize)
                .map(|tx| sha256(tx))
                .ok_or_else(|| ApiError::internal("the account index names a missing tx"))?;
            let result = results.tx_results.get(index as usize);
            txs.push(AccountTx {
                hash: hash.to_hex(),
                height,
                index,
                role: role.into(),
                code: result.map_or(0, |r| r.code),
                error: result.map(|r| r.error.clone()).unwrap_or_default(),
                time_ms: block.header.as_ref().map_or(0, |h| h.time_ms),
                credit_mints: result
                    .map(|r| credit_mints(&r.events, &address_text))
                    .unwrap_or_default(),
            });
        }
        // The next page starts below the oldest height shown; a block's entries never split
        // across pages because a page that would cut one ends before that block.
        let next_before = if more {
            let oldest = txs.last().map_or(0, |t| t.height);
            let newest = txs.first().map_or(0, |t| t.height);
            if oldest == newest {
                Some(oldest)
            } else {
                txs.retain(|t| t.height > oldest);
                Some(oldest + 1)
            }
        } else {
            None
        };
        Ok(Json(AccountTxsResponse {
            address: address.to_string(),
            txs,
            next_before,
        }))
    })
    .await
    .map_err(ApiError::internal)?
}

/// What an owner has staked.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountStakeResponse {
    /// The owner.
    pub address: String,
    /// Bonded to its active devices, base units.
    pub bonded: String,
    /// Its devices counted (at most 100000 are read).
    pub devices: u64,
    /// Stake waiting out its unbonding period.
    pub unbonding: Vec<UnbondingView>,
}

/// An unbonding entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnbondingView {
    /// The device it was bonded to.
    pub device: String,
    /// Withdrawable from this height.
    pub release_height: u64,
    /// Base units.
    pub amount: String,
}

#[utoipa::path(get, path = "/v1/accounts/{address}/stake", params(("address" = String, Path, description = "A gw1… address")),
    responses((status = 200, body = AccountStakeResponse), (status = 400, body = ErrorBody)))]
pub(crate) async fn account_stake(
    State(state): State<ApiState>,
    Path(address): Path<String>,
) -> ApiResult<AccountStakeResponse> {
    let address = parse_address(&address)?;
    let inner = state.inner.clone();
    tokio::task::spawn_blocking(move || {
        let snapshot = inner.store.snapshot()?;
        let mut bonded: u128 = 0;
        let mut devices = 0u64;
        let mut after = None;
        while devices < 100_000 {
            let ids = snapshot.devices_of_owner(&address, after.as_ref(), 1024)?;
            let Some(last) = ids.last() else {
                break;
            };
            after = Some(*last);
            for id in ids {
                if let Some(record) = snapshot.device(&id)? {
                    devices += 1;
                    if record.status == DeviceStatus::Active {
                        bonded = bonded.saturating_add(record.stake.0);
                    }
                }
            }
        }
        let unbonding = snapshot
            .unbonding_of(&address, 1024)?
            .into_iter()
            .map(|u| UnbondingView {
                device: u.device.to_string(),
                release_height: u.release_height,
                amount: u.amount.to_string(),
            })
            .collect();
        Ok(Json(AccountStakeResponse {
            address: address.to_string(),
            bonded: bonded.to_string(),
            devices,
            unbonding,
        }))
    })
    .await
    .map_err(ApiError::internal)?
}

// ---------------------------------------------------------------------------------------------
// Benchmark

/// What `groundwork bench map` measured.
#[derive(Debug, Serialize)]
pub struct MapBenchReport {
    /// Devices placed.
    pub devices: usize,
    /// Milliseconds to build the index from scratch (in memory; reading the records from the
    /// store comes on top).
    pub build_ms: f64,
    /// Cells held per resolution 0..=8.
    pub cells_per_level: Vec<usize>,
    /// A rough size of the index in MiB (entries times their size, hash and tree overhead
    /// included as estimates).
    pub approx_mib: f64,
    /// Median milliseconds of one map request per view: (name, resolution, cells returned, ms).
    pub views: Vec<(String, u8, usize, f64)>,
    /// Microseconds to move one device (the per-block update path), median over 10,000 moves.
    pub move_us: f64,
    /// Devices with a reward breakdown record for the bench's epoch (the rest earned nothing).
    pub earning_devices: usize,
    /// Milliseconds to write those records into a scratch store (setup, not the index).
    pub records_write_ms: f64,
    /// When an epoch is paid, median of 3 (ms): reading every device's breakdown record from the
    /// store in one transaction.
    pub earnings_read_ms: f64,
    /// ... then setting each device's earnings and summing them per cell at every level.
    pub earnings_sum_ms: f64,
}

impl std::fmt::Display for MapBenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "map index of {} devices: built in {:.0} ms, about {:.0} MiB, {:.2} µs per device move",
            self.devices, self.build_ms, self.approx_mib, self.move_us
        )?;
        writeln!(f, "cells per resolution 0..=8: {:?}", self.cells_per_level)?;
        for (name, res, cells, ms) in &self.views {
            writeln!(
                f,
                "  {name:<28} res {res}  {cells:>5} cells  {ms:>8.2} ms (median)"
            )?;
        }
        writeln!(
            f,
            "an epoch paid to {} devices (records written in {:.0} ms): reading their breakdowns {:.0} ms, summing earnings per cell {:.0} ms (medians of 3)",
            self.earning_devices,
            self.records_write_ms,
            self.earnings_read_ms,
            self.earnings_sum_ms
        )
    }
}

/// Builds the map index over `devices` synthetic devices clustered around 40 cities worldwide
/// (a seeded generator: the same run every time) and times the map requests a person panning
/// from the whole world down to a neighbourhood makes; then writes a reward breakdown record for
/// nine devices in ten into a scratch store (removed afterwards) and times what the index does
/// when an epoch is paid: read every device's record, sum the earnings per cell.
pub fn bench_map(devices: usize) -> anyhow::Result<MapBenchReport> {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let unit = |v: u64| (v >> 11) as f64 / (1u64 << 53) as f64;
    let cities: Vec<(f64, f64)> = (0..40)
        .map(|_| (unit(next()) * 120.0 - 55.0, unit(next()) * 340.0 - 170.0))
        .collect();
    let finest = h3o::Resolution::Eight;
    let placed: Vec<(DeviceId, Placed)> = (0..devices)
        .map(|i| {
            let (lat, lng) = cities[i % cities.len()];
            // About ±0.5° around the city, denser towards its centre.
            let r = unit(next()) * unit(next()) * 0.5;
            let a = unit(next()) * std::f64::consts::TAU;
            let cell = h3o::LatLng::new(lat + r * a.sin(), lng + r * a.cos())
                .ok()
                .map(|p| p.to_cell(finest));
            let mut id = [0u8; 20];
            id[..8].copy_from_slice(&(i as u64).to_be_bytes());
            (
                DeviceId(id),
                Placed {
                    cell,
                    kind: (next() % 2) as u8,
                    active: next() % 50 != 0,
                    earned: 0,
                },
            )
        })
        .collect();
    let started = std::time::Instant::now();
    let mut data = MapData::build(0, placed.iter().copied().collect());
    let build_ms = started.elapsed().as_secs_f64() * 1e3;
    let cells_per_level: Vec<usize> = data.levels.iter().map(BTreeMap::len).collect();
    let entries: usize = cells_per_level.iter().sum();
    let approx_mib = (data.devices.len() as f64 * 48.0 + entries as f64 * 72.0) / 1_048_576.0;
    let (lat, lng) = cities[0];
    let views: Vec<(String, u8, [f64; 4])> = vec![
        ("whole world".into(), 1, [-180.0, -85.0, 180.0, 85.0]),
        (
            "a continent (40°×25°)".into(),
            3,
            [lng - 20.0, lat - 12.5, lng + 20.0, lat + 12.5],
        ),
        (
            "a region (4°×2.5°)".into(),
            5,
            [lng - 2.0, lat - 1.25, lng + 2.0, lat + 1.25],
        ),
        (
            "a city (0.6°×0.4°)".into(),
            7,
            [lng - 0.3, lat - 0.2, lng + 0.3, lat + 0.2],
        ),
        (
            "a neighbourhood (0.1°×0.06°)".into(),
            8,
            [lng - 0.05, lat - 0.03, lng + 0.05, lat + 0.03],
        ),
    ];
    let views = views
        .into_iter()
        .map(|(name, res, bbox)| {
            let mut times = Vec::new();
            let mut cells = 0;
            for _ in 0..9 {
                let t = std::time::Instant::now();
                cells = cells_in_view(&data, res, bbox, 5_000).map_or(0, |r| r.cells.len());
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            (name, res, cells, times[times.len() / 2])
        })
        .collect();
    let mut moves = Vec::new();
    for (i, (id, _)) in placed.iter().take(10_000).enumerate() {
        let (_, target) = placed[(i * 7919 + 13) % placed.len()];
        let t = std::time::Instant::now();
        data.set(*id, Some(target));
        moves.push(t.elapsed().as_secs_f64() * 1e6);
    }
    moves.sort_by(f64::total_cmp);
    let earnings = crate::bench::in_scratch_folder("groundwork-bench-map", |dir| {
        bench_earnings(dir, &mut data, &placed, &mut next)
    })?;
    Ok(MapBenchReport {
        devices,
        build_ms,
        cells_per_level,
        approx_mib,
        views,
        move_us: moves.get(moves.len() / 2).copied().unwrap_or(0.0),
        earning_devices: earnings.0,
        records_write_ms: earnings.1,
        earnings_read_ms: earnings.2,
        earnings_sum_ms: earnings.3,
    })
}

/// Commits an otherwise empty block at `height` carrying derived `records` (benchmarks and
/// tests: a store holding what the rewards module writes, without running the chain).
fn commit_records(
    store: &Store,
    height: u64,
    records: Vec<(Vec<u8>, Vec<u8>)>,
) -> anyhow::Result<()> {
    let changes: groundwork_state::ChangeSet =
        [(b"bench".to_vec(), Some(height.to_be_bytes().to_vec()))]
            .into_iter()
            .collect();
    let snapshot = store.snapshot()?;
    let (app_hash, tree) = store.compute_root(&snapshot, &changes, height)?;
    store.commit_block(groundwork_state::BlockCommit {
        height,
        block_hash: groundwork_primitives::Hash([height as u8; 32]),
        app_hash,
        time_ms: height,
        block: Vec::new(),
        results: Vec::new(),
        tx_hashes: Vec::new(),
        changes,
        tree,
        index: Vec::new(),
        index_values: Vec::new(),
        records,
    })?;
    Ok(())
}

/// Writes breakdown records for epoch 0 (nine devices in ten, 100,000 per block) into a store in
/// `dir`, then times [`load_earnings`] and [`MapData::set_earnings`] three times each:
/// (devices with a record, write ms, median read ms, median sum ms).
fn bench_earnings(
    dir: &std::path::Path,
    data: &mut MapData,
    placed: &[(DeviceId, Placed)],
    next: &mut impl FnMut() -> u64,
) -> anyhow::Result<(usize, f64, f64, f64)> {
    use groundwork_app::modules::rewards::state::PoolLine;
    use groundwork_primitives::{Address, Amount};
    use groundwork_tokenomics::{Fixed, ProofKind};

    let store = Store::open(&dir.join("state.redb"))?;
    let commit = |height, records| commit_records(&store, height, records);
    commit(0, Vec::new())?;
    let started = std::time::Instant::now();
    let mut earning = 0;
    for (block, chunk) in placed.chunks(100_000).enumerate() {
        let mut records = Vec::with_capacity(chunk.len());
        for (id, _) in chunk {
            if next().is_multiple_of(10) {
                continue;
            }
            let amount = Amount(u128::from(next() % 5_000_000_000));
            let line = PoolLine {
                kind: ProofKind::Uptime,
                units: Fixed::ONE,
                density_scale: Fixed::ONE,
                reputation: Fixed::ONE,
                weight: Amount(Fixed::ONE.raw()),
                amount,
                ineligible: None,
            };
            let rewards = DeviceRewards {
                device: *id,
                epoch: 0,
                owner: Address(id.0),
                reputation_score: Fixed::ONE,
                reputation: Fixed::ONE,
                pools: vec![line],
                total: amount,
            };
            records.push((breakdown_key(id, 0), rewards.encode()));
            earning += 1;
        }
        commit(block as u64 + 1, records)?;
    }
    let records_write_ms = started.elapsed().as_secs_f64() * 1e3;
    let (mut reads, mut sums) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let earned = load_earnings(&store, 0, data.devices.keys().copied())
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        reads.push(t.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(
            earned.len() <= earning,
            "read more earnings than were written"
        );
        let t = std::time::Instant::now();
        data.set_earnings(0, &earned);
        sums.push(t.elapsed().as_secs_f64() * 1e3);
    }
    reads.sort_by(f64::total_cmp);
    sums.sort_by(f64::total_cmp);
    Ok((earning, records_write_ms, reads[1], sums[1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_accept_points_inside_and_across_the_antimeridian() {
        let lisbon = [-9.3, 38.6, -9.0, 38.8];
        assert!(in_box(38.7, -9.14, lisbon, 0.0));
        assert!(!in_box(40.0, -9.14, lisbon, 0.0));
        assert!(
            in_box(38.85, -9.14, lisbon, 0.1),
            "the margin widens the box"
        );
        let pacific = [170.0, -10.0, -170.0, 10.0];
        assert!(in_box(0.0, 179.0, pacific, 0.0));
        assert!(in_box(0.0, -175.0, pacific, 0.0));
        assert!(!in_box(0.0, 0.0, pacific, 0.0));
        assert!(in_box(0.0, 0.0, [-180.0, -90.0, 180.0, 90.0], 0.0));
    }

    #[test]
    fn a_bad_bbox_says_what_is_wrong() {
        assert!(parse_bbox("1,2,3").is_err());
        assert!(parse_bbox("a,b,c,d").is_err());
        assert!(parse_bbox("-9,39,-8,38").is_err(), "south above north");
        assert!(parse_bbox("-200,0,0,1").is_err());
        assert_eq!(
            parse_bbox("-9.5, 38, -9, 39").ok(),
            Some([-9.5, 38.0, -9.0, 39.0])
        );
    }

    fn placed_at(lat: f64, lng: f64, kind: u8, active: bool) -> Placed {
        let cell = h3o::LatLng::new(lat, lng)
            .unwrap()
            .to_cell(h3o::Resolution::try_from(MAP_MAX_RES).unwrap());
        Placed {
            cell: Some(cell),
            kind,
            active,
            earned: 0,
        }
    }

    fn scattered(n: usize) -> Vec<(DeviceId, Placed)> {
        // Around Lisbon and Porto and across the antimeridian near Fiji.
        let centres = [(38.72, -9.14), (41.15, -8.61), (-17.7, 179.9)];
        (0..n)
            .map(|i| {
                let (lat, lng) = centres[i % centres.len()];
                let t = i as f64;
                let lng = lng + (t * 0.618).sin() * 0.4;
                let lng = if lng > 180.0 { lng - 360.0 } else { lng };
                let mut id = [0u8; 20];
                id[..8].copy_from_slice(&(i as u64).to_be_bytes());
                let mut p = placed_at(
                    lat + (t * 0.377).cos() * 0.3,
                    lng,
                    (i % 5) as u8,
                    i % 7 != 0,
                );
                if i % 11 == 0 {
                    p.cell = None;
                }
                (DeviceId(id), p)
            })
            .collect()
    }

    #[test]
    fn building_at_once_equals_adding_one_by_one() {
        let mut devices = scattered(3_000);
        for (i, (_, p)) in devices.iter_mut().enumerate() {
            p.earned = if i % 4 == 0 { 0 } else { (i as u64) * 1_000 };
        }
        let mut one_by_one = MapData::empty();
        for (id, p) in &devices {
            one_by_one.set(*id, Some(*p));
        }
        let at_once = MapData::build(0, devices.into_iter().collect());
        assert_eq!(at_once.totals, one_by_one.totals);
        assert_eq!(at_once.located, one_by_one.located);
        for (a, b) in at_once.levels.iter().zip(&one_by_one.levels) {
            let a: Vec<_> = a
                .iter()
                .map(|(k, c)| (*k, c.kinds, c.active, c.decommissioned, c.earned, c.earning))
                .collect();
            let b: Vec<_> = b
                .iter()
                .map(|(k, c)| (*k, c.kinds, c.active, c.decommissioned, c.earned, c.earning))
                .collect();
            assert_eq!(a, b);
        }
    }

    /// Every cell's earnings at every level, summed device by device from scratch.
    fn earnings_by_brute_force(data: &MapData) -> Vec<BTreeMap<u64, (u128, u32)>> {
        (0..=MAP_MAX_RES)
            .map(|res| {
                let resolution = h3o::Resolution::try_from(res).unwrap();
                let mut sums: BTreeMap<u64, (u128, u32)> = BTreeMap::new();
                for placed in data.devices.values() {
                    if let (Some(cell), true) = (placed.cell, placed.earned > 0) {
                        let sum = sums
                            .entry(u64::from(cell.parent(resolution).unwrap()))
                            .or_default();
                        sum.0 += u128::from(placed.earned);
                        sum.1 += 1;
                    }
                }
                sums
            })
            .collect()
    }

    fn earnings_held(data: &MapData) -> Vec<BTreeMap<u64, (u128, u32)>> {
        data.levels
            .iter()
            .map(|level| {
                level
                    .iter()
                    .filter(|(_, c)| c.earning > 0 || c.earned > 0)
                    .map(|(k, c)| (*k, (c.earned, c.earning)))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn earnings_are_summed_at_every_level_and_move_with_their_device() {
        let devices = scattered(2_000);
        let mut data = MapData::build(0, devices.iter().copied().collect());
        let earned: HashMap<DeviceId, u64> = devices
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 0)
            .map(|(i, (id, _))| (*id, 7 + i as u64 * 13))
            .collect();
        data.set_earnings(4, &earned);
        assert_eq!(data.earnings_epoch, Some(4));
        assert_eq!(earnings_held(&data), earnings_by_brute_force(&data));
        let all: u128 = earned
            .iter()
            .filter(|(id, _)| data.devices[*id].cell.is_some())
            .map(|(_, v)| u128::from(*v))
            .sum();
        let world: u128 = data.levels[0].values().map(|c| c.earned).sum();
        assert_eq!(
            world, all,
            "resolution 0 holds every located device's earnings"
        );

        // A device that moves keeps its earnings; one removed takes them away.
        let (mover, _) = devices[1];
        let before = data.devices[&mover].earned;
        assert!(before > 0);
        data.update(mover, Some(placed_at(41.15, -8.61, 0, true)));
        assert_eq!(data.devices[&mover].earned, before);
        assert_eq!(earnings_held(&data), earnings_by_brute_force(&data));
        data.update(devices[2].0, None);
        assert_eq!(earnings_held(&data), earnings_by_brute_force(&data));

        // The next epoch replaces every device's earnings, including back to nothing.
        data.set_earnings(5, &HashMap::new());
        assert!(earnings_held(&data).iter().all(BTreeMap::is_empty));
        assert!(data.devices.values().all(|p| p.earned == 0));
    }

    #[test]
    fn earnings_are_read_from_the_breakdown_records_of_the_epoch_asked() {
        use groundwork_primitives::{Address, Amount};
        use groundwork_tokenomics::Fixed;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb")).unwrap();
        let record = |device: DeviceId, epoch: u64, total: u128| {
            let rewards = DeviceRewards {
                device,
                epoch,
                owner: Address([9; 20]),
                reputation_score: Fixed::ONE,
                reputation: Fixed::ONE,
                pools: Vec::new(),
                total: Amount(total),
            };
            (breakdown_key(&device, epoch), rewards.encode())
        };
        let (a, b, c) = (DeviceId([1; 20]), DeviceId([2; 20]), DeviceId([3; 20]));
        commit_records(&store, 0, Vec::new()).unwrap();
        commit_records(
            &store,
            1,
            vec![
                record(a, 6, 500),
                record(b, 6, 0),
                record(a, 7, 900),
                record(c, 7, u128::MAX),
            ],
        )
        .unwrap();
        let six = load_earnings(&store, 6, [c, b, a].into_iter()).unwrap();
        assert_eq!(
            six,
            HashMap::from([(a, 500)]),
            "a zero total is not earning"
        );
        let seven = load_earnings(&store, 7, [a, b, c].into_iter()).unwrap();
        assert_eq!(seven, HashMap::from([(a, 900), (c, u64::MAX)]));
        assert!(
            load_earnings(&store, 8, [a].into_iter())
                .unwrap()
                .is_empty()
        );
        // A record that is not a breakdown is an error, not a silent zero.
        commit_records(&store, 2, vec![(breakdown_key(&b, 9), vec![0xff, 1, 2])]).unwrap();
        assert!(load_earnings(&store, 9, [b].into_iter()).is_err());
    }

    #[test]
    fn a_newly_paid_epoch_is_read_by_one_request_while_others_keep_the_previous_earnings() {
        use groundwork_primitives::{Address, Amount};
        use groundwork_tokenomics::Fixed;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb")).unwrap();
        let devices = scattered(50);
        let record = |device: DeviceId, total: u128| {
            let rewards = DeviceRewards {
                device,
                epoch: 3,
                owner: Address([9; 20]),
                reputation_score: Fixed::ONE,
                reputation: Fixed::ONE,
                pools: Vec::new(),
                total: Amount(total),
            };
            (breakdown_key(&device, 3), rewards.encode())
        };
        commit_records(&store, 0, Vec::new()).unwrap();
        commit_records(
            &store,
            1,
            devices.iter().map(|(id, _)| record(*id, 10)).collect(),
        )
        .unwrap();
        let index = MapIndex::default();
        let mut data = MapData::build(1, devices.iter().copied().collect());
        let located = devices.iter().find(|(_, p)| p.cell.is_some()).unwrap().0;
        data.set_earnings(2, &HashMap::from([(located, 4)]));
        data.earnings_due = Some(3);
        *index.data.lock().unwrap() = Some(data);

        // Another request is reading: this one answers at once from epoch 2's earnings.
        index.loading_earnings.store(true, Ordering::Release);
        let guard = index
            .read_due_earnings(&store, index.data.lock().unwrap())
            .unwrap();
        let data = guard.as_ref().unwrap();
        assert_eq!(data.earnings_epoch, Some(2));
        assert_eq!(data.earnings_due, Some(3), "still to be read");
        assert_eq!(data.levels[0].values().map(|c| c.earned).sum::<u128>(), 4);
        drop(guard);

        // No one is reading: this request reads epoch 3 and every level follows.
        index.loading_earnings.store(false, Ordering::Release);
        let guard = index
            .read_due_earnings(&store, index.data.lock().unwrap())
            .unwrap();
        let data = guard.as_ref().unwrap();
        assert_eq!(data.earnings_epoch, Some(3));
        assert_eq!(data.earnings_due, None);
        let located = data.devices.values().filter(|p| p.cell.is_some()).count() as u128;
        assert_eq!(
            data.levels[0].values().map(|c| c.earned).sum::<u128>(),
            10 * located
        );
        assert_eq!(earnings_held(data), earnings_by_brute_force(data));
        assert!(!index.loading_earnings.load(Ordering::Acquire));
    }

    #[test]
    fn pruned_searches_find_exactly_the_cells_a_full_scan_finds() {
        let data = MapData::build(0, scattered(5_000).into_iter().collect());
        let boxes = [
            [-9.3, 38.6, -9.0, 38.8],
            [-9.6, 38.3, -8.7, 39.1],
            [-8.7, 41.1, -8.6, 41.2],
            [179.7, -18.0, -179.8, -17.4],
            [-180.0, -85.0, 180.0, 85.0],
        ];
        for res in 0..=MAP_MAX_RES {
            let margin = h3o::Resolution::try_from(res).unwrap().edge_length_km() * 2.5 / 111.0;
            for bbox in boxes {
                let full: Vec<u64> = data.levels[usize::from(res)]
                    .iter()
                    .filter(|(_, c)| in_box(f64::from(c.lat), f64::from(c.lng), bbox, margin))
                    .map(|(k, _)| *k)
                    .collect();
                let mut pruned: Vec<u64> = cells_in_view(&data, res, bbox, MAP_MAX_CELLS)
                    .unwrap()
                    .cells
                    .iter()
                    .map(|c| u64::from_str_radix(&c.cell, 16).unwrap())
                    .collect();
                pruned.sort_unstable();
                assert_eq!(pruned, full, "res {res}, box {bbox:?}");
            }
        }
    }

    #[test]
    fn moving_and_retiring_devices_keeps_every_level_consistent() {
        let mut data = MapData::empty();
        let a = DeviceId([1; 20]);
        let b = DeviceId([2; 20]);
        let c = DeviceId([3; 20]);
        data.set(a, Some(placed_at(38.72, -9.14, 0, true)));
        data.set(b, Some(placed_at(38.72, -9.14, 1, true)));
        data.set(
            c,
            Some(Placed {
                cell: None,
                kind: 0,
                active: true,
                earned: 0,
            }),
        );
        assert_eq!(data.located, 2);
        assert_eq!(data.totals[0], (2, 0));
        for level in &data.levels {
            assert_eq!(level.len(), 1, "both devices share every coarser cell");
            let counts = level.values().next().unwrap();
            assert_eq!((counts.active, counts.kinds[0], counts.kinds[1]), (2, 1, 1));
        }
        // b moves to Porto and is then decommissioned.
        data.set(b, Some(placed_at(41.15, -8.61, 1, true)));
        assert_eq!(data.levels[usize::from(MAP_MAX_RES)].len(), 2);
        data.set(b, Some(placed_at(41.15, -8.61, 1, false)));
        let porto = data.levels[usize::from(MAP_MAX_RES)]
            .values()
            .find(|c| c.lat > 40.0)
            .unwrap();
        assert_eq!((porto.active, porto.decommissioned), (0, 1));
        assert_eq!(data.totals[1], (0, 1));
        // A device removed entirely leaves no empty cells behind.
        data.set(b, None);
        data.set(a, None);
        assert!(data.levels.iter().all(BTreeMap::is_empty));
        assert_eq!(data.located, 0);
        assert_eq!(data.totals[0], (1, 0));
    }
}
