//! Groundwork's deterministic state machine.
//!
//! Drivers (the BFT engine in `groundwork-consensus`, the test node in tests) talk
//! to it only through the ABCI++-shaped methods of [`App`]:
//!
//! | call | what it does |
//! |---|---|
//! | [`App::init_chain`] | writes the genesis state (height 0) |
//! | [`App::check_tx`] | admits a transaction to the mempool: stateless checks, signature, nonce, fee, funds |
//! | [`App::prepare_proposal`] | picks and orders mempool transactions for a new block |
//! | [`App::process_proposal`] | re-executes a proposed block and accepts it only if its header matches |
//! | [`App::finalize_block`] | executes a block, returning results and the new state root |
//! | [`App::commit`] | makes the finalized block durable |
//!
//! **Determinism.** The same genesis and blocks give the same app hash on every machine: no wall
//! clock (time comes from the block header), no randomness, no hash-map iteration, no floats;
//! signatures are checked in fixed-size batches whatever the number of threads.
//!
//! **Transactions.** Each runs on an overlay of the block's state. The fee is charged (and the
//! nonce advanced) once the transaction is authenticated, ordered and able to pay; if a message
//! then fails, the overlay with the messages' effects is dropped and the reason is recorded in the
//! block results. Transactions that fail before that (bad signature, wrong nonce, unable to pay)
//! cost nothing and change nothing.

pub mod chain;
pub mod codec;
pub mod error;
pub mod events;
pub mod genesis;
pub mod modules;
pub mod parallel;
pub mod tx;

use std::sync::Arc;

use groundwork_primitives::{Address, Amount, Hash, PublicKey, sha256};
use groundwork_proto::Message as _;
use groundwork_proto::v1::{self, Event, TxResult};
use groundwork_state::{BlockCommit, Overlay, StateRead, Store, Tip};

pub use chain::ChainInfo;
pub use error::{AppError, AppResult, ExecError, TxError};
pub use genesis::Genesis;
pub use tx::{Msg, SignedTx};

use modules::accounts::{self, state::AccountsRead, state::AccountsWrite};

/// What a message sees while it executes.
#[derive(Debug)]
pub struct TxContext<'a> {
    /// The account that signed the transaction.
    pub sender: Address,
    /// The block's height.
    pub height: u64,
    /// The block's time, ms since the Unix epoch.
    pub time_ms: u64,
    /// The chain.
    pub chain: &'a ChainInfo,
    /// Events emitted so far by this transaction.
    pub events: Vec<Event>,
}

/// A block to execute: everything in its header except what execution produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInput {
    /// Height: the tip's height + 1.
    pub height: u64,
    /// Time, ms since the Unix epoch; not below the parent's.
    pub time_ms: u64,
    /// The tip's block hash.
    pub parent_hash: Hash,
    /// The proposing validator.
    pub proposer: PublicKey,
    /// Encoded transaction envelopes, in order.
    pub txs: Vec<Vec<u8>>,
    /// Encoded device report envelopes, in order (judged after the transactions).
    pub reports: Vec<Vec<u8>>,
}

/// An executed block, not yet committed.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalizedBlock {
    /// The block with its complete header.
    pub block: v1::Block,
    /// SHA-256 of the encoded header.
    pub block_hash: Hash,
    /// Per-transaction results and block events.
    pub results: v1::BlockResults,
    /// Transaction hashes, in order.
    pub tx_hashes: Vec<Hash>,
    /// Report hashes, in order.
    pub report_hashes: Vec<Hash>,
    /// Where execution spent its time (for benchmarks and metrics; not part of consensus).
    pub timings: BlockTimings,
}

/// A finalized block once applied: the new tip and what the node needs from the execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The committed tip.
    pub tip: Tip,
    /// The block's transaction hashes (SHA-256 of the envelope bytes), in block order.
    pub tx_hashes: Vec<Hash>,
    /// The block's report hashes, in block order.
    pub report_hashes: Vec<Hash>,
    /// Transactions included that failed (their fee was charged, their effects dropped).
    pub failed_txs: u64,
    /// Reports that counted.
    pub valid_reports: u64,
    /// Reports refused with a verdict.
    pub invalid_reports: u64,
}

/// Wall-clock time of each phase of `finalize_block`, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockTimings {
    /// Decoding every transaction and checking every signature.
    pub decode_verify_us: u64,
    /// Running the transactions against the state.
    pub execute_us: u64,
    /// Updating the Merkle tree to get the new state root.
    pub state_root_us: u64,
}

impl FinalizedBlock {
    /// The block's header.
    pub fn header(&self) -> &v1::BlockHeader {
        // `finalize_block` always sets the header.
        self.block.header.as_ref().unwrap_or(&EMPTY_HEADER)
    }
}

static EMPTY_HEADER: v1::BlockHeader = v1::BlockHeader {
    chain_id: String::new(),
    height: 0,
    time_ms: 0,
    parent_hash: Vec::new(),
    proposer: None,
    tx_root: Vec::new(),
    results_hash: Vec::new(),
    app_hash: Vec::new(),
    tx_count: 0,
    report_root: Vec::new(),
    report_count: 0,
};

/// Limits on what [`App::prepare_proposal`] puts in one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLimits {
    /// Most transactions in a block.
    pub max_txs: usize,
    /// Most bytes of transactions in a block.
    pub max_bytes: usize,
}

