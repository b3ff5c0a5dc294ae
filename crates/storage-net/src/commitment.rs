//! Piece commitments and proofs of retrievability: a BLAKE3 Merkle tree over a piece's 4 KiB
//! chunks, and proofs that one chunk is in it.
//!
//! # The tree
//!
//! ```text
//! chunk i      = piece[i·4096 .. min((i+1)·4096, piece_len)]     (the last may be shorter;
//!                an empty piece has one empty chunk)
//! leaf i       = BLAKE3-keyed(LEAF_KEY, chunk i)
//! node         = BLAKE3-keyed(NODE_KEY, left ‖ right)
//! level up     = nodes of pairs (0,1), (2,3), …; an odd last node is carried up unchanged
//! top          = the single node left
//! root         = BLAKE3-keyed(ROOT_KEY, top ‖ piece_len as u64 little-endian)
//! ```
//!
//! The keys are `blake3::derive_key(context, b"")` of the contexts [`LEAF_CONTEXT`],
//! [`NODE_CONTEXT`] and [`ROOT_CONTEXT`]: different keys separate leaves from nodes (no leaf can
//! pass for a node) and the root binds the piece length, so trees of different lengths never share
//! a root. Keyed hashing keeps a chunk aligned on BLAKE3's own 1 KiB chunks, so hashing a 4 KiB
//! leaf uses its SIMD paths.
//!
//! 4 KiB chunks: a proof carries one chunk, so a provider reads one disk page per challenge and a
//! proof of a 16 MiB piece is 4 KiB + 12 × 32 bytes; 44 challenges (99% detection of a 10% loss,
//! see [`crate::challenge`]) make about 200 KiB per proving period.
//!
//! # A proof's bytes
//!
//! ```text
//! u64 LE   chunk index
//! u32 LE   chunk length (≤ 4096)
//! bytes    the chunk
//! u8       number of siblings (≤ MAX_PROOF_DEPTH)
//! 32 × s   sibling hashes, from the leaf's level upward, only for levels where the node on the
//!          path has a sibling (a carried-up node has none)
//! ```
//!
//! [`ChunkProof::from_bytes`] decodes untrusted bytes within these limits and refuses trailing
//! bytes; it never panics. [`verify_chunk_proof`] gives a verdict: `Ok`, or a typed reason.

use rayon::prelude::*;

/// Bytes per leaf chunk of a piece commitment.
pub const COMMITMENT_CHUNK_SIZE: usize = 4096;
/// Most siblings in a proof: trees up to 2^48 chunks (1 EiB pieces).
pub const MAX_PROOF_DEPTH: usize = 48;
/// Largest encoded proof.
pub const MAX_PROOF_SIZE: usize = 8 + 4 + COMMITMENT_CHUNK_SIZE + 1 + MAX_PROOF_DEPTH * 32;
/// Key-derivation context of leaf hashes.
pub const LEAF_CONTEXT: &str = "groundwork storage-net 2026 piece merkle leaf";
/// Key-derivation context of inner-node hashes.
pub const NODE_CONTEXT: &str = "groundwork storage-net 2026 piece merkle node";
/// Key-derivation context of the root (which binds the piece length).
pub const ROOT_CONTEXT: &str = "groundwork storage-net 2026 piece merkle root";

/// A 32-byte BLAKE3 hash.
pub type Hash = [u8; 32];

/// Levels whose nodes are hashed in parallel when at least this wide.
const PARALLEL_LEVEL_WIDTH: usize = 1024;

#[derive(Clone, Copy)]
struct Keys {
    leaf: [u8; 32],
    node: [u8; 32],
    root: [u8; 32],
}

impl Keys {
    fn derive() -> Keys {
        Keys {
            leaf: blake3::derive_key(LEAF_CONTEXT, b""),
            node: blake3::derive_key(NODE_CONTEXT, b""),
            root: blake3::derive_key(ROOT_CONTEXT, b""),
        }
    }

    fn leaf(&self, chunk: &[u8]) -> Hash {
        *blake3::keyed_hash(&self.leaf, chunk).as_bytes()
    }

    fn node(&self, left: &Hash, right: &Hash) -> Hash {
        let mut both = [0u8; 64];
        both[..32].copy_from_slice(left);
        both[32..].copy_from_slice(right);
        *blake3::keyed_hash(&self.node, &both).as_bytes()
    }

