//! What the storage module costs the chain, on a real redb store (fsync on commit):
//!
//! 1. verifying one `SubmitStorageProof` (derive 10 challenges, check 10 BLAKE3 Merkle proofs
//!    of 4 KiB chunks), without state;
//! 2. a block of one proof transaction per deal, for `DEALS` deals (execution + commit);
//! 3. the end block that settles a period in which nobody proved: a missed record, an audit and
//!    every third one a slash per (deal, provider), for `DEALS` deals of 3 providers.
//!
//! Prints the median of `RUNS` runs. Run: `cargo bench -p groundwork-testkit --bench storage_chain`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::storage::derive_deal_challenges;
use groundwork_app::modules::storage::params::StorageParams;
use groundwork_app::modules::storage::state::StorageRead;
use groundwork_primitives::{Amount, Hash};
use groundwork_storage_net::ErasureParams;
use groundwork_storage_net::commitment::{ChunkProof, verify_chunk_proof};
use groundwork_testkit::{
    DealTerms, GenesisBuilder, StoredFile, TestDevice, TestNode, create_deal_message,
    register_provider_message, submit_proof_message,
};

const DEALS: usize = 300;
const RUNS: usize = 5;
const PERIOD: u64 = 10;
const DEADLINE: u64 = 5;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    // 1 MiB file, one segment, 2 of 3: pieces of 512 KiB (128 chunks, 7-sibling paths).
    let erasure = ErasureParams {
        data_pieces: 2,
        total_pieces: 3,
        segment_size: 1 << 20,
    };
    let file = StoredFile::new(StoredFile::pseudo_random(1 << 20, 9), erasure).unwrap();
    let mut node = TestNode::start(
        GenesisBuilder::new()
            .accounts(5, Amount(1_000_000_000_000_000))
            .maker(10)
            .storage_params(StorageParams {
                proving_period_blocks: PERIOD,
                proof_deadline_blocks: DEADLINE,
                max_duration_periods: 1_000,
                ..StorageParams::default()
            })
            .build(),
    )
    .unwrap();
    let devices: Vec<TestDevice> = (0..3)
        .map(|i| {
            let device = TestDevice::ed25519(500 + i, DeviceKind::Storage);
            let owner = 1 + i as usize;
            assert_eq!(node.onboard_device(owner, &device, 0).unwrap().code, 0);
            let offer = register_provider_message(&device.id(), Amount(1000), 1 << 40, "http://b");
            assert_eq!(node.execute(owner, vec![offer]).unwrap().code, 0);
            device
        })
        .collect();
    let placement = vec![devices.iter().collect::<Vec<_>>()];
    let terms = DealTerms {
        duration_periods: 100,
        max_price: Amount(u128::MAX / 2),
        repair_threshold: 2,
    };
    for _ in 0..DEALS {
        let deal = file.create_deal(node.chain_id(), &node.address(0), &placement, terms);
        let tx = node.sign_tx(0, vec![create_deal_message(deal)]).unwrap();
        node.submit(tx).unwrap().unwrap();
    }
    let block = node.produce_block().unwrap();
    assert!(block.results.tx_results.iter().all(|r| r.code == 0));
    let first = node.deal(1).unwrap().unwrap().start_period;

    // 1. Verification alone.
    node.advance_to(first * PERIOD).unwrap();
    let view = node.challenges(1).unwrap();
    let due = &view.providers[0];
    let proofs = file.proofs(&due.challenges).unwrap();
    let deal = node.deal(1).unwrap().unwrap();
    let seed = node.tip().unwrap().block_hash;
    let mut verify = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        for _ in 0..1000 {
            let challenges =
                derive_deal_challenges(&seed, &deal, &due.provider, first, 10).unwrap();
            for (bytes, challenge) in proofs.iter().zip(&challenges) {
                let proof = ChunkProof::from_bytes(bytes).unwrap();
                let piece = deal.piece(challenge.segment, challenge.piece).unwrap();
                verify_chunk_proof(&piece.commitment.0, piece.size, &proof).unwrap();
            }
        }
        verify.push(start.elapsed() / 1000);
    }
    println!(
        "verify one SubmitStorageProof (10 proofs): {:?} median",
        median(verify)
    );

    // 2. and 3., once per period.
    let mut proof_blocks = Vec::new();
    let mut settlements = Vec::new();
    let bytes_per_tx = proofs.iter().map(Vec::len).sum::<usize>();
    for run in 0..RUNS as u64 {
        let period = first + 1 + 2 * run;
        // Period `period`: provider 0 proves every deal in one block.
        node.advance_to(period * PERIOD).unwrap();
        let seed: Hash = node.tip().unwrap().block_hash;
        let snapshot = node.store().snapshot().unwrap();
        for id in 1..=DEALS as u64 {
            let deal = snapshot.deal(id).unwrap().unwrap();
            let challenges =
                derive_deal_challenges(&seed, &deal, &devices[0].id(), period, 10).unwrap();
            let proofs = file.proofs(&challenges).unwrap();
            let message = submit_proof_message(id, &devices[0].id(), period, proofs);
            let tx = node.sign_tx(4, vec![message]).unwrap();
            node.submit(tx).unwrap().unwrap();
        }
        drop(snapshot);
        let start = Instant::now();
        let block = node.produce_block().unwrap();
        proof_blocks.push(start.elapsed());
        assert_eq!(block.results.tx_results.len(), DEALS);
        assert!(block.results.tx_results.iter().all(|r| r.code == 0));
        // Providers 1 and 2 missed it: the deadline block settles 2 × DEALS misses.
        node.advance_to(period * PERIOD + DEADLINE - 1).unwrap();
        let start = Instant::now();
        let settled = node.produce_block().unwrap();
        settlements.push(start.elapsed());
        assert_eq!(
            settled
                .results
                .block_events
                .iter()
                .filter(|e| e.kind == "storage_proof_missed")
                .count(),
            2 * DEALS
        );
    }
    let proof_block = median(proof_blocks);
    println!(
        "block of {DEALS} SubmitStorageProof txs (~{} KiB each): {proof_block:?} median, {:.0} proofs/s",
        bytes_per_tx / 1024,
        DEALS as f64 / proof_block.as_secs_f64()
    );
    let settlement = median(settlements);
    println!(
        "end block settling {DEALS} deals ({} missed (deal, provider) pairs): {settlement:?} median",
        2 * DEALS
    );
}
