use groundwork_proto::v1::report_body::Kind;

use crate::{
    ALEXANDERPLATZ, BRANDENBURG_GATE, OSTKREUZ, beacon, cell_of, device_node, distance_m,
    hotspot_at, max_plausible_rssi, payload, verdict, witness,
};

#[test]
fn a_witness_stronger_than_free_space_allows_is_refused() {
    let mut node = device_node();
    let mut beaconer = hotspot_at(&mut node, 1, BRANDENBURG_GATE);
    let mut near = hotspot_at(&mut node, 2, ALEXANDERPLATZ);
    let mut far = hotspot_at(&mut node, 3, OSTKREUZ);
    let gate = cell_of(BRANDENBURG_GATE);
    let (near_cell, far_cell) = (cell_of(ALEXANDERPLATZ), cell_of(OSTKREUZ));
    // 14 dBm + 3 dBi + 3 dBi + 8 dB tolerance − free-space loss at ~2.5 km on 868.1 MHz.
    let near_max = max_plausible_rssi(gate, near_cell);
    let far_max = max_plausible_rssi(gate, far_cell);
    assert!((-760..=-660).contains(&near_max), "{near_max}");

    let sent_at = node.next_block_time().unwrap();
    let id = beaconer.id();
    let at_the_limit = Kind::Witness(witness(
        &id,
        payload(1),
        i32::try_from(near_max).unwrap(),
        sent_at + 200,
    ));
    let too_strong = i32::try_from(far_max + 1).unwrap();
    let above_the_limit = Kind::Witness(witness(&id, payload(1), too_strong, sent_at + 200));
    let reports = vec![
        node.report(&mut beaconer, beacon(&node, payload(1)))
            .unwrap(),
        node.report(&mut near, at_the_limit).unwrap(),
        node.report(&mut far, above_the_limit).unwrap(),
    ];
    let results = node.judge_reports(reports).unwrap();

    assert_eq!(verdict(&results[0]), (0, ""));
    assert_eq!(verdict(&results[1]), (0, ""));
    assert_eq!(
        verdict(&results[2]),
        (
            16,
            format!(
                "invalid witness: RSSI {too_strong} dBm×10 exceeds the free-space maximum {far_max} at {} m",
                distance_m(gate, far_cell)
            )
            .as_str()
        )
    );
}
