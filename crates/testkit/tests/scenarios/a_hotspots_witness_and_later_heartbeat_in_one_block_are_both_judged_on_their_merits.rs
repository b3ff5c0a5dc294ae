use groundwork_proto::v1::report_body::Kind;
use groundwork_testkit::heartbeat;

use crate::{
    ALEXANDERPLATZ, BRANDENBURG_GATE, beacon, cell_of, device_node, hotspot_at, payload,
    plausible_rssi, verdict, witness,
};

/// Regression: within a block, reports are judged beacons first and witnesses last, but the
/// replay check compares counters in that order, so a device's witness (counter n) followed by
/// its heartbeat (counter n + 1) in the same block is judged a replay.
#[test]
fn a_hotspots_witness_and_later_heartbeat_in_one_block_are_both_judged_on_their_merits() {
    let mut node = device_node();
    let mut beaconer = hotspot_at(&mut node, 1, BRANDENBURG_GATE);
    let mut near = hotspot_at(&mut node, 2, ALEXANDERPLATZ);
    let rssi = plausible_rssi(cell_of(BRANDENBURG_GATE), cell_of(ALEXANDERPLATZ));

    let sent_at = node.next_block_time().unwrap();
    let id = beaconer.id();
    let reports = vec![
        node.report(&mut beaconer, beacon(&node, payload(1)))
            .unwrap(),
        // The witness hears the beacon (counter 1), then sends its heartbeat (counter 2).
        node.report(
            &mut near,
            Kind::Witness(witness(&id, payload(1), rssi, sent_at + 200)),
        )
        .unwrap(),
        node.report(&mut near, heartbeat(60)).unwrap(),
    ];
    let results = node.judge_reports(reports).unwrap();

    assert_eq!(verdict(&results[0]), (0, ""));
    assert_eq!(verdict(&results[1]), (0, ""), "{:?}", results[1]);
    assert_eq!(verdict(&results[2]), (0, ""));
}
