//! Garbage collection on a provider: deleting the pieces no deal needs any more.
//!
//! The chain is the source of truth. A provider reads the deals it was ever placed in
//! (`GET /v1/storage/deals?provider=…`) and works out, piece by piece, what it still answers
//! for ([`piece_duties`]):
//!
//! - a piece of an **active** deal whose current provider it is: kept;
//! - a piece of an active deal **repaired away** from it (it is the piece's
//!   `previous_provider`): kept until the period it still answers for is settled on chain (a
//!   proof or a miss recorded for period `since_period − 1`), because a repair never changes the
//!   challenges of an open proof window;
//! - a piece of a **completed** or **terminated** deal, or one it no longer appears in at all
//!   (repaired away twice): released.
//!
//! A stored piece is deleted when some deal of the provider released it and none keeps it (the
//! same bytes can be in several deals: one active deal is enough to keep them). Pieces that no
//! deal of the provider names are left alone: they may belong to a deal being made (the client
//! has the receipts but has not sent `CreateDeal` yet), or to a put without a chain. For the same
//! reason a piece uploaded again or receipted within the grace period is kept
//! ([`crate::store::PieceStore::hold`]), so a client storing the same file again right after its
//! old deal ended does not lose it between the receipt and its new deal.
//!
//! Deletion is crash-safe ([`crate::store::PieceStore::collect`]): each piece is unlinked under
//! the store's lock and forgotten; the folder is synced once per pass; a crash before the sync
//! may bring a file back, and the next pass deletes it again, since the decision comes from the
//! chain and not from anything the provider remembers.

use std::collections::BTreeSet;
use std::time::Duration;

use groundwork_primitives::DeviceId;

use crate::chain::{ChainDeal, NodeApi};
use crate::store::{Collected, PieceStore, StoreError, root_hex};

/// What a provider still answers for, and what it was released from, by commitment (hex).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PieceDuties {
    /// Commitments some active deal still needs from this provider.
    pub keep: BTreeSet<String>,
    /// Commitments of pieces of this provider's deals it no longer answers for.
    pub released: BTreeSet<String>,
}

impl PieceDuties {
    /// Whether a stored piece may be deleted.
    pub fn may_delete(&self, commitment: &str) -> bool {
        self.released.contains(commitment) && !self.keep.contains(commitment)
    }
}

/// Whether `device`, the previous provider of a piece now held by another from `since_period`
/// on, still answers for it in `deal`: until the period before `since_period` is settled.
/// Without the deal's proof history it is kept.
fn previous_provider_still_due(deal: &ChainDeal, device: &str, since_period: u64) -> bool {
    if since_period <= deal.start_period {
        return false;
    }
    let last_due = since_period - 1;
    match &deal.proofs {
        Some(proofs) => !proofs
            .iter()
            .any(|proof| proof.period == last_due && proof.provider == device),
        None => true,
    }
}

/// What `device` still answers for among `deals` (the deals it was ever placed in; see the
/// module documentation).
pub fn piece_duties(device: &str, deals: &[ChainDeal]) -> PieceDuties {
    let mut duties = PieceDuties::default();
    for deal in deals {
        let active = deal.status == "active";
        for piece in deal.segments.iter().flat_map(|segment| &segment.pieces) {
            let commitment = piece.commitment.to_ascii_lowercase();
            let holds = active && piece.provider == device;
            let answers_before = active
                && piece.previous_provider.as_deref() == Some(device)
                && previous_provider_still_due(deal, device, piece.since_period);
            if holds || answers_before {
                duties.keep.insert(commitment);
            } else {
                duties.released.insert(commitment);
            }
        }
    }
    duties
}

/// What one garbage collection pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CollectionPass {
    /// Deals read from the chain.
    pub deals: usize,
    /// Pieces deleted, by commitment (hex).
    pub deleted: Vec<String>,
    /// Bytes they held, free again.
    pub freed_bytes: u64,
    /// Released pieces kept because they were stored or used within the grace period.
    pub kept_recent: usize,
}

