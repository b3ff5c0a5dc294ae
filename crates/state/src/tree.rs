//! The authenticated state root: a Jellyfish Merkle tree over SHA-256(key) → SHA-256(value).

use groundwork_primitives::Hash;
use jmt::storage::TreeUpdateBatch;
use jmt::{KeyHash, RootHash};
use serde::Serialize;
use sha2::Digest;

/// SHA-256 as the tree's hasher (sha2 0.11 directly; jmt's own sha2 feature would pull a second
/// copy of the digest traits).
pub(crate) struct TreeHasher(sha2::Sha256);

impl jmt::SimpleHasher for TreeHasher {
    fn new() -> Self {
        TreeHasher(sha2::Sha256::new())
    }
    fn update(&mut self, data: &[u8]) {
        Digest::update(&mut self.0, data);
    }
    fn finalize(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// The tree position of a state key: SHA-256 of the key bytes.
pub fn key_hash(key: &[u8]) -> [u8; 32] {
    KeyHash::with::<TreeHasher>(key).0
}

/// The tree nodes one block adds and retires, computed before the block commits.
#[derive(Debug, Default)]
pub struct TreeUpdate {
    pub(crate) batch: TreeUpdateBatch,
    /// Keys newly set in this block, by key hash, so a proof can name the key it covers.
    pub(crate) preimages: Vec<([u8; 32], Vec<u8>)>,
}

/// A value (or its absence) under a key, with a Merkle proof against a state root.
#[derive(Debug, Clone, Serialize)]
pub struct AccountProof {
    /// The state key the proof is about, hex.
    pub key: String,
    /// The value bytes, hex, or `None` for a proof of absence.
    pub value: Option<String>,
    /// The root the proof verifies against (the app hash of block `height`).
    pub root: Hash,
    /// The height whose app hash is `root`.
    pub height: u64,
    /// Where the key sits in the tree: SHA-256(key), hex.
    pub key_hash: String,
    /// The whole proof, borsh-encoded as the `jmt` crate defines it, hex; verify with
    /// [`verify_proof`].
    pub proof: String,
}

/// Checks that `value` (or its absence) is stored under `key` in the state whose root is `root`,
/// given the `proof` bytes of an [`AccountProof`].
pub fn verify_proof(
    root: &Hash,
    key: &[u8],
    value: Option<&[u8]>,
    proof: &[u8],
) -> Result<(), String> {
    // Bounded: a proof has at most 256 siblings of 32 bytes plus a leaf.
    if proof.len() > 64 * 1024 {
        return Err(format!(
            "a proof is at most 64 KiB, this one is {} bytes",
            proof.len()
        ));
    }
    let proof: jmt::proof::SparseMerkleProof<TreeHasher> =
        borsh::from_slice(proof).map_err(|e| format!("the proof bytes are malformed: {e}"))?;
    proof
        .verify(RootHash(root.0), KeyHash(key_hash(key)), value)
        .map_err(|e| format!("the proof does not verify: {e}"))
}

pub(crate) fn root_hash(root: RootHash) -> Hash {
    Hash(root.0)
}

pub(crate) fn encode_proof(
    proof: &jmt::proof::SparseMerkleProof<TreeHasher>,
) -> Result<Vec<u8>, String> {
    borsh::to_vec(proof).map_err(|e| e.to_string())
}
