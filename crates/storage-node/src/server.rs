//! The provider's HTTP server (see [`crate::wire`] for the API).
//!
//! Every upload is checked before its body is read: a `Content-Length` must be given, be at most
//! [`ProviderConfig::max_piece_size`], fit in the free capacity (space is reserved for it) and
//! pass the bandwidth limit; at most [`ProviderConfig::max_concurrent_uploads`] uploads run at
//! once. The body streams to the piece's temporary file and through its commitment's hasher in
//! one pass (a few frames queued per upload, never a piece-sized buffer); the piece is published
//! durably ([`crate::store`]) only if it has its announced length and the commitment in the path,
//! and only then is the `201` sent. Downloads pass the same bandwidth limit.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use groundwork_storage_net::commitment::{Hash, PieceTree, chunk_count};
use serde::Deserialize;
use tokio::sync::{Semaphore, oneshot};

use crate::bandwidth::TokenBucket;
use crate::chain::{PieceReceipt, ProviderIdentity};
use crate::store::{OpenReport, PieceStore, StoreError, parse_root, root_hex};
use crate::wire::{
    ErrorBody, ErrorDetail, MAX_PROOFS_PER_REQUEST, MAX_RECEIPTS_PER_REQUEST, PROVIDER_INFO_PATH,
    ProofsResponse, ProviderInfo, PutReceipt, RECEIPTS_PATH, ReceiptsRequest, ReceiptsResponse,
};

/// Default largest piece: 256 MiB (a 1 GiB segment over 4 data pieces).
pub const DEFAULT_MAX_PIECE_SIZE: u64 = 256 * 1024 * 1024;
/// Default number of uploads received at once.
pub const DEFAULT_MAX_CONCURRENT_UPLOADS: usize = 8;

/// How to run a provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Folder of the piece store.
    pub home: PathBuf,
    /// Address to listen on (port 0 picks one).
    pub listen: SocketAddr,
    /// Bytes offered.
    pub capacity: u64,
    /// Asking price, base units per GiB per proving period.
    pub price: u128,
    /// The provider's identity shown in `/v1/info`.
    pub provider: String,
    /// Largest piece accepted.
    pub max_piece_size: u64,
    /// Bandwidth limit in bytes per second (0: none), shared by uploads and downloads.
    pub bandwidth: u64,
    /// Uploads received at once.
    pub max_concurrent_uploads: usize,
    /// The provider's device key and chain, when it is registered on chain: it then signs
    /// receipts (`POST /v1/receipts`) and `/v1/info` names its device id.
    pub identity: Option<ProviderIdentity>,
    /// On chain: a piece released by its deals is deleted only if it was not stored, uploaded
    /// again or receipted within this long ([`crate::gc`]).
    pub gc_grace: Duration,
    /// On chain: how often the provider looks for pieces to delete.
    pub gc_every: Duration,
}

/// Default grace period of a released piece: an hour, far more than a client takes between
/// collecting receipts and sending its `CreateDeal`.
pub const DEFAULT_GC_GRACE: Duration = Duration::from_secs(3600);
/// Default time between garbage collection passes.
pub const DEFAULT_GC_EVERY: Duration = Duration::from_secs(30);

impl ProviderConfig {
    /// A config with the defaults for everything but the folder, address, capacity and price.
    pub fn new(home: PathBuf, listen: SocketAddr, capacity: u64, price: u128) -> ProviderConfig {
        ProviderConfig {
            home,
            listen,
            capacity,
            price,
            provider: "provider".into(),
            max_piece_size: DEFAULT_MAX_PIECE_SIZE,
            bandwidth: 0,
            max_concurrent_uploads: DEFAULT_MAX_CONCURRENT_UPLOADS,
            identity: None,
            gc_grace: DEFAULT_GC_GRACE,
            gc_every: DEFAULT_GC_EVERY,
        }
    }
}

struct Shared {
    store: PieceStore,
    bucket: TokenBucket,
    uploads: Semaphore,
    config: ProviderConfig,
    /// Pieces deleted by garbage collection since start.
    collected_pieces: std::sync::atomic::AtomicU64,
    /// Bytes they held.
    collected_bytes: std::sync::atomic::AtomicU64,
}

