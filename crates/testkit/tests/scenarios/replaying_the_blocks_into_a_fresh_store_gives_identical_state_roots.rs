use groundwork_primitives::{Amount, Hash};
use groundwork_testkit::{GenesisBuilder, TestNode};

use crate::stranger;

/// A seeded, varied chain: transfers, transfers that fail and pay, refusals, empty blocks.
fn busy_chain() -> TestNode {
    let mut node = TestNode::start(
        GenesisBuilder::new()
            .accounts(4, Amount(50_000))
            .seed(7)
            .build(),
    )
    .unwrap();
    for round in 0..12u64 {
        for from in 0..4usize {
            let to = if (round + from as u64).is_multiple_of(5) {
                stranger()
            } else {
                node.address((from + 1) % 4)
            };
            let amount = Amount(1 + (round * 7_919 + from as u64 * 104_729) as u128 % 30_000);
            let tx = node.transfer(from, to, amount).unwrap();
            // The mempool refuses what an account can no longer pay for.
            let _ = node.submit(tx).unwrap();
        }
        node.produce_block().unwrap();
        if round % 5 == 4 {
            node.produce_block().unwrap();
        }
        if round % 3 == 1 {
            // Another proposer's block with an overspend: it pays its fee and moves nothing.
            let from = (round % 4) as usize;
            let overspend = node.transfer(from, stranger(), Amount(1_000_000)).unwrap();
            assert!(node.offer_block(vec![overspend]).unwrap().verdict.is_ok());
        }
    }
    node
}

#[test]
fn replaying_the_blocks_into_a_fresh_store_gives_identical_state_roots() {
    let node = busy_chain();
    let history = node.history().unwrap();
    assert_eq!(history.len(), 18);
    assert_eq!(history.last().copied(), Some(node.tip().unwrap()));
    let codes: std::collections::BTreeSet<u32> = (1..=18)
        .flat_map(|h| {
            node.results(h)
                .unwrap()
                .tx_results
                .into_iter()
                .map(|r| r.code)
        })
        .collect();
    assert!(
        codes.is_superset(&[0, 8].into()),
        "a varied chain, codes {codes:?}"
    );

    let replayed = node.replay_into_fresh_store().unwrap();
    assert_eq!(
        replayed, history,
        "same heights, block hashes, app hashes and times"
    );

    // Every block changes the root, and each stored block hash is indexed at its height.
    let roots: std::collections::BTreeSet<Hash> = history.iter().map(|t| t.app_hash).collect();
    assert_eq!(roots.len(), history.len());
    for tip in &history {
        assert_eq!(
            node.store().height_of_block(&tip.block_hash).unwrap(),
            Some(tip.height)
        );
    }

    // A second node built the same way reaches the same roots: nothing depends on the machine,
    // the directory or the run.
    assert_eq!(busy_chain().history().unwrap(), history);
}
