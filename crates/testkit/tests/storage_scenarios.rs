//! Scenario tests of the storage module, one file per behaviour in `scenarios/storage/`, each
//! named as a sentence. Every block is followed by the supply invariants, escrow included
//! (`liquid + bonded + unbonding + escrowed = supply`; the test node checks them).
//!
//! The setting: account 0 is the client, accounts 1–4 each own one storage provider (devices
//! 100–103), account 5 sends proofs and repairs (so the owners' balances move only by what they
//! are paid). Files are erasure coded 2-of-3 in 64 KiB segments by storage-net, exactly as a
//! client would, and every proof is a real Merkle proof of the real piece.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::staking::params::StakingParams;
use groundwork_app::modules::storage::params::StorageParams;
use groundwork_app::modules::storage::state::StorageRead;
use groundwork_primitives::{Amount, DeviceId};
use groundwork_proto::v1;
use groundwork_storage_net::ErasureParams;
use groundwork_testkit::{
    DealTerms, GenesisBuilder, StoredFile, TestDevice, TestNode, create_deal_message,
    register_provider_message, submit_proof_message,
};

#[path = "scenarios/storage"]
mod scenarios {
    pub mod a_deal_beyond_a_providers_free_capacity_is_refused;
    pub mod a_deal_escrows_the_clients_payment;
    pub mod a_disqualified_provider_is_repaired_at_once;
    pub mod a_missed_proof_is_not_paid_and_lowers_reputation;
    pub mod a_provider_holding_pieces_cannot_decommission_its_device;
    pub mod a_provider_who_proves_is_paid_per_period;
    pub mod a_receipt_not_signed_by_the_provider_is_refused;
    pub mod a_wrong_proof_is_rejected;
    pub mod duplicate_providers_in_a_segment_are_refused;
    pub mod early_termination_refunds_the_unearned_payment_minus_the_providers_share;
    pub mod repair_replaces_a_failed_provider_and_pays_the_repairer_from_escrow;
    pub mod repeated_missed_proofs_slash_the_providers_stake;
    pub mod replaying_a_storage_history_gives_identical_state_roots;
}

/// Blocks per proving period.
const PERIOD: u64 = 10;
/// Proofs of period g are accepted in blocks g·PERIOD + 1 ..= g·PERIOD + DEADLINE.
const DEADLINE: u64 = 5;
/// 2^30 base units per GiB per period: a piece earns one base unit per byte per period.
const PRICE: Amount = Amount(1 << 30);
/// Every provider offers 1 MiB.
const CAPACITY: u64 = 1 << 20;
/// Every account starts with 10,000 tokens.
const START: Amount = Amount(1_000_000_000_000);
/// The client.
const CLIENT: usize = 0;
/// The account that sends proofs and repairs.
const HELPER: usize = 5;
/// 2 of 3 in 64 KiB segments.
const ERASURE: ErasureParams = ErasureParams {
    data_pieces: 2,
    total_pieces: 3,
    segment_size: 64 * 1024,
};

/// A node with six accounts, a maker, and 10-block proving periods.
fn storage_node() -> TestNode {
    TestNode::start(
        GenesisBuilder::new()
            .accounts(6, START)
            .maker(100)
            .staking_params(StakingParams {
                unbonding_blocks: 5,
            })
            .storage_params(StorageParams {
                proving_period_blocks: PERIOD,
                proof_deadline_blocks: DEADLINE,
                ..StorageParams::default()
            })
            .build(),
    )
    .unwrap()
}

/// Provider `i` (0–3): storage device 100 + i owned by account 1 + i.
fn provider_device(i: usize) -> TestDevice {
    TestDevice::ed25519(100 + i as u64, DeviceKind::Storage)
}

/// The account owning provider `i`.
fn owner_of(i: usize) -> usize {
    1 + i
}

/// Onboards and registers providers 0..count at [`PRICE`] and [`CAPACITY`].
fn providers(node: &mut TestNode, count: usize) -> Vec<TestDevice> {
    (0..count)
        .map(|i| {
            let device = provider_device(i);
            let joined = node.onboard_device(owner_of(i), &device, 0).unwrap();
            assert_eq!((joined.code, joined.error.as_str()), (0, ""));
            let registered = node
                .execute(
                    owner_of(i),
                    vec![register_provider_message(
                        &device.id(),
                        PRICE,
                        CAPACITY,
                        &format!("http://127.0.0.1:{}", 9000 + i),
                    )],
                )
                .unwrap();
            assert_eq!((registered.code, registered.error.as_str()), (0, ""));
            device
        })
        .collect()
}

/// A 100,000-byte file: two segments (65,536 and 34,464 bytes), pieces of 32,768 and 17,280
/// bytes.
fn test_file() -> StoredFile {
    StoredFile::new(StoredFile::pseudo_random(100_000, 7), ERASURE).unwrap()
}

/// Per period, what the providers of a whole deal of [`test_file`] earn: one base unit per
/// byte of every piece.
fn per_period(file: &StoredFile) -> u128 {
    file.segments
        .iter()
        .flat_map(|s| &s.pieces)
        .map(|p| p.len() as u128)
        .sum()
}

/// Generous terms: `duration` periods, threshold 2, any price.
fn terms(duration: u64) -> DealTerms {
    DealTerms {
        duration_periods: duration,
        max_price: Amount(u128::MAX / 2),
        repair_threshold: 2,
    }
}

/// Creates a deal of `file` from the client with piece `p` of every segment on
/// `devices[p]`; returns its id.
fn make_deal(
    node: &mut TestNode,
    file: &StoredFile,
    devices: &[&TestDevice],
    duration: u64,
) -> u64 {
    let id = node.store().snapshot().unwrap().next_deal_id().unwrap();
    let placement: Vec<Vec<&TestDevice>> = file.segments.iter().map(|_| devices.to_vec()).collect();
    let deal = file.create_deal(
        node.chain_id(),
        &node.address(CLIENT),
        &placement,
        terms(duration),
    );
    let result = node
        .execute(CLIENT, vec![create_deal_message(deal)])
        .unwrap();
    assert_eq!((result.code, result.error.as_str()), (0, ""));
    id
}

/// Produces empty blocks until the next block is the first of `period`'s proof window.
fn to_window(node: &mut TestNode, period: u64) {
    node.advance_to(period * PERIOD).unwrap();
}

/// Produces empty blocks until `period` has been settled (its deadline block is committed).
fn past_deadline(node: &mut TestNode, period: u64) {
    node.advance_to(period * PERIOD + DEADLINE).unwrap();
}

/// The proofs `device` owes now in `deal`, answered from `file`.
fn proofs_for(
    node: &TestNode,
    file: &StoredFile,
    deal: u64,
    device: &DeviceId,
) -> (u64, Vec<Vec<u8>>) {
    let view = node.challenges(deal).unwrap();
    let period = view.period.expect("a proof window is open");
    let mine = view
        .providers
        .iter()
        .find(|p| p.provider == *device)
        .expect("the provider has pieces due");
    (period, file.proofs(&mine.challenges).unwrap())
}

/// Sends `device`'s proofs for the open window (from the helper account); returns the result.
fn prove(node: &mut TestNode, file: &StoredFile, deal: u64, device: &DeviceId) -> v1::TxResult {
    let (period, proofs) = proofs_for(node, file, deal, device);
    node.execute(
        HELPER,
        vec![submit_proof_message(deal, device, period, proofs)],
    )
    .unwrap()
}

/// `(code, error)` of a result.
fn outcome(result: &v1::TxResult) -> (u32, &str) {
    (result.code, result.error.as_str())
}
