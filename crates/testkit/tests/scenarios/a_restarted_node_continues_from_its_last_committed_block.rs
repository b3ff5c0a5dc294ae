use groundwork_primitives::Amount;

use crate::{MIN_FEE, START, node};

#[test]
fn a_restarted_node_continues_from_its_last_committed_block() {
    let mut node = node();
    let (alice, bob) = (node.address(0), node.address(1));
    for _ in 0..3 {
        let tx = node.transfer(0, bob, Amount(100)).unwrap();
        node.submit(tx).unwrap().unwrap();
        node.produce_block().unwrap();
    }
    // A block finalized but never committed is lost with the process.
    let uncommitted = node.transfer(0, bob, Amount(5_000)).unwrap();
    let input = node.next_block_input(vec![uncommitted.clone()]).unwrap();
    node.app_mut().finalize_block(input).unwrap();
    let tip_before = node.tip().unwrap();
    let history_before = node.history().unwrap();

    let mut node = node.restart().unwrap();

    assert_eq!(node.tip().unwrap(), tip_before);
    assert_eq!(tip_before.height, 3);
    assert_eq!(node.history().unwrap(), history_before);
    assert_eq!(
        node.app().chain_info().unwrap().chain_id,
        "groundwork-test-1"
    );
    assert_eq!(
        node.balance(alice).unwrap(),
        Amount(START.0 - 3 * (100 + MIN_FEE.0))
    );
    assert_eq!(node.nonce(alice).unwrap(), 3);
    assert!(matches!(
        node.app_mut().commit(),
        Err(groundwork_app::AppError::NothingToCommit)
    ));

    // It goes on from block 4 on top of the committed block 3; the lost transaction is valid again.
    node.submit(uncommitted).unwrap().unwrap();
    let block = node.produce_block().unwrap();
    assert_eq!(block.header().height, 4);
    assert_eq!(block.header().parent_hash, tip_before.block_hash.0.to_vec());
    assert_eq!(block.results.tx_results[0].code, 0);
    assert_eq!(node.balance(bob).unwrap(), Amount(START.0 + 300 + 5_000));
    assert_eq!(node.nonce(alice).unwrap(), 4);

    // And the whole chain, across the restart, replays to the same roots.
    assert_eq!(
        node.replay_into_fresh_store().unwrap(),
        node.history().unwrap()
    );
}
