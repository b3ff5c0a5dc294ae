use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::reports::physics::CoverageParams;
use groundwork_app::modules::reports::state::ReportsRead;
use groundwork_proto::v1::report_body::Kind;
use groundwork_testkit::{Radio, TestDevice, assert_location_message, onboard_device_message};

use crate::{
    ANTENNA_GAIN_DBI_X10, BRANDENBURG_GATE, MAKER, beacon, cell_of, device_node, distance_m,
    hotspot_at, payload, plausible_rssi, verdict, witness,
};

/// Witnesses sit on a circle of this radius around the beaconer, in degrees of latitude (~3 km).
const RING_RADIUS_DEG: f64 = 0.027;

#[test]
fn more_witnesses_than_the_cap_are_refused() {
    let mut node = device_node();
    let cap = CoverageParams::default().max_witnesses_per_beacon;
    let mut beaconer = hotspot_at(&mut node, 0, BRANDENBURG_GATE);
    let gate = cell_of(BRANDENBURG_GATE);

    // One more witness than the cap, evenly around the gate, onboarded in one transaction.
    let count = cap as usize + 1;
    let mut witnesses: Vec<TestDevice> = (1..=count as u64)
        .map(|i| TestDevice::ed25519(i, DeviceKind::Hotspot))
        .collect();
    let mut messages = Vec::new();
    let mut cells = Vec::new();
    for (i, device) in witnesses.iter().enumerate() {
        let angle = std::f64::consts::TAU * i as f64 / count as f64;
        let (lat, lng) = BRANDENBURG_GATE;
        let place = (
            lat + RING_RADIUS_DEG * angle.cos(),
            lng + RING_RADIUS_DEG * angle.sin() / lat.to_radians().cos(),
        );
        let cell = cell_of(place);
        assert!((2_500..=3_500).contains(&distance_m(gate, cell)));
        cells.push(cell);
        messages.push(onboard_device_message(
            node.onboarding(0, device, MAKER).unwrap(),
        ));
        let radio = Radio {
            cell,
            antenna_gain_dbi_x10: ANTENNA_GAIN_DBI_X10,
            elevation_m: 40,
        };
        messages.push(assert_location_message(&device.id(), radio));
    }
    let joined = node.execute(0, messages).unwrap();
    assert_eq!((joined.code, joined.error.as_str()), (0, ""));

    let sent_at = node.next_block_time().unwrap();
    let id = beaconer.id();
    let mut reports = vec![
        node.report(&mut beaconer, beacon(&node, payload(1)))
            .unwrap(),
    ];
    for (device, &cell) in witnesses.iter_mut().zip(&cells) {
        let heard = witness(&id, payload(1), plausible_rssi(gate, cell), sent_at + 500);
        reports.push(node.report(device, Kind::Witness(heard)).unwrap());
    }
    let results = node.judge_reports(reports).unwrap();

    assert_eq!(verdict(&results[0]), (0, ""));
    for result in &results[1..=cap as usize] {
        assert_eq!(verdict(result), (0, ""), "{result:?}");
    }
    assert_eq!(
        verdict(&results[count]),
        (
            16,
            format!("invalid witness: the beacon already has {cap} valid witnesses").as_str()
        )
    );
    let record = node
        .store()
        .snapshot()
        .unwrap()
        .beacon(&payload(1))
        .unwrap()
        .unwrap();
    assert_eq!(record.witnesses, u64::from(cap));
}
