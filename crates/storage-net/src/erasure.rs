//! Erasure coding: a file is cut into segments, and each segment is Reed–Solomon coded into
//! `n` pieces of which any `k` rebuild it.
//!
//! # Layout of a segment's pieces
//!
//! A segment of `L` bytes (at most [`ErasureParams::segment_size`]) has pieces of
//!
//! ```text
//! piece_size = max(64, round_up(ceil(L / k), 64))
//! ```
//!
//! bytes each. The segment, padded with zeros to `k · piece_size` bytes, is cut into `k` *data
//! pieces* (indexes `0..k`: piece `i` is bytes `i·piece_size .. (i+1)·piece_size`) and
//! `n − k` *parity pieces* (indexes `k..n`) are computed from them with `reed-solomon-simd`
//! (Reed–Solomon over GF(2^16), Leopard-style; systematic, so the data pieces are the data itself).
//! The padding is why the true length `L` must travel with the pieces (it is part of a segment's
//! metadata): decoding needs it to know `piece_size` and to drop the padding. Pieces are a multiple
//! of 64 bytes because that is the block the library's SIMD kernels work on; coding runs in
//! parallel over 64-byte-aligned column stripes of the pieces, which gives the same bytes as coding
//! whole pieces (each column of symbols is coded independently).
//!
//! # Choices
//!
//! See [`DEFAULT_SEGMENT_SIZE`] and [`ErasureParams::DEVNET`] for why the defaults are what
//! they are, and [`segment_loss_probability`] to weigh other choices.

use std::ops::Range;

use rayon::prelude::*;
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};

/// Default segment size: 64 MiB, Storj's maximum.
///
/// Why this size: every segment carries its own metadata (its length, and one commitment per
/// piece on chain), so large segments keep that per-file cost small — a 1 GiB file is 16
/// segments, 96 piece commitments with the devnet parameters. Memory stays bounded: coding a
/// segment holds it plus its parity (`segment_size · n / k`, 96 MiB with 4-of-6) and the coding
/// runs in parallel inside the segment, so one segment in flight keeps both cores busy. A file
/// smaller than a segment is a single short segment, so small files pay no padding beyond 64
/// bytes per piece. The cost is latency for large files: the first byte of a `get` waits for
/// `k` pieces of the first segment (64 MiB); a client after lower latency picks smaller segments
/// through [`ErasureParams::segment_size`].
pub const DEFAULT_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;
/// Largest segment accepted: 1 GiB, to bound the memory a segment's metadata can make us spend.
pub const MAX_SEGMENT_SIZE: u64 = 1024 * 1024 * 1024;
/// Pieces are padded to a multiple of this many bytes.
pub const PIECE_ALIGNMENT: usize = 64;
/// Width of the column stripes coded in parallel (a multiple of [`PIECE_ALIGNMENT`]).
const STRIPE_SIZE: usize = 1024 * 1024;

/// How segments are cut into pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErasureParams {
    /// `k`: pieces needed to rebuild a segment.
    pub data_pieces: u16,
    /// `n`: pieces made per segment (`n > k`); each goes to a different provider.
    pub total_pieces: u16,
    /// Bytes per segment (the last segment of a file may be shorter).
    pub segment_size: u64,
}

impl ErasureParams {
    /// 4 of 6, for a devnet of a handful of providers — the default.
    ///
    /// Each piece goes to a distinct provider, so `n` may not exceed the providers on hand; six
    /// is what a laptop devnet runs. Any two providers may vanish and every segment survives, at
    /// 1.5× storage overhead (3× replication would survive two losses at twice the cost). With
    /// each provider lost with probability 10% between repairs, a segment is lost with
    /// probability ≈ 1.6% — fine for a devnet, not for real data: use a wide code then.
    pub const DEVNET: ErasureParams = ErasureParams {
        data_pieces: 4,
        total_pieces: 6,
        segment_size: DEFAULT_SEGMENT_SIZE,
    };

    /// 29 of 80, Storj's production choice for a large network: 2.76× overhead, and with 10%
    /// of providers lost between repairs a segment is lost with probability below 10^-20.
    pub const LARGE_NETWORK: ErasureParams = ErasureParams {
        data_pieces: 29,
        total_pieces: 80,
        segment_size: DEFAULT_SEGMENT_SIZE,
    };

    /// `n − k`: pieces that may be lost.
    pub const fn parity_pieces(&self) -> u16 {
        self.total_pieces.saturating_sub(self.data_pieces)
    }

