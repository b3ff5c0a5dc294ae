//! Starts `groundwork node` as a process and drives it over HTTP and through the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use groundwork_app::tx;
use groundwork_node::keystore::Keystore;
use groundwork_primitives::{Address, Amount, SigningKey};

fn operator(home: &std::path::Path) -> SigningKey {
    Keystore::new(home.join("keys"))
        .load("operator", None)
        .unwrap()
}

#[test]
fn a_node_process_commits_transfers_sent_over_http_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    init_home(dir.path(), port, 100);
    let node = NodeProcess::start(dir.path(), port);
    let home = dir.path().to_str().unwrap();

    let status = get(&format!("{}/v1/status", node.url));
    assert_eq!(status["chain_id"], "itest");

    // Through the CLI, waiting for the commit.
    run_ok(&["keys", "new", "bob", "--plain", "--home", home]);
    let bob: Address = serde_json::from_str::<serde_json::Value>(&run_ok(&[
        "keys", "show", "bob", "--home", home, "--output", "json",
    ]))
    .unwrap()["address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let out = run_ok(&[
        "tx",
        "transfer",
        "--home",
        home,
        "--from",
        "operator",
        "--to",
        &bob.to_string(),
        "--amount",
        "12.5",
        "--wait",
        "--output",
        "json",
    ]);
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["status"], "committed", "{answer}");
    assert_eq!(answer["code"], 0);
    let account = get(&format!("{}/v1/accounts/{bob}", node.url));
    assert_eq!(account["balance"], "1250000000");

    // Raw protobuf and JSON submissions.
    let key = operator(dir.path());
    let first = tx::build_signed_tx(
        &key,
        "itest",
        1,
        Amount(1000),
        vec![tx::transfer_message(&bob, Amount(5))],
        "",
    );
    let (code, body) = post(
        &format!("{}/v1/txs?wait=true", node.url),
        "application/x-protobuf",
        &first,
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "committed");
    let second = tx::build_signed_tx(
        &key,
        "itest",
        2,
        Amount(1000),
        vec![tx::transfer_message(&bob, Amount(7))],
        "json",
    );
    let json = serde_json::json!({"tx": hex::encode(&second)}).to_string();
    let (code, body) = post(
        &format!("{}/v1/txs?wait=true", node.url),
        "application/json",
        json.as_bytes(),
    );
    assert_eq!(code, 200, "{body}");
    let hash = body["hash"].as_str().unwrap().to_string();
    let shown = get(&format!("{}/v1/txs/{hash}", node.url));
    assert_eq!(shown["memo"], "json");
    assert_eq!(shown["messages"][0]["amount"], "7");
    assert_eq!(
        get(&format!("{}/v1/accounts/{bob}", node.url))["balance"],
        "1250000012"
    );

    // Bad input gets a clear JSON error.
    let replay = post(
        &format!("{}/v1/txs", node.url),
        "application/x-protobuf",
        &first,
    );
    assert_eq!(replay.0, 400);
    assert_eq!(replay.1["error"]["kind"], "invalid_tx");
    assert_eq!(
        replay.1["error"]["tx_code"], 4,
        "a used nonce is refused: {}",
        replay.1
    );
    let garbage = post(
        &format!("{}/v1/txs", node.url),
        "application/x-protobuf",
        b"\xff\xff\xff",
    );
    assert_eq!(garbage.0, 400);
    assert!(
        garbage.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("malformed"),
        "{}",
        garbage.1
    );
    let (code, body) = try_get(&format!("{}/v1/accounts/not-an-address", node.url)).unwrap();
    assert_eq!(code, 400, "{body}");
    let (code, _) = try_get(&format!("{}/v1/blocks/999999", node.url)).unwrap();
    assert_eq!(code, 404);
    // A malformed query parameter is a JSON error too, not the framework's plain text.
    let (code, body) = try_get(&format!("{}/v1/accounts/{bob}?prove=maybe", node.url)).unwrap();
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["error"]["kind"], "bad_request", "{body}");

    // The proof the node serves verifies (the CLI checks it locally).
    let proven = run_ok(&[
        "query",
        "account",
        &bob.to_string(),
        "--prove",
        "--home",
        home,
        "--output",
        "json",
    ]);
    let proven: serde_json::Value = serde_json::from_str(&proven).unwrap();
    assert_eq!(proven["proof_verified"], true, "{proven}");

    // OpenAPI and metrics.
    let openapi = get(&format!("{}/v1/openapi.json", node.url));
    for path in [
        "/v1/status",
        "/v1/txs",
        "/v1/txs/{hash}",
        "/v1/blocks/{height}",
        "/v1/accounts/{address}",
    ] {
        assert!(openapi["paths"][path].is_object(), "OpenAPI lacks {path}");
    }
    let mut response = ureq::get(&format!("{}/metrics", node.url)).call().unwrap();
    let metrics = response.body_mut().read_to_string().unwrap();
    assert!(
        metrics.contains("groundwork_txs_committed_total 3"),
        "{metrics}"
    );
    node.terminate();
}

