//! `groundwork`: one binary for the whole network. `main` parses the command line and hands the
//! settings to `commands`; errors print once, with their causes, and set the exit code.

mod bench_consensus;
mod client;
mod commands;
mod network;
mod storage;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Groundwork: launch and run a decentralized physical infrastructure network.
#[derive(Debug, Parser)]
#[command(name = "groundwork", version, about, long_about = None)]
pub(crate) struct Cli {
    /// How to print results: `text` for people, `json` for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub(crate) output: Output,
    /// Log filter for the node (e.g. `info`, `debug`, `groundwork_node=debug`). Overrides RUST_LOG.
    #[arg(long, global = true, value_parser = log_filter)]
    pub(crate) log: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// A log filter as `--log` takes it, refused with the parser's reason when it does not parse
/// (tracing would otherwise drop the bad part without a word).
pub(crate) fn log_filter(filter: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(filter)
        .map(|_| filter.to_string())
        .map_err(|e| format!("not a log filter ({e}); e.g. `info` or `warn,groundwork_node=debug`"))
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// Readable text.
    Text,
    /// JSON.
    Json,
}

/// The home folder (`--home`, else `GROUNDWORK_HOME`, else `~/.groundwork`).
#[derive(Debug, Clone, Args)]
pub(crate) struct HomeArg {
    /// The node's home folder.
    #[arg(long, env = "GROUNDWORK_HOME", global = true)]
    pub(crate) home: Option<PathBuf>,
}

/// Which node to talk to.
#[derive(Debug, Clone, Args)]
pub(crate) struct NodeArg {
    /// The node's API URL (default: the home's configured address, else http://127.0.0.1:26657).
    #[arg(long, env = "GROUNDWORK_NODE", global = true)]
    pub(crate) node: Option<String>,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a home folder: config.toml, genesis.json, a validator key and a funded account.
    Init(InitArgs),
    /// Run a node from a home folder.
    Node {
        #[command(flatten)]
        home: HomeArg,
        /// Listen address of the HTTP API (overrides config.toml).
        #[arg(long)]
        http: Option<SocketAddr>,
    },
    /// Run a throwaway local network with a funded `dev` key and a faucet: the place to start.
    Devnet(DevnetArgs),
    /// Write the homes of a local multi-validator network (one shared genesis, loopback peers).
    Testnet(TestnetArgs),
    /// Manage keys.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
        #[command(flatten)]
        home: HomeArg,
    },
    /// Build, sign and submit transactions.
    Tx {
        #[command(subcommand)]
        action: TxCommand,
    },
    /// Devices: what they earned and why.
    Device {
        #[command(subcommand)]
        action: DeviceCommand,
    },
    /// Read the chain.
    Query {
        #[command(subcommand)]
        what: QueryCommand,
    },
    /// Measure throughput on this machine.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Simulate a network's tokenomics over years, or print an emission schedule.
    Sim {
        #[command(subcommand)]
        action: groundwork_sim::cli::SimCommand,
    },
    /// Run simulated devices against a node (load tests, demos).
    Agents {
        #[command(subcommand)]
        action: AgentsCommand,
    },
    /// Store files on the storage network and get them back.
    Storage {
        #[command(subcommand)]
        action: storage::StorageCommand,
    },
    /// Run provider software (a storage provider).
    Provider {
        #[command(subcommand)]
        action: storage::ProviderCommand,
    },
}

/// `groundwork device …`
#[derive(Debug, Subcommand)]
pub(crate) enum DeviceCommand {
    /// A device's rewards per epoch, pool by pool, with the counts and multipliers behind them.
    Rewards {
        /// The device id (gwd1…).
        id: String,
        /// Only this epoch (default: the most recent ones).
        #[arg(long)]
        epoch: Option<u64>,
        /// Without --epoch: how many recent epochs (1 to 100).
        #[arg(long, default_value_t = 5)]
        limit: usize,
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        node: NodeArg,
    },
}

/// `groundwork agents …`
#[derive(Debug, Subcommand)]
pub(crate) enum AgentsCommand {
    /// Onboard a fleet of simulated hotspots and sensors (a few of them cheaters) and report until
    /// Ctrl-C or --duration: heartbeats, beacons, witnesses, data receipts, sensor readings.
    Fleet(FleetArgs),
}

