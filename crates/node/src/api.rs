//! The HTTP API: JSON under `/v1/...`, its OpenAPI document at `/v1/openapi.json` (generated
//! from these handlers), and Prometheus metrics at `/metrics`.
//!
//! Errors are JSON `{"error": {"kind": "...", "message": "...", "tx_code": N?}}` with a status
//! that says whose fault it is: 400 bad input, 404 unknown, 409 conflicting nonce, 429/503 come
//! back later, 500 our fault.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use groundwork_app::modules::accounts::state::AccountsRead;
use groundwork_app::{App, ChainInfo, SignedTx, TxError, tx};
use groundwork_consensus::{EngineHandle, Gossip};
use groundwork_primitives::{Address, Amount, Hash, SigningKey};
use groundwork_proto::v1;
use groundwork_proto::{MAX_BLOCK_BYTES, MAX_TX_BATCH_BYTES, MAX_TXS_PER_BATCH, decode_bounded};
use groundwork_state::{Store, Tip};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use utoipa::{OpenApi, ToSchema};

use crate::ingest::ReportQueue;
use crate::mempool::{Inserted, Mempool, MempoolError};
use crate::metrics::Metrics;

/// The largest body `POST /v1/txs/batch` reads: room for a full batch written as JSON hex.
const BATCH_BODY_LIMIT: usize = 2 * MAX_TX_BATCH_BYTES + 1024 * 1024;

/// How long `?wait=true` waits for a commit by default.
const DEFAULT_WAIT_MS: u64 = 30_000;

/// Shared by every handler.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) checker: App,
    pub(crate) chain: ChainInfo,
    pub(crate) mempool: Arc<Mutex<Mempool>>,
    pub(crate) reports: Arc<Mutex<ReportQueue>>,
    pub(crate) tips: watch::Receiver<Tip>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) moniker: String,
    pub(crate) faucet: Option<Faucet>,
    /// The consensus engine, once it runs (status, and sharing submissions with validators).
    pub(crate) engine: OnceLock<EngineHandle>,
    pub(crate) map: crate::dashboard::MapIndex,
}

/// The devnet faucet: an unencrypted funded key the node signs with.
pub struct Faucet {
    /// Its key.
    pub key: SigningKey,
    /// Most a request may ask for.
    pub max: Amount,
    /// Serialises faucet transactions so their nonces follow each other.
    pub lock: tokio::sync::Mutex<()>,
}

impl ApiState {
    /// Builds the API's shared state. `checker` is an `App` over the same store used only for
    /// `check_tx` (consensus owns the writing one).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        checker: App,
        chain: ChainInfo,
        mempool: Arc<Mutex<Mempool>>,
        reports: Arc<Mutex<ReportQueue>>,
        tips: watch::Receiver<Tip>,
        metrics: Arc<Metrics>,
        moniker: String,
        faucet: Option<Faucet>,
    ) -> ApiState {
        ApiState {
            inner: Arc::new(Inner {
                store,
                checker,
                chain,
                mempool,
                reports,
                tips,
                metrics,
                moniker,
                faucet,
                engine: OnceLock::new(),
                map: crate::dashboard::MapIndex::default(),
            }),
        }
    }

    /// Connects the running consensus engine: the status page shows it and admitted
    /// submissions are shared through it. Only the first call counts.
    pub fn attach_engine(&self, engine: EngineHandle) {
        let _ = self.inner.engine.set(engine);
    }
}

/// The router with every route.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/txs", post(submit_tx))
        .route(
            "/v1/txs/batch",
            post(submit_batch).layer(axum::extract::DefaultBodyLimit::max(BATCH_BODY_LIMIT)),
        )
        .route("/v1/txs/{hash}", get(get_tx))
        .route("/v1/blocks/latest", get(latest_block))
        .route("/v1/blocks/{height}", get(block_by_height))
        .route("/v1/accounts/{address}", get(get_account))
        .route("/v1/supply", get(supply))
        .route(
            "/v1/credits/{address}",
            get(crate::credits_api::get_credits),
        )
        .route("/v1/oracle", get(crate::credits_api::get_oracle))
        .route("/v1/faucet", post(faucet))
        .route(
            "/v1/reports",
            post(crate::devices_api::submit_reports)
                .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024)),
        )
        .route("/v1/devices", get(crate::devices_api::list_devices))
        .route("/v1/devices/{id}", get(crate::devices_api::get_device))
        .route(
            "/v1/devices/{id}/verdicts",
            get(crate::devices_api::device_verdicts),
        )
        .route(
            "/v1/devices/{id}/rewards",
            get(crate::rewards_api::device_rewards),
        )
        .route("/v1/epochs/latest", get(crate::rewards_api::latest_epoch))
        .route("/v1/epochs/{n}", get(crate::rewards_api::epoch_summary))
        .route("/v1/makers", get(crate::devices_api::list_makers))
        .merge(crate::storage_api::routes())
        .route("/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .merge(crate::dashboard::routes())
        .fallback(not_found)
        .with_state(state)
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Groundwork node API",
        description = "Query the chain, submit transactions, and watch the node."
    ),
    paths(
        status,
        submit_tx,
        submit_batch,
        get_tx,
        latest_block,
        block_by_height,
        get_account,
        supply,
        faucet,
        metrics,
        crate::devices_api::submit_reports,
        crate::devices_api::list_devices,
        crate::devices_api::get_device,
        crate::devices_api::device_verdicts,
        crate::devices_api::list_makers,
        crate::credits_api::get_credits,
        crate::credits_api::get_oracle,
        crate::rewards_api::device_rewards,
        crate::rewards_api::epoch_summary,
        crate::rewards_api::latest_epoch,
        crate::storage_api::list_providers,
        crate::storage_api::get_provider,
        crate::storage_api::get_deal,
        crate::storage_api::list_deals,
        crate::storage_api::deals_of_cid,
        crate::storage_api::get_challenges,
        crate::dashboard::events,
        crate::dashboard::map_cells,
        crate::dashboard::map_cell,
        crate::dashboard::network,
        crate::dashboard::recent_blocks,
        crate::dashboard::account_txs,
        crate::dashboard::account_stake
    )
)]
pub struct ApiDoc;

