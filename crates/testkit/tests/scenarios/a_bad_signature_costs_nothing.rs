use groundwork_primitives::Amount;
use groundwork_testkit::tamper_signature;

use crate::{START, node};

#[test]
fn a_bad_signature_costs_nothing() {
    let mut node = node();
    let (alice, bob) = (node.address(0), node.address(1));
    let forged = tamper_signature(&node.transfer(0, bob, Amount(400_000)).unwrap());

    let refused = node.submit(forged.clone()).unwrap().unwrap_err();
    assert_eq!(refused.code(), 2);
    assert!(node.mempool().is_empty());

    // A block that carries it anyway: execution verifies signatures itself and charges nothing,
    // and validators refuse a block with a transaction that pays no fee.
    let offered = node.offer_block(vec![forged]).unwrap();
    let result = &offered.executed.results.tx_results[0];
    assert_eq!((result.code, result.fee_charged.as_str()), (2, "0"));
    assert_eq!(
        result.error,
        "the signature does not match the signer and the transaction body"
    );
    assert!(result.events.is_empty());
    assert!(
        offered
            .verdict
            .unwrap_err()
            .contains("cannot pay its fee (code 2")
    );

    assert_eq!(node.height().unwrap(), 0);
    assert_eq!(node.balance(alice).unwrap(), START);
    assert_eq!(node.balance(bob).unwrap(), START);
    assert_eq!(node.nonce(alice).unwrap(), 0);
    assert_eq!(node.supply().unwrap().burned, Amount::ZERO);
}
