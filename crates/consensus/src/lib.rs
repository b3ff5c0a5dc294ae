//! Drives Groundwork's state machine with Commonware's Simplex BFT consensus: one validator or
//! many, the same code path (one validator is a set of one).
//!
//! Nothing outside this crate names the engine: callers hand [`start`] the app, a [`Mempool`],
//! the validator set from genesis, this validator's seed, a runtime context (Commonware's tokio
//! runtime in a node, its deterministic runtime in tests) and five network channels.
//!
//! ```text
//!            votes, certificates, resolver             blocks (broadcast), backfill
//!   peers ◀──────────────────────────────▶ simplex ◀──▶ marshal ◀──────────────────▶ peers
//!                                             │            │ finalized blocks, in order
//!                              propose/verify │            ▼
//!                                          Driver      Finalizer ──apply, commit, ack──▶ App
//!                                             └── prepare_proposal, finalize_block,  ──▶ App
//!                                                 process_proposal
//! ```
//!
//! Votes and certificates are journaled by simplex before they are sent, and finalized blocks
//! and their certificates are kept in marshal's archives, so a restarted validator never signs
//! twice in a view and catches up by backfill. How blocks are built, verified and applied is
//! described in the `driver` module.

mod block;
mod driver;
mod gossip;
mod service;

use std::num::{NonZeroU16, NonZeroU64, NonZeroUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use commonware_broadcast::buffered;
use commonware_codec::DecodeExt as _;
use commonware_consensus::marshal::core::Actor as MarshalActor;
use commonware_consensus::marshal::resolver::p2p as marshal_resolver;
use commonware_consensus::marshal::standard::{Inline, Standard};
use commonware_consensus::marshal::{Config as MarshalConfig, Start};
use commonware_consensus::simplex::config::{
    Config as SimplexConfig, Floor, ForwardPolicy, SkipPolicy,
};
use commonware_consensus::simplex::elector::RoundRobin;
use commonware_consensus::types::{Epoch, FixedEpocher, ViewDelta};
use commonware_cryptography::certificate::{ConstantProvider, Verifier as _};
use commonware_cryptography::ed25519;
use commonware_cryptography::sha256::Sha256;
use commonware_cryptography::{Digested, Digestible as _, Signer as _};
use commonware_p2p::{Blocker, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage};
use commonware_storage::archive::immutable;
use commonware_utils::ordered::Set;
use groundwork_app::{App, BlockLimits, Genesis, PooledTx};
use groundwork_primitives::{Hash, PublicKey as GroundworkPublicKey};
use groundwork_state::Store;
use rand_core::CryptoRng;

pub use block::{Block, BlockCodec};
pub use gossip::GOSSIP_LIMITS;
pub use service::{P2pConfig, RunningValidator, spawn};

/// The certificate scheme: ed25519 signatures from each validator.
pub type Scheme = commonware_consensus::simplex::scheme::ed25519::Scheme;
/// A validator's consensus identity (its genesis ed25519 key).
pub type ValidatorKey = ed25519::PublicKey;
/// A validator's consensus signing key (from the same seed as its Groundwork key).
pub type ValidatorSigner = ed25519::PrivateKey;

/// The network channels, by number. Every validator of a network must use the same numbers.
pub mod channels {
    /// Simplex votes.
    pub const VOTES: u64 = 0;
    /// Simplex certificates.
    pub const CERTIFICATES: u64 = 1;
    /// Simplex's fetching of missing certificates.
    pub const RESOLVER: u64 = 2;
    /// Marshal's block broadcast.
    pub const BLOCKS: u64 = 3;
    /// Marshal's backfill of missing blocks.
    pub const BACKFILL: u64 = 4;
    /// Transactions and device reports shared between validators.
    pub const GOSSIP: u64 = 5;
}

/// Errors while starting consensus.
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    /// A genesis validator key is not 32 bytes of hex naming an ed25519 point.
    #[error("validator {name:?} has an invalid public key: {reason}")]
    BadValidatorKey {
        /// The validator's name in genesis.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Genesis lists no validators.
    #[error("genesis lists no validators")]
    NoValidators,
    /// This node's key is not in the validator set.
    #[error("this node's key {0} is not one of the genesis validators")]
    NotAValidator(String),
    /// The store has no genesis state.
    #[error("the store has no genesis state: run init_chain first")]
    NotInitialized,
    /// The runtime could not start.
    #[error("runtime: {0}")]
    Runtime(String),
    /// The app failed.
    #[error("app: {0}")]
    App(#[from] groundwork_app::AppError),
}

/// A block the app has just committed, as the mempool needs to know it.
#[derive(Debug, Clone, Copy)]
pub struct CommittedBlock<'a> {
    /// Its height.
    pub height: u64,
    /// Its time (the proposer's clock when it built it), ms since the Unix epoch.
    pub time_ms: u64,
    /// Its transactions' hashes (SHA-256 of the envelope bytes), in block order.
    pub tx_hashes: &'a [Hash],
    /// Its device reports' hashes (SHA-256 of the envelope bytes), in block order.
    pub report_hashes: &'a [Hash],
    /// Its transactions that failed (charged their fee, changed nothing else).
    pub failed_txs: u64,
    /// Its reports that counted.
    pub valid_reports: u64,
    /// Its reports refused with a verdict.
    pub invalid_reports: u64,
}

/// Transactions and device reports one validator shares with the others, so that whichever
/// validator leads a view can propose them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gossip {
    /// Transaction envelopes, as submitted.
    pub txs: Vec<Vec<u8>>,
    /// Signed device reports, as submitted.
    pub reports: Vec<Vec<u8>>,
}

