use groundwork_primitives::Amount;

use crate::{MIN_FEE, START, node, stranger};

#[test]
fn a_transfer_moves_tokens_and_burns_the_fee() {
    let mut node = node();
    let (alice, bob) = (node.address(0), node.address(1));
    let supply_before = node.supply().unwrap();

    // Each transfer is signed with the next nonce, counting those waiting in the mempool.
    let to_bob = node.transfer(0, bob, Amount(250_000)).unwrap();
    node.submit(to_bob).unwrap().unwrap();
    let to_stranger = node.transfer(0, stranger(), Amount(1)).unwrap();
    node.submit(to_stranger).unwrap().unwrap();
    let block = node.produce_block().unwrap();

    assert_eq!(block.header().height, 1);
    assert_eq!(block.block.txs.len(), 2);
    for result in &block.results.tx_results {
        assert_eq!((result.code, result.error.as_str()), (0, ""));
        assert_eq!(result.fee_charged, MIN_FEE.0.to_string());
        let kinds: Vec<&str> = result.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["fee_burned", "transfer"]);
    }
    assert_eq!(
        node.balance(alice).unwrap(),
        Amount(START.0 - 250_000 - 1 - 2 * MIN_FEE.0)
    );
    assert_eq!(node.balance(bob).unwrap(), Amount(START.0 + 250_000));
    assert_eq!(node.balance(stranger()).unwrap(), Amount(1));
    assert_eq!(node.nonce(alice).unwrap(), 2);
    assert_eq!(node.nonce(bob).unwrap(), 0);

    let supply = node.supply().unwrap();
    assert_eq!(supply.burned, Amount(2 * MIN_FEE.0));
    assert_eq!(supply.genesis, supply_before.genesis);
    assert_eq!(supply.total(), Some(Amount(3 * START.0 - 2 * MIN_FEE.0)));

    // The results are stored and the transaction can be found by its hash.
    assert_eq!(node.results(1).unwrap(), block.results);
    let location = node
        .store()
        .tx_location(&block.tx_hashes[1])
        .unwrap()
        .unwrap();
    assert_eq!((location.height, location.index), (1, 1));
}
