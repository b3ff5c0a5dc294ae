//! A handful of providers on loopback in this process: what `groundwork devnet --providers N`,
//! `groundwork bench storage` and the tests run. Each has its own folder and port, and all share
//! one multi-threaded runtime on a background thread.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::Context;

use crate::server::{ProviderConfig, ProviderHandle, start};

/// How to start local providers.
#[derive(Debug, Clone)]
pub struct LocalProvidersConfig {
    /// Each provider gets `root/provider-<i>`.
    pub root: PathBuf,
    /// How many.
    pub count: usize,
    /// Capacity of each, bytes.
    pub capacity: u64,
    /// Base price (base units per GiB per period); provider `i` asks `price + i`, so placement
    /// has a ranking to follow.
    pub price: u128,
    /// Bandwidth limit of each (bytes/s, 0: none).
    pub bandwidth: u64,
    /// Address of the first; the others take the next ports (port 0: any free ports).
    pub first_addr: SocketAddr,
    /// The chain the providers sign receipts for, if any: each then has a device key in
    /// `<its folder>/provider-device.key` (made on first start).
    pub chain_id: Option<String>,
}

enum Order {
    Prove(
        usize,
        crate::chain::NodeApi,
        groundwork_primitives::SigningKey,
        mpsc::Sender<anyhow::Result<()>>,
    ),
    Stop(usize, mpsc::Sender<anyhow::Result<()>>),
    Start(usize, mpsc::Sender<anyhow::Result<SocketAddr>>),
}

