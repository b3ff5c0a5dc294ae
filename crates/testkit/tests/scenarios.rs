//! Scenario tests of the state machine, one file per behaviour, each named as a sentence.
//! Every block these tests make is followed by the supply invariants (the test node checks them).
//!
//! Device scenarios place hotspots on real H3 cells (resolution 12) in Berlin and Munich and
//! compute a plausible RSSI from the free-space path loss between their cell centres, so the
//! physics checks see real geometry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::reports::params::ReportsParams;
use groundwork_app::modules::reports::physics;
use groundwork_app::modules::reports::sensors::HeartbeatParams;
use groundwork_app::modules::rewards::params::RewardsParams;
use groundwork_app::modules::rewards::query;
use groundwork_app::modules::rewards::state::{DeviceRewards, EpochSummary, PoolLine};
use groundwork_app::modules::staking::params::StakingParams;
use groundwork_primitives::{Address, Amount, DeviceId};
use groundwork_proto::v1::{self, report_body::Kind};
use groundwork_testkit::{GenesisBuilder, Radio, TestDevice, TestNode, h3_cell};
use groundwork_tokenomics::{EmissionCurve, PoolSpec, ProofKind, UnclaimedDestination};

mod scenarios {
    pub mod a_bad_device_signature_is_refused;
    pub mod a_bad_maker_signature_is_refused;
    pub mod a_bad_signature_costs_nothing;
    pub mod a_data_receipt_without_the_payers_signature_is_refused;
    pub mod a_data_session_counted_twice_is_refused;
    pub mod a_decommissioned_device_unbonds_and_its_owner_withdraws_after_the_delay;
    pub mod a_device_below_the_heartbeat_minimum_earns_nothing_from_uptime;
    pub mod a_device_cannot_witness_itself;
    pub mod a_device_joins_with_its_makers_attestation_and_bonds_its_stake;
    pub mod a_failed_transfer_still_pays_its_fee_and_changes_nothing_else;
    pub mod a_fee_below_the_minimum_is_refused;
    pub mod a_follower_holding_a_proposals_transactions_decoded_reaches_the_verdict_of_one_decoding_them;
    pub mod a_heartbeat_too_soon_after_the_last_is_not_counted;
    pub mod a_hotspot_not_selected_cannot_beacon;
    pub mod a_hotspots_witness_and_later_heartbeat_in_one_block_are_both_judged_on_their_merits;
    pub mod a_large_block_checks_every_signature_in_its_place;
    pub mod a_late_witness_is_refused;
    pub mod a_leaders_own_proposal_executes_exactly_as_its_followers_re_execute_it;
    pub mod a_p256_secure_element_device_can_join_and_report;
    pub mod a_pool_nobody_qualifies_for_goes_to_the_treasury_the_burn_or_the_next_epoch;
    pub mod a_proposal_with_a_wrong_app_hash_is_rejected;
    pub mod a_receipt_from_a_payer_without_credits_is_judged_insufficient_credits;
    pub mod a_replayed_report_is_judged_replayed;
    pub mod a_replayed_transaction_is_refused_by_its_nonce;
    pub mod a_report_from_an_unknown_device_is_judged_unknown;
    pub mod a_restarted_node_continues_from_its_last_committed_block;
    pub mod a_reused_device_key_is_refused;
    pub mod a_sensor_cannot_send_radio_reports;
    pub mod a_sensor_value_changing_too_fast_is_refused;
    pub mod a_stale_price_refuses_to_mint_with_a_clear_error;
    pub mod a_stale_report_is_judged_not_fresh;
    pub mod a_transaction_for_another_chain_is_refused;
    pub mod a_transfer_moves_tokens_and_burns_the_fee;
    pub mod a_transferred_device_belongs_to_its_new_owner;
    pub mod a_witness_beyond_100_km_is_too_far;
    pub mod a_witness_of_an_unknown_beacon_is_refused;
    pub mod a_witness_on_another_frequency_is_refused;
    pub mod a_witness_stronger_than_free_space_allows_is_refused;
    pub mod a_witness_too_close_is_refused;
    pub mod an_account_proof_verifies_against_the_app_hash;
    pub mod an_accounts_transactions_are_found_newest_first_by_sender_and_recipient;
    pub mod an_exhausted_maker_allowance_is_refused;
    pub mod an_honest_beacon_with_plausible_witnesses_is_valid;
    pub mod an_implausible_sensor_reading_is_refused;
    pub mod an_owner_who_cannot_bond_the_stake_is_refused;
    pub mod an_unknown_maker_is_refused;
    pub mod credits_cannot_be_transferred;
    pub mod epoch_counts_are_saved_when_the_epoch_ends;
    pub mod hotspots_crowded_into_one_hex_have_their_coverage_scaled_down;
    pub mod invalid_reports_lower_a_devices_reputation_multiplier_and_its_share;
    pub mod minting_burns_tokens_at_the_oracle_median;
    pub mod more_witnesses_than_the_cap_are_refused;
    pub mod remint_pays_part_of_last_epochs_burns;
    pub mod replaying_the_blocks_into_a_fresh_store_gives_identical_state_roots;
    pub mod rounding_dust_goes_to_its_named_place_and_the_supply_adds_up;
    pub mod the_median_ignores_a_single_outlier_oracle;
    pub mod transactions_a_node_admitted_are_taken_as_verified_in_its_blocks_and_no_others;
    pub mod transactions_from_one_sender_execute_in_nonce_order;
    pub mod witnesses_beyond_the_redundancy_earn_diminishing_coverage_units;
}

