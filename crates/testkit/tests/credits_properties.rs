//! Property test: random blocks of transfers, oracle prices (some from accounts that are not
//! oracles), credit mints (for oneself or another account, some priced stale, some too small to
//! buy a credit, some unaffordable) and empty blocks that let prices age, over short epochs with
//! a random re-mint share. After every block the chain must agree with a small independent model
//! of balances, credits, the median price and re-mints, and the supply must obey
//! `genesis + minted − burned = liquid balances` (the test node also runs
//! `App::check_invariants`, which adds credit balances = minted − spent). Replaying the blocks into
//! a fresh store must reach the same state roots.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use groundwork_app::modules::credits::params::CreditsParams;
use groundwork_app::modules::reports::params::ReportsParams;
use groundwork_app::modules::rewards::params::{RewardsParams, default_treasury};
use groundwork_app::tx::{
    build_signed_tx, mint_credits_message, submit_price_message, transfer_message,
};
use groundwork_primitives::{Address, Amount, SigningKey, sha256};
use groundwork_testkit::{GenesisBuilder, TestNode};
use groundwork_tokenomics::{EmissionCurve, UnclaimedDestination};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const ACCOUNTS: usize = 3;
const ORACLES: usize = 3;
const START: u128 = 10_000_000_000;
const MIN_FEE: u128 = 1_000;
const EPOCH_BLOCKS: u64 = 5;
const MAX_PRICE_AGE_MS: u64 = 4_000;
const MICRO_FIAT_PER_CREDIT: u128 = 10;
const BASE_UNITS_PER_TOKEN: u128 = 100_000_000;

#[derive(Debug, Clone)]
enum Op {
    Transfer {
        from: usize,
        to: usize,
        amount: u128,
    },
    Mint {
        from: usize,
        amount: u128,
        beneficiary: Option<usize>,
    },
    Price {
        signer: usize,
        price: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..ACCOUNTS, 0..=ACCOUNTS, 1..2_000_000_000u128)
            .prop_map(|(from, to, amount)| Op::Transfer { from, to, amount }),
        4 => (0..ACCOUNTS, prop_oneof![1..1_000u128, 1..5_000_000_000u128], prop::option::of(0..=ACCOUNTS))
            .prop_map(|(from, amount, beneficiary)| Op::Mint { from, amount, beneficiary }),
        // Signers 0..ORACLES are oracles; ORACLES is account 0, which is not.
        3 => (0..=ORACLES, 1..5_000_000u64)
            .prop_map(|(signer, price)| Op::Price { signer, price }),
    ]
}

/// One block: up to one operation per signer (so nonces follow from the model alone).
fn blocks() -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 0..5), 1..25)
}

#[derive(Debug, Default)]
struct Model {
    balances: BTreeMap<Address, u128>,
    nonces: BTreeMap<Address, u64>,
    credits: BTreeMap<Address, u64>,
    /// Each oracle's latest (price, block time).
    prices: BTreeMap<Address, (u64, u64)>,
    burned: u128,
    minted: u128,
    epoch_burns: u128,
}

impl Model {
    fn balance(&self, a: &Address) -> u128 {
        self.balances.get(a).copied().unwrap_or(0)
    }

    /// The median of fresh prices at `now`, written independently of the app's code.
    fn median(&self, now: u64) -> Option<u128> {
        let mut fresh: Vec<u128> = self
            .prices
            .values()
            .filter(|(_, t)| now - t <= MAX_PRICE_AGE_MS)
            .map(|(p, _)| u128::from(*p))
            .collect();
        fresh.sort();
        match fresh.len() {
            0 => None,
            n if n % 2 == 1 => Some(fresh[n / 2]),
            n => Some((fresh[n / 2 - 1] + fresh[n / 2]) / 2),
        }
    }
}

struct Chain {
    node: TestNode,
    signers: Vec<SigningKey>,
    remint_bps: u128,
}

impl Chain {
    fn address(&self, index: usize) -> Address {
        Address::from_public_key(&self.signers[index].public_key())
    }
}