/// Providers running in this process.
pub struct LocalProviders {
    urls: Vec<String>,
    identities: Vec<Option<crate::chain::ProviderIdentity>>,
    capacity: u64,
    prices: Vec<u128>,
    homes: Vec<PathBuf>,
    orders: tokio::sync::mpsc::UnboundedSender<Order>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LocalProviders {
    /// Starts them and waits until all listen.
    pub fn start(config: LocalProvidersConfig) -> anyhow::Result<LocalProviders> {
        let configs: Vec<ProviderConfig> = (0..config.count)
            .map(|index| -> anyhow::Result<ProviderConfig> {
                let mut addr = config.first_addr;
                if addr.port() != 0 {
                    addr.set_port(addr.port().saturating_add(index as u16));
                }
                let mut provider = ProviderConfig::new(
                    config.root.join(format!("provider-{index}")),
                    addr,
                    config.capacity,
                    config.price + index as u128,
                );
                provider.provider = format!("local-provider-{index}");
                provider.bandwidth = config.bandwidth;
                if let Some(chain_id) = &config.chain_id {
                    let key = crate::chain::load_or_create_key(
                        &provider.home.join("provider-device.key"),
                    )?;
                    provider.identity = Some(crate::chain::ProviderIdentity {
                        device_key: key,
                        chain_id: chain_id.clone(),
                    });
                }
                Ok(provider)
            })
            .collect::<anyhow::Result<_>>()?;
        let identities = configs.iter().map(|c| c.identity.clone()).collect();
        let prices = configs.iter().map(|c| c.price).collect();
        let homes = configs.iter().map(|c| c.home.clone()).collect();
        let (ready, started) = mpsc::channel::<anyhow::Result<Vec<SocketAddr>>>();
        let (orders, mut incoming) = tokio::sync::mpsc::unbounded_channel::<Order>();
        let thread = std::thread::Builder::new()
            .name("storage-providers".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .thread_name("provider")
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready.send(Err(error.into()));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let mut handles: Vec<Option<ProviderHandle>> = Vec::new();
                    for config in &configs {
                        match start(config.clone()).await {
                            Ok(handle) => handles.push(Some(handle)),
                            Err(error) => {
                                let _ = ready.send(Err(error.context(format!(
                                    "starting the provider in {}",
                                    config.home.display()
                                ))));
                                return;
                            }
                        }
                    }
                    let addrs: Vec<SocketAddr> =
                        handles.iter().flatten().map(ProviderHandle::addr).collect();
                    let _ = ready.send(Ok(addrs.clone()));
                    while let Some(order) = incoming.recv().await {
                        match order {
                            Order::Prove(index, node, submitter, done) => {
                                let result = match handles.get_mut(index).and_then(Option::as_mut) {
                                    Some(handle) => handle.start_prover(
                                        node,
                                        submitter,
                                        std::time::Duration::from_secs(1),
                                    ),
                                    None => Err(anyhow::anyhow!("provider {index} is stopped")),
                                };
                                let _ = done.send(result);
                            }
                            Order::Stop(index, done) => {
                                let result = match handles.get_mut(index).and_then(Option::take) {
                                    Some(handle) => handle.shutdown().await,
                                    None => Ok(()),
                                };
                                let _ = done.send(result);
                            }
                            Order::Start(index, done) => {
                                let result = match configs.get(index) {
                                    Some(config) => {
                                        let mut config = config.clone();
                                        // Come back on the same port.
                                        if let Some(addr) = addrs.get(index) {
                                            config.listen = *addr;
                                        }
                                        if let Some(Some(running)) =
                                            handles.get_mut(index).map(Option::take)
                                        {
                                            let _ = running.shutdown().await;
                                        }
                                        match start(config).await {
                                            Ok(handle) => {
                                                let addr = handle.addr();
                                                if let Some(slot) = handles.get_mut(index) {
                                                    *slot = Some(handle);
                                                }
                                                Ok(addr)
                                            }
                                            Err(error) => Err(error),
                                        }
                                    }
                                    None => Err(anyhow::anyhow!("no provider {index}")),
                                };
                                let _ = done.send(result);
                            }
                        }
                    }
                    for handle in handles.into_iter().flatten() {
                        let _ = handle.shutdown().await;
                    }
                });
            })
            .context("starting the providers' thread")?;
        let addrs = started
            .recv()
            .context("the providers' thread stopped while starting")??;
        Ok(LocalProviders {
            urls: addrs.iter().map(|addr| format!("http://{addr}")).collect(),
            identities,
            capacity: config.capacity,
            prices,
            homes,
            orders,
            thread: Some(thread),
        })
    }

    /// Their URLs.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// Provider `index`'s folder.
    pub fn home(&self, index: usize) -> Option<&Path> {
        self.homes.get(index).map(PathBuf::as_path)
    }

    /// Registers every provider on chain — a fresh owner key per provider funded by the
    /// devnet faucet, the disk onboarded as a storage device attested by `maker`, the offer
    /// posted with the provider's URL — and starts its prover. Returns the registrations.
    ///
    /// Stops between providers once `stop` is set (the devnet is shutting down), returning those
    /// registered so far.
    pub fn register_on_chain(
        &self,
        node: &crate::chain::NodeApi,
        maker: &groundwork_primitives::SigningKey,
        faucet_tokens: u64,
        stop: &std::sync::atomic::AtomicBool,
    ) -> anyhow::Result<Vec<crate::chain::Registration>> {
        let mut registrations = Vec::new();
        for (index, identity) in self.identities.iter().enumerate() {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            let Some(identity) = identity else {
                anyhow::bail!("the providers were started without a chain id");
            };
            let home = self.homes.get(index).context("no such provider")?;
            let owner = crate::chain::load_or_create_key(&home.join("provider-owner.key"))?;
            let owner_address =
                groundwork_primitives::Address::from_public_key(&owner.public_key());
            node.faucet(&owner_address, faucet_tokens)
                .with_context(|| format!("funding the owner of provider {index}"))?;
            let url = self.urls.get(index).context("no such provider")?;
            let registration = crate::chain::register_provider(
                node,
                &owner,
                Some(maker),
                identity,
                self.prices.get(index).copied().unwrap_or(0),
                self.capacity,
                url,
            )
            .with_context(|| format!("registering provider {index} on chain"))?;
            let (done, result) = mpsc::channel();
            self.orders
                .send(Order::Prove(index, node.clone(), owner, done))
                .map_err(|_| anyhow::anyhow!("the providers' thread is gone"))?;
            result.recv()??;
            registrations.push(registration);
        }
        Ok(registrations)
    }

    /// Stops provider `index` (it stops answering; its disk stays).
    pub fn stop(&self, index: usize) -> anyhow::Result<()> {
        let (done, result) = mpsc::channel();
        self.orders
            .send(Order::Stop(index, done))
            .map_err(|_| anyhow::anyhow!("the providers' thread is gone"))?;
        result.recv()?
    }

    /// Starts provider `index` again on its port, reopening (and re-verifying) its store.
    pub fn restart(&mut self, index: usize) -> anyhow::Result<()> {
        let (done, result) = mpsc::channel();
        self.orders
            .send(Order::Start(index, done))
            .map_err(|_| anyhow::anyhow!("the providers' thread is gone"))?;
        let addr = result.recv()??;
        if let Some(url) = self.urls.get_mut(index) {
            *url = format!("http://{addr}");
        }
        Ok(())
    }
}

impl Drop for LocalProviders {
    fn drop(&mut self) {
        // Closing the order channel ends the runtime's loop, which stops every provider.
        let (replacement, _) = tokio::sync::mpsc::unbounded_channel();
        drop(std::mem::replace(&mut self.orders, replacement));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The file listing local providers for clients: `<home>/storage/providers.json`.
pub fn providers_file(home: &Path) -> PathBuf {
    home.join("storage").join("providers.json")
}

/// Writes the providers' URLs where clients using `home` find them.
pub fn write_providers_file(home: &Path, urls: &[String]) -> anyhow::Result<PathBuf> {
    let path = providers_file(home);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let text = serde_json::to_vec_pretty(&serde_json::json!({ "providers": urls }))?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Reads the URLs a devnet wrote with [`write_providers_file`].
pub fn read_providers_file(home: &Path) -> anyhow::Result<Vec<String>> {
    let path = providers_file(home);
    let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let urls = value["providers"]
        .as_array()
        .with_context(|| format!("{} has no providers list", path.display()))?
        .iter()
        .filter_map(|url| url.as_str().map(str::to_string))
        .collect();
    Ok(urls)
}
