use groundwork_app::modules::reports::state::ReportsRead;
use groundwork_proto::v1::report_body::Kind;

use crate::{
    ALEXANDERPLATZ, BRANDENBURG_GATE, OSTKREUZ, beacon, cell_of, device_node, distance_m,
    hotspot_at, payload, plausible_rssi, verdict, witness,
};

#[test]
fn an_honest_beacon_with_plausible_witnesses_is_valid() {
    let mut node = device_node();
    let mut beaconer = hotspot_at(&mut node, 1, BRANDENBURG_GATE);
    let mut near = hotspot_at(&mut node, 2, ALEXANDERPLATZ);
    let mut far = hotspot_at(&mut node, 3, OSTKREUZ);
    let gate = cell_of(BRANDENBURG_GATE);
    let (near_cell, far_cell) = (cell_of(ALEXANDERPLATZ), cell_of(OSTKREUZ));
    // Real geometry: a couple of kilometres, well inside the 100 km limit.
    assert!((2_000..=3_000).contains(&distance_m(gate, near_cell)));
    assert!((5_000..=7_000).contains(&distance_m(gate, far_cell)));

    let sent_at = node.next_block_time().unwrap();
    let id = beaconer.id();
    let reports = vec![
        // Witnesses may travel in the same block as the beacon, even before it.
        node.report(
            &mut near,
            Kind::Witness(witness(
                &id,
                payload(1),
                plausible_rssi(gate, near_cell),
                sent_at + 300,
            )),
        )
        .unwrap(),
        node.report(&mut beaconer, beacon(&node, payload(1)))
            .unwrap(),
        node.report(
            &mut far,
            Kind::Witness(witness(
                &id,
                payload(1),
                plausible_rssi(gate, far_cell),
                sent_at + 900,
            )),
        )
        .unwrap(),
    ];
    let results = node.judge_reports(reports).unwrap();

    for result in &results {
        assert_eq!(verdict(result), (0, ""), "{result:?}");
    }
    assert_eq!(
        results.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
        ["witness", "beacon", "witness"]
    );
    let snapshot = node.store().snapshot().unwrap();
    let record = snapshot.beacon(&payload(1)).unwrap().unwrap();
    assert_eq!((record.beaconer, record.witnesses), (id, 2));
    assert_eq!(record.first_witness_ms, Some(sent_at + 300));
    let counts = snapshot.activity(&id).unwrap().counts;
    assert_eq!(
        (counts.beacons, counts.beacon_witnesses, counts.invalid),
        (1, 2, 0)
    );
    assert_eq!(snapshot.activity(&near.id()).unwrap().counts.witnesses, 1);
    assert_eq!(snapshot.activity(&far.id()).unwrap().counts.witnesses, 1);
}
