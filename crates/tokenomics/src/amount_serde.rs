//! Serde helpers for `u128` token amounts.
//!
//! Amounts are written as decimal strings (`"330000000000000000"`): JSON readers in other
//! languages lose precision above 2^53 and TOML integers stop at 2^63, while a supply in base
//! units easily exceeds both. Reading also accepts a plain integer, for hand-written files.

use std::fmt;

use serde::{Deserializer, Serializer, de};

/// Serialise an amount as a decimal string.
pub fn serialize<S: Serializer>(amount: &u128, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(amount)
}

/// Deserialise an amount from a decimal string or a non-negative integer.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u128, D::Error> {
    deserializer.deserialize_any(AmountVisitor)
}

struct AmountVisitor;

impl de::Visitor<'_> for AmountVisitor {
    type Value = u128;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount in base units, as a decimal string or a non-negative integer")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u128, E> {
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(E::custom(format!("not an amount in base units: {v:?}")));
        }
        v.parse().map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u128, E> {
        Ok(u128::from(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<u128, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u128, E> {
        u128::try_from(v).map_err(|_| E::custom("a negative amount"))
    }
}

/// The same for `Option<u128>` (`null`/absent is `None`).
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialise an optional amount as a decimal string or nothing.
    pub fn serialize<S: Serializer>(
        amount: &Option<u128>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match amount {
            Some(amount) => serializer.collect_str(amount),
            None => serializer.serialize_none(),
        }
    }

    /// Deserialise an optional amount.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<u128>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapper(#[serde(with = "super")] u128);
        Ok(Option::<Wrapper>::deserialize(deserializer)?.map(|Wrapper(amount)| amount))
    }
}
