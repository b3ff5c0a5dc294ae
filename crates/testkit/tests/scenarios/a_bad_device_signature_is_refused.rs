use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_primitives::Amount;
use groundwork_testkit::{TestDevice, onboard_device_message};

use crate::{MAKER, device_node};

const EXPECTED: &str = "message 0 failed: the device signature does not verify: the device must sign its owner's address";

#[test]
fn a_bad_device_signature_is_refused() {
    let mut node = device_node();
    let hotspot = TestDevice::ed25519(1, DeviceKind::Hotspot);

    // The device accepted account 1 as its owner; account 0 cannot take it with that signature.
    let for_someone_else = node.onboarding(1, &hotspot, MAKER).unwrap();
    let result = node
        .execute(0, vec![onboard_device_message(for_someone_else)])
        .unwrap();
    assert_eq!((result.code, result.error.as_str()), (8, EXPECTED));

    // One bit of the device's signature flipped.
    let mut tampered = node.onboarding(0, &hotspot, MAKER).unwrap();
    tampered.device_signature[5] ^= 0x01;
    let result = node
        .execute(0, vec![onboard_device_message(tampered)])
        .unwrap();
    assert_eq!((result.code, result.error.as_str()), (8, EXPECTED));

    assert_eq!(node.device(&hotspot.id()).unwrap(), None);
    assert_eq!(node.stake_totals().unwrap().bonded, Amount::ZERO);
}
