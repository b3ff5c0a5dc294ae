//! The repair worker: finds segments that lost pieces, rebuilds them, places them anew.
//!
//! # Health
//!
//! A piece is *healthy* when its provider answers a proof request for
//! [`RepairOptions::audit_chunks`] random chunks with proofs that verify against the piece's
//! commitment — the same check the chain's challenges make, so a provider that deleted or
//! corrupted the piece, or is gone, counts as lost.
//!
//! # When to repair
//!
//! A segment is repaired when its healthy pieces fall to the *repair threshold* or below, while
//! at least `k` remain (below `k` the segment is lost and repair reports it). The default
//! threshold, [`default_repair_threshold`], is `k + ⌊(n − k) / 2⌋`: halfway between what a segment
//! needs and what it has, so repair runs while half the margin is left (Storj repairs at a
//! threshold in the same spirit, 52 of its 29-of-80 pieces). With 4 of 6 it is 5: the first lost
//! piece is rebuilt.
//!
//! # How
//!
//! Fetch `k` healthy pieces, decode the segment, encode it again and keep the missing pieces.
//! Coding is deterministic, so a rebuilt piece has the very commitment the deal recorded: the
//! chain needs only to learn the new provider, not new roots. Each rebuilt piece goes to a
//! provider that holds no other piece of the segment.

use std::collections::BTreeSet;

use anyhow::{Context, bail};
use groundwork_storage_net::commitment::{ChunkProof, chunk_count, verify_chunk_proof};
use groundwork_storage_net::erasure::{decode_segment, encode_segment};

use crate::client::{TransferOptions, fetch_segment};
use crate::manifest::{Manifest, PiecePlacement};
use crate::placement::{Candidate, Placer};
use crate::provider_client::ProviderClient;
use crate::store::root_hex;

/// The default repair threshold for `k` of `n` (see the module documentation).
pub fn default_repair_threshold(data_pieces: u16, total_pieces: u16) -> u16 {
    data_pieces + total_pieces.saturating_sub(data_pieces) / 2
}

/// How repair runs.
#[derive(Debug, Clone)]
pub struct RepairOptions {
    /// Repair segments with at most this many healthy pieces (default: see
    /// [`default_repair_threshold`]).
    pub threshold: Option<u16>,
    /// Random chunks each piece must prove.
    pub audit_chunks: u32,
    /// Timeouts of the transfers.
    pub transfer: TransferOptions,
}

impl Default for RepairOptions {
    fn default() -> RepairOptions {
        RepairOptions {
            threshold: None,
            audit_chunks: 4,
            transfer: TransferOptions::default(),
        }
    }
}

/// What a repair pass found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RepairReport {
    /// Segments checked.
    pub segments: usize,
    /// Pieces found unhealthy: `(segment, piece, reason)`.
    pub unhealthy: Vec<(usize, u16, String)>,
    /// Pieces rebuilt and placed: `(segment, piece, new provider URL)`.
    pub repaired: Vec<(usize, u16, String)>,
    /// Segments below `k` healthy pieces: lost.
    pub lost_segments: Vec<usize>,
}

/// Checks one piece: `Ok` when its provider proves `chunks` random chunks of it.
pub fn audit_piece(
    client: &ProviderClient,
    piece: &PiecePlacement,
    chunks: u32,
) -> Result<(), String> {
    let root = piece.root_hash().map_err(|error| error.to_string())?;
    let count = chunk_count(piece.len);
    let asked: Vec<u64> = (0..chunks.max(1))
        .map(|_| rand::random::<u64>() % count)
        .collect();
    let answer = client
        .proofs(&piece.url, &root, &asked)
        .map_err(|error| error.to_string())?;
    if answer.proofs.len() != asked.len() || answer.piece_len != piece.len {
        return Err(format!(
            "provider {} answered {} proofs of a {}-byte piece; asked {} of a {}-byte piece",
            piece.url,
            answer.proofs.len(),
            answer.piece_len,
            asked.len(),
            piece.len
        ));
    }
    for (index, proof_hex) in asked.iter().zip(&answer.proofs) {
        let bytes = hex::decode(proof_hex).map_err(|_| "a proof is not hex".to_string())?;
        let proof = ChunkProof::from_bytes(&bytes).map_err(|error| error.to_string())?;
        if proof.chunk_index != *index {
            return Err(format!(
                "asked chunk {index}, got a proof of chunk {}",
                proof.chunk_index
            ));
        }
        verify_chunk_proof(&root, piece.len, &proof)
            .map_err(|error| format!("chunk {index}: {error}"))?;
    }
    Ok(())
}