#[test]
fn a_full_mempool_answers_503_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // One block a minute, room for two transactions.
    init_home(dir.path(), port, 60_000);
    let config = dir.path().join("config.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("max_txs = 100000", "max_txs = 2");
    std::fs::write(&config, text).unwrap();
    let node = NodeProcess::start(dir.path(), port);
    let key = operator(dir.path());
    let to = Address([7; 20]);
    let mut codes = Vec::new();
    for nonce in 0..3 {
        let bytes = tx::build_signed_tx(
            &key,
            "itest",
            nonce,
            Amount(1000),
            vec![tx::transfer_message(&to, Amount(1))],
            "",
        );
        let started = std::time::Instant::now();
        let (code, body) = post(
            &format!("{}/v1/txs", node.url),
            "application/x-protobuf",
            &bytes,
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "submission hung"
        );
        if code == 503 {
            assert_eq!(body["error"]["kind"], "mempool_full", "{body}");
        }
        codes.push(code);
    }
    assert_eq!(codes, vec![200, 200, 503]);
    node.kill();
}

#[test]
fn a_batch_of_transactions_gets_one_verdict_per_transaction_and_bad_batches_clear_errors() {
    use groundwork_proto::Message as _;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    init_home(dir.path(), port, 100);
    let node = NodeProcess::start(dir.path(), port);
    let batch_url = format!("{}/v1/txs/batch", node.url);
    let key = operator(dir.path());
    let to = Address([9; 20]);
    let transfer = |nonce: u64| {
        tx::build_signed_tx(
            &key,
            "itest",
            nonce,
            Amount(1000),
            vec![tx::transfer_message(&to, Amount(3))],
            "",
        )
    };

    // Valid: five transfers in one protobuf batch, all admitted, then committed.
    let valid: Vec<Vec<u8>> = (0..5).map(transfer).collect();
    let body = groundwork_proto::v1::TxBatch { txs: valid.clone() }.encode_to_vec();
    let (code, answer) = post(&batch_url, "application/x-protobuf", &body);
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["accepted"], 5, "{answer}");
    assert_eq!(answer["rejected"], 0, "{answer}");
    for (tx, result) in valid.iter().zip(answer["results"].as_array().unwrap()) {
        assert_eq!(result["status"], "pending", "{result}");
        assert_eq!(result["hash"], groundwork_primitives::sha256(tx).to_hex());
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while get(&format!("{}/v1/accounts/{to}", node.url))["balance"] != "15" {
        assert!(
            std::time::Instant::now() < deadline,
            "the batch was not committed"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // Mixed, as JSON: each refusal says why, in the batch's order, and the valid ones pass.
    let mut bad_signature = transfer(6);
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 1;
    let mixed = [
        transfer(5),
        b"\xff\xff".to_vec(),
        valid[0].clone(),
        bad_signature,
        transfer(6),
    ];
    let json = serde_json::json!({"txs": mixed.iter().map(hex::encode).collect::<Vec<_>>()});
    let (code, answer) = post(&batch_url, "application/json", json.to_string().as_bytes());
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["accepted"], 2, "{answer}");
    assert_eq!(answer["rejected"], 3, "{answer}");
    let results = answer["results"].as_array().unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["pending", "rejected", "rejected", "rejected", "pending"]
    );
    let codes: Vec<u64> = results[1..4]
        .iter()
        .map(|r| r["error"]["tx_code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [1, 4, 2], "malformed, used nonce, bad signature");
    assert!(
        results[1..4]
            .iter()
            .all(|r| r["error"]["kind"] == "invalid_tx")
    );

    // Oversized: too many transactions, or too many bytes, are refused whole with the limit.
    let many = groundwork_proto::v1::TxBatch {
        txs: vec![Vec::new(); 10_001],
    }
    .encode_to_vec();
    let (code, answer) = post(&batch_url, "application/x-protobuf", &many);
    assert_eq!(code, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 10000 transactions"),
        "{answer}"
    );
    let heavy = groundwork_proto::v1::TxBatch {
        txs: vec![vec![0u8; 64 * 1024]; 129],
    }
    .encode_to_vec();
    let (code, answer) = post(&batch_url, "application/x-protobuf", &heavy);
    assert_eq!(code, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bytes of envelopes"),
        "{answer}"
    );

    // Malformed bodies are JSON errors, never a crash.
    for (content_type, body, expected) in [
        (
            "application/x-protobuf",
            &b"\xff\xff\xff"[..],
            "not a TxBatch",
        ),
        ("application/json", &b"{\"txs\": 5}"[..], "expected JSON"),
        (
            "application/json",
            &b"{\"txs\": [\"zz\"]}"[..],
            "transaction 0 is not hex",
        ),
        ("application/json", &b"not json"[..], "expected JSON"),
    ] {
        let (code, answer) = post(&batch_url, content_type, body);
        assert_eq!(code, 400, "{answer}");
        assert_eq!(answer["error"]["kind"], "bad_request", "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains(expected),
            "{expected}: {answer}"
        );
    }
    // The node is still serving, and the API document names the endpoint.
    let openapi = get(&format!("{}/v1/openapi.json", node.url));
    assert!(openapi["paths"]["/v1/txs/batch"]["post"].is_object());
    node.terminate();
}
