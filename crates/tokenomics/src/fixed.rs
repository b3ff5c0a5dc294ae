//! Deterministic integer fixed-point arithmetic.
//!
//! Every number that can decide a payout is an integer here. Floating point is avoided not because
//! `f64` is imprecise but because it is not reproducible across machines and compilers (fused
//! multiply-add, x87 extended precision, and libm implementations of `exp`/`ln` that differ in the
//! last bit). A validator that computes one base unit more than another forks the chain.
//!
//! Two scales are used:
//!
//! * [`Fixed`]: an unsigned number with 18 decimal places stored in a `u128` (`1.0` is `10^18`).
//!   It is the public type for multipliers, units and rates. Range `0 ..= 3.4·10^20`.
//! * An internal "high precision" scale of 36 decimal places (`10^36`, range `0 ..= 340`), used only
//!   inside [`exp_neg`], [`ln`] and the emission curves, so that after converting back to 18
//!   decimals (or multiplying a token supply of up to `10^30` base units) the rounding error of the
//!   transcendental functions is far below one base unit.
//!
//! Products of two `u128` are taken in 256 bits ([`mul_div_floor`]), so `a·b/d` is exact (floored)
//! whenever the final result fits in a `u128`.
//!
//! # Accuracy of the transcendental functions
//!
//! * `e^(−x)` reduces `x = k·ln 2 + r` with `0 ≤ r < ln 2`, sums the Taylor series of `e^(−r)` at
//!   `10^−36` resolution until its terms vanish (at most ~35 terms), then shifts right by `k`.
//!   The absolute error before the final conversion is below `(k + 40)·10^−36`, i.e. below `2·10^−34`
//!   for every argument; [`exp_neg`] then floors to 18 decimals, so its result is within one unit in
//!   the last place (`10^−18`) of the true value, and never above it by more than `10^−34`.
//! * `ln(y)` for `y ≥ 1` normalises `y = 2^e · m` with `m` within a factor two of one, and sums the
//!   series `ln m = 2·atanh((m−1)/(m+1))` (at most ~40 terms, `|z| ≤ 1/3`). The absolute error is
//!   below `(e + 45)·10^−36` before the conversion; [`ln`] is within one unit in the last place.
//!
//! All loops are bounded and every operation is integer, so the results are bit-identical on every
//! machine.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `1.0` in [`Fixed`]'s representation (18 decimal places).
pub const FIXED_SCALE: u128 = 1_000_000_000_000_000_000;

/// `1.0` at the internal high-precision scale (36 decimal places).
pub(crate) const HP: u128 = FIXED_SCALE * FIXED_SCALE;

/// `ln 2` at 36 decimal places (0.693147180559945309417232121458176568…), truncated.
pub(crate) const LN2_HP: u128 = 693_147_180_559_945_309_417_232_121_458_176_568;

/// Mask of the low 64 bits of a `u128`.
const LOW_64: u128 = u64::MAX as u128;

/// An unsigned fixed-point number with 18 decimal places, stored as a `u128`.
///
/// Arithmetic rounds toward zero (down) and reports overflow instead of wrapping. It serialises
/// as a decimal string (`"0.999"`), so genesis files and scenario TOML stay readable and exact;
/// it also deserialises from an integer (`3` means `3.0`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fixed(u128);

impl Fixed {
    /// Zero.
    pub const ZERO: Fixed = Fixed(0);
    /// One.
    pub const ONE: Fixed = Fixed(FIXED_SCALE);

    /// A value from its raw representation (`raw / 10^18`).
    pub const fn from_raw(raw: u128) -> Fixed {
        Fixed(raw)
    }

    /// The raw representation (`self · 10^18`).
    pub const fn raw(self) -> u128 {
        self.0
    }

    /// A whole number, or `None` if it exceeds the range (about `3.4·10^20`).
    pub const fn from_integer(value: u128) -> Option<Fixed> {
        match value.checked_mul(FIXED_SCALE) {
            Some(raw) => Some(Fixed(raw)),
            None => None,
        }
    }

    /// `numerator / denominator`, rounded down; `None` if the denominator is zero or the result
    /// is out of range.
    pub fn from_ratio(numerator: u128, denominator: u128) -> Option<Fixed> {
        mul_div_floor(numerator, FIXED_SCALE, denominator).map(Fixed)
    }

    /// A value given in basis points (`10_000` is `1.0`).
    pub const fn from_bps(bps: u32) -> Fixed {
        Fixed(bps as u128 * (FIXED_SCALE / 10_000))
    }