/// A provider's prover thread: answers its challenges on chain until stopped.
pub struct ProverThread {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ProverThread {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A running provider server.
pub struct ProviderHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    prover: Option<ProverThread>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// What opening the store found.
    pub opened: OpenReport,
}

impl ProviderHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The piece store (for tests and the node's own audits).
    pub fn store(&self) -> &PieceStore {
        &self.shared.store
    }

    /// Starts answering this provider's challenges on chain: every `every`, for each of its
    /// deals with an open proof window, proofs built from the stored pieces are sent in a
    /// `SubmitStorageProof` signed by `submitter` ([`crate::chain::prove_due`]). Every
    /// [`ProviderConfig::gc_every`] the same thread deletes the pieces no deal needs any more
    /// ([`crate::gc::collect_garbage`]). Needs the provider's identity.
    pub fn start_prover(
        &mut self,
        node: crate::chain::NodeApi,
        submitter: groundwork_primitives::SigningKey,
        every: Duration,
    ) -> anyhow::Result<()> {
        let Some(identity) = self.shared.config.identity.clone() else {
            anyhow::bail!("a provider without a chain identity has nothing to prove");
        };
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, shared) = (stop.clone(), self.shared.clone());
        let thread = std::thread::Builder::new()
            .name("storage-prover".into())
            .spawn(move || {
                let mut last_collection: Option<Instant> = None;
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    if last_collection.is_none_or(|at| at.elapsed() >= shared.config.gc_every) {
                        last_collection = Some(Instant::now());
                        collect_once(&node, &shared, &identity);
                    }
                    match crate::chain::prove_due(&node, &shared.store, &identity, &submitter) {
                        Ok(pass) => {
                            for (deal, period) in &pass.proven {
                                tracing::info!(deal, period, "storage proof accepted");
                            }
                            for (deal, reason) in &pass.failures {
                                tracing::warn!(deal, %reason, "could not prove a deal");
                            }
                        }
                        Err(error) => {
                            tracing::warn!(error = %format!("{error:#}"), "prover pass failed")
                        }
                    }
                    let mut slept = Duration::ZERO;
                    while slept < every && !flag.load(std::sync::atomic::Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(100));
                        slept += Duration::from_millis(100);
                    }
                }
            })?;
        self.prover = Some(ProverThread {
            stop,
            thread: Some(thread),
        });
        Ok(())
    }

    /// Stops accepting requests, lets the ones in flight finish, and waits.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        drop(self.prover.take());
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await??;
        Ok(())
    }

    /// Waits until the server stops by itself (an I/O error) — a provider process runs this.
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        (&mut self.task).await??;
        Ok(())
    }
}

/// One garbage collection pass of the prover thread, logged and counted in `/v1/info`.
fn collect_once(node: &crate::chain::NodeApi, shared: &Shared, identity: &ProviderIdentity) {
    use std::sync::atomic::Ordering;
    match crate::gc::collect_garbage(
        node,
        &shared.store,
        &identity.device_id(),
        shared.config.gc_grace,
    ) {
        Ok(pass) => {
            if !pass.deleted.is_empty() {
                shared
                    .collected_pieces
                    .fetch_add(pass.deleted.len() as u64, Ordering::Relaxed);
                shared
                    .collected_bytes
                    .fetch_add(pass.freed_bytes, Ordering::Relaxed);
                tracing::info!(
                    pieces = pass.deleted.len(),
                    freed_bytes = pass.freed_bytes,
                    free_bytes = shared.store.free(),
                    "deleted the pieces of ended deals"
                );
            }
        }
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "garbage collection pass failed")
        }
    }
}

