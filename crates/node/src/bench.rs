//! Throughput benchmarks behind `groundwork bench`: measured on the real code path with a real
//! store on disk, never asserted in tests. Results go to `docs/benchmarks.md`.

use std::fmt;
use std::time::Instant;

use groundwork_app::genesis::{GenesisAccount, GenesisParams, GenesisValidator, TokenInfo};
use groundwork_app::{App, BlockLimits, Genesis, tx};
use groundwork_primitives::{
    Address, Amount, PublicKey, Signature, SigningKey, batch_verify_ed25519, domain, signed_message,
};
use groundwork_state::Store;
use serde::Serialize;

/// Settings of the transfer benchmark.
#[derive(Debug, Clone)]
pub struct TransferBenchOptions {
    /// Funded accounts that send and receive.
    pub accounts: usize,
    /// Transfers per block.
    pub block_size: usize,
    /// Blocks to measure.
    pub blocks: usize,
}

/// What the transfer benchmark measured.
#[derive(Debug, Clone, Serialize)]
pub struct TransferBenchReport {
    /// Settings.
    pub accounts: usize,
    /// Transfers per block.
    pub block_size: usize,
    /// Blocks measured.
    pub blocks: usize,
    /// Threads the app used for signature checks.
    pub threads: usize,
    /// Transfers committed per second over the whole run.
    pub overall_tps: f64,
    /// Median over blocks of transfers per second.
    pub median_block_tps: f64,
    /// Median time to produce and commit one block, ms.
    pub median_block_ms: f64,
    /// Slowest block, ms.
    pub max_block_ms: f64,
    /// Transfers that failed (should be 0).
    pub failed: usize,
    /// Mempool admission (`check_tx`, one thread) per second.
    pub check_tx_per_second: f64,
    /// Median milliseconds per block in each phase.
    pub phases_ms: PhaseTimes,
}

/// Median milliseconds per block spent in each phase of the path.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhaseTimes {
    /// `prepare_proposal`: decode, nonce and funds checks against the committed state.
    pub prepare: f64,
    /// `finalize_block`: decoding and batched signature checks, on all threads.
    pub decode_verify: f64,
    /// `finalize_block`: executing the transfers on overlays.
    pub execute: f64,
    /// `finalize_block`: the Merkle tree update for the new state root.
    pub state_root: f64,
    /// `finalize_block`: everything else (results, header, encoding).
    pub finalize_other: f64,
    /// `commit`: the durable redb write.
    pub commit: f64,
}

impl fmt::Display for TransferBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "transfers: {} blocks of {} over {} accounts ({} threads)\n  committed transfers/s: median per block {:.0}, overall {:.0}\n  block produce+commit: median {:.1} ms, max {:.1} ms\n  failed: {}\n  check_tx (mempool admission, 1 thread): {:.0}/s\n  median ms per block: prepare {:.1}, decode+verify {:.1}, execute {:.1}, state root {:.1}, other {:.1}, commit {:.1}",
            self.blocks,
            self.block_size,
            self.accounts,
            self.threads,
            self.median_block_tps,
            self.overall_tps,
            self.median_block_ms,
            self.max_block_ms,
            self.failed,
            self.check_tx_per_second,
            self.phases_ms.prepare,
            self.phases_ms.decode_verify,
            self.phases_ms.execute,
            self.phases_ms.state_root,
            self.phases_ms.finalize_other,
            self.phases_ms.commit
        )
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn seeded_key(i: usize) -> SigningKey {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    seed[8] = 0xbe;
    SigningKey::from_seed(seed)
}

