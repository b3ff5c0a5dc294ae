//! A real node (HTTP on loopback, consensus of one validator, ingest) and a fleet of 30 devices with one of
//! each cheater: after about three epochs, honest devices have valid verdicts and every cheater is
//! caught with the right reason; every honest device has earned rewards, every cheater's invalid
//! verdicts cut its reputation multiplier, and every device's breakdown is explained by its valid
//! counts (nothing is paid for a report that was not valid).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use groundwork_agents::{
    CheaterCounts, DeviceRole, FleetConfig, OwnerFunding, PriceFeed, run_fleet, run_price_feed,
};
use groundwork_app::modules::rewards::params::RewardsParams;
use groundwork_node::config::NodeConfig;
use groundwork_node::home::{self, Home, InitOptions};
use groundwork_node::keystore::Protection;
use groundwork_node::{Node, NodeOptions};
use serde_json::Value;

const BLOCK_MS: u64 = 250;
const EPOCH_BLOCKS: u64 = 40;
/// Heartbeats a device needs per epoch for uptime rewards here.
const MIN_HEARTBEATS: u32 = 2;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(url: &str) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(url).call().unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    assert_eq!(status, 200, "GET {url}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// Every verdict of a device over the epochs `epochs`.
fn verdicts(url: &str, id: &str, epochs: std::ops::RangeInclusive<u64>) -> Vec<Value> {
    epochs
        .flat_map(|epoch| {
            get(&format!(
                "{url}/v1/devices/{id}/verdicts?epoch={epoch}&limit=5000"
            ))["verdicts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn a_fleet_with_cheaters_gets_its_cheaters_caught() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let port = free_port();
    let mut config = NodeConfig::default();
    config.http.listen = format!("127.0.0.1:{port}").parse().unwrap();
    config.p2p.listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    config.block.interval_ms = BLOCK_MS;
    home::init(
        &home,
        InitOptions {
            chain_id: "agents-itest".into(),
            account_name: "owner".into(),
            account_protection: Protection::Plain,
            account_tokens: 1_000_000,
            faucet_tokens: None,
            config,
            genesis_time_ms: groundwork_agents::fleet::now_ms(),
            decimals: 8,
            with_maker: true,
            with_oracle: true,
            params: Default::default(),
        },
    )
    .unwrap();
    // Short epochs and a short heartbeat floor, before the first start.
    let mut genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(home.genesis_path()).unwrap()).unwrap();
    genesis["params"]["reports"]["epoch_blocks"] = EPOCH_BLOCKS.into();
    genesis["params"]["reports"]["beacon_interval_blocks"] = 10.into();
    genesis["params"]["reports"]["heartbeat"] = serde_json::json!({ "min_interval_ms": 3_000 });
    // Rewards for hotspots and sensors; about two heartbeats fit in a 10 s epoch.
    genesis["params"]["rewards"] =
        serde_json::to_value(RewardsParams::devnet(8, MIN_HEARTBEATS).unwrap()).unwrap();
    assert_eq!(
        genesis["makers"].as_array().map(Vec::len),
        Some(1),
        "the genesis has the maker"
    );
    std::fs::write(
        home.genesis_path(),
        serde_json::to_string_pretty(&genesis).unwrap(),
    )
    .unwrap();
    let genesis = home.genesis().unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let node = runtime
        .block_on(Node::start(NodeOptions {
            home: dir.path().to_path_buf(),
            http: None,
            block_interval_ms: None,
        }))
        .unwrap();
    let url = format!("http://{}", node.addr());

    let keys = home.keystore();
    let maker = keys.load("maker", None).unwrap();
    let owner = keys.load("owner", None).unwrap();
    // The genesis oracle reports $1.00 per token, so the owner can buy the payers' credits.
    let feed_stop = Arc::new(AtomicBool::new(false));
    let mut feed = PriceFeed::new(&url, keys.load("oracle", None).unwrap(), 1_000_000);
    feed.interval = Duration::from_secs(5);
    let feed_thread = {
        let stop = feed_stop.clone();
        std::thread::spawn(move || run_price_feed(feed, stop))
    };
    let mut fleet = FleetConfig::new(&url, 30, maker, OwnerFunding::Key(owner));
    fleet.seed = 11;
    fleet.cheaters = CheaterCounts::ONE_OF_EACH;
    fleet.radius_m = Some(3_000.0);
    fleet.reports_params = genesis.params.reports.clone();
    fleet.devices_params = genesis.params.devices.clone();
    fleet.credits_params = genesis.params.credits.clone();
    fleet.cadences.sensor = Duration::from_secs(2);
    fleet.cadences.data_transfer = Duration::from_secs(3);
    fleet.cadences.replay = Duration::from_secs(2);
    fleet.duration = Some(Duration::from_millis(BLOCK_MS * EPOCH_BLOCKS * 3));
    let report = run_fleet(fleet, Arc::new(AtomicBool::new(false))).unwrap();
    eprintln!("{}", report.summary());
    assert_eq!(report.onboarded, 30);
    assert!(report.beacons > 0 && report.witnesses > 0);

    // Let the queue drain into blocks.
    std::thread::sleep(Duration::from_millis(BLOCK_MS * 6));
    let tip = get(&format!("{url}/v1/status"))["height"].as_u64().unwrap();
    let epochs = (report.heights.0 / EPOCH_BLOCKS)..=(tip / EPOCH_BLOCKS);

    let mut caught: BTreeMap<DeviceRole, usize> = BTreeMap::new();
    for device in &report.devices {
        let all = verdicts(&url, &device.id, epochs.clone());
        let invalid: Vec<&Value> = all
            .iter()
            .filter(|v| v["code"].as_u64() != Some(0))
            .collect();
        let reasons = || {
            invalid
                .iter()
                .map(|v| {
                    format!(
                        "{} #{}: {} {}",
                        v["kind"], v["counter"], v["code"], v["reason"]
                    )
                })
                .collect::<Vec<_>>()
        };
        match device.role {
            DeviceRole::Honest => {
                assert!(
                    all.len() > invalid.len(),
                    "honest {} ({}) has no valid verdict: {:?}",
                    device.id,
                    device.kind,
                    reasons()
                );
                assert_eq!(
                    device.refused, 0,
                    "honest {} had reports refused: {:?}",
                    device.id, device.refusal_reasons
                );
                for v in &invalid {
                    // The one excuse: it heard the liar, whose claimed place makes the signal impossible.
                    let counter = v["counter"].as_u64().unwrap();
                    assert!(
                        device.witnessed_cheater_counters.contains(&counter) && v["code"] == 16,
                        "honest {} ({}) got an invalid verdict: {:?}",
                        device.id,
                        device.kind,
                        reasons()
                    );
                }
            }
            DeviceRole::LocationLiar => {
                assert!(
                    invalid.iter().any(|v| v["code"] == 16
                        && v["reason"]
                            .as_str()
                            .unwrap()
                            .contains("exceeds the free-space maximum")),
                    "the liar {} was not caught with RssiTooStrong: {:?}",
                    device.id,
                    reasons()
                );
                *caught.entry(device.role).or_default() += 1;
            }
            DeviceRole::WitnessRing => {
                assert!(
                    invalid.iter().any(|v| v["code"] == 16 && {
                        let reason = v["reason"].as_str().unwrap();
                        reason.contains("exceeds the free-space maximum")
                            || reason.contains("from the beaconer (at most")
                    }),
                    "ring member {} was not caught: {:?}",
                    device.id,
                    reasons()
                );
                *caught.entry(device.role).or_default() += 1;
            }
            DeviceRole::Replayer => {
                let refused_as_replay = device
                    .refusal_reasons
                    .iter()
                    .any(|r| r.contains("duplicate or replay"));
                let judged_replayed = invalid.iter().any(|v| v["code"] == 6);
                assert!(
                    refused_as_replay || judged_replayed,
                    "the replayer {} was not caught: {:?} {:?}",
                    device.id,
                    device.refusal_reasons,
                    reasons()
                );
                *caught.entry(device.role).or_default() += 1;
            }
        }
    }
    // The payers paid for what the hotspots carried: credits were bought by burning tokens and
    // spent by valid receipts (none was judged insufficient_credits: honest verdicts are valid).
    let supply = get(&format!("{url}/v1/supply"));
    let breakdown = &supply["breakdown"];
    assert!(
        breakdown["burned_for_credits"].as_str().unwrap() != "0"
            && breakdown["credits_spent"].as_u64().unwrap() > 0,
        "{supply}"
    );
    feed_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(feed_thread.join().unwrap().unwrap() >= 1);
    assert_eq!(caught.get(&DeviceRole::LocationLiar), Some(&1));
    assert_eq!(caught.get(&DeviceRole::WitnessRing), Some(&3));
    assert_eq!(caught.get(&DeviceRole::Replayer), Some(&1));

    // Rewards: wait until the epoch holding the last block with reports is paid.
    let last_epoch = tip / EPOCH_BLOCKS;
    let deadline = std::time::Instant::now() + Duration::from_millis(BLOCK_MS * EPOCH_BLOCKS * 3);
    while latest_paid_epoch(&url).is_none_or(|e| e < last_epoch) {
        assert!(
            std::time::Instant::now() < deadline,
            "epoch {last_epoch} was never paid"
        );
        std::thread::sleep(Duration::from_millis(BLOCK_MS));
    }
    let paid_epochs = (report.heights.0 / EPOCH_BLOCKS)..=last_epoch;
    assert!(paid_epochs.clone().count() >= 2, "{paid_epochs:?}");
    for device in &report.devices {
        let rewards = get(&format!("{url}/v1/devices/{}/rewards?limit=100", device.id));
        let epochs: Vec<&Value> = rewards["epochs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| paid_epochs.contains(&e["epoch"].as_u64().unwrap()))
            .collect();
        let earned: u128 = epochs.iter().map(|e| amount(&e["total"])).sum();
        for epoch in &epochs {
            assert_explained(&device.id, epoch);
        }
        let verdict_codes: Vec<u64> = verdicts(&url, &device.id, paid_epochs.clone())
            .iter()
            .filter_map(|v| v["code"].as_u64())
            .collect();
        let judged_invalid = verdict_codes.iter().any(|&c| c != 0);
        let reduced = epochs
            .iter()
            .any(|e| e["reputation"].as_str().unwrap() != "1");
        let disqualified = epochs.iter().any(|e| e["reputation"] == "0");
        eprintln!(
            "{:?} {} {}: earned {earned} base units over epochs {paid_epochs:?}; reputation reduced: {reduced}, disqualified: {disqualified}",
            device.role, device.kind, device.id
        );
        match device.role {
            DeviceRole::Honest => {
                assert!(
                    earned > 0,
                    "honest {} ({}) earned nothing: {rewards:#}",
                    device.id,
                    device.kind
                );
            }
            // A cheater earns only what its valid reports justify (checked line by line above),
            // and every invalid verdict in a paid epoch costs it reputation in that epoch.
            _ => {
                assert!(judged_invalid || device.refused > 0, "{}", device.id);
                assert_eq!(reduced, judged_invalid, "{}: {rewards:#}", device.id);
            }
        }
        if device.role == DeviceRole::Honest && !judged_invalid {
            assert!(
                !reduced,
                "spotless {} lost reputation: {rewards:#}",
                device.id
            );
        }
    }
    // The epochs' books balance and add up to what the supply says was minted.
    let mut minted = 0u128;
    for epoch in 0..=last_epoch {
        let summary = get(&format!("{url}/v1/epochs/{epoch}"));
        let available = amount(&summary["emission"]) + amount(&summary["carried_in"]);
        let routed = amount(&summary["paid"])
            + amount(&summary["to_treasury"])
            + amount(&summary["burned"])
            + amount(&summary["carry_out"]);
        assert_eq!(available, routed, "{summary:#}");
        minted += amount(&summary["minted"]);
    }
    let latest = get(&format!("{url}/v1/epochs/latest"));
    assert!(latest["epoch"].as_u64().unwrap() >= last_epoch);
    assert!(minted > 0);
    runtime.block_on(node.shutdown()).unwrap();
}

/// The last paid epoch, if any.
fn latest_paid_epoch(url: &str) -> Option<u64> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(&format!("{url}/v1/epochs/latest")).call().ok()?;
    if response.status().as_u16() != 200 {
        return None;
    }
    let value: Value = serde_json::from_str(&response.body_mut().read_to_string().ok()?).ok()?;
    value["epoch"].as_u64()
}

/// A base-unit amount from its JSON string.
fn amount(value: &Value) -> u128 {
    value.as_str().unwrap().parse().unwrap()
}

/// A decimal (fixed point, 18 places) as its raw integer, e.g. "1.36" → 1_360_000_000_000_000_000.
fn fixed(value: &Value) -> u128 {
    let text = value.as_str().unwrap();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction = format!("{fraction:0<18}");
    whole.parse::<u128>().unwrap() * 10u128.pow(18) + fraction[..18].parse::<u128>().unwrap()
}

/// Every line of an epoch's breakdown is backed by the epoch's valid counts, and the lines add
/// up to the total.
fn assert_explained(id: &str, epoch: &Value) {
    let counts = &epoch["counts"];
    let count = |name: &str| counts[name].as_u64().unwrap_or(0);
    let lines = epoch["lines"].as_array().unwrap();
    let sum: u128 = lines.iter().map(|l| amount(&l["amount"])).sum();
    assert_eq!(sum, amount(&epoch["total"]), "{id}: {epoch:#}");
    for line in lines {
        let units = fixed(&line["units"]);
        let one = 10u128.pow(18);
        // An ineligible line pays nothing, for a reason the counts or the score show.
        match line["ineligible"].as_str() {
            Some("too_few_heartbeats") => {
                assert!(
                    count("heartbeats") < u64::from(MIN_HEARTBEATS),
                    "{id}: {epoch:#}"
                );
                assert_eq!(amount(&line["amount"]), 0);
                continue;
            }
            Some("disqualified") => {
                assert_eq!(epoch["reputation"], "0", "{id}: {epoch:#}");
                assert_eq!(amount(&line["amount"]), 0);
                continue;
            }
            Some(other) => panic!("{id}: unexpected ineligibility {other}: {epoch:#}"),
            None => {}
        }
        match line["pool"].as_str().unwrap() {
            "uptime" => {
                assert!(
                    count("heartbeats") >= u64::from(MIN_HEARTBEATS),
                    "{id}: {epoch:#}"
                );
                assert_eq!(units, one, "{id}: {epoch:#}");
            }
            "data_transfer" => {
                assert_eq!(
                    units,
                    u128::from(count("credits_spent")) * one,
                    "{id}: {epoch:#}"
                )
            }
            "sensor_data" => assert_eq!(
                units,
                u128::from(count("sensor_readings")) * one,
                "{id}: {epoch:#}"
            ),
            "coverage" => {
                let coverage = &epoch["coverage"];
                let sum = |list: &str| -> u128 {
                    coverage[list]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|entry| fixed(&entry["units"]))
                        .sum()
                };
                assert_eq!(
                    coverage["beacons"].as_array().unwrap().len() as u64,
                    count("beacons")
                );
                assert_eq!(
                    coverage["witnessed"].as_array().unwrap().len() as u64,
                    count("witnesses")
                );
                assert_eq!(units, sum("beacons") + sum("witnessed"), "{id}: {epoch:#}");
            }
            other => panic!("{id}: unexpected pool {other}"),
        }
    }
}