/// One pass: reads `device`'s deals from `node`, deletes the pieces of `store` none of them
/// needs any more (see the module documentation) unless used within `grace`.
pub fn collect_garbage(
    node: &NodeApi,
    store: &PieceStore,
    device: &DeviceId,
    grace: Duration,
) -> anyhow::Result<CollectionPass> {
    let device_text = device.to_string();
    let mut deals = node.deals_of_provider(device)?;
    // The listing carries no proof history: read it for the deals where this provider still
    // answers for a piece repaired away from it.
    for deal in &mut deals {
        let repaired_from_here = deal.status == "active"
            && deal.segments.iter().flat_map(|s| &s.pieces).any(|piece| {
                piece.previous_provider.as_deref() == Some(device_text.as_str())
                    && piece.provider != device_text
            });
        if repaired_from_here && let Some(full) = node.deal(deal.id)? {
            *deal = full;
        }
    }
    let duties = piece_duties(&device_text, &deals);
    let mut pass = CollectionPass {
        deals: deals.len(),
        ..CollectionPass::default()
    };
    for (root, _) in store.pieces() {
        let commitment = root_hex(&root);
        if !duties.may_delete(&commitment) {
            continue;
        }
        match store.collect(&root, grace)? {
            Collected::Deleted(bytes) => {
                pass.freed_bytes += bytes;
                pass.deleted.push(commitment);
            }
            Collected::Recent => pass.kept_recent += 1,
            Collected::Absent => {}
        }
    }
    if !pass.deleted.is_empty() {
        store
            .sync()
            .map_err(|error: StoreError| anyhow::anyhow!(error))?;
    }
    Ok(pass)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::chain::{ChainPiece, ChainProof, ChainSegment};

    const ME: &str = "gwd1me";
    const OTHER: &str = "gwd1other";

    fn piece(commitment: &str, provider: &str) -> ChainPiece {
        ChainPiece {
            index: 0,
            provider: provider.into(),
            commitment: commitment.into(),
            size: 100,
            missed_last: false,
            since_period: 2,
            previous_provider: None,
        }
    }

    fn deal(id: u64, status: &str, pieces: Vec<ChainPiece>) -> ChainDeal {
        ChainDeal {
            id,
            client: "gw1client".into(),
            cid: "bafy".into(),
            file_size: 100,
            data_pieces: 1,
            total_pieces: 2,
            segment_size: 100,
            repair_threshold: 1,
            start_period: 2,
            status: status.into(),
            segments: vec![ChainSegment {
                length: 100,
                pieces,
            }],
            refunded: String::new(),
            proofs: None,
        }
    }

    #[test]
    fn pieces_of_ended_deals_are_released_and_active_ones_kept() {
        let deals = [
            deal(1, "active", vec![piece("aa", ME), piece("bb", OTHER)]),
            deal(2, "terminated", vec![piece("cc", ME)]),
            deal(3, "completed", vec![piece("dd", ME)]),
        ];
        let duties = piece_duties(ME, &deals);
        assert!(!duties.may_delete("aa"));
        assert!(duties.may_delete("cc"));
        assert!(duties.may_delete("dd"));
        // Another provider's piece of the deal: this one holds no copy that counts.
        assert!(duties.may_delete("bb"));
        // Not named by any deal of this provider: left alone.
        assert!(!duties.may_delete("ee"));
    }

    #[test]
    fn the_same_bytes_in_an_ended_and_an_active_deal_are_kept() {
        let deals = [
            deal(1, "terminated", vec![piece("aa", ME)]),
            deal(2, "active", vec![piece("aa", ME)]),
        ];
        assert!(!piece_duties(ME, &deals).may_delete("aa"));
    }

    #[test]
    fn a_piece_repaired_away_is_kept_until_its_last_period_is_settled() {
        let mut moved = piece("aa", OTHER);
        moved.previous_provider = Some(ME.into());
        moved.since_period = 5;
        let mut open = deal(1, "active", vec![moved]);
        // No proof history at hand: kept.
        assert!(!piece_duties(ME, std::slice::from_ref(&open)).may_delete("aa"));
        // Period 4 not settled yet: kept.
        open.proofs = Some(vec![ChainProof {
            period: 3,
            provider: ME.into(),
            outcome: "proven".into(),
        }]);
        assert!(!piece_duties(ME, std::slice::from_ref(&open)).may_delete("aa"));
        // Period 4 settled (even as missed): released.
        open.proofs.as_mut().unwrap().push(ChainProof {
            period: 4,
            provider: ME.into(),
            outcome: "missed".into(),
        });
        assert!(piece_duties(ME, std::slice::from_ref(&open)).may_delete("aa"));
        // The new provider keeps it.
        assert!(!piece_duties(OTHER, &[open]).may_delete("aa"));
    }
}
