//! Local multi-validator networks: `groundwork testnet` writes their homes, `groundwork devnet
//! --validators N` and `groundwork bench consensus` run them as child processes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use groundwork_node::config::NodeConfig;
use groundwork_node::home::{self, Home, InitOptions, InitReport, TestnetOptions};
use groundwork_node::keystore::Protection;

/// What a testnet's homes are made of.
pub(crate) struct NetworkSpec {
    /// Where the homes go.
    pub(crate) out: PathBuf,
    /// Chain id.
    pub(crate) chain_id: String,
    /// Validators.
    pub(crate) validators: usize,
    /// HTTP port of validator-0.
    pub(crate) http_port: u16,
    /// P2p port of validator-0.
    pub(crate) p2p_port: u16,
    /// Block interval.
    pub(crate) block_ms: u64,
    /// Name of the funded account key (plain, in validator-0's home).
    pub(crate) account_name: String,
    /// Also a faucet and a maker key (devnets).
    pub(crate) devnet_keys: bool,
}

/// Writes the homes of `spec` (see [`home::init_testnet`]).
pub(crate) fn write_testnet(spec: &NetworkSpec) -> anyhow::Result<InitReport> {
    let mut config = NodeConfig {
        moniker: "validator".into(),
        ..NodeConfig::default()
    };
    config.block.interval_ms = spec.block_ms;
    config.validate()?;
    home::init_testnet(
        &spec.out,
        TestnetOptions {
            first: InitOptions {
                chain_id: spec.chain_id.clone(),
                account_name: spec.account_name.clone(),
                account_protection: Protection::Plain,
                account_tokens: 1_000_000,
                faucet_tokens: spec.devnet_keys.then_some(1_000_000_000),
                config,
                genesis_time_ms: groundwork_node::now_ms(),
                decimals: groundwork_primitives::DEFAULT_DECIMALS,
                with_maker: spec.devnet_keys,
                with_oracle: spec.devnet_keys,
                params: if spec.devnet_keys {
                    crate::commands::devnet_params(spec.block_ms)?
                } else {
                    groundwork_app::genesis::GenesisParams::default()
                },
            },
            validators: spec.validators,
            http_port: spec.http_port,
            p2p_port: spec.p2p_port,
        },
    )
}

/// Validator processes started from one testnet folder; dropping them stops them.
pub(crate) struct Validators {
    children: Vec<Child>,
    /// Each validator's API URL, in order.
    pub(crate) urls: Vec<String>,
}

