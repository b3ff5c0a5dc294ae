//! Storage for tests: a file erasure-coded and committed exactly as a client would
//! (storage-net), provider receipts signed by storage devices, the transactions of the storage
//! module, and proofs answering the chain's challenges.

use groundwork_app::modules::storage::DueChallenge;
use groundwork_app::modules::storage::msgs::piece_receipt_message;
use groundwork_primitives::{Address, Amount, DeviceId, Hash};
use groundwork_proto::v1::{self, message::Kind as MessageKind};
use groundwork_storage_net::commitment::PieceTree;
use groundwork_storage_net::{ErasureParams, compute_cid, encode_segment};

use crate::devices::TestDevice;
use crate::error::{TestkitError, TestkitResult};

/// One segment of a [`StoredFile`]: its pieces and their Merkle trees.
#[derive(Debug, Clone)]
pub struct StoredSegment {
    /// The segment's length.
    pub length: u64,
    /// Its `n` pieces.
    pub pieces: Vec<Vec<u8>>,
    /// The Merkle tree of each piece.
    pub trees: Vec<PieceTree>,
}

/// A file as a client holds it before making a deal: its CID, and every segment's pieces.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// The file.
    pub bytes: Vec<u8>,
    /// Its CIDv1 string.
    pub cid: String,
    /// The erasure layout.
    pub erasure: ErasureParams,
    /// The segments.
    pub segments: Vec<StoredSegment>,
}

impl StoredFile {
    /// Computes the CID and erasure codes and commits every segment.
    pub fn new(bytes: Vec<u8>, erasure: ErasureParams) -> TestkitResult<StoredFile> {
        let cid = compute_cid(bytes.as_slice())
            .map_err(|e| TestkitError::Usage(format!("cid: {e}")))?
            .to_string();
        let mut segments = Vec::new();
        for range in erasure.segment_ranges(bytes.len() as u64) {
            let data = &bytes[range.start as usize..range.end as usize];
            let encoded = encode_segment(&erasure, data)
                .map_err(|e| TestkitError::Usage(format!("erasure: {e}")))?;
            let trees = encoded.pieces.iter().map(|p| PieceTree::build(p)).collect();
            segments.push(StoredSegment {
                length: range.end - range.start,
                pieces: encoded.pieces,
                trees,
            });
        }
        Ok(StoredFile {
            bytes,
            cid,
            erasure,
            segments,
        })
    }

