//! The storage network's side of the chain (see docs/storage.md, "On-chain interface"): a
//! provider onboards its disk as a `storage` device and posts an offer; it signs a receipt for
//! every piece it durably holds; a client turns a placement and its receipts into a `CreateDeal`;
//! a repairer sends `RepairDeal`; a provider answers its challenges with `SubmitStorageProof`.
//!
//! Everything here talks to a node's HTTP API with blocking requests and builds transactions
//! with `groundwork-app`'s encoders, so the bytes are the ones the state machine checks.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use groundwork_app::modules::storage::msgs::piece_receipt_message;
use groundwork_app::tx;
use groundwork_primitives::{Address, Amount, DeviceId, Hash as ChainHash, SigningKey};
use groundwork_proto::v1;
use serde_json::Value;

use crate::manifest::Manifest;

/// A transaction event: its kind and attributes.
pub type TxEvent = (String, Vec<(String, String)>);

/// Receipts and provider device ids, by segment then piece index.
pub type ReceiptsByPiece = (Vec<Vec<Vec<u8>>>, Vec<Vec<DeviceId>>);

/// Fee of the transactions sent here: the chain's default minimum.
pub fn default_fee() -> Amount {
    groundwork_app::modules::accounts::params::DEFAULT_MIN_FEE
}

/// A blocking client of a node's API, as much as the storage network needs.
#[derive(Debug, Clone)]
pub struct NodeApi {
    base: String,
    agent: ureq::Agent,
}

/// What a submitted transaction came to.
#[derive(Debug, Clone)]
pub struct Committed {
    /// Its hash, hex.
    pub hash: String,
    /// Its block.
    pub height: Option<u64>,
}

impl NodeApi {
    /// A client of the node at `base`.
    pub fn new(base: &str) -> NodeApi {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        NodeApi {
            base: base.trim_end_matches('/').to_string(),
            agent,
        }
    }