/// Every account starts with this many base units.
const START: Amount = Amount(1_000_000);
/// The chain's minimum fee.
const MIN_FEE: Amount = Amount(1_000);

/// A node with three funded accounts of [`START`] and a minimum fee of [`MIN_FEE`].
fn node() -> TestNode {
    TestNode::start(
        GenesisBuilder::new()
            .accounts(3, START)
            .min_fee(MIN_FEE)
            .build(),
    )
    .unwrap()
}

/// An address no genesis account has.
fn stranger() -> Address {
    Address([0x5a; 20])
}

/// Every account of a device node starts with this many base units (10,000 tokens).
const DEVICE_START: Amount = Amount(1_000_000_000_000);
/// The index of the genesis maker of device nodes.
const MAKER: usize = 0;
/// Onboardings the genesis maker of device nodes may attest.
const MAKER_ALLOWANCE: u64 = 100;
/// Blocks a decommissioned device's stake waits in device nodes.
const UNBONDING_BLOCKS: u64 = 5;

/// Places in Berlin and Munich, (latitude, longitude) in degrees.
const BRANDENBURG_GATE: (f64, f64) = (52.516_275, 13.377_704);
/// About 2.5 km east of the Brandenburg Gate.
const ALEXANDERPLATZ: (f64, f64) = (52.521_918, 13.413_215);
/// About 6.5 km east-south-east of the Brandenburg Gate.
const OSTKREUZ: (f64, f64) = (52.503_000, 13.469_000);
/// About 50 m north of the Brandenburg Gate.
const NEXT_TO_THE_GATE: (f64, f64) = (52.516_725, 13.377_704);
/// About 500 km south of Berlin.
const MUNICH_MARIENPLATZ: (f64, f64) = (48.137_154, 11.576_124);

/// The EU868 carrier every test beacon uses, Hz.
const EU868_HZ: u64 = 868_100_000;
/// Beacon transmit power: 14 dBm, the EU868 limit, in tenths of a dBm.
const TX_POWER_DBM_X10: i32 = 140;
/// Every test hotspot's antenna: 3 dBi, in tenths.
const ANTENNA_GAIN_DBI_X10: i32 = 30;
/// Losses beyond free space assumed for an honest witness (walls, foliage), tenths of a dB.
const CLUTTER_LOSS_DB_X10: i64 = 100;
/// The SNR honest witnesses report, tenths of a dB.
const HONEST_SNR_DB_X10: i32 = 55;

/// The reports parameters of device nodes: every hotspot is selected to beacon by every block
/// (`beacon_interval_blocks` = 1), the rest are the defaults.
fn device_reports_params() -> ReportsParams {
    ReportsParams {
        beacon_interval_blocks: 1,
        ..ReportsParams::default()
    }
}

/// A genesis for device scenarios: three accounts of [`DEVICE_START`], one maker with
/// [`MAKER_ALLOWANCE`], unbonding after [`UNBONDING_BLOCKS`], every hotspot always selected,
/// one price oracle (its account is index 3).
fn device_genesis() -> GenesisBuilder {
    GenesisBuilder::new()
        .accounts(3, DEVICE_START)
        .oracles(1)
        .maker(MAKER_ALLOWANCE)
        .staking_params(StakingParams {
            unbonding_blocks: UNBONDING_BLOCKS,
        })
        .reports_params(device_reports_params())
}