/// Runs `f` on a fresh folder under the system's temporary folder (named after `prefix`, this
/// process and the time), removed afterwards whatever `f` returns.
pub(crate) fn in_scratch_folder<T>(
    prefix: &str,
    f: impl FnOnce(&std::path::Path) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        crate::now_ms()
    ));
    std::fs::create_dir_all(&dir)?;
    let result = f(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Produces `blocks` blocks of `block_size` signed transfers through `App::produce_block` on a
/// store in a temporary folder, and times them. Signing happens before the clock starts.
pub fn transfers(options: &TransferBenchOptions) -> anyhow::Result<TransferBenchReport> {
    anyhow::ensure!(
        options.accounts >= 2 && options.block_size >= 1 && options.blocks >= 1,
        "need at least 2 accounts, 1 transfer and 1 block"
    );
    in_scratch_folder("groundwork-bench", |dir| run_transfers(options, dir))
}

fn run_transfers(
    options: &TransferBenchOptions,
    dir: &std::path::Path,
) -> anyhow::Result<TransferBenchReport> {
    let chain_id = "groundwork-bench";
    let keys: Vec<SigningKey> = (0..options.accounts).map(seeded_key).collect();
    let addresses: Vec<Address> = keys
        .iter()
        .map(|k| Address::from_public_key(&k.public_key()))
        .collect();
    let validator = seeded_key(usize::MAX);
    let genesis = Genesis {
        makers: Vec::new(),
        chain_id: chain_id.into(),
        genesis_time_ms: 1,
        token: TokenInfo::default(),
        params: GenesisParams::default(),
        accounts: addresses
            .iter()
            .map(|a| GenesisAccount {
                address: *a,
                balance: Amount(1_000_000_000_000_000),
            })
            .collect(),
        validators: vec![GenesisValidator {
            name: "bench".into(),
            public_key: hex::encode(validator.public_key().as_bytes()),
            power: 1,
        }],
    };
    let store = Store::open(&dir.join("state.redb"))?;
    let mut app = App::open(store)?;
    app.init_chain(&genesis)?;

    // Sign everything first, on every core.
    let total = options.block_size * options.blocks;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let fee = groundwork_app::modules::accounts::params::DEFAULT_MIN_FEE;
    let txs: Vec<Vec<u8>> = {
        let per = total.div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let keys = &keys;
                    let addresses = &addresses;
                    scope.spawn(move || {
                        (t * per..((t + 1) * per).min(total))
                            .map(|i| {
                                let sender = i % keys.len();
                                let nonce = (i / keys.len()) as u64;
                                let to = addresses[(i * 7919 + 1) % addresses.len()];
                                tx::build_signed_tx(
                                    &keys[sender],
                                    chain_id,
                                    nonce,
                                    fee,
                                    vec![tx::transfer_message(&to, Amount(1 + (i as u128 % 1000)))],
                                    "",
                                )
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    anyhow::ensure!(txs.len() == total, "signing threads failed");

    // Mempool admission rate on one thread (signature + state reads), on the first block's worth.
    let sample = &txs[..options.block_size.min(5_000)];
    let started = Instant::now();
    for bytes in sample {
        let _ = app.check_tx(bytes)?;
    }
    let check_tx_per_second = sample.len() as f64 / started.elapsed().as_secs_f64();

    let limits = BlockLimits {
        max_txs: options.block_size,
        max_bytes: usize::MAX,
    };
    let proposer: PublicKey = validator.public_key();
    let mut block_ms = Vec::with_capacity(options.blocks);
    let mut block_tps = Vec::with_capacity(options.blocks);
    let mut phases: [Vec<f64>; 6] = Default::default();
    let mut failed = 0;
    let run_started = Instant::now();
    for (k, block_txs) in txs.chunks(options.block_size).enumerate() {
        // The same steps as App::produce_block, timed one by one.
        let started = Instant::now();
        let tip = app.tip()?.ok_or_else(|| anyhow::anyhow!("no tip"))?;
        let chosen = app.prepare_proposal(block_txs, limits)?;
        let prepared = started.elapsed().as_secs_f64();
        let input = groundwork_app::BlockInput {
            height: tip.height + 1,
            time_ms: 1_000 + k as u64 * 1_000,
            parent_hash: tip.block_hash,
            proposer,
            txs: chosen,
            reports: Vec::new(),
        };
        let phase = Instant::now();
        let block = app.finalize_block(input)?.clone();
        let finalized = phase.elapsed().as_secs_f64();
        let phase = Instant::now();
        app.commit()?;
        let committed = phase.elapsed().as_secs_f64();
        let elapsed = started.elapsed().as_secs_f64();
        failed += block
            .results
            .tx_results
            .iter()
            .filter(|r| r.code != 0)
            .count();
        anyhow::ensure!(
            block.tx_hashes.len() == block_txs.len(),
            "block {} took {} of {} transfers",
            k + 1,
            block.tx_hashes.len(),
            block_txs.len()
        );
        let t = block.timings;
        let ms = |us: u64| us as f64 / 1000.0;
        phases[0].push(prepared * 1000.0);
        phases[1].push(ms(t.decode_verify_us));
        phases[2].push(ms(t.execute_us));
        phases[3].push(ms(t.state_root_us));
        phases[4]
            .push(finalized * 1000.0 - ms(t.decode_verify_us + t.execute_us + t.state_root_us));
        phases[5].push(committed * 1000.0);
        block_ms.push(elapsed * 1000.0);
        block_tps.push(block_txs.len() as f64 / elapsed);
    }
    let overall = total as f64 / run_started.elapsed().as_secs_f64();
    let max_block_ms = block_ms.iter().copied().fold(0.0, f64::max);
    Ok(TransferBenchReport {
        accounts: options.accounts,
        block_size: options.block_size,
        blocks: options.blocks,
        threads,
        overall_tps: overall,
        median_block_tps: median(&mut block_tps),
        median_block_ms: median(&mut block_ms),
        max_block_ms,
        failed,
        check_tx_per_second,
        phases_ms: PhaseTimes {
            prepare: median(&mut phases[0]),
            decode_verify: median(&mut phases[1]),
            execute: median(&mut phases[2]),
            state_root: median(&mut phases[3]),
            finalize_other: median(&mut phases[4]),
            commit: median(&mut phases[5]),
        },
    })
}

/// Raw ed25519 verification rates.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyBenchReport {
    /// Signatures per measurement.
    pub count: usize,
    /// One at a time, one thread.
    pub single_one_thread: f64,
    /// Batches of 64, one thread.
    pub batch_one_thread: f64,
    /// Batches of 64, all threads.
    pub batch_all_threads: f64,
    /// Threads used for the last figure.
    pub threads: usize,
}

impl fmt::Display for VerifyBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ed25519 verification of {} signatures:\n  single, 1 thread:   {:.0}/s\n  batched, 1 thread:  {:.0}/s\n  batched, {} threads: {:.0}/s",
            self.count,
            self.single_one_thread,
            self.batch_one_thread,
            self.threads,
            self.batch_all_threads
        )
    }
}

/// Times ed25519 verification of `count` distinct signatures three ways.
pub fn verify(count: usize) -> VerifyBenchReport {
    let count = count.max(64);
    let keys: Vec<SigningKey> = (0..256).map(seeded_key).collect();
    let messages: Vec<Vec<u8>> = (0..count)
        .map(|i| signed_message(domain::TRANSACTION, "bench", &(i as u64).to_le_bytes()))
        .collect();
    let signatures: Vec<(PublicKey, Signature)> = (0..count)
        .map(|i| {
            let key = &keys[i % keys.len()];
            (
                key.public_key(),
                key.sign(domain::TRANSACTION, "bench", &(i as u64).to_le_bytes()),
            )
        })
        .collect();
    let items: Vec<(PublicKey, &[u8], Signature)> = signatures
        .iter()
        .zip(&messages)
        .map(|((k, s), m)| (*k, m.as_slice(), *s))
        .collect();

    let started = Instant::now();
    let ok = items
        .iter()
        .filter(|(k, m, s)| k.verify_message(m, s).is_ok())
        .count();
    let single = count as f64 / started.elapsed().as_secs_f64();
    debug_assert_eq!(ok, count);

    let started = Instant::now();
    let _ = batch_verify_ed25519(&items);
    let batch = count as f64 / started.elapsed().as_secs_f64();

    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let per = count.div_ceil(threads).div_ceil(64) * 64;
    let started = Instant::now();
    std::thread::scope(|scope| {
        for range in items.chunks(per) {
            scope.spawn(move || batch_verify_ed25519(range));
        }
    });
    let parallel = count as f64 / started.elapsed().as_secs_f64();
    VerifyBenchReport {
        count,
        single_one_thread: single,
        batch_one_thread: batch,
        batch_all_threads: parallel,
        threads,
    }
}

/// Settings of the report benchmark.
#[derive(Debug, Clone)]
pub struct ReportBenchOptions {
    /// Sensor devices onboarded before the clock starts.
    pub devices: usize,
    /// Reports per block.
    pub block_size: usize,
    /// Blocks to measure.
    pub blocks: usize,
    /// Journal accepted reports durably in the store before answering, as a node does.
    pub journal: bool,
    /// Reports per ingest request: a block's worth arrives as requests of this many (each
    /// holding whole devices' readings), two in flight, as the node's HTTP workers take them.
    pub request_size: usize,
}

/// What the report benchmark measured.
#[derive(Debug, Clone, Serialize)]
pub struct ReportBenchReport {
    /// Devices.
    pub devices: usize,
    /// Reports per block.
    pub block_size: usize,
    /// Blocks measured.
    pub blocks: usize,
    /// Whether accepted reports were journaled durably, as a node does.
    pub journal: bool,
    /// Reports per ingest request.
    pub request_size: usize,
    /// Reports per second through ingest (decode, device lookup, signature, freshness, counter)
    /// and block execution and commit, pipelined as in the node (ingest of the next batch
    /// overlaps the current block): all reports over the whole run's wall time.
    pub end_to_end_per_second: f64,
    /// Median reports per second at ingest alone.
    pub median_ingest_per_second: f64,
    /// Median reports per second through block execution and commit alone.
    pub median_block_per_second: f64,
    /// Median ms per block of each phase of the block path: decoding and signatures, execution
    /// (verdicts and aggregates), the state root, and the rest (encoding, indexes, the durable
    /// commit).
    pub median_block_phases_ms: [f64; 4],
    /// Valid verdicts (should be every report).
    pub valid: usize,
    /// Invalid verdicts.
    pub invalid: usize,
    /// The first invalid verdict's reason, if any (a benchmark input bug).
    pub first_invalid: Option<String>,
}

impl fmt::Display for ReportBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reports: {} blocks of {} from {} sensors ({}, requests of {})\n  ingested, verified and committed: {:.0}/s end to end (pipelined)\n  ingest alone {:.0}/s, block execution + commit alone {:.0}/s\n  median ms per block: decode+verify {:.1}, execute {:.1}, state root {:.1}, encode+index+commit {:.1}\n  verdicts: {} valid, {} invalid",
            self.blocks,
            self.block_size,
            self.devices,
            if self.journal {
                "accepted reports journaled durably, as a node does"
            } else {
                "no journal"
            },
            self.request_size,
            self.end_to_end_per_second,
            self.median_ingest_per_second,
            self.median_block_per_second,
            self.median_block_phases_ms[0],
            self.median_block_phases_ms[1],
            self.median_block_phases_ms[2],
            self.median_block_phases_ms[3],
            self.valid,
            self.invalid
        )?;
        if let Some(reason) = &self.first_invalid {
            write!(f, "\n  first invalid verdict: {reason}")?;
        }
        Ok(())
    }
}

