use groundwork_proto::v1::report_body::Kind;

use crate::{
    ALEXANDERPLATZ, BRANDENBURG_GATE, OSTKREUZ, beacon, cell_of, device_node, hotspot_at, payload,
    plausible_rssi, verdict, witness,
};

#[test]
fn a_late_witness_is_refused() {
    let mut node = device_node();
    let mut beaconer = hotspot_at(&mut node, 1, BRANDENBURG_GATE);
    let mut near = hotspot_at(&mut node, 2, ALEXANDERPLATZ);
    let mut far = hotspot_at(&mut node, 3, OSTKREUZ);
    let gate = cell_of(BRANDENBURG_GATE);
    let near_rssi = plausible_rssi(gate, cell_of(ALEXANDERPLATZ));
    let far_rssi = plausible_rssi(gate, cell_of(OSTKREUZ));

    let sent_at = node.next_block_time().unwrap();
    let id = beaconer.id();
    let reports = vec![
        node.report(&mut beaconer, beacon(&node, payload(1)))
            .unwrap(),
        // Just in time: 4 s after the beacon.
        node.report(
            &mut near,
            Kind::Witness(witness(&id, payload(1), near_rssi, sent_at + 4_000)),
        )
        .unwrap(),
    ];
    let results = node.judge_reports(reports).unwrap();
    assert_eq!(verdict(&results[0]), (0, ""));
    assert_eq!(verdict(&results[1]), (0, ""));

    // A beacon's witnesses arrive within 4 s of it; this one is 4.001 s late (its report
    // itself is fresh, in the next block).
    let late = Kind::Witness(witness(&id, payload(1), far_rssi, sent_at + 4_001));
    let results = node
        .judge_reports(vec![node.report(&mut far, late).unwrap()])
        .unwrap();
    assert_eq!(
        verdict(&results[0]),
        (
            16,
            "invalid witness: arrived 4001 ms after the beacon (at most 4000)"
        )
    );
}
