//! The dashboard in a real browser: starts `groundwork devnet` (a node and its simulated fleet) on
//! loopback, drives Debian's chromium headless with playwright-core through every page
//! (crates/node/tests/browser/dashboard.mjs), and checks what the pages showed against the JSON
//! API. Screenshots land in the target directory (`dashboard-screenshots/`).
//!
//! Needs `/usr/bin/chromium` and `npm ci --prefix crates/node/tests/browser` (`.ci/run` does
//! both); without them the test fails and says so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const DEVICES: u64 = 40;
/// Storage providers: six hold the six pieces of the deal the test makes (4 of 6).
const PROVIDERS: u64 = 6;

/// A `groundwork devnet` process, killed when dropped.
struct Devnet {
    _process: Reaped,
    url: String,
}

fn start_devnet(home: &Path) -> Devnet {
    let port = free_port();
    // The storage providers onboard in the background: the test waits for all of them before
    // it opens a page, so the device counts hold still under it.
    let mut child = devnet_command(home, port, DEVICES as usize, PROVIDERS as usize)
        .args(["--block-ms", "400"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The banner names the dashboard's address.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut banner = String::new();
    let url = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("the devnet printed no dashboard URL; it said:\n{banner}"));
        banner.push_str(&line);
        banner.push('\n');
        if let Some(rest) = line.trim().strip_prefix("Dashboard") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    assert_eq!(url, format!("http://127.0.0.1:{port}/"));
    Devnet {
        _process: Reaped(child),
        url: url.trim_end_matches('/').to_string(),
    }
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../node/tests/browser")
}

/// Fails clearly when the browser or the driver is missing: a skipped browser test would pass
/// while testing nothing.
fn require_browser() {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "the dashboard browser test needs Debian's chromium at /usr/bin/chromium: \
         run `apt-get install -y chromium` (.ci/run does)"
    );
    assert!(
        browser_dir().join("node_modules/playwright-core").exists(),
        "the dashboard browser test needs playwright-core: run \
         `npm ci --prefix crates/node/tests/browser` (the README's test command does)"
    );
}

/// Waits until every simulated device is onboarded with a location and has had reports judged,
/// and every storage provider is registered (providers have no location).
fn wait_for_fleet(url: &str) {
    wait_until("the fleet and the storage providers", 240, || {
        let network = get(&format!("{url}/v1/network"));
        let providers = try_get(&format!("{url}/v1/storage/providers"))
            .ok()
            .and_then(|(status, body)| (status == 200).then_some(body))?;
        let active = providers["providers"]
            .as_array()?
            .iter()
            .filter(|p| p["status"] == "active")
            .count() as u64;
        (network["devices_located"].as_u64() == Some(DEVICES)
            && network["devices_total"].as_u64() == Some(DEVICES + PROVIDERS)
            && active == PROVIDERS
            && network["height"].as_u64().unwrap_or(0) >= 15)
            .then_some(())
    });
}

/// Mints credits for every owner of the fleet's devices (from the devnet's `dev` key), so the
/// account page has credit mints to show.
fn mint_credits_for_owners(url: &str, home: &Path) {
    let devices = get(&format!("{url}/v1/devices?limit=1000"));
    let mut owners: Vec<&str> = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] != "storage")
        .map(|d| d["owner"].as_str().unwrap())
        .collect();
    owners.sort_unstable();
    owners.dedup();
    for owner in owners {
        run_ok(&[
            "tx",
            "mint-credits",
            "--home",
            home.to_str().unwrap(),
            "--node",
            url,
            "--from",
            "dev",
            "--amount",
            "2",
            "--for",
            owner,
            "--wait",
        ]);
    }
}

/// Stores a small file on the devnet's providers with an on-chain deal and waits until the deal
/// has a settled proving period; returns (deal id, CID).
fn make_a_deal(url: &str, home: &Path, scratch: &Path) -> (u64, String) {
    let input = scratch.join("dashboard-deal.bin");
    let bytes: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::write(&input, &bytes).unwrap();
    let put = run_ok(&[
        "--output",
        "json",
        "storage",
        "put",
        input.to_str().unwrap(),
        "--node",
        url,
        "--key",
        "dev",
        "--periods",
        "40",
        "--home",
        home.to_str().unwrap(),
    ]);
    let put: Value = serde_json::from_str(&put).unwrap();
    let id = put["deal"].as_u64().expect("put created a deal");
    let cid = put["cid"].as_str().unwrap().to_string();
    wait_until("the deal's first settled proving period", 240, || {
        let deal = get(&format!("{url}/v1/storage/deals/{id}"));
        (!deal["proofs"].as_array()?.is_empty()).then_some(())
    });
    (id, cid)
}

