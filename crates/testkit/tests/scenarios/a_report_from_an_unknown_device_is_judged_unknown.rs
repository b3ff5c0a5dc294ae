use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_testkit::{TestDevice, heartbeat};

use crate::{device_node, verdict};

#[test]
fn a_report_from_an_unknown_device_is_judged_unknown() {
    let mut node = device_node();
    // Never onboarded.
    let mut stranger = TestDevice::ed25519(9, DeviceKind::Hotspot);

    let beat = node.report(&mut stranger, heartbeat(60)).unwrap();
    let results = node.judge_reports(vec![beat]).unwrap();

    let id = stranger.id();
    assert_eq!(
        verdict(&results[0]),
        (2, format!("unknown device {id}").as_str())
    );
    // The verdict is kept under the id the report claims.
    assert_eq!(results[0].device, id.as_bytes().to_vec());
    assert_eq!(
        (results[0].counter, results[0].kind.as_str()),
        (1, "heartbeat")
    );
}
