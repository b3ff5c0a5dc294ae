//! What each command does.

use std::io::{IsTerminal, Read as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use groundwork_app::tx;
use groundwork_node::config::NodeConfig;
use groundwork_node::home::{self, Home, InitOptions};
use groundwork_node::keystore::{KdfParams, Keystore, Protection};
use groundwork_node::{Node, NodeOptions};
use groundwork_primitives::{Address, Amount, SigningKey};
use serde_json::{Value, json};

use crate::client::Client;
use groundwork_app::genesis::GenesisParams;
use groundwork_app::modules::reports::params::ReportsParams;
use groundwork_app::modules::reports::sensors::HeartbeatParams;
use groundwork_app::modules::rewards::params::{Preset, RewardsParams};

use crate::{
    BenchCommand, Cli, Command, DeviceCommand, DevnetArgs, HomeArg, InitArgs, KeysCommand, NodeArg,
    Output, QueryCommand, TestnetArgs, TxCommand,
};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let output = cli.output;
    match cli.command {
        Command::Init(args) => init(args, output),
        Command::Node { home, http } => {
            init_logging(cli.log.as_deref(), "info");
            run_node(resolve_home(&home)?, http, None, None)
        }
        Command::Devnet(args) => {
            init_logging(cli.log.as_deref(), "info");
            devnet(args, output)
        }
        Command::Testnet(args) => testnet(args, output),
        Command::Keys { action, home } => keys(action, &home, output),
        Command::Tx { action } => transaction(action, output),
        Command::Query { what } => query(what, output),
        Command::Device { action } => device(action, output),
        Command::Bench { what } => bench(what, output),
        Command::Sim { action } => {
            groundwork_sim::cli::run(action, output == Output::Json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Agents {
            action: crate::AgentsCommand::Fleet(args),
        } => {
            init_logging(cli.log.as_deref(), "info");
            agents_fleet(args, output)
        }
        Command::Storage { action } => {
            init_logging(cli.log.as_deref(), "warn");
            crate::storage::storage(action, output)
        }
        Command::Provider { action } => {
            init_logging(cli.log.as_deref(), "info");
            crate::storage::provider(action, output)
        }
    }
}

fn init_logging(flag: Option<&str>, default: &str) {
    let filter = flag
        .map(str::to_string)
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| default.to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

pub(crate) fn resolve_home(arg: &HomeArg) -> anyhow::Result<PathBuf> {
    if let Some(home) = &arg.home {
        return Ok(home.clone());
    }
    let user_home = std::env::var_os("HOME").context("no --home given and $HOME is not set")?;
    Ok(PathBuf::from(user_home).join(".groundwork"))
}

pub(crate) fn print(output: Output, value: &Value, text: impl FnOnce() -> String) {
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        ),
        Output::Text => println!("{}", text()),
    }
}

/// Prints a benchmark's (or any) report: its JSON with `--output json`, else its text form.
fn print_report(
    output: Output,
    report: &(impl serde::Serialize + std::fmt::Display),
) -> anyhow::Result<()> {
    print(output, &serde_json::to_value(report)?, || {
        report.to_string()
    });
    Ok(())
}

/// The passphrase from GROUNDWORK_PASSPHRASE, else a prompt (twice when `confirm`).
fn passphrase(prompt: &str, confirm: bool) -> anyhow::Result<String> {
    if let Ok(value) = std::env::var("GROUNDWORK_PASSPHRASE") {
        return Ok(value);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "a passphrase is needed: set GROUNDWORK_PASSPHRASE, or run in a terminal to be asked (or use --plain on a devnet)"
        );
    }
    let first = rpassword::prompt_password(prompt)?;
    if confirm {
        let second = rpassword::prompt_password("Repeat the passphrase: ")?;
        if first != second {
            bail!("the two passphrases differ");
        }
    }
    if first.len() < 8 {
        bail!("choose a passphrase of at least 8 characters");
    }
    Ok(first)
}

pub(crate) fn load_key(keys: &Keystore, name: &str) -> anyhow::Result<SigningKey> {
    let passphrase = if keys.is_encrypted(name)? {
        Some(passphrase(
            &format!("Passphrase for key {name:?}: "),
            false,
        )?)
    } else {
        None
    };
    Ok(keys.load(name, passphrase.as_deref())?)
}

// ---------------------------------------------------------------------------------------------

fn init(args: InitArgs, output: Output) -> anyhow::Result<ExitCode> {
    let home = Home::new(resolve_home(&args.home)?);
    let mut config = NodeConfig::default();
    if let Some(http) = args.http {
        config.http.listen = http;
    }
    if let Some(ms) = args.block_ms {
        config.block.interval_ms = ms;
    }
    if let Some(p2p) = args.p2p {
        config.p2p.listen = p2p;
    }
    config.validate()?;
    let preset = Preset::parse(&args.preset).with_context(|| {
        format!(
            "unknown preset {:?}: use wireless, storage or sensors",
            args.preset
        )
    })?;
    let params = GenesisParams {
        rewards: RewardsParams::preset(preset, args.decimals).map_err(anyhow::Error::msg)?,
        ..GenesisParams::default()
    };
    let secret;
    let protection = if args.plain_key {
        Protection::Plain
    } else {
        secret = passphrase(&format!("Passphrase to encrypt key {:?}: ", args.key), true)?;
        Protection::Passphrase(&secret, KdfParams::DEFAULT)
    };
    let report = home::init(
        &home,
        InitOptions {
            chain_id: args.chain_id,
            account_name: args.key,
            account_protection: protection,
            account_tokens: args.tokens,
            faucet_tokens: args.faucet.then_some(1_000_000_000),
            config,
            genesis_time_ms: groundwork_node::now_ms(),
            decimals: args.decimals,
            with_maker: args.maker,
            with_oracle: args.oracle,
            params,
        },
    )?;
    print(output, &serde_json::to_value(&report)?, || {
        format!(
            "Initialised chain {} in {} (tokenomics preset {})\n  validator key: {}\n  funded account {:?}: {}\n\nStart it with: groundwork node --home {}",
            report.chain_id,
            report.home.display(),
            preset.name(),
            report.validator_public_key,
            report.account_name,
            report.account_address,
            report.home.display()
        )
    });
    Ok(ExitCode::SUCCESS)
}

