//! Pure pricing rules: the oracle median with its freshness rule, and how many credits a burn
//! buys. No state; the module's messages call these with what they read.
//!
//! **Median.** Each oracle's latest submission counts while it is at most `max_price_age_ms`
//! old by block time. With `n` fresh submissions sorted by price, the median is the middle one
//! when `n` is odd and the mean of the two middle ones, rounded down, when `n` is even. Fewer
//! than `min_fresh_prices` fresh submissions: no price, and minting refuses.
//!
//! **Credits for a burn.** `credits = ⌊amount × price / (10^decimals × micro_fiat_per_credit)⌋`
//! where `amount` is in base units and `price` in micro-fiat per whole token. Rounding is down,
//! in the network's favour: what is burned beyond the last whole credit (worth less than one
//! credit, $0.00001 by default) buys nothing.

use groundwork_primitives::{Address, Amount};

/// One oracle's latest price submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceSubmission {
    /// The oracle account.
    pub oracle: Address,
    /// Micro-fiat per whole token.
    pub micro_fiat_per_token: u64,
    /// Height of the block that carried it.
    pub height: u64,
    /// Time of that block, ms.
    pub time_ms: u64,
}

/// The price minting uses now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MedianPrice {
    /// Micro-fiat per whole token.
    pub micro_fiat_per_token: u64,
    /// How many fresh submissions it is the median of.
    pub fresh: usize,
}

/// Why there is no usable price.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// No oracle ever submitted.
    #[error("no oracle price: no oracle has submitted a price yet")]
    NoSubmissions,
    /// Every submission is too old.
    #[error(
        "oracle price is stale: newest submission is {newest_age_ms} ms old, limit {limit_ms} ms"
    )]
    Stale {
        /// Age of the newest submission, ms of block time.
        newest_age_ms: u64,
        /// `max_price_age_ms`.
        limit_ms: u64,
    },
    /// Some are fresh, but fewer than required.
    #[error(
        "oracle price is stale: {fresh} oracle submission(s) are at most {limit_ms} ms old, {required} are required"
    )]
    TooFewFresh {
        /// Fresh submissions.
        fresh: usize,
        /// `min_fresh_prices`.
        required: u32,
        /// `max_price_age_ms`.
        limit_ms: u64,
    },
}

/// The median of the fresh submissions at block time `now_ms` (see the module docs).
pub fn median_price(
    submissions: &[PriceSubmission],
    now_ms: u64,
    max_age_ms: u64,
    min_fresh: u32,
) -> Result<MedianPrice, PriceError> {
    let newest = submissions
        .iter()
        .map(|s| s.time_ms)
        .max()
        .ok_or(PriceError::NoSubmissions)?;
    let mut fresh: Vec<u64> = submissions
        .iter()
        .filter(|s| now_ms.saturating_sub(s.time_ms) <= max_age_ms)
        .map(|s| s.micro_fiat_per_token)
        .collect();
    if fresh.is_empty() {
        return Err(PriceError::Stale {
            newest_age_ms: now_ms.saturating_sub(newest),
            limit_ms: max_age_ms,
        });
    }
    if fresh.len() < min_fresh as usize {
        return Err(PriceError::TooFewFresh {
            fresh: fresh.len(),
            required: min_fresh,
            limit_ms: max_age_ms,
        });
    }
    fresh.sort_unstable();
    let middle = fresh.len() / 2;
    let price = if fresh.len() % 2 == 1 {
        fresh[middle]
    } else {
        // The mean of two u64 values fits a u64; computed in u128 to avoid overflow.
        ((u128::from(fresh[middle - 1]) + u128::from(fresh[middle])) / 2) as u64
    };
    Ok(MedianPrice {
        micro_fiat_per_token: price,
        fresh: fresh.len(),
    })
}

/// Credits bought by burning `amount` base units at `micro_fiat_per_token`, for a token of
/// `decimals` decimals and credits of `micro_fiat_per_credit` each, rounded down. `None` if the
/// product overflows u128 or the result does not fit a u64 credit balance.
pub fn credits_for_burn(
    amount: Amount,
    micro_fiat_per_token: u64,
    decimals: u8,
    micro_fiat_per_credit: u64,
) -> Option<u64> {
    let value = amount.0.checked_mul(u128::from(micro_fiat_per_token))?;
    let per_credit = 10u128
        .checked_pow(u32::from(decimals))?
        .checked_mul(u128::from(micro_fiat_per_credit))?;
    if per_credit == 0 {
        return None;
    }
    u64::try_from(value / per_credit).ok()
}

