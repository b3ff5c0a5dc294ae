//! Runs `groundwork` as real processes on loopback for the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test.
pub fn groundwork() -> Command {
    Command::new(env!("CARGO_BIN_EXE_groundwork"))
}

/// Runs the binary to completion.
pub fn run(args: &[&str]) -> Output {
    groundwork()
        .args(args)
        .env_remove("GROUNDWORK_HOME")
        .env_remove("GROUNDWORK_NODE")
        .output()
        .unwrap()
}

/// Runs the binary and insists it succeeds, returning standard output.
pub fn run_ok(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        output.status.success(),
        "groundwork {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `groundwork devnet` on `home`, serving HTTP on 127.0.0.1:`port`, with `devices` simulated
/// devices and `providers` storage providers; callers add options and pick the output streams.
pub fn devnet_command(home: &Path, port: u16, devices: usize, providers: usize) -> Command {
    let mut command = groundwork();
    command
        .args([
            "devnet",
            "--home",
            home.to_str().unwrap(),
            "--http",
            &format!("127.0.0.1:{port}"),
            "--devices",
            &devices.to_string(),
            "--providers",
            &providers.to_string(),
        ])
        .env_remove("GROUNDWORK_HOME");
    command
}

/// A child process that is killed (SIGKILL) and reaped when dropped, so a failing test leaves
/// nothing running behind it.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `check` every 200 ms until it gives a value; fails after `seconds` saying what did not
/// happen.
pub fn wait_until<T>(what: &str, seconds: u64, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {seconds} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// [`wait_until`] for a condition.
pub fn wait_for(what: &str, seconds: u64, mut check: impl FnMut() -> bool) {
    wait_until(what, seconds, || check().then_some(()));
}

/// A port nobody listens on right now, with the port 100 above it free as well (a devnet's
/// p2p port).
///
/// Picked below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`, from 32768 by
/// default): a port the kernel chose for us would be one it also hands out to outgoing
/// connections, and while a test has a node down for a restart, a peer redialling it or the
/// test's own client could take its port (seen once: "Address already in use" on restart).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let low = 12_000u16;
    let span = u64::from(ephemeral_start.saturating_sub(low).max(1_000));
    // Spread over the span by process and call, so concurrent tests rarely try the same port.
    let seed = u64::from(std::process::id()).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for _ in 0..10_000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let offset = seed.wrapping_add(n.wrapping_mul(7_919)) % span;
        let port = low + offset as u16;
        // A devnet puts its p2p listener 100 above its HTTP port: that one must be free too,
        // and below the ephemeral range as well.
        let p2p = port + 100;
        if p2p < ephemeral_start
            && TcpListener::bind(("127.0.0.1", port)).is_ok()
            && TcpListener::bind(("127.0.0.1", p2p)).is_ok()
        {
            return port;
        }
    }
    panic!("no free port below {ephemeral_start}");
}

/// `groundwork init` into `dir` with a plain `operator` key.
pub fn init_home(dir: &Path, port: u16, block_ms: u64) {
    run_ok(&[
        "init",
        "--home",
        dir.to_str().unwrap(),
        "--chain-id",
        "itest",
        "--plain-key",
        "--http",
        &format!("127.0.0.1:{port}"),
        "--block-ms",
        &block_ms.to_string(),
        "--p2p",
        &format!("127.0.0.1:{}", free_port()),
    ]);
}

/// A node process.
pub struct NodeProcess {
    pub child: Child,
    pub url: String,
    pub home: PathBuf,
    pub log: PathBuf,
}

impl NodeProcess {
    /// Starts `groundwork node --home` and waits until its API answers.
    pub fn start(home: &Path, port: u16) -> NodeProcess {
        let log = home.join(format!(
            "node-{}.log",
            Instant::now().elapsed().as_nanos() ^ u128::from(port)
        ));
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = groundwork()
            .args(["node", "--home", home.to_str().unwrap()])
            .env_remove("GROUNDWORK_HOME")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap();
        let mut node = NodeProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
            home: home.to_path_buf(),
            log,
        };
        node.wait_ready();
        node
    }

    fn wait_ready(&mut self) {
        // Generous: a restart replays consensus journals, and CI shares two cores.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut exited = None;
        while Instant::now() < deadline {
            if let Ok((200, _)) = try_get(&format!("{}/v1/status", self.url)) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                exited = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let what = match exited {
            Some(status) => format!("exited ({status})"),
            None => "did not come up in 60 s".into(),
        };
        panic!(
            "the node at {} {what}; its log ({}):\n{log}",
            self.url,
            self.log.display()
        );
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "the node exited with {status} after SIGTERM"
        );
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// GET, returning the status and the JSON body.
pub fn try_get(url: &str) -> Result<(u16, Value), ureq::Error> {
    let mut response = agent().get(url).call()?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string()?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// GET that must succeed with 200.
pub fn get(url: &str) -> Value {
    let (status, body) = try_get(url).unwrap();
    assert_eq!(status, 200, "GET {url}: {body}");
    body
}

/// POST bytes with a content type, returning the status and the JSON body.
pub fn post(url: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let mut response = agent()
        .post(url)
        .header("Content-Type", content_type)
        .send(body)
        .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}
