use groundwork_app::tx;
use groundwork_primitives::Amount;

use crate::{MIN_FEE, START, node};

#[test]
fn a_failed_transfer_still_pays_its_fee_and_changes_nothing_else() {
    let mut node = node();
    let (alice, bob) = (node.address(0), node.address(1));
    // Able to pay the fee, not the fee and the amount: check_tx and the proposal would leave it
    // out, so it arrives in another proposer's block, which validators accept: it pays its fee.
    let overspend = node.transfer(0, bob, Amount(START.0)).unwrap();
    let refused = node.submit(overspend.clone()).unwrap().unwrap_err();
    assert_eq!(refused.code(), 6, "{refused}");
    let offered = node.offer_block(vec![overspend]).unwrap();
    assert_eq!(offered.verdict.as_ref().map(|tip| tip.height), Ok(1));
    let block = offered.executed;

    let result = &block.results.tx_results[0];
    assert_eq!(result.code, 8);
    assert_eq!(result.fee_charged, MIN_FEE.0.to_string());
    assert!(
        result.error.starts_with("message 0 failed:"),
        "{}",
        result.error
    );
    assert!(
        result
            .error
            .contains(&format!("holds {}", START.0 - MIN_FEE.0)),
        "{}",
        result.error
    );
    assert!(
        result.error.contains(&format!("{} are needed", START.0)),
        "{}",
        result.error
    );
    // Only the fee's event survives; the transfer's effects and event were dropped.
    let kinds: Vec<&str> = result.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["fee_burned"]);

    assert_eq!(node.balance(alice).unwrap(), Amount(START.0 - MIN_FEE.0));
    assert_eq!(node.balance(bob).unwrap(), START);
    assert_eq!(
        node.nonce(alice).unwrap(),
        1,
        "a fee-paying transaction uses its nonce"
    );
    assert_eq!(node.supply().unwrap().burned, MIN_FEE);

    // The account goes on with its next nonce.
    let next = node.transfer(0, bob, Amount(10)).unwrap();
    node.submit(next).unwrap().unwrap();
    let block = node.produce_block().unwrap();
    assert_eq!(block.results.tx_results[0].code, 0);
    assert_eq!(node.balance(bob).unwrap(), Amount(START.0 + 10));

    // Two messages, the first able to pay and the second not: the first one's transfer and its
    // event are dropped with the second's failure; only the fee's event stays.
    let both = tx::build_signed_tx(
        node.key(1).unwrap(),
        node.chain_id(),
        node.next_nonce(1).unwrap(),
        MIN_FEE,
        vec![
            tx::transfer_message(&alice, Amount(5)),
            tx::transfer_message(&alice, Amount(START.0 * 2)),
        ],
        "",
    );
    let block = node.offer_block(vec![both]).unwrap().executed;
    let result = &block.results.tx_results[0];
    assert!(
        result.error.starts_with("message 1 failed:"),
        "{}",
        result.error
    );
    let kinds: Vec<&str> = result.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["fee_burned"]);
    assert_eq!(
        node.balance(alice).unwrap(),
        Amount(START.0 - 2 * MIN_FEE.0 - 10),
        "alice received nothing from the failed transaction"
    );
}
