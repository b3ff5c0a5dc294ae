//! Choosing providers for a segment's pieces.
//!
//! # The rule
//!
//! A provider is *eligible* for a piece when it answered `GET /v1/info`, takes pieces that large,
//! has room for it after what this placement already gave it, and (when reputations are known)
//! is not disqualified. Eligible providers are ranked by
//!
//! 1. **price**, lowest first — the client pays it;
//! 2. **reputation**, highest first — the audit score (parts per million), neutral when unknown;
//! 3. **free capacity**, most first — spreads load away from filling disks;
//! 4. the URL — a tie-break, so the same inputs always give the same placement.
//!
//! The `n` pieces of a segment go to `n` distinct providers, the best ranked first. A provider
//! that fails an upload is struck off for the rest of the `put`, and its piece goes to the best
//! provider the segment does not use yet.

use std::collections::{BTreeMap, BTreeSet};

use crate::wire::ProviderInfo;

/// Reputation assumed for providers whose score is unknown (parts per million).
pub const NEUTRAL_REPUTATION_PPM: u64 = 500_000;

/// A provider known to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its URL.
    pub url: String,
    /// What it offers.
    pub info: ProviderInfo,
    /// Its price as a number (base units per GiB per period).
    pub price: u128,
    /// Its audit reputation in parts per million.
    pub reputation_ppm: u64,
}

impl Candidate {
    /// A candidate from its `/v1/info` answer, with a neutral reputation; a price that is not a
    /// number ranks last.
    pub fn from_info(url: String, info: ProviderInfo) -> Candidate {
        let price = info.price.parse().unwrap_or(u128::MAX);
        Candidate {
            url,
            info,
            price,
            reputation_ppm: NEUTRAL_REPUTATION_PPM,
        }
    }
}

/// Tracks the space a placement has given each provider and the providers struck off.
#[derive(Debug, Clone)]
pub struct Placer {
    ranked: Vec<Candidate>,
    planned: BTreeMap<String, u64>,
    struck: BTreeSet<String>,
}

impl Placer {
    /// Ranks the candidates (see the module documentation).
    pub fn new(mut candidates: Vec<Candidate>) -> Placer {
        candidates.sort_by(|a, b| {
            a.price
                .cmp(&b.price)
                .then(b.reputation_ppm.cmp(&a.reputation_ppm))
                .then(b.info.free.cmp(&a.info.free))
                .then(a.url.cmp(&b.url))
        });
        candidates.dedup_by(|a, b| a.url == b.url);
        Placer {
            ranked: candidates,
            planned: BTreeMap::new(),
            struck: BTreeSet::new(),
        }
    }

    /// Providers known, best first.
    pub fn ranked(&self) -> &[Candidate] {
        &self.ranked
    }

    /// The best eligible provider for a piece of `piece_len` bytes outside `exclude`; its space
    /// is counted as used.
    pub fn next(&mut self, piece_len: u64, exclude: &BTreeSet<String>) -> Option<Candidate> {
        let chosen = self
            .ranked
            .iter()
            .find(|candidate| {
                let planned = self.planned.get(&candidate.url).copied().unwrap_or(0);
                !exclude.contains(&candidate.url)
                    && !self.struck.contains(&candidate.url)
                    && piece_len <= candidate.info.max_piece_size
                    && planned.saturating_add(piece_len) <= candidate.info.free
            })?
            .clone();
        *self.planned.entry(chosen.url.clone()).or_default() += piece_len;
        Some(chosen)
    }

    /// Chooses `count` distinct providers for pieces of `piece_len` bytes, outside `exclude`.
    pub fn choose(
        &mut self,
        count: usize,
        piece_len: u64,
        exclude: &BTreeSet<String>,
    ) -> Vec<Candidate> {
        let mut taken = exclude.clone();
        let mut chosen = Vec::with_capacity(count);
        while chosen.len() < count {
            let Some(candidate) = self.next(piece_len, &taken) else {
                break;
            };
            taken.insert(candidate.url.clone());
            chosen.push(candidate);
        }
        chosen
    }

    /// Gives back the space counted for a piece that did not go to `url`.
    pub fn unplan(&mut self, url: &str, piece_len: u64) {
        if let Some(planned) = self.planned.get_mut(url) {
            *planned = planned.saturating_sub(piece_len);
        }
    }

    /// Strikes a provider off (it failed an upload).
    pub fn strike(&mut self, url: &str) {
        self.struck.insert(url.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(url: &str, price: u128, reputation: u64, free: u64) -> Candidate {
        Candidate {
            url: url.into(),
            info: ProviderInfo {
                provider: url.into(),
                capacity: free,
                used: 0,
                free,
                price: price.to_string(),
                max_piece_size: 1 << 30,
                pieces: 0,
                bandwidth: 0,
                collected_pieces: 0,
                collected_bytes: 0,
            },
            price,
            reputation_ppm: reputation,
        }
    }

    #[test]
    fn cheaper_then_more_reputable_then_emptier_providers_come_first() {
        let mut placer = Placer::new(vec![
            candidate("d", 10, 900_000, 100),
            candidate("c", 5, 500_000, 1000),
            candidate("b", 5, 900_000, 100),
            candidate("a", 5, 900_000, 1000),
        ]);
        let urls: Vec<_> = placer
            .choose(4, 10, &BTreeSet::new())
            .into_iter()
            .map(|c| c.url)
            .collect();
        assert_eq!(urls, ["a", "b", "c", "d"]);
    }

    #[test]
    fn full_excluded_and_struck_providers_are_skipped() {
        let mut placer = Placer::new(vec![
            candidate("a", 1, 0, 15),
            candidate("b", 2, 0, 1000),
            candidate("c", 3, 0, 1000),
            candidate("d", 4, 0, 1000),
        ]);
        assert_eq!(placer.choose(1, 10, &BTreeSet::new())[0].url, "a");
        // a has 5 bytes left now.
        assert_eq!(placer.choose(1, 10, &BTreeSet::new())[0].url, "b");
        placer.strike("c");
        let exclude = BTreeSet::from(["b".to_string()]);
        let urls: Vec<_> = placer
            .choose(3, 10, &exclude)
            .into_iter()
            .map(|c| c.url)
            .collect();
        assert_eq!(urls, ["d"]);
    }
}
