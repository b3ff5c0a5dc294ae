//! `groundwork storage …`, `groundwork provider storage` and `groundwork bench storage`: thin
//! wrappers around `groundwork-storage-node`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use groundwork_primitives::{Amount, DEFAULT_DECIMALS};
use groundwork_storage_net::erasure::ErasureParams;
use groundwork_storage_node::client::{TransferOptions, discover, get_file, put_file};
use groundwork_storage_node::local::read_providers_file;
use groundwork_storage_node::manifest::ManifestStore;
use groundwork_storage_node::provider_client::ProviderClient;
use groundwork_storage_node::repair::{RepairOptions, repair};
use groundwork_storage_node::server::{
    DEFAULT_GC_EVERY, DEFAULT_GC_GRACE, DEFAULT_MAX_PIECE_SIZE, ProviderConfig,
};
use groundwork_storage_node::size::{format_size, parse_size};
use serde_json::json;

use crate::commands::{Shutdown, load_key, print, resolve_home};
use crate::{HomeArg, Output};
use groundwork_node::home::Home;
use groundwork_primitives::Address;
use groundwork_storage_node::chain::{
    DealTerms, NodeApi, ProviderIdentity, chain_candidates, create_deal, load_or_create_key,
    manifest_of_deal, piece_rate, register_provider, submit_repair, terminate_deal,
};
use groundwork_storage_node::repair::default_repair_threshold;

/// `groundwork storage …`
#[derive(Debug, Subcommand)]
pub(crate) enum StorageCommand {
    /// Store a file: print its CID (the same as IPFS's), erasure-code it and upload the pieces to
    /// distinct providers.
    Put(PutArgs),
    /// Fetch a file by CID from any k providers per segment, verifying every byte.
    Get(GetArgs),
    /// Audit the pieces of stored files and rebuild lost ones on new providers.
    Repair(RepairArgs),
    /// List the known providers and what they offer.
    Providers(ProvidersArgs),
    /// End a deal early (TerminateDeal): the client gets back what is left in escrow but the
    /// providers' share of their unearned payments (docs/storage.md, "TerminateDeal").
    Terminate(TerminateArgs),
}

/// `groundwork storage terminate`
#[derive(Debug, Args)]
pub(crate) struct TerminateArgs {
    /// The deal's id (as `groundwork storage put --node` printed it).
    pub(crate) deal: u64,
    #[command(flatten)]
    pub(crate) chain: ChainArg,
    #[command(flatten)]
    pub(crate) home: HomeArg,
}

/// Where the client finds providers.
#[derive(Debug, Clone, Args)]
pub(crate) struct ProvidersArg {
    /// Provider URLs, comma-separated (default: the list a devnet wrote in
    /// <home>/storage/providers.json).
    #[arg(long, value_delimiter = ',', env = "GROUNDWORK_PROVIDERS")]
    pub(crate) providers: Vec<String>,
    /// Seconds one request to a provider may take.
    #[arg(long, default_value_t = 60)]
    pub(crate) timeout: u64,
}

/// `groundwork storage put`
#[derive(Debug, Args)]
pub(crate) struct PutArgs {
    /// The file to store.
    pub(crate) file: PathBuf,
    /// k: pieces needed to rebuild each segment.
    #[arg(long, default_value_t = ErasureParams::DEVNET.data_pieces)]
    pub(crate) k: u16,
    /// n: pieces made per segment, each on its own provider.
    #[arg(long, default_value_t = ErasureParams::DEVNET.total_pieces)]
    pub(crate) n: u16,
    /// Segment size (e.g. 64MiB).
    #[arg(long, default_value = "64MiB")]
    pub(crate) segment_size: String,
    /// Proving periods the deal lasts (with --node).
    #[arg(long, default_value_t = 100)]
    pub(crate) periods: u64,
    /// Most to escrow, in base units (default: the providers' rates over the periods plus the
    /// 10 % repair reserve).
    #[arg(long)]
    pub(crate) max_price: Option<String>,
    #[command(flatten)]
    pub(crate) chain: ChainArg,
    #[command(flatten)]
    pub(crate) providers: ProvidersArg,
    #[command(flatten)]
    pub(crate) home: HomeArg,
}