/// A node made from [`device_genesis`].
fn device_node() -> TestNode {
    TestNode::start(device_genesis().build()).unwrap()
}

/// The H3 cell (resolution 12) of a place.
fn cell_of(place: (f64, f64)) -> u64 {
    h3_cell(place.0, place.1).unwrap()
}

/// Onboards `device` for account `owner` and, for `Some(place)`, asserts its location there
/// with the test antenna; every transaction must succeed.
fn join(node: &mut TestNode, owner: usize, device: &TestDevice, place: Option<(f64, f64)>) {
    let joined = node.onboard_device(owner, device, MAKER).unwrap();
    assert_eq!((joined.code, joined.error.as_str()), (0, ""));
    if let Some(place) = place {
        let radio = Radio {
            cell: cell_of(place),
            antenna_gain_dbi_x10: ANTENNA_GAIN_DBI_X10,
            elevation_m: 40,
        };
        let located = node.assert_location(owner, &device.id(), radio).unwrap();
        assert_eq!((located.code, located.error.as_str()), (0, ""));
    }
}

/// A hotspot with ed25519 key `index`, onboarded by account 0 and located at `place`.
fn hotspot_at(node: &mut TestNode, index: u64, place: (f64, f64)) -> TestDevice {
    let hotspot = TestDevice::ed25519(index, DeviceKind::Hotspot);
    join(node, 0, &hotspot, Some(place));
    hotspot
}

/// A beacon report body on EU868 at 14 dBm, drawing its randomness from the tip (always in
/// the window for the next block).
fn beacon(node: &TestNode, payload_id: [u8; 32]) -> Kind {
    Kind::Beacon(v1::Beacon {
        entropy_height: node.height().unwrap(),
        frequency_hz: EU868_HZ,
        tx_power_dbm_x10: TX_POWER_DBM_X10,
        payload_id: payload_id.to_vec(),
    })
}

/// An honest witness of `beaconer`'s beacon `payload_id`: same frequency, the RSSI given,
/// arriving at `received_at_ms`.
fn witness(
    beaconer: &DeviceId,
    payload_id: [u8; 32],
    rssi_dbm_x10: i32,
    received_at_ms: u64,
) -> v1::Witness {
    v1::Witness {
        beaconer: beaconer.as_bytes().to_vec(),
        payload_id: payload_id.to_vec(),
        frequency_hz: EU868_HZ,
        rssi_dbm_x10,
        snr_db_x10: HONEST_SNR_DB_X10,
        received_at_ms,
    }
}

/// Great-circle distance between two cells' centres, metres (rounded to nearest), as the
/// physics checks compute it.
fn distance_m(a: u64, b: u64) -> u64 {
    (distance_mm(a, b) + 500) / 1_000
}

fn distance_mm(a: u64, b: u64) -> u64 {
    physics::distance_mm(
        physics::cell_centre(a).unwrap(),
        physics::cell_centre(b).unwrap(),
    )
}

/// The strongest RSSI free space allows between two test hotspots (both antennas, the
/// default tolerance), tenths of a dBm, rounded up as the checks round it.
fn max_plausible_rssi(beacon_cell: u64, witness_cell: u64) -> i64 {
    let tolerance = i128::from(physics::CoverageParams::default().rssi_tolerance_db_x10);
    let budget_nano_db =
        (i128::from(TX_POWER_DBM_X10) + 2 * i128::from(ANTENNA_GAIN_DBI_X10) + tolerance)
            * 100_000_000;
    let loss_nano_db =
        physics::free_space_path_loss_nano_db(distance_mm(beacon_cell, witness_cell), EU868_HZ);
    // Ceiling division: minus the floor of the negation.
    i64::try_from(-(loss_nano_db - budget_nano_db).div_euclid(100_000_000)).unwrap()
}

/// What an honest witness hears: transmit power and both antenna gains less the free-space
/// path loss and [`CLUTTER_LOSS_DB_X10`], tenths of a dBm.
fn plausible_rssi(beacon_cell: u64, witness_cell: u64) -> i32 {
    let loss =
        physics::free_space_path_loss_db_x10(distance_m(beacon_cell, witness_cell), EU868_HZ);
    let rssi = i64::from(TX_POWER_DBM_X10) + 2 * i64::from(ANTENNA_GAIN_DBI_X10)
        - loss
        - CLUTTER_LOSS_DB_X10;
    i32::try_from(rssi).unwrap()
}