/// Onboards `devices` sensors, then times blocks of signed sensor readings through the node's
/// ingest queue and the app's block path on a store in a temporary folder.
pub fn reports(options: &ReportBenchOptions) -> anyhow::Result<ReportBenchReport> {
    anyhow::ensure!(
        options.devices >= 1
            && options.block_size >= 1
            && options.blocks >= 1
            && options.request_size >= 1,
        "need devices, reports, blocks and requests of at least one report"
    );
    anyhow::ensure!(
        options.request_size <= groundwork_proto::MAX_REPORTS_PER_BATCH,
        "a request holds at most {} reports",
        groundwork_proto::MAX_REPORTS_PER_BATCH
    );
    in_scratch_folder("groundwork-bench-reports", |dir| run_reports(options, dir))
}

fn run_reports(
    options: &ReportBenchOptions,
    dir: &std::path::Path,
) -> anyhow::Result<ReportBenchReport> {
    use groundwork_app::modules::devices::msgs::{
        device_onboarding_message, maker_attestation_message,
    };
    use groundwork_app::modules::devices::state::DeviceKind;
    use groundwork_app::modules::reports::report_message;
    use groundwork_primitives::DeviceId;
    use groundwork_proto::Message as _;
    use groundwork_proto::v1;

    let chain_id = "groundwork-bench";
    let owner = seeded_key(1);
    let owner_address = Address::from_public_key(&owner.public_key());
    let maker = seeded_key(2);
    let validator = seeded_key(3);
    let genesis = Genesis {
        chain_id: chain_id.into(),
        genesis_time_ms: 1_000,
        token: TokenInfo::default(),
        params: GenesisParams::default(),
        accounts: vec![GenesisAccount {
            address: owner_address,
            balance: Amount(u128::MAX / 4),
        }],
        makers: vec![groundwork_app::genesis::GenesisMaker {
            name: "bench".into(),
            public_key: maker.public_key().to_string(),
            allowance: u64::MAX,
        }],
        validators: vec![GenesisValidator {
            name: "bench".into(),
            public_key: hex::encode(validator.public_key().as_bytes()),
            power: 1,
        }],
    };
    let store = Store::open(&dir.join("state.redb"))?;
    let mut app = App::open(store.clone())?;
    app.init_chain(&genesis)?;
    let proposer = validator.public_key();
    let chain = app
        .chain_info()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no chain"))?;

    // Setup (not timed): onboard the sensors, 64 per transaction.
    let device_keys: Vec<SigningKey> = (0..options.devices)
        .map(|i| seeded_key(1_000_000 + i))
        .collect();
    let mut nonce = 0;
    let mut time = 2_000u64;
    for chunk in device_keys.chunks(1000) {
        let mut txs = Vec::new();
        for group in chunk.chunks(64) {
            let messages = group
                .iter()
                .map(|key| {
                    let public = key.public_key();
                    let maker_sig = maker.sign_message(&maker_attestation_message(
                        chain_id,
                        &public,
                        DeviceKind::Sensor,
                    ));
                    let device_sig =
                        key.sign_message(&device_onboarding_message(chain_id, &owner_address));
                    v1::Message {
                        kind: Some(v1::message::Kind::OnboardDevice(v1::OnboardDevice {
                            device_key: Some(groundwork_app::proto_public_key(&public)),
                            kind: DeviceKind::Sensor.to_proto(),
                            maker: Address::from_public_key(&maker.public_key())
                                .as_bytes()
                                .to_vec(),
                            maker_signature: maker_sig.0.to_vec(),
                            device_signature: device_sig.0.to_vec(),
                            ..Default::default()
                        })),
                    }
                })
                .collect();
            txs.push(tx::build_signed_tx(
                &owner,
                chain_id,
                nonce,
                Amount(1000),
                messages,
                "",
            ));
            nonce += 1;
        }
        let block = app.produce_block(time, proposer, &txs, BlockLimits::default())?;
        anyhow::ensure!(
            block.results.tx_results.iter().all(|r| r.code == 0),
            "onboarding failed: {:?}",
            block.results.tx_results.first()
        );
        time += 1_000;
    }

    // Sign every reading first, on every core.
    let total = options.block_size * options.blocks;
    let start_time = time;
    let block_times: Vec<u64> = (0..options.blocks)
        .map(|b| start_time + b as u64 * 1_000)
        .collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let sign = |i: usize| -> Vec<u8> {
        let device = i % device_keys.len();
        let counter = (i / device_keys.len()) as u64 + 1;
        let block = i / options.block_size;
        let body = v1::ReportBody {
            chain_id: chain_id.into(),
            counter,
            timestamp_ms: block_times[block] - 500 + (counter % 400),
            kind: Some(v1::report_body::Kind::Sensor(v1::SensorReading {
                measurements: vec![v1::Measurement {
                    kind: v1::MeasurementKind::TemperatureC as i32,
                    value_milli: 21_000,
                }],
            })),
        }
        .encode_to_vec();
        let key = &device_keys[device];
        let signature = key.sign_message(&report_message(chain_id, &body));
        v1::ReportEnvelope {
            body,
            device: DeviceId::from_public_key(&key.public_key())
                .as_bytes()
                .to_vec(),
            signature: signature.0.to_vec(),
        }
        .encode_to_vec()
    };
    let indexes: Vec<usize> = (0..total).collect();
    let reports: Vec<Vec<u8>> = groundwork_app::parallel::par_map(&indexes, threads, |&i| sign(i));

    // The node ingests on HTTP worker threads while the producer executes the previous block, so
    // the pipeline overlaps the two: batch b+1 is ingested while block b executes and commits.
    let queue = std::sync::Mutex::new(if options.journal {
        crate::ingest::ReportQueue::with_journal(total.max(1), store.clone(), &store.snapshot()?)?.0
    } else {
        crate::ingest::ReportQueue::new(total.max(1))
    });
    let batches: Vec<&[Vec<u8>]> = reports.chunks(options.block_size).collect();
    let (mut ingest, mut blocks) = (Vec::new(), Vec::new());
    let mut phases: [Vec<f64>; 4] = Default::default();
    let (mut valid, mut invalid) = (0, 0);
    let mut first_invalid = None;
    // A block's worth arrives as requests, each holding whole devices' readings (a gateway
    // forwards its devices'; a device's readings come in counter order), taken by two workers
    // as the node's HTTP workers take them: while one request's journal entries are flushed,
    // the next is checked.
    let requests_of = |b: usize| -> Vec<Vec<Vec<u8>>> {
        let batch = batches[b];
        let count = batch.len().div_ceil(options.request_size);
        let mut requests: Vec<Vec<Vec<u8>>> = vec![Vec::new(); count];
        for (i, report) in batch.iter().enumerate() {
            let device = (b * options.block_size + i) % device_keys.len();
            requests[device % count].push(report.clone());
        }
        requests
    };
    let admit = |requests: Vec<Vec<Vec<u8>>>, b: usize| -> anyhow::Result<f64> {
        let started = Instant::now();
        let snapshot = store.snapshot()?;
        let count: usize = requests.iter().map(Vec::len).sum();
        let requests = std::sync::Mutex::new(requests.into_iter());
        let worker = || -> anyhow::Result<()> {
            loop {
                let request = requests
                    .lock()
                    .map_err(|_| anyhow::anyhow!("request list lock poisoned"))?
                    .next();
                let Some(request) = request else {
                    return Ok(());
                };
                let (outcome, _) = crate::ingest::admit_shared(
                    &queue,
                    &snapshot,
                    &chain,
                    request,
                    block_times[b],
                    threads,
                    false,
                )
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                anyhow::ensure!(
                    outcome.rejected.is_empty(),
                    "ingest refused {:?}",
                    outcome.rejected.first()
                );
            }
        };
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..2).map(|_| scope.spawn(worker)).collect();
            workers.into_iter().try_for_each(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("ingest worker panicked")))
            })
        })?;
        Ok(count as f64 / started.elapsed().as_secs_f64())
    };
    // Requests are built before the clock starts (the node receives them already split).
    let mut requests: Vec<Option<Vec<Vec<Vec<u8>>>>> =
        (0..batches.len()).map(|b| Some(requests_of(b))).collect();
    let mut take_requests = |b: usize| requests[b].take().unwrap_or_default();
    let pipeline_started = Instant::now();
    ingest.push(admit(take_requests(0), 0)?);
    for b in 0..batches.len() {
        let taken: Vec<Vec<u8>> = queue
            .lock()
            .map_err(|_| anyhow::anyhow!("report queue lock poisoned"))?
            .candidates(batches[b].len());
        let next_requests = (b + 1 < batches.len()).then(|| take_requests(b + 1));
        let (block, executed, next) = std::thread::scope(|scope| {
            let next = next_requests.map(|r| scope.spawn(|| admit(r, b + 1)));
            let phase = Instant::now();
            let block = app.produce_block_with_reports(
                block_times[b],
                proposer,
                &[],
                taken,
                BlockLimits::default(),
            );
            let executed = phase.elapsed().as_secs_f64();
            let next = next.map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("ingest thread panicked")))
            });
            (block, executed, next)
        });
        let block = block?;
        if let Some(rate) = next {
            ingest.push(rate?);
        }
        // As in the node: reports leave the queue (and the journal) once a committed block
        // includes them.
        queue
            .lock()
            .map_err(|_| anyhow::anyhow!("report queue lock poisoned"))?
            .after_block(&block.report_hashes, &store.snapshot()?);
        let ok = block
            .results
            .report_results
            .iter()
            .filter(|r| r.code == 0)
            .count();
        if first_invalid.is_none()
            && let Some(bad) = block.results.report_results.iter().find(|r| r.code != 0)
        {
            first_invalid = Some(format!("block {b}: code {}: {}", bad.code, bad.reason));
        }
        valid += ok;
        invalid += batches[b].len() - ok;
        blocks.push(batches[b].len() as f64 / executed);
        let t = &block.timings;
        let ms = |us: u64| us as f64 / 1000.0;
        let measured = [
            ms(t.decode_verify_us),
            ms(t.execute_us),
            ms(t.state_root_us),
        ];
        let rest = executed * 1000.0 - measured.iter().sum::<f64>();
        for (phase, value) in phases.iter_mut().zip(measured.into_iter().chain([rest])) {
            phase.push(value);
        }
    }
    let pipelined = total as f64 / pipeline_started.elapsed().as_secs_f64();
    Ok(ReportBenchReport {
        devices: options.devices,
        block_size: options.block_size,
        blocks: options.blocks,
        journal: options.journal,
        request_size: options.request_size,
        end_to_end_per_second: pipelined,
        median_ingest_per_second: median(&mut ingest),
        median_block_per_second: median(&mut blocks),
        median_block_phases_ms: phases.map(|mut p| median(&mut p)),
        valid,
        invalid,
        first_invalid,
    })
}

