use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::rewards::params::default_treasury;
use groundwork_primitives::Amount;
use groundwork_proto::v1::MeasurementKind;
use groundwork_testkit::{TestDevice, TestNode, heartbeat, sensor_reading};
use groundwork_tokenomics::{ProofKind, UnclaimedDestination};

use crate::{
    EPOCH_EMISSION, finish_epoch, join, pool, rewards_genesis, rewards_of, rewards_params,
    summary_of, verdict,
};

/// A node paying half of each epoch for uptime and half for sensor data, where unclaimed
/// pools go to `destination`, with one sensor that so far only sends heartbeats.
fn node_with_a_heartbeating_sensor(destination: UnclaimedDestination) -> (TestNode, TestDevice) {
    let mut params = rewards_params(
        vec![
            pool(ProofKind::Uptime, 5_000, false),
            pool(ProofKind::SensorData, 5_000, false),
        ],
        1,
    );
    params.tokenomics.pools.unclaimed = destination;
    let mut node = TestNode::start(rewards_genesis(params).build()).unwrap();
    let mut sensor = TestDevice::ed25519(1, DeviceKind::Sensor);
    join(&mut node, 1, &sensor, None);
    let beat = node.report(&mut sensor, heartbeat(1)).unwrap();
    assert_eq!(
        verdict(&node.judge_reports(vec![beat]).unwrap()[0]),
        (0, "")
    );
    (node, sensor)
}

#[test]
fn a_pool_nobody_qualifies_for_goes_to_the_treasury_the_burn_or_the_next_epoch() {
    let half = EPOCH_EMISSION / 2;

    // Treasury: the unclaimed sensor pool is minted to the treasury account.
    let (mut node, sensor) = node_with_a_heartbeating_sensor(UnclaimedDestination::Treasury);
    let minted_before = node.supply().unwrap().minted;
    let epoch = finish_epoch(&mut node);
    let summary = summary_of(&node, epoch);
    assert_eq!(summary.unclaimed, Amount(half));
    assert_eq!(
        (summary.to_treasury, summary.paid),
        (Amount(half), Amount(half))
    );
    assert_eq!(node.balance(default_treasury()).unwrap(), Amount(half));
    assert_eq!(rewards_of(&node, &sensor.id(), epoch).total, Amount(half));
    assert_eq!(
        node.supply().unwrap().minted,
        minted_before.checked_add(Amount(EPOCH_EMISSION)).unwrap()
    );
    node.assert_invariants();

    // Burn: the unclaimed pool is never minted.
    let (mut node, _) = node_with_a_heartbeating_sensor(UnclaimedDestination::Burn);
    let epoch = finish_epoch(&mut node);
    let summary = summary_of(&node, epoch);
    assert_eq!(
        (summary.burned, summary.minted),
        (Amount(half), Amount(half))
    );
    assert_eq!(node.balance(default_treasury()).unwrap(), Amount::ZERO);
    assert_eq!(node.supply().unwrap().minted, Amount(half));
    node.assert_invariants();

    // Next epoch: carried over, then paid with the next epoch's emission once a sensor
    // reading qualifies.
    let (mut node, mut sensor) = node_with_a_heartbeating_sensor(UnclaimedDestination::CarryOver);
    let first = finish_epoch(&mut node);
    let summary = summary_of(&node, first);
    assert_eq!(
        (summary.carry_out, summary.minted),
        (Amount(half), Amount(half))
    );
    let reports = vec![
        node.report(&mut sensor, heartbeat(2)).unwrap(),
        node.report(
            &mut sensor,
            sensor_reading(&[(MeasurementKind::TemperatureC, 21_000)]),
        )
        .unwrap(),
    ];
    for result in node.judge_reports(reports).unwrap() {
        assert_eq!(verdict(&result), (0, ""));
    }
    let second = finish_epoch(&mut node);
    assert_eq!(second, first + 1);
    let summary = summary_of(&node, second);
    assert_eq!(summary.carried_in, Amount(half));
    assert_eq!(summary.carry_out, Amount::ZERO);
    assert_eq!(summary.paid, Amount(EPOCH_EMISSION + half));
    assert_eq!(
        rewards_of(&node, &sensor.id(), second).total,
        Amount(EPOCH_EMISSION + half)
    );
    assert_eq!(node.supply().unwrap().minted, Amount(2 * EPOCH_EMISSION));
    node.assert_invariants();
}