    /// Whether the value is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self · other`, rounded down; `None` on overflow.
    pub fn checked_mul(self, other: Fixed) -> Option<Fixed> {
        mul_div_floor(self.0, other.0, FIXED_SCALE).map(Fixed)
    }

    /// `self / other`, rounded down; `None` on overflow or division by zero.
    pub fn checked_div(self, other: Fixed) -> Option<Fixed> {
        mul_div_floor(self.0, FIXED_SCALE, other.0).map(Fixed)
    }

    /// `self + other`; `None` on overflow.
    pub const fn checked_add(self, other: Fixed) -> Option<Fixed> {
        match self.0.checked_add(other.0) {
            Some(raw) => Some(Fixed(raw)),
            None => None,
        }
    }

    /// `self − other`, or zero if `other` is larger.
    pub const fn saturating_sub(self, other: Fixed) -> Fixed {
        Fixed(self.0.saturating_sub(other.0))
    }

    /// `self + other`, or the largest value on overflow.
    pub const fn saturating_add(self, other: Fixed) -> Fixed {
        Fixed(self.0.saturating_add(other.0))
    }

    /// `amount · self` for an integer amount (e.g. base units), rounded down; `None` on overflow.
    pub fn mul_amount(self, amount: u128) -> Option<u128> {
        mul_div_floor(amount, self.0, FIXED_SCALE)
    }

    /// `self^exponent` by repeated multiplication, each step rounded down; `None` on overflow.
    /// Linear in `exponent`: meant for the small exponents of reward formulas.
    pub fn checked_pow(self, exponent: u32) -> Option<Fixed> {
        let mut result = Fixed::ONE;
        for _ in 0..exponent {
            result = result.checked_mul(self)?;
        }
        Some(result)
    }
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / FIXED_SCALE;
        let fraction = self.0 % FIXED_SCALE;
        if fraction == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{fraction:018}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// Why a string is not a [`Fixed`] number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseFixedError {
    /// The string is empty or has characters other than digits and one decimal point.
    #[error("not a decimal number: {0:?}")]
    NotADecimal(String),
    /// More than 18 digits after the decimal point (the value would be rounded silently).
    #[error("more than 18 decimal places: {0:?}")]
    TooManyDecimals(String),
    /// The value exceeds the range of [`Fixed`].
    #[error("out of range: {0:?}")]
    OutOfRange(String),
}

impl FromStr for Fixed {
    type Err = ParseFixedError;

    fn from_str(text: &str) -> Result<Fixed, ParseFixedError> {
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (text, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(ParseFixedError::NotADecimal(text.to_owned()));
        }
        if fraction.len() > 18 {
            return Err(ParseFixedError::TooManyDecimals(text.to_owned()));
        }
        let out_of_range = || ParseFixedError::OutOfRange(text.to_owned());
        let whole: u128 = whole.parse().map_err(|_| out_of_range())?;
        let mut fraction_raw: u128 = 0;
        for digit in fraction.bytes() {
            fraction_raw = fraction_raw * 10 + u128::from(digit - b'0');
        }
        // `fraction.len() <= 18`, so this power is at most 10^18.
        fraction_raw *= 10u128.pow(18 - fraction.len() as u32);
        Fixed::from_integer(whole)
            .and_then(|w| w.checked_add(Fixed(fraction_raw)))
            .ok_or_else(out_of_range)
    }
}

impl Serialize for Fixed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fixed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Fixed, D::Error> {
        struct FixedVisitor;
        impl serde::de::Visitor<'_> for FixedVisitor {
            type Value = Fixed;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative decimal number as a string, or an integer")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Fixed, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Fixed, E> {
                Fixed::from_integer(u128::from(v)).ok_or_else(|| E::custom("out of range"))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Fixed, E> {
                let v = u64::try_from(v).map_err(|_| E::custom("negative value"))?;
                self.visit_u64(v)
            }
        }
        deserializer.deserialize_any(FixedVisitor)
    }
}

/// `⌊a · b / divisor⌋` computed with a 256-bit intermediate product.
///
/// Returns `None` when `divisor` is zero or the quotient does not fit in a `u128`.
pub fn mul_div_floor(a: u128, b: u128, divisor: u128) -> Option<u128> {
    if divisor == 0 {
        return None;
    }
    if let Some(product) = a.checked_mul(b) {
        return Some(product / divisor);
    }
    let (high, low) = wide_mul(a, b);
    wide_div(high, low, divisor)
}

