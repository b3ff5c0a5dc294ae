use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::reports::params::ReportsParams;
use groundwork_testkit::{TestDevice, heartbeat};

use crate::{device_node, join, verdict};

#[test]
fn a_stale_report_is_judged_not_fresh() {
    let mut node = device_node();
    let params = ReportsParams::default();
    let mut sensor = TestDevice::ed25519(1, DeviceKind::Sensor);
    join(&mut node, 0, &sensor, None);
    let chain_id = node.chain_id().to_string();
    let block_ms = node.next_block_time().unwrap();

    let too_old = block_ms - params.max_report_age_ms - 1;
    let too_new = block_ms + params.max_report_future_ms + 1;
    let oldest_accepted = block_ms - params.max_report_age_ms;
    let reports = vec![
        sensor.report(&chain_id, too_old, heartbeat(60)),
        sensor.report(&chain_id, too_new, heartbeat(60)),
        sensor.report(&chain_id, oldest_accepted, heartbeat(60)),
    ];
    let results = node.judge_reports(reports).unwrap();

    assert_eq!(
        verdict(&results[0]),
        (7, format!("timestamp {too_old} is outside the accepted window around the block time {block_ms} (ms)").as_str())
    );
    assert_eq!(
        verdict(&results[1]),
        (7, format!("timestamp {too_new} is outside the accepted window around the block time {block_ms} (ms)").as_str())
    );
    assert_eq!(verdict(&results[2]), (0, ""));
}