    /// The node's URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn answer(
        &self,
        url: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut response = response.with_context(|| {
            format!("cannot reach the node at {url}: is it running? (pass --node URL)")
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_string()
            .with_context(|| format!("reading the answer of {url}"))?;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    /// GET a JSON document: `Ok(None)` on 404.
    pub fn get(&self, path: &str) -> anyhow::Result<Option<Value>> {
        let url = format!("{}{path}", self.base);
        let (status, value) = self.answer(&url, self.agent.get(&url).call())?;
        match status {
            200..=299 => Ok(Some(value)),
            404 => Ok(None),
            _ => bail!(
                "the node answered {status} to {path}: {}",
                error_text(&value)
            ),
        }
    }

    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let (status, value) = self.answer(
            &url,
            self.agent
                .post(&url)
                .header("Content-Type", content_type)
                .send(body),
        )?;
        if !(200..300).contains(&status) {
            bail!(
                "the node answered {status} to {path}: {}",
                error_text(&value)
            );
        }
        Ok(value)
    }

    /// The chain id.
    pub fn chain_id(&self) -> anyhow::Result<String> {
        let status = self
            .get("/v1/status")?
            .context("the node has no /v1/status")?;
        status["chain_id"]
            .as_str()
            .map(str::to_string)
            .context("the node's status has no chain id")
    }

    /// The next nonce of an account.
    pub fn next_nonce(&self, address: &Address) -> anyhow::Result<u64> {
        let account = self
            .get(&format!("/v1/accounts/{address}"))?
            .context("the node does not know the account")?;
        account["next_nonce"]
            .as_u64()
            .context("the node's account answer has no next_nonce")
    }

    /// Whether a device exists on chain.
    pub fn device_exists(&self, device: &DeviceId) -> anyhow::Result<bool> {
        Ok(self.get(&format!("/v1/devices/{device}"))?.is_some())
    }

    /// Asks the devnet faucet for `tokens` whole tokens.
    pub fn faucet(&self, address: &Address, tokens: u64) -> anyhow::Result<()> {
        let body =
            serde_json::json!({"address": address.to_string(), "amount": tokens.to_string()});
        let answer = self.post(
            "/v1/faucet",
            "application/json",
            body.to_string().as_bytes(),
        )?;
        check_code(&answer).context("the faucet's transfer")
    }

    /// Signs `messages` with `key` (next nonce, default fee), submits and waits for the block;
    /// fails unless the transaction succeeded.
    pub fn send(
        &self,
        key: &SigningKey,
        chain_id: &str,
        messages: Vec<v1::Message>,
    ) -> anyhow::Result<Committed> {
        let sender = Address::from_public_key(&key.public_key());
        let nonce = self.next_nonce(&sender)?;
        let bytes = tx::build_signed_tx(key, chain_id, nonce, default_fee(), messages, "");
        let answer = self.post("/v1/txs?wait=true", "application/x-protobuf", &bytes)?;
        check_code(&answer)?;
        Ok(Committed {
            hash: answer["hash"].as_str().unwrap_or_default().to_string(),
            height: answer["height"].as_u64(),
        })
    }

    /// The events of a committed transaction: `(kind, attributes)`.
    pub fn tx_events(&self, hash: &str) -> anyhow::Result<Vec<TxEvent>> {
        let view = self
            .get(&format!("/v1/txs/{hash}"))?
            .with_context(|| format!("the node does not know transaction {hash}"))?;
        let events = view["events"].as_array().cloned().unwrap_or_default();
        Ok(events
            .iter()
            .map(|event| {
                let kind = event["kind"].as_str().unwrap_or_default().to_string();
                let attributes = event["attributes"]
                    .as_array()
                    .map(|pairs| {
                        pairs
                            .iter()
                            .filter_map(|pair| {
                                Some((
                                    pair.get(0)?.as_str()?.to_string(),
                                    pair.get(1)?.as_str()?.to_string(),
                                ))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (kind, attributes)
            })
            .collect())
    }
}

fn error_text(value: &Value) -> String {
    value["error"]["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| value.to_string())
}

fn check_code(answer: &Value) -> anyhow::Result<()> {
    match answer["code"].as_u64() {
        Some(0) => Ok(()),
        Some(code) => bail!(
            "the transaction failed (code {code}): {}",
            answer["error"].as_str().unwrap_or("no reason given")
        ),
        None => bail!(
            "the transaction was not committed in time (status {})",
            answer["status"].as_str().unwrap_or("unknown")
        ),
    }
}

/// Reads a hex key seed from `path`, or makes a new key and writes it there (mode 0600).
pub fn load_or_create_key(path: &Path) -> anyhow::Result<SigningKey> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let seed = hex::decode(text.trim())
            .with_context(|| format!("{} is not a hex key seed", path.display()))?;
        return SigningKey::from_seed_slice(&seed)
            .with_context(|| format!("{} is not a key seed", path.display()));
    }
    let key = SigningKey::generate();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    std::io::Write::write_all(&mut file, hex::encode(key.seed()).as_bytes())?;
    file.sync_all()?;
    Ok(key)
}

/// A provider's identity on chain.
#[derive(Clone)]
pub struct ProviderIdentity {
    /// The disk's device key: signs receipts.
    pub device_key: SigningKey,
    /// The chain the receipts are for.
    pub chain_id: String,
}

impl std::fmt::Debug for ProviderIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderIdentity")
            .field("device", &self.device_id().to_string())
            .field("chain_id", &self.chain_id)
            .finish()
    }
}

impl ProviderIdentity {
    /// The device id (`gwd1…`).
    pub fn device_id(&self) -> DeviceId {
        DeviceId::from_public_key(&self.device_key.public_key())
    }

    /// The receipt of piece `piece` of segment `segment` of `cid` for `client`.
    pub fn receipt(
        &self,
        client: &Address,
        cid: &str,
        segment: u32,
        piece: u32,
        commitment: &[u8; 32],
        size: u64,
    ) -> Vec<u8> {
        let message = piece_receipt_message(
            &self.chain_id,
            client,
            cid,
            segment,
            piece,
            &ChainHash(*commitment),
            size,
        );
        self.device_key.sign_message(&message).0.to_vec()
    }
}

/// What registering a provider did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Registration {
    /// The device id.
    pub device: String,
    /// The owner's address.
    pub owner: String,
    /// Whether the device was onboarded now (else it already was).
    pub onboarded: bool,
}

/// Onboards the provider's disk as a `storage` device (if it is not yet; the maker attests it,
/// the owner pays the stake) and posts or updates its offer.
pub fn register_provider(
    node: &NodeApi,
    owner: &SigningKey,
    maker: Option<&SigningKey>,
    identity: &ProviderIdentity,
    price_per_gib_period: u128,
    capacity: u64,
    endpoint: &str,
) -> anyhow::Result<Registration> {
    let chain_id = &identity.chain_id;
    let device = identity.device_id();
    let owner_address = Address::from_public_key(&owner.public_key());
    let mut onboarded = false;
    if !node.device_exists(&device)? {
        let Some(maker) = maker else {
            bail!(
                "device {device} is not on chain yet and no maker key was given to attest it (--maker NAME)"
            );
        };
        let device_key = identity.device_key.public_key();
        let mut attested = device_key.tagged_bytes();
        attested.push(v1::DeviceKind::Storage as i32 as u8);
        let maker_signature = maker.sign(
            groundwork_primitives::domain::MAKER_ATTESTATION,
            chain_id,
            &attested,
        );
        let device_signature = identity.device_key.sign(
            groundwork_primitives::domain::DEVICE_ONBOARDING,
            chain_id,
            owner_address.as_bytes(),
        );
        let message = v1::Message {
            kind: Some(v1::message::Kind::OnboardDevice(v1::OnboardDevice {
                device_key: Some(groundwork_app::proto_public_key(&device_key)),
                kind: v1::DeviceKind::Storage as i32,
                maker: Address::from_public_key(&maker.public_key())
                    .as_bytes()
                    .to_vec(),
                maker_signature: maker_signature.0.to_vec(),
                device_signature: device_signature.0.to_vec(),
                h3_cell: 0,
                antenna_gain_dbi_x10: 0,
                elevation_m: 0,
            })),
        };
        node.send(owner, chain_id, vec![message])
            .with_context(|| format!("onboarding {device} as a storage device"))?;
        onboarded = true;
    }
    let offer = |update: bool| {
        let (device, price, capacity_bytes, endpoint) = (
            device.as_bytes().to_vec(),
            price_per_gib_period.to_string(),
            capacity,
            endpoint.to_string(),
        );
        let kind = if update {
            v1::message::Kind::UpdateStorageProvider(v1::UpdateStorageProvider {
                device,
                price_per_gib_period: price,
                capacity_bytes,
                endpoint,
            })
        } else {
            v1::message::Kind::RegisterStorageProvider(v1::RegisterStorageProvider {
                device,
                price_per_gib_period: price,
                capacity_bytes,
                endpoint,
            })
        };
        v1::Message { kind: Some(kind) }
    };
    if let Err(first) = node.send(owner, chain_id, vec![offer(false)]) {
        // Registered before: update the offer instead.
        node.send(owner, chain_id, vec![offer(true)])
            .with_context(|| format!("registering the offer failed ({first:#}); updating it"))?;
    }
    Ok(Registration {
        device: device.to_string(),
        owner: owner_address.to_string(),
        onboarded,
    })
}

/// A piece's receipt as a provider returns it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PieceReceipt {
    /// Segment number.
    pub segment: u32,
    /// Piece index.
    pub piece: u32,
    /// The commitment, hex.
    pub root: String,
    /// The signature, hex.
    pub signature: String,
}

