//! Content identifiers (CIDv1 with a sha2-256 multihash) and their base32 string form.
//!
//! # Byte layout
//!
//! ```text
//! 0x01            CID version 1 (unsigned varint)
//! codec           unsigned varint: 0x55 raw, 0x70 dag-pb (both one byte)
//! 0x12            multihash code: sha2-256
//! 0x20            digest length: 32
//! digest          32 bytes
//! ```
//!
//! The string form is the multibase prefix `b` followed by the bytes in RFC 4648 base32, lower
//! case, without padding — what `ipfs` prints for CIDv1, e.g.
//! `bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku` (the empty file).
//!
//! Only CIDv1 with sha2-256 and the raw or dag-pb codec is represented: those are the only CIDs
//! the importer in [`crate::unixfs`] makes. Anything else is refused with a typed error.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// Multicodec code of raw bytes (a UnixFS raw leaf).
pub const CODEC_RAW: u64 = 0x55;
/// Multicodec code of dag-pb (a UnixFS internal node).
pub const CODEC_DAG_PB: u64 = 0x70;
/// Multihash code of sha2-256.
pub const MULTIHASH_SHA2_256: u64 = 0x12;
/// Length in bytes of a CID in binary form.
pub const CID_LEN: usize = 36;

/// The codec of the block a [`Cid`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Codec {
    /// Raw bytes: the block is a chunk of the file itself.
    Raw,
    /// dag-pb: the block is a protobuf `PBNode` linking to children.
    DagPb,
}

impl Codec {
    /// The multicodec code of this codec.
    pub const fn code(self) -> u64 {
        match self {
            Codec::Raw => CODEC_RAW,
            Codec::DagPb => CODEC_DAG_PB,
        }
    }
}

/// Why bytes or a string are not a CID this crate understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidError {
    /// The binary form must be exactly [`CID_LEN`] bytes.
    #[error("a CID is {CID_LEN} bytes, got {0}")]
    WrongLength(usize),
    /// Only CIDv1 is supported (CIDv0 starts with 0x12 0x20).
    #[error("unsupported CID version byte {0:#04x}: only CIDv1 is supported")]
    UnsupportedVersion(u8),
    /// Only the raw (0x55) and dag-pb (0x70) codecs are supported.
    #[error("unsupported codec {0:#x}: only raw (0x55) and dag-pb (0x70)")]
    UnsupportedCodec(u8),
    /// Only sha2-256 multihashes with a 32-byte digest are supported.
    #[error("unsupported multihash {code:#x} of length {length}: only sha2-256 (0x12, 32 bytes)")]
    UnsupportedMultihash {
        /// The multihash code found.
        code: u8,
        /// The digest length found.
        length: u8,
    },
    /// The string form must start with the base32 multibase prefix `b`.
    #[error("a CID string must start with the base32 multibase prefix 'b'")]
    UnsupportedMultibase,
    /// A character outside the lower-case RFC 4648 base32 alphabet.
    #[error("invalid base32 character {0:?}")]
    InvalidBase32(char),
}

/// A CIDv1 with a sha2-256 digest: the address of one block.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cid {
    codec: Codec,
    digest: [u8; 32],
}

impl Cid {
    /// The CID of `block` under `codec`: sha2-256 of the block's bytes.
    pub fn for_block(codec: Codec, block: &[u8]) -> Cid {
        Cid {
            codec,
            digest: Sha256::digest(block).into(),
        }
    }

    /// A CID from an already computed sha2-256 digest.
    pub const fn from_digest(codec: Codec, digest: [u8; 32]) -> Cid {
        Cid { codec, digest }
    }

    /// The codec of the named block.
    pub const fn codec(&self) -> Codec {
        self.codec
    }

    /// The sha2-256 digest of the named block.
    pub const fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Whether `block` hashes to this CID's digest.
    pub fn matches(&self, block: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(block).into();
        digest == self.digest
    }

    /// The binary form (see the module documentation).
    pub fn to_bytes(&self) -> [u8; CID_LEN] {
        let mut bytes = [0u8; CID_LEN];
        bytes[0] = 0x01;
        bytes[1] = match self.codec {
            Codec::Raw => 0x55,
            Codec::DagPb => 0x70,
        };
        bytes[2] = 0x12;
        bytes[3] = 0x20;
        bytes[4..].copy_from_slice(&self.digest);
        bytes
    }

