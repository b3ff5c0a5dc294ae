//! `groundwork bench consensus`: a local network of validator processes (Simplex over loopback,
//! each with its own store), loaded with signed transfers over HTTP, measured from outside.
//!
//! Transfers are signed up front by funded genesis accounts; each sender's transfers go to one
//! validator (sender `s` to validator `s mod N`), so every validator receives submissions and
//! shares them with the others. They go in batches (`POST /v1/txs/batch`, `--batch` transfers
//! per request) or, with `--batch 1`, one per request (`POST /v1/txs`). A watcher reads validator-0's blocks as they commit. Reported:
//! committed transfers per second (all transfers over the time from the first submission to the
//! commit of the last) and, per transfer, the time from its submission to the moment the watcher
//! saw it in a committed block (median and 99th percentile; the watcher polls every 20 ms).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use groundwork_app::Genesis;
use groundwork_app::genesis::GenesisAccount;
use groundwork_app::tx;
use groundwork_node::home::{self, Home};
use groundwork_primitives::{Address, Amount, SigningKey, sha256};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::network::{NetworkSpec, Validators, write_testnet};

/// The part of `GET /v1/blocks/{height}` the watcher reads.
#[derive(Deserialize)]
struct WatchedBlock {
    txs: Vec<WatchedTx>,
}

/// A transaction of a watched block: its hash (the other fields are skipped unread).
#[derive(Deserialize)]
struct WatchedTx {
    hash: String,
}

/// `groundwork bench consensus`
#[derive(Debug, clap::Args)]
pub(crate) struct BenchConsensusArgs {
    /// Validators, one process each.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub(crate) validators: u16,
    /// Funded accounts sending transfers.
    #[arg(long, default_value_t = 2_000)]
    pub(crate) senders: usize,
    /// Transfers each sender sends (at most 64: the mempool's nonce gap).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub(crate) per_sender: u64,
    /// Target block interval in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub(crate) block_ms: u64,
    /// Threads submitting over HTTP.
    #[arg(long, default_value_t = 8)]
    pub(crate) submitters: usize,
    /// Transfers per HTTP request, sent to `POST /v1/txs/batch`; 1 sends each to `POST /v1/txs`
    /// on its own (the path before batches, to compare).
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub(crate) batch: u64,
    /// Offered load in transfers per second over all submitters (0: as fast as they go). Below
    /// the network's capacity, finality measures the pipeline rather than a queue.
    #[arg(long, default_value_t = 0)]
    pub(crate) rate: u64,
    /// HTTP port of validator-0 (validator i uses this plus i; p2p ports are 100 above).
    #[arg(long, default_value_t = 28657)]
    pub(crate) http_port: u16,
    /// Give up waiting for commits after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub(crate) timeout_s: u64,
    /// Log filter for the validators (their logs are `node.log` in each validator's folder;
    /// `groundwork_consensus=debug` times each proposal, re-execution and commit).
    #[arg(long, default_value = "warn", value_parser = crate::log_filter)]
    pub(crate) node_log: String,
    /// Keep the network's folder (homes, stores, logs) after the run and print where it is.
    #[arg(long)]
    pub(crate) keep: bool,
}

/// What the benchmark measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ConsensusBenchReport {
    /// Validators.
    pub(crate) validators: usize,
    /// Transfers submitted and accepted.
    pub(crate) submitted: usize,
    /// Transfers seen committed.
    pub(crate) committed: usize,
    /// Transfers per HTTP request (1: `POST /v1/txs`, more: `POST /v1/txs/batch`).
    pub(crate) batch: usize,
    /// Offered load, transfers per second (0: as fast as the submitters go).
    pub(crate) offered_per_second: u64,
    /// Accepted submissions per second (HTTP, all submitters).
    pub(crate) submitted_per_second: f64,
    /// Committed transfers per second, first submission to last commit.
    pub(crate) committed_per_second: f64,
    /// Median time from submission to commit, ms.
    pub(crate) finality_median_ms: u64,
    /// 99th percentile of the same, ms.
    pub(crate) finality_p99_ms: u64,
    /// Blocks that carried the transfers.
    pub(crate) blocks: usize,
    /// The largest of them, in transfers.
    pub(crate) largest_block: usize,
    /// Transactions waiting in each validator's mempool when the last submission was accepted
    /// (how far sharing had spread them).
    pub(crate) mempools_after_submission: Vec<usize>,
    /// Views nullified on validator-0 during the run.
    pub(crate) views_nullified: u64,
    /// Available cores.
    pub(crate) cores: usize,
}

