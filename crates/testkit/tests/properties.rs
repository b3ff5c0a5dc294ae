//! Property test: random sequences of transactions over a few accounts, across many blocks,
//! checked after every block against the supply rules and against a small model of balances and
//! nonces that predicts every admission verdict, every proposal, every result code and which
//! blocks validators accept.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use groundwork_app::FinalizedBlock;
use groundwork_app::SignedTx;
use groundwork_primitives::{Address, Amount};
use groundwork_testkit::{GenesisBuilder, TestNode, sign_transfer, tamper_signature};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const ACCOUNTS: usize = 3;
const START: u128 = 20_000;
const MIN_FEE: u128 = 100;
/// Recipient index `ACCOUNTS` is an address outside the genesis.
const STRANGER: Address = Address([0x5a; 20]);

/// What a generated transaction is meant to exercise.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Right nonce, minimum fee or a little more; may still overspend as balances drain.
    Valid,
    /// More than the sender holds: pays the fee, moves nothing.
    Overspend,
    /// A nonce ahead of or behind the account's.
    WrongNonce,
    /// A zero amount: fails the stateless check.
    ZeroAmount,
    /// A flipped signature bit.
    BadSignature,
    /// A fee below the minimum.
    LowFee,
    /// A fee the sender cannot pay.
    UnaffordableFee,
    /// From an account to itself.
    SelfTransfer,
    /// Signed for another chain.
    OtherChain,
}

#[derive(Debug, Clone)]
struct Op {
    kind: Kind,
    from: usize,
    to: usize,
    amount: u128,
    extra: u64,
}

#[derive(Debug, Clone)]
struct BlockPlan {
    /// Through `check_tx` and `App::produce_block`, or straight into a block.
    via_mempool: bool,
    ops: Vec<Op>,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        6 => Just(Kind::Valid),
        1 => Just(Kind::Overspend),
        2 => Just(Kind::WrongNonce),
        1 => Just(Kind::ZeroAmount),
        1 => Just(Kind::BadSignature),
        1 => Just(Kind::LowFee),
        1 => Just(Kind::UnaffordableFee),
        1 => Just(Kind::SelfTransfer),
        1 => Just(Kind::OtherChain),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    (
        kind(),
        0..ACCOUNTS,
        0..=ACCOUNTS,
        1..=9_000u128,
        0..1_000u64,
    )
        .prop_map(|(kind, from, to, amount, extra)| Op {
            kind,
            from,
            to,
            amount,
            extra,
        })
}

fn plans() -> impl Strategy<Value = Vec<BlockPlan>> {
    prop::collection::vec(
        (any::<bool>(), prop::collection::vec(op(), 0..7))
            .prop_map(|(via_mempool, ops)| BlockPlan { via_mempool, ops }),
        1..10,
    )
}

/// A transaction's bytes with the facts the model reasons from (never decoded by the model).
#[derive(Debug, Clone)]
struct Planned {
    bytes: Vec<u8>,
    sender: Address,
    to: Address,
    nonce: u64,
    fee: u128,
    amount: u128,
    decodes: bool,
    signature_ok: bool,
    chain_ok: bool,
}

/// Balances, nonces and burned fees as the rules say they should be.
#[derive(Debug, Clone, Default)]
struct Model {
    balances: BTreeMap<Address, u128>,
    nonces: BTreeMap<Address, u64>,
    burned: u128,
}

/// What the model expects of one transaction in a block: its code and the fee it pays.
type Outcome = (u32, u128);

impl Model {
    fn balance(&self, a: &Address) -> u128 {
        self.balances.get(a).copied().unwrap_or(0)
    }

    fn nonce(&self, a: &Address) -> u64 {
        self.nonces.get(a).copied().unwrap_or(0)
    }

    /// `check_tx` against the committed state: `None` if admitted, else the refusal code.
    fn admission(&self, tx: &Planned) -> Option<u32> {
        if !tx.decodes {
            return Some(7);
        }
        if !tx.signature_ok {
            return Some(2);
        }
        if !tx.chain_ok {
            return Some(3);
        }
        if tx.nonce < self.nonce(&tx.sender) {
            return Some(4);
        }
        if tx.fee < MIN_FEE {
            return Some(5);
        }
        if self.balance(&tx.sender) < tx.fee + tx.amount {
            return Some(6);
        }
        None
    }

