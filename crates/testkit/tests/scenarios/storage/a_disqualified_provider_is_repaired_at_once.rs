use groundwork_app::modules::storage::params::StorageParams;
use groundwork_app::modules::storage::state::ProviderStatus;
use groundwork_proto::v1;
use groundwork_testkit::{
    GenesisBuilder, TestDevice, TestNode, register_provider_message, repair_deal_message,
    submit_proof_message,
};

use crate::{CAPACITY, CLIENT, HELPER, PRICE, START, make_deal, outcome, owner_of, test_file};

/// Two-block periods with one-block windows, so 41 periods pass quickly.
fn fast_node() -> (TestNode, Vec<TestDevice>) {
    let mut node = TestNode::start(
        GenesisBuilder::new()
            .accounts(6, START)
            .maker(100)
            .storage_params(StorageParams {
                proving_period_blocks: 2,
                proof_deadline_blocks: 1,
                ..StorageParams::default()
            })
            .build(),
    )
    .unwrap();
    let devices = (0..4)
        .map(|i| {
            let device = crate::provider_device(i);
            assert_eq!(
                node.onboard_device(owner_of(i), &device, 0).unwrap().code,
                0
            );
            let offer = register_provider_message(&device.id(), PRICE, CAPACITY, "http://p");
            assert_eq!(node.execute(owner_of(i), vec![offer]).unwrap().code, 0);
            device
        })
        .collect();
    (node, devices)
}

#[test]
fn a_disqualified_provider_is_repaired_at_once() {
    let (mut node, devices) = fast_node();
    let file = test_file();
    let id = make_deal(
        &mut node,
        &file,
        &[&devices[0], &devices[1], &devices[2]],
        60,
    );
    let start = node.deal(id).unwrap().unwrap().start_period;

    // Providers 1 and 2 prove every period (the window is one block);
    // provider 0 never does. Storj's rule disqualifies it at the 41st failure in a row.
    let mut period = start;
    loop {
        node.advance_to(period * 2).unwrap();
        let view = node.challenges(id).unwrap();
        assert_eq!(view.period, Some(period));
        // One transaction per provider (each fills most of a transaction), one block.
        for due in view
            .providers
            .iter()
            .filter(|p| p.provider != devices[0].id())
        {
            let proofs = file.proofs(&due.challenges).unwrap();
            let message = submit_proof_message(id, &due.provider, period, proofs);
            let tx = node.sign_tx(HELPER, vec![message]).unwrap();
            node.submit(tx).unwrap().unwrap();
        }
        let block = node.produce_block().unwrap();
        assert_eq!(block.results.tx_results.len(), 2);
        assert!(block.results.tx_results.iter().all(|r| r.code == 0));
        let lazy = node.storage_provider(&devices[0].id()).unwrap().unwrap();
        if lazy.status == ProviderStatus::Failed {
            assert_eq!(lazy.misses, 41);
            break;
        }
        assert!(lazy.misses < 41);
        period += 1;
    }
    let results = node.results(node.height().unwrap()).unwrap();
    assert!(
        results
            .block_events
            .iter()
            .any(|e| e.kind == "storage_provider_failed")
    );
    // 41 misses, a slash every third: 13 slashes of 10% each.
    let lazy = node.storage_provider(&devices[0].id()).unwrap().unwrap();
    let stake = node.device(&devices[0].id()).unwrap().unwrap().stake;
    assert_eq!(lazy.slashed.0 + stake.0, 10_000_000_000);
    assert_eq!(stake.0, (0..13).fold(10_000_000_000u128, |s, _| s - s / 10));

    // A disqualified provider's pieces are repairable whatever the segment's health (here the
    // segment is at its threshold too): the repair goes through in the next block.
    let repair = v1::RepairDeal {
        deal_id: id,
        segment: 0,
        piece: 0,
        new_provider: devices[3].id().as_bytes().to_vec(),
        commitment: file.commitment(0, 0).0.to_vec(),
        size: file.piece_size(0, 0),
        receipt: file.receipt(node.chain_id(), &node.address(CLIENT), 0, 0, &devices[3]),
    };
    let repaired = node
        .execute(HELPER, vec![repair_deal_message(repair)])
        .unwrap();
    assert_eq!(outcome(&repaired), (0, ""));
    // A disqualified provider takes no new pieces and cannot register again.
    let again = node
        .execute(
            owner_of(0),
            vec![register_provider_message(
                &devices[0].id(),
                PRICE,
                CAPACITY,
                "http://p",
            )],
        )
        .unwrap();
    assert!(again.error.contains("disqualified"), "{}", again.error);
}