impl fmt::Display for ConsensusBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} validators (separate processes, Simplex over loopback), {} cores",
            self.validators, self.cores
        )?;
        writeln!(
            f,
            "  transfers     {} submitted ({:.0}/s accepted over HTTP, {} per request, offered {}), {} committed in {} blocks (largest {})",
            self.submitted,
            self.submitted_per_second,
            self.batch,
            if self.offered_per_second == 0 {
                "as fast as possible".to_string()
            } else {
                format!("{}/s", self.offered_per_second)
            },
            self.committed,
            self.blocks,
            self.largest_block
        )?;
        writeln!(
            f,
            "  committed     {:.0} transfers/s (first submission to last commit)",
            self.committed_per_second
        )?;
        writeln!(
            f,
            "  finality      median {} ms, p99 {} ms (submission to commit seen on validator-0)",
            self.finality_median_ms, self.finality_p99_ms
        )?;
        writeln!(
            f,
            "  mempools      {:?} transactions waiting per validator when submission ended",
            self.mempools_after_submission
        )?;
        write!(f, "  nullified     {} views", self.views_nullified)
    }
}

/// Retries of a refused submission (a full mempool or a nonce gap clears as blocks commit).
const RETRIES: usize = 600;

/// Submits transfer `i` alone to `POST /v1/txs`, retrying while it is refused.
fn submit_one(
    client: &Client,
    bytes: &[u8],
    i: usize,
    started: Instant,
    submitted_at: &Mutex<Vec<Option<Duration>>>,
) -> anyhow::Result<()> {
    let mut attempts = 0;
    loop {
        let at = started.elapsed();
        match client.post_bytes::<serde_json::Value>("/v1/txs", "application/x-protobuf", bytes) {
            Ok(_) => {
                if let Ok(mut times) = submitted_at.lock() {
                    times[i] = Some(at);
                }
                return Ok(());
            }
            Err(error) if attempts < RETRIES => {
                attempts += 1;
                tracing::debug!(%error, "retrying a submission");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => return Err(error),
        }
    }
}

/// Submits transfers `indices` together to `POST /v1/txs/batch`, resubmitting those refused.
fn submit_batch(
    client: &Client,
    work: &[(usize, Vec<u8>)],
    mut indices: Vec<usize>,
    started: Instant,
    submitted_at: &Mutex<Vec<Option<Duration>>>,
) -> anyhow::Result<()> {
    use groundwork_proto::Message as _;
    let mut attempts = 0;
    loop {
        let body = groundwork_proto::v1::TxBatch {
            txs: indices.iter().map(|&i| work[i].1.clone()).collect(),
        }
        .encode_to_vec();
        let at = started.elapsed();
        let answer: serde_json::Value =
            client.post_bytes("/v1/txs/batch", "application/x-protobuf", &body)?;
        let results = answer["results"]
            .as_array()
            .context("the batch answer has no results")?;
        if results.len() != indices.len() {
            bail!("{} results for a batch of {}", results.len(), indices.len());
        }
        let mut refused = Vec::new();
        let mut reason = String::new();
        if let Ok(mut times) = submitted_at.lock() {
            for (&i, result) in indices.iter().zip(results) {
                if result["status"] == "pending" {
                    times[i] = Some(at);
                } else {
                    reason = result["error"]["message"].to_string();
                    refused.push(i);
                }
            }
        }
        if refused.is_empty() {
            return Ok(());
        }
        attempts += 1;
        if attempts > RETRIES {
            bail!(
                "{} transfers still refused after {RETRIES} retries: {reason}",
                refused.len()
            );
        }
        tracing::debug!(refused = refused.len(), %reason, "resubmitting refused transfers");
        indices = refused;
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sender_key(i: usize) -> SigningKey {
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    SigningKey::from_seed(seed)
}

/// Runs the benchmark and stops the network.
pub(crate) fn run(args: &BenchConsensusArgs) -> anyhow::Result<ConsensusBenchReport> {
    let dir = std::env::temp_dir().join(format!(
        "groundwork-bench-consensus-{}-{}",
        std::process::id(),
        groundwork_node::now_ms()
    ));
    let result = run_in(args, &dir);
    if args.keep {
        eprintln!("the network's folder is kept: {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn run_in(
    args: &BenchConsensusArgs,
    dir: &std::path::Path,
) -> anyhow::Result<ConsensusBenchReport> {
    let validators = usize::from(args.validators);
    let chain_id = "bench-consensus";
    write_testnet(&NetworkSpec {
        out: dir.to_path_buf(),
        chain_id: chain_id.into(),
        validators,
        http_port: args.http_port,
        p2p_port: args
            .http_port
            .checked_add(100)
            .context("--http-port too high")?,
        block_ms: args.block_ms,
        account_name: "operator".into(),
        devnet_keys: false,
    })?;
    // Fund the senders in the one genesis every validator holds.
    let first = Home::new(home::validator_folder(dir, 0));
    let mut genesis: Genesis = first.genesis()?;
    let keys: Vec<SigningKey> = (0..args.senders).map(sender_key).collect();
    for key in &keys {
        genesis.accounts.push(GenesisAccount {
            address: Address::from_public_key(&key.public_key()),
            balance: Amount(10u128.pow(15)),
        });
    }
    genesis.validate()?;
    for i in 0..validators {
        let home = Home::new(home::validator_folder(dir, i));
        std::fs::write(home.genesis_path(), genesis.to_json() + "\n")?;
    }
    let min_fee = genesis.params.accounts.min_fee;
    eprintln!(
        "signing {} transfers from {} senders…",
        args.senders as u64 * args.per_sender,
        args.senders
    );
    // Round by round: every sender's nonce n before any sender's nonce n+1.
    let mut work: Vec<(usize, Vec<u8>)> = Vec::new();
    for nonce in 0..args.per_sender {
        for (s, key) in keys.iter().enumerate() {
            let to = Address([(s % 251) as u8; 20]);
            let bytes = tx::build_signed_tx(
                key,
                chain_id,
                nonce,
                min_fee,
                vec![tx::transfer_message(&to, Amount(1))],
                "",
            );
            work.push((s % validators, bytes));
        }
    }
    let hashes: Vec<String> = work.iter().map(|(_, b)| sha256(b).to_hex()).collect();
    let index: HashMap<String, usize> = hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (h.clone(), i))
        .collect();

    let running = Validators::start(dir, validators, &args.node_log)?;
    let urls = running.urls.clone();
    let watcher = Client::new(&urls[0]);
    // Warm up: the first views can time out while the validators connect to each other; start
    // submitting once the chain commits blocks steadily (three past the first one seen).
    let height_now = || -> anyhow::Result<u64> {
        Ok(watcher.get::<serde_json::Value>("/v1/status")?["height"]
            .as_u64()
            .unwrap_or(0))
    };
    let warm_deadline = Instant::now() + Duration::from_secs(60);
    let first_seen = height_now()?;
    while height_now()? < first_seen + 3 {
        if Instant::now() > warm_deadline {
            bail!("the validators committed no blocks within 60 s of starting");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let start_height = height_now()?;
    eprintln!("{validators} validators up and committing; submitting…");

    // Requests: each a run of consecutive transfers for one validator, taken in turn by the
    // submitters (a sender's later nonces may arrive first: the mempool holds them until the
    // gap closes).
    let batch = args.batch as usize;
    let mut requests: Vec<(usize, Vec<usize>)> = Vec::new();
    {
        let mut per_node: Vec<Vec<usize>> = vec![Vec::new(); validators];
        for (i, (node, _)) in work.iter().enumerate() {
            per_node[*node].push(i);
        }
        let mut chunks: Vec<std::vec::IntoIter<Vec<usize>>> = per_node
            .into_iter()
            .map(|list| {
                list.chunks(batch)
                    .map(<[usize]>::to_vec)
                    .collect::<Vec<_>>()
                    .into_iter()
            })
            .collect();
        loop {
            let before = requests.len();
            for (node, list) in chunks.iter_mut().enumerate() {
                if let Some(chunk) = list.next() {
                    requests.push((node, chunk));
                }
            }
            if requests.len() == before {
                break;
            }
        }
    }

    let started = Instant::now();
    let submitted_at: Arc<Mutex<Vec<Option<Duration>>>> =
        Arc::new(Mutex::new(vec![None; work.len()]));
    let next = Arc::new(AtomicUsize::new(0));
    let work = Arc::new(work);
    let requests = Arc::new(requests);
    let finished = Arc::new(AtomicUsize::new(0));
    let rate = args.rate;
    let submitter_count = args.submitters.max(1);
    let submitters: Vec<_> = (0..submitter_count)
        .map(|_| {
            let (work, requests, next, submitted_at, urls, finished) = (
                work.clone(),
                requests.clone(),
                next.clone(),
                submitted_at.clone(),
                urls.clone(),
                finished.clone(),
            );
            std::thread::spawn(move || -> anyhow::Result<()> {
                let clients: Vec<Client> = urls.iter().map(|u| Client::new(u)).collect();
                loop {
                    let r = next.fetch_add(1, Ordering::Relaxed);
                    let Some((node, indices)) = requests.get(r) else {
                        finished.fetch_add(1, Ordering::Relaxed);
                        return Ok(());
                    };
                    if rate > 0 {
                        // Request r starts once the transfers before it are due.
                        let due = Duration::from_secs_f64((r * batch) as f64 / rate as f64);
                        if let Some(wait) = due.checked_sub(started.elapsed()) {
                            std::thread::sleep(wait);
                        }
                    }
                    let client = &clients[*node];
                    if batch == 1 {
                        for &i in indices {
                            submit_one(client, &work[i].1, i, started, &submitted_at)?;
                        }
                    } else {
                        submit_batch(client, &work, indices.clone(), started, &submitted_at)?;
                    }
                }
            })
        })
        .collect();

    // Watch validator-0's blocks.
    let mut committed_at: Vec<Option<Duration>> = vec![None; work.len()];
    let mut committed = 0usize;
    let mut blocks = 0usize;
    let mut largest_block = 0usize;
    let mut height = start_height;
    let mut last_commit = Duration::ZERO;
    let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
    let mut mempools_after_submission = Vec::new();
    while committed < work.len() {
        if mempools_after_submission.is_empty()
            && finished.load(Ordering::Relaxed) == submitter_count
        {
            for url in &urls {
                let status = Client::new(url).get::<serde_json::Value>("/v1/status")?;
                mempools_after_submission
                    .push(status["mempool_txs"].as_u64().unwrap_or(0) as usize);
            }
        }
        if Instant::now() > deadline {
            bail!(
                "only {committed} of {} transfers committed within {} s",
                work.len(),
                args.timeout_s
            );
        }
        let latest = watcher.get::<serde_json::Value>("/v1/status")?["height"]
            .as_u64()
            .unwrap_or(height);
        let seen = started.elapsed();
        for h in height + 1..=latest {
            // Only the hashes are read: the watcher shares the validators' two cores, so it
            // should cost them as little as it can.
            let block = watcher.get::<WatchedBlock>(&format!("/v1/blocks/{h}"))?;
            let mut ours = 0;
            for t in &block.txs {
                if let Some(&i) = index.get(t.hash.as_str())
                    && committed_at[i].is_none()
                {
                    committed_at[i] = Some(seen);
                    committed += 1;
                    ours += 1;
                }
            }
            if ours > 0 {
                blocks += 1;
                largest_block = largest_block.max(ours);
                last_commit = seen;
            }
        }
        height = latest;
        std::thread::sleep(Duration::from_millis(20));
    }
    let submit_elapsed = {
        let mut last = Duration::ZERO;
        for handle in submitters {
            handle
                .join()
                .map_err(|_| anyhow::anyhow!("a submitter panicked"))??;
        }
        if let Ok(times) = submitted_at.lock() {
            last = times.iter().flatten().max().copied().unwrap_or_default();
        }
        last
    };
    let views_nullified =
        watcher.get::<serde_json::Value>("/v1/status")?["consensus"]["views_nullified"]
            .as_u64()
            .unwrap_or(0);
    running.stop();

    let times = submitted_at
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    let first_submission = times.iter().flatten().min().copied().unwrap_or_default();
    let mut latencies: Vec<u64> = times
        .iter()
        .zip(&committed_at)
        .filter_map(|(s, c)| Some(c.as_ref()?.saturating_sub(*s.as_ref()?).as_millis() as u64))
        .collect();
    latencies.sort_unstable();
    let percentile = |p: usize| {
        latencies
            .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let span = last_commit.saturating_sub(first_submission).as_secs_f64();
    Ok(ConsensusBenchReport {
        validators,
        batch,
        offered_per_second: args.rate,
        submitted: times.iter().flatten().count(),
        committed,
        submitted_per_second: work.len() as f64 / submit_elapsed.as_secs_f64().max(1e-9),
        committed_per_second: committed as f64 / span.max(1e-9),
        finality_median_ms: percentile(50),
        finality_p99_ms: percentile(99),
        blocks,
        largest_block,
        mempools_after_submission,
        views_nullified,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    })
}
