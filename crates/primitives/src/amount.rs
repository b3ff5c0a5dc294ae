//! Token amounts: an unsigned integer number of base units (`u128`), never a float.
//!
//! The number of decimals (how many base units make one token) is fixed at genesis; the default is
//! 8, so `1 token = 100,000,000 base units`. Text such as `"12.5"` is parsed exactly: at most
//! `decimals` fractional digits, no sign, no exponent, no separators.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The default number of decimals of the native token.
pub const DEFAULT_DECIMALS: u8 = 8;
/// The largest number of decimals a chain may choose (10^30 still leaves 10^8 whole tokens in a u128).
pub const MAX_DECIMALS: u8 = 30;

/// An amount of the native token in base units.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(pub u128);

/// Why a piece of text is not an amount.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AmountError {
    /// Empty input.
    #[error("an amount cannot be empty")]
    Empty,
    /// A character other than digits and one decimal point.
    #[error("an amount is digits with at most one decimal point (like 12.5); found {0:?}")]
    InvalidCharacter(char),
    /// More fractional digits than the token has decimals.
    #[error(
        "the token has {decimals} decimals, so at most {decimals} digits may follow the point; found {found}"
    )]
    TooManyDecimals {
        /// The chain's decimals.
        decimals: u8,
        /// The number of fractional digits given.
        found: usize,
    },
    /// The value does not fit in 128 bits of base units.
    #[error("the amount is too large")]
    Overflow,
    /// A base-unit count written with leading zeros (one value, one spelling).
    #[error("base units are written without leading zeros")]
    LeadingZero,
    /// The number of decimals is above [`MAX_DECIMALS`].
    #[error("at most {MAX_DECIMALS} decimals are supported, {0} were asked for")]
    UnsupportedDecimals(u8),
}

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// The amount in base units.
    pub fn base_units(self) -> u128 {
        self.0
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    /// `self - other`, or `None` when `other` is larger.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    /// One whole token in base units for `decimals`.
    pub fn one_token(decimals: u8) -> Result<Amount, AmountError> {
        if decimals > MAX_DECIMALS {
            return Err(AmountError::UnsupportedDecimals(decimals));
        }
        Ok(Amount(10u128.pow(u32::from(decimals))))
    }

    /// Parses token text (`"12.5"`, `"0.00000001"`, `"1000"`) into base units.
    pub fn parse(text: &str, decimals: u8) -> Result<Amount, AmountError> {
        let scale = Self::one_token(decimals)?.0;
        let text = text.trim();
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        let (whole, fraction) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(AmountError::Empty);
        }
        if let Some(bad) = whole
            .chars()
            .chain(fraction.chars())
            .find(|c| !c.is_ascii_digit())
        {
            return Err(AmountError::InvalidCharacter(bad));
        }
        if fraction.len() > usize::from(decimals) {
            return Err(AmountError::TooManyDecimals {
                decimals,
                found: fraction.len(),
            });
        }
        let mut units: u128 = 0;
        for digit in whole.bytes() {
            units = units
                .checked_mul(10)
                .and_then(|u| u.checked_add(u128::from(digit - b'0')))
                .ok_or(AmountError::Overflow)?;
        }
        units = units.checked_mul(scale).ok_or(AmountError::Overflow)?;
        let mut fractional: u128 = 0;
        for digit in fraction.bytes() {
            fractional = fractional * 10 + u128::from(digit - b'0');
        }
        // `fraction.len() <= decimals`, so this power is at most `scale` and cannot overflow.
        let padding = 10u128.pow(u32::from(decimals) - fraction.len() as u32);
        units
            .checked_add(fractional * padding)
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }

    /// Parses an integer count of base units (`"1250000000"`), as carried in protobuf messages.
    pub fn parse_base_units(text: &str) -> Result<Amount, AmountError> {
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        if let Some(bad) = text.chars().find(|c| !c.is_ascii_digit()) {
            return Err(AmountError::InvalidCharacter(bad));
        }
        if text.len() > 1 && text.starts_with('0') {
            return Err(AmountError::LeadingZero);
        }
        text.parse::<u128>()
            .map(Amount)
            .map_err(|_| AmountError::Overflow)
    }

    /// Token text with no trailing zeros: `1250000000` base units at 8 decimals is `"12.5"`.
    pub fn display(self, decimals: u8) -> String {
        let decimals = decimals.min(MAX_DECIMALS);
        let scale = 10u128.pow(u32::from(decimals));
        let whole = self.0 / scale;
        let fraction = self.0 % scale;
        if fraction == 0 {
            return whole.to_string();
        }
        let digits = format!("{fraction:0width$}", width = usize::from(decimals));
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl fmt::Display for Amount {
    /// Base units; use [`Amount::display`] for token text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({})", self.0)
    }
}

/// Amounts travel in JSON as strings of base units: a u128 does not fit a JSON number safely.
impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Amount::parse_base_units(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn twelve_and_a_half_tokens_are_exact() {
        assert_eq!(Amount::parse("12.5", 8), Ok(Amount(1_250_000_000)));
        assert_eq!(Amount(1_250_000_000).display(8), "12.5");
        assert_eq!(Amount::parse("0.00000001", 8), Ok(Amount(1)));
        assert_eq!(Amount(1).display(8), "0.00000001");
        assert_eq!(Amount::parse(".5", 8), Ok(Amount(50_000_000)));
        assert_eq!(Amount::parse("7.", 8), Ok(Amount(700_000_000)));
        assert_eq!(Amount::parse("42", 0), Ok(Amount(42)));
    }

    #[test]
    fn malformed_amounts_say_what_is_wrong() {
        assert_eq!(Amount::parse("", 8), Err(AmountError::Empty));
        assert_eq!(Amount::parse(".", 8), Err(AmountError::Empty));
        assert_eq!(
            Amount::parse("-1", 8),
            Err(AmountError::InvalidCharacter('-'))
        );
        assert_eq!(
            Amount::parse("1e5", 8),
            Err(AmountError::InvalidCharacter('e'))
        );
        assert_eq!(
            Amount::parse("1.2.3", 8),
            Err(AmountError::InvalidCharacter('.'))
        );
        assert_eq!(
            Amount::parse("0.000000001", 8),
            Err(AmountError::TooManyDecimals {
                decimals: 8,
                found: 9
            })
        );
        assert_eq!(
            Amount::parse(&"9".repeat(40), 8),
            Err(AmountError::Overflow)
        );
        assert_eq!(
            Amount::parse("1", 31),
            Err(AmountError::UnsupportedDecimals(31))
        );
        assert_eq!(
            Amount::parse_base_units("0012"),
            Err(AmountError::LeadingZero)
        );
        assert_eq!(Amount::parse_base_units("0"), Ok(Amount(0)));
        assert_eq!(
            Amount::parse_base_units("12.5"),
            Err(AmountError::InvalidCharacter('.'))
        );
    }

    proptest! {
        #[test]
        fn every_amount_prints_and_parses_back(units in any::<u128>(), decimals in 0u8..=30) {
            let text = Amount(units).display(decimals);
            prop_assert_eq!(Amount::parse(&text, decimals), Ok(Amount(units)));
        }
    }
}
