use groundwork_primitives::Amount;
use groundwork_testkit::sign_transfer;

use crate::{START, node};

#[test]
fn a_transaction_for_another_chain_is_refused() {
    let mut node = node();
    let (alice, bob) = (node.address(0), node.address(1));
    let key = node.key(0).unwrap().clone();
    let elsewhere = sign_transfer(
        &key,
        "another-chain-7",
        0,
        node.min_fee().unwrap(),
        bob,
        Amount(5),
    );

    let refused = node.submit(elsewhere.clone()).unwrap().unwrap_err();
    assert_eq!(refused.code(), 3);
    assert_eq!(
        refused.to_string(),
        "the transaction is for chain \"another-chain-7\", this chain is \"groundwork-test-1\""
    );
    node.submit_unchecked(elsewhere.clone());
    assert!(
        node.produce_block().unwrap().block.txs.is_empty(),
        "the proposal leaves it out"
    );

    let offered = node.offer_block(vec![elsewhere]).unwrap();
    let result = &offered.executed.results.tx_results[0];
    assert_eq!((result.code, result.fee_charged.as_str()), (3, "0"));
    assert!(result.error.contains("another-chain-7"), "{}", result.error);
    assert!(
        offered
            .verdict
            .unwrap_err()
            .contains("cannot pay its fee (code 3")
    );
    assert_eq!(
        node.height().unwrap(),
        1,
        "only the empty block was committed"
    );

    assert_eq!(node.balance(alice).unwrap(), START);
    assert_eq!(node.balance(bob).unwrap(), START);
    assert_eq!(node.nonce(alice).unwrap(), 0);
    assert_eq!(node.supply().unwrap().burned, Amount::ZERO);
}
