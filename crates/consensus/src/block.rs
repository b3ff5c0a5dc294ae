//! The block as consensus carries it: the app's encoded `groundwork.v1.Block`, whose digest is
//! the app's block hash (SHA-256 of the encoded header).
//!
//! ```text
//! wire form: length (varint u32) ‖ encoded groundwork.v1.Block (protobuf, canonical)
//! ```
//!
//! The header commits to everything in the block (its `tx_root` covers the transactions), so the
//! header hash is a sound digest. Decoding is bounded by [`BlockCodec::max_block_bytes`] and
//! rejects any byte string that does not re-encode to itself, as consensus requires one encoding
//! per block. Height 0 is the genesis anchor: the app stores no block there and its children
//! name [`Hash::ZERO`] as their parent, so its digest is the zero hash.

use bytes::{Buf as _, BufMut};
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write, varint::UInt,
};
use commonware_consensus::types::Height;
use commonware_consensus::{Block as ConsensusBlock, Heightable};
use commonware_cryptography::Digestible;
use commonware_cryptography::sha256::Digest;
use groundwork_primitives::{Hash, sha256};
use groundwork_proto::Message as _;
use groundwork_proto::v1;

/// Decoding limits for blocks received from peers or read back from storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockCodec {
    /// Largest encoded block accepted, in bytes.
    pub max_block_bytes: u32,
}

/// A block of the chain, with its hash computed once.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    block: v1::Block,
    bytes: Vec<u8>,
    hash: Hash,
    parent: Hash,
    height: u64,
}

impl Block {
    /// Wraps an executed block from the app (its header is complete).
    pub fn new(block: v1::Block) -> Block {
        let bytes = block.encode_to_vec();
        let header = block.header.clone().unwrap_or_default();
        let height = header.height;
        let hash = if height == 0 {
            Hash::ZERO
        } else {
            sha256(&header.encode_to_vec())
        };
        let parent = Hash::from_slice(&header.parent_hash).unwrap_or(Hash::ZERO);
        Block {
            block,
            bytes,
            hash,
            parent,
            height,
        }
    }

    /// The genesis anchor of `chain_id`: height 0, the genesis time and state root.
    pub fn genesis(chain_id: &str, time_ms: u64, app_hash: Hash) -> Block {
        Block::new(v1::Block {
            header: Some(v1::BlockHeader {
                chain_id: chain_id.to_string(),
                height: 0,
                time_ms,
                app_hash: app_hash.0.to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// The app's block.
    pub fn inner(&self) -> &v1::Block {
        &self.block
    }

    /// The block hash ([`Hash::ZERO`] for genesis).
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// The parent's block hash.
    pub fn parent_hash(&self) -> Hash {
        self.parent
    }

    /// The block's height.
    pub fn number(&self) -> u64 {
        self.height
    }

    /// The block's time, ms since the Unix epoch.
    pub fn time_ms(&self) -> u64 {
        self.block.header.as_ref().map(|h| h.time_ms).unwrap_or(0)
    }

    /// The proposer's key bytes as the header names them (empty for genesis).
    pub fn proposer_bytes(&self) -> Vec<u8> {
        use v1::public_key::Key;
        match self
            .block
            .header
            .as_ref()
            .and_then(|h| h.proposer.as_ref())
            .and_then(|p| p.key.as_ref())
        {
            Some(Key::Ed25519(bytes)) => bytes.clone(),
            Some(Key::P256(bytes)) => bytes.clone(),
            None => Vec::new(),
        }
    }
}

/// The consensus digest of an app block hash.
pub fn digest_of(hash: Hash) -> Digest {
    Digest(hash.0)
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        UInt(self.bytes.len() as u32).write(buf);
        buf.put_slice(&self.bytes);
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        UInt(self.bytes.len() as u32).encode_size() + self.bytes.len()
    }
}

impl Read for Block {
    type Cfg = BlockCodec;

    fn read_cfg(buf: &mut impl Buf, cfg: &Self::Cfg) -> Result<Self, CodecError> {
        let len: u32 = UInt::read(buf)?.into();
        if len > cfg.max_block_bytes {
            return Err(CodecError::Invalid("Block", "longer than the block limit"));
        }
        let len = len as usize;
        if buf.remaining() < len {
            return Err(CodecError::EndOfBuffer);
        }
        let mut bytes = vec![0u8; len];
        buf.copy_to_slice(&mut bytes);
        let block = v1::Block::decode(bytes.as_slice())
            .map_err(|_| CodecError::Invalid("Block", "not a groundwork.v1.Block"))?;
        if block.header.is_none() {
            return Err(CodecError::Invalid("Block", "no header"));
        }
        let decoded = Block::new(block);
        if decoded.bytes != bytes {
            return Err(CodecError::Invalid("Block", "not the canonical encoding"));
        }
        Ok(decoded)
    }
}

impl Digestible for Block {
    type Digest = Digest;

    fn digest(&self) -> Digest {
        digest_of(self.hash)
    }
}

impl Heightable for Block {
    fn height(&self) -> Height {
        Height::new(self.height)
    }
}

impl ConsensusBlock for Block {
    fn parent(&self) -> Digest {
        digest_of(self.parent)
    }
}

impl commonware_consensus::BoundedBlock for Block {
    fn max_encode_size(cfg: &Self::Cfg) -> usize {
        UInt(cfg.max_block_bytes).encode_size() + cfg.max_block_bytes as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{Decode as _, Encode as _};

    #[test]
    fn a_block_round_trips_and_keeps_its_digest() {
        let block = Block::new(v1::Block {
            header: Some(v1::BlockHeader {
                chain_id: "t".into(),
                height: 3,
                time_ms: 5,
                parent_hash: vec![7; 32],
                ..Default::default()
            }),
            txs: vec![vec![1, 2, 3]],
            ..Default::default()
        });
        let bytes = block.encode();
        let codec = BlockCodec {
            max_block_bytes: 1024,
        };
        let back = Block::decode_cfg(bytes.clone(), &codec).map_err(|e| e.to_string());
        assert_eq!(back, Ok(block.clone()));
        assert_eq!(block.parent(), Digest([7; 32]));
        let small = BlockCodec { max_block_bytes: 4 };
        assert!(Block::decode_cfg(bytes, &small).is_err());
    }

    #[test]
    fn genesis_has_the_zero_digest_its_children_name() {
        let genesis = Block::genesis("t", 1, Hash([9; 32]));
        assert_eq!(genesis.digest(), digest_of(Hash::ZERO));
        assert_eq!(genesis.number(), 0);
    }
}
