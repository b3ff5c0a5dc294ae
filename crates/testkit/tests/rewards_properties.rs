//! Property test: over many epochs of random device activity (heartbeats, sensor readings,
//! replays judged invalid) and random reward parameters (emission, pool shares, where unclaimed
//! pools and rounding dust go), every epoch's books balance to the base unit:
//!
//! - payouts never exceed what the epoch had (`paid ≤ emission + carried_in`);
//! - `emission + carried_in = paid + to_treasury + burned + carry_out` (remainders accounted);
//! - each epoch carries in exactly what the previous one carried out;
//! - the per-device breakdowns add up to what was paid, and each owner's balance grew by the
//!   sum of its devices' breakdowns;
//! - the supply's minted counter is the sum of the epochs' `minted`, the treasury holds the sum
//!   of `to_treasury`, and `genesis + minted − burned = supply` holds after every block (the
//!   test node checks [`App::check_invariants`] after each one).
//!
//! [`App::check_invariants`]: groundwork_app::App::check_invariants

#![allow(clippy::unwrap_used, clippy::expect_used)]

use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::reports::params::ReportsParams;
use groundwork_app::modules::reports::sensors::HeartbeatParams;
use groundwork_app::modules::rewards::params::{RewardsParams, default_treasury};
use groundwork_app::modules::rewards::query;
use groundwork_primitives::Amount;
use groundwork_proto::v1::MeasurementKind;
use groundwork_testkit::{GenesisBuilder, TestDevice, TestNode, heartbeat, sensor_reading};
use groundwork_tokenomics::{EmissionCurve, PoolSpec, ProofKind, UnclaimedDestination};
use proptest::prelude::*;

const ACCOUNTS: usize = 3;
const SENSORS: usize = 4;
const EPOCH_BLOCKS: u64 = 4;

/// What one sensor does in one block.
#[derive(Debug, Clone, Copy)]
enum Act {
    Idle,
    Heartbeat,
    Reading,
    /// Sends its last reading again (judged replayed, an invalid verdict).
    Replay,
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        2 => Just(Act::Idle),
        3 => Just(Act::Heartbeat),
        3 => Just(Act::Reading),
        1 => Just(Act::Replay),
    ]
}