impl Default for BlockLimits {
    fn default() -> Self {
        BlockLimits {
            max_txs: 20_000,
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

/// A transaction admitted by [`App::check_tx`], with the sender's committed account.
#[derive(Debug, Clone)]
pub struct CheckedTx {
    /// The transaction.
    pub tx: SignedTx,
    /// The sender's committed next nonce (the transaction's nonce is at least this).
    pub account_nonce: u64,
    /// Set only by this app's own checks ([`App::check_tx`], [`App::check_txs`]), which verify
    /// the signature before they hand the transaction back.
    signature_verified: bool,
}

impl CheckedTx {
    /// A transaction checked by other means (a test, a tool): its signature counts as not
    /// verified here, so a block that carries it has it checked like any other.
    pub fn unverified(tx: SignedTx, account_nonce: u64) -> CheckedTx {
        CheckedTx {
            tx,
            account_nonce,
            signature_verified: false,
        }
    }

    /// Whether this app verified the transaction's signature.
    pub fn signature_verified(&self) -> bool {
        self.signature_verified
    }
}

/// A transaction's envelope bytes with their decoded form, as the mempool keeps them: the
/// leader's proposal and a follower's re-execution take them from there instead of decoding the
/// bytes again. One admitted by this app's checks carries the fact that its signature verified,
/// and a block that carries exactly these bytes does not check it again (a verdict depends on
/// the key, message and signature alone: what the memo of verified signatures relies on, with
/// neither a digest nor a lookup). One decoded here has its signature checked by execution.
#[derive(Debug)]
pub struct PooledTx {
    bytes: Vec<u8>,
    tx: SignedTx,
    signature_verified: bool,
}

impl PooledTx {
    /// Decodes `bytes` (the stateless checks of [`SignedTx::decode`]; the signature is not
    /// checked).
    pub fn decode(bytes: Vec<u8>) -> Result<PooledTx, TxError> {
        let tx = SignedTx::decode(&bytes)?;
        Ok(PooledTx {
            bytes,
            tx,
            signature_verified: false,
        })
    }

    /// Pairs `bytes` with `checked`, whose transaction must be what [`SignedTx::decode`] gave
    /// for exactly these bytes (as [`App::check_tx`] and [`App::check_txs`] hand them back, in
    /// order). `None` when their sizes differ; debug builds also compare the hash (hashing every
    /// admitted transaction again would cost each validator ~0.4 µs per transaction, ~1 % of its
    /// budget at 10,000 transfers/s).
    pub fn new(bytes: Vec<u8>, checked: CheckedTx) -> Option<PooledTx> {
        let CheckedTx {
            tx,
            signature_verified,
            ..
        } = checked;
        debug_assert!(bytes.len() != tx.size || sha256(&bytes) == tx.hash);
        (bytes.len() == tx.size).then_some(PooledTx {
            bytes,
            tx,
            signature_verified,
        })
    }

    /// Whether this app verified the signature when it admitted the transaction.
    pub fn signature_verified(&self) -> bool {
        self.signature_verified
    }

    /// The envelope bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The decoded transaction.
    pub fn tx(&self) -> &SignedTx {
        &self.tx
    }
}

/// A transaction ready for execution: decoded here, or taken decoded from the mempool.
enum Decoded {
    Owned(SignedTx),
    Pooled(Arc<PooledTx>),
}

impl Decoded {
    /// Whether this app verified the signature on admission (see [`PooledTx`]).
    fn signature_verified(&self) -> bool {
        match self {
            Decoded::Owned(_) => false,
            Decoded::Pooled(pooled) => pooled.signature_verified,
        }
    }
}

impl std::ops::Deref for Decoded {
    type Target = SignedTx;
    fn deref(&self) -> &SignedTx {
        match self {
            Decoded::Owned(tx) => tx,
            Decoded::Pooled(pooled) => &pooled.tx,
        }
    }
}

impl std::borrow::Borrow<SignedTx> for Decoded {
    fn borrow(&self) -> &SignedTx {
        self
    }
}

struct Pending {
    /// The input's height, time, parent and proposer; its transactions and reports are the
    /// block's (kept once).
    input: (u64, u64, Hash, PublicKey),
    finalized: FinalizedBlock,
    commit: BlockCommit,
}

impl Pending {
    /// Whether `input` is the one this execution ran.
    fn ran(&self, input: &BlockInput) -> bool {
        self.input
            == (
                input.height,
                input.time_ms,
                input.parent_hash,
                input.proposer,
            )
            && self.finalized.block.txs == input.txs
            && self.finalized.block.reports == input.reports
    }
}

/// The state machine over a [`Store`].
pub struct App {
    store: Store,
    chain: Option<ChainInfo>,
    pending: Option<Pending>,
    /// The transactions the last `prepare_proposal` chose, decoded (with their bytes): when
    /// `finalize_block` runs on exactly these, it does not decode them again.
    prepared: Option<Prepared>,
    threads: usize,
}

/// What `prepare_proposal` chose, as bytes and decoded.
struct Prepared {
    txs: Vec<Arc<PooledTx>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("chain", &self.chain).finish()
    }
}

impl App {
    /// Opens the state machine over a store (initialised or not).
    pub fn open(store: Store) -> AppResult<App> {
        let chain = chain::chain_info(&store.snapshot()?)?;
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(8);
        Ok(App {
            store,
            chain,
            pending: None,
            prepared: None,
            threads,
        })
    }

    /// The store (for queries).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The chain's facts, once genesis has run.
    pub fn chain_info(&self) -> Option<&ChainInfo> {
        self.chain.as_ref()
    }

    /// The last committed block.
    pub fn tip(&self) -> AppResult<Option<Tip>> {
        Ok(self.store.tip()?)
    }

    /// Writes the genesis state as height 0 and returns its app hash. Running it again with the
    /// same genesis is a no-op; with another chain id it is an error.
    pub fn init_chain(&mut self, genesis: &Genesis) -> AppResult<Hash> {
        genesis.validate()?;
        let snapshot = self.store.snapshot()?;
        if let Some(existing) = chain::chain_info(&snapshot)? {
            if existing.chain_id != genesis.chain_id {
                return Err(AppError::AlreadyInitialized {
                    existing: existing.chain_id,
                    offered: genesis.chain_id.clone(),
                });
            }
            let tip = snapshot.tip().ok_or(AppError::NotInitialized)?;
            return Ok(tip.app_hash);
        }
        let mut state = Overlay::new(&snapshot);
        let info = ChainInfo::from_genesis(genesis);
        chain::put_chain_info(&mut state, &info);
        chain::put_validators(&mut state, &genesis.validators);
        chain::put_last_block(
            &mut state,
            chain::LastBlock {
                height: 0,
                time_ms: genesis.genesis_time_ms,
            },
        );
        accounts::init_genesis(&mut state, genesis)?;
        modules::devices::init_genesis(&mut state, genesis)?;
        {
            use modules::staking::state::StakingWrite as _;
            state.put_staking_params(&genesis.params.staking);
        }
        modules::reports::init_genesis(&mut state, &genesis.params.reports);
        modules::credits::init_genesis(&mut state, &genesis.params.credits);
        modules::rewards::init_genesis(&mut state, &genesis.params.rewards);
        modules::storage::init_genesis(&mut state, &genesis.params.storage);
        let changes = state.into_changes();
        let (app_hash, tree) = self.store.compute_root(&snapshot, &changes, 0)?;
        drop(snapshot);
        self.store.commit_block(BlockCommit {
            height: 0,
            block_hash: Hash::ZERO,
            app_hash,
            time_ms: genesis.genesis_time_ms,
            changes,
            tree,
            ..Default::default()
        })?;
        self.chain = Some(info);
        Ok(app_hash)
    }

    fn chain(&self) -> AppResult<&ChainInfo> {
        self.chain.as_ref().ok_or(AppError::NotInitialized)
    }

    /// Mempool admission against the committed state: stateless checks, signature, chain, a nonce
    /// not below the account's, the minimum fee, and funds for this transaction's fee and spending.
    pub fn check_tx(&self, bytes: &[u8]) -> AppResult<Result<CheckedTx, TxError>> {
        let chain = self.chain()?;
        let tx = match SignedTx::decode(bytes) {
            Ok(tx) => tx,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = tx.verify_signature() {
            return Ok(Err(e));
        }
        match tx.signature_digest {
            Some(digest) => parallel::remember_verified_digest(digest),
            None => parallel::remember_verified(&tx.signer, &tx.signed_message(), &tx.signature),
        }
        let snapshot = self.store.snapshot()?;
        let min_fee = snapshot.accounts_params()?.min_fee;
        Ok(check_against_state(chain, min_fee, &snapshot, tx))
    }

    /// [`App::check_tx`] for many transactions at once, one verdict per transaction in order:
    /// the signatures are checked in batches spread over the app's threads (and remembered, so
    /// the block that carries them does not check them again), and every transaction is checked
    /// against one snapshot of the committed state. The verdicts are those `check_tx` would give
    /// against that snapshot.
    pub fn check_txs(&self, txs: &[Vec<u8>]) -> AppResult<Vec<Result<CheckedTx, TxError>>> {
        let chain = self.chain()?;
        let decoded = decode_and_verify(txs, self.threads);
        let snapshot = self.store.snapshot()?;
        // The parameters once for the batch (they are JSON: parsing them per transaction cost
        // more than the account read).
        let min_fee = snapshot.accounts_params()?.min_fee;
        Ok(decoded
            .into_iter()
            .map(|tx| tx.and_then(|tx| check_against_state(chain, min_fee, &snapshot, tx)))
            .collect())
    }

    /// Chooses a block's transactions from mempool candidates (in the mempool's order): keeps
    /// those that decode, name this chain, offer at least the minimum fee, continue their sender's
    /// nonce sequence from the committed state, and that their sender can still pay for after
    /// the transactions already chosen (counting fees and amounts sent, not amounts received), within
    /// `limits`. Signatures were checked on admission; execution checks them again, and
    /// validators reject a block with a transaction that cannot pay its fee
    /// ([`App::process_proposal`]).
    pub fn prepare_proposal(
        &mut self,
        candidates: &[Vec<u8>],
        limits: BlockLimits,
    ) -> AppResult<Vec<Vec<u8>>> {
        // Decoding is independent per candidate: spread it over the cores, then choose in order.
        let pooled: Vec<Arc<PooledTx>> = parallel::par_map(candidates, self.threads, |c| {
            PooledTx::decode(c.clone()).ok()
        })
        .into_iter()
        .flatten()
        .map(Arc::new)
        .collect();
        self.prepare_pooled(&pooled, limits)
    }

    /// [`App::prepare_proposal`] over candidates the mempool keeps decoded: nothing is decoded
    /// or copied but the chosen transactions' bytes for the block. `finalize_block` on exactly
    /// the block chosen here executes these decoded transactions (their signatures checked all
    /// the same).
    pub fn prepare_pooled(
        &mut self,
        candidates: &[Arc<PooledTx>],
        limits: BlockLimits,
    ) -> AppResult<Vec<Vec<u8>>> {
        let chain_id = self.chain()?.chain_id.clone();
        let snapshot = self.store.snapshot()?;
        let min_fee = snapshot.accounts_params()?.min_fee;
        // Per sender: the next nonce and what is left to spend.
        let mut senders: std::collections::HashMap<Address, (u64, Amount)> = Default::default();
        let mut chosen = Vec::new();
        let mut chosen_pooled = Vec::new();
        let mut bytes = 0usize;
        self.prepared = None;
        for candidate in candidates {
            if chosen.len() >= limits.max_txs {
                break;
            }
            if bytes + candidate.bytes.len() > limits.max_bytes {
                continue;
            }
            let tx = &candidate.tx;
            if tx.chain_id != chain_id || tx.fee < min_fee {
                continue;
            }
            let (next_nonce, available) = match senders.get(&tx.sender) {
                Some(entry) => *entry,
                None => {
                    let account = snapshot.account(&tx.sender)?;
                    (account.nonce, account.balance)
                }
            };
            if tx.nonce != next_nonce {
                continue;
            }
            let Some(left) = tx.total_cost().and_then(|cost| available.checked_sub(cost)) else {
                continue;
            };
            senders.insert(tx.sender, (next_nonce + 1, left));
            bytes += candidate.bytes.len();
            chosen.push(candidate.bytes.clone());
            chosen_pooled.push(candidate.clone());
        }
        self.prepared = Some(Prepared { txs: chosen_pooled });
        Ok(chosen)
    }

    /// Re-executes a proposed block and accepts it only if every header field it claims matches
    /// what execution gives. On acceptance the execution is kept, so `finalize_block` with the
    /// same block does not run it twice. `Ok(Err(reason))` rejects the block.
    pub fn process_proposal(&mut self, block: &v1::Block) -> AppResult<Result<(), String>> {
        self.process_proposal_with(block, Vec::new())
    }

    /// [`App::process_proposal`] given, by position, those of the block's transactions this
    /// node already holds decoded (its mempool's, found by hash; `None` or a shorter list for
    /// the rest). One whose bytes differ from the block's is ignored and the block's decoded.
    pub fn process_proposal_with(
        &mut self,
        block: &v1::Block,
        known: Vec<Option<Arc<PooledTx>>>,
    ) -> AppResult<Result<(), String>> {
        let Some(header) = block.header.as_ref() else {
            return Ok(Err("the block has no header".into()));
        };
        let input = match block_input(block) {
            Ok(input) => input,
            Err(reason) => return Ok(Err(reason)),
        };
        let finalized = match self.finalize_with(input, known) {
            Ok(f) => f,
            Err(AppError::InvalidBlock(reason)) => return Ok(Err(reason)),
            Err(e) => return Err(e),
        };
        let refusal = if finalized.header() != header {
            Some(describe_header_mismatch(header, finalized.header()))
        } else {
            // A transaction that fails before paying its fee (malformed, badly signed, wrong
            // chain or nonce, fee too low, cannot pay) costs its sender nothing, so a proposer
            // that includes one is filling the block with free junk: refuse the block.
            finalized
                .results
                .tx_results
                .iter()
                .enumerate()
                .find(|(_, r)| r.code != 0 && r.code != TxError::PAYING_FAILURE_CODE)
                .map(|(index, result)| {
                    format!(
                        "transaction {index} cannot pay its fee (code {}: {}); proposers must leave such transactions out",
                        result.code, result.error
                    )
                })
        };
        match refusal {
            Some(reason) => {
                self.pending = None;
                Ok(Err(reason))
            }
            None => Ok(Ok(())),
        }
    }

    /// Executes a block on top of the last committed one and keeps the result pending until
    /// [`App::commit`]. Returns the block with its complete header.
    pub fn finalize_block(&mut self, input: BlockInput) -> AppResult<&FinalizedBlock> {
        self.finalize_with(input, Vec::new())
    }

    /// [`App::finalize_block`] with the transactions already held decoded (see
    /// [`App::process_proposal_with`]).
    fn finalize_with(
        &mut self,
        input: BlockInput,
        known: Vec<Option<Arc<PooledTx>>>,
    ) -> AppResult<&FinalizedBlock> {
        if let Some(pending) = &self.pending
            && pending.ran(&input)
        {
            return Ok(&self
                .pending
                .as_ref()
                .ok_or(AppError::NothingToCommit)?
                .finalized);
        }
        self.pending = None;
        let chain = self.chain()?.clone();
        let snapshot = self.store.snapshot()?;
        let tip = snapshot.tip().ok_or(AppError::NotInitialized)?;
        if input.height != tip.height + 1 {
            return Err(AppError::InvalidBlock(format!(
                "height {} does not follow the tip at {}",
                input.height, tip.height
            )));
        }
        if input.parent_hash != tip.block_hash {
            return Err(AppError::InvalidBlock(format!(
                "parent {} is not the tip's block {}",
                input.parent_hash, tip.block_hash
            )));
        }
        if input.time_ms < tip.time_ms {
            return Err(AppError::InvalidBlock(format!(
                "time {} is before the parent's {}",
                input.time_ms, tip.time_ms
            )));
        }

        let phase = std::time::Instant::now();
        // The leader's own proposal: its transactions were decoded when it chose them (the
        // same function on the same bytes); their signatures are checked here all the same.
        let decoded = match self.prepared.take() {
            Some(prepared)
                if prepared.txs.len() == input.txs.len()
                    && prepared
                        .txs
                        .iter()
                        .zip(&input.txs)
                        .all(|(p, bytes)| p.bytes == *bytes) =>
            {
                let pooled = prepared.txs.into_iter().map(|p| Ok(Decoded::Pooled(p)));
                verify_decoded(pooled.collect(), self.threads, Decoded::signature_verified)
            }
            _ => decode_known_and_verify(&input.txs, known, self.threads),
        };
        let mut timings = BlockTimings {
            decode_verify_us: phase.elapsed().as_micros() as u64,
            ..Default::default()
        };
        let phase = std::time::Instant::now();
        let mut state = Overlay::new(&snapshot);
        // Begin block.
        chain::put_last_block(
            &mut state,
            chain::LastBlock {
                height: input.height,
                time_ms: input.time_ms,
            },
        );
        chain::put_parent_hash(&mut state, input.height, &input.parent_hash);
        let min_fee = state.accounts_params()?.min_fee;

        let mut tx_results = Vec::with_capacity(decoded.len());
        let mut tx_hashes = Vec::with_capacity(decoded.len());
        let mut account_refs = Vec::new();
        for (bytes, outcome) in input.txs.iter().zip(decoded) {
            let (hash, result) = match outcome {
                Ok(tx) => {
                    account_tx_refs(&tx, tx_hashes.len(), &mut account_refs);
                    (
                        tx.hash,
                        deliver_tx(&mut state, &chain, &input, min_fee, &tx)?,
                    )
                }
                Err(error) => (sha256(bytes), failed(&error, Amount::ZERO, Vec::new())),
            };
            tx_hashes.push(hash);
            tx_results.push(result);
        }
        // Device reports, after the transactions (a device onboarded in this block may report).
        let reports = modules::reports::process_reports(
            &mut state,
            &chain,
            input.height,
            input.time_ms,
            &input.reports,
            self.threads,
        )?;
        // End block.
        modules::reports::end_block(&mut state, input.height)?;
        // Credits hand the epoch's share of credit burns to rewards (rewards/carry) first.
        let mut block_events = modules::credits::end_block(&mut state, input.height)?;
        // Rewards read the epoch counts the reports module just saved.
        let payout = modules::rewards::end_block(&mut state, input.height, self.threads)?;
        let storage_events = modules::storage::end_block(&mut state, input.height)?;
        block_events.extend(payout.events);
        block_events.extend(storage_events);

        let changes = state.into_changes();
        timings.execute_us = phase.elapsed().as_micros() as u64;
        let phase = std::time::Instant::now();
        let (app_hash, tree) = self.store.compute_root(&snapshot, &changes, input.height)?;
        timings.state_root_us = phase.elapsed().as_micros() as u64;
        // One lookup entry per device per block: a device's verdicts are found by height, then
        // read from that block's results.
        let index: Vec<Vec<u8>> = reports
            .results
            .iter()
            .filter(|r| r.device.len() == 20)
            .map(|r| report_index_key(&r.device, input.height))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let results = v1::BlockResults {
            tx_results,
            block_events,
            report_results: reports.results,
        };
        let results_bytes = results.encode_to_vec();
        let header = v1::BlockHeader {
            chain_id: chain.chain_id.clone(),
            height: input.height,
            time_ms: input.time_ms,
            parent_hash: input.parent_hash.0.to_vec(),
            proposer: Some(proto_public_key(&input.proposer)),
            tx_root: tx::tx_root(&tx_hashes).0.to_vec(),
            results_hash: sha256(&results_bytes).0.to_vec(),
            app_hash: app_hash.0.to_vec(),
            tx_count: input.txs.len() as u32,
            report_root: tx::tx_root(&reports.hashes).0.to_vec(),
            report_count: input.reports.len() as u32,
        };
        let block_hash = sha256(&header.encode_to_vec());
        let ran = (
            input.height,
            input.time_ms,
            input.parent_hash,
            input.proposer,
        );
        let block = v1::Block {
            header: Some(header),
            txs: input.txs,
            reports: input.reports,
        };
        let commit = BlockCommit {
            height: ran.0,
            block_hash,
            app_hash,
            time_ms: ran.1,
            block: block.encode_to_vec(),
            results: results_bytes,
            tx_hashes: tx_hashes.clone(),
            changes,
            tree,
            index,
            index_values: account_tx_index(account_refs, ran.0),
            records: payout.records,
        };
        let finalized = FinalizedBlock {
            block,
            block_hash,
            results,
            tx_hashes,
            report_hashes: reports.hashes,
            timings,
        };
        let pending = self.pending.insert(Pending {
            input: ran,
            finalized,
            commit,
        });
        Ok(&pending.finalized)
    }

    /// Makes the pending finalized block durable and returns the new tip.
    pub fn commit(&mut self) -> AppResult<Tip> {
        let mut pending = self.pending.take().ok_or(AppError::NothingToCommit)?;
        let tip = Tip {
            height: pending.commit.height,
            block_hash: pending.commit.block_hash,
            app_hash: pending.commit.app_hash,
            time_ms: pending.commit.time_ms,
        };
        self.store.commit_block_kept(&mut pending.commit)?;
        // The block, its results and its changes are freed off the thread that holds the app
        // (consensus waits on it: ~10 ms per 10,000 transfers).
        parallel::drop_elsewhere(pending);
        Ok(tip)
    }

    /// [`App::produce_block_with_reports`] with no reports.
    pub fn produce_block(
        &mut self,
        time_ms: u64,
        proposer: PublicKey,
        candidates: &[Vec<u8>],
        limits: BlockLimits,
    ) -> AppResult<FinalizedBlock> {
        self.produce_block_with_reports(time_ms, proposer, candidates, Vec::new(), limits)
    }

    /// The whole lifecycle of one locally produced block, in the one place it is written down:
    /// prepare the proposal from `candidates`, add the ingested `reports`, finalize, commit.
    pub fn produce_block_with_reports(
        &mut self,
        time_ms: u64,
        proposer: PublicKey,
        candidates: &[Vec<u8>],
        reports: Vec<Vec<u8>>,
        limits: BlockLimits,
    ) -> AppResult<FinalizedBlock> {
        let tip = self.tip()?.ok_or(AppError::NotInitialized)?;
        let txs = self.prepare_proposal(candidates, limits)?;
        let input = BlockInput {
            height: tip.height + 1,
            time_ms: time_ms.max(tip.time_ms),
            parent_hash: tip.block_hash,
            proposer,
            txs,
            reports,
        };
        let mut finalized = self.finalize_block(input.clone())?.clone();
        // A candidate that never went through check_tx (a bad signature, say) would make every
        // validator reject this block: leave such transactions out and execute again.
        let junk: Vec<usize> = finalized
            .results
            .tx_results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.code != 0 && r.code != TxError::PAYING_FAILURE_CODE)
            .map(|(i, _)| i)
            .collect();
        if !junk.is_empty() {
            tracing::warn!(
                left_out = junk.len(),
                "leaving out transactions that cannot pay their fee"
            );
            let txs = input
                .txs
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !junk.contains(i))
                .map(|(_, tx)| tx)
                .collect();
            finalized = self.finalize_block(BlockInput { txs, ..input })?.clone();
        }
        self.commit()?;
        Ok(finalized)
    }

    /// Applies a block produced elsewhere (replay, catch-up): process it, then commit it.
    pub fn apply_block(&mut self, block: &v1::Block) -> AppResult<Tip> {
        Ok(self.apply_finalized(block)?.tip)
    }

    /// [`App::apply_block`], also giving what a node does next with the block (clean its
    /// mempool, count outcomes) from the execution itself, so nobody reads the results back
    /// from the store or hashes the transactions again.
    pub fn apply_finalized(&mut self, block: &v1::Block) -> AppResult<Applied> {
        self.process_proposal(block)?
            .map_err(AppError::InvalidBlock)?;
        let pending = self.pending.as_mut().ok_or(AppError::NothingToCommit)?;
        let results = &pending.finalized.results;
        let failed_txs = results.tx_results.iter().filter(|r| r.code != 0).count() as u64;
        let valid_reports = results
            .report_results
            .iter()
            .filter(|r| r.code == 0)
            .count() as u64;
        let invalid_reports = results.report_results.len() as u64 - valid_reports;
        let tx_hashes = std::mem::take(&mut pending.finalized.tx_hashes);
        let report_hashes = std::mem::take(&mut pending.finalized.report_hashes);
        let tip = self.commit()?;
        Ok(Applied {
            tip,
            tx_hashes,
            report_hashes,
            failed_txs,
            valid_reports,
            invalid_reports,
        })
    }

    /// Checks the supply invariants over the committed state (scans every account, every credit
    /// balance and every active storage deal): liquid + bonded + unbonding + escrowed = genesis +
    /// minted − burned; the escrow total is what the deals hold; credit balances = credits minted
    /// − spent; the burns and mints counted by cause (credit burns, slashing, re-mints) fit within
    /// the supply's counters. Credits are not tokens and never count toward the supply.
    pub fn check_invariants(&self) -> AppResult<Result<(), String>> {
        use modules::staking::state::StakingRead as _;
        let snapshot = self.store.snapshot()?;
        let stake = snapshot.stake_totals()?;
        let escrowed = {
            use modules::storage::state::StorageRead as _;
            snapshot.storage_totals()?.escrowed
        };
        let held = stake
            .bonded
            .checked_add(stake.unbonding)
            .and_then(|sum| sum.checked_add(escrowed))
            .unwrap_or(Amount(u128::MAX));
        if let Err(reason) = modules::storage::check_invariants(&snapshot)? {
            return Ok(Err(reason));
        }
        if let Err(e) = accounts::check_invariants(&snapshot, held) {
            return Ok(Err(e));
        }
        Ok(modules::credits::check_invariants(&snapshot, stake.slashed))
    }
}

/// The stateful admission checks shared by `check_tx` and `check_txs` (`min_fee` from the same
/// state's parameters).
fn check_against_state(
    chain: &ChainInfo,
    min_fee: Amount,
    state: &impl StateRead,
    tx: SignedTx,
) -> Result<CheckedTx, TxError> {
    if tx.chain_id != chain.chain_id {
        return Err(TxError::WrongChain {
            expected: chain.chain_id.clone(),
            got: tx.chain_id,
        });
    }
    let load = |e: AppError| TxError::Malformed(format!("state unavailable: {e}"));
    let account = state.account(&tx.sender).map_err(load)?;
    if tx.nonce < account.nonce {
        return Err(TxError::BadNonce {
            expected: account.nonce,
            got: tx.nonce,
        });
    }
    if tx.fee < min_fee {
        return Err(TxError::FeeTooLow {
            minimum: min_fee,
            got: tx.fee,
        });
    }
    let needed = tx.total_cost().unwrap_or(Amount(u128::MAX));
    if account.balance < needed {
        return Err(TxError::InsufficientFunds {
            account: tx.sender,
            available: account.balance,
            needed,
        });
    }
    // Both callers verified the signature before this check.
    Ok(CheckedTx {
        tx,
        account_nonce: account.nonce,
        signature_verified: true,
    })
}

/// Decodes every transaction and checks every signature on up to `threads` threads; the
/// verdicts never depend on `threads` (see [`parallel::verify_signatures`]).
fn decode_and_verify(txs: &[Vec<u8>], threads: usize) -> Vec<Result<SignedTx, TxError>> {
    verify_decoded(
        parallel::par_map(txs, threads, |bytes| SignedTx::decode(bytes)),
        threads,
        |_| false,
    )
}

/// [`decode_and_verify`] for a block's transactions, taking those in `known` (by position) as
/// they are when their bytes are the block's.
fn decode_known_and_verify(
    txs: &[Vec<u8>],
    known: Vec<Option<Arc<PooledTx>>>,
    threads: usize,
) -> Vec<Result<Decoded, TxError>> {
    let mut known = known.into_iter();
    let paired: Vec<(&Vec<u8>, Option<Arc<PooledTx>>)> = txs
        .iter()
        .map(|bytes| {
            let pooled = known.next().flatten().filter(|p| p.bytes == *bytes);
            (bytes, pooled)
        })
        .collect();
    let decoded = parallel::par_map(&paired, threads, |(bytes, pooled)| match pooled {
        Some(pooled) => Ok(Decoded::Pooled(pooled.clone())),
        None => SignedTx::decode(bytes).map(Decoded::Owned),
    });
    verify_decoded(decoded, threads, Decoded::signature_verified)
}

/// The signature checks of [`decode_and_verify`] on transactions already decoded; those
/// `verified` says this app verified on admission are not checked again.
fn verify_decoded<T: std::borrow::Borrow<SignedTx> + Sync>(
    mut decoded: Vec<Result<T, TxError>>,
    threads: usize,
    verified: impl Fn(&T) -> bool,
) -> Vec<Result<T, TxError>> {
    // The memo knows signatures by the digest each transaction computed on decoding: the
    // signed message is built only for those it does not know.
    let digests: Vec<parallel::Digest> = decoded
        .iter()
        .map(|tx| match tx {
            Ok(tx) if verified(tx) => parallel::Digest::Verified,
            Ok(tx) => match tx.borrow().signature_digest {
                Some(digest) => parallel::Digest::Known(digest),
                None => parallel::Digest::Unknown,
            },
            Err(_) => parallel::Digest::Nothing,
        })
        .collect();
    let verdicts = parallel::verify_signatures_by_digest(&digests, threads, |i| {
        decoded[i].as_ref().ok().map(|tx| {
            let tx: &SignedTx = tx.borrow();
            (tx.signer, tx.signed_message(), tx.signature)
        })
    });
    for (tx, ok) in decoded.iter_mut().zip(verdicts) {
        if tx.is_ok() && !ok {
            *tx = Err(TxError::BadSignature);
        }
    }
    decoded
}

/// Executes one authenticated transaction on the block's state.
fn deliver_tx<S: StateRead>(
    state: &mut Overlay<S>,
    chain: &ChainInfo,
    input: &BlockInput,
    min_fee: Amount,
    tx: &SignedTx,
) -> AppResult<TxResult> {
    if tx.chain_id != chain.chain_id {
        let error = TxError::WrongChain {
            expected: chain.chain_id.clone(),
            got: tx.chain_id.clone(),
        };
        return Ok(failed(&error, Amount::ZERO, Vec::new()));
    }
    let mut account = state.account(&tx.sender)?;
    if tx.nonce != account.nonce {
        let error = TxError::BadNonce {
            expected: account.nonce,
            got: tx.nonce,
        };
        return Ok(failed(&error, Amount::ZERO, Vec::new()));
    }
    if tx.fee < min_fee {
        let error = TxError::FeeTooLow {
            minimum: min_fee,
            got: tx.fee,
        };
        return Ok(failed(&error, Amount::ZERO, Vec::new()));
    }
    let Some(balance) = account.balance.checked_sub(tx.fee) else {
        let error = TxError::InsufficientFunds {
            account: tx.sender,
            available: account.balance,
            needed: tx.fee,
        };
        return Ok(failed(&error, Amount::ZERO, Vec::new()));
    };
    // Authenticated, in order and able to pay: charge the fee and advance the nonce for good.
    account.balance = balance;
    account.nonce += 1;
    state.put_account(&tx.sender, &account);
    state.burn_held(tx.fee)?;
    let mut ctx = TxContext {
        sender: tx.sender,
        height: input.height,
        time_ms: input.time_ms,
        chain,
        events: vec![accounts::events::fee_burned(&tx.sender, tx.fee)],
    };
    let mut tx_state = Overlay::new(&*state);
    for (index, message) in tx.messages.iter().enumerate() {
        let outcome = match message {
            Msg::Transfer(m) => m.execute(&mut tx_state, &mut ctx),
            Msg::OnboardDevice(m) => m.execute(&mut tx_state, &mut ctx),
            Msg::AssertLocation(m) => m.execute(&mut tx_state, &mut ctx),
            Msg::TransferDevice(m) => m.execute(&mut tx_state, &mut ctx),
            Msg::DecommissionDevice(m) => m.execute(&mut tx_state, &mut ctx),
            Msg::WithdrawUnbonded(m) => m.execute(&mut tx_state, &mut ctx),
            Msg::SubmitPrice(m) => m.execute(&mut tx_state, &mut ctx),
            Msg::MintCredits(m) => m.execute(&mut tx_state, &mut ctx),
            Msg::Storage(m) => m.execute(&mut tx_state, &mut ctx),
        };
        match outcome {
            Ok(()) => {}
            Err(ExecError::Fail(reason)) => {
                let error = TxError::MessageFailed { index, reason };
                // Only the fee's event stays (it is the first).
                ctx.events.truncate(1);
                return Ok(failed(&error, tx.fee, ctx.events));
            }
            Err(ExecError::Fatal(e)) => return Err(e),
        }
    }
    let changes = tx_state.into_changes();
    state.apply(changes);
    Ok(TxResult {
        code: 0,
        error: String::new(),
        fee_charged: tx.fee.0.to_string(),
        events: ctx.events,
    })
}

fn failed(error: &TxError, fee: Amount, events: Vec<Event>) -> TxResult {
    TxResult {
        code: error.code(),
        error: error.to_string(),
        fee_charged: fee.0.to_string(),
        events,
    }
}

/// The wire form of a public key.
pub fn proto_public_key(key: &PublicKey) -> v1::PublicKey {
    use v1::public_key::Key;
    v1::PublicKey {
        key: Some(match key {
            PublicKey::Ed25519(b) => Key::Ed25519(b.to_vec()),
            PublicKey::P256(b) => Key::P256(b.to_vec()),
        }),
    }
}

/// Reads a wire public key.
pub fn public_key_from_proto(key: Option<&v1::PublicKey>) -> Result<PublicKey, String> {
    use v1::public_key::Key;
    match key.and_then(|k| k.key.as_ref()) {
        Some(Key::Ed25519(b)) => PublicKey::ed25519(b).map_err(|e| e.to_string()),
        Some(Key::P256(b)) => PublicKey::p256(b).map_err(|e| e.to_string()),
        None => Err("missing public key".into()),
    }
}

/// The lookup-index key saying a block holds reports of a device: `r/` ‖ device (20) ‖ height
/// (u64 BE). Queries scan a device's range of heights, then read those blocks' results.
pub fn report_index_key(device: &[u8], height: u64) -> Vec<u8> {
    [b"r/".as_slice(), device, &height.to_be_bytes()].concat()
}

/// The lookup-index key listing an account's transactions in one block: `a/` ‖ address (20) ‖
/// height (u64 BE). Its value names them: (position in the block (u32 BE) ‖ role (0 sender,
/// 1 recipient)) for each, in position order ([`account_tx_positions`]). Queries scan an
/// address's range backwards for its recent blocks and read each transaction's hash from its
/// block. One entry per account per block, not per transaction: a busy block writes half as
/// many entries.
pub fn account_tx_index_key(address: &Address, height: u64) -> Vec<u8> {
    [b"a/".as_slice(), address.as_bytes(), &height.to_be_bytes()].concat()
}

/// The transactions an account index entry names: (position in the block, role), in position
/// order. Also reads keys of the earlier layout (one entry per transaction: the position and
/// role at the end of the key, an empty value), so stores written before keep their answers.
pub fn account_tx_positions(key: &[u8], value: &[u8]) -> Result<Vec<(u32, u8)>, String> {
    let tail = key
        .get(2 + 20..)
        .ok_or_else(|| format!("account index key of {} bytes", key.len()))?;
    let entry = |bytes: &[u8]| -> (u32, u8) {
        let mut position = [0u8; 4];
        position.copy_from_slice(&bytes[..4]);
        (u32::from_be_bytes(position), bytes[4])
    };
    match tail.len() {
        // The earlier layout: height ‖ position ‖ role.
        13 if value.is_empty() => Ok(vec![entry(&tail[8..])]),
        8 if !value.is_empty() && value.len().is_multiple_of(5) => {
            Ok(value.chunks(5).map(entry).collect())
        }
        _ => Err(format!(
            "account index entry with a key of {} bytes and a value of {} bytes",
            key.len(),
            value.len()
        )),
    }
}

/// Notes who one transaction involves: its sender, and whoever its messages pay or hand
/// something to (address, position in the block, role).
fn account_tx_refs(tx: &SignedTx, position: usize, refs: &mut Vec<(Address, u32, u8)>) {
    let position = u32::try_from(position).unwrap_or(u32::MAX);
    let first = refs.len();
    refs.push((tx.sender, position, 0));
    for message in &tx.messages {
        let to = match message {
            tx::Msg::Transfer(t) => t.to,
            tx::Msg::TransferDevice(m) => m.new_owner,
            // Credits bought for another account show in its transactions too.
            tx::Msg::MintCredits(m) => match m.beneficiary {
                Some(beneficiary) => beneficiary,
                None => continue,
            },
            _ => continue,
        };
        if refs[first..].iter().all(|(a, _, _)| *a != to) {
            refs.push((to, position, 1));
        }
    }
}

/// The block's account index entries ([`account_tx_index_key`]), in key order.
fn account_tx_index(mut refs: Vec<(Address, u32, u8)>, height: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    refs.sort_unstable();
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut last: Option<Address> = None;
    for (address, position, role) in refs {
        if last != Some(address) {
            entries.push((
                account_tx_index_key(&address, height),
                Vec::with_capacity(5),
            ));
            last = Some(address);
        }
        if let Some((_, value)) = entries.last_mut() {
            value.extend_from_slice(&position.to_be_bytes());
            value.push(role);
        }
    }
    entries
}

fn block_input(block: &v1::Block) -> Result<BlockInput, String> {
    let header = block.header.as_ref().ok_or("the block has no header")?;
    let parent_hash =
        Hash::from_slice(&header.parent_hash).map_err(|e| format!("parent hash: {e}"))?;
    let proposer =
        public_key_from_proto(header.proposer.as_ref()).map_err(|e| format!("proposer: {e}"))?;
    if header.tx_count as usize != block.txs.len() {
        return Err(format!(
            "the header counts {} transactions, the block has {}",
            header.tx_count,
            block.txs.len()
        ));
    }
    Ok(BlockInput {
        height: header.height,
        time_ms: header.time_ms,
        parent_hash,
        proposer,
        txs: block.txs.clone(),
        reports: block.reports.clone(),
    })
}

fn describe_header_mismatch(claimed: &v1::BlockHeader, computed: &v1::BlockHeader) -> String {
    let mut fields = Vec::new();
    if claimed.chain_id != computed.chain_id {
        fields.push("chain_id");
    }
    if claimed.tx_root != computed.tx_root {
        fields.push("tx_root");
    }
    if claimed.results_hash != computed.results_hash {
        fields.push("results_hash");
    }
    if claimed.app_hash != computed.app_hash {
        fields.push("app_hash");
    }
    format!(
        "the block's header disagrees with its execution in: {}",
        fields.join(", ")
    )
}
