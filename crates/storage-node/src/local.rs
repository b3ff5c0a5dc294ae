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
}

enum Order {
    Stop(usize, mpsc::Sender<anyhow::Result<()>>),
    Start(usize, mpsc::Sender<anyhow::Result<SocketAddr>>),
}

/// Providers running in this process.
pub struct LocalProviders {
    urls: Vec<String>,
    homes: Vec<PathBuf>,
    orders: tokio::sync::mpsc::UnboundedSender<Order>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LocalProviders {
    /// Starts them and waits until all listen.
    pub fn start(config: LocalProvidersConfig) -> anyhow::Result<LocalProviders> {
        let configs: Vec<ProviderConfig> = (0..config.count)
            .map(|index| {
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
                provider
            })
            .collect();
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
