use groundwork_app::{account_tx_index_key, account_tx_positions};
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

    let entries = |address: groundwork_primitives::Address| -> Vec<(u64, u32, u8)> {
        let prefix = [b"a/".as_slice(), address.as_bytes()].concat();
        let end = [prefix.as_slice(), &[0xff; 9]].concat();
        node.store()
            .index_entries_rev(&prefix, &end, 100)
            .unwrap()
            .into_iter()
            .flat_map(|(key, value)| {
                let height = u64::from_be_bytes(key[prefix.len()..].try_into().unwrap());
                account_tx_positions(&key, &value)
                    .unwrap()
                    .into_iter()
                    .map(move |(position, role)| (height, position, role))
            })
            .collect()
    };
    // Alice sent at heights 1 and 3 and received at 2.
    assert_eq!(entries(alice), vec![(3, 0, 0), (2, 0, 1), (1, 0, 0)]);
    assert_eq!(entries(bob), vec![(2, 0, 0), (1, 0, 1)]);
    assert_eq!(entries(carol), vec![(3, 0, 1)]);

    // One entry per account and block: the key names the block, the value each transaction's
    // position and the account's role in it.
    let prefix = [b"a/".as_slice(), carol.as_bytes()].concat();
    let end = [prefix.as_slice(), &[0xff; 9]].concat();
    assert_eq!(
        node.store().index_entries_rev(&prefix, &end, 10).unwrap(),
        vec![(account_tx_index_key(&carol, 3), vec![0, 0, 0, 0, 1])]
    );
}

/// A busy block writes one entry per account, listing every transaction of it in the block.
#[test]
fn an_account_with_several_transactions_in_a_block_has_one_entry_naming_them_all() {
    let mut node = node();
    let (alice, bob) = (node.address(0), node.address(1));
    for _ in 0..3 {
        let tx = node.transfer(0, bob, Amount(1)).unwrap();
        node.submit(tx).unwrap().unwrap();
    }
    let back = node.transfer(1, alice, Amount(1)).unwrap();
    node.submit(back).unwrap().unwrap();
    let block = node.produce_block().unwrap();
    assert_eq!(block.tx_hashes.len(), 4);
    let height = node.app().tip().unwrap().unwrap().height;
    let entries = |address: groundwork_primitives::Address| {
        let prefix = [b"a/".as_slice(), address.as_bytes()].concat();
        let end = [prefix.as_slice(), &[0xff; 9]].concat();
        node.store().index_entries_rev(&prefix, &end, 10).unwrap()
    };
    let alice_entries = entries(alice);
    assert_eq!(alice_entries.len(), 1);
    assert_eq!(alice_entries[0].0, account_tx_index_key(&alice, height));
    // The block holds alice's three transfers and bob's, in the order the mempool gave them.
    let mut alice_sent: Vec<u32> = Vec::new();
    let mut alice_received: Vec<u32> = Vec::new();
    for (position, role) in account_tx_positions(&alice_entries[0].0, &alice_entries[0].1).unwrap()
    {
        if role == 0 {
            alice_sent.push(position);
        } else {
            alice_received.push(position);
        }
    }
    let bob_entries = entries(bob);
    assert_eq!(bob_entries.len(), 1);
    let bob_positions = account_tx_positions(&bob_entries[0].0, &bob_entries[0].1).unwrap();
    // Every transaction involves both: alice's three as sender, bob's one as recipient.
    assert_eq!(alice_sent.len(), 3);
    assert_eq!(alice_received.len(), 1);
    assert_eq!(bob_positions.len(), 4);
    let mut all: Vec<u32> = alice_sent.iter().chain(&alice_received).copied().collect();
    all.sort_unstable();
    assert_eq!(all, vec![0, 1, 2, 3]);
    assert_eq!(
        bob_positions.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        vec![0, 1, 2, 3],
        "positions in block order"
    );
}

/// Stores written before one entry per account and block hold one entry per transaction (the
/// position and role at the end of the key, no value): they still read the same.
#[test]
fn account_index_entries_of_the_earlier_layout_still_read() {
    let key = [
        b"a/".as_slice(),
        &[7u8; 20],
        &9u64.to_be_bytes(),
        &3u32.to_be_bytes(),
        &[1],
    ]
    .concat();
    assert_eq!(account_tx_positions(&key, &[]).unwrap(), vec![(3, 1)]);
    assert!(account_tx_positions(&key, &[0, 0, 0, 3, 1]).is_err());
    assert!(account_tx_positions(&key[..30], &[0, 0, 0]).is_err());
    assert!(account_tx_positions(&key[..10], &[]).is_err());
}
