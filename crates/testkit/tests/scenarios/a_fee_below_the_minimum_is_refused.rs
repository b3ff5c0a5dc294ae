use groundwork_primitives::Amount;

use crate::{MIN_FEE, START, node};

#[test]
fn a_fee_below_the_minimum_is_refused() {
    let mut node = node();
    let (alice, bob) = (node.address(0), node.address(1));
    let cheap = node
        .transfer_with(0, 0, Amount(MIN_FEE.0 - 1), bob, Amount(5))
        .unwrap();

    let refused = node.submit(cheap.clone()).unwrap().unwrap_err();
    assert_eq!(refused.code(), 5);
    assert_eq!(
        refused.to_string(),
        "the fee 999 is below the minimum fee 1000 (base units)"
    );

    node.submit_unchecked(cheap.clone());
    assert!(
        node.produce_block().unwrap().block.txs.is_empty(),
        "the proposal leaves it out"
    );
    let offered = node.offer_block(vec![cheap]).unwrap();
    let result = &offered.executed.results.tx_results[0];
    assert_eq!((result.code, result.fee_charged.as_str()), (5, "0"));
    assert_eq!(
        result.error,
        "the fee 999 is below the minimum fee 1000 (base units)"
    );
    assert!(
        offered
            .verdict
            .unwrap_err()
            .contains("cannot pay its fee (code 5")
    );
    assert_eq!(node.height().unwrap(), 1);
    assert_eq!(node.balance(alice).unwrap(), START);
    assert_eq!(node.balance(bob).unwrap(), START);
    assert_eq!(node.nonce(alice).unwrap(), 0);

    // Exactly the minimum is enough.
    let enough = node.transfer_with(0, 0, MIN_FEE, bob, Amount(5)).unwrap();
    node.submit(enough).unwrap().unwrap();
    assert_eq!(node.produce_block().unwrap().results.tx_results[0].code, 0);
    assert_eq!(node.balance(bob).unwrap(), Amount(START.0 + 5));
}