/// The full 256-bit product of two `u128`, as (high, low) halves.
fn wide_mul(a: u128, b: u128) -> (u128, u128) {
    let (a_high, a_low) = (a >> 64, a & LOW_64);
    let (b_high, b_low) = (b >> 64, b & LOW_64);
    let low_low = a_low * b_low;
    let low_high = a_low * b_high;
    let high_low = a_high * b_low;
    let high_high = a_high * b_high;
    // Each addend is below 2^64, so the sum is below 3·2^64: no overflow.
    let middle = (low_low >> 64) + (low_high & LOW_64) + (high_low & LOW_64);
    let low = (low_low & LOW_64) | (middle << 64);
    let high = high_high + (low_high >> 64) + (high_low >> 64) + (middle >> 64);
    (high, low)
}

/// `⌊(high·2^128 + low) / divisor⌋`, or `None` if it does not fit in a `u128`.
fn wide_div(high: u128, low: u128, divisor: u128) -> Option<u128> {
    if high >= divisor {
        return None;
    }
    if high == 0 {
        return Some(low / divisor);
    }
    if divisor <= LOW_64 {
        // Two steps of schoolbook division with 64-bit digits; each partial dividend fits.
        let upper = (high << 64) | (low >> 64);
        let (quotient_high, remainder) = (upper / divisor, upper % divisor);
        let lower = (remainder << 64) | (low & LOW_64);
        return Some((quotient_high << 64) | (lower / divisor));
    }
    // A divisor of more than 64 bits: schoolbook division in 64-bit digits (Knuth's algorithm
    // D). Normalise so the divisor's top bit is set; the quotient has two 64-bit digits, each
    // estimated from the top digits and corrected down (at most twice) against the full product.
    let shift = divisor.leading_zeros();
    let divisor = divisor << shift;
    let (high, low) = if shift == 0 {
        (high, low)
    } else {
        ((high << shift) | (low >> (128 - shift)), low << shift)
    };
    // high < divisor still holds, so each step's partial dividend (remainder ‖ next digit) is
    // below divisor · 2^64 and its quotient digit fits in 64 bits.
    let (quotient_high, remainder) = divide_digit(high, (low >> 64) as u64, divisor);
    let (quotient_low, _) = divide_digit(remainder, low as u64, divisor);
    Some((u128::from(quotient_high) << 64) | u128::from(quotient_low))
}

/// `⌊(upper·2^64 + digit) / divisor⌋` and the remainder, for a divisor with its top bit set and
/// `upper < divisor` (so the quotient fits in 64 bits).
fn divide_digit(upper: u128, digit: u64, divisor: u128) -> (u64, u128) {
    let divisor_top = divisor >> 64;
    // The estimate from the top digits is never below the true digit, and at most 2 above.
    let mut estimate = (upper / divisor_top).min(LOW_64);
    // The partial dividend as 256 bits: (upper >> 64, upper << 64 | digit).
    let dividend = (upper >> 64, (upper << 64) | u128::from(digit));
    let mut product = wide_mul(estimate, divisor);
    while product > dividend {
        estimate -= 1;
        product = if product.1 >= divisor {
            (product.0, product.1 - divisor)
        } else {
            (product.0 - 1, product.1.wrapping_sub(divisor))
        };
    }
    // The difference is below the divisor, so only its low half is non-zero.
    let remainder = dividend.1.wrapping_sub(product.1);
    (estimate as u64, remainder)
}

/// A 256-bit unsigned integer, just enough for the arguments of logarithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct U256 {
    high: u128,
    low: u128,
}

impl U256 {
    /// The full product of two `u128`.
    pub(crate) fn product(a: u128, b: u128) -> U256 {
        let (high, low) = wide_mul(a, b);
        U256 { high, low }
    }

    /// A `u128` widened.
    pub(crate) const fn from_u128(value: u128) -> U256 {
        U256 {
            high: 0,
            low: value,
        }
    }

    /// `self + other`, or `None` on overflow.
    pub(crate) fn checked_add(self, other: U256) -> Option<U256> {
        let (low, carry) = self.low.overflowing_add(other.low);
        let high = self
            .high
            .checked_add(other.high)?
            .checked_add(u128::from(carry))?;
        Some(U256 { high, low })
    }

    /// Number of significant bits (0 for zero).
    fn bits(self) -> u32 {
        if self.high != 0 {
            256 - self.high.leading_zeros()
        } else {
            128 - self.low.leading_zeros()
        }
    }