/// Runs a node until a signal (or a consensus failure): `banner` once its API listens,
/// `before_stop` after the signal and before the node stops (so what talks to the node, a
/// devnet's fleet and storage providers, stops first).
fn run_node(
    home: PathBuf,
    http: Option<std::net::SocketAddr>,
    banner: Option<Box<dyn FnOnce(std::net::SocketAddr) + Send>>,
    before_stop: Option<Box<dyn FnOnce() + Send>>,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut shutdown = Shutdown::listen();
        let node = Node::start(NodeOptions {
            home,
            http,
            block_interval_ms: None,
        })
        .await?;
        if let Some(banner) = banner {
            banner(node.addr());
        }
        let mut check = tokio::time::interval(std::time::Duration::from_millis(500));
        // One listener for the whole run, there before the node answers anyone: a signal
        // arriving between two listeners is lost, and one before the first kills the process.
        let signal = shutdown.received();
        tokio::pin!(signal);
        loop {
            tokio::select! {
                _ = &mut signal => {
                    tracing::info!("stopping");
                    break;
                }
                _ = check.tick() => {
                    if node.consensus_failed() {
                        break;
                    }
                }
            }
        }
        if let Some(before_stop) = before_stop {
            before_stop();
        }
        node.shutdown().await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// SIGINT (Ctrl-C) or SIGTERM, listened for from the moment [`Shutdown::listen`] returns.
///
/// Listeners must exist before a process announces itself ready: tokio installs a signal's
/// handler only when it starts listening, and until then SIGTERM keeps its default action and
/// kills the process outright, skipping the clean stop (a test that stopped a node right after
/// its first answer hit exactly that).
pub(crate) struct Shutdown {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Shutdown {
    /// Starts listening (call it inside a tokio runtime, before the work it guards starts).
    pub(crate) fn listen() -> Shutdown {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Shutdown {
                signals: signal(SignalKind::interrupt())
                    .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                    .ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Shutdown {}
        }
    }

    /// Waits for the first signal.
    pub(crate) async fn received(&mut self) {
        #[cfg(unix)]
        {
            match &mut self.signals {
                Some((int, term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                None => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The token price the devnet's oracle reports: $1.00 per token, in micro-dollars.
pub(crate) const DEVNET_TOKEN_PRICE: u64 = 1_000_000;
/// Devnet epochs last about this long, so a few are paid within a couple of minutes.
const DEVNET_EPOCH_MS: u64 = 30_000;
/// Devnet heartbeats count at most this often (the simulated fleet beats a little slower).
const DEVNET_HEARTBEAT_MS: u64 = 5_000;
/// Heartbeats a devnet device needs per epoch for the uptime pool: about 4 fit in an epoch at
/// the fleet's cadence (a 10% margin plus a second over the floor).
const DEVNET_MIN_HEARTBEATS: u32 = 3;

/// The devnet's module parameters: ~30 s epochs whatever the block interval, heartbeats every
/// few seconds, and rewards for hotspots and sensors.
pub(crate) fn devnet_params(block_ms: u64) -> anyhow::Result<GenesisParams> {
    Ok(GenesisParams {
        reports: ReportsParams {
            epoch_blocks: (DEVNET_EPOCH_MS / block_ms.max(1)).max(10),
            heartbeat: HeartbeatParams {
                min_interval_ms: DEVNET_HEARTBEAT_MS,
            },
            ..ReportsParams::default()
        },
        rewards: RewardsParams::devnet(
            groundwork_primitives::DEFAULT_DECIMALS,
            DEVNET_MIN_HEARTBEATS,
        )
        .map_err(anyhow::Error::msg)?,
        ..GenesisParams::default()
    })
}

fn devnet(args: DevnetArgs, output: Output) -> anyhow::Result<ExitCode> {
    if args.validators > 1 {
        return crate::network::devnet(args, output);
    }
    let (root, temporary) = match args.home {
        Some(home) => (home, false),
        None => {
            let stamp = groundwork_node::now_ms();
            (
                std::env::temp_dir()
                    .join(format!("groundwork-devnet-{}-{stamp}", std::process::id())),
                true,
            )
        }
    };
    let home = Home::new(&root);
    if !home.genesis_path().exists() {
        let mut config = NodeConfig {
            moniker: "devnet-validator".into(),
            ..NodeConfig::default()
        };
        config.http.listen = args.http;
        // Peers (none in a devnet of one) on the HTTP port plus 100, as in a multi-validator devnet.
        config.p2p.listen =
            std::net::SocketAddr::new(args.http.ip(), args.http.port().saturating_add(100));
        config.block.interval_ms = args.block_ms;
        home::init(
            &home,
            InitOptions {
                chain_id: "groundwork-devnet".into(),
                account_name: "dev".into(),
                account_protection: Protection::Plain,
                account_tokens: 1_000_000,
                faucet_tokens: Some(1_000_000_000),
                config,
                genesis_time_ms: groundwork_node::now_ms(),
                decimals: groundwork_primitives::DEFAULT_DECIMALS,
                with_maker: true,
                with_oracle: true,
                params: devnet_params(args.block_ms)?,
            },
        )?;
    }
    let dev = home
        .keystore()
        .show("dev")
        .context("the devnet home has no `dev` key")?;
    let home_text = root.display().to_string();

    // The simulated fleet starts once the node answers, and stops before the node does.
    let fleet_stop = Arc::new(AtomicBool::new(false));
    let fleet_thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>> = Arc::default();
    let fleet = if args.devices > 0 {
        let maker = home.keystore().load("maker", None).context(
            "the devnet home has no `maker` key (it predates device support: use a fresh --home)",
        )?;
        let mut config = groundwork_agents::FleetConfig::new(
            String::new(),
            args.devices,
            maker,
            groundwork_agents::OwnerFunding::Faucet {
                devices_per_owner: 25,
            },
        );
        config.seed = args.seed;
        // A reading every few seconds, so sensors earn from the sensor-data pool in every
        // ~30 s epoch (the fleet's default is one a minute).
        config.cadences.sensor = std::time::Duration::from_secs(5);
        let genesis = home.genesis()?;
        config.reports_params = genesis.params.reports.clone();
        config.devices_params = genesis.params.devices.clone();
        config.credits_params = genesis.params.credits.clone();
        Some(config)
    } else {
        None
    };
    // The genesis price oracle submits a fixed devnet price every minute from this process, so
    // credits can always be minted (prices go stale after the chain's max_price_age_ms).
    let oracle_key = home.keystore().load("oracle", None).ok();
    let oracle_thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>> = Arc::default();
    let registration_thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>> = Arc::default();
    let devices = args.devices;
    // Storage providers on loopback, listed where `groundwork storage … --home` finds them.
    let storage_providers =
        crate::storage::devnet_providers(&root, args.providers, "groundwork-devnet")?.map(Arc::new);
    let storage_text = crate::storage::devnet_banner(&root, storage_providers.as_deref());
    let storage_urls: Vec<String> = storage_providers
        .as_ref()
        .map(|group| group.urls().to_vec())
        .unwrap_or_default();
    let storage_maker = match &storage_providers {
        Some(_) => Some(home.keystore().load("maker", None).context(
            "the devnet home has no `maker` key (it predates device support: use a fresh --home)",
        )?),
        None => None,
    };
    let storage_group = storage_providers.clone();
    let (stop, slot) = (fleet_stop.clone(), fleet_thread.clone());
    let (oracle_stop, oracle_slot) = (fleet_stop.clone(), oracle_thread.clone());
    let (registration_stop, registration_slot) = (fleet_stop.clone(), registration_thread.clone());
    let banner = Box::new(move |addr: std::net::SocketAddr| {
        let url = format!("http://{addr}");
        if let Some(key) = oracle_key {
            let feed = groundwork_agents::PriceFeed::new(url.clone(), key, DEVNET_TOKEN_PRICE);
            let spawned = std::thread::Builder::new()
                .name("price-feed".into())
                .spawn(move || {
                    if let Err(error) = groundwork_agents::run_price_feed(feed, oracle_stop) {
                        tracing::warn!(%error, "the devnet price feed stopped");
                    }
                });
            if let (Ok(handle), Ok(mut slot)) = (spawned, oracle_slot.lock()) {
                *slot = Some(handle);
            }
        }
        if let (Some(group), Some(maker)) = (storage_group, storage_maker) {
            let handle = crate::storage::register_devnet_providers(
                group,
                url.clone(),
                maker,
                registration_stop,
            );
            if let (Some(handle), Ok(mut slot)) = (handle, registration_slot.lock()) {
                *slot = Some(handle);
            }
        }
        if let Some(mut config) = fleet {
            config.node_url = url.clone();
            let spawned = std::thread::Builder::new()
                .name("fleet".into())
                .spawn(move || match groundwork_agents::run_fleet(config, stop) {
                    Ok(report) => {
                        tracing::info!("the simulated fleet stopped\n{}", report.summary())
                    }
                    Err(error) => tracing::warn!(%error, "the simulated fleet stopped"),
                });
            if let (Ok(handle), Ok(mut slot)) = (spawned, slot.lock()) {
                *slot = Some(handle);
            }
        }
        let fleet_text = if devices > 0 {
            format!(
                "Simulated fleet: {devices} devices around Lisbon (hotspots and sensors, including a location liar, a witness ring and a replayer) onboarding now:\n  devices   {url}/v1/devices\n  verdicts  {url}/v1/devices/<gwd1…>/verdicts\n  rewards   {url}/v1/epochs/latest   (epochs of ~30 s; per device: groundwork device rewards <gwd1…> --node {url})\n\n"
            )
        } else {
            String::new()
        };
        let value = json!({"url": url, "dashboard": format!("{url}/"), "chain_id": "groundwork-devnet", "home": home_text, "dev_address": dev.address.to_string(), "dev_key": "dev", "devices": devices, "storage_providers": storage_urls});
        print(output, &value, || {
            format!(
                "\nGroundwork devnet is running.\n\n  Dashboard {url}/   (open it in a browser)\n  API       {url}/v1/status   (OpenAPI: {url}/v1/openapi.json, metrics: {url}/metrics)\n  chain     groundwork-devnet\n  home      {home_text}\n  dev key   \"dev\" = {} (unencrypted, 1,000,000 tokens)\n\n{fleet_text}{storage_text}Try, in another terminal:\n  groundwork keys new alice --plain --home {home_text}\n  groundwork tx transfer --home {home_text} --node {url} --from dev --to <alice's address> --amount 12.5 --wait\n  groundwork query account <address> --node {url} --prove\n  curl -s -X POST {url}/v1/faucet -H 'content-type: application/json' -d '{{\"address\":\"<address>\",\"amount\":\"50\"}}'\n  groundwork tx mint-credits --home {home_text} --node {url} --from dev --amount 1 --wait   (the oracle reports $1.00 per token: {url}/v1/oracle)\n  groundwork query credits dev --home {home_text} --node {url}\n\nPress Ctrl-C to stop.\n",
                dev.address
            )
        });
    });
    let stop_agents = Box::new(move || {
        fleet_stop.store(true, Ordering::Relaxed);
        for thread in [&fleet_thread, &oracle_thread, &registration_thread] {
            if let Ok(mut slot) = thread.lock()
                && let Some(handle) = slot.take()
            {
                let _ = handle.join();
            }
        }
        drop(storage_providers);
    });
    let result = run_node(
        root.clone(),
        Some(args.http),
        Some(banner),
        Some(stop_agents),
    );
    if temporary {
        let _ = std::fs::remove_dir_all(&root);
    }
    result
}

fn testnet(args: TestnetArgs, output: Output) -> anyhow::Result<ExitCode> {
    let validators = usize::from(args.validators);
    let report = crate::network::write_testnet(&crate::network::NetworkSpec {
        out: args.out.clone(),
        chain_id: args.chain_id,
        validators,
        http_port: args.http_port,
        p2p_port: args.p2p_port,
        block_ms: args.block_ms,
        account_name: "operator".into(),
        devnet_keys: false,
    })?;
    let out = args.out.display().to_string();
    let value = json!({
        "out": out, "chain_id": report.chain_id, "validators": validators,
        "homes": (0..validators).map(|i| format!("{out}/validator-{i}")).collect::<Vec<_>>(),
        "http": (0..validators).map(|i| format!("http://127.0.0.1:{}", usize::from(args.http_port) + i)).collect::<Vec<_>>(),
        "operator_address": report.account_address.to_string(),
    });
    print(output, &value, || {
        let homes: Vec<String> = (0..validators)
            .map(|i| {
                format!(
                    "  groundwork node --home {out}/validator-{i}    # API http://127.0.0.1:{}, p2p port {}",
                    usize::from(args.http_port) + i,
                    usize::from(args.p2p_port) + i
                )
            })
            .collect();
        format!(
            "Wrote {validators} validator homes for chain {} in {out} (one genesis; peers on loopback).
The funded key \"operator\" ({}) is in validator-0's home.

Start each validator (they finalize once more than two thirds are up):
{}",
            report.chain_id,
            report.account_address,
            homes.join("\n")
        )
    });
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------

fn keys(action: KeysCommand, home: &HomeArg, output: Output) -> anyhow::Result<ExitCode> {
    let store = Home::new(resolve_home(home)?).keystore();
    let info_text = |i: &groundwork_node::keystore::KeyInfo| {
        format!(
            "{}\t{}\t{}",
            i.name,
            i.address,
            if i.encrypted {
                "encrypted"
            } else {
                "UNENCRYPTED"
            }
        )
    };
    match action {
        KeysCommand::New { name, plain } => {
            let key = SigningKey::generate();
            let info = add_key(&store, &name, &key, plain)?;
            print(output, &serde_json::to_value(&info)?, || {
                format!("Created key {}: {}", info.name, info.address)
            });
        }
        KeysCommand::List => {
            let list = store.list()?;
            print(output, &serde_json::to_value(&list)?, || {
                if list.is_empty() {
                    "No keys yet: `groundwork keys new NAME`".to_string()
                } else {
                    list.iter().map(info_text).collect::<Vec<_>>().join("\n")
                }
            });
        }
        KeysCommand::Show { name } => {
            let info = store.show(&name)?;
            print(output, &serde_json::to_value(&info)?, || {
                format!(
                    "name: {}\naddress: {}\npublic key: ed25519:{}\nencrypted: {}",
                    info.name, info.address, info.public_key, info.encrypted
                )
            });
        }
        KeysCommand::Import {
            name,
            seed_file,
            plain,
        } => {
            let text = match seed_file {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
                None => {
                    let mut text = String::new();
                    std::io::stdin().read_to_string(&mut text)?;
                    text
                }
            };
            let seed = hex::decode(text.trim()).context("the seed must be 64 hex characters")?;
            let key = SigningKey::from_seed_slice(&seed)
                .context("the seed must be 32 bytes (64 hex characters)")?;
            let info = add_key(&store, &name, &key, plain)?;
            print(output, &serde_json::to_value(&info)?, || {
                format!("Imported key {}: {}", info.name, info.address)
            });
        }
        KeysCommand::Export { name } => {
            let key = load_key(&store, &name)?;
            let seed = hex::encode(key.seed());
            print(output, &json!({"name": name, "seed": seed}), || {
                seed.clone()
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn add_key(
    store: &Keystore,
    name: &str,
    key: &SigningKey,
    plain: bool,
) -> anyhow::Result<groundwork_node::keystore::KeyInfo> {
    if plain {
        return Ok(store.add(name, key, Protection::Plain)?);
    }
    let secret = passphrase(&format!("Passphrase to encrypt key {name:?}: "), true)?;
    Ok(store.add(
        name,
        key,
        Protection::Passphrase(&secret, KdfParams::DEFAULT),
    )?)
}

// ---------------------------------------------------------------------------------------------

fn node_url(home: &HomeArg, node: &NodeArg) -> String {
    if let Some(url) = &node.node {
        return url.clone();
    }
    if let Ok(root) = resolve_home(home)
        && let Ok(config) = NodeConfig::load(&Home::new(root).config_path())
    {
        return format!("http://{}", config.http.listen);
    }
    "http://127.0.0.1:26657".to_string()
}

/// What every `groundwork tx …` command shares: who signs, the fee, and where to send it.
struct TxSend<'a> {
    from: &'a str,
    fee: Option<String>,
    memo: &'a str,
    wait: bool,
    home: &'a HomeArg,
    node: &'a NodeArg,
}

/// The chain facts a transaction needs from the node.
struct ChainFacts {
    chain_id: String,
    decimals: u8,
}

impl TxSend<'_> {
    fn client(&self) -> Client {
        Client::new(&node_url(self.home, self.node))
    }

    fn chain_facts(&self) -> anyhow::Result<ChainFacts> {
        let status: Value = self.client().get("/v1/status")?;
        Ok(ChainFacts {
            chain_id: status["chain_id"]
                .as_str()
                .context("the node's status has no chain id")?
                .to_string(),
            decimals: status["token_decimals"].as_u64().unwrap_or(8) as u8,
        })
    }

    /// Signs `messages` with the sender's next nonce, submits them and prints the outcome.
    fn send(
        self,
        chain: &ChainFacts,
        messages: Vec<groundwork_proto::v1::Message>,
        output: Output,
    ) -> anyhow::Result<ExitCode> {
        let client = self.client();
        let keys = Home::new(resolve_home(self.home)?).keystore();
        let key = load_key(&keys, self.from)?;
        let fee = match &self.fee {
            Some(fee) => Amount::parse_base_units(fee)
                .with_context(|| format!("--fee {fee:?} (base units)"))?,
            None => groundwork_app::modules::accounts::params::DEFAULT_MIN_FEE,
        };
        let sender = Address::from_public_key(&key.public_key());
        let account: Value = client.get(&format!("/v1/accounts/{sender}"))?;
        let nonce = account["next_nonce"]
            .as_u64()
            .context("the node's account answer has no next_nonce")?;
        let bytes = tx::build_signed_tx(&key, &chain.chain_id, nonce, fee, messages, self.memo);
        let path = if self.wait {
            "/v1/txs?wait=true"
        } else {
            "/v1/txs"
        };
        let answer: Value = client.post_bytes(path, "application/x-protobuf", &bytes)?;
        print(output, &answer, || {
            let mut text = format!(
                "transaction {}: {}",
                answer["hash"].as_str().unwrap_or(""),
                answer["status"].as_str().unwrap_or("")
            );
            if let Some(height) = answer["height"].as_u64() {
                text += &format!(" in block {height}");
            }
            match answer["code"].as_u64() {
                Some(0) => text += " (success)",
                Some(code) => {
                    text += &format!(
                        " (failed, code {code}: {})",
                        answer["error"].as_str().unwrap_or("")
                    )
                }
                None => {}
            }
            text
        });
        let failed = answer["code"].as_u64().is_some_and(|c| c != 0);
        Ok(if failed {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        })
    }
}

fn transaction(action: TxCommand, output: Output) -> anyhow::Result<ExitCode> {
    match action {
        TxCommand::Transfer {
            from,
            to,
            amount,
            fee,
            memo,
            wait,
            home,
            node,
        } => {
            let send = TxSend {
                from: &from,
                fee,
                memo: &memo,
                wait,
                home: &home,
                node: &node,
            };
            let to: Address = to
                .parse()
                .with_context(|| format!("--to {to:?} is not an address"))?;
            let chain = send.chain_facts()?;
            let amount = Amount::parse(&amount, chain.decimals)
                .with_context(|| format!("--amount {amount:?}"))?;
            send.send(&chain, vec![tx::transfer_message(&to, amount)], output)
        }
        TxCommand::MintCredits {
            from,
            amount,
            beneficiary,
            min_credits,
            fee,
            wait,
            home,
            node,
        } => {
            let send = TxSend {
                from: &from,
                fee,
                memo: "",
                wait,
                home: &home,
                node: &node,
            };
            let beneficiary: Option<Address> = beneficiary
                .map(|b| {
                    b.parse()
                        .with_context(|| format!("--for {b:?} is not an address"))
                })
                .transpose()?;
            let chain = send.chain_facts()?;
            let amount = Amount::parse(&amount, chain.decimals)
                .with_context(|| format!("--amount {amount:?}"))?;
            let message = tx::mint_credits_message(amount, beneficiary.as_ref(), min_credits);
            send.send(&chain, vec![message], output)
        }
        TxCommand::SubmitPrice {
            from,
            price,
            fee,
            wait,
            home,
            node,
        } => {
            // A fiat price with at most six decimals is an integer number of micro-fiat.
            let micro = Amount::parse(&price, 6)
                .with_context(|| format!("--price {price:?} (fiat per token, e.g. 1.25)"))?;
            let micro = u64::try_from(micro.0)
                .with_context(|| format!("--price {price:?} is too large"))?;
            if micro == 0 {
                bail!("--price must be more than zero");
            }
            let send = TxSend {
                from: &from,
                fee,
                memo: "",
                wait,
                home: &home,
                node: &node,
            };
            let chain = send.chain_facts()?;
            send.send(&chain, vec![tx::submit_price_message(micro)], output)
        }
    }
}

/// A `gw1…` address, or the address of a key in the home.
fn address_or_key(text: &str, home: &HomeArg) -> anyhow::Result<Address> {
    match text.parse::<Address>() {
        Ok(address) => Ok(address),
        Err(parse_error) => match Home::new(resolve_home(home)?).keystore().show(text) {
            Ok(info) => Ok(info.address),
            Err(_) => bail!("{text:?} is neither an address ({parse_error}) nor a local key name"),
        },
    }
}

fn query(what: QueryCommand, output: Output) -> anyhow::Result<ExitCode> {
    match what {
        QueryCommand::Status { home, node } => {
            let value: Value = Client::new(&node_url(&home, &node)).get("/v1/status")?;
            print(output, &value, || {
                format!(
                    "chain {} at height {}\nlatest block {}\napp hash {}\nmempool {} transactions",
                    value["chain_id"].as_str().unwrap_or(""),
                    value["height"],
                    value["latest_block_hash"].as_str().unwrap_or(""),
                    value["app_hash"].as_str().unwrap_or(""),
                    value["mempool_txs"]
                )
            });
        }
        QueryCommand::Account {
            address,
            prove,
            home,
            node,
        } => {
            let address = match address.parse::<Address>() {
                Ok(address) => address,
                Err(parse_error) => match Home::new(resolve_home(&home)?).keystore().show(&address)
                {
                    Ok(info) => info.address,
                    Err(_) => bail!(
                        "{address:?} is neither an address ({parse_error}) nor a local key name"
                    ),
                },
            };
            let client = Client::new(&node_url(&home, &node));
            let path = if prove {
                format!("/v1/accounts/{address}?prove=true")
            } else {
                format!("/v1/accounts/{address}")
            };
            let mut value: Value = client.get(&path)?;
            if prove {
                let verified = verify_account_proof(&address, &value);
                value["proof_verified"] = json!(verified.is_ok());
                if let Err(reason) = &verified {
                    value["proof_error"] = json!(reason);
                }
            }
            print(output, &value, || {
                let mut text = format!(
                    "{}\nbalance {} ({} base units)\nnonce {}\nat height {}",
                    value["address"].as_str().unwrap_or(""),
                    value["balance_tokens"].as_str().unwrap_or(""),
                    value["balance"].as_str().unwrap_or(""),
                    value["nonce"],
                    value["height"]
                );
                if prove {
                    text += &format!(
                        "\nproof against app hash {}: {}",
                        value["proof"]["root"].as_str().unwrap_or(""),
                        if value["proof_verified"] == json!(true) {
                            "verified".to_string()
                        } else {
                            format!("FAILED: {}", value["proof_error"])
                        }
                    );
                }
                text
            });
        }
        QueryCommand::Credits {
            address,
            home,
            node,
        } => {
            let address = address_or_key(&address, &home)?;
            let value: Value =
                Client::new(&node_url(&home, &node)).get(&format!("/v1/credits/{address}"))?;
            print(output, &value, || {
                format!(
                    "{}\ncredits {} (worth {} micro-fiat)\nat height {}",
                    value["address"].as_str().unwrap_or(""),
                    value["credits"],
                    value["micro_fiat_value"].as_str().unwrap_or(""),
                    value["height"]
                )
            });
        }
        QueryCommand::Oracle { home, node } => {
            let value: Value = Client::new(&node_url(&home, &node)).get("/v1/oracle")?;
            print(output, &value, || {
                let mut text = match value["median_micro_fiat_per_token"].as_u64() {
                    Some(median) => format!("median price {median} micro-fiat per token"),
                    None => format!("no price: {}", value["stale_reason"].as_str().unwrap_or("")),
                };
                text += &format!(
                    " at height {} (prices count for {} ms; {} fresh needed)",
                    value["height"], value["max_price_age_ms"], value["min_fresh_prices"]
                );
                for s in value["submissions"].as_array().into_iter().flatten() {
                    text += &format!(
                        "\n  {} {} micro-fiat, {} ms old{}",
                        s["oracle"].as_str().unwrap_or(""),
                        s["micro_fiat_per_token"],
                        s["age_ms"],
                        if s["fresh"] == json!(true) {
                            ""
                        } else {
                            " (stale)"
                        }
                    );
                }
                text
            });
        }
        QueryCommand::Block { height, home, node } => {
            let value: Value =
                Client::new(&node_url(&home, &node)).get(&format!("/v1/blocks/{height}"))?;
            print(output, &value, || {
                let txs = value["txs"].as_array().map(Vec::len).unwrap_or(0);
                format!(
                    "block {} ({})\ntime {} ms\nparent {}\napp hash {}\n{txs} transactions",
                    value["height"],
                    value["hash"].as_str().unwrap_or(""),
                    value["time_ms"],
                    value["parent_hash"].as_str().unwrap_or(""),
                    value["app_hash"].as_str().unwrap_or("")
                )
            });
        }
        QueryCommand::Tx { hash, home, node } => {
            let value: Value =
                Client::new(&node_url(&home, &node)).get(&format!("/v1/txs/{hash}"))?;
            print(output, &value, || {
                serde_json::to_string_pretty(&value).unwrap_or_default()
            });
        }
        QueryCommand::Devices {
            owner,
            kind,
            status,
            cell,
            limit,
            cursor,
            home,
            node,
        } => {
            let mut query = format!("/v1/devices?limit={limit}");
            for (name, value) in [
                ("owner", owner),
                ("kind", kind),
                ("status", status),
                ("cell", cell),
                ("cursor", cursor),
            ] {
                if let Some(value) = value {
                    query += &format!("&{name}={value}");
                }
            }
            let value: Value = Client::new(&node_url(&home, &node)).get(&query)?;
            print(output, &value, || {
                let mut lines: Vec<String> = value["devices"]
                    .as_array()
                    .map(|devices| {
                        devices
                            .iter()
                            .map(|d| {
                                format!(
                                    "{}\t{}\t{}\towner {}\tcell {}",
                                    d["id"].as_str().unwrap_or(""),
                                    d["kind"].as_str().unwrap_or(""),
                                    d["status"].as_str().unwrap_or(""),
                                    d["owner"].as_str().unwrap_or(""),
                                    d["location"].as_str().unwrap_or("-")
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if lines.is_empty() {
                    lines.push("No devices match.".into());
                }
                if let Some(next) = value["next_cursor"].as_str() {
                    lines.push(format!("more: --cursor {next}"));
                }
                lines.join("\n")
            });
        }
        QueryCommand::Device {
            id,
            verdicts,
            epoch,
            home,
            node,
        } => {
            let client = Client::new(&node_url(&home, &node));
            let mut value: Value = client.get(&format!("/v1/devices/{id}"))?;
            if verdicts {
                let path = match epoch {
                    Some(epoch) => format!("/v1/devices/{id}/verdicts?epoch={epoch}"),
                    None => format!("/v1/devices/{id}/verdicts"),
                };
                value["verdicts"] = client.get(&path)?;
            }
            print(output, &value, || {
                let mut text = format!(
                    "{} ({}, {})\nowner {}\nmaker {}\nlocation {}\nstake {} base units\nlast report counter {}",
                    value["id"].as_str().unwrap_or(""),
                    value["kind"].as_str().unwrap_or(""),
                    value["status"].as_str().unwrap_or(""),
                    value["owner"].as_str().unwrap_or(""),
                    value["maker"].as_str().unwrap_or(""),
                    value["location"].as_str().unwrap_or("not asserted"),
                    value["stake"].as_str().unwrap_or(""),
                    value["last_report_counter"]
                );
                if let Some(list) = value["verdicts"]["verdicts"].as_array() {
                    text += &format!("\nepoch {} verdicts:", value["verdicts"]["epoch"]);
                    for v in list {
                        text += &format!(
                            "\n  block {:>6}  {:<13} #{:<6} {}",
                            v["height"],
                            v["kind"].as_str().unwrap_or(""),
                            v["counter"],
                            if v["code"] == 0 {
                                "valid".to_string()
                            } else {
                                format!(
                                    "INVALID ({}): {}",
                                    v["code"],
                                    v["reason"].as_str().unwrap_or("")
                                )
                            }
                        );
                    }
                }
                text
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks the proof the node returned against the app hash it named, locally.
fn verify_account_proof(address: &Address, value: &Value) -> Result<(), String> {
    let proof = &value["proof"];
    let root: groundwork_primitives::Hash = proof["root"]
        .as_str()
        .ok_or("no root")?
        .parse()
        .map_err(|e| format!("root: {e}"))?;
    let bytes =
        hex::decode(proof["proof"].as_str().ok_or("no proof bytes")?).map_err(|e| e.to_string())?;
    let stored = match proof["value"].as_str() {
        Some(hex_value) => Some(hex::decode(hex_value).map_err(|e| e.to_string())?),
        None => None,
    };
    let key = groundwork_app::modules::accounts::state::account_key(address);
    groundwork_state::verify_proof(&root, &key, stored.as_deref(), &bytes)?;
    // The proven bytes must also be what the node reported in plain words.
    if let Some(stored) = stored {
        let balance = u128::from_be_bytes(
            stored
                .get(..16)
                .and_then(|b| b.try_into().ok())
                .ok_or("short value")?,
        );
        if value["balance"].as_str() != Some(balance.to_string().as_str()) {
            return Err("the proven balance differs from the reported one".into());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------

fn bench(what: BenchCommand, output: Output) -> anyhow::Result<ExitCode> {
    match what {
        BenchCommand::Consensus(args) => {
            let report = crate::bench_consensus::run(&args)?;
            print_report(output, &report)?;
        }
        BenchCommand::Transfers {
            accounts,
            block_size,
            blocks,
        } => {
            let options = groundwork_node::bench::TransferBenchOptions {
                accounts,
                block_size,
                blocks,
            };
            let report = groundwork_node::bench::transfers(&options)?;
            print_report(output, &report)?;
        }
        BenchCommand::Reports {
            devices,
            block_size,
            blocks,
            no_journal,
            request_size,
        } => {
            let options = groundwork_node::bench::ReportBenchOptions {
                devices,
                block_size,
                blocks,
                journal: !no_journal,
                request_size,
            };
            let report = groundwork_node::bench::reports(&options)?;
            print_report(output, &report)?;
        }
        BenchCommand::Rewards {
            devices,
            devices_per_owner,
            runs,
        } => {
            let options = groundwork_node::bench::RewardsBenchOptions {
                devices,
                devices_per_owner,
                runs,
            };
            let report = groundwork_node::bench::rewards(&options)?;
            print_report(output, &report)?;
        }
        BenchCommand::Map { devices } => {
            let report = groundwork_node::dashboard::bench_map(devices)?;
            print_report(output, &report)?;
        }
        BenchCommand::Verify { count } => {
            let report = groundwork_node::bench::verify(count);
            print_report(output, &report)?;
        }
        BenchCommand::Storage(args) => return crate::storage::bench_storage(args, output),
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------

fn agents_fleet(args: crate::FleetArgs, output: Output) -> anyhow::Result<ExitCode> {
    use groundwork_agents::{FleetConfig, OwnerFunding};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let home = Home::new(resolve_home(&args.home)?);
    let keys = home.keystore();
    let maker = load_key(&keys, &args.maker).with_context(|| {
        format!("loading the maker key {:?}: it must be registered as a maker in the genesis (`groundwork init --maker` makes one)", args.maker)
    })?;
    let owner = match (&args.owner, args.faucet) {
        (Some(name), _) => OwnerFunding::Key(load_key(&keys, name)?),
        (None, true) => OwnerFunding::Faucet {
            devices_per_owner: 25,
        },
        (None, false) => bail!(
            "say who pays the devices' stakes: --owner NAME (a funded key in the home) or --faucet (devnets)"
        ),
    };
    let mut config = FleetConfig::new(node_url(&args.home, &args.node), args.devices, maker, owner);
    config.seed = args.seed;
    config.duration = args.duration.map(std::time::Duration::from_secs);
    // The chain's report and device parameters, when the home holds its genesis.
    if let Ok(genesis) = home.genesis() {
        config.reports_params = genesis.params.reports.clone();
        config.devices_params = genesis.params.devices.clone();
        config.credits_params = genesis.params.credits.clone();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Listening before the fleet starts (see `Shutdown`), then waiting on a thread of its own.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut shutdown = {
        let _context = runtime.enter();
        Shutdown::listen()
    };
    std::thread::spawn(move || {
        runtime.block_on(shutdown.received());
        flag.store(true, Ordering::Relaxed);
    });
    let report = groundwork_agents::run_fleet(config, stop)?;
    print(output, &serde_json::to_value(&report)?, || report.summary());
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------

fn device(action: DeviceCommand, output: Output) -> anyhow::Result<ExitCode> {
    match action {
        DeviceCommand::Rewards {
            id,
            epoch,
            limit,
            home,
            node,
        } => {
            let client = Client::new(&node_url(&home, &node));
            let path = match epoch {
                Some(epoch) => format!("/v1/devices/{id}/rewards?epoch={epoch}"),
                None => format!("/v1/devices/{id}/rewards?limit={limit}"),
            };
            let value: Value = client.get(&path)?;
            print(output, &value, || rewards_table(&value));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A device's rewards as a table per epoch, then the explanation in words.
fn rewards_table(value: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let mut out = format!("device {}", text(&value["device"]));
    let epochs = value["epochs"].as_array().cloned().unwrap_or_default();
    if epochs.is_empty() {
        out += "\nno rewards yet (a device is paid at the end of each epoch it reported in)";
    }
    for epoch in &epochs {
        out += &format!(
            "\n\nepoch {}: {} base units to {}  (reputation {}, score {})",
            epoch["epoch"],
            text(&epoch["total"]),
            text(&epoch["owner"]),
            text(&epoch["reputation"]),
            text(&epoch["reputation_score"]),
        );
        out += &format!(
            "\n  {:<14} {:>12} {:>8} {:>10} {:>14} {:>16} {:>14}  {}",
            "pool", "units", "density", "reputation", "weight", "pool weight", "amount", "note"
        );
        for line in epoch["lines"].as_array().cloned().unwrap_or_default() {
            out += &format!(
                "\n  {:<14} {:>12} {:>8} {:>10} {:>14} {:>16} {:>14}  {}",
                text(&line["pool"]),
                text(&line["units"]),
                text(&line["density_scale"]),
                text(&line["reputation"]),
                text(&line["weight"]),
                text(&line["pool_total_weight"]),
                text(&line["amount"]),
                line["ineligible"].as_str().unwrap_or(""),
            );
        }
        for sentence in epoch["explanation"].as_array().cloned().unwrap_or_default() {
            out += &format!("\n  · {}", text(&sentence));
        }
    }
    if let Some(before) = value["next_before"].as_u64() {
        out += &format!("\n\nolder epochs: add --epoch N, or ask the API with ?before={before}");
    }
    out
}