impl Gossip {
    /// Whether it carries nothing.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty() && self.reports.is_empty()
    }
}

/// What [`Mempool`] implementations are asked; the node's mempool implements it.
pub trait Mempool: Send + Sync + 'static {
    /// Transactions to offer the next proposal, in the order to try them (per sender in nonce
    /// order), at most `max_txs` of them and about `max_bytes`, decoded.
    fn candidates(&self, max_txs: usize, max_bytes: usize) -> Vec<Arc<PooledTx>>;
    /// Those of `hashes` (a proposal's transactions) waiting here, by position, so verifying
    /// the proposal does not decode them again (`None` for the others). None by default.
    fn waiting(&self, hashes: &[Hash]) -> Vec<Option<Arc<PooledTx>>> {
        vec![None; hashes.len()]
    }
    /// Signed device reports to put in the next proposal, at most `max_reports`, oldest first.
    /// Offer them without removing them: a proposal may never be finalized. Those a committed
    /// block included are dropped in [`Mempool::committed`]. None by default.
    fn report_candidates(&self, max_reports: usize) -> Vec<Vec<u8>> {
        let _ = max_reports;
        Vec::new()
    }
    /// `block` was committed (the new state is in `store`): drop its transactions and reports
    /// and any made stale. Called with the app locked, so no proposal is built in between.
    fn committed(&self, block: CommittedBlock<'_>, store: &Store);
    /// Another validator shared transactions and reports (see [`EngineHandle::share`]): admit
    /// them like submissions, without sharing them again. Ignored by default.
    fn received(&self, gossip: Gossip) {
        let _ = gossip;
    }
}

/// What the engine reports about itself, for `/v1/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// The validator set, in genesis order, hex.
    pub validators: Vec<String>,
    /// This node's validator key, hex.
    pub me: String,
    /// The highest finalized height known (blocks up to it may still be arriving).
    pub finalized_height: u64,
    /// The view of that finalization.
    pub finalized_view: u64,
    /// The highest view this validator has seen a certificate for, plus one: the view it is
    /// in or about to enter.
    pub current_view: u64,
    /// Views that ended without a block (nullified) since this node started.
    pub views_nullified: u64,
    /// The last height applied to the app.
    pub applied_height: u64,
    /// The app hash after it.
    pub app_hash: Hash,
    /// Time from the last applied block's proposal (its header time) to its application here,
    /// in milliseconds.
    pub last_finality_ms: u64,
}

/// How consensus runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Prefix of every storage partition (unique per validator when several share a runtime).
    pub partition_prefix: String,
    /// The block interval: a leader proposes no sooner than this after its parent's time.
    pub block_interval: Duration,
    /// How long validators wait for a leader's proposal beyond the block interval.
    pub leader_timeout_margin: Duration,
    /// Block limits for proposals (transactions).
    pub limits: BlockLimits,
    /// Most device reports in one proposal.
    pub max_reports: usize,
    /// Largest encoded block accepted from the network.
    pub max_block_bytes: u32,
    /// Messages per second each peer may send on each channel.
    pub quota_per_second: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            partition_prefix: "groundwork".into(),
            block_interval: Duration::from_millis(500),
            leader_timeout_margin: Duration::from_secs(2),
            limits: BlockLimits::default(),
            max_reports: 10_000,
            max_block_bytes: 20 * 1024 * 1024,
            quota_per_second: 10_000,
        }
    }
}