/// A payload id for a test beacon.
fn payload(tag: u8) -> [u8; 32] {
    [tag; 32]
}

/// The token price test oracles submit: $1.00 per token, in micro-dollars.
const ONE_DOLLAR: u64 = 1_000_000;

/// Oracle 0 submits [`ONE_DOLLAR`], then account 1 burns `tokens` whole tokens (8 decimals) for
/// credits to `payer`, the way a user pays for another key's traffic. At $1, one token buys
/// 100,000 credits. Returns the payer's credits.
fn buy_credits_for(node: &mut TestNode, payer: Address, tokens: u128) -> u64 {
    let priced = node.submit_price(0, ONE_DOLLAR).unwrap();
    assert_eq!((priced.code, priced.error.as_str()), (0, ""));
    let minted = node
        .mint_credits(1, Amount(tokens * 100_000_000), Some(payer))
        .unwrap();
    assert_eq!((minted.code, minted.error.as_str()), (0, ""));
    node.credits(payer).unwrap()
}

/// A report verdict as (code, reason).
fn verdict(result: &v1::ReportResult) -> (u32, &str) {
    (result.code, result.reason.as_str())
}

/// Blocks per epoch in rewards scenarios.
const REWARD_EPOCH_BLOCKS: u64 = 20;
/// Base units every epoch mints in rewards scenarios (a constant schedule keeps numbers exact).
const EPOCH_EMISSION: u128 = 1_000_000;

/// A pool of `kind` with `share_bps` of each epoch, reputation applied, density as given.
fn pool(kind: ProofKind, share_bps: u32, apply_density: bool) -> PoolSpec {
    PoolSpec {
        kind,
        share_bps,
        apply_reputation: true,
        apply_density,
    }
}

/// Rewards minting [`EPOCH_EMISSION`] per epoch into `pools`, uptime needing `min_heartbeats`,
/// unclaimed pools and dust to the treasury.
fn rewards_params(pools: Vec<PoolSpec>, min_heartbeats: u32) -> RewardsParams {
    let mut params = RewardsParams::default();
    params.tokenomics.emission.curves = vec![EmissionCurve::Constant {
        per_epoch: EPOCH_EMISSION,
    }];
    params.tokenomics.pools.pools = pools;
    params.tokenomics.pools.unclaimed = UnclaimedDestination::Treasury;
    params.tokenomics.pools.rounding = UnclaimedDestination::Treasury;
    params.tokenomics.uptime.min_heartbeats = min_heartbeats;
    params
}

/// [`device_genesis`] with [`REWARD_EPOCH_BLOCKS`]-block epochs, heartbeats counted a second
/// apart (one per block), and `rewards`.
fn rewards_genesis(rewards: RewardsParams) -> GenesisBuilder {
    device_genesis()
        .reports_params(ReportsParams {
            epoch_blocks: REWARD_EPOCH_BLOCKS,
            heartbeat: HeartbeatParams {
                min_interval_ms: 1_000,
            },
            ..device_reports_params()
        })
        .rewards_params(rewards)
}

/// Produces blocks until the epoch of the next block has ended (its last block committed, its
/// rewards paid); returns that epoch.
fn finish_epoch(node: &mut TestNode) -> u64 {
    let epoch = (node.height().unwrap() + 1) / REWARD_EPOCH_BLOCKS;
    while node.height().unwrap() < epoch * REWARD_EPOCH_BLOCKS + REWARD_EPOCH_BLOCKS - 1 {
        node.produce_block().unwrap();
    }
    epoch
}

/// A device's reward breakdown for an epoch (it must exist).
fn rewards_of(node: &TestNode, device: &DeviceId, epoch: u64) -> DeviceRewards {
    query::device_rewards(node.store(), device, epoch)
        .unwrap()
        .unwrap_or_else(|| panic!("no rewards record for {device} in epoch {epoch}"))
}

/// An epoch's summary (it must exist).
fn summary_of(node: &TestNode, epoch: u64) -> EpochSummary {
    query::epoch_summary(&node.store().snapshot().unwrap(), epoch)
        .unwrap()
        .unwrap()
}

/// A breakdown's line for one pool (it must exist).
fn line(rewards: &DeviceRewards, kind: ProofKind) -> &PoolLine {
    rewards
        .pools
        .iter()
        .find(|l| l.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} line in {rewards:?}"))
}
