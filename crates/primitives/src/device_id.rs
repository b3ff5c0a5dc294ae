//! Device ids: the 20-byte address of a device's public key, written as bech32m with the prefix
//! `gwd` so a device is never mistaken for an account.

use std::fmt;
use std::str::FromStr;

use bech32::Hrp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{ADDRESS_LEN, Address, AddressError, PublicKey};

/// The human-readable part of device ids.
pub const DEVICE_HRP: &str = "gwd";

/// A device's id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(pub [u8; ADDRESS_LEN]);

impl DeviceId {
    /// The id of a device key (the same derivation as [`Address::from_public_key`]).
    pub fn from_public_key(key: &PublicKey) -> Self {
        DeviceId(Address::from_public_key(key).0)
    }

    /// Reads an id from exactly 20 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, AddressError> {
        Address::from_slice(bytes).map(|a| DeviceId(a.0))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; ADDRESS_LEN] {
        &self.0
    }
}

fn hrp() -> Hrp {
    Hrp::parse_unchecked(DEVICE_HRP)
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::address::write_bech32m(f, hrp(), &self.0)
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({self})")
    }
}

impl FromStr for DeviceId {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::address::read_bech32m(s, hrp()).map(DeviceId)
    }
}

impl Serialize for DeviceId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceId {
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
    fn a_device_id_prints_as_gwd1_and_is_not_an_address() {
        let id = DeviceId::from_public_key(&SigningKey::from_seed([3; 32]).public_key());
        let text = id.to_string();
        assert!(text.starts_with("gwd1"), "{text}");
        assert_eq!(text.parse::<DeviceId>(), Ok(id));
        assert!(matches!(
            text.parse::<Address>(),
            Err(AddressError::WrongPrefix(_))
        ));
    }
}