impl Config {
    /// The largest network message consensus sends (a block plus framing).
    pub fn max_message_size(&self) -> u32 {
        self.max_block_bytes.saturating_add(64 * 1024)
    }
}

/// The Commonware signing key for a Groundwork validator seed (the 32-byte ed25519 seed in
/// `keys/validator.json`): the same key pair, so its public key is the one genesis lists.
pub fn signer_from_seed(seed: [u8; 32]) -> Result<ValidatorSigner, ConsensusError> {
    ValidatorSigner::decode(seed.to_vec()).map_err(|e| ConsensusError::BadValidatorKey {
        name: "this node".into(),
        reason: e.to_string(),
    })
}

/// A validator key from its 32 bytes, if they name an ed25519 point.
pub fn validator_key(bytes: &[u8]) -> Option<ValidatorKey> {
    ValidatorKey::decode(bytes.to_vec()).ok()
}

/// The validator keys listed in genesis, in genesis order.
pub fn validator_keys(genesis: &Genesis) -> Result<Vec<ValidatorKey>, ConsensusError> {
    if genesis.validators.is_empty() {
        return Err(ConsensusError::NoValidators);
    }
    genesis
        .validators
        .iter()
        .map(|v| {
            let bad = |reason: String| ConsensusError::BadValidatorKey {
                name: v.name.clone(),
                reason,
            };
            let bytes = hex::decode(&v.public_key).map_err(|e| bad(e.to_string()))?;
            ValidatorKey::decode(bytes).map_err(|e| bad(e.to_string()))
        })
        .collect()
}

/// Renders the engine's own metrics (Prometheus text).
type MetricsRenderer = Box<dyn Fn() -> String + Send + Sync>;

/// A running validator's view of itself, and the way to share transactions with the others.
#[derive(Clone)]
pub struct EngineHandle {
    status: Arc<Mutex<Status>>,
    gossip: Option<futures::channel::mpsc::UnboundedSender<Gossip>>,
    metrics: Arc<Mutex<Option<MetricsRenderer>>>,
}

impl EngineHandle {
    fn new(status: Arc<Mutex<Status>>) -> EngineHandle {
        EngineHandle {
            status,
            gossip: None,
            metrics: Arc::new(Mutex::new(None)),
        }
    }

