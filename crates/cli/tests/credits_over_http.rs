//! Starts `groundwork node` from a home made with `init --oracle` and buys credits through the
//! CLI: the oracle submits a price, the operator burns tokens for another key, and the API shows
//! the credits, the oracle median and the supply's breakdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap()
}

#[test]
fn credits_are_minted_through_the_cli_at_the_oracle_price_and_shown_by_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let home = dir.path().to_str().unwrap();
    run_ok(&[
        "init",
        "--home",
        home,
        "--chain-id",
        "itest",
        "--plain-key",
        "--oracle",
        "--http",
        &format!("127.0.0.1:{port}"),
        "--block-ms",
        "100",
    ]);
    let node = NodeProcess::start(dir.path(), port);
    run_ok(&["keys", "new", "bob", "--plain", "--home", home]);
    let bob = json(&run_ok(&[
        "keys", "show", "bob", "--home", home, "--output", "json",
    ]))["address"]
        .as_str()
        .unwrap()
        .to_string();

    // No price yet: the oracle view says why, and minting fails with that reason (code 8).
    let oracle = get(&format!("{}/v1/oracle", node.url));
    assert_eq!(oracle["median_micro_fiat_per_token"], Value::Null);
    assert_eq!(
        oracle["stale_reason"],
        "no oracle price: no oracle has submitted a price yet"
    );
    let refused = run(&[
        "tx",
        "mint-credits",
        "--home",
        home,
        "--from",
        "operator",
        "--amount",
        "1",
        "--wait",
        "--output",
        "json",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    let answer = json(&String::from_utf8(refused.stdout).unwrap());
    assert_eq!(answer["code"], 8, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("no oracle price")
    );

    // The oracle reports $1.25 per token; the operator burns 2 tokens for bob.
    let priced = json(&run_ok(&[
        "tx",
        "submit-price",
        "--home",
        home,
        "--from",
        "oracle",
        "--price",
        "1.25",
        "--wait",
        "--output",
        "json",
    ]));
    assert_eq!(priced["code"], 0, "{priced}");
    let minted = json(&run_ok(&[
        "tx",
        "mint-credits",
        "--home",
        home,
        "--from",
        "operator",
        "--amount",
        "2",
        "--for",
        &bob,
        "--min-credits",
        "250000",
        "--wait",
        "--output",
        "json",
    ]));
    assert_eq!(minted["code"], 0, "{minted}");

    let credits = get(&format!("{}/v1/credits/{bob}", node.url));
    assert_eq!(credits["credits"], 250_000);
    assert_eq!(credits["micro_fiat_value"], "2500000");
    let shown = json(&run_ok(&[
        "query", "credits", "bob", "--home", home, "--output", "json",
    ]));
    assert_eq!(shown["credits"], 250_000);

    let oracle = get(&format!("{}/v1/oracle", node.url));
    assert_eq!(oracle["median_micro_fiat_per_token"], 1_250_000);
    assert_eq!(oracle["submissions"].as_array().unwrap().len(), 1);
    assert_eq!(oracle["submissions"][0]["fresh"], true);

    let supply = get(&format!("{}/v1/supply", node.url));
    let breakdown = &supply["breakdown"];
    assert_eq!(breakdown["burned_for_credits"], "200000000");
    assert_eq!(breakdown["credits_minted"], 250_000);
    // Three transactions paid the default fee of 1,000 base units each.
    assert_eq!(breakdown["burned_as_fees"], "3000");
    assert_eq!(supply["burned"], "200003000");

    // A malformed address is a JSON 400, not a panic or plain text.
    let (status, body) = try_get(&format!("{}/v1/credits/gw1nope", node.url)).unwrap();
    assert_eq!(status, 400);
    assert_eq!(body["error"]["kind"], "bad_request", "{body}");
    // The OpenAPI document describes the new routes and the breakdown's schema.
    let openapi = get(&format!("{}/v1/openapi.json", node.url));
    for path in ["/v1/credits/{address}", "/v1/oracle", "/v1/supply"] {
        assert!(openapi["paths"][path].is_object(), "OpenAPI lacks {path}");
    }
    assert!(
        openapi["components"]["schemas"]["SupplyBreakdownResponse"].is_object(),
        "OpenAPI lacks the supply breakdown's schema"
    );
    node.terminate();
}