/// Deal terms chosen by the client.
#[derive(Debug, Clone)]
pub struct DealTerms {
    /// Proving periods the deal lasts.
    pub duration_periods: u64,
    /// Most the client escrows in total, base units.
    pub max_price: u128,
    /// Repair threshold written into the deal.
    pub repair_threshold: u16,
}

/// The `CreateDeal` message for a placement whose pieces carry receipts and provider device ids.
pub fn create_deal_message(
    manifest: &Manifest,
    receipts: &[Vec<Vec<u8>>],
    providers: &[Vec<DeviceId>],
    terms: &DealTerms,
) -> anyhow::Result<v1::Message> {
    let mut segments = Vec::with_capacity(manifest.segments.len());
    for (number, segment) in manifest.segments.iter().enumerate() {
        let mut pieces = Vec::with_capacity(segment.pieces.len());
        for (index, piece) in segment.pieces.iter().enumerate() {
            let receipt = receipts
                .get(number)
                .and_then(|r| r.get(index))
                .with_context(|| format!("no receipt for piece {index} of segment {number}"))?;
            let provider = providers
                .get(number)
                .and_then(|p| p.get(index))
                .with_context(|| format!("no provider id for piece {index} of segment {number}"))?;
            pieces.push(v1::PiecePlacement {
                provider: provider.as_bytes().to_vec(),
                commitment: piece.root_hash()?.to_vec(),
                size: piece.len,
                receipt: receipt.clone(),
            });
        }
        segments.push(v1::SegmentPlacement {
            length: segment.len,
            pieces,
        });
    }
    Ok(v1::Message {
        kind: Some(v1::message::Kind::CreateDeal(v1::CreateDeal {
            cid: manifest.cid.clone(),
            file_size: manifest.file_len,
            data_pieces: u32::from(manifest.data_pieces),
            total_pieces: u32::from(manifest.total_pieces),
            segment_size: manifest.segment_size,
            repair_threshold: u32::from(terms.repair_threshold),
            segments,
            max_price: terms.max_price.to_string(),
            duration_periods: terms.duration_periods,
        })),
    })
}

