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
use groundwork_storage_node::server::{DEFAULT_MAX_PIECE_SIZE, ProviderConfig};
use groundwork_storage_node::size::{format_size, parse_size};
use serde_json::json;

use crate::commands::{print, resolve_home, shutdown_signal};
use crate::{HomeArg, Output};

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
    #[command(flatten)]
    pub(crate) providers: ProvidersArg,
    #[command(flatten)]
    pub(crate) home: HomeArg,
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
    /// The provider's name shown to clients.
    #[arg(long)]
    pub(crate) name: Option<String>,
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
    }
}

fn put(args: PutArgs, output: Output) -> anyhow::Result<ExitCode> {
    let home = resolve_home(&args.home)?;
    let params = params(args.k, args.n, &args.segment_size)?;
    let client = client(&args.providers);
    let urls = provider_urls(&args.providers, &home)?;
    let (candidates, errors) = discover(&client, &urls);
    for error in &errors {
        tracing::warn!(%error, "a provider did not answer");
        eprintln!("warning: {error}");
    }
    let options = TransferOptions {
        timeout: Duration::from_secs(args.providers.timeout.max(1)),
        progress: output == Output::Text,
        ..TransferOptions::default()
    };
    let report = put_file(&client, &args.file, params, candidates, &options)?;
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
        "seconds": seconds,
    });
    print(output, &value, || {
        format!(
            "{}\n  {} in {} segments, {} of {} pieces each, on {} providers ({seconds:.2} s)\n  placement: {}\n  get it back: groundwork storage get {} -o FILE --home {}",
            manifest.cid,
            format_size(manifest.file_len),
            manifest.segments.len(),
            manifest.data_pieces,
            manifest.total_pieces,
            providers.len(),
            saved.display(),
            manifest.cid,
            home.display()
        )
    });
    Ok(ExitCode::SUCCESS)
}

fn get(args: GetArgs, output: Output) -> anyhow::Result<ExitCode> {
    let home = resolve_home(&args.home)?;
    let manifest = ManifestStore::in_home(&home).load(&args.cid)?;
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
    let mut manifests = match &args.cid {
        Some(cid) => vec![store.load(cid)?],
        None => store.list()?,
    };
    let client = client(&args.providers);
    let urls = provider_urls(&args.providers, &home)?;
    let (candidates, _) = discover(&client, &urls);
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
    for manifest in &mut manifests {
        let report = repair(&client, manifest, candidates.clone(), &options)
            .with_context(|| format!("repairing {}", manifest.cid))?;
        if !report.repaired.is_empty() {
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
    config.provider = args
        .name
        .clone()
        .unwrap_or_else(|| format!("provider@{}", args.listen));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut handle = groundwork_storage_node::server::start(config).await?;
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
            _ = shutdown_signal() => {
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
