use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::reports::sensors::HeartbeatParams;
use groundwork_app::modules::reports::state::ReportsRead;
use groundwork_testkit::{TestDevice, TestNode, heartbeat};

use crate::{device_genesis, join, verdict};

/// Ten-minute blocks, so the test can wait out the heartbeat cadence.
const BLOCK_STEP_MS: u64 = 600_000;

#[test]
fn a_heartbeat_too_soon_after_the_last_is_not_counted() {
    let mut node = TestNode::start(device_genesis().block_step_ms(BLOCK_STEP_MS).build()).unwrap();
    let min_interval_ms = HeartbeatParams::default().min_interval_ms;
    let mut sensor = TestDevice::ed25519(1, DeviceKind::Sensor);
    join(&mut node, 0, &sensor, None);

    let first = node.report(&mut sensor, heartbeat(600)).unwrap();
    assert_eq!(
        verdict(&node.judge_reports(vec![first]).unwrap()[0]),
        (0, "")
    );

    // One block (ten minutes) later: too soon.
    let soon = node.report(&mut sensor, heartbeat(1_200)).unwrap();
    assert_eq!(
        verdict(&node.judge_reports(vec![soon]).unwrap()[0]),
        (
            10,
            format!(
                "heartbeat cadence: {BLOCK_STEP_MS} ms after the previous heartbeat (at least {min_interval_ms})"
            )
            .as_str()
        )
    );

    // Thirty minutes after the counted one (the refused one does not restart the wait).
    node.produce_block().unwrap();
    let on_time = node.report(&mut sensor, heartbeat(2_400)).unwrap();
    assert_eq!(
        verdict(&node.judge_reports(vec![on_time]).unwrap()[0]),
        (0, "")
    );

    let activity = node
        .store()
        .snapshot()
        .unwrap()
        .activity(&sensor.id())
        .unwrap();
    assert_eq!(
        (activity.counts.heartbeats, activity.counts.invalid),
        (2, 1)
    );
}