    /// Checks `0 < k < n`, that the coder supports `(k, n − k)`, and the segment size.
    pub fn validate(&self) -> Result<(), ErasureError> {
        let k = usize::from(self.data_pieces);
        let n = usize::from(self.total_pieces);
        if k == 0 || n <= k || !ReedSolomonEncoder::supports(k, n - k) {
            return Err(ErasureError::InvalidParams {
                data_pieces: self.data_pieces,
                total_pieces: self.total_pieces,
            });
        }
        if self.segment_size == 0 || self.segment_size > MAX_SEGMENT_SIZE {
            return Err(ErasureError::InvalidSegmentSize(self.segment_size));
        }
        Ok(())
    }

    /// Bytes of each piece of a segment of `segment_len` bytes (see the module layout).
    pub fn piece_size(&self, segment_len: u64) -> usize {
        let k = u64::from(self.data_pieces.max(1));
        let per_piece = segment_len.div_ceil(k);
        let aligned = per_piece.div_ceil(PIECE_ALIGNMENT as u64) * PIECE_ALIGNMENT as u64;
        usize::try_from(aligned.max(PIECE_ALIGNMENT as u64)).unwrap_or(usize::MAX)
    }

    /// Byte ranges of the segments of a file of `file_len` bytes (none for an empty file).
    pub fn segment_ranges(&self, file_len: u64) -> impl Iterator<Item = Range<u64>> + use<> {
        let size = self.segment_size.max(1);
        (0..file_len.div_ceil(size)).map(move |index| {
            let start = index * size;
            start..(start + size).min(file_len)
        })
    }
}

impl Default for ErasureParams {
    fn default() -> ErasureParams {
        ErasureParams::DEVNET
    }
}

/// Why a segment could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    /// `k` and `n` are not `0 < k < n` or not supported by the coder (`n ≤ 65 535`).
    #[error("invalid erasure parameters: {data_pieces} of {total_pieces}")]
    InvalidParams {
        /// The `k` given.
        data_pieces: u16,
        /// The `n` given.
        total_pieces: u16,
    },
    /// The segment size is zero or above [`MAX_SEGMENT_SIZE`].
    #[error("invalid segment size {0}: must be 1 ..= {MAX_SEGMENT_SIZE}")]
    InvalidSegmentSize(u64),
    /// The segment is longer than the parameters' segment size.
    #[error("segment of {length} bytes is longer than the segment size {max}")]
    SegmentTooLarge {
        /// The segment's length.
        length: u64,
        /// The parameters' segment size.
        max: u64,
    },
    /// Fewer than `k` distinct pieces were given.
    #[error("{have} distinct pieces given, {need} needed to rebuild the segment")]
    TooFewPieces {
        /// Distinct pieces given.
        have: usize,
        /// `k`.
        need: usize,
    },
    /// A piece index is not below `n`.
    #[error("piece index {index} is out of range: there are {total} pieces")]
    PieceIndexOutOfRange {
        /// The index given.
        index: u16,
        /// `n`.
        total: u16,
    },
    /// The same piece index was given twice.
    #[error("piece {0} was given twice")]
    DuplicatePiece(u16),
    /// A piece's length is not the piece size the segment length implies.
    #[error("piece {index} is {actual} bytes, expected {expected}")]
    WrongPieceSize {
        /// The piece's index.
        index: u16,
        /// The piece size for this segment.
        expected: usize,
        /// The piece's length.
        actual: usize,
    },
    /// The Reed–Solomon library refused (a bug here if the checks above passed).
    #[error("Reed-Solomon coding failed: {0}")]
    Coder(#[from] reed_solomon_simd::Error),
}

/// The `n` pieces of one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedSegment {
    /// The segment's true length (needed to decode: see the module layout).
    pub segment_len: u64,
    /// Bytes of every piece.
    pub piece_size: usize,
    /// Pieces by index: `0..k` data, `k..n` parity.
    pub pieces: Vec<Vec<u8>>,
}

/// Column ranges of the parallel stripes of a piece of `piece_size` bytes.
fn stripe_ranges(piece_size: usize) -> Vec<Range<usize>> {
    (0..piece_size.div_ceil(STRIPE_SIZE))
        .map(|index| index * STRIPE_SIZE..((index + 1) * STRIPE_SIZE).min(piece_size))
        .collect()
}

