//! Property test: random sequences of device onboardings, decommissions, withdrawals, ownership
//! transfers and slashes (of active devices' bonds and of decommissioned devices' unbonding
//! stake), checked after every block against the supply rules
//! (`liquid + bonded + unbonding = genesis + minted − burned`, [`App::check_invariants`], which the
//! test node runs after each block), against the rule that the bonded total is the sum of the
//! active devices' stakes, and against a small model that predicts every result code, every
//! balance, the unbonding queue and the burned total.
//!
//! **How slashes get in.** No transaction calls [`slash`] yet (storage proofs and fraud proofs,
//! later issues, will). So a slash here is a block of its own whose only content is the call: the
//! test runs [`slash`] on an overlay of the committed state, records the block's height, time and
//! parent hash as any block does, computes the state root and commits it through the store. The
//! blocks after it are ordinary blocks built on that root, so every later onboarding,
//! decommissioning and withdrawal sees the slashed bonds. Such a block holds no encoded block
//! body, so these nodes are never replayed.
//!
//! [`App::check_invariants`]: groundwork_app::App::check_invariants

#![allow(clippy::unwrap_used, clippy::expect_used)]

use groundwork_app::chain::{self, LastBlock};
use groundwork_app::modules::devices::params::DevicesParams;
use groundwork_app::modules::devices::slash;
use groundwork_app::modules::devices::state::{DeviceKind, DeviceStatus, DevicesRead};
use groundwork_app::modules::staking::params::StakingParams;
use groundwork_app::modules::staking::state::StakingRead;
use groundwork_primitives::{Amount, sha256};
use groundwork_state::{BlockCommit, Overlay};
use groundwork_testkit::{
    GenesisBuilder, TestDevice, TestNode, decommission_device_message, onboard_device_message,
    transfer_device_message, withdraw_unbonded_message,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const ACCOUNTS: usize = 3;
const START: u128 = 1_000_000_000_000;
const MIN_FEE: u128 = 1_000;
const UNBONDING_BLOCKS: u64 = 3;
/// The result code of a transaction that paid its fee and whose message failed.
const MESSAGE_FAILED: u32 = 8;

#[derive(Debug, Clone)]
enum Op {
    Onboard {
        owner: usize,
        kind: DeviceKind,
    },
    Decommission {
        device: usize,
        signer: usize,
    },
    Transfer {
        device: usize,
        signer: usize,
        to: usize,
    },
    Withdraw {
        account: usize,
    },
}

#[derive(Debug, Clone)]
enum Step {
    /// A block of transactions, one per operation, in order.
    Block(Vec<Op>),
    /// A block whose only content is slashing a device (picked modulo the devices there are)
    /// by this many thousandths of a hotspot stake.
    Slash { device: usize, per_mille: u128 },
}

fn op() -> impl Strategy<Value = Op> {
    let kind = prop_oneof![
        Just(DeviceKind::Hotspot),
        Just(DeviceKind::Sensor),
        Just(DeviceKind::Meter),
    ];
    prop_oneof![
        3 => (0..ACCOUNTS, kind).prop_map(|(owner, kind)| Op::Onboard { owner, kind }),
        // The signer is usually, not always, the device's owner (see `signer_for`).
        2 => (any::<usize>(), 0..ACCOUNTS + 1)
            .prop_map(|(device, signer)| Op::Decommission { device, signer }),
        2 => (any::<usize>(), 0..ACCOUNTS + 1, 0..ACCOUNTS)
            .prop_map(|(device, signer, to)| Op::Transfer { device, signer, to }),
        2 => (0..ACCOUNTS).prop_map(|account| Op::Withdraw { account }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => prop::collection::vec(op(), 0..4).prop_map(Step::Block),
        1 => (any::<usize>(), 0u128..1_500)
            .prop_map(|(device, per_mille)| Step::Slash { device, per_mille }),
    ]
}

/// One device as the model sees it.
struct ModelDevice {
    device: TestDevice,
    owner: usize,
    active: bool,
    stake: u128,
}

/// What the chain should hold.
struct Model {
    devices: Vec<ModelDevice>,
    /// (owner, release height, amount, device index)
    unbonding: Vec<(usize, u64, u128, usize)>,
    balances: [u128; ACCOUNTS],
    burned: u128,
    slashed: u128,
    next_key: u64,
}

impl Model {
    /// `Op`s name accounts `0..=ACCOUNTS`; `ACCOUNTS` stands for "the device's owner".
    fn signer_for(&self, device: usize, signer: usize) -> usize {
        if signer == ACCOUNTS {
            self.devices[device].owner
        } else {
            signer
        }
    }
}

/// The result code of transaction `tx` in `block`.
fn tx_code(block: &groundwork_app::FinalizedBlock, tx: &[u8]) -> u32 {
    let hash = sha256(tx);
    let index = block.tx_hashes.iter().position(|h| *h == hash).unwrap();
    block.results.tx_results[index].code
}

/// Commits a block whose only content is `slash` of `device` (see the file's docs); returns the
/// amount burned.
fn slash_block(
    node: &TestNode,
    device: &groundwork_primitives::DeviceId,
    amount: Amount,
) -> Amount {
    let store = node.store();
    let snapshot = store.snapshot().unwrap();
    let tip = snapshot.tip().unwrap();
    let height = tip.height + 1;
    let time_ms = node.next_block_time().unwrap();
    let mut state = Overlay::new(&snapshot);
    chain::put_last_block(&mut state, LastBlock { height, time_ms });
    chain::put_parent_hash(&mut state, height, &tip.block_hash);
    let (burned, event) = slash(&mut state, device, amount, "property test").unwrap();
    assert_eq!(event.kind, "stake_slashed");
    let changes = state.into_changes();
    let (app_hash, tree) = store.compute_root(&snapshot, &changes, height).unwrap();
    drop(snapshot);
    store
        .commit_block(BlockCommit {
            height,
            block_hash: sha256(&[b"slash".as_slice(), &height.to_be_bytes()].concat()),
            app_hash,
            time_ms,
            changes,
            tree,
            ..BlockCommit::default()
        })
        .unwrap();
    burned
}

fn run_block(node: &mut TestNode, model: &mut Model, ops: &[Op]) -> Result<(), TestCaseError> {
    let params = DevicesParams::default();
    let height = node.height().unwrap() + 1;
    let mut expected = Vec::new();
    let mut txs = Vec::new();
    for op in ops {
        let (signer, message, code) = match *op {
            Op::Onboard { owner, kind } => {
                model.next_key += 1;
                let device = TestDevice::ed25519(model.next_key, kind);
                let message = onboard_device_message(node.onboarding(owner, &device, 0).unwrap());
                let stake = params.stake_for(kind).0;
                model.balances[owner] -= stake;
                model.devices.push(ModelDevice {
                    device,
                    owner,
                    active: true,
                    stake,
                });
                (owner, message, 0)
            }
            Op::Decommission { device, signer } if !model.devices.is_empty() => {
                let device = device % model.devices.len();
                let signer = model.signer_for(device, signer);
                let entry = &mut model.devices[device];
                let message = decommission_device_message(&entry.device.id());
                if entry.active && entry.owner == signer {
                    model
                        .unbonding
                        .push((signer, height + UNBONDING_BLOCKS, entry.stake, device));
                    entry.active = false;
                    entry.stake = 0;
                    (signer, message, 0)
                } else {
                    (signer, message, MESSAGE_FAILED)
                }
            }
            Op::Transfer { device, signer, to } if !model.devices.is_empty() => {
                let device = device % model.devices.len();
                let signer = model.signer_for(device, signer);
                let entry = &mut model.devices[device];
                let message = transfer_device_message(&entry.device.id(), &node.address(to));
                if entry.active && entry.owner == signer {
                    entry.owner = to;
                    (signer, message, 0)
                } else {
                    (signer, message, MESSAGE_FAILED)
                }
            }
            Op::Withdraw { account } => {
                let released: u128 = model
                    .unbonding
                    .iter()
                    .filter(|(owner, release, _, _)| *owner == account && *release <= height)
                    .map(|(_, _, amount, _)| amount)
                    .sum();
                model
                    .unbonding
                    .retain(|(owner, release, _, _)| !(*owner == account && *release <= height));
                model.balances[account] += released;
                let code = if released > 0 { 0 } else { MESSAGE_FAILED };
                (account, withdraw_unbonded_message(), code)
            }
            // A device operation before any device exists: nothing to send.
            Op::Decommission { .. } | Op::Transfer { .. } => continue,
        };
        model.balances[signer] -= MIN_FEE;
        model.burned += MIN_FEE;
        let tx = node.sign_tx(signer, vec![message]).unwrap();
        node.submit(tx.clone()).unwrap().unwrap();
        txs.push(tx);
        expected.push(code);
    }
    // Every block is followed by `App::check_invariants` inside the test node.
    let block = node.produce_block().unwrap();
    prop_assert_eq!(block.block.txs.len(), txs.len());
    let codes: Vec<u32> = txs.iter().map(|tx| tx_code(&block, tx)).collect();
    prop_assert_eq!(codes, expected, "results: {:?}", block.results.tx_results);
    Ok(())
}

fn check_state(node: &TestNode, model: &Model) -> Result<(), TestCaseError> {
    node.check_invariants()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let snapshot = node.store().snapshot().unwrap();
    let totals = snapshot.stake_totals().unwrap();

    // Bonded is the sum of the active devices' stakes, as stored and as modelled.
    let stored = snapshot.devices_page(None, 10_000).unwrap();
    let stored_bonded: u128 = stored
        .iter()
        .filter(|d| d.status == DeviceStatus::Active)
        .map(|d| d.stake.0)
        .sum();
    prop_assert!(
        stored
            .iter()
            .filter(|d| d.status == DeviceStatus::Decommissioned)
            .all(|d| d.stake == Amount::ZERO)
    );
    let model_bonded: u128 = model
        .devices
        .iter()
        .filter(|d| d.active)
        .map(|d| d.stake)
        .sum();
    prop_assert_eq!(totals.bonded.0, stored_bonded);
    prop_assert_eq!(totals.bonded.0, model_bonded);

    // Unbonding is the sum of the queue.
    let mut queued = 0u128;
    for account in 0..ACCOUNTS {
        let entries = snapshot
            .unbonding_of(&node.address(account), 10_000)
            .unwrap();
        queued += entries.iter().map(|e| e.amount.0).sum::<u128>();
    }
    let model_unbonding: u128 = model.unbonding.iter().map(|(_, _, a, _)| a).sum();
    prop_assert_eq!(totals.unbonding.0, queued);
    prop_assert_eq!(totals.unbonding.0, model_unbonding);
    prop_assert_eq!(totals.slashed.0, model.slashed);

    // Every balance and the burned total, exactly.
    for account in 0..ACCOUNTS {
        prop_assert_eq!(
            node.balance(node.address(account)).unwrap().0,
            model.balances[account]
        );
    }
    let supply = node.supply().unwrap();
    prop_assert_eq!(supply.burned.0, model.burned);
    prop_assert_eq!(supply.genesis.0, START * ACCOUNTS as u128);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn stake_and_supply_add_up_after_every_block(steps in prop::collection::vec(step(), 1..14)) {
        let genesis = GenesisBuilder::new()
            .accounts(ACCOUNTS, Amount(START))
            .min_fee(Amount(MIN_FEE))
            .maker(10_000)
            .staking_params(StakingParams { unbonding_blocks: UNBONDING_BLOCKS })
            .build();
        let mut node = TestNode::start(genesis).unwrap();
        let mut model = Model {
            devices: Vec::new(),
            unbonding: Vec::new(),
            balances: [START; ACCOUNTS],
            burned: 0,
            slashed: 0,
            next_key: 0,
        };
        let hotspot_stake = DevicesParams::default().stake_hotspot.0;
        for step in &steps {
            match step {
                Step::Block(ops) => run_block(&mut node, &mut model, ops)?,
                Step::Slash { device, per_mille } => {
                    if model.devices.is_empty() {
                        node.produce_block().unwrap();
                    } else {
                        let count = model.devices.len();
                        let index = device % count;
                        let entry = &mut model.devices[index];
                        let amount = hotspot_stake * per_mille / 1_000;
                        let burned = slash_block(&node, &entry.device.id(), Amount(amount));
                        // An active device loses bond; a decommissioned one loses what still
                        // waits in the unbonding queue (nothing once withdrawn).
                        let from_bond = amount.min(entry.stake);
                        entry.stake -= from_bond;
                        let mut left = amount - from_bond;
                        for queued in model.unbonding.iter_mut().filter(|u| u.3 == index) {
                            let take = left.min(queued.2);
                            queued.2 -= take;
                            left -= take;
                        }
                        model.unbonding.retain(|u| u.2 > 0);
                        prop_assert_eq!(burned.0, amount - left);
                        model.burned += burned.0;
                        model.slashed += burned.0;
                    }
                }
            }
            check_state(&node, &model)?;
        }
    }
}

/// A device decommissioned after misbehaving cannot dodge its penalty: slashing reaches the stake
/// waiting in the unbonding queue, and the owner withdraws only what is left.
#[test]
fn a_decommissioned_device_is_still_slashed_while_its_stake_unbonds() {
    let genesis = GenesisBuilder::new()
        .accounts(ACCOUNTS, Amount(START))
        .min_fee(Amount(MIN_FEE))
        .maker(10)
        .staking_params(StakingParams {
            unbonding_blocks: UNBONDING_BLOCKS,
        })
        .build();
    let mut node = TestNode::start(genesis).unwrap();
    let stake = DevicesParams::default().stake_hotspot.0;
    let device = TestDevice::ed25519(1, DeviceKind::Hotspot);
    let onboard = onboard_device_message(node.onboarding(0, &device, 0).unwrap());
    let tx = node.sign_tx(0, vec![onboard]).unwrap();
    node.submit(tx).unwrap().unwrap();
    node.produce_block().unwrap();
    let tx = node
        .sign_tx(0, vec![decommission_device_message(&device.id())])
        .unwrap();
    node.submit(tx).unwrap().unwrap();
    node.produce_block().unwrap();
    let before = node.store().snapshot().unwrap().stake_totals().unwrap();
    assert_eq!(before.unbonding.0, stake);

    // Slash 40 % of the stake while it unbonds, then ask for more than is left.
    assert_eq!(
        slash_block(&node, &device.id(), Amount(stake * 2 / 5)).0,
        stake * 2 / 5
    );
    assert_eq!(
        slash_block(&node, &device.id(), Amount(stake)).0,
        stake - stake * 2 / 5
    );
    assert_eq!(slash_block(&node, &device.id(), Amount(stake)).0, 0);
    let after = node.store().snapshot().unwrap().stake_totals().unwrap();
    assert_eq!(after.unbonding.0, 0);
    assert_eq!(after.slashed.0, stake);
    node.check_invariants().unwrap();

    // Nothing is left to withdraw once the period ends.
    for _ in 0..UNBONDING_BLOCKS {
        node.produce_block().unwrap();
    }
    let balance = node.balance(node.address(0)).unwrap().0;
    let tx = node.sign_tx(0, vec![withdraw_unbonded_message()]).unwrap();
    node.submit(tx.clone()).unwrap().unwrap();
    let block = node.produce_block().unwrap();
    assert_eq!(tx_code(&block, &tx), MESSAGE_FAILED);
    assert_eq!(node.balance(node.address(0)).unwrap().0, balance - MIN_FEE);
}
