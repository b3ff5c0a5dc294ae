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

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, UNIX_EPOCH};

use commonware_actor::Feedback;
use commonware_consensus::marshal::Update;
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_consensus::simplex::types::Context;
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
use crate::{Mempool, Scheme, Status};

/// How often a waiting proposal or verification looks at the tip again.
const POLL: Duration = Duration::from_millis(5);

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
}

impl Shared {
    fn app(&self) -> Option<MutexGuard<'_, App>> {
        self.app.lock().ok()
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
        let candidates = shared.mempool.candidates(
            shared.limits.max_txs.saturating_mul(2),
            shared.limits.max_bytes.saturating_mul(2),
        );
        let mut app = shared.app()?;
        let txs = match app.prepare_proposal(&candidates, shared.limits) {
            Ok(txs) => txs,
            Err(error) => {
                tracing::error!(%error, "cannot prepare a proposal");
                return None;
            }
        };
        let input = BlockInput {
            height: parent.number() + 1,
            time_ms: time_ms.max(parent.time_ms()),
            parent_hash: parent.hash(),
            proposer,
            txs,
            reports: shared.mempool.report_candidates(shared.max_reports),
        };
        match app.finalize_block(input) {
            Ok(finalized) => Some(Block::new(finalized.block.clone())),
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
        let parent = ancestry.next().await?;
        let parent = parent.inner().clone();
        // Wait for the parent to be finalized and applied; give up if the chain moved past it.
        loop {
            match parent_state(&self.shared, &parent) {
                ParentState::Ready => break,
                ParentState::Passed => return None,
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
        let block = self.build(&parent, wall_ms(&clock), proposer)?;
        tracing::debug!(height = block.number(), view = %context.round.view(), "proposing");
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
        let block = block.inner().clone();
        let parent = parent.inner().clone();
        if block.proposer_bytes() != context.leader.as_ref() {
            tracing::warn!(
                height = block.number(),
                "the block names another proposer than the view's leader"
            );
            return false;
        }
        loop {
            match parent_state(&self.shared, &parent) {
                ParentState::Ready => break,
                ParentState::Passed => {
                    // Already final at this height (a re-verification after a restart), or in
                    // conflict with what is final.
                    return self.shared.stored_hash(block.number()) == Some(block.hash());
                }
                ParentState::Waiting => clock.sleep(POLL).await,
            }
        }
        let verdict = self
            .shared
            .app()
            .map(|mut app| app.process_proposal(block.inner()));
        let Some(verdict) = verdict else {
            return std::future::pending().await;
        };
        match verdict {
            Ok(Ok(())) => true,
            Ok(Err(reason)) => {
                tracing::warn!(height = block.number(), %reason, "rejecting a proposal");
                false
            }
            Err(error) => {
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
        let Some(mut app) = shared.app() else {
            return false;
        };
        let applied = app.apply_block(block.inner());
        drop(app);
        match applied {
            Ok(tip) => {
                // A transaction's hash is SHA-256 of its envelope bytes.
                let tx_hashes: Vec<Hash> = block.inner().txs.iter().map(|tx| sha256(tx)).collect();
                shared.mempool.committed(height, &tx_hashes, &shared.store);
                if let Ok(mut status) = shared.status.lock() {
                    status.applied_height = tip.height;
                    status.app_hash = tip.app_hash;
                }
                tracing::info!(height, txs = tx_hashes.len(), app_hash = %tip.app_hash, "applied finalized block");
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