/// `groundwork agents fleet`
#[derive(Debug, Args)]
pub(crate) struct FleetArgs {
    /// Devices in the fleet (about 5 % of them cheat once there are 20 or more).
    #[arg(long, default_value_t = 200)]
    pub(crate) devices: usize,
    /// Seed of the device keys, places and behaviour (a new seed makes new devices).
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub(crate) duration: Option<u64>,
    /// Name of a funded key in the home that owns the devices and pays their stakes.
    #[arg(long, conflicts_with = "faucet")]
    pub(crate) owner: Option<String>,
    /// Fund fresh owner keys from the node's faucet instead (devnets).
    #[arg(long)]
    pub(crate) faucet: bool,
    /// Name of the maker key in the home (registered as a maker in the genesis).
    #[arg(long, default_value = "maker")]
    pub(crate) maker: String,
    #[command(flatten)]
    pub(crate) home: HomeArg,
    #[command(flatten)]
    pub(crate) node: NodeArg,
}

/// `groundwork init`
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    #[command(flatten)]
    pub(crate) home: HomeArg,
    /// The chain id (a-z, 0-9, '-', '.').
    #[arg(long)]
    pub(crate) chain_id: String,
    /// Name of the funded account's key.
    #[arg(long, default_value = "operator")]
    pub(crate) key: String,
    /// Its starting balance, in whole tokens.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) tokens: u64,
    /// Token decimals.
    #[arg(long, default_value_t = 8)]
    pub(crate) decimals: u8,
    /// Keep the account key unencrypted (devnets only).
    #[arg(long)]
    pub(crate) plain_key: bool,
    /// Also create a funded `faucet` key and enable POST /v1/faucet.
    #[arg(long)]
    pub(crate) faucet: bool,
    /// Also create a `maker` key registered as a hardware maker in the genesis (for testing devices).
    #[arg(long)]
    pub(crate) maker: bool,
    /// Also create a funded `oracle` key listed as the genesis price oracle (for minting credits:
    /// submit prices with `groundwork tx submit-price --from oracle`).
    #[arg(long)]
    pub(crate) oracle: bool,
    /// Listen address of the HTTP API to write in config.toml.
    #[arg(long)]
    pub(crate) http: Option<SocketAddr>,
    /// Target block interval in milliseconds to write in config.toml.
    #[arg(long)]
    pub(crate) block_ms: Option<u64>,
    /// Address to listen on for other validators, to write in config.toml.
    #[arg(long)]
    pub(crate) p2p: Option<SocketAddr>,
    /// Tokenomics preset for the genesis: wireless (HNT-style halving; uptime, coverage, data
    /// transfer), storage (Filecoin-style simple + baseline minting; storage first) or sensors
    /// (capped decay; sensor data first).
    #[arg(long, default_value = "wireless", value_parser = ["wireless", "storage", "sensors"])]
    pub(crate) preset: String,
}

/// `groundwork devnet`
#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// Home folder to use (kept). Without it, a temporary one is made and removed on exit.
    #[arg(long)]
    pub(crate) home: Option<PathBuf>,
    /// Listen address of the HTTP API.
    #[arg(long, default_value = "127.0.0.1:26657")]
    pub(crate) http: SocketAddr,
    /// Target block interval in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub(crate) block_ms: u64,
    /// Simulated devices to run against the devnet (hotspots and sensors around Lisbon, with a few
    /// cheaters); 0 runs none.
    #[arg(long, default_value_t = 200)]
    pub(crate) devices: usize,
    /// Seed of the simulated fleet.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Validators, each a separate `groundwork node` process (the API and the fleet use
    /// validator-0; the others take the following HTTP ports).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) validators: u16,
    /// Storage providers to run on loopback (0 for none); the default 4-of-6 code needs 6, and
    /// two spares let repair move pieces.
    #[arg(long, default_value_t = 8)]
    pub(crate) providers: usize,
}