/// The fewest base units that buy one credit at this price (for error messages), rounded up.
pub fn base_units_per_credit(
    micro_fiat_per_token: u64,
    decimals: u8,
    micro_fiat_per_credit: u64,
) -> Option<u128> {
    let numerator = 10u128
        .checked_pow(u32::from(decimals))?
        .checked_mul(u128::from(micro_fiat_per_credit))?;
    Some(numerator.div_ceil(u128::from(micro_fiat_per_token.max(1))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(oracle: u8, price: u64, time_ms: u64) -> PriceSubmission {
        PriceSubmission {
            oracle: Address([oracle; 20]),
            micro_fiat_per_token: price,
            height: 1,
            time_ms,
        }
    }

    #[test]
    fn the_median_ignores_one_outlier() {
        let prices = [
            submission(1, 1_000_000, 100),
            submission(2, 1_010_000, 100),
            submission(3, 990_000_000, 100),
        ];
        let median = median_price(&prices, 200, 1_000, 1).unwrap();
        assert_eq!(median.micro_fiat_per_token, 1_010_000);
        assert_eq!(median.fresh, 3);
    }

    #[test]
    fn an_even_count_takes_the_mean_of_the_middle_two_rounded_down() {
        let prices = [submission(1, 3, 0), submission(2, 6, 0)];
        assert_eq!(
            median_price(&prices, 0, 10, 1)
                .unwrap()
                .micro_fiat_per_token,
            4
        );
        let extreme = [submission(1, u64::MAX, 0), submission(2, u64::MAX - 1, 0)];
        assert_eq!(
            median_price(&extreme, 0, 10, 1)
                .unwrap()
                .micro_fiat_per_token,
            u64::MAX - 1
        );
    }

    #[test]
    fn stale_and_missing_prices_say_why() {
        assert_eq!(median_price(&[], 0, 10, 1), Err(PriceError::NoSubmissions));
        let old = [submission(1, 5, 100), submission(2, 5, 150)];
        let err = median_price(&old, 1_000, 600, 1).unwrap_err();
        assert_eq!(
            err,
            PriceError::Stale {
                newest_age_ms: 850,
                limit_ms: 600
            }
        );
        assert_eq!(
            err.to_string(),
            "oracle price is stale: newest submission is 850 ms old, limit 600 ms"
        );
        let one_fresh = [submission(1, 5, 100), submission(2, 5, 900)];
        assert!(matches!(
            median_price(&one_fresh, 1_000, 600, 2),
            Err(PriceError::TooFewFresh {
                fresh: 1,
                required: 2,
                ..
            })
        ));
    }

    #[test]
    fn a_submission_exactly_at_the_limit_is_fresh() {
        let prices = [submission(1, 7, 400)];
        assert!(median_price(&prices, 1_000, 600, 1).is_ok());
        assert!(median_price(&prices, 1_001, 600, 1).is_err());
    }

    #[test]
    fn credits_round_down() {
        // 1 token (8 decimals) at $1.50 buys 150,000 credits of $0.00001.
        assert_eq!(
            credits_for_burn(Amount(100_000_000), 1_500_000, 8, 10),
            Some(150_000)
        );
        // One base unit less loses the last credit.
        assert_eq!(
            credits_for_burn(Amount(99_999_999), 1_500_000, 8, 10),
            Some(149_999)
        );
        assert_eq!(credits_for_burn(Amount(1), 1_500_000, 8, 10), Some(0));
        assert_eq!(base_units_per_credit(1_500_000, 8, 10), Some(667));
        assert_eq!(credits_for_burn(Amount(667), 1_500_000, 8, 10), Some(1));
        assert_eq!(credits_for_burn(Amount(666), 1_500_000, 8, 10), Some(0));
        assert_eq!(credits_for_burn(Amount(u128::MAX), 2, 0, 1), None);
    }
}