    /// `(mantissa, exponent)` with `self ≈ mantissa · 2^exponent` and the mantissa in
    /// `[2^126, 2^127)`; truncation loses less than `2^−126` relatively. `None` for zero.
    fn normalized(self) -> Option<(u128, i32)> {
        let bits = self.bits();
        if bits == 0 {
            return None;
        }
        let exponent = bits as i32 - 127;
        let mantissa = if exponent <= 0 {
            // Fits in the low half: `bits <= 127`.
            self.low << (-exponent) as u32
        } else {
            let shift = exponent as u32;
            if shift >= 128 {
                self.high >> (shift - 128)
            } else {
                (self.high << (128 - shift)) | (self.low >> shift)
            }
        };
        Some((mantissa, exponent))
    }
}

/// `e^(−x)` at 36 decimal places, for `x` at 36 decimal places. See the module docs for accuracy.
pub(crate) fn exp_neg_hp(x: u128) -> u128 {
    let halvings = x / LN2_HP;
    // e^(−x) < 2^−121 < 10^−36 from here on: it rounds to zero at this scale.
    if halvings >= 121 {
        return 0;
    }
    let reduced = x - halvings * LN2_HP;
    // e^(−r) = Σ (−r)^n / n!, with even terms added and odd terms subtracted.
    let mut term = HP;
    let mut even_sum = HP;
    let mut odd_sum = 0u128;
    let mut n: u128 = 1;
    while n <= 64 {
        // term_n = term_{n−1} · r / n; `HP · 64` fits in a u128 and the result is below HP.
        term = mul_div_floor(term, reduced, HP * n).unwrap_or(0);
        if term == 0 {
            break;
        }
        if n.is_multiple_of(2) {
            even_sum += term;
        } else {
            odd_sum += term;
        }
        n += 1;
    }
    // The alternating series with r < 1 keeps e^(−r) ≥ 1/2, so even_sum > odd_sum.
    even_sum.saturating_sub(odd_sum) >> halvings
}

/// `e^x` at 36 decimal places split as `(mantissa, doublings)`: `e^x = mantissa · 2^doublings`,
/// with the mantissa `e^r` in `[1, 2)`.
pub(crate) fn exp_split_hp(x: u128) -> (u128, u128) {
    let doublings = x / LN2_HP;
    let reduced = x - doublings * LN2_HP;
    let mut term = HP;
    let mut sum = HP;
    let mut n: u128 = 1;
    while n <= 64 {
        term = mul_div_floor(term, reduced, HP * n).unwrap_or(0);
        if term == 0 {
            break;
        }
        sum += term;
        n += 1;
    }
    (sum, doublings)
}

/// `ln(y)` at 36 decimal places for `y` in `[1/2, 2]` at 36 decimal places, as
/// `(is_negative, magnitude)`.
fn ln_near_one_hp(y: u128) -> (bool, u128) {
    let (negative, distance) = if y >= HP {
        (false, y - HP)
    } else {
        (true, HP - y)
    };
    // z = |y − 1| / (y + 1) ≤ 1/3; ln y = ±2·(z + z³/3 + z⁵/5 + …).
    let z = mul_div_floor(distance, HP, y + HP).unwrap_or(0);
    let z_squared = mul_div_floor(z, z, HP).unwrap_or(0);
    let mut power = z;
    let mut sum = 0u128;
    let mut odd: u128 = 1;
    while power != 0 && odd < 200 {
        sum += power / odd;
        power = mul_div_floor(power, z_squared, HP).unwrap_or(0);
        odd += 2;
    }
    (negative, 2 * sum)
}

/// `ln(numerator / denominator)` at 36 decimal places, for a ratio of at least one.
///
/// Returns `None` if the ratio is below one, either side is zero, or the result exceeds the
/// high-precision range (it cannot: `ln 2^256 ≈ 177.4 < 340`).
pub(crate) fn ln_ratio_hp(numerator: U256, denominator: U256) -> Option<u128> {
    let (numerator_mantissa, numerator_exponent) = numerator.normalized()?;
    let (denominator_mantissa, denominator_exponent) = denominator.normalized()?;
    // Mantissas are both in [2^126, 2^127): their ratio is in (1/2, 2).
    let mantissa_ratio = mul_div_floor(numerator_mantissa, HP, denominator_mantissa)?;
    let (negative, mantissa_ln) = ln_near_one_hp(mantissa_ratio);
    let exponent = numerator_exponent - denominator_exponent;
    if exponent < 0 {
        // A ratio below one (exponent −1 and a mantissa ratio ≥ 1 can still be ≥ 1).
        let base = LN2_HP * u128::from(exponent.unsigned_abs());
        return if negative {
            None
        } else {
            mantissa_ln.checked_sub(base)
        };
    }
    let base = LN2_HP.checked_mul(u128::from(exponent.unsigned_abs()))?;
    if negative {
        base.checked_sub(mantissa_ln)
    } else {
        base.checked_add(mantissa_ln)
    }
}

