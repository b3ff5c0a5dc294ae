use groundwork_app::modules::devices::params::DevicesParams;
use groundwork_app::modules::devices::state::{DeviceKind, DevicesRead};
use groundwork_app::modules::staking::state::StakingRead;
use groundwork_testkit::{
    TestDevice, decommission_device_message, heartbeat, transfer_device_message,
};

use crate::{device_node, join, verdict};

#[test]
fn a_transferred_device_belongs_to_its_new_owner() {
    let mut node = device_node();
    let (seller, buyer) = (node.address(0), node.address(1));
    let mut hotspot = TestDevice::ed25519(1, DeviceKind::Hotspot);
    join(&mut node, 0, &hotspot, None);
    let id = hotspot.id();

    let moved = node
        .execute(0, vec![transfer_device_message(&id, &buyer)])
        .unwrap();
    assert_eq!((moved.code, moved.error.as_str()), (0, ""));

    let record = node.device(&id).unwrap().unwrap();
    assert_eq!(record.owner, buyer);
    // The stake went with the device.
    assert_eq!(record.stake, DevicesParams::default().stake_hotspot);
    let snapshot = node.store().snapshot().unwrap();
    assert_eq!(snapshot.devices_of_owner(&buyer, None, 10).unwrap(), [id]);
    assert!(
        snapshot
            .devices_of_owner(&seller, None, 10)
            .unwrap()
            .is_empty()
    );
    drop(snapshot);

    // The seller can no longer manage it.
    let refused = node
        .execute(0, vec![decommission_device_message(&id)])
        .unwrap();
    assert_eq!(
        (refused.code, refused.error.as_str()),
        (
            8,
            format!("message 0 failed: device {id} belongs to {buyer}, not the signer").as_str()
        )
    );
    // The device itself keeps its key and keeps reporting.
    let beat = node.report(&mut hotspot, heartbeat(60)).unwrap();
    assert_eq!(
        verdict(&node.judge_reports(vec![beat]).unwrap()[0]),
        (0, "")
    );

    // The buyer retires it, and the stake unbonds to the buyer.
    let retired = node
        .execute(1, vec![decommission_device_message(&id)])
        .unwrap();
    assert_eq!((retired.code, retired.error.as_str()), (0, ""));
    let snapshot = node.store().snapshot().unwrap();
    let queue = snapshot.unbonding_of(&buyer, 10).unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].device, id);
    assert!(snapshot.unbonding_of(&seller, 10).unwrap().is_empty());
}
