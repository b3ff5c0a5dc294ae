use groundwork_app::modules::storage::state::{ProofOutcome, StorageRead};
use groundwork_primitives::Amount;

use crate::{
    make_deal, outcome, owner_of, past_deadline, prove, providers, storage_node, test_file,
    to_window,
};

#[test]
fn a_missed_proof_is_not_paid_and_lowers_reputation() {
    let mut node = storage_node();
    let devices = providers(&mut node, 3);
    let file = test_file();
    let id = make_deal(
        &mut node,
        &file,
        &[&devices[0], &devices[1], &devices[2]],
        3,
    );
    let period = node.deal(id).unwrap().unwrap().start_period;
    let lazy_owner = node.address(owner_of(0));
    let lazy_before = node.balance(lazy_owner).unwrap();
    let fresh = node.storage_provider(&devices[0].id()).unwrap().unwrap();

    to_window(&mut node, period);
    for device in &devices[1..] {
        assert_eq!(outcome(&prove(&mut node, &file, id, &device.id())), (0, ""));
    }
    past_deadline(&mut node, period);

    // Not paid.
    assert_eq!(node.balance(lazy_owner).unwrap(), lazy_before);
    let record = node
        .store()
        .snapshot()
        .unwrap()
        .proof_record(id, period, &devices[0].id())
        .unwrap()
        .unwrap();
    assert_eq!(
        (record.outcome, record.paid, record.height),
        (
            ProofOutcome::Missed,
            Amount::ZERO,
            period * crate::PERIOD + crate::DEADLINE
        )
    );
    // Reputation: one failure after a fresh start, α decayed by λ = 0.999, β = w = 1.
    let lazy = node.storage_provider(&devices[0].id()).unwrap().unwrap();
    assert_eq!(
        (lazy.misses, lazy.passes, lazy.consecutive_failures),
        (1, 0, 1)
    );
    assert_eq!(lazy.reputation_alpha, fresh.reputation_alpha / 1000 * 999);
    assert_eq!(lazy.reputation_beta, 1_000_000_000);
    let view = groundwork_app::modules::storage::query::provider(
        &node.store().snapshot().unwrap(),
        &devices[0].id(),
    )
    .unwrap()
    .unwrap();
    // 999 / 1000 = 0.999000 exactly.
    assert_eq!(view.reputation_ppm, 999_000);
    // The honest ones passed.
    let honest = node.storage_provider(&devices[1].id()).unwrap().unwrap();
    assert_eq!((honest.passes, honest.misses), (1, 0));
    // Its piece is marked as having missed the last settled period.
    let deal = node.deal(id).unwrap().unwrap();
    assert!(deal.segments.iter().all(|s| s.pieces[0].missed_last));
    assert!(deal.segments.iter().all(|s| !s.pieces[1].missed_last));
    // The unpaid share stays in escrow for the client.
    assert_eq!(deal.escrow_left.0, deal.escrowed_total.0 - 2 * 50_048);
}
