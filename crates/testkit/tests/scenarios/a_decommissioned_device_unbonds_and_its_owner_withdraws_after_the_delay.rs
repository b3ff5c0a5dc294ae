use groundwork_app::modules::devices::params::DevicesParams;
use groundwork_app::modules::devices::state::{DeviceKind, DeviceStatus};
use groundwork_app::modules::staking::state::{StakingRead, Unbonding};
use groundwork_primitives::Amount;
use groundwork_testkit::{
    TestDevice, decommission_device_message, heartbeat, withdraw_unbonded_message,
};

use crate::{UNBONDING_BLOCKS, device_node, join, verdict};

#[test]
fn a_decommissioned_device_unbonds_and_its_owner_withdraws_after_the_delay() {
    let mut node = device_node();
    let owner = node.address(0);
    let stake = DevicesParams::default().stake_hotspot;
    let fee = node.min_fee().unwrap();
    let mut hotspot = TestDevice::ed25519(1, DeviceKind::Hotspot);
    join(&mut node, 0, &hotspot, None);
    let id = hotspot.id();
    let after_joining = node.balance(owner).unwrap();

    let retired = node
        .execute(0, vec![decommission_device_message(&id)])
        .unwrap();
    assert_eq!((retired.code, retired.error.as_str()), (0, ""));
    let decommissioned_at = node.height().unwrap();
    let release_height = decommissioned_at + UNBONDING_BLOCKS;

    let record = node.device(&id).unwrap().unwrap();
    assert_eq!(
        (record.status, record.stake),
        (DeviceStatus::Decommissioned, Amount::ZERO)
    );
    let totals = node.stake_totals().unwrap();
    assert_eq!((totals.bonded, totals.unbonding), (Amount::ZERO, stake));
    let queue = node
        .store()
        .snapshot()
        .unwrap()
        .unbonding_of(&owner, 10)
        .unwrap();
    assert_eq!(
        queue,
        [Unbonding {
            owner,
            device: id,
            release_height,
            amount: stake
        }]
    );

    // A retired device's reports are kept, and judged decommissioned.
    let beat = node.report(&mut hotspot, heartbeat(60)).unwrap();
    let results = node.judge_reports(vec![beat]).unwrap();
    assert_eq!(
        verdict(&results[0]),
        (3, format!("device {id} is decommissioned").as_str())
    );

    // Too early: every block before the release height refuses the withdrawal (fee paid).
    let mut early_attempts = 0u128;
    while node.height().unwrap() + 1 < release_height {
        early_attempts += 1;
        let early = node.execute(0, vec![withdraw_unbonded_message()]).unwrap();
        assert_eq!(
            (early.code, early.error.as_str()),
            (8, "message 0 failed: nothing has finished unbonding yet")
        );
    }
    assert!(early_attempts > 0);

    let withdrawn = node.execute(0, vec![withdraw_unbonded_message()]).unwrap();
    assert_eq!(node.height().unwrap(), release_height);
    assert_eq!((withdrawn.code, withdrawn.error.as_str()), (0, ""));
    // Fees: the decommissioning, the early attempts and the withdrawal.
    assert_eq!(
        node.balance(owner).unwrap(),
        Amount(after_joining.0 + stake.0 - fee.0 * (2 + early_attempts))
    );
    let totals = node.stake_totals().unwrap();
    assert_eq!(
        (totals.bonded, totals.unbonding),
        (Amount::ZERO, Amount::ZERO)
    );
    assert!(
        node.store()
            .snapshot()
            .unwrap()
            .unbonding_of(&owner, 10)
            .unwrap()
            .is_empty()
    );

    // Nothing is left to withdraw twice.
    let again = node.execute(0, vec![withdraw_unbonded_message()]).unwrap();
    assert_eq!(again.code, 8);
}
