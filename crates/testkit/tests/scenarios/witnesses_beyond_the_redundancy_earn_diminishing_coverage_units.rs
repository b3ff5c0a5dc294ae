use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_proto::v1::report_body::Kind;
use groundwork_testkit::{Radio, TestDevice, assert_location_message, onboard_device_message};
use groundwork_tokenomics::{CoverageParams, Fixed, ProofKind};

use crate::{
    ANTENNA_GAIN_DBI_X10, BRANDENBURG_GATE, MAKER, beacon, cell_of, finish_epoch, hotspot_at, line,
    payload, plausible_rssi, pool, rewards_genesis, rewards_of, rewards_params, verdict, witness,
};

/// Witnesses sit on a circle of this radius around the beaconer, in degrees of latitude (~3 km).
const RING_RADIUS_DEG: f64 = 0.027;

#[test]
fn witnesses_beyond_the_redundancy_earn_diminishing_coverage_units() {
    // Coverage only, without density scaling, so HIP-15's units are all that differ.
    let params = rewards_params(vec![pool(ProofKind::Coverage, 10_000, false)], 1);
    let mut node = groundwork_testkit::TestNode::start(rewards_genesis(params).build()).unwrap();
    let mut beaconer = hotspot_at(&mut node, 0, BRANDENBURG_GATE);
    let gate = cell_of(BRANDENBURG_GATE);
    let coverage = CoverageParams::default();
    // Six witnesses: two more than the four that earn a full unit each.
    let count = coverage.witness_redundancy as usize + 2;
    let mut witnesses: Vec<TestDevice> = (1..=count as u64)
        .map(|i| TestDevice::ed25519(i, DeviceKind::Hotspot))
        .collect();
    let mut messages = Vec::new();
    let mut cells = Vec::new();
    for (i, device) in witnesses.iter().enumerate() {
        let angle = std::f64::consts::TAU * i as f64 / count as f64;
        let (lat, lng) = BRANDENBURG_GATE;
        let cell = cell_of((
            lat + RING_RADIUS_DEG * angle.cos(),
            lng + RING_RADIUS_DEG * angle.sin() / lat.to_radians().cos(),
        ));
        cells.push(cell);
        messages.push(onboard_device_message(
            node.onboarding(0, device, MAKER).unwrap(),
        ));
        messages.push(assert_location_message(
            &device.id(),
            Radio {
                cell,
                antenna_gain_dbi_x10: ANTENNA_GAIN_DBI_X10,
                elevation_m: 40,
            },
        ));
    }
    let joined = node.execute(0, messages).unwrap();
    assert_eq!((joined.code, joined.error.as_str()), (0, ""));

    let sent_at = node.next_block_time().unwrap();
    let id = beaconer.id();
    let mut reports = vec![
        node.report(&mut beaconer, beacon(&node, payload(7)))
            .unwrap(),
    ];
    for (device, &cell) in witnesses.iter_mut().zip(&cells) {
        let heard = witness(&id, payload(7), plausible_rssi(gate, cell), sent_at + 400);
        reports.push(node.report(device, Kind::Witness(heard)).unwrap());
    }
    for result in node.judge_reports(reports).unwrap() {
        assert_eq!(verdict(&result), (0, ""), "{result:?}");
    }
    let epoch = finish_epoch(&mut node);

    // The beaconer: 2 − 0.8^(6−4) = 1.36 units, more than the one unit four witnesses give.
    let paid = rewards_of(&node, &id, epoch);
    let beaconer_units = line(&paid, ProofKind::Coverage).units;
    assert_eq!(beaconer_units, coverage.beacon_units(count as u32).beaconer);
    assert_eq!(beaconer_units, Fixed::from_bps(13_600));
    // Witnesses, in the order they were judged: a unit each for the first four, then less and
    // less (the fifth saw 5 witnesses: (4 + 1 − 0.8)/5 = 0.84; the sixth (5 − 0.64)/6).
    let units: Vec<Fixed> = witnesses
        .iter()
        .map(|w| line(&rewards_of(&node, &w.id(), epoch), ProofKind::Coverage).units)
        .collect();
    assert_eq!(&units[..4], &[Fixed::ONE; 4]);
    assert_eq!(units[4], Fixed::from_bps(8_400));
    assert_eq!(units[5], coverage.beacon_units(6).per_witness);
    assert!(units[5] < units[4] && units[4] < units[3]);
    // Pay follows units: the fifth and sixth witnesses earn less than the first.
    let amounts: Vec<u128> = witnesses
        .iter()
        .map(|w| rewards_of(&node, &w.id(), epoch).total.0)
        .collect();
    assert!(amounts[5] < amounts[4] && amounts[4] < amounts[0]);
    assert_eq!(amounts[0], amounts[3]);
    node.assert_invariants();
}