    fn root(&self, top: &Hash, piece_len: u64) -> Hash {
        let mut input = [0u8; 40];
        input[..32].copy_from_slice(top);
        input[32..].copy_from_slice(&piece_len.to_le_bytes());
        *blake3::keyed_hash(&self.root, &input).as_bytes()
    }
}

/// Number of chunks of a piece of `piece_len` bytes (at least one).
pub fn chunk_count(piece_len: u64) -> u64 {
    piece_len.div_ceil(COMMITMENT_CHUNK_SIZE as u64).max(1)
}

/// Byte length of chunk `index` of a piece of `piece_len` bytes, or `None` past the end.
pub fn chunk_len(piece_len: u64, index: u64) -> Option<usize> {
    if index >= chunk_count(piece_len) {
        return None;
    }
    let start = index * COMMITMENT_CHUNK_SIZE as u64;
    let len = piece_len
        .saturating_sub(start)
        .min(COMMITMENT_CHUNK_SIZE as u64);
    Some(len as usize)
}

fn leaves(keys: &Keys, piece: &[u8]) -> Vec<Hash> {
    if piece.is_empty() {
        return vec![keys.leaf(&[])];
    }
    piece
        .par_chunks(COMMITMENT_CHUNK_SIZE)
        .map(|chunk| keys.leaf(chunk))
        .collect()
}

fn level_up(keys: &Keys, level: &[Hash]) -> Vec<Hash> {
    let pair = |pair: &[Hash]| match pair {
        [left, right] => keys.node(left, right),
        [single] => *single,
        _ => [0u8; 32], // chunks(2) yields one or two items
    };
    if level.len() >= PARALLEL_LEVEL_WIDTH {
        level.par_chunks(2).map(pair).collect()
    } else {
        level.chunks(2).map(pair).collect()
    }
}

/// The commitment (Merkle root) of one piece.
pub fn piece_root(piece: &[u8]) -> Hash {
    let keys = Keys::derive();
    let mut level = leaves(&keys, piece);
    while level.len() > 1 {
        level = level_up(&keys, &level);
    }
    keys.root(&level[0], piece.len() as u64)
}

/// Parts at least this long have their whole chunks hashed in parallel.
const PARALLEL_UPDATE_LEN: usize = 1 << 20;

/// The commitment of a piece handed over in parts of any size, as it arrives over the network:
/// the same root as [`piece_root`], in one pass with whatever else reads the parts (a provider
/// hashes each part of an upload as it writes it to disk). Leaves are hashed as their chunk
/// completes; 32 bytes per chunk are kept until [`PieceHasher::finish`] builds the tree.
#[derive(Clone)]
pub struct PieceHasher {
    keys: Keys,
    leaves: Vec<Hash>,
    partial: Vec<u8>,
    len: u64,
}

impl std::fmt::Debug for PieceHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PieceHasher")
            .field("len", &self.len)
            .finish()
    }
}

impl Default for PieceHasher {
    fn default() -> PieceHasher {
        PieceHasher::new()
    }
}

impl PieceHasher {
    /// An empty piece so far.
    pub fn new() -> PieceHasher {
        PieceHasher {
            keys: Keys::derive(),
            leaves: Vec::new(),
            partial: Vec::with_capacity(COMMITMENT_CHUNK_SIZE),
            len: 0,
        }
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was hashed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The next bytes of the piece.
    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if !self.partial.is_empty() {
            let take = (COMMITMENT_CHUNK_SIZE - self.partial.len()).min(data.len());
            self.partial.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.partial.len() < COMMITMENT_CHUNK_SIZE {
                return;
            }
            self.leaves.push(self.keys.leaf(&self.partial));
            self.partial.clear();
        }
        let whole = data.len() / COMMITMENT_CHUNK_SIZE * COMMITMENT_CHUNK_SIZE;
        let keys = self.keys;
        if whole >= PARALLEL_UPDATE_LEN {
            let mut hashed = Vec::new();
            data[..whole]
                .par_chunks(COMMITMENT_CHUNK_SIZE)
                .map(|chunk| keys.leaf(chunk))
                .collect_into_vec(&mut hashed);
            self.leaves.extend_from_slice(&hashed);
        } else {
            self.leaves.extend(
                data[..whole]
                    .chunks(COMMITMENT_CHUNK_SIZE)
                    .map(|chunk| keys.leaf(chunk)),
            );
        }
        self.partial.extend_from_slice(&data[whole..]);
    }

