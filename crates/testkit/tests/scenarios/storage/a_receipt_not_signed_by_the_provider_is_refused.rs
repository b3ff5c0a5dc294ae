use groundwork_testkit::create_deal_message;

use crate::{CLIENT, providers, storage_node, terms, test_file};

#[test]
fn a_receipt_not_signed_by_the_provider_is_refused() {
    let mut node = storage_node();
    let devices = providers(&mut node, 3);
    let file = test_file();
    let placement = vec![vec![&devices[0], &devices[1], &devices[2]]; 2];
    let mut deal = file.create_deal(node.chain_id(), &node.address(CLIENT), &placement, terms(2));
    // Provider 2's receipt for segment 1 piece 2 signed by provider 1's key instead: a client
    // cannot name a provider that never acknowledged the piece.
    deal.segments[1].pieces[2].receipt =
        file.receipt(node.chain_id(), &node.address(CLIENT), 1, 2, &devices[1]);
    let refused = node
        .execute(CLIENT, vec![create_deal_message(deal)])
        .unwrap();
    assert_eq!(refused.code, 8);
    assert!(
        refused.error.contains(&format!(
            "segment 1 piece 2: the receipt does not verify with provider {}'s device key",
            devices[2].id()
        )),
        "{}",
        refused.error
    );
    assert_eq!(node.storage_totals().unwrap().escrowed.0, 0);
}