// ---------------------------------------------------------------------------------------------
// Errors

/// An error body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable kind: `bad_request`, `invalid_tx`, `not_found`, `mempool_full`, `internal`, …
    pub kind: String,
    /// A sentence for people.
    pub message: String,
    /// For `invalid_tx`: the protocol's transaction result code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<u32>,
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    tx_code: Option<u32>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        kind: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
            tx_code: None,
        }
    }
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub(crate) fn internal(error: impl std::fmt::Display) -> ApiError {
        tracing::error!(%error, "internal error serving a request");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            error.to_string(),
        )
    }
    /// What went wrong, in words.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
    fn invalid_tx(error: &TxError) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_tx",
            message: error.to_string(),
            tx_code: Some(error.code()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                kind: self.kind.into(),
                message: self.message,
                tx_code: self.tx_code,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<groundwork_state::StateError> for ApiError {
    fn from(error: groundwork_state::StateError) -> Self {
        ApiError::internal(error)
    }
}

impl From<groundwork_app::AppError> for ApiError {
    fn from(error: groundwork_app::AppError) -> Self {
        ApiError::internal(error)
    }
}

/// Query parameters, or a JSON `bad_request` error saying which one is wrong.
pub(crate) fn query_params<T>(params: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    params
        .map(|Query(p)| p)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

/// A JSON body, or a JSON `bad_request` error saying what is wrong with it.
pub(crate) fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(b)| b)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

pub(crate) type ApiResult<T> = Result<Json<T>, ApiError>;

async fn not_found() -> ApiError {
    ApiError::not_found("no such route: see /v1/openapi.json for the API")
}

// ---------------------------------------------------------------------------------------------
// Status

/// The node and chain at a glance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusResponse {
    /// The node's name.
    pub moniker: String,
    /// The chain id.
    pub chain_id: String,
    /// Token ticker.
    pub token_symbol: String,
    /// Token decimals.
    pub token_decimals: u8,
    /// Height of the last committed block.
    pub height: u64,
    /// Its hash, hex.
    pub latest_block_hash: String,
    /// Its time, ms since the Unix epoch.
    pub latest_block_time_ms: u64,
    /// The state root after it, hex.
    pub app_hash: String,
    /// Transactions waiting in the mempool.
    pub mempool_txs: usize,
    /// The validator set.
    pub validators: Vec<ValidatorView>,
    /// What the consensus engine says about itself (absent while it starts).
    pub consensus: Option<ConsensusView>,
    /// The node software's version.
    pub version: String,
}

/// The consensus engine at a glance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsensusView {
    /// This node's role: `validator` (it votes and proposes in turn).
    pub role: String,
    /// This node's consensus key (its genesis validator key), hex.
    pub validator_key: String,
    /// Validators in the set.
    pub validator_count: usize,
    /// The highest finalized height known (blocks up to it may still be arriving).
    pub finalized_height: u64,
    /// The view that finalized it.
    pub finalized_view: u64,
    /// The view this node is in or about to enter.
    pub current_view: u64,
    /// Views that ended without a block since this node started (see the log for why).
    pub views_nullified: u64,
    /// Time from the last block's proposal to its application here, in milliseconds.
    pub last_finality_ms: u64,
}

/// A validator.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ValidatorView {
    /// Its name.
    pub name: String,
    /// Its ed25519 public key, hex.
    pub public_key: String,
    /// Its voting power.
    pub power: u64,
}