/// `e^(−x)`, accurate to one unit in the last place (see the module docs).
pub fn exp_neg(x: Fixed) -> Fixed {
    match x.raw().checked_mul(FIXED_SCALE) {
        Some(x_hp) => Fixed(exp_neg_hp(x_hp) / FIXED_SCALE),
        // x > 3.4·10^20: e^(−x) is far below 10^−18.
        None => Fixed::ZERO,
    }
}

/// `ln(x)` for `x ≥ 1`, accurate to one unit in the last place; `None` for `x < 1`.
pub fn ln(x: Fixed) -> Option<Fixed> {
    let ln_hp = ln_ratio_hp(U256::from_u128(x.raw()), U256::from_u128(FIXED_SCALE))?;
    Some(Fixed(ln_hp / FIXED_SCALE))
}

#[cfg(test)]
mod tests {

    /// The restoring binary long division `wide_div` used before: slow, obviously right.
    fn wide_div_reference(high: u128, low: u128, divisor: u128) -> Option<u128> {
        if divisor == 0 || high >= divisor {
            return None;
        }
        let mut remainder = high;
        let mut quotient = 0u128;
        for bit in (0..128).rev() {
            let carry = remainder >> 127;
            remainder = (remainder << 1) | ((low >> bit) & 1);
            quotient <<= 1;
            if carry == 1 || remainder >= divisor {
                remainder = remainder.wrapping_sub(divisor);
                quotient |= 1;
            }
        }
        Some(quotient)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        #[test]
        fn wide_division_agrees_with_long_division(
            a in proptest::prelude::any::<u128>(),
            b in proptest::prelude::any::<u128>(),
            divisor in proptest::prelude::any::<u128>(),
            shift in 0u32..128,
        ) {
            let (high, low) = wide_mul(a, b);
            for divisor in [divisor, divisor >> shift, (divisor >> shift) | (1 << 64), u128::MAX] {
                if divisor == 0 {
                    continue;
                }
                proptest::prop_assert_eq!(wide_div(high, low, divisor), wide_div_reference(high, low, divisor));
                let small_high = high % divisor;
                proptest::prop_assert_eq!(
                    wide_div(small_high, low, divisor),
                    wide_div_reference(small_high, low, divisor)
                );
            }
        }
    }
    use super::*;
    use proptest::prelude::*;

    /// e^−1 to 36 decimal places: 0.367879441171442321595523770161460867…
    const E_INV_HP: u128 = 367_879_441_171_442_321_595_523_770_161_460_867;

    fn fixed(text: &str) -> Fixed {
        text.parse().unwrap()
    }

    #[test]
    fn exp_of_minus_one_matches_the_known_digits() {
        let computed = exp_neg_hp(HP);
        assert!(computed.abs_diff(E_INV_HP) < 100, "{computed}");
        assert_eq!(exp_neg(Fixed::ONE), fixed("0.367879441171442321"));
    }

    #[test]
    fn exp_of_minus_ln_two_is_one_half() {
        assert!(exp_neg_hp(LN2_HP).abs_diff(HP / 2) < 100);
        assert!(exp_neg_hp(6 * LN2_HP).abs_diff(HP / 64) < 100);
    }

    #[test]
    fn exp_of_zero_is_one_and_of_large_arguments_is_zero() {
        assert_eq!(exp_neg(Fixed::ZERO), Fixed::ONE);
        assert_eq!(exp_neg(Fixed::from_integer(100).unwrap()), Fixed::ZERO);
        assert_eq!(exp_neg(Fixed::from_raw(u128::MAX)), Fixed::ZERO);
    }

