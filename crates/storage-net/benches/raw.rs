//! Raw speeds of the storage network's hot paths on this machine, over 256 MiB of pseudo-random
//! data: CID computation, BLAKE3 piece commitments, Reed–Solomon encode and decode (with `n − k`
//! data pieces missing), and the `put`/`get` work they add up to. Prints the median of 5 runs.
//!
//! Run: `cargo bench -p groundwork-storage-net --bench raw`

use std::error::Error;
use std::hint::black_box;
use std::time::{Duration, Instant};

use groundwork_storage_net::commitment::piece_root;
use groundwork_storage_net::erasure::{
    EncodedSegment, ErasureParams, decode_segment_into, encode_segment, encode_segment_into,
};
use groundwork_storage_net::unixfs::compute_cid;
use sha2::Digest;

const DATA_SIZE: usize = 256 * 1024 * 1024;
const RUNS: usize = 5;
const MIB: f64 = 1024.0 * 1024.0;

/// Pieces by index.
type Pieces = Vec<(u16, Vec<u8>)>;

fn pseudo_random(length: usize) -> Vec<u8> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut data = Vec::with_capacity(length);
    while data.len() < length {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(length);
    data
}

/// Runs `work` [`RUNS`] times and prints the median rate over `bytes` bytes.
fn measure(
    name: &str,
    bytes: usize,
    mut work: impl FnMut() -> Result<(), Box<dyn Error>>,
) -> Result<f64, Box<dyn Error>> {
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        work()?;
        times.push(start.elapsed());
    }
    times.sort();
    let median = times[RUNS / 2];
    let rate = bytes as f64 / MIB / median.as_secs_f64();
    println!(
        "{name:<52} {rate:>8.0} MiB/s   (median {:>7.1} ms, min {:>7.1} ms, max {:>7.1} ms)",
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[RUNS - 1].as_secs_f64() * 1e3,
    );
    Ok(rate)
}

fn main() -> Result<(), Box<dyn Error>> {
    let params = ErasureParams::DEVNET;
    let data = pseudo_random(DATA_SIZE);
    println!(
        "groundwork-storage-net raw speeds: {} MiB of data, {} rayon threads, {} of {} pieces, {} MiB segments, median of {RUNS}",
        DATA_SIZE / (1 << 20),
        rayon::current_num_threads(),
        params.data_pieces,
        params.total_pieces,
        params.segment_size >> 20,
    );
    let segment_size = usize::try_from(params.segment_size)?;
    let segments: Vec<&[u8]> = data.chunks(segment_size).collect();

    measure(
        "reference: sha2-256 of one buffer, 1 thread",
        DATA_SIZE,
        || {
            black_box(sha2::Sha256::digest(&data));
            Ok(())
        },
    )?;
    measure(
        "reference: BLAKE3 of one buffer, 1 thread",
        DATA_SIZE,
        || {
            black_box(blake3::hash(&data));
            Ok(())
        },
    )?;

    measure(
        "CID (sha2-256 over 256 KiB chunks, dag-pb tree)",
        DATA_SIZE,
        || {
            black_box(compute_cid(&data[..])?);
            Ok(())
        },
    )?;

    // Commit the data as pieces of the size the devnet parameters give (16 MiB).
    let piece_size = params.piece_size(params.segment_size);
    measure("BLAKE3 piece commitments (4 KiB leaves)", DATA_SIZE, || {
        for piece in data.chunks(piece_size) {
            black_box(piece_root(piece));
        }
        Ok(())
    })?;

    // The pipelines reuse their buffers from segment to segment, as `put` and `get` would.
    let mut pieces_buffer = EncodedSegment {
        segment_len: 0,
        piece_size: 0,
        pieces: Vec::new(),
    };
    measure("Reed-Solomon encode (segment bytes in)", DATA_SIZE, || {
        for segment in &segments {
            encode_segment_into(&params, segment, &mut pieces_buffer)?;
            black_box(&pieces_buffer);
        }
        Ok(())
    })?;

    let encoded = segments
        .iter()
        .map(|segment| encode_segment(&params, segment))
        .collect::<Result<Vec<_>, _>>()?;
    let missing = usize::from(params.parity_pieces());
    // The last k pieces of each segment: all data pieces but the first n − k, plus all parity.
    let surviving = |segment: &EncodedSegment| -> Result<Pieces, Box<dyn Error>> {
        let mut kept = Vec::new();
        for (index, piece) in segment.pieces.iter().enumerate().skip(missing) {
            kept.push((u16::try_from(index)?, piece.clone()));
        }
        Ok(kept)
    };
    let survivors = encoded
        .iter()
        .map(|segment| Ok((segment.segment_len, surviving(segment)?)))
        .collect::<Result<Vec<_>, Box<dyn Error>>>()?;
    let mut segment_buffer = Vec::new();
    measure(
        &format!("Reed-Solomon decode, {missing} data pieces missing (bytes out)"),
        DATA_SIZE,
        || {
            for (segment_len, kept) in &survivors {
                let pieces: Vec<(u16, &[u8])> = kept
                    .iter()
                    .map(|(index, piece)| (*index, piece.as_slice()))
                    .collect();
                decode_segment_into(&params, *segment_len, &pieces, &mut segment_buffer)?;
                black_box(&segment_buffer);
            }
            Ok(())
        },
    )?;

    measure(
        "put work: CID + encode + commit all n pieces (file bytes)",
        DATA_SIZE,
        || {
            black_box(compute_cid(&data[..])?);
            for segment in &segments {
                encode_segment_into(&params, segment, &mut pieces_buffer)?;
                for piece in &pieces_buffer.pieces {
                    black_box(piece_root(piece));
                }
            }
            Ok(())
        },
    )?;

    measure(
        "get work: decode from k pieces + sha2-256 CID hashing (file bytes)",
        DATA_SIZE,
        || {
            for (segment_len, kept) in &survivors {
                let pieces: Vec<(u16, &[u8])> = kept
                    .iter()
                    .map(|(index, piece)| (*index, piece.as_slice()))
                    .collect();
                decode_segment_into(&params, *segment_len, &pieces, &mut segment_buffer)?;
                black_box(compute_cid(&segment_buffer[..])?);
            }
            Ok(())
        },
    )?;
    Ok(())
}
