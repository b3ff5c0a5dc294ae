//! `put` and `get`: a file to pieces on providers and back.
//!
//! # Put
//!
//! The file is read once. An encoder thread reads it segment by segment straight into each
//! segment's `k` data pieces, feeds them to the file's CID ([`unixfs::CidStream`], the IPFS
//! importer's defaults), computes the `n − k` parity pieces from them and every piece's
//! commitment (all on all cores); meanwhile the calling thread uploads the `n` pieces of the
//! previous segment in parallel, each to a different provider ([`crate::placement`]). A failed upload strikes its provider off and the
//! piece goes to the next best one. The result is a [`Manifest`].
//!
//! # Get
//!
//! For each segment, fetches start on `k` pieces at once, data pieces first (decoding them is a
//! copy). A piece counts only if its length and commitment are right; a failed, wrong or missing
//! piece starts a fetch of another one, and so does a fetch still running after
//! [`TransferOptions::hedge_after`] (a slow provider is not waited for). The next segment is
//! fetched while the current one is decoded and written. The file is written next to the output
//! under a temporary name, its CID computed on the fly, and renamed to the output only if the CID
//! is the one asked for.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use groundwork_storage_net::commitment::{Hash, piece_root};
use groundwork_storage_net::erasure::{
    ErasureParams, decode_segment_into, encode_parity, prepare_pieces,
};
use groundwork_storage_net::{EncodedSegment, unixfs};
use rayon::prelude::*;

use crate::manifest::{MANIFEST_VERSION, Manifest, PiecePlacement, SegmentPlacement};
use crate::placement::{Candidate, Placer};
use crate::pool::BufferPool;
use crate::progress::Progress;
use crate::provider_client::{ProviderClient, ProviderError};
use crate::store::root_hex;

/// Timeouts and display of transfers.
#[derive(Debug, Clone)]
pub struct TransferOptions {
    /// Longest one request to a provider may take.
    pub timeout: Duration,
    /// A piece fetch still running after this long makes `get` start fetching another piece.
    pub hedge_after: Duration,
    /// Draw a progress bar (when standard error is a terminal).
    pub progress: bool,
}

impl Default for TransferOptions {
    fn default() -> TransferOptions {
        TransferOptions {
            timeout: Duration::from_secs(60),
            hedge_after: Duration::from_secs(5),
            progress: false,
        }
    }
}

/// Asks every URL for its `/v1/info` in parallel: the providers that answered, and the errors of
/// those that did not.
pub fn discover(client: &ProviderClient, urls: &[String]) -> (Vec<Candidate>, Vec<ProviderError>) {
    let answers: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = urls
            .iter()
            .map(|url| scope.spawn(move || (url.clone(), client.info(url))))
            .collect();
        handles
            .into_iter()
            .filter_map(|handle| handle.join().ok())
            .collect()
    });
    let mut candidates = Vec::new();
    let mut errors = Vec::new();
    for (url, answer) in answers {
        match answer {
            Ok(info) => candidates.push(Candidate::from_info(url, info)),
            Err(error) => errors.push(error),
        }
    }
    (candidates, errors)
}

/// What a `put` did.
#[derive(Debug, Clone)]
pub struct PutReport {
    /// Where the pieces went.
    pub manifest: Manifest,
    /// Wall time of the whole put.
    pub elapsed: Duration,
    /// Uploads that failed and were placed elsewhere.
    pub retried: usize,
}

struct EncodedBatch {
    len: u64,
    encoded: EncodedSegment,
    roots: Vec<Hash>,
}