/// The chain, when there is one: deals, offers and placements live there.
#[derive(Debug, Clone, Args)]
pub(crate) struct ChainArg {
    /// A node's API URL: providers come from the chain's offers, `put` creates a deal (escrow),
    /// `get` and `repair` read the placement from the deal. Without it, placements are kept in
    /// <home>/storage/manifests.
    #[arg(long)]
    pub(crate) node: Option<String>,
    /// Name of the key in the home that signs (the client paying the deal, or the repairer).
    #[arg(long, default_value = "dev")]
    pub(crate) key: String,
}

/// `groundwork storage get`
#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The file's CID.
    pub(crate) cid: String,
    /// Where to write the file (written under a temporary name and renamed once verified).
    #[arg(short = 'o', long = "out", id = "out_path")]
    pub(crate) out: PathBuf,
    /// Seconds after which a slow piece fetch makes get ask another provider too.
    #[arg(long, default_value_t = 5)]
    pub(crate) hedge_after: u64,
    #[command(flatten)]
    pub(crate) chain: ChainArg,
    #[command(flatten)]
    pub(crate) providers: ProvidersArg,
    #[command(flatten)]
    pub(crate) home: HomeArg,
}

/// `groundwork storage repair`
#[derive(Debug, Args)]
pub(crate) struct RepairArgs {
    /// Only this file (default: every file put from this home).
    #[arg(long)]
    pub(crate) cid: Option<String>,
    /// Only this deal (with --node): its placement is read from the chain and the repairs sent
    /// as RepairDeal transactions.
    #[arg(long)]
    pub(crate) deal: Option<u64>,
    #[command(flatten)]
    pub(crate) chain: ChainArg,
    /// Repair segments with at most this many healthy pieces (default: k + (n-k)/2).
    #[arg(long)]
    pub(crate) threshold: Option<u16>,
    /// Random chunks each piece must prove.
    #[arg(long, default_value_t = 4)]
    pub(crate) audit_chunks: u32,
    #[command(flatten)]
    pub(crate) providers: ProvidersArg,
    #[command(flatten)]
    pub(crate) home: HomeArg,
}

/// `groundwork storage providers`
#[derive(Debug, Args)]
pub(crate) struct ProvidersArgs {
    #[command(flatten)]
    pub(crate) providers: ProvidersArg,
    #[command(flatten)]
    pub(crate) home: HomeArg,
}

/// `groundwork provider …`
#[derive(Debug, Subcommand)]
pub(crate) enum ProviderCommand {
    /// Run a storage provider: store pieces on disk and serve them over HTTP.
    Storage(ProviderStorageArgs),
}