/// Audits every piece of `manifest` and repairs the segments at or below the threshold, placing
/// rebuilt pieces on `candidates`. Updates the manifest's placement.
pub fn repair(
    client: &ProviderClient,
    manifest: &mut Manifest,
    candidates: Vec<Candidate>,
    options: &RepairOptions,
) -> anyhow::Result<RepairReport> {
    manifest.validate()?;
    let params = manifest.params();
    let k = manifest.data_pieces;
    let threshold = options
        .threshold
        .unwrap_or_else(|| default_repair_threshold(k, manifest.total_pieces));
    if threshold < k || threshold >= manifest.total_pieces {
        bail!(
            "a repair threshold of {threshold} makes no sense for {k} of {}: it must be at least k and below n",
            manifest.total_pieces
        );
    }
    let mut placer = Placer::new(candidates);
    let mut report = RepairReport {
        segments: manifest.segments.len(),
        ..RepairReport::default()
    };
    for number in 0..manifest.segments.len() {
        let segment = &manifest.segments[number];
        let verdicts: Vec<(u16, Result<(), String>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = segment
                .pieces
                .iter()
                .map(|piece| {
                    scope.spawn(move || {
                        (
                            piece.index,
                            audit_piece(client, piece, options.audit_chunks),
                        )
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|handle| handle.join().ok())
                .collect()
        });
        let mut missing = Vec::new();
        for (index, verdict) in verdicts {
            if let Err(reason) = verdict {
                report.unhealthy.push((number, index, reason));
                missing.push(index);
            }
        }
        let healthy = usize::from(manifest.total_pieces) - missing.len();
        if healthy > usize::from(threshold) || missing.is_empty() {
            continue;
        }
        if healthy < usize::from(k) {
            report.lost_segments.push(number);
            continue;
        }
        // Rebuild from the healthy pieces only.
        let mut healthy_segment = segment.clone();
        healthy_segment
            .pieces
            .retain(|piece| !missing.contains(&piece.index));
        let (pieces, _) = fetch_segment(client, &healthy_segment, k, &options.transfer);
        let pieces = pieces.with_context(|| format!("fetching segment {number} to repair it"))?;
        let views: Vec<(u16, &[u8])> = pieces
            .iter()
            .map(|(index, bytes)| (*index, bytes.as_slice()))
            .collect();
        let data = decode_segment(&params, segment.len, &views)
            .with_context(|| format!("decoding segment {number}"))?;
        let encoded = encode_segment(&params, &data)?;
        let holders: BTreeSet<String> = healthy_segment
            .pieces
            .iter()
            .map(|piece| piece.url.clone())
            .collect();
        let mut exclude = holders;
        // The providers that lost pieces get none back in this pass.
        for index in &missing {
            exclude.insert(segment.pieces[usize::from(*index)].url.clone());
        }
        for index in missing {
            let position = usize::from(index);
            let piece = &manifest.segments[number].pieces[position];
            let root = piece.root_hash()?;
            let bytes = &encoded.pieces[position];
            let rebuilt = groundwork_storage_net::piece_root(bytes);
            if rebuilt != root {
                bail!(
                    "rebuilt piece {index} of segment {number} has commitment {}, the placement says {}",
                    root_hex(&rebuilt),
                    piece.root
                );
            }
            let placed = loop {
                let Some(candidate) = placer.next(piece.len, &exclude) else {
                    bail!(
                        "no provider left to hold rebuilt piece {index} of segment {number} (each piece of a segment needs its own provider)"
                    );
                };
                exclude.insert(candidate.url.clone());
                match client.put_piece(&candidate.url, &root, bytes) {
                    Ok(_) => break candidate,
                    Err(error) => {
                        tracing::warn!(%error, "repair upload failed; trying another provider");
                        placer.unplan(&candidate.url, piece.len);
                        placer.strike(&candidate.url);
                    }
                }
            };
            let slot = &mut manifest.segments[number].pieces[position];
            slot.url = placed.url.clone();
            slot.provider = placed.info.provider.clone();
            report.repaired.push((number, index, placed.url));
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_is_halfway_through_the_margin() {
        assert_eq!(default_repair_threshold(4, 6), 5);
        assert_eq!(default_repair_threshold(29, 80), 54);
        assert_eq!(default_repair_threshold(1, 2), 1);
    }
}
