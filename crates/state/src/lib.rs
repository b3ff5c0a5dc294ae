//! Groundwork's embedded store.
//!
//! One redb file holds everything a node keeps:
//!
//! | table | key | value |
//! |---|---|---|
//! | `state` | module key bytes | value bytes (the flat, latest state) |
//! | `tree_nodes` | borsh(jmt `NodeKey`) | borsh(jmt `Node`) |
//! | `tree_preimages` | SHA-256(key) | key |
//! | `blocks` | height (u64) | encoded `groundwork.v1.Block` |
//! | `results` | height (u64) | encoded `groundwork.v1.BlockResults` |
//! | `block_hashes` | block hash | height |
//! | `tx_index` | transaction hash | height (8 bytes BE) ‖ index (4 bytes BE) |
//! | `meta` | name | the chain tip: height, block hash, app hash |
//!
//! **Atomicity.** [`Store::commit_block`] writes a block, its results, its state changes, its tree
//! nodes and the new tip in one redb write transaction with immediate durability: after a crash
//! at any instant the store holds either the whole block or none of it, and the node restarts
//! from the last tip.
//!
//! **Authenticated root.** Every state key is a leaf of a Jellyfish Merkle tree keyed by
//! SHA-256(key), whose leaf value hash is SHA-256(value). The tree's version is the block height
//! (genesis is version 0); the root after block `h` is the `app_hash` in block `h`'s header.
//! Nodes made stale by a block are deleted as it commits, so proofs are served against the
//! latest root only.
//!
//! **Overlays.** Execution never writes to redb directly: a block runs on an [`Overlay`] over a
//! [`Snapshot`] of the last committed state, each transaction on an overlay over the block's, and
//! a failed transaction's overlay is simply dropped.

mod error;
mod overlay;
mod store;
mod tree;

pub use error::{StateError, StateResult};
pub use overlay::{ChangeSet, Overlay, StateRead, StateWrite};
pub use store::{BlockCommit, Snapshot, Store, Tip, TxLocation};
pub use tree::{AccountProof, TreeUpdate, key_hash, verify_proof};