/// Whether the node lacks an endpoint (as opposed to lacking the thing asked for).
fn route_missing(url: &str) -> bool {
    let (status, body) = try_get(url).unwrap();
    status == 404
        && body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("no such route"))
}

fn int(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

#[test]
fn the_dashboard_shows_what_the_api_says_in_a_real_browser() {
    require_browser();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("devnet");
    let devnet = start_devnet(&home);
    let url = devnet.url.clone();
    wait_for_fleet(&url);
    mint_credits_for_owners(&url, &home);
    let (deal_id, cid) = make_a_deal(&url, &home, dir.path());
    // The map colours by the latest paid epoch's earnings: wait for the first.
    wait_until("the first paid epoch", 240, || {
        let (status, _) = try_get(&format!("{url}/v1/epochs/latest")).ok()?;
        (status == 200).then_some(())
    });
    let status_before = get(&format!("{url}/v1/status"));
    let supply_before = get(&format!("{url}/v1/supply"));

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let output = Command::new("node")
        .arg(browser_dir().join("dashboard.mjs"))
        .args([
            url.as_str(),
            shots.to_str().unwrap(),
            dir.path().join("chromium-profile").to_str().unwrap(),
            cid.as_str(),
        ])
        .output()
        .expect("cannot run node (Node.js is needed for the browser test; .ci/run installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let seen: Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "the browser script printed no result ({}):\n{stdout}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        });
    assert!(
        seen.get("failure").is_none(),
        "the browser run failed (screenshot: {}):\n{}",
        shots.join("failure.png").display(),
        seen["failure"].as_str().unwrap_or_default()
    );
    assert_eq!(seen["errors"], Value::Array(vec![]), "errors in the page");
    assert_eq!(
        seen["requests"],
        Value::Array(vec![]),
        "the dashboard must load nothing from elsewhere"
    );
    let optional = [
        "/v1/epochs/",
        "/v1/oracle",
        "/v1/credits/",
        "/rewards",
        "/v1/storage/",
    ];
    for path in seen["not_found"].as_array().unwrap() {
        let path = path.as_str().unwrap();
        assert!(
            optional.iter().any(|o| path.contains(o)),
            "the dashboard asked for {path}, which answered 404"
        );
    }
    let status_after = get(&format!("{url}/v1/status"));
    let supply_after = get(&format!("{url}/v1/supply"));

    // Network.
    let network = &seen["network"];
    let api_network = get(&format!("{url}/v1/network"));
    let height = int(&network["height"]);
    assert!(
        (int(&status_before["height"])..=int(&status_after["height"])).contains(&height),
        "the page showed height {height}"
    );
    assert_eq!(
        int(&network["validators"]),
        status_after["validators"].as_array().unwrap().len() as u64
    );
    assert_eq!(network["devices_total"], api_network["devices_total"]);
    for (kind, counts) in api_network["devices_by_kind"].as_object().unwrap() {
        assert_eq!(
            network["by_kind"][kind],
            serde_json::json!([counts["active"], counts["decommissioned"]]),
            "devices of kind {kind}"
        );
    }
    assert_eq!(network["staked"], api_network["staked"]);
    for key in ["minted", "burned"] {
        assert!(
            network[key] == supply_before[key] || network[key] == supply_after[key],
            "{key}: the page showed {}, the API {} then {}",
            network[key],
            supply_before[key],
            supply_after[key]
        );
    }
    assert!(
        int(&network["chart_bars"]) > 0,
        "the reports chart is empty"
    );
    assert_eq!(
        network["epoch_state"] == "unavailable",
        route_missing(&format!("{url}/v1/epochs/latest"))
    );
    if network["epoch_state"] == "shown" {
        // The paid epoch the page laid out: its emission, what was paid and each pool's part.
        let shown = &network["paid_epoch"];
        let api = get(&format!("{url}/v1/epochs/{}", shown["epoch"]));
        assert_eq!(shown["emission"], api["emission"]);
        assert_eq!(shown["paid"], api["paid"]);
        let pools: Vec<Value> = api["pools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| serde_json::json!([p["pool"], p["paid"]]))
            .collect();
        assert_eq!(shown["pools"], Value::Array(pools));
    }

    // Map: every hexagon's count is the number of devices the API lists in that cell.
    let map = &seen["map"];
    assert!(int(&map["hexes"]) > 0, "no hexagons drawn");
    assert!(
        int(&map["after_moves"]) > 0,
        "nothing drawn after zooming and panning"
    );
    let view = map["view_hash"].as_str().unwrap();
    assert!(
        view.contains("lat=") && view.contains("z="),
        "the map keeps its view in the address: {view}"
    );
    let mut drawn = 0;
    for cell in map["cells"].as_array().unwrap() {
        let listed = get(&format!(
            "{url}/v1/devices?limit=1000&cell={}",
            cell["cell"].as_str().unwrap()
        ));
        assert_eq!(
            listed["devices"].as_array().unwrap().len() as u64,
            int(&cell["total"]),
            "devices in cell {}",
            cell["cell"]
        );
        drawn += int(&cell["total"]);
    }
    assert!(drawn > 0 && drawn <= DEVICES);

    // Earnings: each hexagon's earnings are what the rewards API says its devices were paid in
    // the legend's epoch; grey exactly when nothing; darker exactly when more per device.
    let earnings = &seen["earnings"];
    let epoch_shown = int(&earnings["epoch"]);
    let latest = int(&get(&format!("{url}/v1/epochs/latest"))["epoch"]);
    assert!(
        epoch_shown <= latest && epoch_shown + 1 >= latest,
        "the legend names epoch {epoch_shown}; the latest paid is {latest}"
    );
    assert_eq!(int(&earnings["steps"]), 4, "the legend's colour steps");
    assert!(
        earnings["hash"]
            .as_str()
            .unwrap()
            .contains("color=earnings")
    );
    let mut max_per_device: u128 = 0;
    let mut by_rate: Vec<(u128, f64)> = Vec::new();
    let cells = earnings["cells"].as_array().unwrap();
    assert!(!cells.is_empty(), "no hexagons in earnings mode");
    for cell in cells {
        let listed = get(&format!(
            "{url}/v1/devices?limit=1000&cell={}",
            cell["cell"].as_str().unwrap()
        ));
        let mut earned: u128 = 0;
        let mut earning = 0;
        for d in listed["devices"].as_array().unwrap() {
            let id = d["id"].as_str().unwrap();
            let (status, body) = try_get(&format!(
                "{url}/v1/devices/{id}/rewards?epoch={epoch_shown}"
            ))
            .unwrap();
            if status == 200 {
                let total: u128 = body["epochs"][0]["total"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                earned += total;
                earning += u64::from(total > 0);
            } else {
                assert_eq!(status, 404, "{body}");
            }
        }
        let shown: u128 = cell["earned"].as_str().unwrap().parse().unwrap();
        assert_eq!(shown, earned, "earnings of cell {}", cell["cell"]);
        assert_eq!(
            int(&cell["earning"]),
            earning,
            "paid devices of {}",
            cell["cell"]
        );
        let per_device = earned / u128::from(int(&cell["total"]));
        max_per_device = max_per_device.max(per_device);
        let fill = cell["fill"].as_str().unwrap();
        let rgb: Vec<f64> = (0..3)
            .map(|i| f64::from(u8::from_str_radix(&fill[1 + 2 * i..3 + 2 * i], 16).unwrap()))
            .collect();
        let lightness = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
        if per_device == 0 {
            assert_eq!(fill, "#d5d9d6", "a cell that earned nothing is grey");
        } else {
            by_rate.push((per_device, lightness));
        }
    }
    assert_eq!(
        earnings["max_per_device"].as_str().unwrap(),
        max_per_device.to_string(),
        "the legend's scale tops out at the most earned per device in view"
    );
    assert!(!by_rate.is_empty(), "some cell earned something");
    by_rate.sort_by_key(|r| r.0);
    for pair in by_rate.windows(2) {
        assert!(
            pair[1].1 <= pair[0].1 + 1e-9,
            "more earned per device is drawn darker: {by_rate:?}"
        );
    }
    let clicked_earned = earnings["clicked"]["earned"].as_str().unwrap();
    let clicked_cell = cells
        .iter()
        .find(|c| c["cell"] == earnings["clicked"]["cell"])
        .unwrap();
    assert_eq!(clicked_earned, clicked_cell["earned"].as_str().unwrap());
    let clicked = &map["clicked"];
    let listed = get(&format!(
        "{url}/v1/devices?limit=50&cell={}",
        clicked["cell"].as_str().unwrap()
    ));
    let ids: Vec<&str> = listed["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    let shown: Vec<&str> = clicked["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(shown, ids, "the devices listed for the clicked hexagon");

    // Device, reached from the map, scrolled to its rewards.
    let device = &seen["device"];
    let id = device["id"].as_str().unwrap();
    assert_eq!(id, shown[0], "the first device of the clicked cell opened");
    let api_device = get(&format!("{url}/v1/devices/{id}"));
    for key in ["kind", "status", "owner", "location", "stake"] {
        assert_eq!(device[key], api_device[key], "device {key}");
    }
    let epoch = int(&device["epoch"]);
    let verdicts = get(&format!("{url}/v1/devices/{id}/verdicts?epoch={epoch}"));
    let all = verdicts["verdicts"].as_array().unwrap();
    let valid = all.iter().filter(|v| v["verdict"] == "valid").count() as u64;
    let invalid = all.len() as u64 - valid;
    let epoch_over = int(&get(&format!("{url}/v1/network"))["epoch"]) > epoch;
    if epoch_over {
        assert_eq!(
            (int(&device["valid"]), int(&device["invalid"])),
            (valid, invalid)
        );
    } else {
        // The epoch is still running: the API may have judged more reports since.
        assert!(int(&device["valid"]) <= valid && int(&device["invalid"]) <= invalid);
    }
    assert_eq!(
        int(&device["verdict_rows"]),
        int(&device["valid"]) + int(&device["invalid"])
    );
    assert_eq!(
        device["rewards_in_view"], true,
        "the rewards section is on screen"
    );
    assert!(
        epoch_over,
        "the device page opens on the last finished epoch"
    );
    let (status, api_rewards) =
        try_get(&format!("{url}/v1/devices/{id}/rewards?epoch={epoch}")).unwrap();
    if status == 404 {
        assert_eq!(device["rewards_state"], "missing", "{api_rewards}");
    } else {
        assert_eq!(status, 200, "{api_rewards}");
        assert_eq!(device["rewards_state"], "rewards");
        let shown = &seen["rewards"];
        let api = &api_rewards["epochs"][0];
        assert_eq!(int(&shown["epoch"]), epoch);
        assert_eq!(shown["total"], api["total"], "the total earned");
        let lines = api["lines"].as_array().unwrap();
        let rows = shown["pools"].as_array().unwrap();
        assert_eq!(rows.len(), lines.len(), "one row per pool: {shown}");
        for (row, line) in rows.iter().zip(lines) {
            assert_eq!(row["pool"], line["pool"]);
            assert_eq!(row["amount"], line["amount"]);
            assert_eq!(row["earned"], line["amount"]);
            if line["ineligible"].is_string() {
                assert!(
                    row["share"].as_str().unwrap().starts_with("not eligible"),
                    "{row}"
                );
            } else {
                assert!(row["share"].as_str().unwrap().contains('%'), "{row}");
            }
        }
        let paid = lines.iter().filter(|l| l["amount"] != "0").count() as u64;
        assert_eq!(int(&shown["split_parts"]), paid, "the split bar's parts");
        let counts = &api["counts"];
        assert_eq!(shown["work"]["invalid"], counts["invalid"]);
        for (key, field) in [
            ("heartbeats", "heartbeats"),
            ("beacons", "beacons"),
            ("witnesses", "witnesses"),
            ("sensor-readings", "sensor_readings"),
        ] {
            if int(&counts[field]) > 0 {
                assert_eq!(shown["work"][key], counts[field], "{key}");
            }
        }
        let multiplier: f64 = api["reputation"].as_str().unwrap().parse().unwrap();
        let text = shown["reputation"].as_str().unwrap();
        assert!(
            text.contains(if multiplier == 0.0 {
                "disqualified"
            } else {
                "audit score"
            }),
            "{text}"
        );
        assert_eq!(
            int(&shown["explanation"]),
            api["explanation"].as_array().unwrap().len() as u64
        );
    }

    // The device's location opened the map on its cell.
    let device_map = &seen["device_map"];
    assert!(int(&device_map["hexes"]) > 0);
    let hash = device_map["hash"].as_str().unwrap();
    let cell = get(&format!(
        "{url}/v1/map/cell/{}",
        api_device["location"].as_str().unwrap()
    ));
    let lat: f64 = hash
        .split("lat=")
        .nth(1)
        .and_then(|r| r.split('&').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(
        (lat - cell["lat"].as_f64().unwrap()).abs() < 1e-3,
        "the map centred on the device's cell: {hash}"
    );

    // Account of the device's owner.
    let account = &seen["account"];
    let owner = account["address"].as_str().unwrap();
    assert_eq!(owner, api_device["owner"].as_str().unwrap());
    let api_account = get(&format!("{url}/v1/accounts/{owner}"));
    assert_eq!(account["balance"], api_account["balance"]);
    assert_eq!(account["nonce"], api_account["nonce"]);
    let stake = get(&format!("{url}/v1/accounts/{owner}/stake"));
    assert_eq!(account["staked"], stake["bonded"]);
    let owned = get(&format!("{url}/v1/devices?limit=20&owner={owner}"));
    let owned: Vec<&Value> = owned["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["id"])
        .collect();
    assert_eq!(
        account["devices"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        owned
    );
    let txs = get(&format!("{url}/v1/accounts/{owner}/txs?limit=20"));
    let txs: Vec<&Value> = txs["txs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["hash"])
        .collect();
    assert!(
        !txs.is_empty(),
        "the owner onboarded devices: it has transactions"
    );
    assert_eq!(
        account["txs"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        txs
    );
    assert_eq!(account["credits_state"], "shown");
    let credits = get(&format!("{url}/v1/credits/{owner}"));
    assert!(
        int(&credits["credits"]) > 0,
        "the test minted credits for {owner}"
    );
    assert!(int(&account["credits"]) <= int(&credits["credits"]));
    let api_txs = get(&format!("{url}/v1/accounts/{owner}/txs?limit=20"));
    let mints: Vec<Value> = api_txs["txs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| {
            t["credit_mints"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|m| serde_json::json!({"tx": t["hash"], "credits": m["credits"]}))
        })
        .collect();
    assert!(!mints.is_empty(), "the owner received credits: {api_txs}");
    assert_eq!(account["credit_mints"], Value::Array(mints));
    let supply = get(&format!("{url}/v1/supply"));
    assert!(
        account["spends_text"]
            .as_str()
            .unwrap()
            .contains("keeps no per-account list"),
        "{}",
        account["spends_text"]
    );
    assert!(int(&supply["breakdown"]["credits_minted"]) > 0);

    // Its newest transaction, then that transaction's block.
    let tx = &seen["tx"];
    let hash = txs[0].as_str().unwrap();
    assert_eq!(tx["url_hash"], format!("#/tx/{hash}"));
    let api_tx = get(&format!("{url}/v1/txs/{hash}"));
    assert_eq!(tx["nonce"], api_tx["nonce"]);
    assert_eq!(tx["fee_charged"], api_tx["fee_charged"]);
    let kinds: Vec<&Value> = api_tx["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["type"])
        .collect();
    assert_eq!(
        tx["messages"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        kinds
    );
    let events: Vec<&Value> = api_tx["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["kind"])
        .collect();
    assert_eq!(
        tx["events"].as_array().unwrap().iter().collect::<Vec<_>>(),
        events
    );
    assert_eq!(tx["failure"].is_null(), api_tx["code"] == 0);
    let block = &seen["block"];
    assert_eq!(block["height"], api_tx["height"]);
    let api_block = get(&format!("{url}/v1/blocks/{}", block["height"]));
    assert_eq!(block["hash"], api_block["hash"]);
    assert_eq!(block["app_hash"], api_block["app_hash"]);
    let block_txs: Vec<&Value> = api_block["txs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["hash"])
        .collect();
    assert_eq!(
        block["txs"].as_array().unwrap().iter().collect::<Vec<_>>(),
        block_txs
    );

    // Live blocks and paging.
    let blocks = &seen["blocks"];
    assert!(
        int(&blocks["later"]) > int(&blocks["first"]),
        "a new block appeared without reloading"
    );
    assert!(int(&blocks["after_older"]) > int(&blocks["rows"]));

    // Search.
    let search = &seen["search"];
    assert_eq!(search["device"], format!("#/device/{id}"));
    assert_eq!(search["height"], format!("#/block/{}", block["height"]));
    assert_eq!(search["address"], format!("#/account/{owner}"));
    assert_eq!(search["tx"], format!("#/tx/{hash}"));
    assert!(
        search["nonsense_message"]
            .as_str()
            .unwrap()
            .contains("is not an address")
    );
    assert_eq!(search["cid"], format!("#/cid/{cid}"));
    assert_eq!(search["cid_deals"], serde_json::json!([deal_id]));

    // Storage: every provider as the API gives it; every settled period of every deal shown as
    // the API's proof history says.
    let storage = &seen["storage"];
    assert_eq!(storage["state"], "shown");
    let providers = get(&format!("{url}/v1/storage/providers?limit=100"));
    let shown = storage["providers"].as_array().unwrap();
    let listed = providers["providers"].as_array().unwrap();
    assert_eq!(shown.len(), listed.len());
    for (row, p) in shown.iter().zip(listed) {
        assert_eq!(row["device"], p["device"]);
        assert_eq!(row["capacity"], p["capacity_bytes"]);
        assert_eq!(row["reserved"], p["reserved_bytes"]);
        assert_eq!(row["price"], p["price_per_gib_period"]);
        // Proofs go on while the test reads: the page's counts are never ahead of the API's.
        assert!(int(&row["passes"]) <= int(&p["passes"]));
        assert!(int(&row["misses"]) <= int(&p["misses"]));
        if row["passes"] == p["passes"] && row["misses"] == p["misses"] {
            assert_eq!(row["reputation"], p["reputation_ppm"], "{}", p["device"]);
        }
    }
    let check_grid = |id: u64, grid: &Value| {
        let deal = get(&format!("{url}/v1/storage/deals/{id}"));
        let proofs = deal["proofs"].as_array().unwrap();
        let settled: Vec<&Value> = grid["cells"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["outcome"] != "open")
            .collect();
        assert!(!settled.is_empty(), "deal {id} shows no settled period");
        for c in &settled {
            let proof = proofs
                .iter()
                .find(|p| p["period"] == c["period"] && p["provider"] == c["provider"])
                .unwrap_or_else(|| {
                    panic!("deal {id}: the page shows {c}, the API has no such proof")
                });
            assert_eq!(proof["outcome"], c["outcome"], "deal {id}: {c}");
        }
        let passed = settled.iter().filter(|c| c["outcome"] == "proven").count() as u64;
        assert_eq!(int(&grid["passed"]), passed);
        assert_eq!(int(&grid["missed"]), settled.len() as u64 - passed);
    };
    let deals = storage["deals"].as_object().unwrap();
    assert!(
        deals.contains_key(&deal_id.to_string()),
        "the latest deals include the test's deal {deal_id}: {deals:?}"
    );
    for (id, grid) in deals {
        check_grid(id.parse().unwrap(), grid);
    }
    let deal_page = &seen["deal"];
    check_grid(int(&deal_page["id"]), &deal_page["grid"]);
    let api_deal = get(&format!("{url}/v1/storage/deals/{}", deal_page["id"]));
    let pieces: usize = api_deal["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["pieces"].as_array().unwrap().len())
        .sum();
    assert_eq!(int(&deal_page["pieces"]), pieces as u64);

    for name in [
        "network",
        "map",
        "map-earnings",
        "device",
        "device-rewards",
        "account",
        "block",
        "storage",
        "deal",
    ] {
        assert!(
            shots.join(format!("{name}.png")).exists(),
            "screenshot {name}.png"
        );
    }
}

/// GET with headers, returning status, headers and body.
fn fetch(url: &str, headers: &[(&str, &str)]) -> (u16, ureq::http::HeaderMap, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let mut response = request.call().unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (status, headers, body)
}

#[test]
fn the_node_serves_the_dashboard_files_with_types_and_caching() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    init_home(dir.path(), port, 200);
    let node = NodeProcess::start(dir.path(), port);
    let (status, headers, html) = fetch(&format!("{}/", node.url), &[]);
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-cache");
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (status, _, _) = fetch(&format!("{}/", node.url), &[("if-none-match", &etag)]);
    assert_eq!(status, 304, "an unchanged page is not sent again");
    // The page names its files with this build's stamp; those may be cached for good.
    let stamp = html
        .split("app.js?v=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    for (name, kind) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("map.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ] {
        let (status, headers, body) =
            fetch(&format!("{}/dashboard/{name}?v={stamp}", node.url), &[]);
        assert_eq!(status, 200, "{name}");
        assert_eq!(headers["content-type"], kind, "{name}");
        assert_eq!(
            headers["cache-control"], "public, max-age=31536000, immutable",
            "{name}"
        );
        assert!(!body.is_empty());
        let (_, headers, _) = fetch(&format!("{}/dashboard/{name}", node.url), &[]);
        assert_eq!(
            headers["cache-control"], "no-cache",
            "{name} without a stamp"
        );
    }
    let (status, _, body) = fetch(&format!("{}/dashboard/nope.js", node.url), &[]);
    assert_eq!(status, 404);
    assert!(body.contains("no dashboard file"));
    // The API's own 404 still answers unknown routes.
    let (status, _, body) = fetch(&format!("{}/v1/nothing", node.url), &[]);
    assert_eq!(status, 404);
    assert!(body.contains("no such route"));
    // The dashboard's endpoints are in the OpenAPI document, and answer.
    let openapi = get(&format!("{}/v1/openapi.json", node.url));
    for path in [
        "/v1/events",
        "/v1/map/cells",
        "/v1/map/cell/{cell}",
        "/v1/network",
        "/v1/blocks",
        "/v1/accounts/{address}/txs",
        "/v1/accounts/{address}/stake",
    ] {
        assert!(openapi["paths"][path].is_object(), "OpenAPI lacks {path}");
    }
    let (status, body) = try_get(&format!("{}/v1/map/cells?res=9&bbox=0,0,1,1", node.url)).unwrap();
    assert_eq!(status, 400, "{body}");
    let (status, body) = try_get(&format!("{}/v1/map/cells?res=3&bbox=0,1,2", node.url)).unwrap();
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("four numbers")
    );
    let cells = get(&format!(
        "{}/v1/map/cells?res=3&bbox=-180,-90,180,90",
        node.url
    ));
    assert_eq!(
        cells["cells"],
        Value::Array(vec![]),
        "a node without devices"
    );
    let network = get(&format!("{}/v1/network", node.url));
    assert_eq!(network["devices_total"], 0);
    let cell = get(&format!("{}/v1/map/cell/8c39336746463ff", node.url));
    assert_eq!(cell["res"], 12);
    assert_eq!(cell["boundary"].as_array().unwrap().len(), 6);
    assert!((cell["lat"].as_f64().unwrap() - 38.7).abs() < 0.2);
    let (status, _) = try_get(&format!("{}/v1/accounts/nope/txs", node.url)).unwrap();
    assert_eq!(status, 400);

    // Server-sent events: the current block comes at once.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let response = agent
        .get(&format!("{}/v1/events", node.url))
        .call()
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut reader = BufReader::new(response.into_body().into_reader());
    let mut lines = Vec::new();
    while lines.len() < 2 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if !line.trim().is_empty() {
            lines.push(line.trim().to_string());
        }
    }
    assert_eq!(lines[0], "event: block");
    let data: Value = serde_json::from_str(lines[1].strip_prefix("data: ").unwrap()).unwrap();
    assert!(data["height"].is_u64() && data["hash"].is_string());
}
