use groundwork_testkit::{
    decommission_device_message, terminate_deal_message, withdraw_provider_message,
};

use crate::{CLIENT, make_deal, outcome, owner_of, providers, storage_node, test_file};

#[test]
fn a_provider_holding_pieces_cannot_decommission_its_device() {
    let mut node = storage_node();
    let devices = providers(&mut node, 3);
    let file = test_file();
    let id = make_deal(
        &mut node,
        &file,
        &[&devices[0], &devices[1], &devices[2]],
        3,
    );
    let device = devices[0].id();

    // Withdrawing the offer is allowed (no new pieces), leaving with the stake is not.
    let withdrawn = node
        .execute(owner_of(0), vec![withdraw_provider_message(&device)])
        .unwrap();
    assert_eq!(outcome(&withdrawn), (0, ""));
    let refused = node
        .execute(owner_of(0), vec![decommission_device_message(&device)])
        .unwrap();
    assert_eq!(refused.code, 8);
    assert!(
        refused.error.contains("still holds 50048 bytes of deals"),
        "{}",
        refused.error
    );
    assert!(node.device(&device).unwrap().unwrap().stake.0 > 0);

    // Once the deal is over the device may leave and its stake unbonds.
    let ended = node
        .execute(CLIENT, vec![terminate_deal_message(id)])
        .unwrap();
    assert_eq!(outcome(&ended), (0, ""));
    let left = node
        .execute(owner_of(0), vec![decommission_device_message(&device)])
        .unwrap();
    assert_eq!(outcome(&left), (0, ""));
}
