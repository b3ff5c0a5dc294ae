use groundwork_app::modules::storage::state::DealStatus;
use groundwork_primitives::Amount;
use groundwork_testkit::terminate_deal_message;

use crate::{
    CLIENT, HELPER, PERIOD, make_deal, outcome, owner_of, prove, providers, storage_node,
    test_file, to_window,
};

#[test]
fn early_termination_refunds_the_unearned_payment_minus_the_providers_share() {
    let mut node = storage_node();
    let devices = providers(&mut node, 3);
    let file = test_file();
    let id = make_deal(
        &mut node,
        &file,
        &[&devices[0], &devices[1], &devices[2]],
        5,
    );
    let deal = node.deal(id).unwrap().unwrap();
    let start = deal.start_period;
    // 5 periods × 150,144 + the 10% reserve.
    assert_eq!(deal.escrowed_total, Amount(825_792));

    // Period `start` is proven by everyone.
    to_window(&mut node, start);
    for device in &devices {
        assert_eq!(outcome(&prove(&mut node, &file, id, &device.id())), (0, ""));
    }
    // Someone else cannot end the deal.
    let stranger = node
        .execute(HELPER, vec![terminate_deal_message(id)])
        .unwrap();
    assert!(
        stranger.error.contains("not the signer"),
        "{}",
        stranger.error
    );

    // The client ends it in the first block of the next period, before anyone proves it.
    node.advance_to((start + 1) * PERIOD).unwrap();
    let owners: Vec<Amount> = (0..3)
        .map(|i| node.balance(node.address(owner_of(i))).unwrap())
        .collect();
    let client_before = node.balance(node.address(CLIENT)).unwrap();
    let fee = node.min_fee().unwrap();
    let ended = node
        .execute(CLIENT, vec![terminate_deal_message(id)])
        .unwrap();
    assert_eq!(outcome(&ended), (0, ""));

    // Unearned per provider: the period in progress and the three after it, 4 × 50,048; the
    // providers keep 10% of it (rounded down), the client gets every other base unit left.
    let penalty = 4 * 50_048 / 10;
    assert_eq!(penalty, 20_019);
    let left_before = 825_792 - 150_144;
    let refund = left_before - 3 * penalty;
    for (i, before) in owners.iter().enumerate() {
        assert_eq!(
            node.balance(node.address(owner_of(i))).unwrap(),
            Amount(before.0 + penalty)
        );
    }
    assert_eq!(
        node.balance(node.address(CLIENT)).unwrap(),
        Amount(client_before.0 + refund - fee.0)
    );
    let deal = node.deal(id).unwrap().unwrap();
    assert_eq!(deal.status, DealStatus::Terminated);
    assert_eq!(
        (deal.escrow_left, deal.refunded),
        (Amount::ZERO, Amount(refund))
    );
    assert_eq!(node.storage_totals().unwrap().escrowed, Amount::ZERO);
    for device in &devices {
        assert_eq!(
            node.storage_provider(&device.id())
                .unwrap()
                .unwrap()
                .reserved_bytes,
            0
        );
    }
    // The deal takes no more proofs and cannot end twice.
    to_window(&mut node, start + 2);
    let late = node.challenges(id).unwrap();
    assert!(late.period.is_none() && late.providers.is_empty());
    let twice = node
        .execute(CLIENT, vec![terminate_deal_message(id)])
        .unwrap();
    assert!(twice.error.contains("already ended"), "{}", twice.error);
}