#[utoipa::path(get, path = "/v1/status", responses((status = 200, body = StatusResponse)))]
async fn status(State(state): State<ApiState>) -> ApiResult<StatusResponse> {
    let inner = &state.inner;
    let snapshot = inner.store.snapshot()?;
    let tip = snapshot.tip().unwrap_or(Tip {
        height: 0,
        block_hash: Hash::ZERO,
        app_hash: Hash::ZERO,
        time_ms: 0,
    });
    let validators = groundwork_app::chain::validators(&snapshot)?
        .into_iter()
        .map(|v| ValidatorView {
            name: v.name,
            public_key: v.public_key,
            power: v.power,
        })
        .collect();
    let mempool_txs = inner.mempool.lock().map(|p| p.len()).unwrap_or(0);
    let consensus = inner.engine.get().map(|engine| {
        let status = engine.status();
        ConsensusView {
            role: "validator".into(),
            validator_key: status.me,
            validator_count: status.validators.len(),
            finalized_height: status.finalized_height,
            finalized_view: status.finalized_view,
            current_view: status.current_view,
            views_nullified: status.views_nullified,
            last_finality_ms: status.last_finality_ms,
        }
    });
    Ok(Json(StatusResponse {
        moniker: inner.moniker.clone(),
        chain_id: inner.chain.chain_id.clone(),
        token_symbol: inner.chain.token.symbol.clone(),
        token_decimals: inner.chain.token.decimals,
        height: tip.height,
        latest_block_hash: tip.block_hash.to_hex(),
        latest_block_time_ms: tip.time_ms,
        app_hash: tip.app_hash.to_hex(),
        mempool_txs,
        validators,
        consensus,
        version: env!("CARGO_PKG_VERSION").to_string(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Transactions

/// A transaction submitted as JSON.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitTxJson {
    /// The encoded `TxEnvelope`, hex.
    pub tx: String,
}

/// Options of `POST /v1/txs`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SubmitParams {
    /// Wait until the transaction is committed (or `timeout_ms` passes).
    #[serde(default)]
    pub wait: bool,
    /// How long to wait, in milliseconds (default 30000, at most 120000).
    pub timeout_ms: Option<u64>,
}

/// What happened to a submitted transaction.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmitResponse {
    /// The transaction hash, hex.
    pub hash: String,
    /// `pending` (in the mempool), `committed`, or `timeout` (still pending after waiting).
    pub status: String,
    /// When committed: its block height.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// When committed: its result code (0 = success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u32>,
    /// When committed with a failure: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/txs",
    params(SubmitParams),
    request_body(description = "An encoded TxEnvelope (Content-Type: application/x-protobuf) or JSON {\"tx\": hex}", content = SubmitTxJson),
    responses(
        (status = 200, description = "Accepted (and, with wait, committed)", body = SubmitResponse),
        (status = 400, description = "Invalid transaction", body = ErrorBody),
        (status = 409, description = "Nonce conflicts with a waiting transaction", body = ErrorBody),
        (status = 503, description = "Mempool full: try again later", body = ErrorBody),
    )
)]
async fn submit_tx(
    State(state): State<ApiState>,
    params: Result<Query<SubmitParams>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<SubmitResponse> {
    let params = crate::api::query_params(params)?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let bytes = if is_json {
        let request: SubmitTxJson = serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!("expected JSON {{\"tx\": \"<hex>\"}}: {e}"))
        })?;
        hex::decode(request.tx.trim())
            .map_err(|e| ApiError::bad_request(format!("tx is not hex: {e}")))?
    } else {
        body.to_vec()
    };
    let hash = admit(&state, bytes).await?;
    let timeout = Duration::from_millis(params.timeout_ms.unwrap_or(DEFAULT_WAIT_MS).min(120_000));
    if params.wait {
        return Ok(Json(wait_for_commit(&state, hash, timeout).await?));
    }
    Ok(Json(SubmitResponse {
        hash: hash.to_hex(),
        status: "pending".into(),
        height: None,
        code: None,
        error: None,
    }))
}

/// Transactions submitted together as JSON.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBatchJson {
    /// Encoded `TxEnvelope`s, hex, in the order they should be admitted.
    pub txs: Vec<String>,
}

/// What happened to each transaction of a batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmitBatchResponse {
    /// Transactions now waiting in the mempool (or committed already).
    pub accepted: usize,
    /// Transactions refused.
    pub rejected: usize,
    /// One result per transaction, in the batch's order.
    pub results: Vec<BatchTxResult>,
}

/// One transaction's fate in a batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchTxResult {
    /// SHA-256 of the submitted bytes, hex (the transaction hash when they decode).
    pub hash: String,
    /// `pending` (in the mempool or committed already) or `rejected`.
    pub status: String,
    /// Why it was refused, exactly as `POST /v1/txs` would say (`invalid_tx` with its
    /// `tx_code`, `nonce_gap`, `nonce_taken`, `mempool_full`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

