//! The bridge between Simplex (through marshal) and the app: building and verifying proposals,
//! and applying finalized blocks.
//!
//! **Proposing.** The leader waits until the parent is the app's committed tip (it usually is a
//! moment after the parent is notarized: its finalization follows at once) and until the block
//! interval since the parent's time has passed, then takes mempool candidates, runs
//! `prepare_proposal` and `finalize_block`. The execution stays pending in the app, so applying
//! the same block once finalized does not execute it again.
//!
//! **Verifying.** A validator waits until the parent is its committed tip, then re-executes the
//! block with `process_proposal` and votes for it only if every header field matches. It never
//! answers `false` for a reason that can pass (parent not applied yet, a store error): it keeps
//! the request pending instead, which abstains.
//!
//! **Finalized blocks** arrive from marshal in height order, at least once. A block at or below
//! the tip was applied before (a redelivery after a restart): it is checked against the stored
//! hash and acknowledged. The next block is applied (`process_proposal` then `commit`, one
//! durable redb transaction) and then acknowledged, so a crash between the two only causes a
//! redelivery.
//!
//! **Known limit.** The app executes only on its committed tip, so a block is built or verified
//! only once its parent is finalized. If a parent is notarized but its own finalization never
//! forms (some validators nullified that view first), Simplex keeps offering it as the parent
//! and the chain waits; executing on notarized, unfinalized parents (state overlays per
//! uncommitted block) removes this.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, UNIX_EPOCH};

use commonware_actor::Feedback;
use commonware_consensus::Viewable as _;
use commonware_consensus::marshal::Update;
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_consensus::simplex::types::{Activity, Context};
use commonware_consensus::{Application, Reporter};
use commonware_cryptography::{Digested, Digestible as _, ed25519};
use commonware_runtime::{Clock, Metrics, Spawner};
use commonware_utils::Acknowledgement as _;
use futures::StreamExt as _;
use groundwork_app::{App, BlockInput, BlockLimits};
use groundwork_primitives::{Hash, PublicKey, sha256};
use groundwork_state::{Store, Tip};
use rand_core::CryptoRng;

use crate::block::Block;
use crate::{CommittedBlock, Mempool, Scheme, Status};

/// How often a waiting proposal or verification looks at the tip again.
const POLL: Duration = Duration::from_millis(5);

/// Views whose notes are kept for timeout logs.
const NOTES_KEPT: usize = 256;

/// The consensus digest type.
pub(crate) type Digest = commonware_cryptography::sha256::Digest;

/// What the driver shares between consensus tasks.
pub(crate) struct Shared {
    pub(crate) app: Arc<Mutex<App>>,
    pub(crate) store: Store,
    pub(crate) mempool: Arc<dyn Mempool>,
    pub(crate) status: Arc<Mutex<Status>>,
    pub(crate) block_interval: Duration,
    pub(crate) limits: BlockLimits,
    pub(crate) max_reports: usize,
    /// Wall-clock milliseconds (for the finality time on the status page only).
    pub(crate) now_ms: Box<dyn Fn() -> u64 + Send + Sync>,
    /// What this validator did in recent views, to say why a view timed out.
    pub(crate) notes: Mutex<BTreeMap<u64, String>>,
}

impl Shared {
    fn app(&self) -> Option<MutexGuard<'_, App>> {
        self.app.lock().ok()
    }

    /// Records what happened in `view` here (kept for the last [`NOTES_KEPT`] views).
    fn note(&self, view: u64, note: String) {
        if let Ok(mut notes) = self.notes.lock() {
            notes.insert(view, note);
            while notes.len() > NOTES_KEPT {
                notes.pop_first();
            }
        }
    }

    /// What happened in `view` here, if anything was recorded.
    pub(crate) fn note_of(&self, view: u64) -> Option<String> {
        self.notes.lock().ok()?.get(&view).cloned()
    }

    fn tip(&self) -> Option<Tip> {
        match self.store.tip() {
            Ok(tip) => tip,
            Err(error) => {
                tracing::error!(%error, "cannot read the tip");
                None
            }
        }
    }

    /// The stored block hash at `height`, if any.
    fn stored_hash(&self, height: u64) -> Option<Hash> {
        if height == 0 {
            return Some(Hash::ZERO);
        }
        let bytes = self.store.block(height).ok().flatten()?;
        let block =
            <groundwork_proto::v1::Block as groundwork_proto::Message>::decode(bytes.as_slice())
                .ok()?;
        Some(Block::new(block).hash())
    }
}

