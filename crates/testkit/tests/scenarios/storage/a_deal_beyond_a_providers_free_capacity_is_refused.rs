use groundwork_testkit::{TestDevice, create_deal_message, update_provider_message};

use crate::{CLIENT, PRICE, make_deal, owner_of, providers, storage_node, terms, test_file};

#[test]
fn a_deal_beyond_a_providers_free_capacity_is_refused() {
    let mut node = storage_node();
    let devices = providers(&mut node, 3);
    let file = test_file();
    // Provider 1 shrinks its offer below the 50,048 bytes a deal of this file places on it.
    let shrunk = node
        .execute(
            owner_of(1),
            vec![update_provider_message(
                &devices[1].id(),
                PRICE,
                40_000,
                "http://127.0.0.1:9001",
            )],
        )
        .unwrap();
    assert_eq!(shrunk.code, 0, "{}", shrunk.error);
    let client_before = node.balance(node.address(CLIENT)).unwrap();
    let placement: Vec<Vec<&TestDevice>> = file
        .segments
        .iter()
        .map(|_| vec![&devices[0], &devices[1], &devices[2]])
        .collect();
    let deal = file.create_deal(node.chain_id(), &node.address(CLIENT), &placement, terms(2));
    let refused = node
        .execute(CLIENT, vec![create_deal_message(deal)])
        .unwrap();
    assert_eq!(refused.code, 8);
    assert!(
        refused.error.contains(&format!(
            "provider {} has 40000 bytes free, this deal places 50048 on it",
            devices[1].id()
        )),
        "{}",
        refused.error
    );
    // Only the fee was paid; nothing is reserved.
    assert_eq!(
        node.balance(node.address(CLIENT)).unwrap().0,
        client_before.0 - node.min_fee().unwrap().0
    );
    assert_eq!(
        node.storage_provider(&devices[0].id())
            .unwrap()
            .unwrap()
            .reserved_bytes,
        0
    );

    // With room again the deal goes through, and capacity cannot then shrink below it.
    let grown = node
        .execute(
            owner_of(1),
            vec![update_provider_message(
                &devices[1].id(),
                PRICE,
                60_000,
                "http://127.0.0.1:9001",
            )],
        )
        .unwrap();
    assert_eq!(grown.code, 0, "{}", grown.error);
    make_deal(
        &mut node,
        &file,
        &[&devices[0], &devices[1], &devices[2]],
        2,
    );
    let below = node
        .execute(
            owner_of(1),
            vec![update_provider_message(
                &devices[1].id(),
                PRICE,
                50_000,
                "http://127.0.0.1:9001",
            )],
        )
        .unwrap();
    assert!(
        below
            .error
            .contains("capacity 50000 is below the 50048 bytes deals already reserve"),
        "{}",
        below.error
    );
    // A second deal of the same size no longer fits on provider 1.
    let deal = file.create_deal(node.chain_id(), &node.address(CLIENT), &placement, terms(2));
    let full = node
        .execute(CLIENT, vec![create_deal_message(deal)])
        .unwrap();
    assert!(full.error.contains("has 9952 bytes free"), "{}", full.error);
}
