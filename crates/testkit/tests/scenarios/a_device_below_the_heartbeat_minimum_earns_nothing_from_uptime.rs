use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_primitives::Amount;
use groundwork_testkit::{TestDevice, heartbeat};
use groundwork_tokenomics::{Ineligibility, ProofKind};

use crate::{
    EPOCH_EMISSION, finish_epoch, join, line, pool, rewards_genesis, rewards_of, rewards_params,
    summary_of, verdict,
};

#[test]
fn a_device_below_the_heartbeat_minimum_earns_nothing_from_uptime() {
    let params = rewards_params(vec![pool(ProofKind::Uptime, 10_000, false)], 3);
    let mut node = groundwork_testkit::TestNode::start(rewards_genesis(params).build()).unwrap();
    let mut steady = TestDevice::ed25519(1, DeviceKind::Sensor);
    let mut flaky = TestDevice::ed25519(2, DeviceKind::Sensor);
    join(&mut node, 1, &steady, None);
    join(&mut node, 2, &flaky, None);
    let (steady_owner, flaky_owner) = (node.address(1), node.address(2));
    let (steady_start, flaky_start) = (
        node.balance(steady_owner).unwrap(),
        node.balance(flaky_owner).unwrap(),
    );

    // Three heartbeats from the steady sensor, two from the flaky one, one block apart.
    for round in 0..3 {
        let mut reports = vec![node.report(&mut steady, heartbeat(round)).unwrap()];
        if round < 2 {
            reports.push(node.report(&mut flaky, heartbeat(round)).unwrap());
        }
        for result in node.judge_reports(reports).unwrap() {
            assert_eq!(verdict(&result), (0, ""));
        }
    }
    let epoch = finish_epoch(&mut node);

    let paid = rewards_of(&node, &steady.id(), epoch);
    assert_eq!(
        line(&paid, ProofKind::Uptime).units,
        groundwork_tokenomics::Fixed::ONE
    );
    assert_eq!(paid.total, Amount(EPOCH_EMISSION));
    let unpaid = rewards_of(&node, &flaky.id(), epoch);
    let uptime = line(&unpaid, ProofKind::Uptime);
    assert_eq!(uptime.ineligible, Some(Ineligibility::TooFewHeartbeats));
    assert_eq!((uptime.amount, unpaid.total), (Amount::ZERO, Amount::ZERO));
    // The owners' balances moved by exactly what the breakdowns say.
    assert_eq!(
        node.balance(steady_owner).unwrap(),
        steady_start.checked_add(paid.total).unwrap()
    );
    assert_eq!(node.balance(flaky_owner).unwrap(), flaky_start);
    let summary = summary_of(&node, epoch);
    assert_eq!((summary.devices, summary.devices_paid), (2, 1));
    assert_eq!(summary.minted, Amount(EPOCH_EMISSION));
    node.assert_invariants();
}
