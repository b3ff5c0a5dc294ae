use groundwork_primitives::Amount;

use crate::{MIN_FEE, START, node};

#[test]
fn a_replayed_transaction_is_refused_by_its_nonce() {
    let mut node = node();
    let (alice, bob) = (node.address(0), node.address(1));
    let payment = node.transfer(0, bob, Amount(7_000)).unwrap();
    node.submit(payment.clone()).unwrap().unwrap();
    node.produce_block().unwrap();

    // The mempool refuses it...
    let refused = node.submit(payment.clone()).unwrap().unwrap_err();
    assert_eq!(refused.code(), 4);
    assert_eq!(
        refused.to_string(),
        "nonce 0 is not the account's next nonce 1"
    );
    // ...the proposal leaves it out...
    node.submit_unchecked(payment.clone());
    let block = node.produce_block().unwrap();
    assert!(block.block.txs.is_empty());
    // ...and a block that carries it anyway would charge nothing for it, so validators refuse
    // the block: a replay cannot even fill blocks for free.
    let offered = node.offer_block(vec![payment]).unwrap();
    let result = &offered.executed.results.tx_results[0];
    assert_eq!((result.code, result.fee_charged.as_str()), (4, "0"));
    assert_eq!(result.error, "nonce 0 is not the account's next nonce 1");
    assert!(result.events.is_empty());
    let reason = offered.verdict.unwrap_err();
    assert!(
        reason.contains("transaction 0 cannot pay its fee (code 4"),
        "{reason}"
    );
    assert_eq!(node.height().unwrap(), 2);

    assert_eq!(
        node.balance(alice).unwrap(),
        Amount(START.0 - 7_000 - MIN_FEE.0)
    );
    assert_eq!(node.balance(bob).unwrap(), Amount(START.0 + 7_000));
    assert_eq!(node.nonce(alice).unwrap(), 1);
    assert_eq!(node.supply().unwrap().burned, MIN_FEE);
}