/// `groundwork testnet`
#[derive(Debug, Args)]
pub(crate) struct TestnetArgs {
    /// Validators (one home each: OUT/validator-0, OUT/validator-1, …).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) validators: u16,
    /// The folder to write the homes into.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// The chain id.
    #[arg(long, default_value = "groundwork-testnet")]
    pub(crate) chain_id: String,
    /// HTTP port of validator-0; validator i listens on this plus i.
    #[arg(long, default_value_t = 26657)]
    pub(crate) http_port: u16,
    /// P2p port of validator-0; validator i listens on this plus i.
    #[arg(long, default_value_t = 26757)]
    pub(crate) p2p_port: u16,
    /// Target block interval in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub(crate) block_ms: u64,
}

/// `groundwork keys …`
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Make a new key (encrypted unless --plain).
    New {
        /// Its name.
        name: String,
        /// Store it unencrypted (devnets only).
        #[arg(long)]
        plain: bool,
    },
    /// List keys.
    List,
    /// Show a key's address and public key.
    Show {
        /// Its name.
        name: String,
    },
    /// Import a key from its 32-byte secret seed (hex, read from standard input or --seed-file).
    Import {
        /// The name to give it.
        name: String,
        /// A file holding the hex seed (default: standard input).
        #[arg(long)]
        seed_file: Option<PathBuf>,
        /// Store it unencrypted (devnets only).
        #[arg(long)]
        plain: bool,
    },
    /// Print a key's secret seed (hex). Whoever sees it controls the account.
    Export {
        /// Its name.
        name: String,
    },
}

/// `groundwork tx …`
#[derive(Debug, Subcommand)]
pub(crate) enum TxCommand {
    /// Send tokens.
    Transfer {
        /// The sending key's name.
        #[arg(long)]
        from: String,
        /// The recipient's address (gw1…).
        #[arg(long)]
        to: String,
        /// How many tokens, e.g. 12.5.
        #[arg(long)]
        amount: String,
        /// Fee in base units (default: the chain's minimum).
        #[arg(long)]
        fee: Option<String>,
        /// A memo (at most 256 bytes).
        #[arg(long, default_value = "")]
        memo: String,
        /// Wait until the transaction is committed.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        node: NodeArg,
    },
    /// Burn tokens for service credits at the oracle price (credits cannot be transferred).
    MintCredits {
        /// The burning key's name.
        #[arg(long)]
        from: String,
        /// How many tokens to burn, e.g. 2.5.
        #[arg(long)]
        amount: String,
        /// Who receives the credits (gw1…); default the burning key's own account.
        #[arg(long = "for")]
        beneficiary: Option<String>,
        /// Fail instead of minting fewer credits than this.
        #[arg(long, default_value_t = 0)]
        min_credits: u64,
        /// Fee in base units (default: the chain's minimum).
        #[arg(long)]
        fee: Option<String>,
        /// Wait until the transaction is committed.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        node: NodeArg,
    },
    /// Report the token's fiat price (oracle accounts only).
    SubmitPrice {
        /// The oracle key's name.
        #[arg(long)]
        from: String,
        /// Fiat per whole token, e.g. 1.25 (six decimals at most).
        #[arg(long)]
        price: String,
        /// Fee in base units (default: the chain's minimum).
        #[arg(long)]
        fee: Option<String>,
        /// Wait until the transaction is committed.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        node: NodeArg,
    },
}