#[utoipa::path(
    post,
    path = "/v1/txs/batch",
    request_body(description = "A TxBatch (Content-Type: application/x-protobuf) or JSON {\"txs\": [hex, …]}: at most 10000 transactions and 8 MiB of envelopes", content = SubmitBatchJson),
    responses(
        (status = 200, description = "Each transaction admitted or refused, in order (a nonce may follow one earlier in the batch); signatures are checked together", body = SubmitBatchResponse),
        (status = 400, description = "Not a batch, or more than 10000 transactions or 8 MiB of envelopes", body = ErrorBody),
        (status = 413, description = "The body is larger than any batch can be", body = ErrorBody),
    )
)]
async fn submit_batch(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<SubmitBatchResponse> {
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        let kind = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "bad_request"
        };
        ApiError::new(
            status,
            kind,
            format!(
                "cannot read the batch ({}): a batch holds at most {MAX_TXS_PER_BATCH} transactions and {MAX_TX_BATCH_BYTES} bytes of envelopes",
                rejection.body_text()
            ),
        )
    })?;
    let txs = decode_batch(&headers, &body)?;
    let inner = state.inner.clone();
    let outcomes = tokio::task::spawn_blocking(move || {
        let hashes: Vec<Hash> = txs
            .iter()
            .map(|t| groundwork_primitives::sha256(t))
            .collect();
        admit_txs(&inner, txs, true).map(|outcomes| (hashes, outcomes))
    })
    .await
    .map_err(ApiError::internal)?;
    let (hashes, outcomes) = outcomes?;
    let mut response = SubmitBatchResponse {
        accepted: 0,
        rejected: 0,
        results: Vec::with_capacity(outcomes.len()),
    };
    for (hash, outcome) in hashes.into_iter().zip(outcomes) {
        let result = match outcome {
            Ok(_) => {
                response.accepted += 1;
                BatchTxResult {
                    hash: hash.to_hex(),
                    status: "pending".into(),
                    error: None,
                }
            }
            Err(error) => {
                response.rejected += 1;
                BatchTxResult {
                    hash: hash.to_hex(),
                    status: "rejected".into(),
                    error: Some(ErrorDetail {
                        kind: error.kind.into(),
                        message: error.message,
                        tx_code: error.tx_code,
                    }),
                }
            }
        };
        response.results.push(result);
    }
    Ok(Json(response))
}

/// The envelopes of a batch body (protobuf `TxBatch` or JSON), within the batch limits.
fn decode_batch(headers: &HeaderMap, body: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let txs: Vec<Vec<u8>> = if is_json {
        let batch: SubmitBatchJson = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("expected JSON {{\"txs\": [\"<hex>\", …]}}: {e}"))
        })?;
        if batch.txs.len() > MAX_TXS_PER_BATCH {
            return Err(too_many(batch.txs.len()));
        }
        batch
            .txs
            .iter()
            .enumerate()
            .map(|(i, t)| {
                hex::decode(t.trim())
                    .map_err(|e| ApiError::bad_request(format!("transaction {i} is not hex: {e}")))
            })
            .collect::<Result<_, _>>()?
    } else {
        let batch: v1::TxBatch = decode_bounded("transaction batch", body, BATCH_BODY_LIMIT)
            .map_err(|e| ApiError::bad_request(format!("not a TxBatch: {e}")))?;
        batch.txs
    };
    if txs.len() > MAX_TXS_PER_BATCH {
        return Err(too_many(txs.len()));
    }
    let bytes: usize = txs.iter().map(Vec::len).sum();
    if bytes > MAX_TX_BATCH_BYTES {
        return Err(ApiError::bad_request(format!(
            "a batch holds at most {MAX_TX_BATCH_BYTES} bytes of envelopes, this one {bytes}: split it"
        )));
    }
    Ok(txs)
}

fn too_many(count: usize) -> ApiError {
    ApiError::bad_request(format!(
        "a batch holds at most {MAX_TXS_PER_BATCH} transactions, this one {count}: split it"
    ))
}

/// check_tx, then the mempool.
async fn admit(state: &ApiState, bytes: Vec<u8>) -> Result<Hash, ApiError> {
    let inner = state.inner.clone();
    tokio::task::spawn_blocking(move || admit_tx(&inner, bytes, true))
        .await
        .map_err(ApiError::internal)?
}

/// Checks a transaction and adds it to the mempool; a new one is shared with the other
/// validators when `share` (it came from a client, not from a validator).
pub(crate) fn admit_tx(inner: &Inner, bytes: Vec<u8>, share: bool) -> Result<Hash, ApiError> {
    let checked = match inner.checker.check_tx(&bytes)? {
        Ok(checked) => checked,
        Err(error) => {
            inner.metrics.txs_rejected.inc();
            return Err(ApiError::invalid_tx(&error));
        }
    };
    let hash = checked.tx.hash;
    if inner.store.tx_location(&hash)?.is_some() {
        return Ok(hash);
    }
    let height = inner.tips.borrow().height;
    let mut pool = inner
        .mempool
        .lock()
        .map_err(|_| ApiError::internal("mempool lock poisoned"))?;
    let shared = share.then(|| bytes.clone());
    let inserted = insert_checked(inner, &mut pool, checked, bytes, height)?;
    drop(pool);
    if let (true, Some(engine), Some(bytes)) = (inserted, inner.engine.get(), shared) {
        engine.share(Gossip {
            txs: vec![bytes],
            reports: Vec::new(),
        });
    }
    Ok(hash)
}

/// Adds a checked transaction to the locked mempool: `true` if it is new there, `false` if it
/// was waiting already.
fn insert_checked(
    inner: &Inner,
    pool: &mut Mempool,
    checked: groundwork_app::CheckedTx,
    bytes: Vec<u8>,
    height: u64,
) -> Result<bool, ApiError> {
    match pool.insert(checked, bytes, height) {
        Ok(Inserted::New) => {
            inner.metrics.txs_accepted.inc();
            inner.metrics.mempool_txs.set(pool.len() as i64);
            Ok(true)
        }
        Ok(Inserted::AlreadyKnown) => Ok(false),
        Err(error) => {
            inner.metrics.txs_rejected.inc();
            let (status, kind) = match error {
                MempoolError::Full { .. } => (StatusCode::SERVICE_UNAVAILABLE, "mempool_full"),
                MempoolError::NonceGap { .. } => (StatusCode::BAD_REQUEST, "nonce_gap"),
                MempoolError::NonceTaken(_) => (StatusCode::CONFLICT, "nonce_taken"),
                MempoolError::NotItsBytes => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            };
            Err(ApiError::new(status, kind, error.to_string()))
        }
    }
}

