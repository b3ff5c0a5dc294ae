use groundwork_app::modules::reports::physics::CoverageParams;
use groundwork_proto::v1::report_body::Kind;

use crate::{
    BRANDENBURG_GATE, NEXT_TO_THE_GATE, beacon, cell_of, device_node, distance_m, hotspot_at,
    payload, plausible_rssi, verdict, witness,
};

#[test]
fn a_witness_too_close_is_refused() {
    let mut node = device_node();
    let mut beaconer = hotspot_at(&mut node, 1, BRANDENBURG_GATE);
    let mut neighbour = hotspot_at(&mut node, 2, NEXT_TO_THE_GATE);
    let (gate, next_door) = (cell_of(BRANDENBURG_GATE), cell_of(NEXT_TO_THE_GATE));
    let params = CoverageParams::default();
    let distance = distance_m(gate, next_door);
    assert!((30..=80).contains(&distance), "{distance}");
    // Grid distance between the cells' parents at the separation resolution (11).
    let separation = h3o::Resolution::try_from(params.min_separation_resolution).unwrap();
    let parent = |cell: u64| {
        h3o::CellIndex::try_from(cell)
            .unwrap()
            .parent(separation)
            .unwrap()
    };
    let grid = parent(gate).grid_distance(parent(next_door)).unwrap();
    assert!(grid < params.min_witness_grid_distance as i32);

    let sent_at = node.next_block_time().unwrap();
    let id = beaconer.id();
    let heard = Kind::Witness(witness(
        &id,
        payload(1),
        plausible_rssi(gate, next_door),
        sent_at + 200,
    ));
    let reports = vec![
        node.report(&mut beaconer, beacon(&node, payload(1)))
            .unwrap(),
        node.report(&mut neighbour, heard).unwrap(),
    ];
    let results = node.judge_reports(reports).unwrap();

    assert_eq!(verdict(&results[0]), (0, ""));
    assert_eq!(
        verdict(&results[1]),
        (
            16,
            format!(
                "invalid witness: too close to the beaconer: grid distance Some({grid}) (at least {}), {distance} m",
                params.min_witness_grid_distance
            )
            .as_str()
        )
    );
}