/// Opens the store (cleaning and verifying it), binds, and starts serving on the current runtime.
pub async fn start(config: ProviderConfig) -> anyhow::Result<ProviderHandle> {
    let home = config.home.clone();
    let capacity = config.capacity;
    let (store, opened) =
        tokio::task::spawn_blocking(move || PieceStore::open(&home, capacity)).await??;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let burst = config.bandwidth.max(config.max_piece_size);
    let shared = Arc::new(Shared {
        store,
        bucket: TokenBucket::new(config.bandwidth, burst, Instant::now()),
        uploads: Semaphore::new(config.max_concurrent_uploads.max(1)),
        config,
        collected_pieces: 0.into(),
        collected_bytes: 0.into(),
    });
    let router = router(shared.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok(ProviderHandle {
        addr,
        shared,
        prover: None,
        stop: Some(stop),
        task,
        opened,
    })
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(PROVIDER_INFO_PATH, get(info))
        .route("/v1/pieces/{root}", get(get_piece).put(put_piece))
        .route("/v1/pieces/{root}/proofs", get(proofs))
        .route(RECEIPTS_PATH, post(receipts))
        .fallback(|| async {
            refuse(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint: see /v1/info, /v1/pieces/{root} and /v1/pieces/{root}/proofs"
                    .into(),
            )
        })
        .with_state(shared)
}

fn refuse(status: StatusCode, code: &str, message: String) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.into(),
            message,
        },
    };
    (status, axum::Json(body)).into_response()
}

fn retry_after(status: StatusCode, code: &str, message: String, wait: Duration) -> Response {
    let mut response = refuse(status, code, message);
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Takes `length` bytes from the provider's bandwidth allowance: `None`, or the 429 that says
/// when to come back.
fn take_bandwidth(shared: &Shared, length: u64) -> Option<Response> {
    shared
        .bucket
        .try_take(length, Instant::now())
        .err()
        .map(|wait| {
            retry_after(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "over the bandwidth limit of {} bytes/s",
                    shared.bucket.rate()
                ),
                wait,
            )
        })
}

fn store_refusal(error: StoreError) -> Response {
    match error {
        StoreError::Full { .. } => refuse(
            StatusCode::INSUFFICIENT_STORAGE,
            "insufficient_storage",
            error.to_string(),
        ),
        StoreError::NotFound(_) => refuse(StatusCode::NOT_FOUND, "not_found", error.to_string()),
        StoreError::RootMismatch { .. } => refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "root_mismatch",
            error.to_string(),
        ),
        StoreError::Io { .. } => {
            tracing::error!(%error, "piece store failure");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                error.to_string(),
            )
        }
    }
}

/// A path segment that is not a piece commitment.
struct BadRoot(String);

impl IntoResponse for BadRoot {
    fn into_response(self) -> Response {
        refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!(
                "{:?} is not a piece commitment: expected 64 hex characters",
                self.0
            ),
        )
    }
}

fn root_from_path(text: &str) -> Result<Hash, BadRoot> {
    parse_root(text).ok_or_else(|| BadRoot(text.to_string()))
}

fn info_of(shared: &Shared) -> ProviderInfo {
    ProviderInfo {
        provider: match &shared.config.identity {
            Some(identity) => identity.device_id().to_string(),
            None => shared.config.provider.clone(),
        },
        capacity: shared.store.capacity(),
        used: shared.store.used(),
        free: shared.store.free(),
        price: shared.config.price.to_string(),
        max_piece_size: shared.config.max_piece_size,
        pieces: shared.store.piece_count(),
        bandwidth: shared.bucket.rate(),
        collected_pieces: shared
            .collected_pieces
            .load(std::sync::atomic::Ordering::Relaxed),
        collected_bytes: shared
            .collected_bytes
            .load(std::sync::atomic::Ordering::Relaxed),
    }
}

async fn info(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(info_of(&shared)).into_response()
}

