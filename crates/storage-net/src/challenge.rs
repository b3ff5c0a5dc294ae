//! Storage challenges: which chunks a provider must prove in a proving period, derived from chain
//! randomness so that nobody can predict them before the period starts, and how many to ask for.
//!
//! # Derivation (Sia-style)
//!
//! For challenge number `counter` (0, 1, …):
//!
//! ```text
//! h      = BLAKE3-derive-key(CHALLENGE_CONTEXT,
//!              randomness (32 bytes) ‖ deal id (u64 LE) ‖ period (u64 LE) ‖ counter (u64 LE))
//! global = (first 16 bytes of h as u128 LE) mod total chunks of the deal
//! ```
//!
//! `global` indexes the deal's chunks laid end to end, piece after piece, in the order of
//! `chunk_counts`; it maps back to `(piece, chunk)`. Choosing over all chunks (not a piece, then a
//! chunk) samples every chunk with the same probability whatever the piece sizes, which is what
//! the detection odds below assume. Challenges are drawn with replacement. The modulo bias is below
//! `total / 2^128`: nothing. Integers only: the state machine runs this.
//!
//! # Detection odds
//!
//! A provider missing a fraction `f` of the chunks escapes `c` independent challenges with
//! probability `(1 − f)^c` ([`escape_probability`]); [`challenges_for_detection`] gives the least
//! `c` reaching a target detection probability: for `f = 10%`, 29 challenges catch it 95% of the
//! time and 44 challenges 99%. Those two are reporting helpers in `f64`; they decide no money.

/// Key-derivation context of challenge hashes.
pub const CHALLENGE_CONTEXT: &str = "groundwork storage-net 2026 storage challenge";
/// Most challenges derived in one call.
pub const MAX_CHALLENGES: u32 = 10_000;

/// One challenged chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Challenge {
    /// Index of the piece in the deal's list of pieces.
    pub piece: u32,
    /// Index of the chunk in that piece.
    pub chunk: u64,
}

/// Why challenges could not be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// The deal has no chunks to challenge.
    #[error("the deal has no chunks to challenge")]
    NoChunks,
    /// More pieces than a `u32` counts.
    #[error("the deal has more than 2^32 pieces")]
    TooManyPieces,
    /// More challenges than [`MAX_CHALLENGES`] were asked for.
    #[error("{0} challenges asked for, at most {MAX_CHALLENGES}")]
    TooManyChallenges(u32),
}

/// The challenges of proving period `period` of deal `deal_id`, whose pieces have
/// `chunk_counts[i]` chunks each (see [`crate::commitment::chunk_count`]).
pub fn derive_challenges(
    randomness: &[u8; 32],
    deal_id: u64,
    period: u64,
    chunk_counts: &[u64],
    count: u32,
) -> Result<Vec<Challenge>, ChallengeError> {
    if count > MAX_CHALLENGES {
        return Err(ChallengeError::TooManyChallenges(count));
    }
    if u32::try_from(chunk_counts.len()).is_err() {
        return Err(ChallengeError::TooManyPieces);
    }
    // Ends of each piece in the global numbering; u128 cannot overflow (2^32 pieces × 2^64).
    let mut ends = Vec::with_capacity(chunk_counts.len());
    let mut total: u128 = 0;
    for &chunks in chunk_counts {
        total += u128::from(chunks);
        ends.push(total);
    }
    if total == 0 {
        return Err(ChallengeError::NoChunks);
    }
    let mut base = blake3::Hasher::new_derive_key(CHALLENGE_CONTEXT);
    base.update(randomness);
    base.update(&deal_id.to_le_bytes());
    base.update(&period.to_le_bytes());
    let challenges = (0..u64::from(count))
        .map(|counter| {
            let mut hasher = base.clone();
            hasher.update(&counter.to_le_bytes());
            let hash = hasher.finalize();
            let mut first = [0u8; 16];
            first.copy_from_slice(&hash.as_bytes()[..16]);
            let global = u128::from_le_bytes(first) % total;
            // The first piece whose end is past `global`; it exists since global < total.
            let piece = ends.partition_point(|&end| end <= global);
            let start = if piece == 0 { 0 } else { ends[piece - 1] };
            Challenge {
                piece: piece as u32,
                chunk: (global - start) as u64,
            }
        })
        .collect();
    Ok(challenges)
}

/// Probability that a provider missing a fraction `missing_fraction` of the chunks passes
/// `challenges` independent challenges: `(1 − f)^c`. A reporting helper (`f64`).
pub fn escape_probability(missing_fraction: f64, challenges: u32) -> f64 {
    let kept = (1.0 - missing_fraction).clamp(0.0, 1.0);
    kept.powi(i32::try_from(challenges).unwrap_or(i32::MAX))
}