/// Where a block stands against the committed tip.
enum ParentState {
    /// The parent is the tip: build or verify now.
    Ready,
    /// The parent is not applied yet.
    Waiting,
    /// The tip is past the parent's height.
    Passed,
}

fn parent_state(shared: &Shared, parent: &Block) -> ParentState {
    let Some(tip) = shared.tip() else {
        return ParentState::Waiting;
    };
    if tip.height == parent.number() && tip.block_hash == parent.hash() {
        ParentState::Ready
    } else if tip.height >= parent.number() {
        ParentState::Passed
    } else {
        ParentState::Waiting
    }
}

/// The marshal application: builds and verifies blocks with the app.
#[derive(Clone)]
pub(crate) struct Driver {
    pub(crate) shared: Arc<Shared>,
}

fn wall_ms(clock: &impl Clock) -> u64 {
    clock
        .current()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Driver {
    fn build(&self, parent: &Block, time_ms: u64, proposer: PublicKey) -> Option<Block> {
        let shared = &self.shared;
        // With the app locked, the mempool has forgotten everything the tip includes (the
        // finalizer tells it before it lets go of the app).
        let started = std::time::Instant::now();
        let mut app = shared.app()?;
        let locked = started.elapsed();
        let tip = app.tip().ok().flatten()?;
        if tip.height != parent.number() || tip.block_hash != parent.hash() {
            return None;
        }
        let candidates = shared.mempool.candidates(
            shared.limits.max_txs.saturating_mul(2),
            shared.limits.max_bytes.saturating_mul(2),
        );
        let offered = candidates.len();
        let txs = match app.prepare_pooled(&candidates, shared.limits) {
            Ok(txs) => txs,
            Err(error) => {
                tracing::error!(%error, "cannot prepare a proposal");
                return None;
            }
        };
        let prepared = started.elapsed();
        let input = BlockInput {
            height: parent.number() + 1,
            time_ms: time_ms.max(parent.time_ms()),
            parent_hash: parent.hash(),
            proposer,
            txs,
            reports: shared.mempool.report_candidates(shared.max_reports),
        };
        match app.finalize_block(input) {
            Ok(finalized) => {
                let t = finalized.timings;
                tracing::debug!(
                    height = parent.number() + 1,
                    offered,
                    txs = finalized.block.txs.len(),
                    waited_for_app_ms = locked.as_millis() as u64,
                    prepared_ms = prepared.as_millis() as u64,
                    decode_verify_ms = t.decode_verify_us / 1000,
                    execute_ms = t.execute_us / 1000,
                    state_root_ms = t.state_root_us / 1000,
                    total_ms = started.elapsed().as_millis() as u64,
                    "built a proposal"
                );
                Some(Block::new(finalized.block.clone()))
            }
            Err(error) => {
                tracing::warn!(%error, "cannot execute the proposal");
                None
            }
        }
    }
}

impl<E> Application<E> for Driver
where
    E: Clock + Spawner + Metrics + CryptoRng,
{
    type SigningScheme = Scheme;
    type Context = Context<Digest, ed25519::PublicKey>;
    type Block = Block;
    type Input = ();

    async fn propose(
        &mut self,
        (clock, context): (E, Self::Context),
        mut ancestry: impl Ancestry<Self::Block>,
        _input: (),
    ) -> Option<Digested<Self::Block>> {
        // Held, not cloned: a clone copies every transaction of the block.
        let parent = ancestry.next().await?;
        let parent: &Block = parent.inner();
        let view = context.round.view().get();
        self.shared.note(
            view,
            format!(
                "this validator leads; its proposal waits for parent height {} to be finalized and applied here",
                parent.number()
            ),
        );
        // Wait for the parent to be finalized and applied; give up if the chain moved past it.
        loop {
            match parent_state(&self.shared, parent) {
                ParentState::Ready => break,
                ParentState::Passed => {
                    self.shared.note(
                        view,
                        format!(
                            "this validator leads but the chain moved past parent height {}",
                            parent.number()
                        ),
                    );
                    return None;
                }
                ParentState::Waiting => clock.sleep(POLL).await,
            }
        }
        // Pace: no block before the interval since the parent has passed.
        let due = parent
            .time_ms()
            .saturating_add(self.shared.block_interval.as_millis() as u64);
        let now = wall_ms(&clock);
        if now < due {
            clock.sleep(Duration::from_millis(due - now)).await;
        }
        let proposer = PublicKey::ed25519(context.leader.as_ref()).ok()?;
        let Some(block) = self.build(parent, wall_ms(&clock), proposer) else {
            self.shared.note(
                view,
                "this validator leads but could not build a block (see the log above)".into(),
            );
            return None;
        };
        self.shared.note(
            view,
            format!(
                "this validator proposed height {} with {} transactions",
                block.number(),
                block.inner().txs.len()
            ),
        );
        tracing::debug!(height = block.number(), view, "proposing");
        let digest = block.digest();
        Some(Digested::precomputed(block, digest))
    }

    async fn verify(
        &mut self,
        (clock, context): (E, Self::Context),
        mut ancestry: impl Ancestry<Self::Block>,
    ) -> bool {
        let Some(block) = ancestry.next().await else {
            return std::future::pending().await;
        };
        let Some(parent) = ancestry.next().await else {
            return std::future::pending().await;
        };
        // Held, not cloned: a clone copies every transaction of the block.
        let block: &Block = block.inner();
        let parent: &Block = parent.inner();
        let view = context.round.view().get();
        self.shared.note(
            view,
            format!(
                "the proposal of height {} waits for its parent height {} to be finalized and applied here",
                block.number(),
                parent.number()
            ),
        );
        if block.proposer_bytes() != context.leader.as_ref() {
            self.shared.note(
                view,
                "the proposal names another proposer than the view's leader".into(),
            );
            tracing::warn!(
                height = block.number(),
                "the block names another proposer than the view's leader"
            );
            return false;
        }
        loop {
            match parent_state(&self.shared, parent) {
                ParentState::Ready => break,
                ParentState::Passed => {
                    // Already final at this height (a re-verification after a restart), or in
                    // conflict with what is final.
                    return self.shared.stored_hash(block.number()) == Some(block.hash());
                }
                ParentState::Waiting => clock.sleep(POLL).await,
            }
        }
        let started = std::time::Instant::now();
        // The transactions shared with this validator wait decoded in its mempool: found by
        // hash (before locking the app), they need no decoding again.
        let hashes: Vec<Hash> = block.inner().txs.iter().map(|tx| sha256(tx)).collect();
        let known = self.shared.mempool.waiting(&hashes);
        let verdict = self
            .shared
            .app()
            .map(|mut app| app.process_proposal_with(block.inner(), known));
        tracing::debug!(
            height = block.number(),
            txs = block.inner().txs.len(),
            ms = started.elapsed().as_millis() as u64,
            "re-executed a proposal"
        );
        let Some(verdict) = verdict else {
            return std::future::pending().await;
        };
        match verdict {
            Ok(Ok(())) => {
                self.shared.note(
                    view,
                    format!(
                        "this validator verified height {} and voted for it",
                        block.number()
                    ),
                );
                true
            }
            Ok(Err(reason)) => {
                tracing::warn!(height = block.number(), %reason, "rejecting a proposal");
                self.shared.note(
                    view,
                    format!("this validator rejected the proposal: {reason}"),
                );
                false
            }
            Err(error) => {
                self.shared.note(
                    view,
                    format!("this validator could not verify the proposal: {error}"),
                );
                // Broken infrastructure is not a verdict on the block: abstain.
                tracing::error!(%error, "cannot verify a proposal");
                std::future::pending().await
            }
        }
    }
}

/// Receives finalized blocks from marshal and applies them to the app in order.
#[derive(Clone)]
pub(crate) struct Finalizer {
    pub(crate) shared: Arc<Shared>,
}

impl Finalizer {
    /// Applies `block` if it is the next one; `true` once it is (or was already) applied.
    fn apply(&self, block: &Block) -> bool {
        let shared = &self.shared;
        let Some(tip) = shared.tip() else {
            return false;
        };
        let height = block.number();
        if height <= tip.height {
            if shared.stored_hash(height) != Some(block.hash()) {
                tracing::error!(height, "a finalized block differs from the stored one");
            }
            return true;
        }
        if height != tip.height + 1 {
            tracing::error!(height, tip = tip.height, "a finalized block skips heights");
            return false;
        }
        let started = std::time::Instant::now();
        let Some(mut app) = shared.app() else {
            return false;
        };
        let applied = app.apply_finalized(block.inner());
        let committed = started.elapsed();
        match applied {
            Ok(applied) => {
                // The mempool learns of the block before the app is unlocked, so no proposal
                // offers what it already includes.
                shared.mempool.committed(
                    CommittedBlock {
                        height,
                        time_ms: block.time_ms(),
                        tx_hashes: &applied.tx_hashes,
                        report_hashes: &applied.report_hashes,
                        failed_txs: applied.failed_txs,
                        valid_reports: applied.valid_reports,
                        invalid_reports: applied.invalid_reports,
                    },
                    &shared.store,
                );
                drop(app);
                let tip = applied.tip;
                let finality_ms = (shared.now_ms)().saturating_sub(block.time_ms());
                if let Ok(mut status) = shared.status.lock() {
                    status.applied_height = tip.height;
                    status.app_hash = tip.app_hash;
                    status.last_finality_ms = finality_ms;
                }
                tracing::debug!(
                    height,
                    txs = applied.tx_hashes.len(),
                    reports = applied.report_hashes.len(),
                    finality_ms,
                    committed_ms = committed.as_millis() as u64,
                    total_ms = started.elapsed().as_millis() as u64,
                    app_hash = %tip.app_hash,
                    "applied finalized block"
                );
                true
            }
            Err(error) => {
                tracing::error!(height, %error, "cannot apply a finalized block");
                false
            }
        }
    }
}

impl Reporter for Finalizer {
    type Activity = Update<Block>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        match activity {
            Update::Tip(round, height, digest) => {
                if let Ok(mut status) = self.shared.status.lock() {
                    status.finalized_height = status.finalized_height.max(height.get());
                    status.finalized_view = status.finalized_view.max(round.view().get());
                }
                tracing::debug!(height = height.get(), %digest, "finalized tip");
            }
            Update::Block(block, ack) => {
                if self.apply(block.inner()) {
                    ack.acknowledge();
                }
                // An unacknowledged block stops delivery: the node cannot go on without it.
            }
        }
        Feedback::Ok
    }
}