/// Stores the file at `path`: CID, erasure coding, commitments and parallel uploads to
/// `candidates` (see the module documentation).
pub fn put_file(
    client: &ProviderClient,
    path: &Path,
    params: ErasureParams,
    candidates: Vec<Candidate>,
    options: &TransferOptions,
) -> anyhow::Result<PutReport> {
    params.validate()?;
    let started = Instant::now();
    let file_len = fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    let n = usize::from(params.total_pieces);
    if candidates.len() < n && file_len > 0 {
        bail!(
            "{} of {} pieces per segment need {n} distinct providers, {} answered: start more providers or lower --n",
            params.data_pieces,
            params.total_pieces,
            candidates.len()
        );
    }
    let mut placer = Placer::new(candidates);
    let progress = Progress::new("put", file_len, options.progress);

    let mut segment_file =
        File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let ranges: Vec<_> = params.segment_ranges(file_len).collect();

    std::thread::scope(|scope| -> anyhow::Result<PutReport> {
        let (batches, arriving) = mpsc::sync_channel::<anyhow::Result<EncodedBatch>>(1);
        let (recycle, recycled) = mpsc::channel::<EncodedSegment>();
        let encode_ranges = ranges.clone();
        // One pass over the file: each segment is read straight into its data pieces, which
        // feed the CID and the parity; the commitments follow while the pieces are warm.
        let encoder = scope.spawn(move || {
            let mut cid = unixfs::CidStream::new();
            for range in encode_ranges {
                let len = range.end - range.start;
                let batch = (|| -> anyhow::Result<EncodedBatch> {
                    let mut encoded = recycled.try_recv().unwrap_or(EncodedSegment {
                        segment_len: 0,
                        piece_size: 0,
                        pieces: Vec::new(),
                    });
                    let piece_size = prepare_pieces(&params, len, &mut encoded)?;
                    let mut left = usize::try_from(len)?;
                    for piece in encoded
                        .pieces
                        .iter_mut()
                        .take(usize::from(params.data_pieces))
                    {
                        let filled = left.min(piece_size);
                        segment_file.read_exact(&mut piece[..filled])?;
                        piece[filled..].fill(0);
                        left -= filled;
                    }
                    let mut left = usize::try_from(len)?;
                    for piece in encoded.pieces.iter().take(usize::from(params.data_pieces)) {
                        let filled = left.min(piece_size);
                        cid.update(&piece[..filled]);
                        left -= filled;
                    }
                    let (data, parity) =
                        encoded.pieces.split_at_mut(usize::from(params.data_pieces));
                    encode_parity(&params, data, parity)?;
                    let roots = encoded
                        .pieces
                        .par_iter()
                        .map(|piece| piece_root(piece))
                        .collect();
                    Ok(EncodedBatch {
                        len,
                        encoded,
                        roots,
                    })
                })();
                let failed = batch.is_err();
                if batches.send(batch).is_err() || failed {
                    return None;
                }
            }
            Some(cid.finish())
        });

        let mut segments = Vec::with_capacity(ranges.len());
        let mut retried = 0;
        for number in 0..ranges.len() {
            let batch = arriving
                .recv()
                .context("the encoder stopped early")?
                .with_context(|| format!("encoding segment {number}"))?;
            let (pieces, retries) = upload_segment(client, &mut placer, &batch)
                .with_context(|| format!("uploading segment {number}"))?;
            retried += retries;
            segments.push(SegmentPlacement {
                len: batch.len,
                pieces,
            });
            progress.advance(batch.len);
            let _ = recycle.send(batch.encoded);
        }
        let cid = encoder
            .join()
            .map_err(|_| anyhow::anyhow!("the encoder panicked"))?
            .context("the encoder stopped early")?;
        progress.finish();
        let manifest = Manifest {
            version: MANIFEST_VERSION,
            cid: cid.to_string(),
            file_len,
            data_pieces: params.data_pieces,
            total_pieces: params.total_pieces,
            segment_size: params.segment_size,
            segments,
            deal_id: None,
        };
        manifest.validate()?;
        Ok(PutReport {
            manifest,
            elapsed: started.elapsed(),
            retried,
        })
    })
}

