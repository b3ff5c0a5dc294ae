//! Property test: random sequences of storage deals, proofs (right and wrong), missed periods,
//! early terminations, repairs and idle blocks keep the supply rule with escrow
//! (`liquid + bonded + unbonding + escrowed = supply`, [`App::check_invariants`], run by the
//! test node after every block), and after every step:
//!
//! - the escrow total equals the sum of the deals' escrow left, and ended deals hold nothing;
//! - every deal's escrow is accounted for: escrowed = left + paid to providers + paid to
//!   repairers + refunded;
//! - every provider's reserved bytes are the sizes of its pieces in active deals.
//!
//! [`App::check_invariants`]: groundwork_app::App::check_invariants

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::storage::params::StorageParams;
use groundwork_app::modules::storage::state::{DealStatus, StorageRead};
use groundwork_primitives::{Amount, DeviceId};
use groundwork_proto::v1;
use groundwork_storage_net::ErasureParams;
use groundwork_storage_net::commitment::ChunkProof;
use groundwork_testkit::{
    DealTerms, GenesisBuilder, StoredFile, TestDevice, TestNode, create_deal_message,
    register_provider_message, repair_deal_message, submit_proof_message, terminate_deal_message,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const PERIOD: u64 = 4;
const DEADLINE: u64 = 2;
const PROVIDERS: usize = 4;
const CLIENTS: usize = 2;
const HELPER: usize = CLIENTS + PROVIDERS;
const ERASURE: ErasureParams = ErasureParams {
    data_pieces: 2,
    total_pieces: 3,
    segment_size: 16 * 1024,
};

#[derive(Debug, Clone)]
enum Op {
    Deal {
        client: usize,
        file: usize,
        rotation: usize,
        duration: u64,
    },
    Prove {
        deal: usize,
        provider: usize,
        corrupt: bool,
    },
    Terminate {
        deal: usize,
        signer: usize,
    },
    Repair {
        deal: usize,
        segment: usize,
        piece: usize,
        to: usize,
    },
    Idle {
        blocks: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..CLIENTS, 0..2usize, 0..PROVIDERS, 1..5u64).prop_map(
            |(client, file, rotation, duration)| Op::Deal { client, file, rotation, duration }
        ),
        5 => (any::<usize>(), 0..PROVIDERS, proptest::bool::weighted(0.2))
            .prop_map(|(deal, provider, corrupt)| Op::Prove { deal, provider, corrupt }),
        1 => (any::<usize>(), 0..CLIENTS + 1).prop_map(|(deal, signer)| Op::Terminate { deal, signer }),
        1 => (any::<usize>(), 0..2usize, 0..3usize, 0..PROVIDERS)
            .prop_map(|(deal, segment, piece, to)| Op::Repair { deal, segment, piece, to }),
        2 => (1..6u64).prop_map(|blocks| Op::Idle { blocks }),
    ]
}

struct World {
    node: TestNode,
    devices: Vec<TestDevice>,
    files: Vec<StoredFile>,
    /// Deal id → (client account, file index).
    deals: BTreeMap<u64, (usize, usize)>,
}

fn world() -> World {
    let mut node = TestNode::start(
        GenesisBuilder::new()
            .accounts(CLIENTS + PROVIDERS + 1, Amount(1_000_000_000_000))
            .maker(100)
            .storage_params(StorageParams {
                proving_period_blocks: PERIOD,
                proof_deadline_blocks: DEADLINE,
                slash_after_failures: 2,
                ..StorageParams::default()
            })
            .build(),
    )
    .unwrap();
    let devices: Vec<TestDevice> = (0..PROVIDERS)
        .map(|i| {
            let device = TestDevice::ed25519(200 + i as u64, DeviceKind::Storage);
            let owner = CLIENTS + i;
            assert_eq!(node.onboard_device(owner, &device, 0).unwrap().code, 0);
            let registered = node
                .execute(
                    owner,
                    vec![register_provider_message(
                        &device.id(),
                        Amount(3 << 30),
                        1 << 20,
                        "http://127.0.0.1:1",
                    )],
                )
                .unwrap();
            assert_eq!(registered.code, 0, "{}", registered.error);
            device
        })
        .collect();
    let files = vec![
        StoredFile::new(StoredFile::pseudo_random(20_000, 1), ERASURE).unwrap(),
        StoredFile::new(StoredFile::pseudo_random(9_000, 2), ERASURE).unwrap(),
    ];
    World {
        node,
        devices,
        files,
        deals: BTreeMap::new(),
    }
}

fn pick(deals: &BTreeMap<u64, (usize, usize)>, index: usize) -> Option<(u64, usize, usize)> {
    if deals.is_empty() {
        return None;
    }
    deals
        .iter()
        .nth(index % deals.len())
        .map(|(id, (client, file))| (*id, *client, *file))
}