/// Settings of the rewards benchmark.
#[derive(Debug, Clone)]
pub struct RewardsBenchOptions {
    /// Devices with counts in the measured epoch.
    pub devices: usize,
    /// Devices per owner (owners are credited once each).
    pub devices_per_owner: usize,
    /// Times the epoch's payout is measured (on fresh overlays of the same state).
    pub runs: usize,
}

/// What the rewards benchmark measured.
#[derive(Debug, Clone, Serialize)]
pub struct RewardsBenchReport {
    /// Devices paid from.
    pub devices: usize,
    /// Owners credited.
    pub owners: u64,
    /// Devices paid more than zero.
    pub devices_paid: u64,
    /// Threads the app used.
    pub threads: usize,
    /// Runs measured.
    pub runs: usize,
    /// Median ms of the whole computation in the app (load, compute, apply to the overlay).
    pub median_compute_ms: f64,
    /// Median CPU time of the computation, all threads, ms (Linux; `None` elsewhere): on a busy
    /// machine wall time stretches, CPU time much less.
    pub median_compute_cpu_ms: Option<f64>,
    /// Median ms reading counts, owners, cells and scores.
    pub median_load_ms: f64,
    /// Median ms of the reward math (reputation, density, HIP-15, pools, shares).
    pub median_math_ms: f64,
    /// Median ms minting to owners and encoding breakdowns into the overlay.
    pub median_apply_ms: f64,
    /// State keys the payout changed (owners' accounts, supply, scores, summary, …).
    pub changed_keys: usize,
    /// Derived breakdown records, and their total bytes.
    pub records: usize,
    /// Bytes of the derived records.
    pub record_bytes: usize,
    /// ms to update the Merkle tree for the changed keys (once).
    pub state_root_ms: f64,
    /// ms of the durable commit of the block: changed keys, tree nodes and records (once).
    pub commit_ms: f64,
    /// ms to write the setup state (not part of the measurement).
    pub setup_ms: f64,
}

