//! Kills a loaded node with SIGKILL at arbitrary moments, restarts it, and checks that every
//! block and transaction it had committed is still there with the same roots; then replays the
//! blocks into a fresh store and gets the same state roots (determinism).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use groundwork_app::genesis::GenesisAccount;
use groundwork_app::{App, Genesis, tx};
use groundwork_primitives::{Address, Amount, SigningKey};
use groundwork_proto::v1;
use groundwork_state::Store;

const SENDERS: usize = 8;

fn sender_key(i: usize) -> SigningKey {
    SigningKey::from_seed([i as u8 + 100; 32])
}

/// What the test saw committed before a kill: height → (block hash, app hash, tx hashes).
type Seen = BTreeMap<u64, (String, String, Vec<String>)>;

#[test]
fn a_node_killed_with_sigkill_while_committing_restarts_with_everything_it_committed() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    init_home(dir.path(), port, 40);
    // Fund load senders in the genesis before the first start.
    let genesis_path = dir.path().join("genesis.json");
    let mut genesis = Genesis::from_json(&std::fs::read_to_string(&genesis_path).unwrap()).unwrap();
    for i in 0..SENDERS {
        let address = Address::from_public_key(&sender_key(i).public_key());
        genesis.accounts.push(GenesisAccount {
            address,
            balance: Amount(10u128.pow(15)),
        });
    }
    std::fs::write(&genesis_path, genesis.to_json()).unwrap();

    let mut seen: Seen = BTreeMap::new();
    let nonces = Arc::new(Mutex::new(vec![0u64; SENDERS]));
    for cycle in 0..3 {
        let node = NodeProcess::start(dir.path(), port);
        // Whatever was committed before the last kill is still there, unchanged.
        for (height, (hash, app_hash, txs)) in &seen {
            let block = get(&format!("{}/v1/blocks/{height}", node.url));
            assert_eq!(
                &block["hash"].as_str().unwrap(),
                hash,
                "cycle {cycle}: block {height} changed"
            );
            assert_eq!(&block["app_hash"].as_str().unwrap(), app_hash);
            for tx_hash in txs {
                let tx = get(&format!("{}/v1/txs/{tx_hash}", node.url));
                assert_eq!(
                    tx["status"], "committed",
                    "cycle {cycle}: transaction {tx_hash} lost"
                );
                assert_eq!(tx["height"].as_u64(), Some(*height));
            }
        }
        // Resume every sender from its committed nonce.
        {
            let mut nonces = nonces.lock().unwrap();
            for (i, nonce) in nonces.iter_mut().enumerate() {
                let address = Address::from_public_key(&sender_key(i).public_key());
                *nonce = get(&format!("{}/v1/accounts/{address}", node.url))["nonce"]
                    .as_u64()
                    .unwrap();
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let loaders: Vec<_> = (0..SENDERS)
            .map(|i| {
                let url = node.url.clone();
                let stop = stop.clone();
                let nonces = nonces.clone();
                std::thread::spawn(move || {
                    let key = sender_key(i);
                    let to = Address([i as u8; 20]);
                    while !stop.load(Ordering::Relaxed) {
                        let nonce = nonces.lock().unwrap()[i];
                        let bytes = tx::build_signed_tx(
                            &key,
                            "itest",
                            nonce,
                            Amount(1000),
                            vec![tx::transfer_message(&to, Amount(1))],
                            "",
                        );
                        let agent: ureq::Agent = ureq::Agent::config_builder()
                            .http_status_as_error(false)
                            .timeout_global(Some(Duration::from_secs(2)))
                            .build()
                            .into();
                        match agent
                            .post(format!("{url}/v1/txs"))
                            .header("Content-Type", "application/x-protobuf")
                            .send(&bytes[..])
                        {
                            Ok(r) if r.status().as_u16() == 200 => nonces.lock().unwrap()[i] += 1,
                            Ok(_) => std::thread::sleep(Duration::from_millis(20)),
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        // Watch blocks commit for a while, then kill at an arbitrary moment under load.
        let deadline = std::time::Instant::now() + Duration::from_millis(1500 + cycle * 350);
        while std::time::Instant::now() < deadline {
            if let Ok((200, latest)) = try_get(&format!("{}/v1/blocks/latest", node.url)) {
                let height = latest["height"].as_u64().unwrap();
                for h in seen.keys().last().map_or(1, |h| h + 1)..=height {
                    if let Ok((200, block)) = try_get(&format!("{}/v1/blocks/{h}", node.url)) {
                        let txs = block["txs"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|t| t["hash"].as_str().unwrap().to_string())
                            .collect();
                        seen.insert(
                            h,
                            (
                                block["hash"].as_str().unwrap().to_string(),
                                block["app_hash"].as_str().unwrap().to_string(),
                                txs,
                            ),
                        );
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        node.kill();
        stop.store(true, Ordering::Relaxed);
        for loader in loaders {
            loader.join().unwrap();
        }
    }
    let committed_txs: usize = seen.values().map(|(_, _, txs)| txs.len()).sum();
    assert!(
        committed_txs > 50,
        "the load should have committed transactions, saw {committed_txs}"
    );

    // Final check after the last kill, then a clean stop.
    let node = NodeProcess::start(dir.path(), port);
    let tip = get(&format!("{}/v1/status", node.url))["height"]
        .as_u64()
        .unwrap();
    assert!(tip >= *seen.keys().last().unwrap());
    node.terminate();

    // Determinism: replay every stored block into a fresh store; every app hash must match.
    // The node may commit a block or two between the status read above and its stop: replay up
    // to the tip the store holds, not the one read before stopping.
    let store = Store::open(&dir.path().join("data/state.redb")).unwrap();
    let tip = store.tip().unwrap().unwrap().height;
    let fresh_dir = tempfile::tempdir().unwrap();
    let mut replay =
        App::open(Store::open(&fresh_dir.path().join("replay.redb")).unwrap()).unwrap();
    replay.init_chain(&genesis).unwrap();
    for height in 1..=tip {
        let bytes = store.block(height).unwrap().unwrap();
        let block: v1::Block =
            groundwork_proto::decode_bounded("block", &bytes, groundwork_proto::MAX_BLOCK_BYTES)
                .unwrap();
        let replayed = replay.apply_block(&block).unwrap();
        let original = block.header.as_ref().unwrap();
        assert_eq!(
            replayed.app_hash.0.to_vec(),
            original.app_hash,
            "app hash differs at height {height}"
        );
    }
    assert_eq!(
        replay.tip().unwrap().unwrap().block_hash,
        store.tip().unwrap().unwrap().block_hash
    );
    replay.check_invariants().unwrap().unwrap();
}