/// [`admit_tx`] for many transactions: one batched signature check spread over the cores, one
/// snapshot of the state, one hold of the mempool lock, and what is new shared in one message
/// when `share`. One outcome per transaction, in order; a transaction's nonce may follow one
/// earlier in the same batch. `Err` only when the node itself fails (its store or app).
pub(crate) fn admit_txs(
    inner: &Inner,
    txs: Vec<Vec<u8>>,
    share: bool,
) -> Result<Vec<Result<Hash, ApiError>>, ApiError> {
    let before = inner.store.tip()?;
    let checked = inner.checker.check_txs(&txs)?;
    // A transaction that passed the nonce check cannot be committed in the state it was checked
    // against; it can only be if a block committed since (it then answers as committed rather
    // than waiting in the mempool for nothing). Look those up only when a block did commit
    // (outside the mempool lock: store reads, in one read transaction). A lookup per
    // transaction cost ~2.5 % of a validator's CPU at 10,000 transfers/s.
    let committed: Vec<bool> = if inner.store.tip()? == before {
        vec![false; checked.len()]
    } else {
        let hashes: Vec<Hash> = checked
            .iter()
            .map(|c| c.as_ref().map_or(Hash::ZERO, |c| c.tx.hash))
            .collect();
        inner
            .store
            .txs_committed(&hashes)?
            .into_iter()
            .zip(&checked)
            .map(|(found, c)| found && c.is_ok())
            .collect()
    };
    let height = inner.tips.borrow().height;
    let mut outcomes = Vec::with_capacity(txs.len());
    let mut fresh = Vec::new();
    {
        let mut pool = inner
            .mempool
            .lock()
            .map_err(|_| ApiError::internal("mempool lock poisoned"))?;
        for ((bytes, checked), committed) in txs.into_iter().zip(checked).zip(committed) {
            let checked = match checked {
                Ok(checked) => checked,
                Err(error) => {
                    inner.metrics.txs_rejected.inc();
                    outcomes.push(Err(ApiError::invalid_tx(&error)));
                    continue;
                }
            };
            let hash = checked.tx.hash;
            if committed {
                outcomes.push(Ok(hash));
                continue;
            }
            let shared = share.then(|| bytes.clone());
            match insert_checked(inner, &mut pool, checked, bytes, height) {
                Ok(inserted) => {
                    if let (true, Some(bytes)) = (inserted, shared) {
                        fresh.push(bytes);
                    }
                    outcomes.push(Ok(hash));
                }
                Err(error) => outcomes.push(Err(error)),
            }
        }
    }
    if let (Some(engine), false) = (inner.engine.get(), fresh.is_empty()) {
        engine.share(Gossip {
            txs: fresh,
            reports: Vec::new(),
        });
    }
    Ok(outcomes)
}

async fn wait_for_commit(
    state: &ApiState,
    hash: Hash,
    timeout: Duration,
) -> Result<SubmitResponse, ApiError> {
    let mut tips = state.inner.tips.clone();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(location) = state.inner.store.tx_location(&hash)? {
            let result = tx_result(&state.inner.store, location.height, location.index)?;
            return Ok(SubmitResponse {
                hash: hash.to_hex(),
                status: "committed".into(),
                height: Some(location.height),
                code: Some(result.code),
                error: (!result.error.is_empty()).then_some(result.error),
            });
        }
        match tokio::time::timeout_at(deadline, tips.changed()).await {
            Ok(Ok(())) => continue,
            Ok(Err(_)) => {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "shutting_down",
                    "the node is stopping",
                ));
            }
            Err(_) => {
                return Ok(SubmitResponse {
                    hash: hash.to_hex(),
                    status: "timeout".into(),
                    height: None,
                    code: None,
                    error: None,
                });
            }
        }
    }
}

pub(crate) fn tx_result(store: &Store, height: u64, index: u32) -> Result<v1::TxResult, ApiError> {
    let bytes = store
        .results(height)?
        .ok_or_else(|| ApiError::internal(format!("results of block {height} are missing")))?;
    let results: v1::BlockResults =
        decode_bounded("block results", &bytes, MAX_BLOCK_BYTES).map_err(ApiError::internal)?;
    results
        .tx_results
        .into_iter()
        .nth(index as usize)
        .ok_or_else(|| ApiError::internal(format!("result {index} of block {height} is missing")))
}