/// The deal id a `CreateDeal` transaction's events name.
pub fn deal_id_from_events(events: &[TxEvent]) -> Option<u64> {
    events
        .iter()
        .filter(|(kind, _)| kind.contains("deal"))
        .flat_map(|(_, attributes)| attributes.iter())
        .find(|(key, _)| key == "deal")
        .and_then(|(_, value)| value.parse().ok())
}

/// Asks every provider of a placement for its receipts (in parallel), checks them against the
/// provider's device key, and returns the receipts and device ids piece by piece.
pub fn collect_receipts(
    client: &crate::provider_client::ProviderClient,
    manifest: &Manifest,
    client_address: &Address,
    chain_id: &str,
) -> anyhow::Result<ReceiptsByPiece> {
    use std::collections::BTreeMap;

    use crate::wire::{ReceiptPiece, ReceiptsRequest};

    let mut by_url: BTreeMap<&str, Vec<ReceiptPiece>> = BTreeMap::new();
    for (number, segment) in manifest.segments.iter().enumerate() {
        for piece in &segment.pieces {
            by_url
                .entry(piece.url.as_str())
                .or_default()
                .push(ReceiptPiece {
                    segment: u32::try_from(number)?,
                    piece: u32::from(piece.index),
                    root: piece.root.clone(),
                });
        }
    }
    let answers: Vec<(String, anyhow::Result<crate::wire::ReceiptsResponse>)> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = by_url
                .into_iter()
                .map(|(url, pieces)| {
                    let request = ReceiptsRequest {
                        client: client_address.to_string(),
                        cid: manifest.cid.clone(),
                        pieces,
                    };
                    scope.spawn(move || {
                        (
                            url.to_string(),
                            client.receipts(url, &request).map_err(anyhow::Error::from),
                        )
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|handle| handle.join().ok())
                .collect()
        });
    let mut receipts: Vec<Vec<Vec<u8>>> = manifest
        .segments
        .iter()
        .map(|segment| vec![Vec::new(); segment.pieces.len()])
        .collect();
    let mut devices: Vec<Vec<Option<DeviceId>>> = manifest
        .segments
        .iter()
        .map(|segment| vec![None; segment.pieces.len()])
        .collect();
    for (url, answer) in answers {
        let answer = answer.with_context(|| format!("asking {url} for receipts"))?;
        let device: DeviceId = answer.device.parse().map_err(|_| {
            anyhow::anyhow!("{url} named device {:?}, not a device id", answer.device)
        })?;
        for receipt in answer.receipts {
            let segment = usize::try_from(receipt.segment)?;
            let index = usize::try_from(receipt.piece)?;
            let Some(placed) = manifest
                .segments
                .get(segment)
                .and_then(|s| s.pieces.get(index))
            else {
                bail!("{url} sent a receipt for a piece not in the placement");
            };
            if placed.url != url || placed.root != receipt.root {
                bail!("{url} sent a receipt for a piece it was not given");
            }
            let signature = hex::decode(&receipt.signature)
                .with_context(|| format!("{url} sent a receipt that is not hex"))?;
            receipts[segment][index] = signature;
            devices[segment][index] = Some(device);
        }
    }
    let _ = chain_id;
    let mut device_ids = Vec::with_capacity(devices.len());
    for (number, segment) in devices.into_iter().enumerate() {
        let mut ids = Vec::with_capacity(segment.len());
        for (index, device) in segment.into_iter().enumerate() {
            ids.push(
                device
                    .with_context(|| format!("no receipt for piece {index} of segment {number}"))?,
            );
        }
        device_ids.push(ids);
    }
    Ok((receipts, device_ids))
}

/// Ceiling of `price × size / 2^30`: a piece's rate per period (docs/storage.md, "Words").
pub fn piece_rate(price_per_gib_period: u128, size: u64) -> u128 {
    (price_per_gib_period.saturating_mul(u128::from(size))).div_ceil(1 << 30)
}

/// Creates the deal for a placement on chain: receipts from every provider, `CreateDeal` signed
/// by `client_key`; returns the deal id.
pub fn create_deal(
    node: &NodeApi,
    providers: &crate::provider_client::ProviderClient,
    client_key: &SigningKey,
    manifest: &Manifest,
    terms: &DealTerms,
) -> anyhow::Result<u64> {
    let chain_id = node.chain_id()?;
    let client_address = Address::from_public_key(&client_key.public_key());
    let (receipts, devices) = collect_receipts(providers, manifest, &client_address, &chain_id)?;
    let message = create_deal_message(manifest, &receipts, &devices, terms)?;
    let committed = node
        .send(client_key, &chain_id, vec![message])
        .context("creating the deal")?;
    let events = node.tx_events(&committed.hash)?;
    deal_id_from_events(&events).with_context(|| {
        format!(
            "the deal transaction {} committed but names no deal id in its events",
            committed.hash
        )
    })
}

/// A provider as the chain lists it (`GET /v1/storage/providers`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ChainProvider {
    /// Its storage device (gwd1…).
    pub device: String,
    /// Price per GiB per period, base units.
    pub price_per_gib_period: String,
    /// Bytes free for new pieces.
    pub free_bytes: u64,
    /// Its URL.
    pub endpoint: String,
    /// active, withdrawn or failed.
    pub status: String,
    /// Audit reputation, parts per million.
    pub reputation_ppm: u64,
}