    /// Deterministic pseudo-random bytes of `length` from `seed`.
    pub fn pseudo_random(length: usize, seed: u64) -> Vec<u8> {
        let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
        (0..length)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    /// The commitment of a piece.
    pub fn commitment(&self, segment: usize, piece: usize) -> Hash {
        Hash(self.segments[segment].trees[piece].root())
    }

    /// The size of a piece.
    pub fn piece_size(&self, segment: usize, piece: usize) -> u64 {
        self.segments[segment].pieces[piece].len() as u64
    }

    /// `device`'s receipt for a piece placed for `client`.
    pub fn receipt(
        &self,
        chain_id: &str,
        client: &Address,
        segment: usize,
        piece: usize,
        device: &TestDevice,
    ) -> Vec<u8> {
        let message = piece_receipt_message(
            chain_id,
            client,
            &self.cid,
            segment as u32,
            piece as u32,
            &self.commitment(segment, piece),
            self.piece_size(segment, piece),
        );
        device.sign(&message).0.to_vec()
    }

    /// The `CreateDeal` placing piece `p` of segment `s` on `placement[s][p]`, with receipts
    /// signed by those devices.
    pub fn create_deal(
        &self,
        chain_id: &str,
        client: &Address,
        placement: &[Vec<&TestDevice>],
        terms: DealTerms,
    ) -> v1::CreateDeal {
        let segments = self
            .segments
            .iter()
            .enumerate()
            .map(|(s, segment)| v1::SegmentPlacement {
                length: segment.length,
                pieces: placement
                    .get(s)
                    .map(|devices| {
                        devices
                            .iter()
                            .enumerate()
                            .map(|(p, device)| v1::PiecePlacement {
                                provider: device.id().as_bytes().to_vec(),
                                commitment: self.commitment(s, p).0.to_vec(),
                                size: self.piece_size(s, p),
                                receipt: self.receipt(chain_id, client, s, p, device),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect();
        v1::CreateDeal {
            cid: self.cid.clone(),
            file_size: self.bytes.len() as u64,
            data_pieces: u32::from(self.erasure.data_pieces),
            total_pieces: u32::from(self.erasure.total_pieces),
            segment_size: self.erasure.segment_size,
            repair_threshold: terms.repair_threshold,
            segments,
            max_price: terms.max_price.0.to_string(),
            duration_periods: terms.duration_periods,
        }
    }

    /// The encoded proofs answering `challenges` from the pieces held here.
    pub fn proofs(&self, challenges: &[DueChallenge]) -> TestkitResult<Vec<Vec<u8>>> {
        challenges
            .iter()
            .map(|c| {
                let segment = &self.segments[c.segment as usize];
                let piece = &segment.pieces[c.piece as usize];
                segment.trees[c.piece as usize]
                    .prove(piece, c.chunk)
                    .map(|proof| proof.to_bytes())
                    .map_err(|e| TestkitError::Usage(format!("cannot prove {c:?}: {e}")))
            })
            .collect()
    }
}

/// What a client agrees to in a deal.
#[derive(Debug, Clone, Copy)]
pub struct DealTerms {
    /// Proving periods.
    pub duration_periods: u64,
    /// The most it escrows.
    pub max_price: Amount,
    /// Repair threshold (k ≤ t < n).
    pub repair_threshold: u32,
}

fn message(kind: MessageKind) -> v1::Message {
    v1::Message { kind: Some(kind) }
}

/// The wire message registering a storage offer.
pub fn register_provider_message(
    device: &DeviceId,
    price_per_gib_period: Amount,
    capacity_bytes: u64,
    endpoint: &str,
) -> v1::Message {
    message(MessageKind::RegisterStorageProvider(
        v1::RegisterStorageProvider {
            device: device.as_bytes().to_vec(),
            price_per_gib_period: price_per_gib_period.0.to_string(),
            capacity_bytes,
            endpoint: endpoint.to_string(),
        },
    ))
}

/// The wire message changing a storage offer.
pub fn update_provider_message(
    device: &DeviceId,
    price_per_gib_period: Amount,
    capacity_bytes: u64,
    endpoint: &str,
) -> v1::Message {
    message(MessageKind::UpdateStorageProvider(
        v1::UpdateStorageProvider {
            device: device.as_bytes().to_vec(),
            price_per_gib_period: price_per_gib_period.0.to_string(),
            capacity_bytes,
            endpoint: endpoint.to_string(),
        },
    ))
}

/// The wire message withdrawing a storage offer.
pub fn withdraw_provider_message(device: &DeviceId) -> v1::Message {
    message(MessageKind::WithdrawStorageProvider(
        v1::WithdrawStorageProvider {
            device: device.as_bytes().to_vec(),
        },
    ))
}

/// The wire message creating a deal.
pub fn create_deal_message(deal: v1::CreateDeal) -> v1::Message {
    message(MessageKind::CreateDeal(deal))
}

/// The wire message proving a period.
pub fn submit_proof_message(
    deal: u64,
    provider: &DeviceId,
    period: u64,
    proofs: Vec<Vec<u8>>,
) -> v1::Message {
    message(MessageKind::SubmitStorageProof(v1::SubmitStorageProof {
        deal_id: deal,
        provider: provider.as_bytes().to_vec(),
        period,
        proofs,
    }))
}

/// The wire message ending a deal early.
pub fn terminate_deal_message(deal: u64) -> v1::Message {
    message(MessageKind::TerminateDeal(v1::TerminateDeal {
        deal_id: deal,
    }))
}

/// The wire message repairing a piece.
pub fn repair_deal_message(m: v1::RepairDeal) -> v1::Message {
    message(MessageKind::RepairDeal(m))
}
