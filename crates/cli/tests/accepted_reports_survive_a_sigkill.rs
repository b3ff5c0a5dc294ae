//! A node answers a report batch only once the accepted reports are durable in its journal: a
//! node killed with SIGKILL right after answering comes back with every accepted report queued,
//! and a later block commits them all. Blocks are held back (a ten-minute interval) while the
//! reports are sent, so they cannot have been committed before the kill.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use groundwork_app::genesis::{GenesisAccount, GenesisMaker};
use groundwork_app::modules::devices::msgs::{
    device_onboarding_message, maker_attestation_message,
};
use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::reports::report_message;
use groundwork_app::{Genesis, tx};
use groundwork_primitives::{Address, Amount, DeviceId, SigningKey};
use groundwork_proto::Message as _;
use groundwork_proto::v1;

const DEVICES: u64 = 6;
const REPORTS_PER_DEVICE: u64 = 5;

fn owner_key() -> SigningKey {
    SigningKey::from_seed([41; 32])
}

fn maker_key() -> SigningKey {
    SigningKey::from_seed([42; 32])
}

fn device_key(i: u64) -> SigningKey {
    SigningKey::from_seed([50 + i as u8; 32])
}

/// Rewrites `block.interval_ms` in the home's config.toml.
fn set_block_interval(home: &std::path::Path, ms: u64) {
    let path = home.join("config.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    let rewritten: Vec<String> = config
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("interval_ms") {
                format!("interval_ms = {ms}")
            } else {
                line.to_string()
            }
        })
        .collect();
    assert_ne!(
        config,
        rewritten.join("\n") + "\n",
        "no interval_ms in {config}"
    );
    std::fs::write(&path, rewritten.join("\n") + "\n").unwrap();
}

fn metric(url: &str, name: &str) -> Option<f64> {
    let (status, body) = try_get(&format!("{url}/metrics")).unwrap();
    assert_eq!(status, 200);
    let text = body.as_str().unwrap_or_default().to_string();
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| line.split_whitespace().next() == Some(name))
        .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
}

fn last_counter(url: &str, device: &DeviceId) -> Option<u64> {
    get(&format!("{url}/v1/devices/{device}"))["last_report_counter"].as_u64()
}

