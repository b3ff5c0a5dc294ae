use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::rewards::params::default_treasury;
use groundwork_primitives::Amount;
use groundwork_testkit::{TestDevice, TestNode, heartbeat};
use groundwork_tokenomics::{ProofKind, UnclaimedDestination};

use crate::{
    EPOCH_EMISSION, finish_epoch, join, pool, rewards_genesis, rewards_of, rewards_params,
    summary_of, verdict,
};

/// Three sensors that each qualify for uptime, on a chain routing rounding dust to `dust`.
fn three_way_split(dust: UnclaimedDestination) -> (TestNode, Vec<TestDevice>) {
    let mut params = rewards_params(vec![pool(ProofKind::Uptime, 10_000, false)], 1);
    params.tokenomics.pools.rounding = dust;
    let mut node = TestNode::start(rewards_genesis(params).build()).unwrap();
    let mut sensors: Vec<TestDevice> = (1..=3)
        .map(|i| TestDevice::ed25519(i, DeviceKind::Sensor))
        .collect();
    for sensor in &sensors {
        join(&mut node, 1, sensor, None);
    }
    let reports = sensors
        .iter_mut()
        .map(|s| node.report(s, heartbeat(1)).unwrap())
        .collect();
    for result in node.judge_reports(reports).unwrap() {
        assert_eq!(verdict(&result), (0, ""));
    }
    (node, sensors)
}

#[test]
fn rounding_dust_goes_to_its_named_place_and_the_supply_adds_up() {
    // 1,000,000 shared three ways: 333,333 each, one base unit of dust.
    let (mut node, sensors) = three_way_split(UnclaimedDestination::Treasury);
    let epoch = finish_epoch(&mut node);
    for sensor in &sensors {
        assert_eq!(
            rewards_of(&node, &sensor.id(), epoch).total,
            Amount(333_333)
        );
    }
    let summary = summary_of(&node, epoch);
    assert_eq!(summary.rounding, Amount(1));
    assert_eq!(summary.pools[0].rounding, Amount(1));
    assert_eq!(summary.to_treasury, Amount(1));
    assert_eq!(node.balance(default_treasury()).unwrap(), Amount(1));
    // The books: emission = paid + treasury + burned + carried; minted = paid + treasury.
    assert_eq!(summary.paid, Amount(999_999));
    assert_eq!(
        summary.paid.0 + summary.to_treasury.0 + summary.burned.0 + summary.carry_out.0,
        EPOCH_EMISSION
    );
    assert_eq!(node.supply().unwrap().minted, Amount(EPOCH_EMISSION));
    node.assert_invariants();

    // The same dust carried over instead is paid in the next epoch.
    let (mut node, _) = three_way_split(UnclaimedDestination::CarryOver);
    let epoch = finish_epoch(&mut node);
    let summary = summary_of(&node, epoch);
    assert_eq!(
        (summary.carry_out, summary.minted),
        (Amount(1), Amount(999_999))
    );
    let next = finish_epoch(&mut node);
    // Nobody reported in the next epoch: its whole pool and the carried unit are unclaimed and
    // go to the treasury; nothing is lost.
    let summary = summary_of(&node, next);
    assert_eq!(summary.carried_in, Amount(1));
    assert_eq!(summary.to_treasury, Amount(EPOCH_EMISSION + 1));
    assert_eq!(node.supply().unwrap().minted, Amount(2 * EPOCH_EMISSION));
    node.assert_invariants();
}