    /// `prepare_proposal`: per sender, the run of nonces that continues the committed one, of
    /// transactions offering the minimum fee that the sender can still pay for (fees and
    /// amounts sent by the transactions chosen before, not counting what it receives).
    fn proposal(&self, candidates: &[Planned]) -> Vec<Planned> {
        let mut senders: BTreeMap<Address, (u64, u128)> = BTreeMap::new();
        let mut chosen = Vec::new();
        for tx in candidates {
            if !tx.decodes || !tx.chain_ok || tx.fee < MIN_FEE {
                continue;
            }
            let (next, available) = *senders
                .entry(tx.sender)
                .or_insert_with(|| (self.nonce(&tx.sender), self.balance(&tx.sender)));
            if tx.nonce != next || available < tx.fee + tx.amount {
                continue;
            }
            senders.insert(tx.sender, (next + 1, available - tx.fee - tx.amount));
            chosen.push(tx.clone());
        }
        chosen
    }

    /// Executes one transaction of a block.
    fn execute(&mut self, tx: &Planned) -> Outcome {
        if !tx.decodes {
            return (7, 0);
        }
        if !tx.signature_ok {
            return (2, 0);
        }
        if !tx.chain_ok {
            return (3, 0);
        }
        if tx.nonce != self.nonce(&tx.sender) {
            return (4, 0);
        }
        if tx.fee < MIN_FEE {
            return (5, 0);
        }
        let balance = self.balance(&tx.sender);
        if balance < tx.fee {
            return (6, 0);
        }
        let after_fee = balance - tx.fee;
        self.balances.insert(tx.sender, after_fee);
        self.nonces.insert(tx.sender, self.nonce(&tx.sender) + 1);
        self.burned += tx.fee;
        if after_fee < tx.amount {
            return (8, tx.fee);
        }
        self.balances.insert(tx.sender, after_fee - tx.amount);
        let to_balance = self.balance(&tx.to);
        self.balances.insert(tx.to, to_balance + tx.amount);
        (0, tx.fee)
    }
}

fn recipient(node: &TestNode, index: usize) -> Address {
    if index < ACCOUNTS {
        node.address(index)
    } else {
        STRANGER
    }
}

/// Signs the block's transactions as a naive client would: each sender's nonces follow on from
/// the committed one, one per transaction it meant to send.
fn build(node: &TestNode, model: &Model, ops: &[Op]) -> Vec<Planned> {
    let mut sent: BTreeMap<usize, u64> = BTreeMap::new();
    ops.iter()
        .map(|op| {
            let key = node.key(op.from).unwrap().clone();
            let sender = node.address(op.from);
            let committed = model.nonce(&sender);
            let mut nonce = committed + sent.get(&op.from).copied().unwrap_or(0);
            let mut to = recipient(node, op.to);
            let mut amount = op.amount;
            let mut fee = MIN_FEE + u128::from(op.extra % 3) * 50;
            let mut chain = node.chain_id().to_string();
            match op.kind {
                Kind::Valid | Kind::BadSignature => {}
                Kind::Overspend => amount = model.balance(&sender) + op.amount,
                Kind::WrongNonce => {
                    nonce = match (op.extra % 2, committed) {
                        (0, _) | (_, 0) => nonce + 1 + op.extra % 3,
                        _ => committed - 1,
                    }
                }
                Kind::ZeroAmount => amount = 0,
                Kind::LowFee => fee = u128::from(op.extra) % MIN_FEE,
                Kind::UnaffordableFee => fee = model.balance(&sender) + 1 + u128::from(op.extra),
                Kind::SelfTransfer => to = sender,
                Kind::OtherChain => chain = "another-chain".into(),
            }
            if !matches!(op.kind, Kind::WrongNonce) {
                *sent.entry(op.from).or_insert(0) += 1;
            }
            let signed = sign_transfer(&key, &chain, nonce, Amount(fee), to, Amount(amount));
            let signature_ok = !matches!(op.kind, Kind::BadSignature);
            let bytes = if signature_ok {
                signed
            } else {
                tamper_signature(&signed)
            };
            Planned {
                bytes,
                sender,
                to,
                nonce,
                fee,
                amount,
                decodes: amount > 0,
                signature_ok,
                chain_ok: chain == node.chain_id(),
            }
        })
        .collect()
}

