//! A token bucket that limits the bytes a provider serves and accepts per second.
//!
//! The bucket holds up to `burst` bytes of credit and refills at `rate` bytes per second. A
//! request of `n` bytes is admitted while the credit is positive and takes `n` from it, which may
//! drive the credit negative (a piece larger than the burst must still be able to pass); the next
//! request then waits until the refill brings the credit back above zero. The wait is what the
//! server sends as `Retry-After`. Over any window the admitted bytes stay within
//! `burst + rate · window + one request`.
//!
//! The clock is passed in (`now`), so tests drive it by hand.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bytes-per-second limiter shared by a provider's requests.
#[derive(Debug)]
pub struct TokenBucket {
    rate: u64,
    burst: u64,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    /// Credit in bytes (negative: in debt).
    credit: i128,
    last: Instant,
}

impl TokenBucket {
    /// A bucket refilling `rate` bytes per second up to `burst`, starting full. A rate of zero
    /// means unlimited.
    pub fn new(rate: u64, burst: u64, now: Instant) -> TokenBucket {
        TokenBucket {
            rate,
            burst,
            state: Mutex::new(BucketState {
                credit: i128::from(burst),
                last: now,
            }),
        }
    }

    /// The refill rate (bytes per second; 0 = unlimited).
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Admits a request of `bytes`, or says how long to wait before asking again.
    pub fn try_take(&self, bytes: u64, now: Instant) -> Result<(), Duration> {
        if self.rate == 0 {
            return Ok(());
        }
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let elapsed = now.saturating_duration_since(state.last);
        let refill = elapsed.as_nanos() * u128::from(self.rate) / 1_000_000_000;
        state.credit = (state.credit + i128::try_from(refill).unwrap_or(i128::MAX))
            .min(i128::from(self.burst));
        state.last = now;
        if state.credit > 0 {
            state.credit -= i128::from(bytes);
            return Ok(());
        }
        // Time until the credit is positive again.
        let debt = u128::try_from(-state.credit).unwrap_or(0) + 1;
        let nanos = debt * 1_000_000_000 / u128::from(self.rate);
        Err(Duration::from_nanos(
            u64::try_from(nanos).unwrap_or(u64::MAX),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_admits_a_burst_then_paces_to_its_rate() {
        let start = Instant::now();
        let bucket = TokenBucket::new(1000, 1000, start);
        assert!(bucket.try_take(600, start).is_ok());
        assert!(bucket.try_take(600, start).is_ok()); // goes 200 into debt
        let wait = bucket.try_take(1, start).unwrap_err();
        assert!(wait > Duration::from_millis(200) && wait <= Duration::from_millis(202));
        assert!(bucket.try_take(1, start + wait).is_ok());
    }

    #[test]
    fn a_request_larger_than_the_burst_still_passes_once() {
        let start = Instant::now();
        let bucket = TokenBucket::new(100, 10, start);
        assert!(bucket.try_take(1000, start).is_ok());
        assert!(bucket.try_take(1, start + Duration::from_secs(5)).is_err());
        assert!(bucket.try_take(1, start + Duration::from_secs(11)).is_ok());
    }

    #[test]
    fn rate_zero_is_unlimited() {
        let start = Instant::now();
        let bucket = TokenBucket::new(0, 0, start);
        for _ in 0..10 {
            assert!(bucket.try_take(u64::MAX, start).is_ok());
        }
    }
}