/// A deal as the chain shows it (`GET /v1/storage/deals/{id}`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ChainDeal {
    /// Its id.
    pub id: u64,
    /// The client's address (gw1…).
    pub client: String,
    /// The file's CID.
    pub cid: String,
    /// The file's length.
    pub file_size: u64,
    /// k.
    pub data_pieces: u16,
    /// n.
    pub total_pieces: u16,
    /// Segment size.
    pub segment_size: u64,
    /// Repair threshold.
    pub repair_threshold: u16,
    /// Its first proving period.
    #[serde(default)]
    pub start_period: u64,
    /// active, completed or terminated.
    pub status: String,
    /// Its segments.
    pub segments: Vec<ChainSegment>,
    /// What was refunded to the client, base units.
    #[serde(default)]
    pub refunded: String,
    /// The proof history (only in a single deal's answer).
    #[serde(default)]
    pub proofs: Option<Vec<ChainProof>>,
}

/// A segment of a [`ChainDeal`].
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ChainSegment {
    /// Its length.
    pub length: u64,
    /// Its pieces by index.
    pub pieces: Vec<ChainPiece>,
}

/// A piece of a [`ChainSegment`].
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ChainPiece {
    /// Piece index.
    pub index: u32,
    /// Its provider (gwd1…).
    pub provider: String,
    /// Its commitment, hex.
    pub commitment: String,
    /// Its size.
    pub size: u64,
    /// Its provider missed the last settled period.
    #[serde(default)]
    pub missed_last: bool,
    /// The first period its current provider answers for.
    #[serde(default)]
    pub since_period: u64,
    /// After a repair: the provider that answers for it in the periods before `since_period`.
    #[serde(default)]
    pub previous_provider: Option<String>,
}

/// One provider's outcome for one period of a deal (`proofs` of `GET /v1/storage/deals/{id}`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ChainProof {
    /// The period.
    pub period: u64,
    /// The provider (gwd1…).
    pub provider: String,
    /// proven or missed.
    pub outcome: String,
}

