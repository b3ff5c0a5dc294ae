use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::reports::state::ReportsRead;
use groundwork_proto::v1::MeasurementKind;
use groundwork_testkit::{TestDevice, sensor_reading};

use crate::{device_node, join, verdict};

#[test]
fn a_replayed_report_is_judged_replayed() {
    let mut node = device_node();
    let mut sensor = TestDevice::ed25519(1, DeviceKind::Sensor);
    join(&mut node, 0, &sensor, None);
    let temperature = |milli| sensor_reading(&[(MeasurementKind::TemperatureC, milli)]);

    let first = node.report(&mut sensor, temperature(20_000)).unwrap();
    assert_eq!(
        verdict(&node.judge_reports(vec![first.clone()]).unwrap()[0]),
        (0, "")
    );

    // The same bytes in a later block, and a copy inside one block.
    let second = node.report(&mut sensor, temperature(20_100)).unwrap();
    let results = node
        .judge_reports(vec![first, second.clone(), second])
        .unwrap();
    assert_eq!(
        verdict(&results[0]),
        (
            6,
            "counter 1 is not above the device's last counter 1: a replay"
        )
    );
    assert_eq!(verdict(&results[1]), (0, ""));
    assert_eq!(
        verdict(&results[2]),
        (
            6,
            "counter 2 is not above the device's last counter 2: a replay"
        )
    );

    // A lower counter, freshly signed, is a replay too.
    let stale_counter = sensor.report_with_counter(
        node.chain_id(),
        1,
        node.next_block_time().unwrap(),
        temperature(20_200),
    );
    let results = node.judge_reports(vec![stale_counter]).unwrap();
    assert_eq!(
        verdict(&results[0]),
        (
            6,
            "counter 1 is not above the device's last counter 2: a replay"
        )
    );

    // Replays are kept as invalid, and only the two genuine readings count.
    let activity = node
        .store()
        .snapshot()
        .unwrap()
        .activity(&sensor.id())
        .unwrap();
    assert_eq!(activity.last_counter, Some(2));
    assert_eq!(
        (activity.counts.sensor_readings, activity.counts.invalid),
        (2, 3)
    );
}
