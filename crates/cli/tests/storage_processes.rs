//! Storage providers and clients as real `groundwork` processes on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{devnet_command, free_port, groundwork, run, run_ok};
use groundwork_storage_net::commitment::piece_root;
use groundwork_storage_node::provider_client::ProviderClient;

/// A `groundwork provider storage` process.
struct Provider {
    child: Child,
    url: String,
}

impl Provider {
    fn start(home: &Path, port: u16, capacity: &str) -> Provider {
        std::fs::create_dir_all(home).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("provider.log"))
            .unwrap();
        let child = groundwork()
            .args([
                "provider",
                "storage",
                "--home",
                home.to_str().unwrap(),
                "--capacity",
                capacity,
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env_remove("GROUNDWORK_HOME")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let client = ProviderClient::new(Duration::from_secs(5));
        let deadline = Instant::now() + Duration::from_secs(30);
        while client.info(&url).is_err() {
            assert!(
                Instant::now() < deadline,
                "the provider at {url} did not come up"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
        Provider { child, url }
    }

    /// SIGKILL.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A piece the provider acknowledged: its commitment and bytes.
type Acknowledged = ([u8; 32], Vec<u8>);

#[test]
fn a_provider_killed_mid_upload_loses_nothing_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("provider");
    let port = free_port();
    let mut provider = Provider::start(&home, port, "2GiB");
    let url = provider.url.clone();

    // Four uploaders send 4 MiB pieces back to back; the provider is killed while they run.
    let acknowledged: Arc<Mutex<Vec<Acknowledged>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let uploaders: Vec<_> = (0..4u64)
        .map(|worker| {
            let (acknowledged, stop, url) = (acknowledged.clone(), stop.clone(), url.clone());
            std::thread::spawn(move || {
                let client = ProviderClient::new(Duration::from_secs(30));
                let mut attempts = 0;
                for number in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let piece = pseudo_random(4 << 20, (worker * 1000 + number) * 2 + 1);
                    let root = piece_root(&piece);
                    attempts += 1;
                    match client.put_piece(&url, &root, &piece) {
                        Ok(receipt) => {
                            assert!(receipt.stored);
                            acknowledged.lock().unwrap().push((root, piece));
                        }
                        Err(_) => break, // the provider is gone
                    }
                }
                attempts
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < 12 {
        assert!(Instant::now() < deadline, "uploads too slow");
        std::thread::sleep(Duration::from_millis(5));
    }
    provider.kill();
    stop.store(true, Ordering::Relaxed);
    let attempts: u64 = uploaders.into_iter().map(|t| t.join().unwrap()).sum();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        attempts > acknowledged.len() as u64,
        "some uploads were in flight when the provider died"
    );

    // Back up on the same disk: every acknowledged piece is there, byte for byte.
    let provider = Provider::start(&home, port, "2GiB");
    let client = ProviderClient::new(Duration::from_secs(30));
    let info = client.info(&provider.url).unwrap();
    assert!(info.pieces >= acknowledged.len(), "{info:?}");
    for (root, piece) in &acknowledged {
        let stored = client
            .get_piece(&provider.url, root, piece.len() as u64)
            .unwrap();
        assert!(&stored == piece, "an acknowledged piece changed");
    }
    // No half-written file is left behind or served.
    let leftovers: Vec<_> = std::fs::read_dir(home.join("pieces"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let log = std::fs::read_to_string(home.join("provider.log")).unwrap();
    assert!(log.contains("unfinished uploads removed"), "{log}");
}

#[test]
fn a_file_put_through_provider_processes_survives_two_of_them_being_killed() {
    let dir = tempfile::tempdir().unwrap();
    let mut providers: Vec<Provider> = (0..6)
        .map(|index| {
            Provider::start(
                &dir.path().join(format!("provider-{index}")),
                free_port(),
                "1GiB",
            )
        })
        .collect();
    let urls: Vec<String> = providers.iter().map(|p| p.url.clone()).collect();
    let urls = urls.join(",");
    let client_home = dir.path().join("client");
    let input = dir.path().join("input.bin");
    let bytes = pseudo_random(3 * (1 << 20) + 4321, 77);
    std::fs::write(&input, &bytes).unwrap();

    let put = run_ok(&[
        "--output",
        "json",
        "storage",
        "put",
        input.to_str().unwrap(),
        "--segment-size",
        "1MiB",
        "--home",
        client_home.to_str().unwrap(),
        "--providers",
        &urls,
    ]);
    let put: serde_json::Value = serde_json::from_str(&put).unwrap();
    let cid = put["cid"].as_str().unwrap().to_string();
    assert_eq!(
        cid,
        groundwork_storage_net::unixfs::compute_cid(&bytes[..])
            .unwrap()
            .to_string()
    );
    assert_eq!(put["segments"], 4);

    providers[1].kill();
    providers[3].kill();
    let output = dir.path().join("output.bin");
    run_ok(&[
        "storage",
        "get",
        &cid,
        "-o",
        output.to_str().unwrap(),
        "--home",
        client_home.to_str().unwrap(),
        "--timeout",
        "10",
    ]);
    assert!(std::fs::read(&output).unwrap() == bytes);

    // A third gone: the error says why, and nothing is written.
    providers[5].kill();
    let lost = dir.path().join("lost.bin");
    let failed = run(&[
        "storage",
        "get",
        &cid,
        "-o",
        lost.to_str().unwrap(),
        "--home",
        client_home.to_str().unwrap(),
    ]);
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("could be fetched and verified"), "{stderr}");
    assert!(!lost.exists());
}

#[test]
fn bad_command_lines_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap();
    let output = run(&[
        "provider",
        "storage",
        "--home",
        home,
        "--capacity",
        "10 parsecs",
    ]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unknown unit"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let file = dir.path().join("f");
    std::fs::write(&file, b"hello").unwrap();
    let output = run(&["storage", "put", file.to_str().unwrap(), "--home", home]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no providers known"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = run(&[
        "storage",
        "put",
        file.to_str().unwrap(),
        "--home",
        home,
        "--k",
        "6",
        "--n",
        "4",
        "--providers",
        "http://127.0.0.1:1",
    ]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("invalid erasure parameters"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = run(&["storage", "get", "bafynotthere", "-o", "x", "--home", home]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no placement of"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_newcomer_puts_and_gets_a_file_on_the_devnet_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("devnet");
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("devnet.log")).unwrap();
    let mut devnet = devnet_command(&home, port, 0, 7)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let providers_file = home.join("storage").join("providers.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !providers_file.exists() {
        assert!(
            Instant::now() < deadline,
            "the devnet wrote no providers list"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let input = dir.path().join("hello.txt");
    std::fs::write(&input, b"hello, storage network\n").unwrap();
    let put = run_ok(&[
        "storage",
        "put",
        input.to_str().unwrap(),
        "--home",
        home.to_str().unwrap(),
    ]);
    let cid = put.lines().next().unwrap().trim().to_string();
    assert!(
        cid.starts_with("bafkrei"),
        "a one-block file is a raw leaf: {put}"
    );
    let output = dir.path().join("out.txt");
    run_ok(&[
        "storage",
        "get",
        &cid,
        "-o",
        output.to_str().unwrap(),
        "--home",
        home.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&output).unwrap(), b"hello, storage network\n");
    let listed = run_ok(&["storage", "providers", "--home", home.to_str().unwrap()]);
    assert_eq!(listed.lines().count(), 7, "{listed}");
    let _ = devnet.kill();
    let _ = devnet.wait();
}
