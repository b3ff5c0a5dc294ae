//! Four `groundwork node` processes from `groundwork testnet` on loopback: transfers sent to any
//! of them commit; one validator is killed with SIGKILL and the other three keep committing;
//! restarted, it catches up (backfill) and holds the same blocks and state roots.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use groundwork_app::tx;
use groundwork_node::keystore::Keystore;
use groundwork_primitives::{Address, Amount, SigningKey};

const VALIDATORS: usize = 4;

/// A base port with `count` free ports after it.
fn free_ports(count: u16) -> u16 {
    loop {
        let base = free_port();
        if base > u16::MAX - count {
            continue;
        }
        if (0..count).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
}

fn height(url: &str) -> Option<u64> {
    match try_get(&format!("{url}/v1/status")) {
        Ok((200, status)) => status["height"].as_u64(),
        _ => None,
    }
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends `count` transfers starting at `nonce`, one per validator in turn, and returns the next
/// nonce.
fn send_transfers(key: &SigningKey, to: &Address, nonce: u64, count: u64, urls: &[&str]) -> u64 {
    for n in nonce..nonce + count {
        let bytes = tx::build_signed_tx(
            key,
            "itest-four",
            n,
            Amount(1000),
            vec![tx::transfer_message(to, Amount(1))],
            "",
        );
        let url = urls[(n as usize) % urls.len()];
        let (code, body) = post(&format!("{url}/v1/txs"), "application/x-protobuf", &bytes);
        assert_eq!(code, 200, "transfer {n} to {url}: {body}");
    }
    nonce + count
}

fn nonce_on(url: &str, address: &Address) -> u64 {
    get(&format!("{url}/v1/accounts/{address}"))["nonce"]
        .as_u64()
        .unwrap()
}

fn start(out: &Path, i: usize, http_base: u16) -> NodeProcess {
    NodeProcess::start(&out.join(format!("validator-{i}")), http_base + i as u16)
}

#[test]
fn a_validator_killed_with_sigkill_catches_up_with_the_other_three() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let http = free_ports(VALIDATORS as u16);
    let p2p = free_ports(VALIDATORS as u16);
    run_ok(&[
        "testnet",
        "--validators",
        "4",
        "--out",
        out.to_str().unwrap(),
        "--chain-id",
        "itest-four",
        "--http-port",
        &http.to_string(),
        "--p2p-port",
        &p2p.to_string(),
        "--block-ms",
        "200",
    ]);
    let mut nodes: Vec<Option<NodeProcess>> = (0..VALIDATORS)
        .map(|i| Some(start(&out, i, http)))
        .collect();
    let urls: Vec<String> = nodes
        .iter()
        .map(|n| n.as_ref().unwrap().url.clone())
        .collect();
    let all: Vec<&str> = urls.iter().map(String::as_str).collect();
    wait_for(
        "four validators to finalize blocks",
        Duration::from_secs(60),
        || all.iter().all(|u| height(u).is_some_and(|h| h >= 2)),
    );

    let operator = Keystore::new(out.join("validator-0/keys"))
        .load("operator", None)
        .unwrap();
    let sender = Address::from_public_key(&operator.public_key());
    let to = Address([42; 20]);
    // Transfers sent to every validator are shared and commit.
    let mut nonce = send_transfers(&operator, &to, 0, 20, &all);
    wait_for(
        "the first transfers to commit",
        Duration::from_secs(60),
        || nonce_on(all[0], &sender) == nonce,
    );

    // SIGKILL validator 3; three of four still finalize.
    nodes[3].take().unwrap().kill();
    let live = &all[..3];
    let before = height(all[0]).unwrap();
    nonce = send_transfers(&operator, &to, nonce, 20, live);
    wait_for(
        "transfers to commit without validator 3",
        Duration::from_secs(90),
        || nonce_on(all[0], &sender) == nonce,
    );
    let after = height(all[0]).unwrap();
    assert!(after > before, "no blocks without validator 3");
    wait_for("a few more blocks", Duration::from_secs(60), || {
        height(all[0]).is_some_and(|h| h >= after + 5)
    });

    // Restarted, validator 3 catches up to the others and agrees on every block.
    nodes[3] = Some(start(&out, 3, http));
    nonce = send_transfers(&operator, &to, nonce, 10, &all);
    let target = height(all[0]).unwrap();
    wait_for("validator 3 to catch up", Duration::from_secs(120), || {
        height(all[3]).is_some_and(|h| h >= target)
    });
    wait_for(
        "the last transfers to commit",
        Duration::from_secs(60),
        || all.iter().all(|u| nonce_on(u, &sender) == nonce),
    );
    let common = all.iter().map(|u| height(u).unwrap()).min().unwrap();
    for h in [1, common / 2, common] {
        let reference = get(&format!("{}/v1/blocks/{h}", all[0]));
        for url in &all[1..] {
            let block = get(&format!("{url}/v1/blocks/{h}"));
            assert_eq!(
                block["hash"], reference["hash"],
                "block {h} differs on {url}"
            );
            assert_eq!(
                block["app_hash"], reference["app_hash"],
                "state root after block {h} differs on {url}"
            );
        }
    }
    let balances: Vec<_> = all
        .iter()
        .map(|u| get(&format!("{u}/v1/accounts/{to}"))["balance"].clone())
        .collect();
    assert!(balances.iter().all(|b| *b == balances[0]), "{balances:?}");
    assert_eq!(balances[0], serde_json::json!(nonce.to_string()));
    for node in nodes.into_iter().flatten() {
        node.terminate();
    }
}
