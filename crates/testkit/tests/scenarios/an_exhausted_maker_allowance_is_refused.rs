use groundwork_app::modules::devices::params::DevicesParams;
use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_testkit::{TestDevice, TestNode};

use crate::{MAKER, device_genesis};

#[test]
fn an_exhausted_maker_allowance_is_refused() {
    // A second maker with room for exactly one device; the first maker is unused.
    let mut node = TestNode::start(device_genesis().maker(1).build()).unwrap();
    let small_maker = MAKER + 1;
    let first = TestDevice::ed25519(1, DeviceKind::Sensor);
    let second = TestDevice::ed25519(2, DeviceKind::Sensor);

    let joined = node.onboard_device(0, &first, small_maker).unwrap();
    assert_eq!((joined.code, joined.error.as_str()), (0, ""));
    let refused = node.onboard_device(0, &second, small_maker).unwrap();

    assert_eq!(refused.code, 8);
    assert_eq!(
        refused.error,
        "message 0 failed: maker \"maker-1\" has used its whole onboarding allowance"
    );
    assert_eq!(node.device(&second.id()).unwrap(), None);
    assert_eq!(
        node.stake_totals().unwrap().bonded,
        DevicesParams::default().stake_sensor
    );
    // Another maker with allowance left can still attest the same device.
    let other = node.onboard_device(0, &second, MAKER).unwrap();
    assert_eq!((other.code, other.error.as_str()), (0, ""));
}
