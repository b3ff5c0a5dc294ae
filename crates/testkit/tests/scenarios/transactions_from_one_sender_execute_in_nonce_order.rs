use groundwork_primitives::Amount;

use crate::{MIN_FEE, START, node, stranger};

fn codes(block: &groundwork_app::FinalizedBlock) -> Vec<u32> {
    block.results.tx_results.iter().map(|r| r.code).collect()
}

#[test]
fn transactions_from_one_sender_execute_in_nonce_order() {
    let mut node = node();
    let alice = node.address(0);
    // Alice can afford two transfers of 400k with their fees, not a third.
    let txs: Vec<Vec<u8>> = (0..4)
        .map(|nonce| {
            node.transfer_with(0, nonce, MIN_FEE, stranger(), Amount(400_000))
                .unwrap()
        })
        .collect();

    // Nonce 1 before nonce 0: 1 is refused (for free, so validators refuse the block), 0 runs.
    let offered = node
        .offer_block(vec![txs[1].clone(), txs[0].clone()])
        .unwrap();
    assert_eq!(codes(&offered.executed), [4, 0]);
    assert_eq!(
        offered.executed.results.tx_results[0].error,
        "nonce 1 is not the account's next nonce 0"
    );
    assert!(offered.verdict.is_err());
    assert_eq!(node.nonce(alice).unwrap(), 0);

    // Offered 1 then 0, the proposal keeps only 0: 1 came before the nonce it follows.
    node.submit_unchecked(txs[1].clone());
    node.submit_unchecked(txs[0].clone());
    let block = node.produce_block().unwrap();
    assert_eq!(block.block.txs, vec![txs[0].clone()]);
    assert_eq!(node.nonce(alice).unwrap(), 1);

    // Offered 1 then 2, the proposal keeps 1 and leaves 2 out: alice cannot pay for both.
    node.submit_unchecked(txs[1].clone());
    node.submit_unchecked(txs[2].clone());
    let block = node.produce_block().unwrap();
    assert_eq!(block.block.txs, vec![txs[1].clone()]);
    assert_eq!(codes(&block), [0]);
    assert_eq!(node.nonce(alice).unwrap(), 2);
    assert_eq!(node.balance(stranger()).unwrap(), Amount(800_000));

    // 2 then 3 in another proposer's block: each pays its fee in turn and moves nothing.
    assert_eq!(node.submit(txs[2].clone()).unwrap().unwrap_err().code(), 6);
    let offered = node
        .offer_block(vec![txs[2].clone(), txs[3].clone()])
        .unwrap();
    assert!(offered.verdict.is_ok());
    assert_eq!(codes(&offered.executed), [8, 8]);
    assert_eq!(node.nonce(alice).unwrap(), 4);
    assert_eq!(node.balance(stranger()).unwrap(), Amount(800_000));
    assert_eq!(
        node.balance(alice).unwrap(),
        Amount(START.0 - 800_000 - 4 * MIN_FEE.0)
    );
    assert_eq!(node.supply().unwrap().burned, Amount(4 * MIN_FEE.0));
}
