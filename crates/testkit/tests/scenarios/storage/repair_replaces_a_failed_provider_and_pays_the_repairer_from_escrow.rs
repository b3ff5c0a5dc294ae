use groundwork_primitives::Amount;
use groundwork_proto::v1;
use groundwork_testkit::{StoredFile, TestDevice, TestNode, repair_deal_message};

use crate::{
    CLIENT, HELPER, make_deal, outcome, owner_of, past_deadline, prove, providers, storage_node,
    test_file, to_window,
};

fn repair(
    node: &TestNode,
    file: &StoredFile,
    deal: u64,
    (segment, piece): (usize, usize),
    to: &TestDevice,
) -> v1::RepairDeal {
    v1::RepairDeal {
        deal_id: deal,
        segment: segment as u32,
        piece: piece as u32,
        new_provider: to.id().as_bytes().to_vec(),
        commitment: file.commitment(segment, piece).0.to_vec(),
        size: file.piece_size(segment, piece),
        receipt: file.receipt(node.chain_id(), &node.address(CLIENT), segment, piece, to),
    }
}

#[test]
fn repair_replaces_a_failed_provider_and_pays_the_repairer_from_escrow() {
    let mut node = storage_node();
    let devices = providers(&mut node, 4);
    let file = test_file();
    let id = make_deal(
        &mut node,
        &file,
        &[&devices[0], &devices[1], &devices[2]],
        20,
    );
    let start = node.deal(id).unwrap().unwrap().start_period;
    // While everyone is healthy, no piece may be repaired.
    let early = node
        .execute(
            HELPER,
            vec![repair_deal_message(repair(
                &node,
                &file,
                id,
                (0, 0),
                &devices[3],
            ))],
        )
        .unwrap();
    assert!(early.error.contains("is healthy"), "{}", early.error);

    // Provider 0 fails its first period.
    to_window(&mut node, start);
    for device in &devices[1..3] {
        assert_eq!(outcome(&prove(&mut node, &file, id, &device.id())), (0, ""));
    }
    past_deadline(&mut node, start);

    // The healthy ones stay put; the new provider may not already hold a piece of the segment;
    // the piece must be the same bytes.
    let healthy = node
        .execute(
            HELPER,
            vec![repair_deal_message(repair(
                &node,
                &file,
                id,
                (0, 1),
                &devices[3],
            ))],
        )
        .unwrap();
    assert!(healthy.error.contains("is healthy"), "{}", healthy.error);
    let twice = node
        .execute(
            HELPER,
            vec![repair_deal_message(repair(
                &node,
                &file,
                id,
                (0, 0),
                &devices[1],
            ))],
        )
        .unwrap();
    assert!(
        twice.error.contains("already holds piece 1"),
        "{}",
        twice.error
    );
    let mut other_bytes = repair(&node, &file, id, (0, 0), &devices[3]);
    other_bytes.commitment = file.commitment(0, 2).0.to_vec();
    let other = node
        .execute(HELPER, vec![repair_deal_message(other_bytes)])
        .unwrap();
    assert!(other.error.contains("same bytes"), "{}", other.error);

    // Repair both of provider 0's pieces onto provider 3. Two healthy pieces per segment are at
    // the threshold (2), so repair is due.
    let helper_before = node.balance(node.address(HELPER)).unwrap();
    let fee = node.min_fee().unwrap();
    let reserve_before = node.deal(id).unwrap().unwrap().repair_reserve_left;
    assert_eq!(reserve_before, Amount(150_144 * 20 / 10));
    // One transaction, so both land in the same period.
    let both = (0..2)
        .map(|segment| repair_deal_message(repair(&node, &file, id, (segment, 0), &devices[3])))
        .collect();
    let done = node.execute(HELPER, both).unwrap();
    assert_eq!(outcome(&done), (0, ""));
    // The reward is four periods of each piece's rate: 4 × (32,768 + 17,280).
    let reward = 4 * (32_768 + 17_280);
    assert_eq!(
        node.balance(node.address(HELPER)).unwrap(),
        Amount(helper_before.0 + reward - fee.0)
    );
    let deal = node.deal(id).unwrap().unwrap();
    assert_eq!(deal.repair_reserve_left, Amount(reserve_before.0 - reward));
    assert_eq!(deal.paid_to_repairers, Amount(reward));
    assert!(
        deal.segments
            .iter()
            .all(|s| s.pieces[0].provider == devices[3].id())
    );
    assert_eq!(
        node.storage_provider(&devices[0].id())
            .unwrap()
            .unwrap()
            .reserved_bytes,
        0
    );
    assert_eq!(
        node.storage_provider(&devices[3].id())
            .unwrap()
            .unwrap()
            .reserved_bytes,
        50_048
    );

    // From the next period on the new provider is challenged, proves and is paid.
    let new_owner = node.address(owner_of(3));
    let before = node.balance(new_owner).unwrap();
    to_window(&mut node, start + 1);
    let view = node.challenges(id).unwrap();
    assert!(view.providers.iter().any(|p| p.provider == devices[3].id()));
    assert!(view.providers.iter().all(|p| p.provider != devices[0].id()));
    assert_eq!(
        outcome(&prove(&mut node, &file, id, &devices[3].id())),
        (0, "")
    );
    assert_eq!(node.balance(new_owner).unwrap(), Amount(before.0 + 50_048));
}