/// Cuts each buffer into the stripes and regroups them by stripe: `result[stripe][buffer]`.
fn stripes_of<'a>(
    buffers: impl Iterator<Item = &'a mut [u8]>,
    count: usize,
) -> Vec<Vec<&'a mut [u8]>> {
    let mut by_stripe: Vec<Vec<&'a mut [u8]>> = (0..count).map(|_| Vec::new()).collect();
    for buffer in buffers {
        for (stripe, part) in buffer.chunks_mut(STRIPE_SIZE).enumerate() {
            if let Some(list) = by_stripe.get_mut(stripe) {
                list.push(part);
            }
        }
    }
    by_stripe
}

/// Encodes one segment into `n` pieces.
pub fn encode_segment(
    params: &ErasureParams,
    segment: &[u8],
) -> Result<EncodedSegment, ErasureError> {
    let mut encoded = EncodedSegment {
        segment_len: 0,
        piece_size: 0,
        pieces: Vec::new(),
    };
    encode_segment_into(params, segment, &mut encoded)?;
    Ok(encoded)
}

/// [`encode_segment`] into the buffers of an earlier result, so a stream of segments allocates
/// (and page-faults) its pieces once.
pub fn encode_segment_into(
    params: &ErasureParams,
    segment: &[u8],
    encoded: &mut EncodedSegment,
) -> Result<(), ErasureError> {
    params.validate()?;
    let segment_len = segment.len() as u64;
    if segment_len > params.segment_size {
        return Err(ErasureError::SegmentTooLarge {
            length: segment_len,
            max: params.segment_size,
        });
    }
    let k = usize::from(params.data_pieces);
    let parity = usize::from(params.parity_pieces());
    let piece_size = params.piece_size(segment_len);

    let pieces = &mut encoded.pieces;
    pieces.resize_with(k + parity, Vec::new);
    for piece in pieces.iter_mut() {
        // Parity is overwritten whole; data pieces are overwritten and their padding zeroed below.
        piece.resize(piece_size, 0);
    }
    for (index, piece) in pieces.iter_mut().take(k).enumerate() {
        let start = (index * piece_size).min(segment.len());
        let end = ((index + 1) * piece_size).min(segment.len());
        piece[..end - start].copy_from_slice(&segment[start..end]);
        piece[end - start..].fill(0);
    }
    encoded.segment_len = segment_len;
    encoded.piece_size = piece_size;
    let (data, parity_pieces) = encoded.pieces.split_at_mut(k);
    encode_parity(params, data, parity_pieces)
}

/// Sizes `encoded`'s `n` piece buffers for a segment of `segment_len` bytes, so that the segment
/// can be read straight into its data pieces (piece `i` holds bytes `i·piece_size ..` of the
/// segment, zero-padded at the end) and then coded with [`encode_parity`]: no copy of the
/// segment. Returns the piece size.
pub fn prepare_pieces(
    params: &ErasureParams,
    segment_len: u64,
    encoded: &mut EncodedSegment,
) -> Result<usize, ErasureError> {
    params.validate()?;
    if segment_len > params.segment_size {
        return Err(ErasureError::SegmentTooLarge {
            length: segment_len,
            max: params.segment_size,
        });
    }
    let piece_size = params.piece_size(segment_len);
    let n = usize::from(params.total_pieces);
    encoded.pieces.resize_with(n, Vec::new);
    for piece in &mut encoded.pieces {
        piece.resize(piece_size, 0);
    }
    encoded.segment_len = segment_len;
    encoded.piece_size = piece_size;
    Ok(piece_size)
}