/// Least number of challenges that catch a provider missing `missing_fraction` of the chunks with
/// probability at least `target_detection`; `None` when no number does (nothing missing, or a
/// target of 100% against a partial loss) or it would exceed [`MAX_CHALLENGES`].
/// A reporting helper (`f64`).
pub fn challenges_for_detection(missing_fraction: f64, target_detection: f64) -> Option<u32> {
    if missing_fraction.is_nan() || target_detection.is_nan() || missing_fraction <= 0.0 {
        return None;
    }
    if target_detection <= 0.0 {
        return Some(0);
    }
    if missing_fraction >= 1.0 {
        return Some(1);
    }
    if target_detection >= 1.0 {
        return None;
    }
    let estimate = ((1.0 - target_detection).ln() / (1.0 - missing_fraction).ln()).ceil();
    if !(0.0..=f64::from(MAX_CHALLENGES) + 1.0).contains(&estimate) {
        return None;
    }
    // The logarithms may round either way: settle on the least count that truly reaches it.
    let caught = |count: u32| 1.0 - escape_probability(missing_fraction, count) >= target_detection;
    let mut count = (estimate as u32).saturating_sub(2);
    while !caught(count) {
        count += 1;
        if count > MAX_CHALLENGES {
            return None;
        }
    }
    Some(count)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn ten_percent_missing_needs_29_challenges_for_95_and_44_for_99_percent() {
        assert_eq!(challenges_for_detection(0.10, 0.95), Some(29));
        assert_eq!(challenges_for_detection(0.10, 0.99), Some(44));
        assert!(escape_probability(0.10, 29) <= 0.05);
        assert!(escape_probability(0.10, 28) > 0.05);
    }

    #[test]
    fn impossible_targets_have_no_challenge_count() {
        assert_eq!(challenges_for_detection(0.0, 0.5), None);
        assert_eq!(challenges_for_detection(0.5, 1.0), None);
        assert_eq!(challenges_for_detection(1.0, 1.0), Some(1));
        assert_eq!(challenges_for_detection(0.5, 0.0), Some(0));
        assert_eq!(challenges_for_detection(1e-9, 0.99), None);
    }

    #[test]
    fn challenges_are_deterministic_and_depend_on_every_input() {
        let randomness = [7u8; 32];
        let counts = [100, 3, 50];
        let base = derive_challenges(&randomness, 1, 2, &counts, 20).unwrap();
        assert_eq!(
            base,
            derive_challenges(&randomness, 1, 2, &counts, 20).unwrap()
        );
        assert_ne!(
            base,
            derive_challenges(&[8u8; 32], 1, 2, &counts, 20).unwrap()
        );
        assert_ne!(
            base,
            derive_challenges(&randomness, 9, 2, &counts, 20).unwrap()
        );
        assert_ne!(
            base,
            derive_challenges(&randomness, 1, 3, &counts, 20).unwrap()
        );
        // A longer list starts with the shorter one.
        assert_eq!(
            base[..5],
            derive_challenges(&randomness, 1, 2, &counts, 5).unwrap()[..]
        );
    }

    #[test]
    fn a_deal_without_chunks_cannot_be_challenged() {
        assert_eq!(
            derive_challenges(&[0; 32], 1, 1, &[0, 0], 3),
            Err(ChallengeError::NoChunks)
        );
        assert_eq!(
            derive_challenges(&[0; 32], 1, 1, &[1], MAX_CHALLENGES + 1),
            Err(ChallengeError::TooManyChallenges(MAX_CHALLENGES + 1))
        );
    }

    #[test]
    fn chunks_are_sampled_in_proportion_to_piece_size() {
        let challenges = derive_challenges(&[1u8; 32], 42, 0, &[3000, 1000], 4000).unwrap();
        let first = challenges.iter().filter(|c| c.piece == 0).count();
        // Expect 3000 of 4000; four standard deviations is about 110.
        assert!((2890..3110).contains(&first), "{first}");
    }

    proptest! {
        #[test]
        fn every_challenge_names_an_existing_chunk(
            counts in proptest::collection::vec(0u64..1000, 1..20),
            randomness in any::<[u8; 32]>(),
            deal in any::<u64>(),
        ) {
            prop_assume!(counts.iter().any(|&c| c > 0));
            for challenge in derive_challenges(&randomness, deal, 5, &counts, 50).unwrap() {
                prop_assert!(challenge.chunk < counts[challenge.piece as usize]);
            }
        }
    }
}
