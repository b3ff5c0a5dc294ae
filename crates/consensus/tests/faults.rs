//! Fault tests: four validators in Commonware's deterministic runtime over its simulated network
//! (seeded, simulated time, reproducible). Each asserts real outcomes: heights reached,
//! transactions committed, and identical block and app hashes across validators.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use commonware_cryptography::Signer as _;
use commonware_p2p::simulated::{self, Link, Oracle};
use commonware_runtime::{
    Clock, Handle, Quota, Runner as _, Spawner as _, Supervisor as _, deterministic,
};
use commonware_utils::{NZU32, NZUsize, probability};
use groundwork_app::genesis::{GenesisAccount, GenesisValidator, TokenInfo};
use groundwork_app::modules::accounts::state::AccountsRead as _;
use groundwork_app::tx::{build_signed_tx, transfer_message};
use groundwork_app::{App, Genesis, PooledTx};
use groundwork_consensus::{
    CommittedBlock, Config, EngineHandle, Mempool, Network, Validator, ValidatorKey, channels,
    signer_from_seed, start,
};
use groundwork_primitives::{Address, Amount, Hash, SigningKey};
use groundwork_state::{Store, Tip};

const VALIDATORS: usize = 4;
const CHAIN: &str = "faults-test";

/// A mempool that keeps every submitted transaction until a block includes it.
#[derive(Default)]
struct Pool {
    txs: Mutex<Vec<Arc<PooledTx>>>,
}

impl Pool {
    fn submit(&self, bytes: Vec<u8>) {
        let tx = PooledTx::decode(bytes).unwrap();
        self.txs.lock().unwrap().push(Arc::new(tx));
    }
}

impl Mempool for Pool {
    fn candidates(&self, max_txs: usize, _max_bytes: usize) -> Vec<Arc<PooledTx>> {
        self.txs
            .lock()
            .unwrap()
            .iter()
            .take(max_txs)
            .cloned()
            .collect()
    }
    // Followers holding a proposal's transactions take them decoded, as the node's pool does.
    fn waiting(&self, hashes: &[Hash]) -> Vec<Option<Arc<PooledTx>>> {
        let txs = self.txs.lock().unwrap();
        hashes
            .iter()
            .map(|hash| txs.iter().find(|tx| tx.tx().hash == *hash).cloned())
            .collect()
    }
    fn committed(&self, block: CommittedBlock<'_>, _store: &Store) {
        let done: BTreeSet<Hash> = block.tx_hashes.iter().copied().collect();
        self.txs
            .lock()
            .unwrap()
            .retain(|tx| !done.contains(&tx.tx().hash));
    }
}

struct Member {
    seed: [u8; 32],
    key: ValidatorKey,
    store: Store,
    pool: Arc<Pool>,
    task: Option<Handle<()>>,
    engine: Option<EngineHandle>,
}

struct Testnet {
    _dir: tempfile::TempDir,
    genesis: Genesis,
    members: Vec<Member>,
    oracle: Oracle<ValidatorKey, deterministic::Context>,
    sender: SigningKey,
    receiver: Address,
    next_nonce: u64,
}

fn link(latency_ms: u64, lossy: bool) -> Link {
    Link {
        latency: Duration::from_millis(latency_ms),
        jitter: Duration::from_millis(latency_ms / 4),
        success_rate: if lossy {
            probability!(0.75)
        } else {
            probability!(1.0)
        },
    }
}

fn config(index: usize) -> Config {
    Config {
        partition_prefix: format!("validator-{index}"),
        block_interval: Duration::from_millis(200),
        leader_timeout_margin: Duration::from_secs(1),
        ..Config::default()
    }
}

impl Testnet {
    async fn new(context: &deterministic::Context, link_config: Link) -> Testnet {
        Testnet::with_validators(context, link_config, VALIDATORS).await
    }