/// `groundwork query …`
#[derive(Debug, Subcommand)]
pub(crate) enum QueryCommand {
    /// The node's status.
    Status {
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        node: NodeArg,
    },
    /// An account's balance and nonce.
    Account {
        /// A gw1… address or the name of a local key.
        address: String,
        /// Fetch a Merkle proof and verify it against the app hash.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        node: NodeArg,
    },
    /// An account's service credits.
    Credits {
        /// A gw1… address or the name of a local key.
        address: String,
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        node: NodeArg,
    },
    /// The token price oracle: submissions, the median minting uses, staleness.
    Oracle {
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        node: NodeArg,
    },
    /// A block by height (or `latest`).
    Block {
        /// Height or `latest`.
        #[arg(default_value = "latest")]
        height: String,
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        node: NodeArg,
    },
    /// A transaction by hash.
    Tx {
        /// The hash, hex.
        hash: String,
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        node: NodeArg,
    },
    /// Devices, filtered and paged (`--owner`, `--kind`, `--status`, `--cell`, `--limit`, `--cursor`).
    Devices {
        /// Only this owner's devices (gw1…).
        #[arg(long)]
        owner: Option<String>,
        /// Only this kind: hotspot, sensor, storage, compute or meter.
        #[arg(long)]
        kind: Option<String>,
        /// Only this status: active or decommissioned.
        #[arg(long)]
        status: Option<String>,
        /// Only devices in this H3 cell or region (hex).
        #[arg(long)]
        cell: Option<String>,
        /// Most devices to show (1 to 1000).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// The next_cursor of the previous page.
        #[arg(long)]
        cursor: Option<String>,
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        node: NodeArg,
    },
    /// One device's record and, with --verdicts, every report of an epoch with its verdict.
    Device {
        /// The device id (gwd1…).
        id: String,
        /// Also list the verdicts of its reports.
        #[arg(long)]
        verdicts: bool,
        /// The epoch of the verdicts (default: the current one).
        #[arg(long)]
        epoch: Option<u64>,
        #[command(flatten)]
        home: HomeArg,
        #[command(flatten)]
        node: NodeArg,
    },
}

/// `groundwork bench …`
#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Committed transfers per second through decode, signature check, execution and commit.
    Transfers {
        /// Funded accounts that send and receive.
        #[arg(long, default_value_t = 10_000)]
        accounts: usize,
        /// Transfers per block.
        #[arg(long, default_value_t = 10_000)]
        block_size: usize,
        /// Blocks to measure.
        #[arg(long, default_value_t = 10)]
        blocks: usize,
    },
    /// Device reports per second through ingest, verification, verdicts and commit.
    Reports {
        /// Sensor devices onboarded first.
        #[arg(long, default_value_t = 10_000)]
        devices: usize,
        /// Reports per block.
        #[arg(long, default_value_t = 50_000)]
        block_size: usize,
        /// Blocks to measure.
        #[arg(long, default_value_t = 5)]
        blocks: usize,
        /// Leave out the durable journal of accepted reports that a node keeps (to see its cost).
        #[arg(long)]
        no_journal: bool,
        /// Reports per ingest request (a block's worth arrives as requests of this many, two in
        /// flight, as HTTP workers take them; at most the node's limit of 10,000).
        #[arg(long, default_value_t = 10_000)]
        request_size: usize,
    },
    /// Committed transfers per second and submission-to-finality latency on a local network of
    /// validator processes (Simplex over loopback).
    Consensus(crate::bench_consensus::BenchConsensusArgs),
    /// One epoch's reward computation in the app (and, separately, its state writing).
    Rewards {
        /// Devices with counts in the epoch.
        #[arg(long, default_value_t = 1_000_000)]
        devices: usize,
        /// Devices per owner.
        #[arg(long, default_value_t = 10)]
        devices_per_owner: usize,
        /// Times the computation is measured.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// The dashboard's map index: build time, size and map requests over synthetic devices.
    Map {
        /// Devices to place.
        #[arg(long, default_value_t = 1_000_000)]
        devices: usize,
    },
    /// Raw ed25519 verification per second, single and batched, on 1 and all threads.
    Verify {
        /// Signatures to verify per measurement.
        #[arg(long, default_value_t = 50_000)]
        count: usize,
    },
    /// Storage put and get MiB/s end to end on loopback, beside raw hashing and coding speed.
    Storage(storage::BenchStorageArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_log_filter_is_refused_with_its_reason_and_a_good_one_kept() {
        assert_eq!(
            log_filter("warn,groundwork_consensus=debug").as_deref(),
            Ok("warn,groundwork_consensus=debug")
        );
        let refused = log_filter("x=[").unwrap_err();
        assert!(refused.starts_with("not a log filter ("), "{refused}");
        let parsed = Cli::try_parse_from(["groundwork", "--log", "x=[", "keys", "list"]);
        assert!(parsed.unwrap_err().to_string().contains("not a log filter"));
    }
}
