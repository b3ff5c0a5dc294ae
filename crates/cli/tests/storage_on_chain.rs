//! The storage network with its chain: a devnet process whose providers register on chain, a
//! deal with escrow, proofs paid per period, a provider that corrupts its pieces missing its
//! proofs, and a repair moving its pieces on chain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Stdio;

use common::{Reaped, devnet_command, free_port, get, run_ok, wait_for};
use serde_json::Value;

struct Devnet {
    _process: Reaped,
    url: String,
}

fn deal(url: &str, id: u64) -> Value {
    get(&format!("{url}/v1/storage/deals/{id}"))
}

fn outcomes(deal: &Value, outcome: &str) -> Vec<(u64, String)> {
    deal["proofs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["outcome"] == outcome)
        .map(|p| {
            (
                p["period"].as_u64().unwrap(),
                p["provider"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn start_devnet(home: &Path) -> Devnet {
    let port = free_port();
    let log = std::fs::File::create(home.with_extension("log")).unwrap();
    let child = devnet_command(home, port, 0, 8)
        .args(["--block-ms", "200"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let devnet = Devnet {
        _process: Reaped(child),
        url,
    };
    wait_for("8 providers registered on chain", 120, || {
        common::try_get(&format!("{}/v1/storage/providers", devnet.url))
            .ok()
            .and_then(|(status, body)| (status == 200).then_some(body))
            .is_some_and(|body| {
                body["providers"].as_array().is_some_and(|list| {
                    list.iter().filter(|p| p["status"] == "active").count() == 8
                })
            })
    });
    devnet
}

#[test]
fn a_deal_pays_proving_providers_catches_a_corrupting_one_and_repair_moves_its_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("devnet");
    let devnet = start_devnet(&home);
    let url = devnet.url.clone();

    let input = dir.path().join("input.bin");
    let bytes: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&input, &bytes).unwrap();
    let put = run_ok(&[
        "--output",
        "json",
        "storage",
        "put",
        input.to_str().unwrap(),
        "--segment-size",
        "1MiB",
        "--node",
        &url,
        "--key",
        "dev",
        "--periods",
        "50",
        "--home",
        home.to_str().unwrap(),
    ]);
    let put: Value = serde_json::from_str(&put).unwrap();
    let id = put["deal"].as_u64().expect("put created a deal");
    let cid = put["cid"].as_str().unwrap().to_string();
    let created = deal(&url, id);
    assert_eq!(created["status"], "active");
    assert_ne!(created["escrowed_total"], "0");

    // Every provider of the deal proves a period and is paid.
    wait_for("six providers proving a period", 120, || {
        let proven = outcomes(&deal(&url, id), "proven");
        let first = proven.iter().map(|(period, _)| *period).min();
        first.is_some_and(|first| proven.iter().filter(|(p, _)| *p == first).count() == 6)
    });
    assert_ne!(deal(&url, id)["paid_to_providers"], "0");

    // The provider of piece 0 of every segment corrupts what it holds.
    let placed = deal(&url, id);
    let cheater = placed["segments"][0]["pieces"][0]["provider"]
        .as_str()
        .unwrap()
        .to_string();
    let endpoint = get(&format!("{url}/v1/storage/providers/{cheater}"))["endpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let listed: Value = serde_json::from_slice(
        &std::fs::read(home.join("storage").join("providers.json")).unwrap(),
    )
    .unwrap();
    let index = listed["providers"]
        .as_array()
        .unwrap()
        .iter()
        .position(|u| u == endpoint.as_str())
        .unwrap();
    let pieces_dir = home
        .join("storage-providers")
        .join(format!("provider-{index}"))
        .join("pieces");
    let mut corrupted = 0;
    for segment in placed["segments"].as_array().unwrap() {
        for piece in segment["pieces"].as_array().unwrap() {
            if piece["provider"] == cheater.as_str() {
                let path = pieces_dir.join(piece["commitment"].as_str().unwrap());
                let length = std::fs::metadata(&path).unwrap().len() as usize;
                std::fs::write(&path, vec![0x5a; length]).unwrap();
                corrupted += 1;
            }
        }
    }
    assert_eq!(corrupted, 3);

    // It can no longer prove: the chain records a miss.
    wait_for("the corrupting provider to miss a period", 120, || {
        outcomes(&deal(&url, id), "missed")
            .iter()
            .any(|(_, provider)| *provider == cheater)
    });

    // get catches the bad pieces and still returns the file.
    let output = dir.path().join("output.bin");
    run_ok(&[
        "storage",
        "get",
        &cid,
        "-o",
        output.to_str().unwrap(),
        "--node",
        &url,
        "--home",
        home.to_str().unwrap(),
    ]);
    assert!(std::fs::read(&output).unwrap() == bytes);

    // Repair rebuilds its three pieces elsewhere and the chain moves them.
    let repaired = run_ok(&[
        "--output",
        "json",
        "storage",
        "repair",
        "--deal",
        &id.to_string(),
        "--node",
        &url,
        "--key",
        "dev",
        "--home",
        home.to_str().unwrap(),
    ]);
    let repaired: Value = serde_json::from_str(&repaired).unwrap();
    assert_eq!(
        repaired[0]["report"]["repaired"].as_array().unwrap().len(),
        3,
        "{repaired}"
    );
    let after = deal(&url, id);
    for segment in after["segments"].as_array().unwrap() {
        let providers: Vec<&str> = segment["pieces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["provider"].as_str().unwrap())
            .collect();
        assert!(!providers.contains(&cheater.as_str()), "{providers:?}");
        let distinct: std::collections::BTreeSet<_> = providers.iter().collect();
        assert_eq!(distinct.len(), 6);
    }
    assert_ne!(after["paid_to_repairers"], "0");

    // The file comes back from the new placement.
    let again = dir.path().join("again.bin");
    run_ok(&[
        "storage",
        "get",
        &cid,
        "-o",
        again.to_str().unwrap(),
        "--node",
        &url,
        "--home",
        home.to_str().unwrap(),
    ]);
    assert!(std::fs::read(&again).unwrap() == bytes);
}
