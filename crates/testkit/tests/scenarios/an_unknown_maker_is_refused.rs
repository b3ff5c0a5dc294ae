use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_primitives::{Address, Amount, SigningKey};
use groundwork_testkit::{TestDevice, onboard_device_message};

use crate::device_node;

#[test]
fn an_unknown_maker_is_refused() {
    let mut node = device_node();
    let owner = node.address(0);
    let before = node.balance(owner).unwrap();
    let stranger = SigningKey::from_seed([0x77; 32]);
    let stranger_id = Address::from_public_key(&stranger.public_key());
    let hotspot = TestDevice::ed25519(1, DeviceKind::Hotspot);
    // A well-formed attestation by a key the chain never registered.
    let onboarding = hotspot.onboarding(node.chain_id(), &owner, &stranger);

    let result = node
        .execute(0, vec![onboard_device_message(onboarding)])
        .unwrap();

    assert_eq!(result.code, 8);
    assert_eq!(
        result.error,
        format!("message 0 failed: unknown maker {stranger_id}")
    );
    // Only the fee is charged: nothing is bonded and no device exists.
    let fee = node.min_fee().unwrap();
    assert_eq!(node.balance(owner).unwrap(), Amount(before.0 - fee.0));
    assert_eq!(node.stake_totals().unwrap().bonded, Amount::ZERO);
    assert_eq!(node.device(&hotspot.id()).unwrap(), None);
}