fn run_block(chain: &mut Chain, model: &mut Model, ops: &[Op]) -> Result<(), TestCaseError> {
    let now = chain.node.next_block_time().unwrap();
    let height = chain.node.height().unwrap() + 1;
    let mut used = std::collections::BTreeSet::new();
    // (hash, sender, op) of every admitted transaction.
    let mut admitted = Vec::new();
    for op in ops {
        let (signer, message) = match op {
            Op::Transfer { from, to, amount } => (
                *from,
                transfer_message(&chain.address(*to), Amount(*amount)),
            ),
            Op::Mint {
                from,
                amount,
                beneficiary,
            } => {
                let to = beneficiary.map(|b| chain.address(b));
                (*from, mint_credits_message(Amount(*amount), to.as_ref(), 0))
            }
            // Signer index ORACLES means account 0 (not an oracle); oracles follow the accounts.
            Op::Price { signer, price } => {
                let index = if *signer == ORACLES {
                    0
                } else {
                    ACCOUNTS + 1 + signer
                };
                (index, submit_price_message(*price))
            }
        };
        if !used.insert(signer) {
            continue;
        }
        let sender = chain.address(signer);
        let nonce = model.nonces.get(&sender).copied().unwrap_or(0);
        let tx = build_signed_tx(
            &chain.signers[signer],
            chain.node.chain_id(),
            nonce,
            Amount(MIN_FEE),
            vec![message],
            "",
        );
        let spends = match op {
            Op::Transfer { amount, .. } | Op::Mint { amount, .. } => *amount,
            Op::Price { .. } => 0,
        };
        let refused = chain.node.submit(tx.clone()).unwrap();
        let affordable = model.balance(&sender) >= MIN_FEE + spends;
        prop_assert_eq!(refused.is_ok(), affordable, "admission of {:?}", op);
        if affordable {
            admitted.push((sha256(&tx), sender, op.clone()));
        }
    }
    let block = chain.node.produce_block().unwrap();
    for (hash, sender, op) in admitted {
        let index = block.tx_hashes.iter().position(|h| *h == hash).unwrap();
        let result = &block.results.tx_results[index];
        *model.nonces.entry(sender).or_default() += 1;
        *model.balances.entry(sender).or_default() -= MIN_FEE;
        model.burned += MIN_FEE;
        match op {
            Op::Transfer { to, amount, .. } => {
                prop_assert_eq!(result.code, 0);
                *model.balances.entry(sender).or_default() -= amount;
                *model.balances.entry(chain.address(to)).or_default() += amount;
            }
            Op::Price { signer, price } => {
                if signer == ORACLES {
                    prop_assert_eq!(result.code, 8);
                    prop_assert!(result.error.contains("is not a price oracle"));
                } else {
                    prop_assert_eq!(result.code, 0);
                    model.prices.insert(sender, (price, now));
                }
            }
            Op::Mint {
                amount,
                beneficiary,
                ..
            } => {
                let credits = model
                    .median(now)
                    .map(|price| amount * price / (BASE_UNITS_PER_TOKEN * MICRO_FIAT_PER_CREDIT));
                match credits {
                    None => {
                        prop_assert_eq!(result.code, 8);
                        prop_assert!(result.error.contains("oracle price"), "{}", result.error);
                    }
                    Some(0) => {
                        prop_assert_eq!(result.code, 8);
                        prop_assert!(result.error.contains("buys no credit"), "{}", result.error);
                    }
                    Some(credits) => {
                        prop_assert_eq!(result.code, 0, "{}", result.error);
                        let to = beneficiary.map(|b| chain.address(b)).unwrap_or(sender);
                        *model.credits.entry(to).or_default() += u64::try_from(credits).unwrap();
                        *model.balances.entry(sender).or_default() -= amount;
                        model.burned += amount;
                        model.epoch_burns += amount;
                    }
                }
            }
        }
    }
    if (height + 1).is_multiple_of(EPOCH_BLOCKS) {
        let reminted = model.epoch_burns * chain.remint_bps / 10_000;
        // Rewards pay the re-mint with the epoch (no emission here, no devices): it all goes to
        // the treasury.
        *model.balances.entry(default_treasury()).or_default() += reminted;
        model.minted += reminted;
        model.epoch_burns = 0;
    }
    Ok(())
}

fn check_state(chain: &Chain, model: &Model) -> Result<(), TestCaseError> {
    let node = &chain.node;
    let mut liquid = 0u128;
    for (address, balance) in &model.balances {
        prop_assert_eq!(
            node.balance(*address).unwrap().0,
            *balance,
            "balance of {}",
            address
        );
        liquid += balance;
    }
    for index in 0..chain.signers.len() {
        let address = chain.address(index);
        let expected = model.credits.get(&address).copied().unwrap_or(0);
        prop_assert_eq!(
            node.credits(address).unwrap(),
            expected,
            "credits of {}",
            address
        );
    }
    let supply = node.supply().unwrap();
    prop_assert_eq!(supply.burned.0, model.burned);
    prop_assert_eq!(supply.minted.0, model.minted);
    prop_assert_eq!(supply.genesis.0 + supply.minted.0 - supply.burned.0, liquid);
    node.check_invariants()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    Ok(())
}

/// Rewards that emit nothing, so every mint is a re-mint; what nobody qualifies for (everything:
/// there are no devices) goes to the treasury.
fn re_mints_only() -> RewardsParams {
    let mut params = RewardsParams::default();
    params.tokenomics.emission.curves = vec![EmissionCurve::Constant { per_epoch: 0 }];
    params.tokenomics.pools.unclaimed = UnclaimedDestination::Treasury;
    params.tokenomics.pools.rounding = UnclaimedDestination::Treasury;
    params
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn genesis_plus_minted_minus_burned_is_the_supply_through_mints_burns_and_transfers(
        plan in blocks(),
        remint_bps in prop_oneof![Just(0u64), 0..=10_000u64],
        seed in any::<u64>(),
    ) {
        let test_genesis = GenesisBuilder::new()
            .seed(seed)
            .accounts(ACCOUNTS, Amount(START))
            .min_fee(Amount(MIN_FEE))
            .oracles(ORACLES)
            .reports_params(ReportsParams { epoch_blocks: EPOCH_BLOCKS, ..ReportsParams::default() })
            .rewards_params(re_mints_only())
            .credits_params(CreditsParams {
                max_price_age_ms: MAX_PRICE_AGE_MS,
                remint_bps,
                ..CreditsParams::default()
            })
            .build();
        // Signers: the accounts, a stranger (never funded, only receives), then the oracles.
        let mut signers = test_genesis.account_keys.clone();
        signers.push(SigningKey::from_seed([0x5a; 32]));
        signers.extend(test_genesis.oracle_keys.iter().cloned());
        let mut model = Model::default();
        for account in &test_genesis.genesis.accounts {
            model.balances.insert(account.address, account.balance.0);
        }
        let mut chain = Chain {
            node: TestNode::start(test_genesis).unwrap(),
            signers,
            remint_bps: u128::from(remint_bps),
        };
        for ops in &plan {
            run_block(&mut chain, &mut model, ops)?;
            check_state(&chain, &model)?;
        }
        // Deterministic: the same blocks re-executed into a fresh store reach the same roots.
        prop_assert_eq!(
            chain.node.replay_into_fresh_store().unwrap(),
            chain.node.history().unwrap()
        );
    }
}
