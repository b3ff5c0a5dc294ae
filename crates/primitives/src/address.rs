//! Account addresses: 20 bytes derived from a public key, written as bech32m with the prefix `gw`.
//!
//! `address = SHA-256(key type byte || public key bytes)[0..20]`, where the key type byte is 0x01 for
//! ed25519 (32-byte key) and 0x02 for P-256 (33-byte compressed SEC1 key). The string form is
//! bech32m (BIP-350) with human-readable part `gw`, so `gw1` followed by 32 data characters and a
//! 6-character checksum.

use std::fmt;
use std::str::FromStr;

use bech32::{Bech32m, Hrp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::keys::PublicKey;

/// The human-readable part of every address.
pub const ADDRESS_HRP: &str = "gw";
/// The number of bytes in an address.
pub const ADDRESS_LEN: usize = 20;

/// An account address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; ADDRESS_LEN]);

/// Why a string or byte slice is not an address.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    /// Not valid bech32m text (bad character, bad checksum, mixed case, or bech32 rather than bech32m).
    #[error("not a bech32m address: {0}")]
    Bech32(String),
    /// The prefix was not `gw`.
    #[error("an address starts with `gw1`, this one has the prefix `{0}`")]
    WrongPrefix(String),
    /// The data part did not decode to 20 bytes.
    #[error("an address holds 20 bytes, this one holds {0}")]
    WrongLength(usize),
}

impl Address {
    /// The address of a public key.
    pub fn from_public_key(key: &PublicKey) -> Self {
        let digest = crate::sha256(&key.tagged_bytes());
        let mut bytes = [0u8; ADDRESS_LEN];
        bytes.copy_from_slice(&digest.0[..ADDRESS_LEN]);
        Address(bytes)
    }

    /// Reads an address from exactly 20 bytes (as carried in protobuf messages).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, AddressError> {
        let array: [u8; ADDRESS_LEN] = bytes
            .try_into()
            .map_err(|_| AddressError::WrongLength(bytes.len()))?;
        Ok(Address(array))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; ADDRESS_LEN] {
        &self.0
    }
}

fn hrp() -> Hrp {
    // `gw` is two lower-case ASCII letters: always a valid human-readable part.
    Hrp::parse_unchecked(ADDRESS_HRP)
}

/// Writes 20 bytes as bech32m with human-readable part `hrp` (addresses and device ids).
pub(crate) fn write_bech32m(
    f: &mut fmt::Formatter<'_>,
    hrp: Hrp,
    bytes: &[u8; ADDRESS_LEN],
) -> fmt::Result {
    bech32::encode_lower_to_fmt::<Bech32m, _>(f, hrp, bytes).map_err(|_| fmt::Error)
}

/// Reads bech32m text with human-readable part `hrp` holding exactly 20 bytes.
pub(crate) fn read_bech32m(text: &str, hrp: Hrp) -> Result<[u8; ADDRESS_LEN], AddressError> {
    use bech32::primitives::decode::CheckedHrpstring;
    let checked = CheckedHrpstring::new::<Bech32m>(text.trim())
        .map_err(|e| AddressError::Bech32(e.to_string()))?;
    if checked.hrp() != hrp {
        return Err(AddressError::WrongPrefix(checked.hrp().to_string()));
    }
    let data: Vec<u8> = checked.byte_iter().collect();
    data.as_slice()
        .try_into()
        .map_err(|_| AddressError::WrongLength(data.len()))
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_bech32m(f, hrp(), &self.0)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        read_bech32m(s, hrp()).map(Address)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;

    #[test]
    fn an_address_prints_as_gw1_and_parses_back() {
        let key = SigningKey::from_seed([1; 32]).public_key();
        let address = Address::from_public_key(&key);
        let text = address.to_string();
        assert!(text.starts_with("gw1"), "{text}");
        assert_eq!(text.len(), 3 + 32 + 6);
        assert_eq!(text.parse::<Address>(), Ok(address));
    }

    #[test]
    fn a_mistyped_address_is_refused_by_its_checksum() {
        let text = Address([9; 20]).to_string();
        let mut chars: Vec<char> = text.chars().collect();
        chars[10] = if chars[10] == 'q' { 'p' } else { 'q' };
        let typo: String = chars.into_iter().collect();
        assert!(matches!(
            typo.parse::<Address>(),
            Err(AddressError::Bech32(_))
        ));
    }

    #[test]
    fn an_address_with_another_prefix_is_refused() {
        let other = bech32::encode::<Bech32m>(Hrp::parse_unchecked("xx"), &[0; 20]).unwrap();
        assert_eq!(
            other.parse::<Address>(),
            Err(AddressError::WrongPrefix("xx".into()))
        );
    }

    #[test]
    fn a_bech32_not_bech32m_address_is_refused() {
        let legacy = bech32::encode::<bech32::Bech32>(hrp(), &[0; 20]).unwrap();
        assert!(matches!(
            legacy.parse::<Address>(),
            Err(AddressError::Bech32(_))
        ));
    }

    #[test]
    fn an_address_of_the_wrong_length_is_refused() {
        let short = bech32::encode::<Bech32m>(hrp(), &[0; 19]).unwrap();
        assert_eq!(short.parse::<Address>(), Err(AddressError::WrongLength(19)));
    }
}
