use groundwork_app::account_tx_index_key;
use groundwork_primitives::Amount;

use crate::node;

/// The lookup index behind `GET /v1/accounts/{address}/txs`: every transaction is listed under
/// its sender and under whoever it pays, newest first, and failed ones too (they cost a fee).
#[test]
fn an_accounts_transactions_are_found_newest_first_by_sender_and_recipient() {
    let mut node = node();
    let (alice, bob, carol) = (node.address(0), node.address(1), node.address(2));
    let first = node.transfer(0, bob, Amount(10)).unwrap();
    node.submit(first).unwrap().unwrap();
    node.produce_block().unwrap();
    let second = node.transfer(1, alice, Amount(3)).unwrap();
    node.submit(second).unwrap().unwrap();
    node.produce_block().unwrap();
    let third = node.transfer(0, carol, Amount(5)).unwrap();
    node.submit(third).unwrap().unwrap();
    node.produce_block().unwrap();

    let entries = |address: groundwork_primitives::Address| -> Vec<(u64, u8)> {
        let prefix = [b"a/".as_slice(), address.as_bytes()].concat();
        let end = [prefix.as_slice(), &[0xff; 9]].concat();
        node.store()
            .index_range_rev(&prefix, &end, 100)
            .unwrap()
            .into_iter()
            .map(|key| {
                let tail = &key[prefix.len()..];
                (u64::from_be_bytes(tail[..8].try_into().unwrap()), tail[12])
            })
            .collect()
    };
    // Alice sent at heights 1 and 3 and received at 2.
    assert_eq!(entries(alice), vec![(3, 0), (2, 1), (1, 0)]);
    assert_eq!(entries(bob), vec![(2, 0), (1, 1)]);
    assert_eq!(entries(carol), vec![(3, 1)]);

    // The key names the transaction by height and position in its block.
    let key = account_tx_index_key(&carol, 3, 0, 1);
    let prefix = [b"a/".as_slice(), carol.as_bytes()].concat();
    let end = [prefix.as_slice(), &[0xff; 9]].concat();
    assert_eq!(
        node.store().index_range(&prefix, &end, 10).unwrap(),
        vec![key]
    );
}