/// What a deal's providers must prove now (`GET /v1/storage/challenges/{deal}`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ChainChallenges {
    /// The period whose window is open, if one is.
    pub period: Option<u64>,
    /// Per provider.
    pub providers: Vec<ChainProviderChallenges>,
}

/// One provider's challenges.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ChainProviderChallenges {
    /// The provider.
    pub provider: String,
    /// Already proven.
    pub proven: bool,
    /// The chunks, in proof order.
    pub challenges: Vec<ChainChallenge>,
}

/// One challenged chunk.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct ChainChallenge {
    /// Segment.
    pub segment: u32,
    /// Piece index.
    pub piece: u32,
    /// Chunk index.
    pub chunk: u64,
}

/// Most pages read from one listing (1000 entries each).
const MAX_PAGES: usize = 100;

impl NodeApi {
    fn pages<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        field: &str,
    ) -> anyhow::Result<Vec<T>> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let separator = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(cursor) => format!("{path}{separator}limit=1000&cursor={cursor}"),
                None => format!("{path}{separator}limit=1000"),
            };
            let page = self.get(&url)?.with_context(|| {
                format!("the node does not serve {path}: is it a storage-enabled node?")
            })?;
            let list = page[field].as_array().cloned().unwrap_or_default();
            for item in list {
                items.push(
                    serde_json::from_value(item).with_context(|| format!("an entry of {path}"))?,
                );
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return Ok(items),
            }
        }
        Ok(items)
    }

    /// Every registered storage provider.
    pub fn storage_providers(&self) -> anyhow::Result<Vec<ChainProvider>> {
        self.pages("/v1/storage/providers", "providers")
    }

    /// A deal.
    pub fn deal(&self, id: u64) -> anyhow::Result<Option<ChainDeal>> {
        match self.get(&format!("/v1/storage/deals/{id}"))? {
            Some(value) => Ok(Some(
                serde_json::from_value(value).context("the deal's JSON")?,
            )),
            None => Ok(None),
        }
    }

    /// The deals storing a CID.
    pub fn deals_of_cid(&self, cid: &str) -> anyhow::Result<Vec<ChainDeal>> {
        self.pages(&format!("/v1/storage/deals?cid={cid}"), "deals")
    }

    /// The deals a provider was ever placed in.
    pub fn deals_of_provider(&self, device: &DeviceId) -> anyhow::Result<Vec<ChainDeal>> {
        self.pages(&format!("/v1/storage/deals?provider={device}"), "deals")
    }

    /// What is due now in a deal, for one provider.
    pub fn challenges(
        &self,
        deal: u64,
        device: &DeviceId,
    ) -> anyhow::Result<Option<ChainChallenges>> {
        match self.get(&format!("/v1/storage/challenges/{deal}?provider={device}"))? {
            Some(value) => Ok(Some(
                serde_json::from_value(value).context("the challenges' JSON")?,
            )),
            None => Ok(None),
        }
    }
}

/// Candidates for placement from the chain's registered, active providers: price and reputation
/// from the chain, free space and limits from each provider's own `/v1/info` (it must answer).
pub fn chain_candidates(
    node: &NodeApi,
    client: &crate::provider_client::ProviderClient,
) -> anyhow::Result<Vec<crate::placement::Candidate>> {
    let listed: Vec<ChainProvider> = node
        .storage_providers()?
        .into_iter()
        .filter(|provider| provider.status == "active")
        .collect();
    let urls: Vec<String> = listed.iter().map(|p| p.endpoint.clone()).collect();
    let (answered, _) = crate::client::discover(client, &urls);
    let mut candidates = Vec::new();
    for mut candidate in answered {
        let Some(on_chain) = listed.iter().find(|p| p.endpoint == candidate.url) else {
            continue;
        };
        // Trust the provider's answer only about itself: it must be the device the chain lists.
        if candidate.info.provider != on_chain.device {
            continue;
        }
        candidate.price = on_chain.price_per_gib_period.parse().unwrap_or(u128::MAX);
        candidate.reputation_ppm = on_chain.reputation_ppm;
        candidate.info.free = candidate.info.free.min(on_chain.free_bytes);
        candidates.push(candidate);
    }
    Ok(candidates)
}