async fn put_piece(
    State(shared): State<Arc<Shared>>,
    Path(root): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let root = match root_from_path(&root) {
        Ok(root) => root,
        Err(bad) => return bad.into_response(),
    };
    let Some(length) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok())
    else {
        return refuse(
            StatusCode::LENGTH_REQUIRED,
            "length_required",
            "an upload must say its Content-Length".into(),
        );
    };
    let max = shared.config.max_piece_size;
    if length > max {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the piece is {length} bytes; this provider takes pieces of at most {max} bytes"
            ),
        );
    }
    if let Some(held) = shared.store.hold(&root) {
        return (
            StatusCode::OK,
            axum::Json(PutReceipt {
                root: root_hex(&root),
                length: held,
                stored: false,
            }),
        )
            .into_response();
    }
    let Ok(_permit) = shared.uploads.try_acquire() else {
        return retry_after(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!(
                "{} uploads are in progress, the most this provider takes at once",
                shared.config.max_concurrent_uploads
            ),
            Duration::from_secs(1),
        );
    };
    match receive_piece(&shared, root, length, body).await {
        Ok(()) => (
            StatusCode::CREATED,
            axum::Json(PutReceipt {
                root: root_hex(&root),
                length,
                stored: true,
            }),
        )
            .into_response(),
        Err(refusal) => refusal,
    }
}

/// Body frames queued between the connection and the disk writer of one upload.
const QUEUED_FRAMES: usize = 64;

/// Streams an upload's body to the store: each frame is written to the piece's temporary file
/// and hashed into its commitment by a blocking task while the next frames arrive (one pass over
/// the bytes, no piece-sized buffer); the piece is published, durably, only if the body has its
/// announced length and commitment. Everything is undone on any failure.
async fn receive_piece(
    shared: &Arc<Shared>,
    root: Hash,
    length: u64,
    body: Body,
) -> Result<(), Response> {
    use axum::body::HttpBody;

    let reservation = shared.store.reserve(length).map_err(store_refusal)?;
    if let Some(refusal) = take_bandwidth(shared, length) {
        shared.store.release(reservation);
        return Err(refusal);
    }
    let opening = shared.clone();
    let writer =
        match tokio::task::spawn_blocking(move || opening.store.begin_write(&root, length)).await {
            Ok(Ok(writer)) => writer,
            Ok(Err(error)) => {
                shared.store.release(reservation);
                return Err(store_refusal(error));
            }
            Err(error) => {
                shared.store.release(reservation);
                return Err(internal(format!("storing the piece failed: {error}")));
            }
        };
    let (frames, mut queued) = tokio::sync::mpsc::channel::<axum::body::Bytes>(QUEUED_FRAMES);
    let writing = tokio::task::spawn_blocking(move || {
        let mut writer = writer;
        while let Some(frame) = queued.blocking_recv() {
            if let Err(error) = writer.write(&frame) {
                return (writer, Err(error));
            }
        }
        (writer, Ok(()))
    });
    // Receive the body, refusing one longer or shorter than announced.
    let mut body = body;
    let mut received: u64 = 0;
    let mut refusal: Option<String> = None;
    while let Some(frame) =
        std::future::poll_fn(|context| std::pin::Pin::new(&mut body).poll_frame(context)).await
    {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => {
                refusal = Some(format!("reading the body failed: {error}"));
                break;
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        received += data.len() as u64;
        if received > length {
            refusal = Some(format!(
                "the body is longer than its Content-Length of {length} bytes"
            ));
            break;
        }
        if frames.send(data).await.is_err() {
            // The writer stopped on a disk error: its result says which.
            break;
        }
    }
    drop(frames);
    if refusal.is_none() && received < length {
        refusal = Some(format!(
            "the body is {received} bytes, its Content-Length said {length}"
        ));
    }
    let (writer, written) = match writing.await {
        Ok(outcome) => outcome,
        Err(error) => {
            shared.store.release(reservation);
            return Err(internal(format!("storing the piece failed: {error}")));
        }
    };
    let finishing = shared.clone();
    // Ok(Some(reason)): the body was refused and the piece dropped.
    let finished = tokio::task::spawn_blocking(move || -> Result<Option<String>, StoreError> {
        match (written, refusal) {
            (Err(error), _) => {
                finishing.store.abort_write(writer, reservation);
                Err(error)
            }
            (Ok(()), Some(message)) => {
                finishing.store.abort_write(writer, reservation);
                Ok(Some(message))
            }
            (Ok(()), None) => finishing
                .store
                .finish_write(writer, reservation)
                .map(|()| None),
        }
    })
    .await;
    match finished {
        Ok(Ok(None)) => Ok(()),
        Ok(Ok(Some(message))) => Err(refuse(StatusCode::BAD_REQUEST, "bad_request", message)),
        Ok(Err(error)) => Err(store_refusal(error)),
        Err(error) => Err(internal(format!("storing the piece failed: {error}"))),
    }
}

fn internal(message: String) -> Response {
    refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
}

/// A parsed `Range: bytes=…` header: `(start, length)` within a piece of `piece_len` bytes.
pub fn parse_range(value: &str, piece_len: u64) -> Result<(u64, u64), String> {
    let spec = value
        .trim()
        .strip_prefix("bytes=")
        .ok_or_else(|| format!("unsupported range {value:?}: only bytes=start-end"))?;
    if spec.contains(',') {
        return Err("only one range per request".into());
    }
    let (first, last) = spec
        .split_once('-')
        .ok_or_else(|| format!("malformed range {value:?}"))?;
    let number = |text: &str| {
        text.trim()
            .parse::<u64>()
            .map_err(|_| format!("malformed range {value:?}"))
    };
    let (start, end_inclusive) = match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, true) => return Err(format!("malformed range {value:?}")),
        (true, false) => {
            let suffix = number(last)?.min(piece_len);
            if suffix == 0 {
                return Err(format!("empty suffix range {value:?}"));
            }
            (piece_len - suffix, piece_len - 1)
        }
        (false, true) => (number(first)?, piece_len.saturating_sub(1)),
        (false, false) => (
            number(first)?,
            number(last)?.min(piece_len.saturating_sub(1)),
        ),
    };
    if start >= piece_len || end_inclusive < start {
        return Err(format!(
            "range {value:?} is outside the piece of {piece_len} bytes"
        ));
    }
    Ok((start, end_inclusive - start + 1))
}

