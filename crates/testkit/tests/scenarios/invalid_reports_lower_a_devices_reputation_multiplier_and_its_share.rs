use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::rewards::state::RewardsRead;
use groundwork_proto::v1::MeasurementKind;
use groundwork_testkit::{TestDevice, sensor_reading};
use groundwork_tokenomics::{AuditOutcome, Fixed, ProofKind, ReputationParams};

use crate::{finish_epoch, join, line, pool, rewards_genesis, rewards_of, rewards_params, verdict};

#[test]
fn invalid_reports_lower_a_devices_reputation_multiplier_and_its_share() {
    let params = rewards_params(vec![pool(ProofKind::SensorData, 10_000, false)], 1);
    let mut node = groundwork_testkit::TestNode::start(rewards_genesis(params).build()).unwrap();
    let mut honest = TestDevice::ed25519(1, DeviceKind::Sensor);
    let mut sloppy = TestDevice::ed25519(2, DeviceKind::Sensor);
    join(&mut node, 1, &honest, None);
    join(&mut node, 2, &sloppy, None);
    let temperature = |milli| sensor_reading(&[(MeasurementKind::TemperatureC, milli)]);

    // Both send four valid readings; the sloppy one also has three replays judged invalid.
    for round in 0..4i64 {
        let mut reports = vec![
            node.report(&mut honest, temperature(20_000 + round))
                .unwrap(),
            node.report(&mut sloppy, temperature(20_000 + round))
                .unwrap(),
        ];
        let results = node.judge_reports(reports.clone()).unwrap();
        assert!(results.iter().all(|r| verdict(r) == (0, "")), "{results:?}");
        if round < 3 {
            reports.remove(0);
            assert_eq!(node.judge_reports(reports).unwrap()[0].code, 6);
        }
    }
    let epoch = finish_epoch(&mut node);

    let (good, bad) = (
        rewards_of(&node, &honest.id(), epoch),
        rewards_of(&node, &sloppy.id(), epoch),
    );
    // The history: four successes, then three failures, from a fresh score (Storj's model).
    let reputation = ReputationParams::default();
    let score = reputation.update_many(
        reputation.update_many(reputation.initial(), AuditOutcome::Success, 4),
        AuditOutcome::Failure,
        3,
    );
    assert_eq!(good.reputation, Fixed::ONE);
    assert_eq!(bad.reputation, reputation.multiplier(score));
    assert!(bad.reputation < Fixed::ONE);
    let (good_line, bad_line) = (
        line(&good, ProofKind::SensorData),
        line(&bad, ProofKind::SensorData),
    );
    assert_eq!(good_line.units, bad_line.units);
    assert_eq!(bad_line.reputation, bad.reputation);
    assert!(bad.total < good.total);
    // Shares follow weights: good / bad = 1 / multiplier (to the base unit, rounding down).
    let total = good.total.0 + bad.total.0;
    assert!(crate::EPOCH_EMISSION - total <= 1);
    // Only the damaged score is kept in state; a spotless one writes nothing.
    let snapshot = node.store().snapshot().unwrap();
    assert_eq!(snapshot.audit_score(&honest.id()).unwrap(), None);
    assert_eq!(snapshot.audit_score(&sloppy.id()).unwrap(), Some(score));
    node.assert_invariants();
}
