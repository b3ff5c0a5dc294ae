//! 32-byte hashes (SHA-256): transaction hashes, block hashes, state roots.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// A 32-byte digest, printed as 64 lower-case hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

/// Why a string or byte slice is not a [`Hash`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HashError {
    /// The input did not have exactly 32 bytes (64 hex characters).
    #[error("a hash has 32 bytes (64 hex characters), this has {0} bytes")]
    WrongLength(usize),
    /// The input was not hexadecimal.
    #[error("a hash is written in hexadecimal: {0}")]
    NotHex(String),
}

impl Hash {
    /// The all-zero hash, used as the parent of the first block.
    pub const ZERO: Hash = Hash([0; 32]);

    /// Reads a hash from exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| HashError::WrongLength(bytes.len()))?;
        Ok(Hash(array))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Hash {
    Hash(Sha256::digest(bytes).into())
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = HashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        let bytes = hex::decode(s).map_err(|e| HashError::NotHex(e.to_string()))?;
        Hash::from_slice(&bytes)
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_matches_the_published_test_vector() {
        assert_eq!(
            sha256(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_hash_round_trips_through_hex_and_rejects_bad_input() {
        let h = sha256(b"x");
        assert_eq!(h.to_hex().parse::<Hash>(), Ok(h));
        assert_eq!("abcd".parse::<Hash>(), Err(HashError::WrongLength(2)));
        assert!(matches!("zz".parse::<Hash>(), Err(HashError::NotHex(_))));
    }
}
