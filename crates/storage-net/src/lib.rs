//! The library foundation of Groundwork's decentralized storage network.
//!
//! A file goes through these steps on `put`; each module is one of them and documents its byte
//! layouts like a spec:
//!
//! 1. [`unixfs`] — the file's **CID**, exactly as IPFS's reference importer
//!    (`ipfs-unixfs-importer`, defaults) computes it: 256 KiB raw leaves, a balanced dag-pb tree of
//!    at most 174 links per node, CIDv1 sha2-256 ([`cid`]), base32 `b…` strings. Streaming: memory
//!    stays a few MiB whatever the file size. [`car`] writes and reads the blocks as CARv1.
//! 2. [`erasure`] — the file is cut into segments (64 MiB by default) and each segment is
//!    Reed–Solomon coded into `n` pieces of which any `k` rebuild it (4 of 6 by default, for a
//!    devnet; 29 of 80 for a large network). Each piece goes to a different provider.
//! 3. [`commitment`] — every piece is committed to by a BLAKE3 Merkle root over its 4 KiB chunks;
//!    a provider proves it still holds a chunk with the chunk and its sibling path.
//! 4. [`challenge`] — which chunks a provider must prove each proving period, derived from chain
//!    randomness, and how many challenges catch a provider that lost data.
//! 5. [`reputation`] — the Storj-style audit score that passed and failed challenges move, in
//!    fixed-point integers so the blockchain's state machine computes it bit for bit.
//!
//! `get` runs the steps backwards: fetch any `k` pieces of each segment, [`erasure::decode_segment`],
//! and check the file against its CID.
//!
//! Everything that decodes untrusted bytes — CIDs, dag-pb nodes, CAR archives, proofs — does so
//! within explicit limits and returns typed errors; nothing here panics on bad input. Nothing here
//! does network or disk I/O of its own: callers pass readers, writers and block sinks.
//!
//! ```
//! use groundwork_storage_net::{commitment, erasure, unixfs};
//!
//! let file = vec![42u8; 1_000_000];
//! let cid = unixfs::compute_cid(&file[..])?;
//! assert!(cid.to_string().starts_with("bafybei"));
//!
//! let params = erasure::ErasureParams::DEVNET;
//! let encoded = erasure::encode_segment(&params, &file)?;
//! let roots: Vec<_> = encoded.pieces.iter().map(|piece| commitment::piece_root(piece)).collect();
//! assert_eq!(roots.len(), 6);
//!
//! // Any 4 of the 6 pieces give the segment back.
//! let some: Vec<(u16, &[u8])> = [1u16, 3, 4, 5]
//!     .iter()
//!     .map(|&index| (index, encoded.pieces[usize::from(index)].as_slice()))
//!     .collect();
//! assert!(erasure::decode_segment(&params, encoded.segment_len, &some)? == file);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod car;
pub mod challenge;
pub mod cid;
pub mod commitment;
pub mod erasure;
pub mod reputation;
pub mod unixfs;
mod varint;

pub use car::{CarError, CarReader, CarWriter};
pub use challenge::{Challenge, ChallengeError, derive_challenges};
pub use cid::{Cid, CidError, Codec};
pub use commitment::{ChunkProof, PieceTree, ProofRejection, piece_root, verify_chunk_proof};
pub use erasure::{
    EncodedSegment, ErasureError, ErasureParams, decode_segment, decode_segment_into,
    encode_parity, encode_segment, encode_segment_into, prepare_pieces,
};
pub use reputation::{AuditReputation, ReputationParams};
pub use unixfs::{BlockSink, ImportError, ImportedFile, compute_cid, import};