    /// Parses the binary form; refuses anything but CIDv1 sha2-256 raw or dag-pb.
    pub fn from_bytes(bytes: &[u8]) -> Result<Cid, CidError> {
        let Some((&version, rest)) = bytes.split_first() else {
            return Err(CidError::WrongLength(0));
        };
        if version != 0x01 {
            return Err(CidError::UnsupportedVersion(version));
        }
        if bytes.len() != CID_LEN {
            return Err(CidError::WrongLength(bytes.len()));
        }
        let codec = match rest[0] {
            0x55 => Codec::Raw,
            0x70 => Codec::DagPb,
            other => return Err(CidError::UnsupportedCodec(other)),
        };
        if rest[1] != 0x12 || rest[2] != 0x20 {
            return Err(CidError::UnsupportedMultihash {
                code: rest[1],
                length: rest[2],
            });
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&rest[3..]);
        Ok(Cid { codec, digest })
    }
}

const BASE32_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn base32_encode(bytes: &[u8], out: &mut String) {
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(
                BASE32_ALPHABET[((buffer >> bits) & 31) as usize],
            ));
        }
    }
    if bits > 0 {
        out.push(char::from(
            BASE32_ALPHABET[((buffer << (5 - bits)) & 31) as usize],
        ));
    }
}

fn base32_decode(text: &str) -> Result<Vec<u8>, CidError> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for character in text.chars() {
        let value = match character {
            'a'..='z' => character as u32 - 'a' as u32,
            '2'..='7' => character as u32 - '2' as u32 + 26,
            other => return Err(CidError::InvalidBase32(other)),
        };
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Ok(out)
}

impl fmt::Display for Cid {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::with_capacity(1 + CID_LEN.div_ceil(5) * 8);
        text.push('b');
        base32_encode(&self.to_bytes(), &mut text);
        formatter.write_str(&text)
    }
}

impl fmt::Debug for Cid {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Cid({self})")
    }
}

impl FromStr for Cid {
    type Err = CidError;

    fn from_str(text: &str) -> Result<Cid, CidError> {
        let Some(body) = text.strip_prefix('b') else {
            return Err(CidError::UnsupportedMultibase);
        };
        // A CID string is short; refuse long input before decoding it.
        if body.len() > 2 * CID_LEN {
            return Err(CidError::WrongLength(body.len() * 5 / 8));
        }
        Cid::from_bytes(&base32_decode(body)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_raw_block_has_the_cid_ipfs_gives_it() {
        let cid = Cid::for_block(Codec::Raw, b"");
        assert_eq!(
            cid.to_string(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
    }

    #[test]
    fn a_cid_string_parses_back_to_the_same_cid() {
        let cid = Cid::for_block(Codec::DagPb, b"hello");
        let parsed: Cid = cid.to_string().parse().unwrap();
        assert_eq!(parsed, cid);
        assert_eq!(Cid::from_bytes(&cid.to_bytes()).unwrap(), cid);
    }

    #[test]
    fn cid_strings_of_other_bases_versions_and_hashes_are_refused() {
        assert_eq!(
            "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG".parse::<Cid>(),
            Err(CidError::UnsupportedMultibase)
        );
        assert_eq!("bAFK".parse::<Cid>(), Err(CidError::InvalidBase32('A')));
        let mut bytes = Cid::for_block(Codec::Raw, b"x").to_bytes();
        bytes[2] = 0x1e;
        assert!(matches!(
            Cid::from_bytes(&bytes),
            Err(CidError::UnsupportedMultihash { code: 0x1e, .. })
        ));
        assert_eq!(
            Cid::from_bytes(&[0x12, 0x20]),
            Err(CidError::UnsupportedVersion(0x12))
        );
        assert_eq!(
            Cid::from_bytes(&[0x01, 0x55]),
            Err(CidError::WrongLength(2))
        );
    }

    proptest::proptest! {
        #[test]
        fn base32_round_trips_any_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let mut text = String::new();
            base32_encode(&bytes, &mut text);
            proptest::prop_assert_eq!(base32_decode(&text).unwrap(), bytes);
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in "\\PC{0,100}") {
            let _ = text.parse::<Cid>();
        }
    }
}