async fn get_piece(
    State(shared): State<Arc<Shared>>,
    Path(root): Path<String>,
    headers: HeaderMap,
) -> Response {
    let root = match root_from_path(&root) {
        Ok(root) => root,
        Err(bad) => return bad.into_response(),
    };
    let Some(piece_len) = shared.store.piece_len(&root) else {
        return store_refusal(StoreError::NotFound(root_hex(&root)));
    };
    let range = match headers.get(header::RANGE).map(|value| value.to_str()) {
        None => None,
        Some(Ok(text)) => match parse_range(text, piece_len) {
            Ok(range) => Some(range),
            Err(message) => {
                let mut response = refuse(StatusCode::RANGE_NOT_SATISFIABLE, "bad_range", message);
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{piece_len}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                return response;
            }
        },
        Some(Err(_)) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the Range header is not text".into(),
            );
        }
    };
    let (start, length) = range.unwrap_or((0, piece_len));
    if let Some(refusal) = take_bandwidth(&shared, length) {
        return refusal;
    }
    let task_shared = shared.clone();
    let read =
        tokio::task::spawn_blocking(move || task_shared.store.read(&root, start, length)).await;
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => return store_refusal(error),
        Err(error) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("reading the piece failed: {error}"),
            );
        }
    };
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if range.is_some() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let content_range = format!("bytes {start}-{}/{piece_len}", start + length - 1);
        if let Ok(value) = HeaderValue::from_str(&content_range) {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
    }
    response
}