/// Computes the `n − k` parity pieces of a segment from its `k` data pieces (as
/// [`prepare_pieces`] lays them out, padding zeroed), all of one piece size.
pub fn encode_parity(
    params: &ErasureParams,
    data: &[Vec<u8>],
    parity_pieces: &mut [Vec<u8>],
) -> Result<(), ErasureError> {
    params.validate()?;
    let k = usize::from(params.data_pieces);
    let parity = usize::from(params.parity_pieces());
    if data.len() != k || parity_pieces.len() != parity {
        return Err(ErasureError::TooFewPieces {
            have: data.len() + parity_pieces.len(),
            need: k + parity,
        });
    }
    let piece_size = data.first().map_or(0, Vec::len);
    if let Some((index, piece)) = data
        .iter()
        .chain(parity_pieces.iter())
        .enumerate()
        .find(|(_, piece)| piece.len() != piece_size)
    {
        return Err(ErasureError::WrongPieceSize {
            index: u16::try_from(index).unwrap_or(u16::MAX),
            expected: piece_size,
            actual: piece.len(),
        });
    }

    let stripes = stripe_ranges(piece_size);
    let outputs = stripes_of(
        parity_pieces.iter_mut().map(Vec::as_mut_slice),
        stripes.len(),
    );
    stripes.into_par_iter().zip(outputs).try_for_each_init(
        || None::<ReedSolomonEncoder>,
        |encoder, (range, outputs)| -> Result<(), ErasureError> {
            let encoder = match encoder {
                Some(encoder) => {
                    encoder.reset(k, parity, range.len())?;
                    encoder
                }
                None => encoder.insert(ReedSolomonEncoder::new(k, parity, range.len())?),
            };
            for piece in data {
                encoder.add_original_shard(&piece[range.clone()])?;
            }
            let result = encoder.encode()?;
            for (output, recovery) in outputs.into_iter().zip(result.recovery_iter()) {
                output.copy_from_slice(recovery);
            }
            Ok(())
        },
    )?;
    Ok(())
}

/// Rebuilds a segment of `segment_len` bytes from any `k` of its pieces, given as
/// `(index, bytes)`. More than `k` pieces may be given; data pieces are preferred.
pub fn decode_segment(
    params: &ErasureParams,
    segment_len: u64,
    pieces: &[(u16, &[u8])],
) -> Result<Vec<u8>, ErasureError> {
    let mut segment = Vec::new();
    decode_segment_into(params, segment_len, pieces, &mut segment)?;
    Ok(segment)
}

/// [`decode_segment`] into `segment` (cleared first), reusing its allocation.
pub fn decode_segment_into(
    params: &ErasureParams,
    segment_len: u64,
    pieces: &[(u16, &[u8])],
    segment: &mut Vec<u8>,
) -> Result<(), ErasureError> {
    params.validate()?;
    if segment_len > params.segment_size {
        return Err(ErasureError::SegmentTooLarge {
            length: segment_len,
            max: params.segment_size,
        });
    }
    let k = usize::from(params.data_pieces);
    let n = usize::from(params.total_pieces);
    let parity = n - k;
    let piece_size = params.piece_size(segment_len);

    let mut by_index: Vec<Option<&[u8]>> = vec![None; n];
    for &(index, bytes) in pieces {
        let slot =
            by_index
                .get_mut(usize::from(index))
                .ok_or(ErasureError::PieceIndexOutOfRange {
                    index,
                    total: params.total_pieces,
                })?;
        if slot.is_some() {
            return Err(ErasureError::DuplicatePiece(index));
        }
        if bytes.len() != piece_size {
            return Err(ErasureError::WrongPieceSize {
                index,
                expected: piece_size,
                actual: bytes.len(),
            });
        }
        *slot = Some(bytes);
    }
    let have = by_index.iter().filter(|piece| piece.is_some()).count();
    if have < k {
        return Err(ErasureError::TooFewPieces { have, need: k });
    }

    segment.clear();
    segment.resize(k * piece_size, 0);
    let mut missing = Vec::new();
    for (index, piece) in by_index.iter().take(k).enumerate() {
        match piece {
            Some(bytes) => {
                segment[index * piece_size..(index + 1) * piece_size].copy_from_slice(bytes)
            }
            None => missing.push(index),
        }
    }

    if !missing.is_empty() {
        // Exactly as many parity pieces as data pieces are missing: more would only slow decoding.
        let recovery: Vec<(usize, &[u8])> = by_index[k..]
            .iter()
            .enumerate()
            .filter_map(|(index, piece)| piece.map(|bytes| (index, bytes)))
            .take(missing.len())
            .collect();
        let present: Vec<(usize, &[u8])> = by_index[..k]
            .iter()
            .enumerate()
            .filter_map(|(index, piece)| piece.map(|bytes| (index, bytes)))
            .collect();
        let stripes = stripe_ranges(piece_size);
        let missing_buffers = segment
            .chunks_mut(piece_size)
            .enumerate()
            .filter(|(index, _)| by_index[*index].is_none())
            .map(|(_, buffer)| buffer);
        let outputs = stripes_of(missing_buffers, stripes.len());
        stripes.into_par_iter().zip(outputs).try_for_each_init(
            || None::<ReedSolomonDecoder>,
            |decoder, (range, outputs)| -> Result<(), ErasureError> {
                let decoder = match decoder {
                    Some(decoder) => {
                        decoder.reset(k, parity, range.len())?;
                        decoder
                    }
                    None => decoder.insert(ReedSolomonDecoder::new(k, parity, range.len())?),
                };
                for (index, bytes) in &present {
                    decoder.add_original_shard(*index, &bytes[range.clone()])?;
                }
                for (index, bytes) in &recovery {
                    decoder.add_recovery_shard(*index, &bytes[range.clone()])?;
                }
                let result = decoder.decode()?;
                // `missing` is ascending, and so are the outputs.
                for (output, index) in outputs.into_iter().zip(&missing) {
                    let restored = result.restored_original(*index).ok_or(
                        reed_solomon_simd::Error::NotEnoughShards {
                            original_count: k,
                            original_received_count: present.len(),
                            recovery_received_count: recovery.len(),
                        },
                    )?;
                    output.copy_from_slice(restored);
                }
                Ok(())
            },
        )?;
    }

    segment.truncate(usize::try_from(segment_len).unwrap_or(usize::MAX));
    Ok(())
}