    /// The piece's commitment.
    pub fn finish(mut self) -> Hash {
        if !self.partial.is_empty() || self.leaves.is_empty() {
            // The last, short chunk; or the empty piece's one empty chunk.
            self.leaves.push(self.keys.leaf(&self.partial));
        }
        let mut level = std::mem::take(&mut self.leaves);
        while level.len() > 1 {
            level = level_up(&self.keys, &level);
        }
        self.keys.root(&level[0], self.len)
    }
}

/// The whole Merkle tree of a piece, kept to answer challenges (64 bytes per chunk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceTree {
    piece_len: u64,
    /// `levels[0]` the leaves, the last level the single top node.
    levels: Vec<Vec<Hash>>,
    root: Hash,
}

impl PieceTree {
    /// Builds the tree of `piece`.
    pub fn build(piece: &[u8]) -> PieceTree {
        let keys = Keys::derive();
        let mut levels = vec![leaves(&keys, piece)];
        while let Some(last) = levels.last().filter(|level| level.len() > 1) {
            let next = level_up(&keys, last);
            levels.push(next);
        }
        let top = levels
            .last()
            .and_then(|level| level.first())
            .copied()
            .unwrap_or_default();
        let root = keys.root(&top, piece.len() as u64);
        PieceTree {
            piece_len: piece.len() as u64,
            levels,
            root,
        }
    }

    /// The piece commitment.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The piece's length in bytes.
    pub fn piece_len(&self) -> u64 {
        self.piece_len
    }

    /// The proof of chunk `index`; `piece` must be the bytes the tree was built from.
    pub fn prove(&self, piece: &[u8], index: u64) -> Result<ChunkProof, ProofRejection> {
        if piece.len() as u64 != self.piece_len {
            return Err(ProofRejection::WrongChunkLength {
                expected: self.piece_len as usize,
                actual: piece.len(),
            });
        }
        let count = chunk_count(self.piece_len);
        let length = chunk_len(self.piece_len, index).ok_or(ProofRejection::IndexOutOfRange {
            index,
            chunk_count: count,
        })?;
        let start = (index as usize) * COMMITMENT_CHUNK_SIZE;
        let chunk = piece[start..start + length].to_vec();
        let mut siblings = Vec::new();
        let mut position = index as usize;
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = position ^ 1;
            if let Some(hash) = level.get(sibling) {
                siblings.push(*hash);
            }
            position /= 2;
        }
        Ok(ChunkProof {
            chunk_index: index,
            chunk,
            siblings,
        })
    }
}

/// A proof that one chunk belongs to a committed piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkProof {
    /// Which chunk of the piece.
    pub chunk_index: u64,
    /// The chunk's bytes.
    pub chunk: Vec<u8>,
    /// Sibling hashes from the leaf level upward (see the module documentation).
    pub siblings: Vec<Hash>,
}

/// Why proof bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofDecodeError {
    /// The bytes end inside the proof.
    #[error("the proof is truncated")]
    Truncated,
    /// The chunk is longer than [`COMMITMENT_CHUNK_SIZE`].
    #[error("the proof's chunk is {0} bytes, above {COMMITMENT_CHUNK_SIZE}")]
    ChunkTooLarge(u32),
    /// More siblings than [`MAX_PROOF_DEPTH`].
    #[error("the proof has {0} siblings, above {MAX_PROOF_DEPTH}")]
    PathTooLong(u8),
    /// Bytes follow the proof.
    #[error("{0} bytes follow the proof")]
    TrailingBytes(usize),
}

impl ChunkProof {
    /// The encoded proof (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(13 + self.chunk.len() + 32 * self.siblings.len());
        bytes.extend_from_slice(&self.chunk_index.to_le_bytes());
        bytes.extend_from_slice(&(self.chunk.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&self.chunk);
        bytes.push(self.siblings.len() as u8);
        for sibling in &self.siblings {
            bytes.extend_from_slice(sibling);
        }
        bytes
    }