async fn receipts(
    State(shared): State<Arc<Shared>>,
    request: Result<axum::Json<ReceiptsRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Some(identity) = &shared.config.identity else {
        return refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            "this provider is not registered on a chain: it signs no receipts".into(),
        );
    };
    let request = match request {
        Ok(axum::Json(request)) => request,
        Err(rejection) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the body is not a receipts request: {rejection}"),
            );
        }
    };
    if request.pieces.len() > MAX_RECEIPTS_PER_REQUEST {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("at most {MAX_RECEIPTS_PER_REQUEST} pieces per request"),
        );
    }
    let Ok(client) = request.client.parse::<groundwork_primitives::Address>() else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{:?} is not an address", request.client),
        );
    };
    if request.cid.parse::<groundwork_storage_net::Cid>().is_err() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{:?} is not a CID", request.cid),
        );
    }
    let mut receipts = Vec::with_capacity(request.pieces.len());
    for piece in &request.pieces {
        let root = match root_from_path(&piece.root) {
            Ok(root) => root,
            Err(bad) => return bad.into_response(),
        };
        // A receipt says the piece is durably here: only for pieces in the store. The deal it
        // is for is not on chain yet, so garbage collection must leave the piece alone a while.
        let Some(size) = shared.store.hold(&root) else {
            return store_refusal(StoreError::NotFound(piece.root.clone()));
        };
        let signature = identity.receipt(
            &client,
            &request.cid,
            piece.segment,
            piece.piece,
            &root,
            size,
        );
        receipts.push(PieceReceipt {
            segment: piece.segment,
            piece: piece.piece,
            root: piece.root.clone(),
            signature: hex::encode(signature),
        });
    }
    axum::Json(ReceiptsResponse {
        device: identity.device_id().to_string(),
        receipts,
    })
    .into_response()
}

/// Query of a proofs request.
#[derive(Debug, Deserialize)]
struct ProofsQuery {
    /// Comma-separated chunk indexes.
    chunks: String,
}

async fn proofs(
    State(shared): State<Arc<Shared>>,
    Path(root): Path<String>,
    query: Result<Query<ProofsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let root = match root_from_path(&root) {
        Ok(root) => root,
        Err(bad) => return bad.into_response(),
    };
    let Ok(Query(query)) = query else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "say which chunks to prove: ?chunks=0,5,9".into(),
        );
    };
    let Some(piece_len) = shared.store.piece_len(&root) else {
        return store_refusal(StoreError::NotFound(root_hex(&root)));
    };
    let mut chunks = Vec::new();
    for part in query.chunks.split(',') {
        if chunks.len() == MAX_PROOFS_PER_REQUEST {
            return refuse(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("at most {MAX_PROOFS_PER_REQUEST} chunks per request"),
            );
        }
        match part.trim().parse::<u64>() {
            Ok(index) if index < chunk_count(piece_len) => chunks.push(index),
            Ok(index) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!(
                        "chunk {index} is out of range: the piece has {} chunks",
                        chunk_count(piece_len)
                    ),
                );
            }
            Err(_) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("{part:?} is not a chunk index"),
                );
            }
        }
    }
    let task_shared = shared.clone();
    let proven = tokio::task::spawn_blocking(move || {
        let piece = task_shared.store.read(&root, 0, piece_len)?;
        let tree = PieceTree::build(&piece);
        if tree.root() != root {
            // The disk no longer holds what was stored: stop serving it.
            task_shared.store.quarantine(&root)?;
            return Err(StoreError::NotFound(root_hex(&root)));
        }
        let mut proofs = Vec::with_capacity(chunks.len());
        for index in chunks {
            if let Ok(proof) = tree.prove(&piece, index) {
                proofs.push(hex::encode(proof.to_bytes()));
            }
        }
        Ok(proofs)
    })
    .await;
    match proven {
        Ok(Ok(proofs)) => axum::Json(ProofsResponse {
            root: root_hex(&root),
            piece_len,
            proofs,
        })
        .into_response(),
        Ok(Err(error)) => store_refusal(error),
        Err(error) => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("proving failed: {error}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_of_every_form() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok((0, 10)));
        assert_eq!(parse_range("bytes=90-", 100), Ok((90, 10)));
        assert_eq!(parse_range("bytes=-5", 100), Ok((95, 5)));
        assert_eq!(parse_range("bytes=50-1000", 100), Ok((50, 50)));
        assert!(parse_range("bytes=100-", 100).is_err());
        assert!(parse_range("bytes=5-2", 100).is_err());
        assert!(parse_range("bytes=0-1,5-6", 100).is_err());
        assert!(parse_range("items=0-1", 100).is_err());
        assert!(parse_range("bytes=-", 100).is_err());
        assert!(parse_range("bytes=x-1", 100).is_err());
        assert!(parse_range("bytes=0-0", 0).is_err());
    }
}
