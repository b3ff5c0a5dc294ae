//! `groundwork init --preset`, epoch summaries over HTTP from a node process, and the rewards
//! commands' errors, all through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

#[test]
fn a_sensors_chain_burns_the_pools_nobody_earned_and_says_so_per_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap();
    let port = free_port();
    let out = run_ok(&[
        "init",
        "--home",
        home,
        "--chain-id",
        "rewards-itest",
        "--plain-key",
        "--http",
        &format!("127.0.0.1:{port}"),
        "--block-ms",
        "50",
        "--preset",
        "sensors",
    ]);
    assert!(out.contains("preset sensors"), "{out}");
    // The preset's parameters are in the genesis, with their description; short epochs here.
    let path = dir.path().join("genesis.json");
    let mut genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let rewards = &genesis["params"]["rewards"];
    assert!(
        rewards["comment"]
            .as_str()
            .unwrap()
            .starts_with("Preset sensors")
    );
    assert_eq!(rewards["tokenomics"]["pools"]["unclaimed"], "burn");
    genesis["params"]["reports"]["epoch_blocks"] = 5.into();
    std::fs::write(&path, serde_json::to_string_pretty(&genesis).unwrap()).unwrap();
    // An unknown preset is refused by name.
    let refused = run(&[
        "init",
        "--home",
        home,
        "--chain-id",
        "x",
        "--preset",
        "compute",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("wireless"));

    let node = NodeProcess::start(dir.path(), port);
    let deadline = Instant::now() + Duration::from_secs(30);
    let latest = loop {
        match try_get(&format!("{}/v1/epochs/latest", node.url)) {
            Ok((200, value)) if value["epoch"].as_u64() >= Some(1) => break value,
            Ok((404, value)) => assert_eq!(value["error"]["kind"], "not_found"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "no epoch was paid");
        std::thread::sleep(Duration::from_millis(100));
    };
    // No devices: every pool is unclaimed and burned (never minted); nothing is lost.
    for epoch in 0..=latest["epoch"].as_u64().unwrap() {
        let summary = get(&format!("{}/v1/epochs/{epoch}", node.url));
        assert_eq!(summary["devices"], 0);
        assert_eq!(summary["paid"], "0");
        let emission: u128 = summary["emission"].as_str().unwrap().parse().unwrap();
        let burned: u128 = summary["burned"].as_str().unwrap().parse().unwrap();
        let treasury: u128 = summary["to_treasury"].as_str().unwrap().parse().unwrap();
        assert!(emission > 0);
        assert_eq!(burned + treasury, emission, "{summary:#}");
        assert_eq!(summary["minted"], summary["to_treasury"]);
    }
    // A future epoch is not paid yet, and says when it will be.
    let (status, body) = try_get(&format!("{}/v1/epochs/999999", node.url)).unwrap();
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not paid yet")
    );
    let (status, _) = try_get(&format!("{}/v1/epochs/soon", node.url)).unwrap();
    assert_eq!(status, 400);

    // The CLI: an unknown device is a clear error, a malformed id too.
    let nobody = groundwork_primitives::DeviceId([7; 20]).to_string();
    let unknown = run(&["device", "rewards", &nobody, "--node", &node.url]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no device"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let bad = run(&["device", "rewards", "not-a-device", "--node", &node.url]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("not a device id"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    node.terminate();
}