/// `groundwork provider storage`
#[derive(Debug, Args)]
pub(crate) struct ProviderStorageArgs {
    /// Disk space offered (e.g. 10GiB).
    #[arg(long)]
    pub(crate) capacity: String,
    /// Asking price in tokens per GiB per proving period (e.g. 0.001).
    #[arg(long, default_value = "0.001")]
    pub(crate) price: String,
    /// Listen address of the provider's HTTP API.
    #[arg(long, default_value = "127.0.0.1:7100")]
    pub(crate) listen: std::net::SocketAddr,
    /// Bandwidth limit for uploads and downloads together (e.g. 100MiB per second; 0: none).
    #[arg(long, default_value = "0")]
    pub(crate) bandwidth: String,
    /// Largest piece accepted (e.g. 256MiB).
    #[arg(long)]
    pub(crate) max_piece_size: Option<String>,
    /// The provider's name shown to clients (without --node; with it, the device id).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// A node's API URL: onboard the disk as a storage device, post the offer, sign receipts
    /// and answer challenges.
    #[arg(long)]
    pub(crate) node: Option<String>,
    /// The URL clients reach this provider at (default: http://<listen>).
    #[arg(long)]
    pub(crate) endpoint: Option<String>,
    /// Name of the owner key (pays the stake and the proofs' fees) in --keys-home.
    #[arg(long)]
    pub(crate) owner: Option<String>,
    /// Make and fund an owner key from the node's faucet instead (devnets).
    #[arg(long, conflicts_with = "owner")]
    pub(crate) faucet: bool,
    /// Name of the maker key in --keys-home that attests the disk (needed the first time).
    #[arg(long)]
    pub(crate) maker: Option<String>,
    /// Home whose keystore holds --owner and --maker (default: --home).
    #[arg(long)]
    pub(crate) keys_home: Option<PathBuf>,
    /// With --node: seconds a piece stored, uploaded again or receipted is kept even when no
    /// deal needs it any more (a client may be about to send its deal).
    #[arg(long, default_value_t = DEFAULT_GC_GRACE.as_secs())]
    pub(crate) gc_grace: u64,
    /// With --node: seconds between passes deleting the pieces of ended deals.
    #[arg(long, default_value_t = DEFAULT_GC_EVERY.as_secs())]
    pub(crate) gc_every: u64,
    #[command(flatten)]
    pub(crate) home: HomeArg,
}

/// `groundwork bench storage`
#[derive(Debug, Args)]
pub(crate) struct BenchStorageArgs {
    /// File size (e.g. 1GiB).
    #[arg(long, default_value = "1GiB")]
    pub(crate) size: String,
    /// Providers on loopback.
    #[arg(long, default_value_t = 6)]
    pub(crate) providers: usize,
    /// k.
    #[arg(long, default_value_t = ErasureParams::DEVNET.data_pieces)]
    pub(crate) k: u16,
    /// n.
    #[arg(long, default_value_t = ErasureParams::DEVNET.total_pieces)]
    pub(crate) n: u16,
    /// Segment size.
    #[arg(long, default_value = "64MiB")]
    pub(crate) segment_size: String,
    /// Put/get rounds; medians are reported.
    #[arg(long, default_value_t = 3)]
    pub(crate) runs: usize,
    /// Folder for the file and the providers' disks (default: the system's temporary folder).
    #[arg(long)]
    pub(crate) dir: Option<PathBuf>,
}

fn client(args: &ProvidersArg) -> ProviderClient {
    ProviderClient::new(Duration::from_secs(args.timeout.max(1)))
}

/// The provider URLs to use: `--providers`, else the devnet's list in the home.
fn provider_urls(args: &ProvidersArg, home: &Path) -> anyhow::Result<Vec<String>> {
    if !args.providers.is_empty() {
        return Ok(args.providers.clone());
    }
    read_providers_file(home).context(
        "no providers known: pass --providers URL,URL,… or run `groundwork devnet` and use its --home",
    )
}

fn params(k: u16, n: u16, segment_size: &str) -> anyhow::Result<ErasureParams> {
    let params = ErasureParams {
        data_pieces: k,
        total_pieces: n,
        segment_size: parse_size(segment_size).context("--segment-size")?,
    };
    params
        .validate()
        .with_context(|| format!("--k {k} --n {n} --segment-size {segment_size}"))?;
    Ok(params)
}

/// Runs `groundwork storage …`.
pub(crate) fn storage(action: StorageCommand, output: Output) -> anyhow::Result<ExitCode> {
    match action {
        StorageCommand::Put(args) => put(args, output),
        StorageCommand::Get(args) => get(args, output),
        StorageCommand::Repair(args) => repair_command(args, output),
        StorageCommand::Providers(args) => providers(args, output),
        StorageCommand::Terminate(args) => terminate(args, output),
    }
}

