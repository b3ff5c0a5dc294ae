use crate::{
    make_deal, outcome, past_deadline, prove, providers, storage_node, test_file, to_window,
};

#[test]
fn replaying_a_storage_history_gives_identical_state_roots() {
    // Deals, proofs seeded by block hashes, a missed period settled in an end block, a slash-free
    // history: everything the storage module decides, re-executed into a fresh store.
    let mut node = storage_node();
    let devices = providers(&mut node, 3);
    let file = test_file();
    let id = make_deal(
        &mut node,
        &file,
        &[&devices[0], &devices[1], &devices[2]],
        2,
    );
    let start = node.deal(id).unwrap().unwrap().start_period;
    to_window(&mut node, start);
    for device in &devices[..2] {
        assert_eq!(outcome(&prove(&mut node, &file, id, &device.id())), (0, ""));
    }
    past_deadline(&mut node, start + 1);
    let history = node.history().unwrap();
    let replayed = node.replay_into_fresh_store().unwrap();
    assert_eq!(replayed, history);
    assert!(node.deal(id).unwrap().unwrap().ended_height.is_some());
}
