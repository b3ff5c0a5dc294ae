use groundwork_proto::v1::report_body::Kind;

use crate::{
    BRANDENBURG_GATE, MUNICH_MARIENPLATZ, beacon, cell_of, device_node, distance_m, hotspot_at,
    payload, verdict, witness,
};

#[test]
fn a_witness_beyond_100_km_is_too_far() {
    let mut node = device_node();
    let mut beaconer = hotspot_at(&mut node, 1, BRANDENBURG_GATE);
    let mut munich = hotspot_at(&mut node, 2, MUNICH_MARIENPLATZ);
    let distance = distance_m(cell_of(BRANDENBURG_GATE), cell_of(MUNICH_MARIENPLATZ));
    assert!((480_000..=520_000).contains(&distance), "{distance}");

    let sent_at = node.next_block_time().unwrap();
    let id = beaconer.id();
    // An RSSI that would be plausible for a hotspot next door.
    let heard = Kind::Witness(witness(&id, payload(1), -800, sent_at + 200));
    let reports = vec![
        node.report(&mut beaconer, beacon(&node, payload(1)))
            .unwrap(),
        node.report(&mut munich, heard).unwrap(),
    ];
    let results = node.judge_reports(reports).unwrap();

    assert_eq!(verdict(&results[0]), (0, ""));
    assert_eq!(
        verdict(&results[1]),
        (
            16,
            format!("invalid witness: {distance} m from the beaconer (at most 100000)").as_str()
        )
    );
}
