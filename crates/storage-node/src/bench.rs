//! `groundwork bench storage`: put and get throughput through the whole path — the client's
//! CID, erasure coding and commitments, HTTP on loopback, the providers' verification and durable
//! writes (fsync), and back: parallel fetches, verification, decoding, the CID check and the
//! output file — beside the raw speed of the hashing and coding on the same machine.
//!
//! The input file is pseudo-random, written (and synced) before timing starts. Providers are
//! [`LocalProviders`], devnet-style: each with its own folder on the same disk and its own port,
//! all in this process. Every run's `get` output is compared with the input byte for byte.

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use groundwork_storage_net::commitment::piece_root;
use groundwork_storage_net::erasure::{ErasureParams, decode_segment_into, encode_segment_into};
use groundwork_storage_net::{EncodedSegment, unixfs};
use serde::Serialize;

use crate::client::{TransferOptions, discover, get_file, put_file};
use crate::local::{LocalProviders, LocalProvidersConfig};
use crate::provider_client::ProviderClient;

const MIB: f64 = 1024.0 * 1024.0;
/// Bytes of the raw-speed sample (the raw parts are timed on this much of the file).
const RAW_SAMPLE: u64 = 256 * 1024 * 1024;

/// What to measure.
#[derive(Debug, Clone)]
pub struct StorageBenchOptions {
    /// File size in bytes.
    pub size: u64,
    /// Providers to run.
    pub providers: usize,
    /// Erasure parameters.
    pub params: ErasureParams,
    /// Put/get rounds (medians are reported).
    pub runs: usize,
    /// Folder for the file and the providers (a temporary one inside it is removed at the end).
    pub dir: PathBuf,
}

/// Medians of a storage benchmark, MiB/s of file data.
#[derive(Debug, Clone, Serialize)]
pub struct StorageBenchReport {
    /// File size in bytes.
    pub size: u64,
    /// Providers.
    pub providers: usize,
    /// `k`.
    pub data_pieces: u16,
    /// `n`.
    pub total_pieces: u16,
    /// Segment size.
    pub segment_size: u64,
    /// Rounds.
    pub runs: usize,
    /// Worker threads available.
    pub threads: usize,
    /// Raw: the CID (SHA-256 of 256 KiB leaves, dag-pb nodes), 1 thread.
    pub raw_cid_mib_s: f64,
    /// Raw: BLAKE3 piece commitments of all `n` pieces (per MiB of file data).
    pub raw_commit_mib_s: f64,
    /// Raw: Reed–Solomon encode.
    pub raw_encode_mib_s: f64,
    /// Raw: Reed–Solomon decode with `n − k` data pieces missing.
    pub raw_decode_mib_s: f64,
    /// Put through the whole path.
    pub put_mib_s: f64,
    /// Get through the whole path.
    pub get_mib_s: f64,
    /// CPU seconds (user + system, client and providers together) per put, median.
    pub put_cpu_seconds: f64,
    /// CPU seconds per get, median.
    pub get_cpu_seconds: f64,
    /// Every put time, seconds.
    pub put_seconds: Vec<f64>,
    /// Every get time, seconds.
    pub get_seconds: Vec<f64>,
}

impl fmt::Display for StorageBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "storage: {} MiB file, {} of {} pieces, {} MiB segments, {} providers on loopback, {} threads, median of {} runs",
            self.size / (1 << 20),
            self.data_pieces,
            self.total_pieces,
            self.segment_size / (1 << 20),
            self.providers,
            self.threads,
            self.runs
        )?;
        writeln!(
            f,
            "  raw CID (SHA-256, 1 thread)      {:>8.0} MiB/s",
            self.raw_cid_mib_s
        )?;
        writeln!(
            f,
            "  raw commitments (BLAKE3, n pcs)  {:>8.0} MiB/s",
            self.raw_commit_mib_s
        )?;
        writeln!(
            f,
            "  raw RS encode                    {:>8.0} MiB/s",
            self.raw_encode_mib_s
        )?;
        writeln!(
            f,
            "  raw RS decode (n-k data missing) {:>8.0} MiB/s",
            self.raw_decode_mib_s
        )?;
        writeln!(
            f,
            "  put, end to end                  {:>8.0} MiB/s   (runs: {:?} s)",
            self.put_mib_s, self.put_seconds
        )?;
        writeln!(
            f,
            "  get, end to end                  {:>8.0} MiB/s   (runs: {:?} s)",
            self.get_mib_s, self.get_seconds
        )?;
        let size_mib = self.size as f64 / MIB;
        write!(
            f,
            "  CPU time (user+sys, all threads): put {:.2} s, get {:.2} s per run: on {} otherwise idle cores at most {:.0} / {:.0} MiB/s",
            self.put_cpu_seconds,
            self.get_cpu_seconds,
            self.threads,
            size_mib / (self.put_cpu_seconds / self.threads.max(1) as f64).max(1e-9),
            size_mib / (self.get_cpu_seconds / self.threads.max(1) as f64).max(1e-9),
        )
    }
}

fn write_pseudo_random(path: &Path, size: u64) -> anyhow::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let take = left.min(block.len() as u64) as usize;
        out.write_all(&block[..take])?;
        left -= take as u64;
    }
    let file = out.into_inner().map_err(|error| error.into_error())?;
    file.sync_all()?;
    Ok(())
}

/// CPU time this process has used (user + system, all threads), from `/proc/self/stat`
/// (Linux; 100 clock ticks per second, the kernel's `USER_HZ`); `None` elsewhere.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which ends with the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn rate(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / MIB / elapsed.as_secs_f64().max(1e-9)
}

