//! Byte sizes written for people: `10GiB`, `512MiB`, `1.5GB`, `4096`.
//!
//! Binary units (`KiB`, `MiB`, `GiB`, `TiB`) are powers of 1024, decimal ones (`KB`, `MB`,
//! `GB`, `TB`) powers of 1000; a bare number or `B` is bytes. Case is ignored and a space may
//! separate the number from its unit. Fractions are allowed with up to 9 decimals and round down
//! to whole bytes. Integers only: no float rounding surprises.

/// Why a size could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// Nothing was given.
    #[error("empty size: write e.g. 10GiB, 512MiB or 4096")]
    Empty,
    /// The number part is not a number.
    #[error("{0:?} is not a size: write e.g. 10GiB, 512MiB, 1.5GB or 4096")]
    NotANumber(String),
    /// The unit is unknown.
    #[error("unknown unit {0:?}: use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB")]
    UnknownUnit(String),
    /// The size does not fit in 64 bits.
    #[error("{0:?} is too large")]
    TooLarge(String),
}

/// Parses a size such as `10GiB` into bytes.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(SizeError::Empty);
    }
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "tib" | "t" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => return Err(SizeError::UnknownUnit(other.to_string())),
    };
    let not_a_number = || SizeError::NotANumber(trimmed.to_string());
    let too_large = || SizeError::TooLarge(trimmed.to_string());
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (number, ""),
    };
    if whole.is_empty() && fraction.is_empty() {
        return Err(not_a_number());
    }
    if fraction.len() > 9 || fraction.contains('.') {
        return Err(not_a_number());
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| not_a_number())?
    };
    let scale = 10u128.pow(fraction.len() as u32);
    let fraction: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| not_a_number())?
    };
    let multiplier = u128::from(multiplier);
    let bytes = whole
        .checked_mul(multiplier)
        .and_then(|w| w.checked_add(fraction * multiplier / scale))
        .ok_or_else(too_large)?;
    u64::try_from(bytes).map_err(|_| too_large())
}

/// Formats bytes with a binary unit, e.g. `1.50 GiB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut unit = 0;
    let mut scale: u64 = 1;
    while unit + 1 < UNITS.len() && bytes / scale >= 1024 {
        scale *= 1024;
        unit += 1;
    }
    if unit == 0 {
        return format!("{bytes} B");
    }
    let hundredths = u128::from(bytes) * 100 / u128::from(scale);
    format!(
        "{}.{:02} {}",
        hundredths / 100,
        hundredths % 100,
        UNITS[unit]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_binary_and_decimal_units() {
        assert_eq!(parse_size("10GiB"), Ok(10 << 30));
        assert_eq!(parse_size("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("0.5KiB"), Ok(512));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("7b"), Ok(7));
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        assert_eq!(parse_size(""), Err(SizeError::Empty));
        assert!(matches!(parse_size("ten"), Err(SizeError::UnknownUnit(_))));
        assert!(matches!(parse_size("10XB"), Err(SizeError::UnknownUnit(_))));
        assert!(matches!(
            parse_size("1.2.3G"),
            Err(SizeError::NotANumber(_))
        ));
        assert!(matches!(parse_size("."), Err(SizeError::NotANumber(_))));
        assert!(matches!(
            parse_size("99999999999TiB"),
            Err(SizeError::TooLarge(_))
        ));
    }

    #[test]
    fn sizes_print_with_binary_units() {
        assert_eq!(format_size(512), "512 B");
        assert_eq!(format_size(1536 << 20), "1.50 GiB");
    }
}