/// A transaction and, once committed, its outcome.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TxView {
    /// Hash, hex.
    pub hash: String,
    /// `pending` or `committed`.
    pub status: String,
    /// Block height, when committed.
    pub height: Option<u64>,
    /// Position in the block.
    pub index: Option<u32>,
    /// Sending account.
    pub sender: Option<String>,
    /// Nonce.
    pub nonce: Option<u64>,
    /// Fee offered, base units.
    pub fee: Option<String>,
    /// Memo.
    pub memo: Option<String>,
    /// The messages.
    pub messages: Vec<MessageView>,
    /// Result code (0 = success), when committed.
    pub code: Option<u32>,
    /// Why it failed.
    pub error: Option<String>,
    /// Fee charged, base units.
    pub fee_charged: Option<String>,
    /// Events.
    pub events: Vec<EventView>,
}

/// One message of a transaction.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MessageView {
    /// The action: `transfer`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Recipient, for transfers.
    pub to: Option<String>,
    /// Amount in base units, for transfers.
    pub amount: Option<String>,
}

/// An event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// Its kind.
    pub kind: String,
    /// Its attributes, in order.
    pub attributes: Vec<(String, String)>,
}

fn event_views(events: &[v1::Event]) -> Vec<EventView> {
    events
        .iter()
        .map(|e| EventView {
            kind: e.kind.clone(),
            attributes: e
                .attributes
                .iter()
                .map(|a| (a.key.clone(), a.value.clone()))
                .collect(),
        })
        .collect()
}

pub(crate) fn parse_hash(text: &str) -> Result<Hash, ApiError> {
    text.parse().map_err(|e| {
        ApiError::bad_request(format!("{text:?} is not a transaction or block hash: {e}"))
    })
}

#[utoipa::path(get, path = "/v1/txs/{hash}", params(("hash" = String, Path, description = "Transaction hash, hex")),
    responses((status = 200, body = TxView), (status = 404, body = ErrorBody)))]
async fn get_tx(State(state): State<ApiState>, Path(hash): Path<String>) -> ApiResult<TxView> {
    let hash = parse_hash(&hash)?;
    let inner = &state.inner;
    let mut view = TxView {
        hash: hash.to_hex(),
        status: "pending".into(),
        height: None,
        index: None,
        sender: None,
        nonce: None,
        fee: None,
        memo: None,
        messages: Vec::new(),
        code: None,
        error: None,
        fee_charged: None,
        events: Vec::new(),
    };
    let bytes = if let Some(location) = inner.store.tx_location(&hash)? {
        let block = load_block(&inner.store, location.height)?;
        let result = tx_result(&inner.store, location.height, location.index)?;
        view.status = "committed".into();
        view.height = Some(location.height);
        view.index = Some(location.index);
        view.code = Some(result.code);
        view.error = (!result.error.is_empty()).then_some(result.error);
        view.fee_charged = Some(result.fee_charged);
        view.events = event_views(&result.events);
        block.txs.into_iter().nth(location.index as usize)
    } else {
        let pool = inner
            .mempool
            .lock()
            .map_err(|_| ApiError::internal("mempool lock poisoned"))?;
        if !pool.contains(&hash) {
            return Err(ApiError::not_found(format!(
                "no transaction {hash} in a block or in the mempool"
            )));
        }
        pool.get(&hash).map(<[u8]>::to_vec)
    };
    if let Some(tx) = bytes.as_deref().and_then(|b| SignedTx::decode(b).ok()) {
        view.sender = Some(tx.sender.to_string());
        view.nonce = Some(tx.nonce);
        view.fee = Some(tx.fee.to_string());
        view.memo = Some(tx.memo.clone());
        view.messages = tx.messages.iter().map(message_view).collect();
    }
    Ok(Json(view))
}

fn message_view(message: &tx::Msg) -> MessageView {
    let simple = |kind: &str, to: Option<String>| MessageView {
        kind: kind.into(),
        to,
        amount: None,
    };
    match message {
        tx::Msg::Transfer(t) => MessageView {
            kind: "transfer".into(),
            to: Some(t.to.to_string()),
            amount: Some(t.amount.to_string()),
        },
        tx::Msg::OnboardDevice(m) => simple(
            "onboard_device",
            Some(groundwork_primitives::DeviceId::from_public_key(&m.device_key).to_string()),
        ),
        tx::Msg::AssertLocation(m) => simple("assert_location", Some(m.device.to_string())),
        tx::Msg::TransferDevice(m) => simple("transfer_device", Some(m.new_owner.to_string())),
        tx::Msg::DecommissionDevice(m) => simple("decommission_device", Some(m.device.to_string())),
        tx::Msg::WithdrawUnbonded(_) => simple("withdraw_unbonded", None),
        tx::Msg::SubmitPrice(_) => simple("submit_price", None),
        tx::Msg::MintCredits(m) => MessageView {
            kind: "mint_credits".into(),
            to: m.beneficiary.map(|b| b.to_string()),
            amount: Some(m.amount.to_string()),
        },
        tx::Msg::Storage(m) => simple(m.name(), Some(m.subject())),
    }
}

// ---------------------------------------------------------------------------------------------
// Blocks

/// A block.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockView {
    /// Height.
    pub height: u64,
    /// Block hash, hex.
    pub hash: String,
    /// Chain id.
    pub chain_id: String,
    /// Time, ms since the Unix epoch.
    pub time_ms: u64,
    /// Parent block hash, hex.
    pub parent_hash: String,
    /// Proposer's public key, hex.
    pub proposer: String,
    /// Merkle root of the transaction hashes, hex.
    pub tx_root: String,
    /// SHA-256 of the encoded results, hex.
    pub results_hash: String,
    /// State root after the block, hex.
    pub app_hash: String,
    /// The transactions with their outcomes.
    pub txs: Vec<BlockTxView>,
}