fn terminate(args: TerminateArgs, output: Output) -> anyhow::Result<ExitCode> {
    let Some(url) = args.chain.node.as_deref() else {
        bail!("deals live on chain: say which node with --node URL");
    };
    let home = resolve_home(&args.home)?;
    let key = load_key(&Home::new(&home).keystore(), &args.chain.key)
        .with_context(|| format!("loading the client key {:?} (--key)", args.chain.key))?;
    let ended = terminate_deal(&NodeApi::new(url), &key, args.deal)?;
    print(output, &serde_json::to_value(&ended)?, || {
        format!(
            "deal {} terminated at height {}: {} base units back to the client, {} kept by the providers (their share of unearned payments); the providers may now delete its pieces",
            ended.deal,
            ended
                .height
                .map_or_else(|| "?".to_string(), |height| height.to_string()),
            ended.refunded,
            ended.penalty_to_providers
        )
    });
    Ok(ExitCode::SUCCESS)
}

fn put(args: PutArgs, output: Output) -> anyhow::Result<ExitCode> {
    let home = resolve_home(&args.home)?;
    let params = params(args.k, args.n, &args.segment_size)?;
    let client = client(&args.providers);
    let node = args.chain.node.as_deref().map(NodeApi::new);
    let candidates = match &node {
        Some(node) => chain_candidates(node, &client)?,
        None => {
            let urls = provider_urls(&args.providers, &home)?;
            let (candidates, errors) = discover(&client, &urls);
            for error in &errors {
                tracing::warn!(%error, "a provider did not answer");
                eprintln!("warning: {error}");
            }
            candidates
        }
    };
    let prices: std::collections::BTreeMap<String, u128> = candidates
        .iter()
        .map(|c| (c.url.clone(), c.price))
        .collect();
    let options = TransferOptions {
        timeout: Duration::from_secs(args.providers.timeout.max(1)),
        progress: output == Output::Text,
        ..TransferOptions::default()
    };
    let mut report = put_file(&client, &args.file, params, candidates, &options)?;
    if let Some(node) = &node {
        if report.manifest.file_len == 0 {
            eprintln!(
                "note: an empty file needs no deal (the chain stores no empty files); its CID is all there is"
            );
        } else {
            let keys = Home::new(&home).keystore();
            let key = load_key(&keys, &args.chain.key)
                .with_context(|| format!("loading the client key {:?} (--key)", args.chain.key))?;
            let max_price = match &args.max_price {
                Some(text) => text
                    .parse::<u128>()
                    .with_context(|| format!("--max-price {text:?} (base units)"))?,
                None => {
                    let payments: u128 = report
                        .manifest
                        .segments
                        .iter()
                        .flat_map(|segment| segment.pieces.iter())
                        .map(|piece| {
                            piece_rate(prices.get(&piece.url).copied().unwrap_or(0), piece.len)
                        })
                        .sum::<u128>()
                        .saturating_mul(u128::from(args.periods));
                    payments + payments.div_ceil(10)
                }
            };
            let terms = DealTerms {
                duration_periods: args.periods,
                max_price,
                repair_threshold: default_repair_threshold(params.data_pieces, params.total_pieces),
            };
            let deal = create_deal(node, &client, &key, &report.manifest, &terms)?;
            report.manifest.deal_id = Some(deal);
        }
    }
    let saved = ManifestStore::in_home(&home).save(&report.manifest)?;
    let manifest = &report.manifest;
    let providers: std::collections::BTreeSet<&str> = manifest
        .segments
        .iter()
        .flat_map(|segment| segment.pieces.iter().map(|piece| piece.url.as_str()))
        .collect();
    let seconds = report.elapsed.as_secs_f64();
    let value = json!({
        "cid": manifest.cid,
        "size": manifest.file_len,
        "segments": manifest.segments.len(),
        "data_pieces": manifest.data_pieces,
        "total_pieces": manifest.total_pieces,
        "providers": providers,
        "manifest": saved.display().to_string(),
        "deal": manifest.deal_id,
        "seconds": seconds,
    });
    print(output, &value, || {
        format!(
            "{}\n  {} in {} segments, {} of {} pieces each, on {} providers ({seconds:.2} s){}\n  placement: {}\n  get it back: groundwork storage get {} -o FILE --home {}",
            manifest.cid,
            format_size(manifest.file_len),
            manifest.segments.len(),
            manifest.data_pieces,
            manifest.total_pieces,
            providers.len(),
            match manifest.deal_id {
                Some(deal) => format!("\n  deal {deal} on chain (escrowed)"),
                None => String::new(),
            },
            saved.display(),
            manifest.cid,
            home.display()
        )
    });
    Ok(ExitCode::SUCCESS)
}

