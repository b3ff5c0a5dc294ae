use groundwork_app::modules::devices::params::DevicesParams;
use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_testkit::{TestDevice, decommission_device_message};

use crate::{MAKER, device_node};

#[test]
fn a_reused_device_key_is_refused() {
    let mut node = device_node();
    let hotspot = TestDevice::ed25519(1, DeviceKind::Hotspot);
    let joined = node.onboard_device(0, &hotspot, MAKER).unwrap();
    assert_eq!(joined.code, 0);
    let id = hotspot.id();
    let expected =
        format!("message 0 failed: device key already onboarded as {id}: a key joins once");

    // Another owner, the same key: refused.
    let again = node.onboard_device(1, &hotspot, MAKER).unwrap();
    assert_eq!((again.code, again.error.as_str()), (8, expected.as_str()));
    assert_eq!(node.device(&id).unwrap().unwrap().owner, node.address(0));

    // Not even after the device is retired: a key joins once, ever.
    let retired = node
        .execute(0, vec![decommission_device_message(&id)])
        .unwrap();
    assert_eq!(retired.code, 0);
    let after_retirement = node.onboard_device(0, &hotspot, MAKER).unwrap();
    assert_eq!(
        (after_retirement.code, after_retirement.error.as_str()),
        (8, expected.as_str())
    );
    let totals = node.stake_totals().unwrap();
    assert_eq!(totals.bonded.0, 0);
    assert_eq!(totals.unbonding, DevicesParams::default().stake_hotspot);
}
