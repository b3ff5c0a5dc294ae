use groundwork_app::modules::storage::state::DealStatus;
use groundwork_primitives::Amount;

use crate::{CLIENT, PERIOD, make_deal, per_period, providers, storage_node, test_file};

#[test]
fn a_deal_escrows_the_clients_payment() {
    let mut node = storage_node();
    let devices = providers(&mut node, 3);
    let file = test_file();
    let fee = node.min_fee().unwrap();
    let before = node.balance(node.address(CLIENT)).unwrap();

    let id = make_deal(
        &mut node,
        &file,
        &[&devices[0], &devices[1], &devices[2]],
        4,
    );

    // Four periods of every piece at one base unit per byte, plus the 10% repair reserve.
    let providers_total = per_period(&file) * 4;
    assert_eq!(providers_total, 150_144 * 4);
    let reserve = providers_total / 10;
    let total = Amount(providers_total + reserve);
    assert_eq!(
        node.balance(node.address(CLIENT)).unwrap(),
        Amount(before.0 - total.0 - fee.0)
    );
    assert_eq!(node.storage_totals().unwrap().escrowed, total);

    let deal = node.deal(id).unwrap().unwrap();
    let created = node.height().unwrap();
    assert_eq!(deal.status, DealStatus::Active);
    assert_eq!((deal.escrowed_total, deal.escrow_left), (total, total));
    assert_eq!(deal.repair_reserve_left, Amount(reserve));
    assert_eq!(deal.start_period, created / PERIOD + 1);
    assert_eq!(deal.end_period, deal.start_period + 4);
    assert_eq!(deal.cid, file.cid);
    assert_eq!(deal.segments.len(), 2);
    assert_eq!(deal.segments[0].pieces[1].commitment, file.commitment(0, 1));

    // Each provider's capacity is reserved for its two pieces.
    for device in &devices {
        let provider = node.storage_provider(&device.id()).unwrap().unwrap();
        assert_eq!(provider.reserved_bytes, 32_768 + 17_280);
        assert_eq!(provider.free_bytes(), (1 << 20) - 50_048);
    }
}