/// The supply rules and the model, checked against the committed state after a block.
fn check_after_block(
    node: &TestNode,
    model: &Model,
    fee_paying: &BTreeMap<Address, u64>,
    burned_by_results: u128,
) -> Result<(), TestCaseError> {
    node.check_invariants()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let genesis = START * ACCOUNTS as u128;
    let supply = node.supply().unwrap();
    prop_assert_eq!(supply.genesis, Amount(genesis));
    prop_assert_eq!(supply.minted, Amount::ZERO);
    prop_assert_eq!(supply.burned, Amount(burned_by_results));
    prop_assert_eq!(supply.burned, Amount(model.burned));
    let total = supply.total().unwrap();
    prop_assert_eq!(total, Amount(genesis - burned_by_results));

    let mut sum = 0u128;
    let addresses = (0..=ACCOUNTS).map(|i| recipient(node, i));
    for address in addresses {
        let account = node.account(address).unwrap();
        prop_assert!(
            account.balance.0 <= genesis,
            "{address} holds more than ever existed"
        );
        prop_assert_eq!(
            account.balance.0,
            model.balance(&address),
            "balance of {}",
            address
        );
        prop_assert_eq!(account.nonce, model.nonce(&address), "nonce of {}", address);
        prop_assert_eq!(
            account.nonce,
            fee_paying.get(&address).copied().unwrap_or(0),
            "the nonce of {} counts its fee-paying transactions",
            address
        );
        sum += account.balance.0;
    }
    prop_assert_eq!(
        Amount(sum),
        total,
        "the known accounts hold the whole supply"
    );
    Ok(())
}

fn codes_and_fees(block: &FinalizedBlock) -> Vec<Outcome> {
    block
        .results
        .tx_results
        .iter()
        .map(|r| (r.code, r.fee_charged.parse::<u128>().unwrap()))
        .collect()
}

fn run(plans: Vec<BlockPlan>) -> Result<(), TestCaseError> {
    let genesis = GenesisBuilder::new()
        .accounts(ACCOUNTS, Amount(START))
        .min_fee(Amount(MIN_FEE));
    let mut node = TestNode::start(genesis.build()).unwrap();
    let mut model = Model::default();
    for i in 0..ACCOUNTS {
        model.balances.insert(node.address(i), START);
    }
    let mut fee_paying: BTreeMap<Address, u64> = BTreeMap::new();
    let mut burned_by_results = 0u128;

    for plan in plans {
        let planned = build(&node, &model, &plan.ops);
        let height_before = node.height().unwrap();
        let (block, included, accepted) = if plan.via_mempool {
            let mut admitted = Vec::new();
            for tx in &planned {
                let verdict = node.submit(tx.bytes.clone()).unwrap();
                let code = verdict.as_ref().err().map(|e| e.code());
                prop_assert_eq!(code, model.admission(tx), "{:?}", verdict);
                if verdict.is_ok() {
                    admitted.push(tx.clone());
                }
            }
            (
                node.produce_block().unwrap(),
                model.proposal(&admitted),
                true,
            )
        } else {
            // Another proposer's block holding everything: validators accept it only if every
            // transaction in it pays its fee.
            let offered = node
                .offer_block(planned.iter().map(|tx| tx.bytes.clone()).collect())
                .unwrap();
            let accepted = offered.verdict.is_ok();
            (offered.executed, planned.clone(), accepted)
        };

        let expected_txs: Vec<Vec<u8>> = included.iter().map(|tx| tx.bytes.clone()).collect();
        prop_assert_eq!(
            &block.block.txs,
            &expected_txs,
            "the proposal the model predicts"
        );
        let mut after = model.clone();
        let expected: Vec<Outcome> = included.iter().map(|tx| after.execute(tx)).collect();
        let actual = codes_and_fees(&block);
        prop_assert_eq!(
            &actual,
            &expected,
            "codes and fees: {:?}",
            block.results.tx_results
        );
        let all_pay = expected.iter().all(|(code, _)| matches!(code, 0 | 8));
        prop_assert_eq!(
            accepted,
            all_pay,
            "validators accept exactly the blocks where all pay"
        );
        prop_assert_eq!(node.height().unwrap(), height_before + u64::from(accepted));

        if accepted {
            model = after;
            for ((code, fee), bytes) in actual.iter().zip(&block.block.txs) {
                burned_by_results += fee;
                if matches!(code, 0 | 8) {
                    let sender = SignedTx::decode(bytes).unwrap().sender;
                    *fee_paying.entry(sender).or_insert(0) += 1;
                } else {
                    prop_assert_eq!(*fee, 0, "a transaction refused before its fee pays nothing");
                }
            }
        }
        check_after_block(&node, &model, &fee_paying, burned_by_results)?;
    }

    let replayed = node.replay_into_fresh_store().unwrap();
    prop_assert_eq!(
        replayed,
        node.history().unwrap(),
        "replay gives the same roots"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_transactions_keep_the_supply_whole_and_match_the_model(plans in plans()) {
        run(plans)?;
    }
}