fn destination() -> impl Strategy<Value = UnclaimedDestination> {
    prop_oneof![
        Just(UnclaimedDestination::Treasury),
        Just(UnclaimedDestination::Burn),
        Just(UnclaimedDestination::CarryOver),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn every_epoch_pays_at_most_its_funds_and_accounts_for_every_base_unit(
        per_epoch in 0u128..10_000_000_000_000,
        uptime_bps in 0u32..=10_000,
        min_heartbeats in 1u32..3,
        unclaimed in destination(),
        rounding in destination(),
        blocks in prop::collection::vec(prop::collection::vec(act(), SENSORS), 8..28),
    ) {
        let mut params = RewardsParams::default();
        params.tokenomics.emission.curves = vec![EmissionCurve::Constant { per_epoch }];
        params.tokenomics.pools.pools = vec![
            PoolSpec { kind: ProofKind::Uptime, share_bps: uptime_bps, apply_reputation: true, apply_density: false },
            PoolSpec { kind: ProofKind::SensorData, share_bps: 10_000 - uptime_bps, apply_reputation: true, apply_density: false },
        ];
        params.tokenomics.pools.unclaimed = unclaimed;
        params.tokenomics.pools.rounding = rounding;
        params.tokenomics.uptime.min_heartbeats = min_heartbeats;
        let genesis = GenesisBuilder::new()
            .accounts(ACCOUNTS, Amount(1_000_000_000_000))
            .maker(100)
            .reports_params(ReportsParams {
                epoch_blocks: EPOCH_BLOCKS,
                heartbeat: HeartbeatParams { min_interval_ms: 1_000 },
                ..ReportsParams::default()
            })
            .rewards_params(params)
            .build();
        let mut node = TestNode::start(genesis).unwrap();
        let mut sensors: Vec<TestDevice> = (0..SENSORS as u64)
            .map(|i| TestDevice::ed25519(i, DeviceKind::Sensor))
            .collect();
        for (i, sensor) in sensors.iter().enumerate() {
            let joined = node.onboard_device(i % ACCOUNTS, sensor, 0).unwrap();
            prop_assert_eq!(joined.code, 0, "{}", joined.error);
        }
        let owners: Vec<_> = (0..ACCOUNTS).map(|i| node.address(i)).collect();
        let start: Vec<Amount> = owners.iter().map(|o| node.balance(*o).unwrap()).collect();
        let first_epoch = (node.height().unwrap() + 1) / EPOCH_BLOCKS;
        let minted_before = node.supply().unwrap().minted;

        let mut last_reading: Vec<Option<Vec<u8>>> = vec![None; SENSORS];
        let mut value = 20_000i64;
        for acts in &blocks {
            let mut reports = Vec::new();
            for (i, act) in acts.iter().enumerate() {
                match act {
                    Act::Idle => {}
                    Act::Heartbeat => reports.push(node.report(&mut sensors[i], heartbeat(1)).unwrap()),
                    Act::Reading => {
                        value += 10;
                        let report = node
                            .report(&mut sensors[i], sensor_reading(&[(MeasurementKind::TemperatureC, value)]))
                            .unwrap();
                        last_reading[i] = Some(report.clone());
                        reports.push(report);
                    }
                    Act::Replay => {
                        if let Some(report) = &last_reading[i] {
                            reports.push(report.clone());
                        }
                    }
                }
            }
            node.judge_reports(reports).unwrap();
        }
        // Close the last epoch touched.
        while !(node.height().unwrap() + 1).is_multiple_of(EPOCH_BLOCKS) {
            node.produce_block().unwrap();
        }
        let last_epoch = node.height().unwrap() / EPOCH_BLOCKS;

        let snapshot = node.store().snapshot().unwrap();
        let mut carried = Amount::ZERO;
        let mut minted = 0u128;
        let mut to_treasury = 0u128;
        let mut earned = [0u128; ACCOUNTS];
        for epoch in 0..=last_epoch {
            let summary = query::epoch_summary(&snapshot, epoch).unwrap().unwrap();
            prop_assert_eq!(summary.emission, Amount(per_epoch));
            prop_assert_eq!(summary.carried_in, carried);
            let available = per_epoch + summary.carried_in.0;
            prop_assert!(summary.paid.0 <= available);
            prop_assert_eq!(
                summary.paid.0 + summary.to_treasury.0 + summary.burned.0 + summary.carry_out.0,
                available
            );
            prop_assert_eq!(summary.minted.0, summary.paid.0 + summary.to_treasury.0);
            prop_assert_eq!(summary.unclaimed.0 + summary.rounding.0 + summary.paid.0, available);
            let mut breakdowns = 0u128;
            for (i, sensor) in sensors.iter().enumerate() {
                if let Some(record) = query::device_rewards(node.store(), &sensor.id(), epoch).unwrap() {
                    let lines: u128 = record.pools.iter().map(|l| l.amount.0).sum();
                    prop_assert_eq!(lines, record.total.0);
                    breakdowns += record.total.0;
                    if epoch >= first_epoch {
                        earned[i % ACCOUNTS] += record.total.0;
                    }
                }
            }
            prop_assert_eq!(breakdowns, summary.paid.0);
            carried = summary.carry_out;
            minted += summary.minted.0;
            to_treasury += summary.to_treasury.0;
        }
        // Epochs before the devices joined paid nothing to them but may have minted to the
        // treasury; the supply's counter holds every epoch's minting.
        prop_assert_eq!(node.supply().unwrap().minted.0, minted);
        prop_assert!(minted >= minted_before.0);
        prop_assert_eq!(node.balance(default_treasury()).unwrap().0, to_treasury);
        for (i, owner) in owners.iter().enumerate() {
            prop_assert_eq!(node.balance(*owner).unwrap().0, start[i].0 + earned[i]);
        }
        node.check_invariants().unwrap();
    }
}
