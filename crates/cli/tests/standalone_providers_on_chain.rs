//! Standalone `groundwork provider storage --node URL` processes next to a node process: they
//! onboard and register on chain by themselves, a client stores and fetches a file through them
//! with `groundwork storage put|get --node`, ends the deal early with `groundwork storage
//! terminate`, and the providers delete its pieces and free their space.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{Reaped, devnet_command, free_port, get, groundwork, run, run_ok, try_get, wait_for};
use serde_json::Value;

fn log_file(path: &Path) -> std::fs::File {
    std::fs::File::create(path).unwrap()
}

/// A devnet without providers of its own: the node, its faucet and its maker key.
fn start_node(home: &Path, port: u16) -> Reaped {
    let child = devnet_command(home, port, 0, 0)
        .args(["--block-ms", "200"])
        .stdout(Stdio::null())
        .stderr(log_file(&home.with_extension("log")))
        .spawn()
        .unwrap();
    let process = Reaped(child);
    let url = format!("http://127.0.0.1:{port}");
    wait_for("the node to answer", 60, || {
        matches!(try_get(&format!("{url}/v1/status")), Ok((200, _)))
    });
    process
}

/// `groundwork provider storage --node URL --faucet --maker maker`, its keys from the node's home.
fn start_provider(home: &Path, port: u16, node: &str, keys_home: &Path) -> Reaped {
    std::fs::create_dir_all(home).unwrap();
    let child = groundwork()
        .args([
            "provider",
            "storage",
            "--home",
            home.to_str().unwrap(),
            "--capacity",
            "1GiB",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--node",
            node,
            "--faucet",
            "--maker",
            "maker",
            "--keys-home",
            keys_home.to_str().unwrap(),
            "--gc-grace",
            "0",
            "--gc-every",
            "1",
        ])
        .env_remove("GROUNDWORK_HOME")
        .stdout(Stdio::null())
        .stderr(log_file(&home.join("provider.log")))
        .spawn()
        .unwrap();
    Reaped(child)
}

fn info(url: &str) -> Value {
    get(&format!("{url}/v1/info"))
}

fn pieces_on_disk(home: &Path) -> usize {
    std::fs::read_dir(home.join("pieces"))
        .map(|entries| entries.count())
        .unwrap_or(0)
}

#[test]
fn a_file_on_standalone_providers_comes_back_and_its_pieces_are_deleted_once_the_deal_is_terminated()
 {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("node");
    let node_port = free_port();
    let _node = start_node(&home, node_port);
    let node = format!("http://127.0.0.1:{node_port}");

    let provider_homes: Vec<_> = (0..6)
        .map(|index| dir.path().join(format!("provider-{index}")))
        .collect();
    let ports: Vec<u16> = (0..6).map(|_| free_port()).collect();
    let _providers: Vec<Reaped> = provider_homes
        .iter()
        .zip(&ports)
        .map(|(provider_home, port)| start_provider(provider_home, *port, &node, &home))
        .collect();
    let urls: Vec<String> = ports
        .iter()
        .map(|port| format!("http://127.0.0.1:{port}"))
        .collect();
    wait_for("six providers registered on chain", 120, || {
        try_get(&format!("{node}/v1/storage/providers"))
            .ok()
            .and_then(|(status, body)| (status == 200).then_some(body))
            .is_some_and(|body| {
                body["providers"].as_array().is_some_and(|list| {
                    list.iter().filter(|p| p["status"] == "active").count() == 6
                })
            })
    });

    // put and get through them, the placement and escrow on chain.
    let input = dir.path().join("input.bin");
    // xorshift: no two segments alike, so every piece is distinct.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let bytes: Vec<u8> = (0..3_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    std::fs::write(&input, &bytes).unwrap();
    let home_text = home.to_str().unwrap();
    let put: Value = serde_json::from_str(&run_ok(&[
        "--output",
        "json",
        "storage",
        "put",
        input.to_str().unwrap(),
        "--segment-size",
        "1MiB",
        "--node",
        &node,
        "--key",
        "dev",
        "--periods",
        "50",
        "--home",
        home_text,
    ]))
    .unwrap();
    let deal = put["deal"].as_u64().expect("put created a deal");
    let cid = put["cid"].as_str().unwrap().to_string();
    assert_eq!(put["segments"], 3);
    let output = dir.path().join("output.bin");
    run_ok(&[
        "storage",
        "get",
        &cid,
        "-o",
        output.to_str().unwrap(),
        "--node",
        &node,
        "--home",
        home_text,
    ]);
    assert!(std::fs::read(&output).unwrap() == bytes);
    let stored: u64 = urls
        .iter()
        .map(|url| info(url)["pieces"].as_u64().unwrap())
        .sum();
    assert_eq!(stored, 18, "3 segments of 6 pieces");
    let used_before: u64 = urls
        .iter()
        .map(|url| info(url)["used"].as_u64().unwrap())
        .sum();
    assert!(used_before > 0);

    // While the deal is active the providers keep every piece, whatever garbage collection runs.
    std::thread::sleep(Duration::from_secs(3));
    let still: usize = provider_homes.iter().map(|h| pieces_on_disk(h)).sum();
    assert_eq!(still, 18, "no piece of an active deal is deleted");

    // The client ends the deal early: the escrow comes back, less the providers' penalty.
    let ended: Value = serde_json::from_str(&run_ok(&[
        "--output",
        "json",
        "storage",
        "terminate",
        &deal.to_string(),
        "--node",
        &node,
        "--key",
        "dev",
        "--home",
        home_text,
    ]))
    .unwrap();
    assert_eq!(ended["deal"], deal);
    let refunded: u128 = ended["refunded"].as_str().unwrap().parse().unwrap();
    assert!(refunded > 0, "{ended}");
    let on_chain = get(&format!("{node}/v1/storage/deals/{deal}"));
    assert_eq!(on_chain["status"], "terminated");
    assert_eq!(on_chain["escrow_left"], "0");

    // Twice is a clear error that costs nothing.
    let again = run(&[
        "storage",
        "terminate",
        &deal.to_string(),
        "--node",
        &node,
        "--key",
        "dev",
        "--home",
        home_text,
    ]);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already terminated"), "{stderr}");
    let missing = run(&[
        "storage",
        "terminate",
        "999",
        "--node",
        &node,
        "--key",
        "dev",
        "--home",
        home_text,
    ]);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("no deal 999"), "{stderr}");

    // The providers read the chain, delete the deal's pieces and report the space freed.
    // (A pass counts its deletions once it has synced them.)
    wait_for(
        "the providers to delete the terminated deal's pieces",
        60,
        || {
            let collected: u64 = urls
                .iter()
                .map(|url| info(url)["collected_pieces"].as_u64().unwrap())
                .sum();
            collected == 18
        },
    );
    let freed: u64 = urls
        .iter()
        .map(|url| info(url)["collected_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(freed, used_before);
    for (url, provider_home) in urls.iter().zip(&provider_homes) {
        let now = info(url);
        assert_eq!(now["used"], 0);
        assert_eq!(now["free"], now["capacity"]);
        assert_eq!(pieces_on_disk(provider_home), 0, "{url}");
    }
    // The chain released their reservations too.
    let providers = get(&format!("{node}/v1/storage/providers"));
    for provider in providers["providers"].as_array().unwrap() {
        assert_eq!(provider["reserved_bytes"], 0, "{provider}");
    }
}