    /// Runs validator `index` as a Byzantine voter instead: it signs conflicting notarize and
    /// finalize votes for payloads of its own in every view it hears about.
    async fn make_conflicter(&mut self, context: &deterministic::Context, index: usize) {
        use commonware_consensus::simplex::mocks::conflicter;
        self.crash(context, index).await;
        let keys: Vec<ValidatorKey> = self.members.iter().map(|m| m.key.clone()).collect();
        let scheme = groundwork_consensus::Scheme::signer(
            format!("groundwork/{CHAIN}").as_bytes(),
            commonware_utils::ordered::Set::from_iter_dedup(keys),
            signer_from_seed(self.members[index].seed).unwrap(),
        )
        .unwrap();
        let control = self.oracle.control(self.members[index].key.clone());
        let votes = control
            .register(channels::VOTES, Quota::per_second(NZU32!(10_000)))
            .await
            .unwrap();
        let byzantine =
            conflicter::Conflicter::<_, _, commonware_cryptography::sha256::Sha256>::new(
                context.child("conflicter"),
                conflicter::Config { scheme },
            );
        self.members[index].task = Some(byzantine.start(votes));
    }

    async fn with_validators(
        context: &deterministic::Context,
        link_config: Link,
        count: usize,
    ) -> Testnet {
        let dir = tempfile::tempdir().unwrap();
        let seeds: Vec<[u8; 32]> = (0..count).map(|i| [i as u8 + 1; 32]).collect();
        let sender = SigningKey::from_seed([200; 32]);
        let receiver = Address::from_public_key(&SigningKey::from_seed([201; 32]).public_key());
        let genesis = Genesis {
            makers: Vec::new(),
            chain_id: CHAIN.into(),
            genesis_time_ms: 0,
            token: TokenInfo::default(),
            params: Default::default(),
            accounts: vec![GenesisAccount {
                address: Address::from_public_key(&sender.public_key()),
                balance: Amount(1_000_000_000_000),
            }],
            validators: seeds
                .iter()
                .enumerate()
                .map(|(i, seed)| GenesisValidator {
                    name: format!("validator-{i}"),
                    public_key: hex::encode(SigningKey::from_seed(*seed).public_key().as_bytes()),
                    power: 1,
                })
                .collect(),
        };
        let keys: Vec<ValidatorKey> = seeds
            .iter()
            .map(|s| signer_from_seed(*s).unwrap().public_key())
            .collect();
        let (network, oracle) = simulated::Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: Config::default().max_message_size(),
                max_peers_per_set: NZUsize!(VALIDATORS.max(count)),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            keys.clone(),
        )
        .await;
        network.start();
        let mut members = Vec::new();
        for (i, (seed, key)) in seeds.into_iter().zip(keys).enumerate() {
            // The test keeps each store open for reading; a restarted validator reopens its app
            // over the same store (redb allows one open per file per process).
            let store = Store::open(&dir.path().join(format!("validator-{i}.redb"))).unwrap();
            let mut app = App::open(store.clone()).unwrap();
            app.init_chain(&genesis).unwrap();
            members.push(Member {
                seed,
                key,
                store,
                pool: Arc::new(Pool::default()),
                task: None,
                engine: None,
            });
        }
        let mut net = Testnet {
            _dir: dir,
            genesis,
            members,
            oracle,
            sender,
            receiver,
            next_nonce: 0,
        };
        net.connect_all(link_config).await;
        for i in 0..count {
            net.start(context, i).await;
        }
        net
    }

    async fn connect(&mut self, a: &[usize], b: &[usize], link_config: Link) {
        for &i in a {
            for &j in b {
                if i != j {
                    let (ki, kj) = (self.members[i].key.clone(), self.members[j].key.clone());
                    let _ = self.oracle.add_link(ki, kj, link_config.clone()).await;
                }
            }
        }
    }

    async fn connect_all(&mut self, link_config: Link) {
        let all: Vec<usize> = (0..self.members.len()).collect();
        self.connect(&all, &all, link_config).await;
    }

    async fn disconnect(&mut self, a: &[usize], b: &[usize]) {
        for &i in a {
            for &j in b {
                let (ki, kj) = (self.members[i].key.clone(), self.members[j].key.clone());
                let _ = self.oracle.remove_link(ki.clone(), kj.clone()).await;
                let _ = self.oracle.remove_link(kj, ki).await;
            }
        }
    }

    async fn start(&mut self, context: &deterministic::Context, index: usize) {
        let member = &self.members[index];
        let control = self.oracle.control(member.key.clone());
        let quota = Quota::per_second(NZU32!(10_000));
        let votes = control.register(channels::VOTES, quota).await.unwrap();
        let certificates = control
            .register(channels::CERTIFICATES, quota)
            .await
            .unwrap();
        let resolver = control.register(channels::RESOLVER, quota).await.unwrap();
        let blocks = control.register(channels::BLOCKS, quota).await.unwrap();
        let backfill = control.register(channels::BACKFILL, quota).await.unwrap();
        let app = App::open(member.store.clone()).unwrap();
        let validator = Validator {
            app,
            genesis: self.genesis.clone(),
            seed: member.seed,
            mempool: member.pool.clone(),
            config: config(index),
        };
        let network = Network {
            votes,
            certificates,
            resolver,
            blocks,
            backfill,
        };
        let peers = self.oracle.manager();
        let engine_slot: Arc<Mutex<Option<EngineHandle>>> = Default::default();
        let slot = engine_slot.clone();
        let task = context.child("validator").spawn(move |ctx| async move {
            let (engine, handle) = start(ctx, validator, network, control, peers)
                .await
                .unwrap();
            *slot.lock().unwrap() = Some(engine);
            let _ = handle.await;
        });
        // Let the validator finish starting.
        context.sleep(Duration::from_millis(10)).await;
        let member = &mut self.members[index];
        member.task = Some(task);
        member.engine = engine_slot.lock().unwrap().clone();
    }

    /// Stops a validator as a crash would: every task of it is aborted at once.
    async fn crash(&mut self, context: &deterministic::Context, index: usize) {
        if let Some(task) = self.members[index].task.take() {
            task.abort();
            let _ = task.await;
        }
        self.members[index].engine = None;
        context.sleep(Duration::from_millis(10)).await;
    }

    /// The committed tip of validator `index` (read from its store).
    fn tip(&self, index: usize) -> Tip {
        self.members[index].store.tip().unwrap().unwrap()
    }

    fn block_hash_at(&self, index: usize, height: u64) -> Option<Vec<u8>> {
        self.members[index].store.block(height).unwrap()
    }

    /// Sends one transfer of 1 base unit to every running validator's mempool.
    fn submit_transfer(&mut self) {
        let tx = build_signed_tx(
            &self.sender,
            CHAIN,
            self.next_nonce,
            groundwork_app::modules::accounts::params::AccountsParams::default().min_fee,
            vec![transfer_message(&self.receiver, Amount(1))],
            "",
        );
        self.next_nonce += 1;
        for member in &self.members {
            member.pool.submit(tx.clone());
        }
    }

    fn receiver_balance(&self, index: usize) -> Amount {
        let snapshot = self.members[index].store.snapshot().unwrap();
        snapshot.account(&self.receiver).unwrap().balance
    }

    /// Waits (in simulated time) until every validator in `which` has committed `height`.
    async fn wait_for(
        &self,
        context: &deterministic::Context,
        which: &[usize],
        height: u64,
        limit: Duration,
    ) {
        let deadline = context.current() + limit;
        loop {
            if which.iter().all(|&i| self.tip(i).height >= height) {
                return;
            }
            if context.current() > deadline {
                let tips: Vec<u64> = which.iter().map(|&i| self.tip(i).height).collect();
                panic!("validators {which:?} did not reach height {height}: tips {tips:?}");
            }
            context.sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every pair of validators holds identical blocks up to their common height, and equal app
    /// hashes where their tips coincide.
    fn assert_no_fork(&self, which: &[usize]) {
        let common = which.iter().map(|&i| self.tip(i).height).min().unwrap();
        for height in 1..=common {
            let first = self.block_hash_at(which[0], height);
            for &i in &which[1..] {
                assert_eq!(
                    self.block_hash_at(i, height),
                    first,
                    "validators disagree at height {height}"
                );
            }
        }
    }
}

fn run(
    seed: u64,
    test: impl FnOnce(deterministic::Context) -> futures::future::BoxFuture<'static, ()>
    + Send
    + 'static,
) {
    // Deadlines are in simulated time (see `wait_for`), so a stall fails rather than hangs.
    deterministic::Runner::seeded(seed).start(test);
}

#[test]
fn four_validators_finalize_the_same_blocks_and_commit_transfers() {
    run(1, |context| {
        Box::pin(async move {
            let mut net = Testnet::new(&context, link(10, false)).await;
            for _ in 0..5 {
                net.submit_transfer();
            }
            let all: Vec<usize> = (0..VALIDATORS).collect();
            net.wait_for(&context, &all, 8, Duration::from_secs(60))
                .await;
            net.assert_no_fork(&all);
            for i in 0..VALIDATORS {
                assert_eq!(net.receiver_balance(i), Amount(5), "validator {i}");
            }
            let tip = net.tip(0);
            for i in 1..VALIDATORS {
                let other = net.tip(i);
                if other.height == tip.height {
                    assert_eq!(other.app_hash, tip.app_hash);
                }
            }
        })
    });
}

#[test]
fn three_of_four_keep_finalizing_when_one_crashes() {
    run(2, |context| {
        Box::pin(async move {
            let mut net = Testnet::new(&context, link(10, false)).await;
            let all: Vec<usize> = (0..VALIDATORS).collect();
            net.wait_for(&context, &all, 3, Duration::from_secs(60))
                .await;
            net.crash(&context, 3).await;
            let crashed_at = net.tip(3).height;
            let live = [0, 1, 2];
            for _ in 0..3 {
                net.submit_transfer();
            }
            net.wait_for(&context, &live, crashed_at + 10, Duration::from_secs(120))
                .await;
            net.assert_no_fork(&live);
            for i in live {
                assert_eq!(net.receiver_balance(i), Amount(3), "validator {i}");
            }
            assert_eq!(
                net.tip(3).height,
                crashed_at,
                "a crashed validator commits nothing"
            );
        })
    });
}

#[test]
fn a_two_two_partition_halts_without_forking_and_resumes_when_healed() {
    run(3, |context| {
        Box::pin(async move {
            let mut net = Testnet::new(&context, link(10, false)).await;
            let all: Vec<usize> = (0..VALIDATORS).collect();
            net.wait_for(&context, &all, 3, Duration::from_secs(60))
                .await;
            net.disconnect(&[0, 1], &[2, 3]).await;
            // Let blocks in flight settle, then check that nothing more is finalized.
            context.sleep(Duration::from_secs(3)).await;
            let halted: Vec<u64> = all.iter().map(|&i| net.tip(i).height).collect();
            net.submit_transfer();
            context.sleep(Duration::from_secs(20)).await;
            let later: Vec<u64> = all.iter().map(|&i| net.tip(i).height).collect();
            assert_eq!(halted, later, "a 2-2 partition must not finalize anything");
            net.assert_no_fork(&all);

            net.connect(&[0, 1], &[2, 3], link(10, false)).await;
            net.connect(&[2, 3], &[0, 1], link(10, false)).await;
            let top = *later.iter().max().unwrap();
            net.wait_for(&context, &all, top + 5, Duration::from_secs(120))
                .await;
            net.assert_no_fork(&all);
            for i in all {
                assert_eq!(net.receiver_balance(i), Amount(1), "validator {i}");
            }
        })
    });
}

#[test]
fn a_crashed_validator_restarts_and_catches_up_to_the_same_state_root() {
    run(4, |context| {
        Box::pin(async move {
            let mut net = Testnet::new(&context, link(10, false)).await;
            let all: Vec<usize> = (0..VALIDATORS).collect();
            net.wait_for(&context, &all, 2, Duration::from_secs(60))
                .await;
            net.crash(&context, 2).await;
            let crashed_at = net.tip(2).height;
            for _ in 0..4 {
                net.submit_transfer();
            }
            let live = [0, 1, 3];
            net.wait_for(&context, &live, crashed_at + 12, Duration::from_secs(120))
                .await;
            net.start(&context, 2).await;
            let target = net.tip(0).height + 3;
            net.wait_for(&context, &all, target, Duration::from_secs(120))
                .await;
            net.assert_no_fork(&all);
            // Same state root at the same height.
            let reference = net.tip(0);
            for i in 1..VALIDATORS {
                let tip = net.tip(i);
                let height = tip.height.min(reference.height);
                assert_eq!(net.block_hash_at(i, height), net.block_hash_at(0, height));
            }
            assert_eq!(net.receiver_balance(2), Amount(4));
            let engine = net.members[2].engine.as_ref().unwrap().status();
            assert!(engine.applied_height >= target);
        })
    });
}

#[test]
fn random_message_loss_and_delay_still_finalize() {
    run(5, |context| {
        Box::pin(async move {
            let mut net = Testnet::new(&context, link(80, true)).await;
            for _ in 0..3 {
                net.submit_transfer();
            }
            let all: Vec<usize> = (0..VALIDATORS).collect();
            net.wait_for(&context, &all, 6, Duration::from_secs(300))
                .await;
            net.assert_no_fork(&all);
            for i in all {
                assert_eq!(net.receiver_balance(i), Amount(3), "validator {i}");
            }
        })
    });
}

#[test]
fn a_single_validator_is_a_set_of_one_and_paces_its_blocks() {
    run(6, |context| {
        Box::pin(async move {
            let mut net = Testnet::with_validators(&context, link(10, false), 1).await;
            net.submit_transfer();
            net.submit_transfer();
            net.wait_for(&context, &[0], 5, Duration::from_secs(30))
                .await;
            assert_eq!(net.receiver_balance(0), Amount(2));
            // Blocks are paced by the block interval (200 ms), not produced as fast as views.
            let tip = net.tip(0);
            assert!(
                tip.time_ms >= 200 * tip.height,
                "height {} reached at {} ms",
                tip.height,
                tip.time_ms
            );
        })
    });
}

#[test]
fn the_same_seed_replays_the_same_chain() {
    let chain_of = |seed: u64| {
        let out: Arc<Mutex<Vec<Option<Vec<u8>>>>> = Default::default();
        let sink = out.clone();
        run(seed, move |context| {
            Box::pin(async move {
                let mut net = Testnet::new(&context, link(30, true)).await;
                net.submit_transfer();
                let all: Vec<usize> = (0..VALIDATORS).collect();
                net.wait_for(&context, &all, 5, Duration::from_secs(300))
                    .await;
                *sink.lock().unwrap() = (1..=5).map(|h| net.block_hash_at(0, h)).collect();
            })
        });
        out.lock().unwrap().clone()
    };
    let first = chain_of(7);
    assert_eq!(first.len(), 5);
    assert_eq!(chain_of(7), first, "a seed must replay the same blocks");
}

#[test]
fn a_validator_voting_for_conflicting_blocks_cannot_split_the_honest_ones() {
    run(8, |context| {
        Box::pin(async move {
            let mut net = Testnet::new(&context, link(10, false)).await;
            net.make_conflicter(&context, 3).await;
            net.submit_transfer();
            let honest = [0, 1, 2];
            net.wait_for(&context, &honest, 8, Duration::from_secs(120))
                .await;
            net.assert_no_fork(&honest);
            for i in honest {
                assert_eq!(net.receiver_balance(i), Amount(1), "validator {i}");
            }
        })
    });
}