/// Watches Simplex's activity on its way to marshal: follows the view, counts nullified views
/// and says in the log why each one timed out, as far as this validator can tell.
#[derive(Clone)]
pub(crate) struct Observer<R> {
    pub(crate) inner: R,
    pub(crate) shared: Arc<Shared>,
}

impl<R> Reporter for Observer<R>
where
    R: Reporter<Activity = Activity<Scheme, Digest>>,
{
    type Activity = Activity<Scheme, Digest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        let view = activity.view().get();
        let certificate = matches!(
            activity,
            Activity::Notarization(_)
                | Activity::Certification(_)
                | Activity::Finalization(_)
                | Activity::Nullification(_)
        );
        if certificate && let Ok(mut status) = self.shared.status.lock() {
            status.current_view = status.current_view.max(view.saturating_add(1));
            if matches!(activity, Activity::Nullification(_)) {
                status.views_nullified += 1;
            }
        }
        match &activity {
            Activity::Nullification(_) => {
                let why = self.shared.note_of(view).unwrap_or_else(|| {
                    "no proposal from the view's leader reached this validator in time (leader down, slow or cut off)".into()
                });
                tracing::warn!(view, %why, "view timed out without a block (nullified)");
            }
            Activity::ConflictingNotarize(_)
            | Activity::ConflictingFinalize(_)
            | Activity::NullifyFinalize(_) => {
                tracing::warn!(view, "evidence of a validator signing conflicting votes");
            }
            _ => {}
        }
        self.inner.report(activity)
    }
}