/// A transaction's outcome within a block.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockTxView {
    /// Hash, hex.
    pub hash: String,
    /// Result code (0 = success).
    pub code: u32,
    /// Why it failed.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub error: String,
}

pub(crate) fn load_block(store: &Store, height: u64) -> Result<v1::Block, ApiError> {
    let bytes = store
        .block(height)?
        .ok_or_else(|| ApiError::not_found(format!("no block at height {height}")))?;
    decode_bounded("block", &bytes, MAX_BLOCK_BYTES).map_err(ApiError::internal)
}

fn block_view(store: &Store, height: u64) -> Result<BlockView, ApiError> {
    let block = load_block(store, height)?;
    let header = block.header.clone().unwrap_or_default();
    let results: v1::BlockResults = match store.results(height)? {
        Some(bytes) => {
            decode_bounded("block results", &bytes, MAX_BLOCK_BYTES).map_err(ApiError::internal)?
        }
        None => v1::BlockResults::default(),
    };
    let txs = block
        .txs
        .iter()
        .zip(results.tx_results.iter())
        .map(|(bytes, result)| BlockTxView {
            hash: groundwork_primitives::sha256(bytes).to_hex(),
            code: result.code,
            error: result.error.clone(),
        })
        .collect();
    use groundwork_proto::Message as _;
    let proposer = header
        .proposer
        .as_ref()
        .and_then(|p| p.key.as_ref())
        .map(|k| match k {
            v1::public_key::Key::Ed25519(b) | v1::public_key::Key::P256(b) => hex::encode(b),
        });
    Ok(BlockView {
        height: header.height,
        hash: groundwork_primitives::sha256(&header.encode_to_vec()).to_hex(),
        chain_id: header.chain_id.clone(),
        time_ms: header.time_ms,
        parent_hash: hex::encode(&header.parent_hash),
        proposer: proposer.unwrap_or_default(),
        tx_root: hex::encode(&header.tx_root),
        results_hash: hex::encode(&header.results_hash),
        app_hash: hex::encode(&header.app_hash),
        txs,
    })
}

#[utoipa::path(get, path = "/v1/blocks/latest", responses((status = 200, body = BlockView), (status = 404, body = ErrorBody)))]
async fn latest_block(State(state): State<ApiState>) -> ApiResult<BlockView> {
    let tip = state.inner.store.tip()?.map(|t| t.height).unwrap_or(0);
    if tip == 0 {
        return Err(ApiError::not_found("no block yet: the chain is at genesis"));
    }
    Ok(Json(block_view(&state.inner.store, tip)?))
}

#[utoipa::path(get, path = "/v1/blocks/{height}", params(("height" = u64, Path, description = "Block height, from 1")),
    responses((status = 200, body = BlockView), (status = 404, body = ErrorBody)))]
async fn block_by_height(
    State(state): State<ApiState>,
    Path(height): Path<String>,
) -> ApiResult<BlockView> {
    let height: u64 = height
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{height:?} is not a block height")))?;
    Ok(Json(block_view(&state.inner.store, height)?))
}

// ---------------------------------------------------------------------------------------------
// Accounts

/// Options of the account query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AccountParams {
    /// Include a Merkle proof of the account against the latest app hash.
    #[serde(default)]
    pub prove: bool,
}

/// An account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountResponse {
    /// Address.
    pub address: String,
    /// Balance, base units.
    pub balance: String,
    /// Balance in tokens, for people.
    pub balance_tokens: String,
    /// The nonce its next transaction must carry.
    pub nonce: u64,
    /// The height this answer reflects.
    pub height: u64,
    /// The next nonce after the transactions of this account waiting in the mempool.
    pub next_nonce: u64,
    /// With `prove=true`: the proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<ProofView>,
}

/// A Merkle proof of a state entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProofView {
    /// The state key, hex.
    pub key: String,
    /// The stored value, hex (absent: proof of absence).
    pub value: Option<String>,
    /// The root it verifies against, hex.
    pub root: String,
    /// The height whose app hash is `root`.
    pub height: u64,
    /// SHA-256(key), hex.
    pub key_hash: String,
    /// The proof (borsh-encoded jmt SparseMerkleProof), hex.
    pub proof: String,
}

#[utoipa::path(get, path = "/v1/accounts/{address}", params(("address" = String, Path, description = "A gw1… address"), AccountParams),
    responses((status = 200, body = AccountResponse), (status = 400, body = ErrorBody)))]
