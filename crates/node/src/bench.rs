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

/// Produces `blocks` blocks of `block_size` signed transfers through `App::produce_block` on a
/// store in a temporary folder, and times them. Signing happens before the clock starts.
pub fn transfers(options: &TransferBenchOptions) -> anyhow::Result<TransferBenchReport> {
    anyhow::ensure!(
        options.accounts >= 2 && options.block_size >= 1 && options.blocks >= 1,
        "need at least 2 accounts, 1 transfer and 1 block"
    );
    let dir = std::env::temp_dir().join(format!(
        "groundwork-bench-{}-{}",
        std::process::id(),
        crate::producer::now_ms()
    ));
    std::fs::create_dir_all(&dir)?;
    let result = run_transfers(options, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
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