/// The placement a deal records, as a manifest (provider URLs from the chain's offers).
pub fn manifest_of_deal(node: &NodeApi, deal: &ChainDeal) -> anyhow::Result<Manifest> {
    let endpoints: std::collections::BTreeMap<String, String> = node
        .storage_providers()?
        .into_iter()
        .map(|p| (p.device, p.endpoint))
        .collect();
    let manifest = Manifest {
        version: crate::manifest::MANIFEST_VERSION,
        cid: deal.cid.clone(),
        file_len: deal.file_size,
        data_pieces: deal.data_pieces,
        total_pieces: deal.total_pieces,
        segment_size: deal.segment_size,
        segments: deal
            .segments
            .iter()
            .map(|segment| crate::manifest::SegmentPlacement {
                len: segment.length,
                pieces: segment
                    .pieces
                    .iter()
                    .map(|piece| crate::manifest::PiecePlacement {
                        index: u16::try_from(piece.index).unwrap_or(u16::MAX),
                        root: piece.commitment.clone(),
                        len: piece.size,
                        provider: piece.provider.clone(),
                        url: endpoints.get(&piece.provider).cloned().unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect(),
        deal_id: Some(deal.id),
    };
    manifest
        .validate()
        .with_context(|| format!("deal {}", deal.id))?;
    Ok(manifest)
}

/// What one pass of the prover did.
#[derive(Debug, Clone, Default)]
pub struct ProverPass {
    /// `(deal, period)` proven now.
    pub proven: Vec<(u64, u64)>,
    /// Why a deal could not be proven.
    pub failures: Vec<(u64, String)>,
}

/// One pass of a provider's prover: for each deal it is in, if a proof window is open and its
/// period is not proven, build the proofs from the stored pieces and send `SubmitStorageProof`
/// (signed by `submitter`, any funded account).
pub fn prove_due(
    node: &NodeApi,
    store: &crate::store::PieceStore,
    identity: &ProviderIdentity,
    submitter: &SigningKey,
) -> anyhow::Result<ProverPass> {
    use groundwork_storage_net::commitment::PieceTree;

    let device = identity.device_id();
    let mut pass = ProverPass::default();
    for deal in node.deals_of_provider(&device)? {
        if deal.status != "active" {
            continue;
        }
        let Some(due) = node.challenges(deal.id, &device)? else {
            continue;
        };
        let Some(period) = due.period else {
            continue;
        };
        let device_text = device.to_string();
        let Some(mine) = due
            .providers
            .iter()
            .find(|p| p.provider == device_text && !p.proven)
        else {
            continue;
        };
        let built = (|| -> anyhow::Result<Vec<Vec<u8>>> {
            let mut trees: std::collections::BTreeMap<(u32, u32), (Vec<u8>, PieceTree)> =
                std::collections::BTreeMap::new();
            let mut proofs = Vec::with_capacity(mine.challenges.len());
            for challenge in &mine.challenges {
                let key = (challenge.segment, challenge.piece);
                if let std::collections::btree_map::Entry::Vacant(slot) = trees.entry(key) {
                    let piece = deal
                        .segments
                        .get(challenge.segment as usize)
                        .and_then(|s| s.pieces.get(challenge.piece as usize))
                        .context("a challenge names a piece the deal does not have")?;
                    let root = crate::store::parse_root(&piece.commitment)
                        .context("the deal's commitment is not hex")?;
                    let bytes = store.read(&root, 0, piece.size)?;
                    let tree = PieceTree::build(&bytes);
                    slot.insert((bytes, tree));
                }
                let (bytes, tree) = &trees[&key];
                let proof = tree.prove(bytes, challenge.chunk).map_err(|error| {
                    anyhow::anyhow!("proving chunk {}: {error}", challenge.chunk)
                })?;
                proofs.push(proof.to_bytes());
            }
            Ok(proofs)
        })();
        let proofs = match built {
            Ok(proofs) => proofs,
            Err(error) => {
                pass.failures.push((deal.id, format!("{error:#}")));
                continue;
            }
        };
        let message = v1::Message {
            kind: Some(v1::message::Kind::SubmitStorageProof(
                v1::SubmitStorageProof {
                    deal_id: deal.id,
                    provider: device.as_bytes().to_vec(),
                    period,
                    proofs,
                },
            )),
        };
        match node.send(submitter, &identity.chain_id, vec![message]) {
            Ok(_) => pass.proven.push((deal.id, period)),
            Err(error) => pass.failures.push((deal.id, format!("{error:#}"))),
        }
    }
    Ok(pass)
}

/// Sends `RepairDeal` for a piece rebuilt on `new_url` (whose provider signs the receipt for the
/// deal's client).
pub fn submit_repair(
    node: &NodeApi,
    providers: &crate::provider_client::ProviderClient,
    repairer: &SigningKey,
    deal: &ChainDeal,
    segment: u32,
    piece: u32,
    new_url: &str,
) -> anyhow::Result<()> {
    let chain_id = node.chain_id()?;
    let client_address: Address = deal
        .client
        .parse()
        .map_err(|_| anyhow::anyhow!("deal {} names client {:?}", deal.id, deal.client))?;
    let placed = deal
        .segments
        .get(segment as usize)
        .and_then(|s| s.pieces.get(piece as usize))
        .context("no such piece in the deal")?;
    let answer = providers.receipts(
        new_url,
        &crate::wire::ReceiptsRequest {
            client: client_address.to_string(),
            cid: deal.cid.clone(),
            pieces: vec![crate::wire::ReceiptPiece {
                segment,
                piece,
                root: placed.commitment.clone(),
            }],
        },
    )?;
    let device: DeviceId = answer
        .device
        .parse()
        .map_err(|_| anyhow::anyhow!("{new_url} named device {:?}", answer.device))?;
    let receipt = answer
        .receipts
        .first()
        .context("the new provider sent no receipt")?;
    let message = v1::Message {
        kind: Some(v1::message::Kind::RepairDeal(v1::RepairDeal {
            deal_id: deal.id,
            segment,
            piece,
            new_provider: device.as_bytes().to_vec(),
            commitment: hex::decode(&placed.commitment)?,
            size: placed.size,
            receipt: hex::decode(&receipt.signature)?,
        })),
    };
    node.send(repairer, &chain_id, vec![message])
        .with_context(|| format!("RepairDeal for piece {piece} of segment {segment}"))?;
    Ok(())
}

/// What an early termination came to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Termination {
    /// The deal.
    pub deal: u64,
    /// The terminating transaction's hash, hex.
    pub hash: String,
    /// Its block.
    pub height: Option<u64>,
    /// What went back to the client now, base units.
    pub refunded: String,
    /// What the providers kept of their unearned payments, base units.
    pub penalty_to_providers: String,
}

/// Ends deal `deal` early with `TerminateDeal` signed by `client_key` (docs/storage.md,
/// "TerminateDeal"): checks first that the deal exists, is active and is this key's, so that a
/// mistake costs no fee, then reads the refund and the providers' penalty from the transaction's
/// `storage_deal_ended` event.
pub fn terminate_deal(
    node: &NodeApi,
    client_key: &SigningKey,
    deal: u64,
) -> anyhow::Result<Termination> {
    let chain_id = node.chain_id()?;
    let client = Address::from_public_key(&client_key.public_key());
    let found = node
        .deal(deal)?
        .with_context(|| format!("no deal {deal} on chain"))?;
    if found.status != "active" {
        bail!(
            "deal {deal} is already {}: only an active deal can be terminated",
            found.status
        );
    }
    if found.client != client.to_string() {
        bail!(
            "deal {deal} belongs to {}, not to {client}: only its client can terminate it (--key)",
            found.client
        );
    }
    let message = v1::Message {
        kind: Some(v1::message::Kind::TerminateDeal(v1::TerminateDeal {
            deal_id: deal,
        })),
    };
    let committed = node
        .send(client_key, &chain_id, vec![message])
        .with_context(|| format!("terminating deal {deal}"))?;
    let events = node.tx_events(&committed.hash)?;
    let ended = events
        .iter()
        .find(|(kind, _)| kind == "storage_deal_ended")
        .with_context(|| {
            format!(
                "the termination {} committed but reports no storage_deal_ended event",
                committed.hash
            )
        })?;
    let attribute = |name: &str| {
        ended
            .1
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    Ok(Termination {
        deal,
        hash: committed.hash,
        height: committed.height,
        refunded: attribute("refunded"),
        penalty_to_providers: attribute("penalty_to_providers"),
    })
}