async fn get_account(
    State(state): State<ApiState>,
    Path(address): Path<String>,
    params: Result<Query<AccountParams>, QueryRejection>,
) -> ApiResult<AccountResponse> {
    let params = crate::api::query_params(params)?;
    let address: Address = address
        .parse()
        .map_err(|e| ApiError::bad_request(format!("{address:?}: {e}")))?;
    let inner = &state.inner;
    let (account, height, proof) = if params.prove {
        let key = groundwork_app::modules::accounts::state::account_key(&address);
        let proof = inner.store.prove(&key)?;
        let snapshot = inner.store.snapshot()?;
        let account = snapshot.account(&address)?;
        let height = proof.height;
        (account, height, Some(proof))
    } else {
        let snapshot = inner.store.snapshot()?;
        (
            snapshot.account(&address)?,
            snapshot.tip().map_or(0, |t| t.height),
            None,
        )
    };
    let next_nonce = inner
        .mempool
        .lock()
        .map(|p| p.next_nonce(&address, account.nonce))
        .unwrap_or(account.nonce);
    Ok(Json(AccountResponse {
        address: address.to_string(),
        balance: account.balance.to_string(),
        balance_tokens: account.balance.display(inner.chain.token.decimals),
        nonce: account.nonce,
        height,
        next_nonce,
        proof: proof.map(|p| ProofView {
            key: p.key,
            value: p.value,
            root: p.root.to_hex(),
            height: p.height,
            key_hash: p.key_hash,
            proof: p.proof,
        }),
    }))
}

/// The token supply.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SupplyResponse {
    /// Sum of genesis balances, base units.
    pub genesis: String,
    /// Minted since genesis.
    pub minted: String,
    /// Burned since genesis (fees, slashing, credit purchases).
    pub burned: String,
    /// genesis + minted − burned.
    pub total: String,
    /// Mints and burns by cause.
    pub breakdown: crate::credits_api::SupplyBreakdownResponse,
}

#[utoipa::path(get, path = "/v1/supply", responses((status = 200, body = SupplyResponse)))]
async fn supply(State(state): State<ApiState>) -> ApiResult<SupplyResponse> {
    let snapshot = state.inner.store.snapshot()?;
    let view = groundwork_app::modules::accounts::query::supply(&snapshot)?;
    Ok(Json(SupplyResponse {
        genesis: view.genesis.to_string(),
        minted: view.minted.to_string(),
        burned: view.burned.to_string(),
        total: view.total.to_string(),
        breakdown: crate::credits_api::supply_breakdown(&snapshot)?,
    }))
}

// ---------------------------------------------------------------------------------------------
// Faucet

/// A faucet request.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaucetRequest {
    /// Who receives the tokens.
    pub address: String,
    /// How many tokens, e.g. "12.5" (default 100).
    pub amount: Option<String>,
}

#[utoipa::path(post, path = "/v1/faucet", request_body = FaucetRequest,
    responses((status = 200, body = SubmitResponse), (status = 400, body = ErrorBody), (status = 404, description = "No faucet on this node", body = ErrorBody)))]
async fn faucet(
    State(state): State<ApiState>,
    request: Result<Json<FaucetRequest>, JsonRejection>,
) -> ApiResult<SubmitResponse> {
    let request = crate::api::json_body(request)?;
    let inner = state.inner.clone();
    let Some(faucet) = inner.faucet.as_ref() else {
        return Err(ApiError::not_found(
            "this node runs no faucet (devnets only)",
        ));
    };
    let to: Address = request
        .address
        .parse()
        .map_err(|e| ApiError::bad_request(format!("address: {e}")))?;
    let decimals = inner.chain.token.decimals;
    let amount = Amount::parse(request.amount.as_deref().unwrap_or("100"), decimals)
        .map_err(|e| ApiError::bad_request(format!("amount: {e}")))?;
    if amount == Amount::ZERO || amount > faucet.max {
        return Err(ApiError::bad_request(format!(
            "the faucet gives more than 0 and at most {} tokens per request",
            faucet.max.display(decimals)
        )));
    }
    let _serial = faucet.lock.lock().await;
    let sender = Address::from_public_key(&faucet.key.public_key());
    let snapshot = inner.store.snapshot()?;
    let committed = snapshot.account(&sender)?.nonce;
    let min_fee = snapshot.accounts_params()?.min_fee;
    drop(snapshot);
    let nonce = inner
        .mempool
        .lock()
        .map(|p| p.next_nonce(&sender, committed))
        .unwrap_or(committed);
    let bytes = tx::build_signed_tx(
        &faucet.key,
        &inner.chain.chain_id,
        nonce,
        min_fee,
        vec![tx::transfer_message(&to, amount)],
        "faucet",
    );
    let hash = admit(&state, bytes).await?;
    drop(_serial);
    Ok(Json(
        wait_for_commit(&state, hash, Duration::from_millis(DEFAULT_WAIT_MS)).await?,
    ))
}

// ---------------------------------------------------------------------------------------------
// OpenAPI and metrics

async fn openapi() -> Response {
    match ApiDoc::openapi().to_pretty_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(State(state): State<ApiState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        render_metrics(&state.inner),
    )
        .into_response()
}

/// The node's metrics followed by the consensus engine's (views, timeouts by reason, peers).
fn render_metrics(inner: &Inner) -> String {
    let node = inner.metrics.render();
    let Some(engine) = inner.engine.get() else {
        return node;
    };
    // Both renderings end with the exposition's end marker; keep only the last one.
    let mut out = node.trim_end().trim_end_matches("# EOF").to_string();
    out.push_str(&engine.engine_metrics());
    out
}