#[test]
fn reports_a_node_accepted_survive_a_sigkill_and_are_committed_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    init_home(dir.path(), port, 100);
    let genesis_path = dir.path().join("genesis.json");
    let mut genesis = Genesis::from_json(&std::fs::read_to_string(&genesis_path).unwrap()).unwrap();
    let owner = owner_key();
    let owner_address = Address::from_public_key(&owner.public_key());
    genesis.accounts.push(GenesisAccount {
        address: owner_address,
        balance: Amount(10u128.pow(15)),
    });
    genesis.makers.push(GenesisMaker {
        name: "test maker".into(),
        public_key: maker_key().public_key().to_string(),
        allowance: 100,
    });
    std::fs::write(&genesis_path, genesis.to_json()).unwrap();
    let chain_id = genesis.chain_id.clone();

    // Onboard the sensors with blocks every 100 ms.
    let node = NodeProcess::start(dir.path(), port);
    let maker = maker_key();
    let messages = (0..DEVICES)
        .map(|i| {
            let public = device_key(i).public_key();
            v1::Message {
                kind: Some(v1::message::Kind::OnboardDevice(v1::OnboardDevice {
                    device_key: Some(groundwork_app::proto_public_key(&public)),
                    kind: DeviceKind::Sensor.to_proto(),
                    maker: Address::from_public_key(&maker.public_key())
                        .as_bytes()
                        .to_vec(),
                    maker_signature: maker
                        .sign_message(&maker_attestation_message(
                            &chain_id,
                            &public,
                            DeviceKind::Sensor,
                        ))
                        .0
                        .to_vec(),
                    device_signature: device_key(i)
                        .sign_message(&device_onboarding_message(&chain_id, &owner_address))
                        .0
                        .to_vec(),
                    ..Default::default()
                })),
            }
        })
        .collect();
    let onboarding = tx::build_signed_tx(&owner, &chain_id, 0, Amount(10_000), messages, "");
    let (status, answer) = post(
        &format!("{}/v1/txs?wait=true", node.url),
        "application/x-protobuf",
        &onboarding,
    );
    assert_eq!(
        (status, answer["status"].as_str(), answer["code"].as_u64()),
        (200, Some("committed"), Some(0)),
        "{answer}"
    );
    node.terminate();

    // Hold blocks back, send the readings, and kill the node as soon as it has answered.
    set_block_interval(dir.path(), 600_000);
    let node = NodeProcess::start(dir.path(), port);
    let height = get(&format!("{}/v1/status", node.url))["height"]
        .as_u64()
        .unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let devices: Vec<DeviceId> = (0..DEVICES)
        .map(|i| DeviceId::from_public_key(&device_key(i).public_key()))
        .collect();
    let mut reports = Vec::new();
    for counter in 1..=REPORTS_PER_DEVICE {
        for (i, device) in devices.iter().enumerate() {
            let body = v1::ReportBody {
                chain_id: chain_id.clone(),
                counter,
                timestamp_ms: now_ms + counter,
                kind: Some(v1::report_body::Kind::Sensor(v1::SensorReading {
                    measurements: vec![v1::Measurement {
                        kind: v1::MeasurementKind::TemperatureC as i32,
                        value_milli: 20_000 + counter as i64,
                    }],
                })),
            }
            .encode_to_vec();
            let signature = device_key(i as u64).sign_message(&report_message(&chain_id, &body));
            reports.push(
                v1::ReportEnvelope {
                    body,
                    device: device.as_bytes().to_vec(),
                    signature: signature.0.to_vec(),
                }
                .encode_to_vec(),
            );
        }
    }
    let expected = reports.len();
    // Two batches, the second sent while the first may still be journaling.
    let (first, second) = reports.split_at(expected / 2);
    let sender = |batch: Vec<Vec<u8>>| {
        let url = node.url.clone();
        std::thread::spawn(move || {
            let body = v1::ReportBatch { reports: batch }.encode_to_vec();
            post(
                &format!("{url}/v1/reports"),
                "application/x-protobuf",
                &body,
            )
        })
    };
    let first = sender(first.to_vec()).join().unwrap();
    let second = sender(second.to_vec()).join().unwrap();
    for (status, answer) in [&first, &second] {
        assert_eq!(*status, 200, "{answer}");
        assert_eq!(
            answer["rejected"].as_array().map(Vec::len),
            Some(0),
            "{answer}"
        );
    }
    let accepted = first.1["accepted"].as_u64().unwrap() + second.1["accepted"].as_u64().unwrap();
    assert_eq!(accepted as usize, expected);
    let still = get(&format!("{}/v1/status", node.url))["height"]
        .as_u64()
        .unwrap();
    node.kill();
    assert_eq!(
        still, height,
        "a block was committed while blocks were held back"
    );

    // Back up, still holding blocks: every accepted report is queued again.
    let node = NodeProcess::start(dir.path(), port);
    assert_eq!(
        metric(&node.url, "groundwork_reports_queued"),
        Some(expected as f64),
        "the restarted node's queue"
    );
    for device in &devices {
        assert_eq!(last_counter(&node.url, device), None, "{device}");
    }
    node.terminate();

    // With blocks flowing again, a block commits every one of them.
    set_block_interval(dir.path(), 100);
    let node = NodeProcess::start(dir.path(), port);
    wait_for(
        "a block committing every accepted report after the restart",
        30,
        || {
            devices
                .iter()
                .all(|d| last_counter(&node.url, d) == Some(REPORTS_PER_DEVICE))
        },
    );
    assert_eq!(metric(&node.url, "groundwork_reports_queued"), Some(0.0));
    node.terminate();
}