fn get(args: GetArgs, output: Output) -> anyhow::Result<ExitCode> {
    let home = resolve_home(&args.home)?;
    let manifest = match args.chain.node.as_deref() {
        Some(url) => {
            let node = NodeApi::new(url);
            let deals = node.deals_of_cid(&args.cid)?;
            let deal = deals
                .iter()
                .rev()
                .find(|deal| deal.status == "active")
                .or(deals.last())
                .with_context(|| format!("no deal on chain stores {}", args.cid))?;
            manifest_of_deal(&node, deal)?
        }
        None => ManifestStore::in_home(&home).load(&args.cid)?,
    };
    let client = client(&args.providers);
    let options = TransferOptions {
        timeout: Duration::from_secs(args.providers.timeout.max(1)),
        hedge_after: Duration::from_secs(args.hedge_after.max(1)),
        progress: output == Output::Text,
    };
    let report = get_file(&client, &manifest, &args.out, &options)?;
    for (segment, piece, reason) in &report.failures {
        eprintln!("warning: segment {segment} piece {piece}: {reason}");
    }
    let seconds = report.elapsed.as_secs_f64();
    let value = json!({
        "cid": manifest.cid,
        "output": args.out.display().to_string(),
        "size": report.bytes,
        "failed_fetches": report.failures.len(),
        "seconds": seconds,
    });
    print(output, &value, || {
        format!(
            "{} → {} ({}, verified against the piece commitments and the CID, {seconds:.2} s{})",
            manifest.cid,
            args.out.display(),
            format_size(report.bytes),
            if report.failures.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} piece fetches failed and were replaced: consider `groundwork storage repair`",
                    report.failures.len()
                )
            }
        )
    });
    Ok(ExitCode::SUCCESS)
}

