use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_primitives::Amount;
use groundwork_testkit::{TestDevice, onboard_device_message};

use crate::{MAKER, device_node};

const EXPECTED: &str =
    "message 0 failed: the maker signature does not verify for maker \"maker-0\"";

#[test]
fn a_bad_maker_signature_is_refused() {
    let mut node = device_node();
    let hotspot = TestDevice::ed25519(1, DeviceKind::Hotspot);

    // One bit of the attestation flipped.
    let mut tampered = node.onboarding(0, &hotspot, MAKER).unwrap();
    tampered.maker_signature[0] ^= 0x01;
    let result = node
        .execute(0, vec![onboard_device_message(tampered)])
        .unwrap();
    assert_eq!((result.code, result.error.as_str()), (8, EXPECTED));

    // A genuine attestation of a sensor does not let the key join as a hotspot: the kind is
    // part of what the maker signs.
    let as_sensor = TestDevice::ed25519(1, DeviceKind::Sensor);
    let mut relabelled = node.onboarding(0, &as_sensor, MAKER).unwrap();
    relabelled.kind = DeviceKind::Hotspot.to_proto();
    let result = node
        .execute(0, vec![onboard_device_message(relabelled)])
        .unwrap();
    assert_eq!((result.code, result.error.as_str()), (8, EXPECTED));

    assert_eq!(node.device(&hotspot.id()).unwrap(), None);
    assert_eq!(node.stake_totals().unwrap().bonded, Amount::ZERO);
}
