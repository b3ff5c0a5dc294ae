use groundwork_app::modules::storage::state::{DealStatus, ProofOutcome, StorageRead};
use groundwork_primitives::Amount;

use crate::{
    CLIENT, make_deal, outcome, owner_of, past_deadline, per_period, prove, providers,
    storage_node, test_file, to_window,
};

#[test]
fn a_provider_who_proves_is_paid_per_period() {
    let mut node = storage_node();
    let devices = providers(&mut node, 3);
    let file = test_file();
    let id = make_deal(
        &mut node,
        &file,
        &[&devices[0], &devices[1], &devices[2]],
        2,
    );
    let deal = node.deal(id).unwrap().unwrap();
    let owners: Vec<_> = (0..3).map(|i| node.address(owner_of(i))).collect();
    let start: Vec<Amount> = owners.iter().map(|o| node.balance(*o).unwrap()).collect();
    let client_after_deal = node.balance(node.address(CLIENT)).unwrap();

    for (n, period) in (deal.start_period..deal.end_period).enumerate() {
        to_window(&mut node, period);
        for device in &devices {
            let result = prove(&mut node, &file, id, &device.id());
            assert_eq!(outcome(&result), (0, ""));
        }
        // Each owner is paid its two pieces' bytes, once per proven period.
        for (owner, before) in owners.iter().zip(&start) {
            assert_eq!(
                node.balance(*owner).unwrap(),
                Amount(before.0 + 50_048 * (n as u128 + 1))
            );
        }
        // A second proof of the same period is refused.
        let again = prove(&mut node, &file, id, &devices[0].id());
        assert_eq!(again.code, 8);
        assert!(again.error.contains("already proved"), "{}", again.error);
    }
    past_deadline(&mut node, deal.end_period - 1);

    let deal = node.deal(id).unwrap().unwrap();
    assert_eq!(deal.status, DealStatus::Completed);
    assert_eq!(deal.paid_to_providers, Amount(per_period(&file) * 2));
    // Every period was proven: the client gets back the unused repair reserve only.
    let reserve = per_period(&file) * 2 / 10;
    assert_eq!(deal.refunded, Amount(reserve));
    assert_eq!(
        node.balance(node.address(CLIENT)).unwrap(),
        Amount(client_after_deal.0 + reserve)
    );
    assert_eq!(node.storage_totals().unwrap().escrowed, Amount::ZERO);
    // Capacity is released and the history says proven for every (period, provider).
    for device in &devices {
        let provider = node.storage_provider(&device.id()).unwrap().unwrap();
        assert_eq!((provider.reserved_bytes, provider.passes), (0, 2));
    }
    let history = node
        .store()
        .snapshot()
        .unwrap()
        .proof_records(id, None, 100)
        .unwrap();
    assert_eq!(history.len(), 6);
    assert!(
        history
            .iter()
            .all(|r| r.outcome == ProofOutcome::Proven && r.paid == Amount(50_048))
    );
}