fn repair_command(args: RepairArgs, output: Output) -> anyhow::Result<ExitCode> {
    let home = resolve_home(&args.home)?;
    let store = ManifestStore::in_home(&home);
    let client = client(&args.providers);
    let node = args.chain.node.as_deref().map(NodeApi::new);
    let mut chain_deals = Vec::new();
    let mut manifests = match (&node, args.deal, &args.cid) {
        (Some(node), Some(id), _) => {
            let deal = node
                .deal(id)?
                .with_context(|| format!("no deal {id} on chain"))?;
            let manifest = manifest_of_deal(node, &deal)?;
            chain_deals.push(deal);
            vec![manifest]
        }
        (Some(node), None, Some(cid)) => {
            let mut manifests = Vec::new();
            for deal in node.deals_of_cid(cid)? {
                if deal.status == "active" {
                    manifests.push(manifest_of_deal(node, &deal)?);
                    chain_deals.push(deal);
                }
            }
            manifests
        }
        (Some(_), None, None) => {
            bail!("with --node, say which deal to repair: --deal ID or --cid CID")
        }
        (None, Some(_), _) => bail!("--deal needs --node URL (deals live on chain)"),
        (None, None, Some(cid)) => vec![store.load(cid)?],
        (None, None, None) => store.list()?,
    };
    let candidates = match &node {
        Some(node) => chain_candidates(node, &client)?,
        None => {
            let urls = provider_urls(&args.providers, &home)?;
            discover(&client, &urls).0
        }
    };
    let repairer = match &node {
        Some(_) => Some(
            load_key(&Home::new(&home).keystore(), &args.chain.key).with_context(|| {
                format!("loading the repairer key {:?} (--key)", args.chain.key)
            })?,
        ),
        None => None,
    };
    let options = RepairOptions {
        threshold: args.threshold,
        audit_chunks: args.audit_chunks,
        transfer: TransferOptions {
            timeout: Duration::from_secs(args.providers.timeout.max(1)),
            ..TransferOptions::default()
        },
    };
    let mut results = Vec::new();
    let mut lost = false;
    for (position, manifest) in manifests.iter_mut().enumerate() {
        let report = repair(&client, manifest, candidates.clone(), &options)
            .with_context(|| format!("repairing {}", manifest.cid))?;
        if let (Some(node), Some(repairer), Some(deal)) =
            (&node, &repairer, chain_deals.get(position))
        {
            for (segment, piece, url) in &report.repaired {
                if let Err(error) = submit_repair(
                    node,
                    &client,
                    repairer,
                    deal,
                    u32::try_from(*segment)?,
                    u32::from(*piece),
                    url,
                ) {
                    eprintln!(
                        "warning: deal {}: the chain did not take the repair of segment {segment} piece {piece} ({error:#}); the piece is rebuilt on {url} all the same",
                        deal.id
                    );
                }
            }
        } else if !report.repaired.is_empty() {
            store.save(manifest)?;
        }
        lost |= !report.lost_segments.is_empty();
        results.push((manifest.cid.clone(), report));
    }
    let value = json!(
        results
            .iter()
            .map(|(cid, report)| json!({"cid": cid, "report": report}))
            .collect::<Vec<_>>()
    );
    print(output, &value, || {
        let mut lines = Vec::new();
        for (cid, report) in &results {
            lines.push(format!(
                "{cid}: {} segments, {} unhealthy pieces, {} rebuilt{}",
                report.segments,
                report.unhealthy.len(),
                report.repaired.len(),
                if report.lost_segments.is_empty() {
                    String::new()
                } else {
                    format!(", segments LOST: {:?}", report.lost_segments)
                }
            ));
            for (segment, piece, reason) in &report.unhealthy {
                lines.push(format!("  segment {segment} piece {piece}: {reason}"));
            }
            for (segment, piece, url) in &report.repaired {
                lines.push(format!(
                    "  segment {segment} piece {piece} rebuilt on {url}"
                ));
            }
        }
        if lines.is_empty() {
            "no stored files in this home".to_string()
        } else {
            lines.join("\n")
        }
    });
    Ok(if lost {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn providers(args: ProvidersArgs, output: Output) -> anyhow::Result<ExitCode> {
    let home = resolve_home(&args.home)?;
    let client = client(&args.providers);
    let urls = provider_urls(&args.providers, &home)?;
    let (candidates, errors) = discover(&client, &urls);
    let value = json!({
        "providers": candidates.iter().map(|c| json!({"url": c.url, "info": c.info})).collect::<Vec<_>>(),
        "unreachable": errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    print(output, &value, || {
        let mut lines: Vec<String> = candidates
            .iter()
            .map(|c| {
                format!(
                    "{}  {}  free {} of {}  price {}  pieces {}",
                    c.url,
                    c.info.provider,
                    format_size(c.info.free),
                    format_size(c.info.capacity),
                    c.info.price,
                    c.info.pieces
                )
            })
            .collect();
        lines.extend(errors.iter().map(|e| format!("unreachable: {e}")));
        lines.join("\n")
    });
    Ok(ExitCode::SUCCESS)
}

/// Runs `groundwork provider …`.
pub(crate) fn provider(action: ProviderCommand, output: Output) -> anyhow::Result<ExitCode> {
    let ProviderCommand::Storage(args) = action;
    let home = resolve_home(&args.home)?;
    let capacity = parse_size(&args.capacity).context("--capacity")?;
    if capacity == 0 {
        bail!("--capacity must be above zero");
    }
    let price = Amount::parse(&args.price, DEFAULT_DECIMALS)
        .with_context(|| format!("--price {:?}: write tokens, e.g. 0.001", args.price))?
        .base_units();
    let mut config = ProviderConfig::new(home.clone(), args.listen, capacity, price);
    config.bandwidth = parse_size(&args.bandwidth).context("--bandwidth")?;
    config.max_piece_size = match &args.max_piece_size {
        Some(text) => parse_size(text).context("--max-piece-size")?,
        None => DEFAULT_MAX_PIECE_SIZE,
    };
    config.gc_grace = Duration::from_secs(args.gc_grace);
    config.gc_every = Duration::from_secs(args.gc_every.max(1));
    config.provider = args
        .name
        .clone()
        .unwrap_or_else(|| format!("provider@{}", args.listen));
    let endpoint = args
        .endpoint
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    // On chain: the disk's device key lives in the provider's home.
    let chain = match &args.node {
        Some(url) => {
            let node = NodeApi::new(url);
            let chain_id = node.chain_id()?;
            let device_key = load_or_create_key(&home.join("provider-device.key"))?;
            let identity = ProviderIdentity {
                device_key,
                chain_id,
            };
            let keys = Home::new(args.keys_home.clone().unwrap_or_else(|| home.clone())).keystore();
            let owner = match (&args.owner, args.faucet) {
                (Some(name), _) => load_key(&keys, name)
                    .with_context(|| format!("loading the owner key {name:?}"))?,
                (None, true) => {
                    let owner = load_or_create_key(&home.join("provider-owner.key"))?;
                    node.faucet(&Address::from_public_key(&owner.public_key()), 300)?;
                    owner
                }
                (None, false) => bail!(
                    "say who owns the provider on chain: --owner NAME (a funded key) or --faucet (devnets)"
                ),
            };
            let maker = match &args.maker {
                Some(name) => Some(
                    load_key(&keys, name)
                        .with_context(|| format!("loading the maker key {name:?}"))?,
                ),
                None => None,
            };
            config.identity = Some(identity.clone());
            Some((node, identity, owner, maker))
        }
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // Listening before the provider answers anyone (see `Shutdown`).
        let mut shutdown = Shutdown::listen();
        let mut handle = groundwork_storage_node::server::start(config).await?;
        if let Some((node, identity, owner, maker)) = chain {
            let (registering, endpoint) = (node.clone(), endpoint.clone());
            let registration = tokio::task::spawn_blocking(move || {
                register_provider(
                    &registering,
                    &owner,
                    maker.as_ref(),
                    &identity,
                    price,
                    capacity,
                    &endpoint,
                )
                .map(|registration| (registration, owner))
            })
            .await??;
            let (registration, owner) = registration;
            eprintln!(
                "registered on chain: device {} owned by {}{}; answering challenges",
                registration.device,
                registration.owner,
                if registration.onboarded { " (onboarded now)" } else { "" }
            );
            handle.start_prover(node, owner, Duration::from_secs(1))?;
        }
        let opened = handle.opened.clone();
        let url = handle.url();
        let value = json!({
            "url": url,
            "home": home.display().to_string(),
            "capacity": capacity,
            "price": price.to_string(),
            "store": opened,
        });
        print(output, &value, || {
            format!(
                "storage provider listening on {url}\n  home      {}\n  capacity  {}\n  price     {} tokens per GiB per period\n  store     {} pieces, {} ({} unfinished uploads removed, {} corrupt pieces quarantined)",
                home.display(),
                format_size(capacity),
                args.price,
                opened.pieces,
                format_size(opened.bytes),
                opened.removed_temporary,
                opened.quarantined.len()
            )
        });
        tokio::select! {
            _ = shutdown.received() => {
                tracing::info!("stopping the provider");
                handle.shutdown().await?;
            }
            result = handle.wait() => result?,
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `groundwork bench storage`.
pub(crate) fn bench_storage(args: BenchStorageArgs, output: Output) -> anyhow::Result<ExitCode> {
    let params = params(args.k, args.n, &args.segment_size)?;
    let options = groundwork_storage_node::bench::StorageBenchOptions {
        size: parse_size(&args.size).context("--size")?,
        providers: args.providers,
        params,
        runs: args.runs,
        dir: args.dir.unwrap_or_else(std::env::temp_dir),
    };
    let report = groundwork_storage_node::bench::storage(&options)?;
    print(output, &serde_json::to_value(&report)?, || {
        report.to_string()
    });
    Ok(ExitCode::SUCCESS)
}

/// Starts `count` storage providers for a devnet in `<root>/storage-providers` and lists them in
/// `<root>/storage/providers.json` (none when `count` is 0).
pub(crate) fn devnet_providers(
    root: &Path,
    count: usize,
    chain_id: &str,
) -> anyhow::Result<Option<groundwork_storage_node::local::LocalProviders>> {
    if count == 0 {
        return Ok(None);
    }
    let group = groundwork_storage_node::local::LocalProviders::start(
        groundwork_storage_node::local::LocalProvidersConfig {
            root: root.join("storage-providers"),
            count,
            capacity: 4 << 30,
            price: Amount::parse("0.001", DEFAULT_DECIMALS)?.base_units(),
            bandwidth: 0,
            first_addr: "127.0.0.1:0".parse()?,
            chain_id: Some(chain_id.to_string()),
        },
    )
    .context("starting the devnet's storage providers")?;
    groundwork_storage_node::local::write_providers_file(root, group.urls())?;
    Ok(Some(group))
}

/// The devnet banner's storage paragraph.
pub(crate) fn devnet_banner(
    root: &Path,
    group: Option<&groundwork_storage_node::local::LocalProviders>,
) -> String {
    let Some(group) = group else {
        return String::new();
    };
    let home = root.display();
    format!(
        "Storage: {} providers on loopback ({} … ; 4 GiB each, listed in {}).\n  put   groundwork storage put FILE --home {home}        (prints the file's CID, the same as IPFS's)\n  get   groundwork storage get CID -o OUT --home {home}\n  list  groundwork storage providers --home {home}\n\n",
        group.urls().len(),
        group.urls().first().map(String::as_str).unwrap_or(""),
        groundwork_storage_node::local::providers_file(root).display(),
    )
}

/// Registers a devnet's providers on chain once its node answers (onboarding, offers) and starts
/// their provers, on a thread of its own that logs the outcome. Setting `stopping` (Ctrl-C)
/// ends it after the provider being registered; the devnet joins the thread before it stops
/// the node, so no prover is left asking a stopped node.
pub(crate) fn register_devnet_providers(
    group: std::sync::Arc<groundwork_storage_node::local::LocalProviders>,
    node_url: String,
    maker: groundwork_primitives::SigningKey,
    stopping: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Option<std::thread::JoinHandle<()>> {
    let spawned = std::thread::Builder::new()
        .name("storage-registration".into())
        .spawn(move || {
            let node = NodeApi::new(&node_url);
            let outcome = group.register_on_chain(&node, &maker, 300, &stopping);
            let stopped = stopping.load(std::sync::atomic::Ordering::Relaxed);
            match outcome {
                Ok(registered) if stopped => tracing::info!(
                    providers = registered.len(),
                    "the devnet stopped while its storage providers were being registered"
                ),
                Ok(registered) => tracing::info!(
                    providers = registered.len(),
                    "storage providers registered on chain and answering challenges"
                ),
                Err(_) if stopped => tracing::info!(
                    "the devnet stopped before its storage providers were registered on chain"
                ),
                Err(error) => tracing::warn!(
                    error = %format!("{error:#}"),
                    "registering the storage providers on chain failed; put/get without --node still work"
                ),
            }
        });
    match spawned {
        Ok(handle) => Some(handle),
        Err(error) => {
            tracing::warn!(%error, "could not start the storage registration");
            None
        }
    }
}