    /// Decodes untrusted proof bytes, within [`MAX_PROOF_SIZE`].
    pub fn from_bytes(bytes: &[u8]) -> Result<ChunkProof, ProofDecodeError> {
        fn take<'a>(bytes: &mut &'a [u8], length: usize) -> Result<&'a [u8], ProofDecodeError> {
            if bytes.len() < length {
                return Err(ProofDecodeError::Truncated);
            }
            let (head, tail) = bytes.split_at(length);
            *bytes = tail;
            Ok(head)
        }
        let mut rest = bytes;
        let mut index = [0u8; 8];
        index.copy_from_slice(take(&mut rest, 8)?);
        let mut length = [0u8; 4];
        length.copy_from_slice(take(&mut rest, 4)?);
        let length = u32::from_le_bytes(length);
        if length as usize > COMMITMENT_CHUNK_SIZE {
            return Err(ProofDecodeError::ChunkTooLarge(length));
        }
        let chunk = take(&mut rest, length as usize)?.to_vec();
        let count = take(&mut rest, 1)?[0];
        if usize::from(count) > MAX_PROOF_DEPTH {
            return Err(ProofDecodeError::PathTooLong(count));
        }
        let mut siblings = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let mut sibling = [0u8; 32];
            sibling.copy_from_slice(take(&mut rest, 32)?);
            siblings.push(sibling);
        }
        if !rest.is_empty() {
            return Err(ProofDecodeError::TrailingBytes(rest.len()));
        }
        Ok(ChunkProof {
            chunk_index: u64::from_le_bytes(index),
            chunk,
            siblings,
        })
    }
}

/// Why a proof does not prove its chunk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofRejection {
    /// The chunk index is not in the piece.
    #[error("chunk {index} is out of range: the piece has {chunk_count} chunks")]
    IndexOutOfRange {
        /// The index proven.
        index: u64,
        /// Chunks in the piece.
        chunk_count: u64,
    },
    /// The chunk (or piece) has the wrong length for its position.
    #[error("the chunk is {actual} bytes, expected {expected}")]
    WrongChunkLength {
        /// The length expected.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The proof has the wrong number of siblings for this index and piece length.
    #[error("the proof has {actual} siblings, the path needs {expected}")]
    WrongPathLength {
        /// Siblings the path needs.
        expected: usize,
        /// Siblings given.
        actual: usize,
    },
    /// The path leads to another root: the chunk or a sibling is wrong.
    #[error("the proof does not lead to the committed root")]
    RootMismatch,
}