/// Uploads a segment's pieces in parallel to distinct providers; returns their placement and how
/// many uploads had to be retried elsewhere.
fn upload_segment(
    client: &ProviderClient,
    placer: &mut Placer,
    batch: &EncodedBatch,
) -> anyhow::Result<(Vec<PiecePlacement>, usize)> {
    let piece_len = batch.encoded.piece_size as u64;
    let total = batch.encoded.pieces.len();
    let mut placed: Vec<Option<PiecePlacement>> = vec![None; total];
    let mut used = BTreeSet::new();
    let mut pending: Vec<usize> = (0..total).collect();
    let mut retried = 0;
    let mut failures: Vec<String> = Vec::new();
    while !pending.is_empty() {
        let chosen = placer.choose(pending.len(), piece_len, &used);
        if chosen.len() < pending.len() {
            bail!(
                "no provider left with room for {} more pieces of {piece_len} bytes (each piece of a segment needs its own provider){}",
                pending.len() - chosen.len(),
                if failures.is_empty() {
                    String::new()
                } else {
                    format!("; failures: {}", failures.join("; "))
                }
            );
        }
        let results: Vec<(usize, Candidate, Result<(), ProviderError>)> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = pending
                    .iter()
                    .zip(chosen)
                    .map(|(&index, candidate)| {
                        let piece = &batch.encoded.pieces[index];
                        let root = &batch.roots[index];
                        scope.spawn(move || {
                            let result = client.put_piece(&candidate.url, root, piece).map(|_| ());
                            (index, candidate, result)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .filter_map(|handle| handle.join().ok())
                    .collect()
            });
        pending.clear();
        for (index, candidate, result) in results {
            used.insert(candidate.url.clone());
            match result {
                Ok(()) => {
                    placed[index] = Some(PiecePlacement {
                        index: u16::try_from(index)?,
                        root: root_hex(&batch.roots[index]),
                        len: piece_len,
                        provider: candidate.info.provider.clone(),
                        url: candidate.url.clone(),
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "upload failed; placing the piece elsewhere");
                    failures.push(error.to_string());
                    placer.unplan(&candidate.url, piece_len);
                    placer.strike(&candidate.url);
                    pending.push(index);
                    retried += 1;
                }
            }
        }
    }
    let pieces = placed.into_iter().flatten().collect::<Vec<_>>();
    if pieces.len() != total {
        bail!("only {} of {total} pieces were placed", pieces.len());
    }
    Ok((pieces, retried))
}

/// What a `get` did.
#[derive(Debug, Clone, Default)]
pub struct GetReport {
    /// Bytes written.
    pub bytes: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Piece fetches that failed or returned wrong bytes: `(segment, piece, reason)`.
    pub failures: Vec<(usize, u16, String)>,
}

/// Verified pieces of a segment, `(index, bytes)`.
pub type SegmentPieces = Vec<(u16, Vec<u8>)>;
/// Fetches that failed on the way, `(piece index, reason)`.
pub type FetchFailures = Vec<(u16, String)>;

/// Fetches a segment's pieces until `k` good ones are in (see the module documentation): the
/// pieces (or why too few could be had), and the fetches that failed on the way.
pub fn fetch_segment(
    client: &ProviderClient,
    segment: &SegmentPlacement,
    data_pieces: u16,
    options: &TransferOptions,
) -> (anyhow::Result<SegmentPieces>, FetchFailures) {
    fetch_segment_with(client, segment, data_pieces, options, &BufferPool::new(0))
}

/// [`fetch_segment`] with piece buffers taken from `pool`.
pub fn fetch_segment_with(
    client: &ProviderClient,
    segment: &SegmentPlacement,
    data_pieces: u16,
    options: &TransferOptions,
    pool: &BufferPool,
) -> (anyhow::Result<SegmentPieces>, FetchFailures) {
    let k = usize::from(data_pieces);
    // Data pieces first: decoding from them is a copy.
    let order: Vec<PiecePlacement> = segment.pieces.to_vec();
    let (sender, results) = mpsc::channel::<(u16, Result<Vec<u8>, String>)>();
    let launch = |piece: &PiecePlacement| {
        let sender = sender.clone();
        let client = client.clone();
        let piece = piece.clone();
        let buffer = pool.take();
        std::thread::spawn(move || {
            let result = (|| {
                let root = piece.root_hash().map_err(|error| error.to_string())?;
                let bytes = client
                    .get_piece_into(&piece.url, &root, piece.len, buffer)
                    .map_err(|error| error.to_string())?;
                let actual = piece_root(&bytes);
                if actual != root {
                    return Err(format!(
                        "provider {} sent bytes with commitment {}, not {}",
                        piece.url,
                        root_hex(&actual),
                        piece.root
                    ));
                }
                Ok(bytes)
            })();
            let _ = sender.send((piece.index, result));
        });
    };
    let mut good: Vec<(u16, Vec<u8>)> = Vec::with_capacity(k);
    let mut failures = Vec::new();
    let mut next = 0;
    let mut in_flight = 0usize;
    while good.len() < k {
        while in_flight + good.len() < k && next < order.len() {
            launch(&order[next]);
            next += 1;
            in_flight += 1;
        }
        if in_flight == 0 {
            let reasons: Vec<String> = failures
                .iter()
                .map(|(index, reason)| format!("piece {index}: {reason}"))
                .collect();
            return (
                Err(anyhow::anyhow!(
                    "only {} of the {k} pieces needed could be fetched and verified ({})",
                    good.len(),
                    reasons.join("; ")
                )),
                failures,
            );
        }
        match results.recv_timeout(options.hedge_after) {
            Ok((index, Ok(bytes))) => {
                in_flight -= 1;
                if !good.iter().any(|(have, _)| *have == index) {
                    good.push((index, bytes));
                }
            }
            Ok((index, Err(reason))) => {
                in_flight -= 1;
                failures.push((index, reason));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // A fetch is slow: ask one more provider, keep the slow one going.
                if next < order.len() {
                    launch(&order[next]);
                    next += 1;
                    in_flight += 1;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    (Ok(good), failures)
}

fn partial_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".into());
    output.with_file_name(format!(".{name}.partial-{:08x}", rand::random::<u32>()))
}

/// Fetches the file a manifest describes into `output`, verifying every piece against its
/// commitment and the whole file against the CID (see the module documentation).
pub fn get_file(
    client: &ProviderClient,
    manifest: &Manifest,
    output: &Path,
    options: &TransferOptions,
) -> anyhow::Result<GetReport> {
    manifest.validate()?;
    let started = Instant::now();
    let params = manifest.params();
    let partial = partial_path(output);
    let result = write_verified(client, manifest, &params, &partial, options);
    match result {
        Ok(mut report) => {
            fs::rename(&partial, output)
                .with_context(|| format!("moving the file to {}", output.display()))?;
            report.elapsed = started.elapsed();
            Ok(report)
        }
        Err(error) => {
            let _ = fs::remove_file(&partial);
            Err(error)
        }
    }
}

fn write_verified(
    client: &ProviderClient,
    manifest: &Manifest,
    params: &ErasureParams,
    partial: &Path,
    options: &TransferOptions,
) -> anyhow::Result<GetReport> {
    let mut file =
        File::create(partial).with_context(|| format!("creating {}", partial.display()))?;
    let progress = Progress::new("get", manifest.file_len, options.progress);
    let mut report = GetReport::default();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (to_cid, cid_input) = mpsc::sync_channel::<Vec<u8>>(2);
        let (returns, returned) = mpsc::channel::<Vec<u8>>();
        // The CID is streamed from the decoded segments themselves (no copy into a reader).
        let cid_thread = scope.spawn(move || {
            let mut cid = unixfs::CidStream::new();
            for segment in cid_input {
                cid.update(&segment);
                let _ = returns.send(segment);
            }
            cid.finish()
        });
        // Piece buffers: two segments' worth (one being fetched, one being decoded).
        let pool = BufferPool::new(2 * usize::from(manifest.total_pieces));
        let fetch_pool = pool.clone();
        type Fetched = (anyhow::Result<SegmentPieces>, FetchFailures);
        let (fetched, arriving) = mpsc::sync_channel::<Fetched>(1);
        scope.spawn(move || {
            for segment in &manifest.segments {
                let result =
                    fetch_segment_with(client, segment, manifest.data_pieces, options, &fetch_pool);
                let failed = result.0.is_err();
                if fetched.send(result).is_err() || failed {
                    return;
                }
            }
        });
        for (number, segment) in manifest.segments.iter().enumerate() {
            let (pieces, failures) = arriving.recv().context("the fetcher stopped early")?;
            report.failures.extend(
                failures
                    .into_iter()
                    .map(|(index, reason)| (number, index, reason)),
            );
            let pieces = pieces.with_context(|| format!("fetching segment {number}"))?;
            let views: Vec<(u16, &[u8])> = pieces
                .iter()
                .map(|(index, bytes)| (*index, bytes.as_slice()))
                .collect();
            let mut decoded = returned.try_recv().unwrap_or_default();
            decode_segment_into(params, segment.len, &views, &mut decoded)
                .with_context(|| format!("decoding segment {number}"))?;
            drop(views);
            for (_, bytes) in pieces {
                pool.give(bytes);
            }
            file.write_all(&decoded)
                .with_context(|| format!("writing {}", partial.display()))?;
            report.bytes += decoded.len() as u64;
            progress.advance(decoded.len() as u64);
            if to_cid.send(decoded).is_err() {
                break;
            }
        }
        drop(to_cid);
        let cid = cid_thread
            .join()
            .map_err(|_| anyhow::anyhow!("the CID computation panicked"))?;
        if cid.to_string() != manifest.cid {
            bail!(
                "the rebuilt file has CID {cid}, not {}: the placement does not describe this file",
                manifest.cid
            );
        }
        Ok(())
    })?;
    file.sync_all()
        .with_context(|| format!("writing {}", partial.display()))?;
    progress.finish();
    Ok(report)
}
