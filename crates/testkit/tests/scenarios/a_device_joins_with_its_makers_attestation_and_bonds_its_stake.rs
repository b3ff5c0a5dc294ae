use groundwork_app::modules::devices::params::DevicesParams;
use groundwork_app::modules::devices::state::{DeviceKind, DeviceStatus, DevicesRead};
use groundwork_primitives::{Address, Amount};
use groundwork_testkit::TestDevice;

use crate::{MAKER, MAKER_ALLOWANCE, device_node};

#[test]
fn a_device_joins_with_its_makers_attestation_and_bonds_its_stake() {
    let mut node = device_node();
    let owner = node.address(0);
    let stake = DevicesParams::default().stake_hotspot;
    let fee = node.min_fee().unwrap();
    let before = node.balance(owner).unwrap();
    let hotspot = TestDevice::ed25519(1, DeviceKind::Hotspot);

    let result = node.onboard_device(0, &hotspot, MAKER).unwrap();

    assert_eq!((result.code, result.error.as_str()), (0, ""));
    let kinds: Vec<&str> = result.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["fee_burned", "device_onboarded", "stake_bonded"]);
    assert_eq!(
        node.balance(owner).unwrap(),
        Amount(before.0 - stake.0 - fee.0)
    );
    assert_eq!(node.stake_totals().unwrap().bonded, stake);

    let record = node.device(&hotspot.id()).unwrap().unwrap();
    let maker_id = Address::from_public_key(&node.maker_key(MAKER).unwrap().public_key());
    assert_eq!(record.public_key, hotspot.public_key());
    assert_eq!(record.owner, owner);
    assert_eq!(record.kind, DeviceKind::Hotspot);
    assert_eq!(record.maker, maker_id);
    assert_eq!(record.status, DeviceStatus::Active);
    assert_eq!(record.onboarded_height, 1);
    assert_eq!(record.stake, stake);
    assert_eq!(record.location, None);

    // The onboarding used one of the maker's allowance.
    let maker = node
        .store()
        .snapshot()
        .unwrap()
        .maker(&maker_id)
        .unwrap()
        .unwrap();
    assert_eq!((maker.allowance, maker.onboarded), (MAKER_ALLOWANCE - 1, 1));
}
