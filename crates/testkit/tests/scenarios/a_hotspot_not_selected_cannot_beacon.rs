use groundwork_app::modules::reports::params::ReportsParams;
use groundwork_app::modules::reports::selected_to_beacon;
use groundwork_testkit::TestNode;

use crate::{
    BRANDENBURG_GATE, beacon, device_genesis, device_reports_params, hotspot_at, payload, verdict,
};

/// On average one block in a million selects a given hotspot.
const RARELY: u64 = 1_000_000;

#[test]
fn a_hotspot_not_selected_cannot_beacon() {
    let genesis = device_genesis().reports_params(ReportsParams {
        beacon_interval_blocks: RARELY,
        ..device_reports_params()
    });
    let mut node = TestNode::start(genesis.build()).unwrap();
    let mut hotspot = hotspot_at(&mut node, 1, BRANDENBURG_GATE);
    let window = ReportsParams::default().beacon_window_blocks;

    // The beacon draws on the tip's hash, which does not select this hotspot.
    let entropy_height = node.height().unwrap();
    let entropy = node.history().unwrap()[entropy_height as usize - 1].block_hash;
    assert!(!selected_to_beacon(&entropy, &hotspot.id(), RARELY));
    let results = node
        .judge_reports(vec![
            node.report(&mut hotspot, beacon(&node, payload(1)))
                .unwrap(),
        ])
        .unwrap();
    assert_eq!(
        verdict(&results[0]),
        (
            11,
            format!("the device was not selected to beacon by the hash of block {entropy_height}")
                .as_str()
        )
    );

    // Nor can it pick an old block that happened to select it: randomness is only good for
    // `beacon_window_blocks`.
    for _ in 0..window {
        node.produce_block().unwrap();
    }
    let results = node
        .judge_reports(vec![
            node.report(
                &mut hotspot,
                groundwork_proto::v1::report_body::Kind::Beacon(groundwork_proto::v1::Beacon {
                    entropy_height,
                    frequency_hz: crate::EU868_HZ,
                    tx_power_dbm_x10: crate::TX_POWER_DBM_X10,
                    payload_id: payload(2).to_vec(),
                }),
            )
            .unwrap(),
        ])
        .unwrap();
    assert_eq!(
        verdict(&results[0]),
        (
            12,
            format!(
                "beacon entropy from block {entropy_height} is outside the last {window} blocks"
            )
            .as_str()
        )
    );
}