impl Validators {
    /// Starts `groundwork node --home OUT/validator-i` for every validator of `out`, logging
    /// to `OUT/validator-i/node.log`, and waits until every API answers.
    pub(crate) fn start(out: &Path, validators: usize, log: &str) -> anyhow::Result<Validators> {
        let exe = std::env::current_exe().context("cannot find this program to start nodes")?;
        let mut running = Validators {
            children: Vec::new(),
            urls: Vec::new(),
        };
        for i in 0..validators {
            let home = Home::new(home::validator_folder(out, i));
            let config = NodeConfig::load(&home.config_path())?;
            let log_path = home.root().join("node.log");
            let log_file = std::fs::File::create(&log_path)
                .with_context(|| format!("cannot create {}", log_path.display()))?;
            let child = Command::new(&exe)
                .arg("--log")
                .arg(log)
                .arg("node")
                .arg("--home")
                .arg(home.root())
                .env_remove("GROUNDWORK_HOME")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .with_context(|| format!("cannot start validator {i}"))?;
            running.children.push(child);
            running.urls.push(format!("http://{}", config.http.listen));
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for (i, url) in running.urls.clone().iter().enumerate() {
            loop {
                if crate::client::Client::new(url)
                    .get::<serde_json::Value>("/v1/status")
                    .is_ok()
                {
                    break;
                }
                if let Some(status) = running.children[i].try_wait()? {
                    bail!(
                        "validator {i} exited with {status}: see {}",
                        home::validator_folder(out, i).join("node.log").display()
                    );
                }
                if Instant::now() > deadline {
                    bail!("validator {i} did not answer at {url} within 60 s");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(running)
    }

    /// The index of a validator process that exited, if any.
    pub(crate) fn exited(&mut self) -> Option<usize> {
        self.children
            .iter_mut()
            .position(|child| matches!(child.try_wait(), Ok(Some(_))))
    }

    /// Asks every validator to stop (SIGTERM) and waits for them.
    pub(crate) fn stop(mut self) {
        self.stop_all();
    }

    fn stop_all(&mut self) {
        for child in &self.children {
            terminate(child.id());
        }
        for child in &mut self.children {
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }
}

impl Drop for Validators {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Sends SIGTERM (a clean stop) to `pid`.
fn terminate(pid: u32) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
    }
}

/// `groundwork devnet --validators N` with N > 1: a testnet in a temporary (or the given)
/// folder, one process per validator, the simulated fleet against validator-0, until Ctrl-C.
pub(crate) fn devnet(
    args: crate::DevnetArgs,
    output: crate::Output,
) -> anyhow::Result<std::process::ExitCode> {
    let validators = usize::from(args.validators);
    let (root, temporary) = match &args.home {
        Some(home) => (home.clone(), false),
        None => (
            std::env::temp_dir().join(format!(
                "groundwork-devnet-{}-{}",
                std::process::id(),
                groundwork_node::now_ms()
            )),
            true,
        ),
    };
    let result = run_devnet(&args, &root, validators, output);
    if temporary {
        let _ = std::fs::remove_dir_all(&root);
    }
    result
}

fn run_devnet(
    args: &crate::DevnetArgs,
    root: &Path,
    validators: usize,
    output: crate::Output,
) -> anyhow::Result<std::process::ExitCode> {
    let first = Home::new(home::validator_folder(root, 0));
    if !first.genesis_path().exists() {
        write_testnet(&NetworkSpec {
            out: root.to_path_buf(),
            chain_id: "groundwork-devnet".into(),
            validators,
            http_port: args.http.port(),
            p2p_port: args
                .http
                .port()
                .checked_add(100)
                .context("--http port too high")?,
            block_ms: args.block_ms,
            account_name: "dev".into(),
            devnet_keys: true,
        })?;
    }
    let log = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    // The validators take it as `--log`, which refuses a bad filter: say so once, here.
    crate::log_filter(&log).map_err(|e| anyhow::anyhow!("RUST_LOG={log:?} is {e}"))?;
    let mut running = Validators::start(root, validators, &log)?;
    let url = running.urls[0].clone();
    let dev = first
        .keystore()
        .show("dev")
        .context("the devnet home has no `dev` key")?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let fleet = if args.devices > 0 {
        let maker = first
            .keystore()
            .load("maker", None)
            .context("the devnet home has no `maker` key")?;
        let mut config = groundwork_agents::FleetConfig::new(
            url.clone(),
            args.devices,
            maker,
            groundwork_agents::OwnerFunding::Faucet {
                devices_per_owner: 25,
            },
        );
        config.seed = args.seed;
        let genesis = first.genesis()?;
        config.reports_params = genesis.params.reports.clone();
        config.devices_params = genesis.params.devices.clone();
        config.credits_params = genesis.params.credits.clone();
        let stop = stop.clone();
        Some(
            std::thread::Builder::new()
                .name("fleet".into())
                .spawn(move || match groundwork_agents::run_fleet(config, stop) {
                    Ok(report) => {
                        tracing::info!("the simulated fleet stopped\n{}", report.summary())
                    }
                    Err(error) => tracing::warn!(%error, "the simulated fleet stopped"),
                })?,
        )
    } else {
        None
    };
    // The genesis price oracle submits the devnet price from this process, as in a one-validator
    // devnet, so the fleet's payers can buy credits.
    let price_feed = match first.keystore().load("oracle", None) {
        Ok(key) => {
            let feed = groundwork_agents::PriceFeed::new(
                url.clone(),
                key,
                crate::commands::DEVNET_TOKEN_PRICE,
            );
            let stop = stop.clone();
            Some(
                std::thread::Builder::new()
                    .name("price-feed".into())
                    .spawn(move || {
                        if let Err(error) = groundwork_agents::run_price_feed(feed, stop) {
                            tracing::warn!(%error, "the devnet price feed stopped");
                        }
                    })?,
            )
        }
        Err(_) => None,
    };
    // Listening for Ctrl-C before saying how to stop (see `Shutdown`).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut shutdown = {
        let _context = runtime.enter();
        crate::commands::Shutdown::listen()
    };
    let root_text = root.display().to_string();
    let value = serde_json::json!({
        "url": url, "urls": running.urls, "chain_id": "groundwork-devnet", "home": root_text,
        "dev_address": dev.address.to_string(), "dev_key": "dev", "devices": args.devices,
        "validators": validators,
    });
    let homes: Vec<String> = (0..validators)
        .map(|i| {
            format!(
                "  validator-{i}  {}  (home {root_text}/validator-{i}, log node.log there)",
                running.urls[i]
            )
        })
        .collect();
    crate::commands::print(output, &value, || {
        format!(
            "\nGroundwork devnet is running: {validators} validators on Simplex consensus, one process each.\n\n{}\n\n  API       {url}/v1/status   (any validator accepts transactions; they are shared)\n  dev key   \"dev\" = {} in {root_text}/validator-0 (unencrypted, 1,000,000 tokens)\n  devices   {} simulated devices report to validator-0\n\nPress Ctrl-C to stop them all.\n",
            homes.join("\n"),
            dev.address,
            args.devices
        )
    });
    let failed = runtime.block_on(async {
        let mut check = tokio::time::interval(Duration::from_millis(500));
        let signal = shutdown.received();
        tokio::pin!(signal);
        loop {
            tokio::select! {
                _ = &mut signal => return None,
                _ = check.tick() => {
                    if let Some(i) = running.exited() {
                        return Some(i);
                    }
                }
            }
        }
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for thread in [fleet, price_feed].into_iter().flatten() {
        let _ = thread.join();
    }
    running.stop();
    if let Some(i) = failed {
        bail!(
            "validator {i} exited: see {}",
            home::validator_folder(root, i).join("node.log").display()
        );
    }
    Ok(std::process::ExitCode::SUCCESS)
}
