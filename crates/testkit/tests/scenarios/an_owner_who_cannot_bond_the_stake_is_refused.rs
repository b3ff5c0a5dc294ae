use groundwork_app::modules::devices::params::DevicesParams;
use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_primitives::Amount;
use groundwork_testkit::TestDevice;

use crate::{DEVICE_START, MAKER, device_node};

#[test]
fn an_owner_who_cannot_bond_the_stake_is_refused() {
    let mut node = device_node();
    let (poor, rich) = (node.address(1), node.address(0));
    let stake = DevicesParams::default().stake_hotspot;
    let fee = node.min_fee().unwrap();
    // Account 1 gives away all but one base unit less than a stake and the onboarding fee.
    let keep = Amount(stake.0 - 1 + fee.0);
    let give = Amount(DEVICE_START.0 - fee.0 - keep.0);
    let tx = node.transfer(1, rich, give).unwrap();
    node.submit(tx).unwrap().unwrap();
    node.produce_block().unwrap();
    assert_eq!(node.balance(poor).unwrap(), keep);

    let hotspot = TestDevice::ed25519(1, DeviceKind::Hotspot);
    let result = node.onboard_device(1, &hotspot, MAKER).unwrap();

    assert_eq!(result.code, 8);
    assert_eq!(
        result.error,
        format!(
            "message 0 failed: cannot bond the hotspot stake: account {poor} holds {} base units, {} are needed",
            stake.0 - 1,
            stake.0
        )
    );
    assert_eq!(node.balance(poor).unwrap(), Amount(stake.0 - 1));
    assert_eq!(node.device(&hotspot.id()).unwrap(), None);
    assert_eq!(node.stake_totals().unwrap().bonded, Amount::ZERO);
}