/// Probability that a segment is lost when each of its `n` pieces is lost independently with
/// probability `piece_loss` before repair: P(more than `n − k` lost), a binomial tail.
///
/// A reporting helper for choosing parameters (f64; it decides nothing on chain).
pub fn segment_loss_probability(params: &ErasureParams, piece_loss: f64) -> f64 {
    let n = u32::from(params.total_pieces);
    let tolerated = u32::from(params.parity_pieces());
    let piece_loss = piece_loss.clamp(0.0, 1.0);
    let mut total = 0.0;
    let mut binomial = 1.0f64; // C(n, lost), built up as lost grows.
    for lost in 0..=n {
        if lost > 0 {
            binomial = binomial * f64::from(n - lost + 1) / f64::from(lost);
        }
        if lost > tolerated {
            total += binomial
                * piece_loss.powi(lost as i32)
                * (1.0 - piece_loss).powi((n - lost) as i32);
        }
    }
    total.min(1.0)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sample(length: usize, seed: u8) -> Vec<u8> {
        (0..length)
            .map(|i| (i as u8).wrapping_mul(seed).wrapping_add((i >> 9) as u8))
            .collect()
    }

    fn small(k: u16, n: u16) -> ErasureParams {
        ErasureParams {
            data_pieces: k,
            total_pieces: n,
            segment_size: 16 * 1024 * 1024,
        }
    }

    #[test]
    fn pieces_are_padded_to_64_bytes_and_keep_the_true_length() {
        let params = ErasureParams::DEVNET;
        assert_eq!(params.piece_size(0), 64);
        assert_eq!(params.piece_size(1), 64);
        assert_eq!(params.piece_size(257), 128);
        assert_eq!(params.piece_size(DEFAULT_SEGMENT_SIZE), 16 * 1024 * 1024);
        let encoded = encode_segment(&params, b"hello").unwrap();
        assert_eq!(encoded.segment_len, 5);
        assert_eq!(encoded.pieces.len(), 6);
        assert_eq!(&encoded.pieces[0][..5], b"hello");
        let parity: Vec<(u16, &[u8])> = vec![
            (2, &encoded.pieces[2]),
            (3, &encoded.pieces[3]),
            (4, &encoded.pieces[4]),
            (5, &encoded.pieces[5]),
        ];
        assert_eq!(decode_segment(&params, 5, &parity).unwrap(), b"hello");
    }

    #[test]
    fn striped_coding_gives_the_same_parity_as_whole_piece_coding() {
        let params = small(4, 7);
        // Three stripes, the last one short.
        let data = sample(4 * (2 * STRIPE_SIZE + 4096), 13);
        let encoded = encode_segment(&params, &data).unwrap();
        let whole = reed_solomon_simd::encode(4, 3, encoded.pieces[..4].iter()).unwrap();
        assert!(whole.iter().eq(encoded.pieces[4..].iter()));
    }

    #[test]
    fn decoding_from_only_parity_pieces_across_stripes_restores_the_segment() {
        let params = small(3, 6);
        let data = sample(3 * STRIPE_SIZE + 1000, 7);
        let encoded = encode_segment(&params, &data).unwrap();
        let pieces: Vec<(u16, &[u8])> = (3..6)
            .map(|i| (i, encoded.pieces[usize::from(i)].as_slice()))
            .collect();
        let decoded = decode_segment(&params, data.len() as u64, &pieces).unwrap();
        assert!(decoded == data);
    }

    #[test]
    fn too_few_duplicate_misplaced_or_missized_pieces_are_typed_errors() {
        let params = ErasureParams::DEVNET;
        let encoded = encode_segment(&params, &sample(1000, 3)).unwrap();
        let piece = |i: usize| encoded.pieces[i].as_slice();
        let three = [(0, piece(0)), (1, piece(1)), (5, piece(5))];
        assert!(matches!(
            decode_segment(&params, 1000, &three),
            Err(ErasureError::TooFewPieces { have: 3, need: 4 })
        ));
        let duplicate = [(0, piece(0)), (0, piece(0)), (1, piece(1)), (2, piece(2))];
        assert!(matches!(
            decode_segment(&params, 1000, &duplicate),
            Err(ErasureError::DuplicatePiece(0))
        ));
        let out_of_range = [(6, piece(0))];
        assert!(matches!(
            decode_segment(&params, 1000, &out_of_range),
            Err(ErasureError::PieceIndexOutOfRange { index: 6, total: 6 })
        ));
        let short = [(0, &piece(0)[..64])];
        assert!(matches!(
            decode_segment(&params, 1000, &short),
            Err(ErasureError::WrongPieceSize {
                index: 0,
                expected: 256,
                actual: 64
            })
        ));
        assert!(matches!(
            encode_segment(&small(4, 4), b"x"),
            Err(ErasureError::InvalidParams { .. })
        ));
        assert!(matches!(
            encode_segment(&small(0, 4), b"x"),
            Err(ErasureError::InvalidParams { .. })
        ));
        let tiny = ErasureParams {
            segment_size: 10,
            ..ErasureParams::DEVNET
        };
        assert!(matches!(
            encode_segment(&tiny, &[0; 11]),
            Err(ErasureError::SegmentTooLarge {
                length: 11,
                max: 10
            })
        ));
    }

    #[test]
    fn reused_buffers_give_the_same_pieces_and_bytes_as_fresh_ones() {
        let params = small(4, 6);
        let big = sample(100_000, 5);
        let little = sample(3_000, 9);
        let mut reused = encode_segment(&params, &big).unwrap();
        encode_segment_into(&params, &little, &mut reused).unwrap();
        assert_eq!(reused, encode_segment(&params, &little).unwrap());

        let mut out = big.clone();
        let pieces: Vec<(u16, &[u8])> = (2..6)
            .map(|i| (i, reused.pieces[usize::from(i)].as_slice()))
            .collect();
        decode_segment_into(&params, 3_000, &pieces, &mut out).unwrap();
        assert!(out == little);
    }

    #[test]
    fn segments_cover_the_file_exactly() {
        let params = ErasureParams {
            segment_size: 100,
            ..ErasureParams::DEVNET
        };
        let ranges: Vec<_> = params.segment_ranges(250).collect();
        assert_eq!(ranges, vec![0..100, 100..200, 200..250]);
        assert_eq!(params.segment_ranges(0).count(), 0);
    }

    #[test]
    fn the_documented_loss_probabilities_hold() {
        let devnet = segment_loss_probability(&ErasureParams::DEVNET, 0.1);
        assert!((0.015..0.017).contains(&devnet), "{devnet}");
        let large = segment_loss_probability(&ErasureParams::LARGE_NETWORK, 0.1);
        assert!(large < 1e-20, "{large}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_k_of_n_pieces_rebuild_the_segment(
            (k, n) in (1u16..8).prop_flat_map(|k| (Just(k), (k + 1)..(k + 6))),
            length in 0usize..5000,
            seed in any::<u8>(),
            choice_seed in any::<u64>(),
        ) {
            let params = small(k, n);
            let data = sample(length, seed | 1);
            let encoded = encode_segment(&params, &data).unwrap();
            // Pick k distinct indexes pseudo-randomly.
            let mut indexes: Vec<u16> = (0..n).collect();
            let mut state = choice_seed | 1;
            for i in (1..indexes.len()).rev() {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                indexes.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let chosen: Vec<(u16, &[u8])> = indexes[..usize::from(k)]
                .iter()
                .map(|&i| (i, encoded.pieces[usize::from(i)].as_slice()))
                .collect();
            let decoded = decode_segment(&params, length as u64, &chosen).unwrap();
            prop_assert!(decoded == data);
        }
    }
}
