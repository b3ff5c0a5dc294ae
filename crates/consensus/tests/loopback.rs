//! Four validators on loopback with real sockets and Commonware's tokio runtime (each on its own
//! thread, as `groundwork node` would run them): they finalize the same blocks and commit a
//! transfer sent to one of them only after it is in every mempool.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use commonware_cryptography::Signer as _;
use groundwork_app::genesis::{GenesisAccount, GenesisValidator, TokenInfo};
use groundwork_app::modules::accounts::state::AccountsRead as _;
use groundwork_app::tx::{build_signed_tx, transfer_message};
use groundwork_app::{App, Genesis, PooledTx};
use groundwork_consensus::{
    CommittedBlock, Config, Mempool, P2pConfig, Validator, signer_from_seed, spawn,
};
use groundwork_primitives::{Address, Amount, Hash, SigningKey, sha256};
use groundwork_state::Store;

#[derive(Default)]
struct Pool {
    txs: Mutex<Vec<Vec<u8>>>,
}

impl Mempool for Pool {
    fn candidates(&self, max_txs: usize, _max_bytes: usize) -> Vec<Arc<PooledTx>> {
        self.txs
            .lock()
            .unwrap()
            .iter()
            .take(max_txs)
            .filter_map(|bytes| PooledTx::decode(bytes.clone()).ok().map(Arc::new))
            .collect()
    }
    fn committed(&self, block: CommittedBlock<'_>, _store: &Store) {
        let done: BTreeSet<Hash> = block.tx_hashes.iter().copied().collect();
        self.txs
            .lock()
            .unwrap()
            .retain(|tx| !done.contains(&sha256(tx)));
    }
}

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[test]
fn four_validators_on_loopback_finalize_the_same_chain() {
    let dir = tempfile::tempdir().unwrap();
    let seeds: Vec<[u8; 32]> = (0..4).map(|i| [i as u8 + 11; 32]).collect();
    let sender = SigningKey::from_seed([210; 32]);
    let receiver = Address::from_public_key(&SigningKey::from_seed([211; 32]).public_key());
    let mut genesis: Genesis = serde_json::from_value(serde_json::json!({
        "chain_id": "loopback-test",
        "genesis_time_ms": 0,
        "token": serde_json::to_value(TokenInfo::default()).unwrap(),
        "validators": [],
    }))
    .unwrap();
    genesis.accounts = vec![GenesisAccount {
        address: Address::from_public_key(&sender.public_key()),
        balance: Amount(1_000_000_000_000),
    }];
    genesis.validators = seeds
        .iter()
        .enumerate()
        .map(|(i, seed)| GenesisValidator {
            name: format!("v{i}"),
            public_key: hex::encode(SigningKey::from_seed(*seed).public_key().as_bytes()),
            power: 1,
        })
        .collect();
    let addresses: Vec<SocketAddr> = seeds.iter().map(|_| free_port()).collect();
    let peers: Vec<_> = seeds
        .iter()
        .zip(&addresses)
        .map(|(seed, addr)| (signer_from_seed(*seed).unwrap().public_key(), *addr))
        .collect();
    let mut stores = Vec::new();
    let mut pools = Vec::new();
    let mut running = Vec::new();
    for (i, seed) in seeds.iter().enumerate() {
        let store = Store::open(&dir.path().join(format!("v{i}.redb"))).unwrap();
        let mut app = App::open(store.clone()).unwrap();
        app.init_chain(&genesis).unwrap();
        let pool = Arc::new(Pool::default());
        let (_engine, validator) = spawn(
            Validator {
                app,
                genesis: genesis.clone(),
                seed: *seed,
                mempool: pool.clone(),
                config: Config {
                    block_interval: Duration::from_millis(200),
                    ..Config::default()
                },
            },
            P2pConfig {
                listen: addresses[i],
                peers: peers.clone(),
                storage_dir: dir.path().join(format!("v{i}-consensus")),
                worker_threads: 1,
            },
        )
        .unwrap();
        stores.push(store);
        pools.push(pool);
        running.push(validator);
    }
    let min_fee = groundwork_app::modules::accounts::params::AccountsParams::default().min_fee;
    let tx = build_signed_tx(
        &sender,
        "loopback-test",
        0,
        min_fee,
        vec![transfer_message(&receiver, Amount(7))],
        "",
    );
    for pool in &pools {
        pool.txs.lock().unwrap().push(tx.clone());
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let heights: Vec<u64> = stores
            .iter()
            .map(|s| s.tip().unwrap().unwrap().height)
            .collect();
        if heights.iter().all(|h| *h >= 5) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no progress on loopback: heights {heights:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for validator in running {
        validator.stop();
    }
    let common = stores
        .iter()
        .map(|s| s.tip().unwrap().unwrap().height)
        .min()
        .unwrap();
    for height in 1..=common {
        let first = stores[0].block(height).unwrap();
        for store in &stores[1..] {
            assert_eq!(
                store.block(height).unwrap(),
                first,
                "fork at height {height}"
            );
        }
    }
    for store in &stores {
        assert_eq!(
            store
                .snapshot()
                .unwrap()
                .account(&receiver)
                .unwrap()
                .balance,
            Amount(7)
        );
    }
}