impl fmt::Display for RewardsBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rewards: one epoch for {} devices ({} owners, {} devices paid), {} threads, {} runs\n  computation in the app: median {:.0} ms wall, {} CPU (load {:.0}, math {:.0}, apply {:.0} ms wall)\n  state writing: {} changed keys → state root {:.0} ms; commit with {} breakdown records ({:.1} MB) {:.0} ms\n  (setup, not measured: {:.0} ms)",
            self.devices,
            self.owners,
            self.devices_paid,
            self.threads,
            self.runs,
            self.median_compute_ms,
            self.median_compute_cpu_ms
                .map_or("unknown".to_string(), |ms| format!("{ms:.0} ms")),
            self.median_load_ms,
            self.median_math_ms,
            self.median_apply_ms,
            self.changed_keys,
            self.state_root_ms,
            self.records,
            self.record_bytes as f64 / 1e6,
            self.commit_ms,
            self.setup_ms
        )
    }
}

/// CPU time of this process so far (user + system, all threads), ms, from `/proc/self/stat`.
fn process_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; in ticks of
    // 1/100 s (USER_HZ is 100 on Linux).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10.0)
}

/// A small deterministic generator for benchmark inputs (splitmix64).
struct BenchRng(u64);

impl BenchRng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Writes `devices` device records and one epoch of realistic counts straight into a store
/// (setup), then times the rewards module paying that epoch, and the state writing after it.
///
/// The mix: 70% hotspots (hourly heartbeats, a few beacons with 0–14 witnesses, about ten
/// witness reports, data receipts of log-normal size), 30% sensors (heartbeats, readings every
/// 15 minutes); 5% of devices miss heartbeats, 2% have invalid reports (and a stored score);
/// devices spread over H3 res-12 cells across central Europe, clustered in cities so density
/// scaling bites. Device keys are one placeholder key (rewards never read keys).
pub fn rewards(options: &RewardsBenchOptions) -> anyhow::Result<RewardsBenchReport> {
    anyhow::ensure!(
        options.devices >= 1 && options.devices_per_owner >= 1 && options.runs >= 1,
        "need devices, owners and runs"
    );
    in_scratch_folder("groundwork-bench-rewards", |dir| run_rewards(options, dir))
}