    #[test]
    fn ln_of_two_and_of_e_match_the_known_digits() {
        let two = U256::from_u128(2);
        let one = U256::from_u128(1);
        assert!(ln_ratio_hp(two, one).unwrap().abs_diff(LN2_HP) < 100);
        assert_eq!(
            ln(Fixed::from_integer(2).unwrap()).unwrap(),
            fixed("0.693147180559945309")
        );
        // ln(10) = 2.302585092994045684017991454684364207…
        assert_eq!(
            ln(Fixed::from_integer(10).unwrap()).unwrap(),
            fixed("2.302585092994045684")
        );
        assert_eq!(ln(Fixed::ONE), Some(Fixed::ZERO));
        assert_eq!(ln(fixed("0.5")), None);
    }

    #[test]
    fn ln_of_a_huge_ratio_uses_the_binary_exponent() {
        // ln(2^200) = 200·ln 2.
        let numerator = U256 {
            high: 1 << 72,
            low: 0,
        };
        let computed = ln_ratio_hp(numerator, U256::from_u128(1)).unwrap();
        assert!(computed.abs_diff(200 * LN2_HP) < 1_000);
    }

    #[test]
    fn mul_div_handles_products_beyond_128_bits() {
        let a = u128::MAX / 3;
        assert_eq!(mul_div_floor(a, 6, 2), Some(a * 3));
        assert_eq!(
            mul_div_floor(u128::MAX, u128::MAX, u128::MAX),
            Some(u128::MAX)
        );
        assert_eq!(mul_div_floor(u128::MAX, 2, 1), None);
        assert_eq!(mul_div_floor(1, 1, 0), None);
        // A divisor above 2^64 takes the bitwise path.
        let big = (1u128 << 100) + 12_345;
        assert_eq!(mul_div_floor(big, big, big), Some(big));
    }

    #[test]
    fn fixed_round_trips_through_its_decimal_string() {
        for text in ["0", "1", "0.999", "1000", "0.000000000000000001", "12.5"] {
            assert_eq!(fixed(text).to_string(), text);
        }
        assert!("1.0000000000000000001".parse::<Fixed>().is_err());
        assert!("-1".parse::<Fixed>().is_err());
        assert!(".5".parse::<Fixed>().is_err());
        let json = serde_json::to_string(&fixed("0.96")).unwrap();
        assert_eq!(json, "\"0.96\"");
        assert_eq!(serde_json::from_str::<Fixed>("3").unwrap(), fixed("3"));
    }

    proptest! {
        #[test]
        fn mul_div_agrees_with_exact_arithmetic_when_it_fits(a in any::<u64>(), b in any::<u64>(), d in 1u128..) {
            let exact = u128::from(a) * u128::from(b) / d;
            prop_assert_eq!(mul_div_floor(u128::from(a), u128::from(b), d), Some(exact));
        }

        #[test]
        fn mul_div_is_consistent_with_its_remainder(a in any::<u128>(), b in any::<u128>(), d in 1u128..) {
            // q = ⌊ab/d⌋ means q·d ≤ ab < (q+1)·d, checked in 256 bits.
            if let Some(q) = mul_div_floor(a, b, d) {
                let product = U256::product(a, b);
                let lower = U256::product(q, d);
                prop_assert!((lower.high, lower.low) <= (product.high, product.low));
                let upper = U256::product(q, d).checked_add(U256::from_u128(d)).unwrap();
                prop_assert!((upper.high, upper.low) > (product.high, product.low));
            }
        }

        #[test]
        fn exp_neg_never_increases(x in 0u128..50 * FIXED_SCALE, step in 1u128..FIXED_SCALE) {
            prop_assert!(exp_neg(Fixed::from_raw(x + step)) <= exp_neg(Fixed::from_raw(x)));
        }

        #[test]
        fn exp_neg_agrees_with_f64_to_fifteen_digits(x in 0u128..40 * FIXED_SCALE) {
            let expected = (-(x as f64) / 1e18).exp();
            let computed = exp_neg(Fixed::from_raw(x)).raw() as f64 / 1e18;
            // One unit in the last place (10^−18) plus f64's own rounding.
            prop_assert!((computed - expected).abs() <= 1e-15 * expected + 2e-18);
        }

        #[test]
        fn ln_inverts_exp(x in 0u128..30 * FIXED_SCALE) {
            let hp = x * FIXED_SCALE;
            let (mantissa, doublings) = exp_split_hp(hp);
            // ln(mantissa · 2^doublings) == x, up to the series' rounding.
            let ln_value = ln_ratio_hp(U256::from_u128(mantissa), U256::from_u128(HP)).unwrap()
                + doublings * LN2_HP;
            prop_assert!(ln_value.abs_diff(hp) < 10_000);
        }
    }
}