fn files_equal(a: &Path, b: &Path) -> anyhow::Result<bool> {
    let (mut a, mut b) = (File::open(a)?, File::open(b)?);
    let (mut left, mut right) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let read = a.read(&mut left)?;
        if read == 0 {
            return Ok(b.read(&mut right[..1])? == 0);
        }
        b.read_exact(&mut right[..read])?;
        if left[..read] != right[..read] {
            return Ok(false);
        }
    }
}

struct RawRates {
    cid: f64,
    commit: f64,
    encode: f64,
    decode: f64,
}

fn raw_rates(path: &Path, params: &ErasureParams, size: u64) -> anyhow::Result<RawRates> {
    let sample = size.clamp(1, RAW_SAMPLE);
    let mut data = vec![0u8; usize::try_from(sample)?];
    File::open(path)?.read_exact(&mut data)?;

    let started = Instant::now();
    unixfs::compute_cid(&data[..])?;
    let cid = rate(sample, started.elapsed());

    let mut segments = Vec::new();
    let started = Instant::now();
    for range in params.segment_ranges(sample) {
        let mut encoded = EncodedSegment {
            segment_len: 0,
            piece_size: 0,
            pieces: Vec::new(),
        };
        encode_segment_into(
            params,
            &data[range.start as usize..range.end as usize],
            &mut encoded,
        )?;
        segments.push(encoded);
    }
    let encode = rate(sample, started.elapsed());

    let started = Instant::now();
    for encoded in &segments {
        for piece in &encoded.pieces {
            std::hint::black_box(piece_root(piece));
        }
    }
    let commit = rate(sample, started.elapsed());

    let missing = usize::from(params.parity_pieces()).min(usize::from(params.data_pieces));
    let started = Instant::now();
    let mut out = Vec::new();
    for encoded in &segments {
        let views: Vec<(u16, &[u8])> = encoded
            .pieces
            .iter()
            .enumerate()
            .skip(missing)
            .map(|(index, piece)| (index as u16, piece.as_slice()))
            .collect();
        decode_segment_into(params, encoded.segment_len, &views, &mut out)?;
    }
    let decode = rate(sample, started.elapsed());
    Ok(RawRates {
        cid,
        commit,
        encode,
        decode,
    })
}

/// Runs the benchmark (see the module documentation).
pub fn storage(options: &StorageBenchOptions) -> anyhow::Result<StorageBenchReport> {
    options.params.validate()?;
    if options.providers < usize::from(options.params.total_pieces) {
        bail!(
            "{} providers cannot hold {} distinct pieces per segment",
            options.providers,
            options.params.total_pieces
        );
    }
    std::fs::create_dir_all(&options.dir)?;
    let work = options
        .dir
        .join(format!("groundwork-bench-storage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let result = run(options, &work);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn run(options: &StorageBenchOptions, work: &Path) -> anyhow::Result<StorageBenchReport> {
    let input = work.join("input");
    write_pseudo_random(&input, options.size).context("writing the input file")?;
    let raw = raw_rates(&input, &options.params, options.size)?;

    let client = ProviderClient::new(Duration::from_secs(300));
    let transfer = TransferOptions {
        timeout: Duration::from_secs(300),
        hedge_after: Duration::from_secs(30),
        progress: false,
    };
    let mut put_seconds = Vec::new();
    let mut get_seconds = Vec::new();
    let mut put_cpu = Vec::new();
    let mut get_cpu = Vec::new();
    for run in 0..options.runs.max(1) {
        // Fresh providers each run, so every put really writes.
        let group = LocalProviders::start(LocalProvidersConfig {
            root: work.join(format!("providers-{run}")),
            count: options.providers,
            capacity: options.size.saturating_mul(4).max(1 << 30),
            price: 100,
            bandwidth: 0,
            first_addr: "127.0.0.1:0".parse()?,
            chain_id: None,
        })?;
        let (candidates, errors) = discover(&client, group.urls());
        if let Some(error) = errors.first() {
            bail!("a local provider did not answer: {error}");
        }
        let cpu_before = process_cpu_seconds();
        let put = put_file(&client, &input, options.params, candidates, &transfer)?;
        put_seconds.push(put.elapsed.as_secs_f64());
        let cpu_between = process_cpu_seconds();
        let output = work.join("output");
        let got = get_file(&client, &put.manifest, &output, &transfer)?;
        get_seconds.push(got.elapsed.as_secs_f64());
        let cpu_after = process_cpu_seconds();
        if let (Some(before), Some(between), Some(after)) = (cpu_before, cpu_between, cpu_after) {
            put_cpu.push(between - before);
            get_cpu.push(after - between);
        }
        if !files_equal(&input, &output)? {
            bail!("run {run}: the file fetched differs from the file stored");
        }
        std::fs::remove_file(&output)?;
        drop(group);
        std::fs::remove_dir_all(work.join(format!("providers-{run}")))?;
    }
    let size_mib = options.size as f64 / MIB;
    let mut put_rates: Vec<f64> = put_seconds.iter().map(|s| size_mib / s).collect();
    let mut get_rates: Vec<f64> = get_seconds.iter().map(|s| size_mib / s).collect();
    Ok(StorageBenchReport {
        size: options.size,
        providers: options.providers,
        data_pieces: options.params.data_pieces,
        total_pieces: options.params.total_pieces,
        segment_size: options.params.segment_size,
        runs: options.runs.max(1),
        threads: rayon::current_num_threads(),
        raw_cid_mib_s: raw.cid,
        raw_commit_mib_s: raw.commit,
        raw_encode_mib_s: raw.encode,
        raw_decode_mib_s: raw.decode,
        put_mib_s: median(&mut put_rates),
        put_cpu_seconds: median(&mut put_cpu),
        get_cpu_seconds: median(&mut get_cpu),
        get_mib_s: median(&mut get_rates),
        put_seconds,
        get_seconds,
    })
}