fn run_rewards(
    options: &RewardsBenchOptions,
    dir: &std::path::Path,
) -> anyhow::Result<RewardsBenchReport> {
    use groundwork_app::modules::devices::state::{
        DeviceKind, DeviceRecord, DeviceStatus, DevicesWrite,
    };
    use groundwork_app::modules::reports::params::ReportsParams;
    use groundwork_app::modules::reports::state::{EpochCounts, ReportsWrite};
    use groundwork_app::modules::rewards::params::RewardsParams;
    use groundwork_app::modules::rewards::state::RewardsWrite;
    use groundwork_primitives::DeviceId;
    use groundwork_state::{BlockCommit, Overlay};
    use groundwork_tokenomics::{AuditScore, Fixed};

    const EPOCH_BLOCKS: u64 = 10;
    const SETUP_CHUNK: usize = 100_000;
    let validator = seeded_key(3);
    let genesis = Genesis {
        chain_id: "groundwork-bench".into(),
        genesis_time_ms: 1_000,
        token: TokenInfo::default(),
        params: GenesisParams {
            reports: ReportsParams {
                epoch_blocks: EPOCH_BLOCKS,
                ..ReportsParams::default()
            },
            rewards: RewardsParams::devnet(groundwork_primitives::DEFAULT_DECIMALS, 20)
                .map_err(anyhow::Error::msg)?,
            ..GenesisParams::default()
        },
        accounts: vec![GenesisAccount {
            address: Address([1; 20]),
            balance: Amount(1),
        }],
        makers: Vec::new(),
        validators: vec![GenesisValidator {
            name: "bench".into(),
            public_key: hex::encode(validator.public_key().as_bytes()),
            power: 1,
        }],
    };
    let store = Store::open(&dir.join("state.redb"))?;
    let mut app = App::open(store.clone())?;
    app.init_chain(&genesis)?;
    drop(app);

    // Setup: device records and the epoch's counts, in chunks committed as blocks.
    let started = Instant::now();
    let placeholder_key = validator.public_key();
    let mut rng = BenchRng(42);
    let cities: Vec<(f64, f64)> = (0..200)
        .map(|_| (44.0 + rng.unit() * 10.0, 0.0 + rng.unit() * 16.0))
        .collect();
    let epoch = 1u64;
    let mut height = 0u64;
    let mut index = 0usize;
    while index < options.devices {
        let snapshot = store.snapshot()?;
        let mut state = Overlay::new(&snapshot);
        let end = (index + SETUP_CHUNK).min(options.devices);
        for i in index..end {
            let mut id = [0u8; 20];
            id[..8].copy_from_slice(&(i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
            id[8..16].copy_from_slice(&(i as u64).to_be_bytes());
            let device = DeviceId(id);
            let mut owner = [0u8; 20];
            owner[..8].copy_from_slice(&((i / options.devices_per_owner) as u64).to_be_bytes());
            owner[19] = 0x0a;
            let hotspot = rng.below(10) < 7;
            let (lat, lng) = cities[rng.below(cities.len() as u64) as usize];
            let spread = 0.3;
            let cell = h3o::LatLng::new(
                lat + (rng.unit() - 0.5) * spread,
                lng + (rng.unit() - 0.5) * spread,
            )
            .map(|p| u64::from(p.to_cell(h3o::Resolution::Twelve)))
            .ok();
            state.put_device(&DeviceRecord {
                id: device,
                public_key: placeholder_key,
                owner: Address(owner),
                kind: if hotspot {
                    DeviceKind::Hotspot
                } else {
                    DeviceKind::Sensor
                },
                maker: Address([2; 20]),
                location: cell,
                location_asserts: 1,
                antenna_gain_dbi_x10: 30,
                elevation_m: 10,
                status: DeviceStatus::Active,
                onboarded_height: 0,
                stake: Amount(0),
            });
            let mut counts = EpochCounts {
                epoch,
                heartbeats: if rng.below(100) < 5 {
                    rng.below(20)
                } else {
                    20 + rng.below(5)
                },
                ..EpochCounts::default()
            };
            if hotspot {
                let beacons = rng.below(5);
                counts.beacon_witness_counts = (0..beacons).map(|_| rng.below(15) as u32).collect();
                counts.beacons = beacons;
                counts.beacon_witnesses = counts
                    .beacon_witness_counts
                    .iter()
                    .map(|&w| u64::from(w))
                    .sum();
                counts.witnessed_counts = (0..rng.below(20))
                    .map(|_| 1 + rng.below(14) as u32)
                    .collect();
                counts.witnesses = counts.witnessed_counts.len() as u64;
                counts.data_transfers = rng.below(40);
                counts.data_bytes = (0..counts.data_transfers)
                    .map(|_| (200_000.0 * (1.5 * (rng.unit() * 2.0 - 1.0)).exp()) as u64)
                    .sum();
                // One credit per started 24 bytes, as the credits module charges by default.
                counts.credits_spent = counts.data_bytes.div_ceil(24);
            } else {
                counts.sensor_readings = 90 + rng.below(7);
            }
            if rng.below(100) < 2 {
                counts.invalid = 1 + rng.below(5);
                state.put_audit_score(
                    &device,
                    Some(AuditScore {
                        alpha: Fixed::from_integer(999).unwrap_or(Fixed::ONE),
                        beta: Fixed::ONE,
                    }),
                );
            }
            state.put_epoch_counts(&device, &counts);
        }
        height += 1;
        let changes = state.into_changes();
        let (app_hash, tree) = store.compute_root(&snapshot, &changes, height)?;
        drop(snapshot);
        store.commit_block(BlockCommit {
            height,
            block_hash: groundwork_primitives::sha256(&height.to_be_bytes()),
            app_hash,
            time_ms: 1_000 + height,
            changes,
            tree,
            ..BlockCommit::default()
        })?;
        index = end;
    }
    let setup_ms = started.elapsed().as_secs_f64() * 1e3;

    // Measured: the payout on fresh overlays of the same committed state.
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let mut totals = Vec::new();
    let mut cpu = Vec::new();
    let mut loads = Vec::new();
    let mut maths = Vec::new();
    let mut applies = Vec::new();
    let mut last = None;
    for _ in 0..options.runs {
        let snapshot = store.snapshot()?;
        let mut state = Overlay::new(&snapshot);
        let cpu_before = process_cpu_ms();
        let started = Instant::now();
        let (payout, timings) =
            groundwork_app::modules::rewards::pay_epoch(&mut state, epoch, EPOCH_BLOCKS, threads)?;
        totals.push(started.elapsed().as_secs_f64() * 1e3);
        if let (Some(before), Some(after)) = (cpu_before, process_cpu_ms()) {
            cpu.push(after - before);
        }
        loads.push(timings.load_us as f64 / 1e3);
        maths.push(timings.compute_us as f64 / 1e3);
        applies.push(timings.apply_us as f64 / 1e3);
        let changes = state.into_changes();
        drop(snapshot);
        last = Some((payout, changes));
    }
    let (payout, changes) = last.ok_or_else(|| anyhow::anyhow!("no run"))?;
    let summary = payout
        .summary
        .ok_or_else(|| anyhow::anyhow!("the epoch was not paid"))?;

    // State writing, once: the tree update and the durable commit with the records.
    let snapshot = store.snapshot()?;
    let changed_keys = changes.len();
    let started = Instant::now();
    let (app_hash, tree) = store.compute_root(&snapshot, &changes, height + 1)?;
    let state_root_ms = started.elapsed().as_secs_f64() * 1e3;
    drop(snapshot);
    let records = payout.records.len();
    let record_bytes = payout.records.iter().map(|(k, v)| k.len() + v.len()).sum();
    let started = Instant::now();
    store.commit_block(BlockCommit {
        height: height + 1,
        block_hash: groundwork_primitives::sha256(b"rewards"),
        app_hash,
        time_ms: 10_000,
        changes,
        tree,
        records: payout.records,
        ..BlockCommit::default()
    })?;
    let commit_ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(RewardsBenchReport {
        devices: options.devices,
        owners: summary.owners_paid,
        devices_paid: summary.devices_paid,
        threads,
        runs: options.runs,
        median_compute_ms: median(&mut totals),
        median_compute_cpu_ms: (!cpu.is_empty()).then(|| median(&mut cpu)),
        median_load_ms: median(&mut loads),
        median_math_ms: median(&mut maths),
        median_apply_ms: median(&mut applies),
        changed_keys,
        records,
        record_bytes,
        state_root_ms,
        commit_ms,
        setup_ms,
    })
}