fn run(world: &mut World, op: &Op) {
    let node = &mut world.node;
    match *op {
        Op::Deal {
            client,
            file,
            rotation,
            duration,
        } => {
            let stored = &world.files[file];
            let chosen: Vec<&TestDevice> = (0..3)
                .map(|i| &world.devices[(rotation + i) % PROVIDERS])
                .collect();
            let placement: Vec<Vec<&TestDevice>> =
                stored.segments.iter().map(|_| chosen.clone()).collect();
            let id = node.store().snapshot().unwrap().next_deal_id().unwrap();
            let deal = stored.create_deal(
                node.chain_id(),
                &node.address(client),
                &placement,
                DealTerms {
                    duration_periods: duration,
                    max_price: Amount(u128::MAX / 2),
                    repair_threshold: 2,
                },
            );
            let result = node
                .execute(client, vec![create_deal_message(deal)])
                .unwrap();
            if result.code == 0 {
                world.deals.insert(id, (client, file));
            }
        }
        Op::Prove {
            deal,
            provider,
            corrupt,
        } => {
            let Some((id, _, file)) = pick(&world.deals, deal) else {
                node.produce_block().unwrap();
                return;
            };
            // Wait for the deal's next proof window if none is open, then prove for one of the
            // providers with pieces due.
            let mut view = node.challenges(id).unwrap();
            if view.period.is_none() {
                node.advance_to(view.next_window_opens - 1).unwrap();
                view = node.challenges(id).unwrap();
            }
            let (Some(period), false) = (view.period, view.providers.is_empty()) else {
                node.produce_block().unwrap();
                return;
            };
            let due = &view.providers[provider % view.providers.len()];
            let mut proofs = world.files[file].proofs(&due.challenges).unwrap();
            if corrupt {
                let mut proof = ChunkProof::from_bytes(&proofs[0]).unwrap();
                proof.chunk[0] ^= 0xff;
                proofs[0] = proof.to_bytes();
            }
            let result = node
                .execute(
                    HELPER,
                    vec![submit_proof_message(id, &due.provider, period, proofs)],
                )
                .unwrap();
            // Right proofs of an unproven period pass; wrong ones never do.
            assert!(
                corrupt || due.proven || result.code == 0,
                "{}",
                result.error
            );
            assert!(!corrupt || result.code != 0);
        }
        Op::Terminate { deal, signer } => {
            let Some((id, _, _)) = pick(&world.deals, deal) else {
                node.produce_block().unwrap();
                return;
            };
            node.execute(signer, vec![terminate_deal_message(id)])
                .unwrap();
        }
        Op::Repair {
            deal,
            segment,
            piece,
            to,
        } => {
            let Some((id, client, file)) = pick(&world.deals, deal) else {
                node.produce_block().unwrap();
                return;
            };
            let stored = &world.files[file];
            let segment = segment % stored.segments.len();
            // The provider not yet in the segment (three of the four are), or `to` if it ended.
            let held: Vec<DeviceId> = node
                .deal(id)
                .unwrap()
                .map(|d| {
                    d.segments[segment]
                        .pieces
                        .iter()
                        .map(|p| p.provider)
                        .collect()
                })
                .unwrap_or_default();
            let device = world
                .devices
                .iter()
                .find(|d| !held.contains(&d.id()))
                .unwrap_or(&world.devices[to]);
            let message = v1::RepairDeal {
                deal_id: id,
                segment: segment as u32,
                piece: piece as u32,
                new_provider: device.id().as_bytes().to_vec(),
                commitment: stored.commitment(segment, piece).0.to_vec(),
                size: stored.piece_size(segment, piece),
                receipt: stored.receipt(
                    node.chain_id(),
                    &node.address(client),
                    segment,
                    piece,
                    device,
                ),
            };
            node.execute(HELPER, vec![repair_deal_message(message)])
                .unwrap();
        }
        Op::Idle { blocks } => {
            let target = node.height().unwrap() + blocks;
            node.advance_to(target).unwrap();
        }
    }
}

fn check(world: &World) -> Result<(), TestCaseError> {
    let snapshot = world.node.store().snapshot().unwrap();
    let mut escrow_sum = 0u128;
    let mut reserved: BTreeMap<DeviceId, u64> = BTreeMap::new();
    for id in world.deals.keys() {
        let deal = snapshot.deal(*id).unwrap().unwrap();
        escrow_sum += deal.escrow_left.0;
        prop_assert_eq!(
            deal.escrowed_total.0,
            deal.escrow_left.0
                + deal.paid_to_providers.0
                + deal.paid_to_repairers.0
                + deal.refunded.0,
            "deal {} does not account for its escrow",
            id
        );
        prop_assert!(deal.repair_reserve_left <= deal.escrow_left);
        if deal.status == DealStatus::Active {
            for (device, bytes) in deal.bytes_by_provider() {
                *reserved.entry(device).or_default() += bytes;
            }
        } else {
            prop_assert_eq!(deal.escrow_left, Amount::ZERO);
        }
    }
    prop_assert_eq!(snapshot.storage_totals().unwrap().escrowed.0, escrow_sum);
    for device in &world.devices {
        let provider = snapshot.provider(&device.id()).unwrap().unwrap();
        prop_assert_eq!(
            provider.reserved_bytes,
            reserved.get(&device.id()).copied().unwrap_or(0),
            "reserved bytes of {}",
            device.id()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn escrow_keeps_the_supply_whole_over_random_deals_proofs_terminations_and_repairs(
        ops in proptest::collection::vec(op(), 1..30),
    ) {
        let mut world = world();
        for op in &ops {
            // The test node checks liquid + bonded + unbonding + escrowed = supply after
            // every block it makes, and fails the call if it does not hold.
            run(&mut world, op);
            check(&world)?;
        }
        // Let every deal run out: all escrow goes back or out, nothing is left behind.
        let end = world.node.height().unwrap() + 5 * PERIOD + DEADLINE + 1;
        world.node.advance_to(end).unwrap();
        check(&world)?;
        let snapshot = world.node.store().snapshot().unwrap();
        prop_assert_eq!(snapshot.storage_totals().unwrap().escrowed, Amount::ZERO);
        prop_assert!(snapshot.active_deals(None, 10).unwrap().is_empty());
    }
}