/// Checks that `proof` proves its chunk of the piece of `piece_len` bytes committed to by `root`.
pub fn verify_chunk_proof(
    root: &Hash,
    piece_len: u64,
    proof: &ChunkProof,
) -> Result<(), ProofRejection> {
    let count = chunk_count(piece_len);
    let expected_len =
        chunk_len(piece_len, proof.chunk_index).ok_or(ProofRejection::IndexOutOfRange {
            index: proof.chunk_index,
            chunk_count: count,
        })?;
    if proof.chunk.len() != expected_len {
        return Err(ProofRejection::WrongChunkLength {
            expected: expected_len,
            actual: proof.chunk.len(),
        });
    }
    // Walk up: at each level the node has a sibling unless it is an odd last node.
    let mut needed = 0;
    let (mut position, mut width) = (proof.chunk_index, count);
    while width > 1 {
        if position ^ 1 < width {
            needed += 1;
        }
        position /= 2;
        width = width.div_ceil(2);
    }
    if needed != proof.siblings.len() {
        return Err(ProofRejection::WrongPathLength {
            expected: needed,
            actual: proof.siblings.len(),
        });
    }
    let keys = Keys::derive();
    let mut hash = keys.leaf(&proof.chunk);
    let mut siblings = proof.siblings.iter();
    let (mut position, mut width) = (proof.chunk_index, count);
    while width > 1 {
        if position ^ 1 < width {
            let Some(sibling) = siblings.next() else {
                return Err(ProofRejection::RootMismatch);
            };
            hash = if position % 2 == 0 {
                keys.node(&hash, sibling)
            } else {
                keys.node(sibling, &hash)
            };
        }
        position /= 2;
        width = width.div_ceil(2);
    }
    if keys.root(&hash, piece_len) == *root {
        Ok(())
    } else {
        Err(ProofRejection::RootMismatch)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn piece(length: usize, seed: u8) -> Vec<u8> {
        (0..length)
            .map(|i| (i as u8) ^ seed ^ (i >> 12) as u8)
            .collect()
    }

    #[test]
    fn the_tree_root_equals_the_streamed_root() {
        for length in [0, 1, 4096, 4097, 5 * 4096 + 3, 1 << 20] {
            let data = piece(length, 1);
            assert_eq!(
                PieceTree::build(&data).root(),
                piece_root(&data),
                "{length}"
            );
        }
    }

    #[test]
    fn a_piece_hashed_in_parts_has_the_root_of_the_whole() {
        for length in [0, 1, 4095, 4096, 4097, 5 * 4096 + 3, (1 << 21) + 17] {
            let data = piece(length, 3);
            for part in [1, 1000, 4096, 70_000, 1 << 20, usize::MAX] {
                let mut hasher = PieceHasher::new();
                for chunk in data.chunks(part.min(data.len().max(1))) {
                    hasher.update(chunk);
                }
                assert_eq!(hasher.len(), length as u64);
                assert_eq!(hasher.finish(), piece_root(&data), "{length} in {part}");
            }
        }
    }

    #[test]
    fn pieces_of_different_lengths_have_different_roots_even_with_equal_chunks() {
        // Same bytes except the zero padding the length encodes.
        let short = vec![0u8; 4096];
        let long = vec![0u8; 4097];
        assert_ne!(piece_root(&short), piece_root(&long));
        assert_ne!(piece_root(&[]), piece_root(&[0]));
    }

    #[test]
    fn a_leaf_cannot_pass_for_a_node() {
        let keys = Keys::derive();
        let (left, right) = (keys.leaf(b"a"), keys.leaf(b"b"));
        let mut both = Vec::new();
        both.extend_from_slice(&left);
        both.extend_from_slice(&right);
        assert_ne!(keys.leaf(&both), keys.node(&left, &right));
    }

    #[test]
    fn a_proof_for_another_index_or_length_is_rejected() {
        let data = piece(10 * 4096 + 100, 3);
        let tree = PieceTree::build(&data);
        let mut proof = tree.prove(&data, 4).unwrap();
        proof.chunk_index = 5;
        assert_eq!(
            verify_chunk_proof(&tree.root(), data.len() as u64, &proof),
            Err(ProofRejection::RootMismatch)
        );
        let proof = tree.prove(&data, 10).unwrap();
        assert_eq!(proof.chunk.len(), 100);
        assert!(verify_chunk_proof(&tree.root(), data.len() as u64, &proof).is_ok());
        assert!(matches!(
            verify_chunk_proof(&tree.root(), data.len() as u64 + 1, &proof),
            Err(ProofRejection::WrongChunkLength {
                expected: 101,
                actual: 100
            })
        ));
        assert!(matches!(
            tree.prove(&data, 11),
            Err(ProofRejection::IndexOutOfRange {
                index: 11,
                chunk_count: 11
            })
        ));
    }

    #[test]
    fn proof_bytes_beyond_the_limits_are_refused() {
        let mut bytes = vec![0u8; 8];
        bytes.extend_from_slice(&4097u32.to_le_bytes());
        assert_eq!(
            ChunkProof::from_bytes(&bytes),
            Err(ProofDecodeError::ChunkTooLarge(4097))
        );
        let mut bytes = vec![0u8; 8];
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.push(49);
        assert_eq!(
            ChunkProof::from_bytes(&bytes),
            Err(ProofDecodeError::PathTooLong(49))
        );
        bytes.pop();
        bytes.push(0);
        bytes.push(0);
        assert_eq!(
            ChunkProof::from_bytes(&bytes),
            Err(ProofDecodeError::TrailingBytes(1))
        );
        assert_eq!(
            ChunkProof::from_bytes(&[1, 2, 3]),
            Err(ProofDecodeError::Truncated)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn a_proof_of_any_chunk_verifies_and_a_flipped_byte_fails(
            length in 0usize..(40 * 4096),
            seed in any::<u8>(),
            index_seed in any::<u64>(),
            flip_seed in any::<usize>(),
        ) {
            let data = piece(length, seed);
            let tree = PieceTree::build(&data);
            let index = index_seed % chunk_count(length as u64);
            let proof = tree.prove(&data, index).unwrap();
            let bytes = proof.to_bytes();
            prop_assert!(bytes.len() <= MAX_PROOF_SIZE);
            let decoded = ChunkProof::from_bytes(&bytes).unwrap();
            prop_assert_eq!(&decoded, &proof);
            prop_assert_eq!(verify_chunk_proof(&tree.root(), length as u64, &decoded), Ok(()));

            // Flip one byte of the encoding (index, length, chunk, count or a sibling).
            let mut tampered = bytes.clone();
            let position = flip_seed % tampered.len();
            tampered[position] ^= 0x01;
            let verdict = ChunkProof::from_bytes(&tampered)
                .ok()
                .map(|proof| verify_chunk_proof(&tree.root(), length as u64, &proof));
            prop_assert!(!matches!(verdict, Some(Ok(()))));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = ChunkProof::from_bytes(&bytes);
        }
    }
}