    /// The engine's status now.
    pub fn status(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Sends transactions and reports this node admitted to every other validator (batched;
    /// best effort: a peer that is down misses them, and the submitter's node still proposes
    /// them when it leads). Does nothing when there are no other validators.
    pub fn share(&self, gossip: Gossip) {
        if gossip.is_empty() {
            return;
        }
        if let Some(sender) = &self.gossip {
            let _ = sender.unbounded_send(gossip);
        }
    }

    /// The engine's own metrics in the Prometheus text format (views, timeouts by reason,
    /// peers, messages, storage), or nothing when the runtime does not expose them.
    pub fn engine_metrics(&self) -> String {
        self.metrics
            .lock()
            .ok()
            .and_then(|m| m.as_ref().map(|render| render()))
            .unwrap_or_default()
    }
}

/// One (sender, receiver) pair of a network channel.
pub type Channel<S, R> = (S, R);

/// The five channels consensus needs (see [`channels`]).
pub struct Network<S, R> {
    /// [`channels::VOTES`].
    pub votes: Channel<S, R>,
    /// [`channels::CERTIFICATES`].
    pub certificates: Channel<S, R>,
    /// [`channels::RESOLVER`].
    pub resolver: Channel<S, R>,
    /// [`channels::BLOCKS`].
    pub blocks: Channel<S, R>,
    /// [`channels::BACKFILL`].
    pub backfill: Channel<S, R>,
}

/// Everything [`start`] needs besides the runtime and the network.
pub struct Validator {
    /// The app over its store (initialised with genesis).
    pub app: App,
    /// The genesis document (for the validator set and the chain id).
    pub genesis: Genesis,
    /// This validator's seed.
    pub seed: [u8; 32],
    /// Where proposals take their transactions from.
    pub mempool: Arc<dyn Mempool>,
    /// How consensus runs.
    pub config: Config,
}

const PAGE_SIZE: NonZeroU16 = match NonZeroU16::new(4096) {
    Some(n) => n,
    None => NonZeroU16::MIN,
};
pub(crate) const fn non_zero(n: usize) -> NonZeroUsize {
    match NonZeroUsize::new(n) {
        Some(n) => n,
        None => NonZeroUsize::MIN,
    }
}

/// Starts consensus for one validator and returns at once; the engine runs in tasks spawned
/// from `context` until it is aborted or the runtime stops.
///
/// `blocker` blocks misbehaving peers; `peers` tells marshal's broadcast and backfill who is
/// connected (the network's peer manager).
pub async fn start<E, S, R, B, P>(
    context: E,
    validator: Validator,
    network: Network<S, R>,
    blocker: B,
    peers: P,
) -> Result<(EngineHandle, Handle<()>), ConsensusError>
where
    E: Clock + CryptoRng + Spawner + Storage + Metrics + rand_core::Rng + Send + Sync + 'static,
    S: Sender<PublicKey = ValidatorKey>,
    R: Receiver<PublicKey = ValidatorKey>,
    B: Blocker<PublicKey = ValidatorKey>,
    P: commonware_p2p::Provider<PublicKey = ValidatorKey>,
{
    let Validator {
        app,
        genesis,
        seed,
        mempool,
        config,
    } = validator;
    let keys = validator_keys(&genesis)?;
    let signer = signer_from_seed(seed)?;
    let me = signer.public_key();
    if !keys.contains(&me) {
        return Err(ConsensusError::NotAValidator(hex::encode(me.as_ref())));
    }
    let participants = Set::from_iter_dedup(keys.iter().cloned());
    let namespace = format!("groundwork/{}", genesis.chain_id);
    let scheme = Scheme::signer(namespace.as_bytes(), participants, signer)
        .ok_or_else(|| ConsensusError::NotAValidator(hex::encode(me.as_ref())))?;

    let store = app.store().clone();
    // The anchor's digest is the zero hash whatever it holds (see `block`); it carries only
    // facts that never change, so it is the same on every start.
    let genesis_block = Block::genesis(&genesis.chain_id, genesis.genesis_time_ms, Hash::ZERO);
    let tip = app.tip()?.ok_or(ConsensusError::NotInitialized)?;
    let status = Arc::new(Mutex::new(Status {
        validators: keys.iter().map(|k| hex::encode(k.as_ref())).collect(),
        me: hex::encode(me.as_ref()),
        finalized_height: tip.height,
        finalized_view: 0,
        current_view: 0,
        views_nullified: 0,
        applied_height: tip.height,
        app_hash: tip.app_hash,
        last_finality_ms: 0,
    }));
    let shared = Arc::new(driver::Shared {
        app: Arc::new(Mutex::new(app)),
        store,
        mempool,
        status: status.clone(),
        block_interval: config.block_interval,
        limits: config.limits,
        max_reports: config.max_reports,
        now_ms: {
            let clock = context.child("clock");
            Box::new(move || {
                clock
                    .current()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0)
            })
        },
        notes: Mutex::new(std::collections::BTreeMap::new()),
    });
    let codec = BlockCodec {
        max_block_bytes: config.max_block_bytes,
    };
    let prefix = config.partition_prefix.clone();
    let page_cache = CacheRef::new(PAGE_SIZE, non_zero(64));
    let mailbox_size = non_zero(1024);
    let buffer = non_zero(64 * 1024);
    let epocher = FixedEpocher::new(NonZeroU64::MAX);

    // Block dissemination and backfill.
    let (blocks_engine, blocks_mailbox) = buffered::Engine::new(
        context.child("blocks"),
        buffered::Config {
            public_key: me.clone(),
            mailbox_size,
            deque_size: 64,
            priority: false,
            codec_config: codec,
            peer_provider: peers.clone(),
            strategy: Sequential,
        },
    );
    blocks_engine.start(network.blocks);
    let resolver = marshal_resolver::init(
        context.child("backfill"),
        marshal_resolver::Config {
            public_key: me.clone(),
            peer_provider: peers,
            blocker: blocker.clone(),
            mailbox_size,
            fetch_timeout: commonware_utils::NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        network.backfill,
    );

    let finalizations = immutable::Archive::init(
        context.child("finalizations"),
        archive_config(
            &prefix,
            "finalizations",
            scheme.certificate_codec_config(),
            &page_cache,
            buffer,
        ),
    )
    .await
    .map_err(|e| storage_error("finalizations", e))?;
    let finalized_blocks = immutable::Archive::init(
        context.child("finalized_blocks"),
        archive_config(&prefix, "finalized-blocks", codec, &page_cache, buffer),
    )
    .await
    .map_err(|e| storage_error("finalized blocks", e))?;

    let provider = ConstantProvider::new(scheme.clone());
    let (marshal, marshal_mailbox, _floor) = MarshalActor::<
        _,
        Standard<Block>,
        _,
        _,
        _,
        _,
        _,
        commonware_utils::acknowledgement::Exact,
    >::init(
        context.child("marshal"),
        finalizations,
        finalized_blocks,
        MarshalConfig {
            provider,
            epocher: epocher.clone(),
            start: Start::Genesis(Digested::precomputed(
                genesis_block.clone(),
                genesis_block.digest(),
            )),
            partition_prefix: format!("{prefix}-marshal"),
            mailbox_size,
            view_retention: ViewDelta::new(16),
            prunable_items_per_section: commonware_utils::NZU64!(64),
            page_cache: page_cache.clone(),
            replay_buffer: buffer,
            key_write_buffer: buffer,
            value_write_buffer: buffer,
            block_codec_config: codec,
            max_repair: non_zero(16),
            max_pending_acks: non_zero(1),
            strategy: Sequential,
        },
    )
    .await;
    marshal.start(
        driver::Finalizer {
            shared: shared.clone(),
        },
        blocks_mailbox,
        resolver,
    );

    let wrapper = Inline::new(
        context.child("application"),
        driver::Driver {
            shared: shared.clone(),
        },
        marshal_mailbox,
        epocher,
    );
    let leader_timeout = config.block_interval + config.leader_timeout_margin;
    let engine = commonware_consensus::simplex::Engine::new(
        context.child("simplex"),
        SimplexConfig {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker,
            automaton: wrapper.clone(),
            relay: wrapper.clone(),
            reporter: driver::Observer {
                inner: wrapper,
                shared: shared.clone(),
            },
            strategy: Sequential,
            partition: format!("{prefix}-simplex"),
            mailbox_size,
            epoch: Epoch::zero(),
            floor: Floor::Genesis(genesis_block.digest()),
            replay_buffer: buffer,
            write_buffer: buffer,
            page_cache,
            leader_timeout,
            certification_timeout: leader_timeout * 2,
            timeout_retry: leader_timeout,
            view_retention: ViewDelta::new(16),
            skip: SkipPolicy::Disabled,
            fetch_timeout: commonware_utils::NZDuration!(Duration::from_secs(1)),
            fetch_retry_delay: Duration::from_millis(100),
            forward: ForwardPolicy::Disabled,
            track_historical_votes: false,
        },
    );
    let handle = engine.start(network.votes, network.certificates, network.resolver);
    Ok((EngineHandle::new(status), handle))
}

/// The layout of one of marshal's archives (finalizations or finalized blocks).
fn archive_config<C>(
    prefix: &str,
    name: &str,
    codec_config: C,
    page_cache: &CacheRef,
    buffer: NonZeroUsize,
) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{prefix}-{name}-metadata"),
        freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
        freezer_table_initial_size: 64,
        freezer_table_resize_frequency: 10,
        freezer_table_resize_chunk_size: 10,
        freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
        freezer_value_target_size: 64 * 1024 * 1024,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{name}-ordinal"),
        items_per_section: commonware_utils::NZU64!(1024),
        codec_config,
        replay_buffer: buffer,
        freezer_key_write_buffer: buffer,
        freezer_value_write_buffer: buffer,
        ordinal_write_buffer: buffer,
    }
}

fn storage_error(what: &str, error: impl std::fmt::Display) -> ConsensusError {
    ConsensusError::App(groundwork_app::AppError::InvalidBlock(format!(
        "cannot open the {what} archive: {error}"
    )))
}

/// The Groundwork form of a validator key.
pub fn groundwork_key(key: &ValidatorKey) -> Option<GroundworkPublicKey> {
    GroundworkPublicKey::ed25519(key.as_ref()).ok()
}
