//! The provider's HTTP API: paths and JSON bodies, shared by the server and the client.
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `GET /v1/info` | | [`ProviderInfo`] |
//! | `PUT /v1/pieces/{root}` | the piece's bytes (`Content-Length` required) | `201` [`PutReceipt`] once durable (`200` if already held) |
//! | `GET /v1/pieces/{root}` | | the bytes; `Range: bytes=a-b` gives `206` and part of them |
//! | `GET /v1/pieces/{root}/proofs?chunks=0,5,9` | | [`ProofsResponse`] |
//! | `POST /v1/receipts` | [`ReceiptsRequest`] | [`ReceiptsResponse`]: the device key's signed receipts of pieces held (registered providers only) |
//!
//! `{root}` is the piece's commitment in hex (64 characters). Every refusal is JSON
//! [`ErrorBody`] with a stable `code`:
//!
//! | status | code | when |
//! |---|---|---|
//! | 400 | `bad_request` | a malformed root, range, chunk list or body |
//! | 404 | `not_found` | the piece is not stored here |
//! | 411 | `length_required` | an upload without `Content-Length` |
//! | 413 | `too_large` | an upload above the provider's largest piece |
//! | 416 | `bad_range` | a range outside the piece |
//! | 422 | `root_mismatch` | the bytes do not have the commitment they were sent under |
//! | 429 | `rate_limited` | over the bandwidth limit; `Retry-After` says when to come back |
//! | 503 | `busy` | too many uploads at once; `Retry-After` |
//! | 507 | `insufficient_storage` | the piece does not fit in the free capacity |
//! | 500 | `internal` | the provider's disk failed |

use serde::{Deserialize, Serialize};

/// What a provider offers, from `GET /v1/info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// The provider's identity: its chain address when registered, else its configured name.
    pub provider: String,
    /// Bytes offered.
    pub capacity: u64,
    /// Bytes stored.
    pub used: u64,
    /// Bytes free for new pieces.
    pub free: u64,
    /// Asking price in base units per GiB per proving period (decimal string).
    pub price: String,
    /// Largest piece accepted, in bytes.
    pub max_piece_size: u64,
    /// Pieces stored.
    pub pieces: usize,
    /// Bandwidth limit in bytes per second (0: none).
    pub bandwidth: u64,
    /// Pieces deleted since start because no deal needs them any more.
    #[serde(default)]
    pub collected_pieces: u64,
    /// Bytes those pieces held (free again).
    #[serde(default)]
    pub collected_bytes: u64,
}

/// The answer to an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutReceipt {
    /// The piece's commitment (hex).
    pub root: String,
    /// Its length in bytes.
    pub length: u64,
    /// False when the piece was already stored.
    pub stored: bool,
}

/// Proofs of challenged chunks of one piece.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofsResponse {
    /// The piece's commitment (hex).
    pub root: String,
    /// Its length in bytes.
    pub piece_len: u64,
    /// One encoded [`groundwork_storage_net::ChunkProof`] per asked chunk, hex, in the order asked.
    pub proofs: Vec<String>,
}

/// A refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The inside of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable machine-readable code (see the module table).
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

/// Most chunks one proofs request may ask for.
pub const MAX_PROOFS_PER_REQUEST: usize = 1024;

/// Path of the provider's description.
pub const PROVIDER_INFO_PATH: &str = "/v1/info";

/// Path of a piece, by its commitment in hex.
pub fn piece_path(root_hex: &str) -> String {
    format!("/v1/pieces/{root_hex}")
}

/// Path of receipt requests.
pub const RECEIPTS_PATH: &str = "/v1/receipts";
/// Most pieces one receipts request may name.
pub const MAX_RECEIPTS_PER_REQUEST: usize = 4096;

/// Asks a registered provider to sign receipts for pieces it holds, for a client's deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptsRequest {
    /// The client's address (`gw1…`), who will sign the deal.
    pub client: String,
    /// The file's CID.
    pub cid: String,
    /// The pieces.
    pub pieces: Vec<ReceiptPiece>,
}

/// One piece a receipt is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptPiece {
    /// Segment number in the file.
    pub segment: u32,
    /// Piece index in the segment.
    pub piece: u32,
    /// The piece's commitment, hex.
    pub root: String,
}

/// Signed receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptsResponse {
    /// The provider's device id (`gwd1…`).
    pub device: String,
    /// One per piece asked, in order.
    pub receipts: Vec<crate::chain::PieceReceipt>,
}
