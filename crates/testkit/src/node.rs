//! The test node: an app over a real store, driven block by block without networking.

use std::path::{Path, PathBuf};

use groundwork_app::modules::accounts::state::{Account, AccountsRead, Supply};
use groundwork_app::modules::credits::state::CreditsRead;
use groundwork_app::modules::devices::state::{DeviceRecord, DevicesRead};
use groundwork_app::modules::staking::state::{StakeTotals, StakingRead};
use groundwork_app::modules::storage::query::{self as storage_query, ChallengesView};
use groundwork_app::modules::storage::state::{Deal, ProviderRecord, StorageRead, StorageTotals};
use groundwork_app::tx::{build_signed_tx, mint_credits_message, submit_price_message};
use groundwork_app::{App, BlockInput, BlockLimits, CheckedTx, FinalizedBlock, SignedTx, TxError};
use groundwork_primitives::{Address, Amount, DeviceId, SigningKey, sha256};
use groundwork_proto::v1;
use groundwork_proto::v1::report_body::Kind;
use groundwork_state::{Store, Tip};
use tempfile::TempDir;

use crate::clock::SeededClock;
use crate::devices::{Radio, TestDevice, assert_location_message, onboard_device_message};
use crate::error::{TestkitError, TestkitResult};
use crate::genesis::TestGenesis;
use crate::replay::{decode_stored, replay_blocks, stored_history};
use crate::txs::sign_transfer;

/// A block offered with [`TestNode::offer_block`]: how it executed and what validators made of it.
#[derive(Debug, Clone)]
pub struct OfferedBlock {
    /// The execution: the complete block, its results and hashes.
    pub executed: FinalizedBlock,
    /// The new tip if the block was accepted and committed, else why it was rejected (nothing
    /// was committed then).
    pub verdict: Result<Tip, String>,
}

/// The store file's name inside the node's directory.
const STORE_FILE: &str = "state.redb";

/// An [`App`] over a redb store in its own temporary directory (removed when the node is
/// dropped), with a mempool, a seeded clock and the genesis keys.
///
/// Every block it commits ([`TestNode::produce_block`], [`TestNode::offer_block`]) is then
/// checked with [`App::check_invariants`]; a broken invariant is an `Err`.
pub struct TestNode {
    app: App,
    dir: TempDir,
    genesis: TestGenesis,
    clock: SeededClock,
    mempool: Vec<Vec<u8>>,
    limits: BlockLimits,
}

impl std::fmt::Debug for TestNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestNode")
            .field("dir", &self.dir.path())
            .field("chain_id", &self.genesis.genesis.chain_id)
            .field("mempool", &self.mempool.len())
            .finish()
    }
}

impl TestNode {
    /// Creates a store in a new temporary directory and runs genesis on it.
    pub fn start(genesis: TestGenesis) -> TestkitResult<TestNode> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join(STORE_FILE))?;
        let mut app = App::open(store)?;
        app.init_chain(&genesis.genesis)?;
        let clock = SeededClock {
            genesis_time_ms: genesis.genesis.genesis_time_ms,
            step_ms: genesis.block_step_ms,
        };
        let node = TestNode {
            app,
            dir,
            genesis,
            clock,
            mempool: Vec::new(),
            limits: BlockLimits::default(),
        };
        node.check_invariants()?;
        Ok(node)
    }

    /// Stops the node as a crash would (the app and the mempool are dropped, nothing is flushed
    /// by hand) and opens the same store file again.
    pub fn restart(self) -> TestkitResult<TestNode> {
        let TestNode {
            app,
            dir,
            genesis,
            clock,
            limits,
            ..
        } = self;
        // redb allows one open handle per file: close it before reopening.
        drop(app);
        let app = App::open(Store::open(&dir.path().join(STORE_FILE))?)?;
        let node = TestNode {
            app,
            dir,
            genesis,
            clock,
            mempool: Vec::new(),
            limits,
        };
        node.check_invariants()?;
        Ok(node)
    }

    /// The state machine.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The state machine, for driving it by hand (`process_proposal`, `finalize_block`, …).
    pub fn app_mut(&mut self) -> &mut App {
        &mut self.app
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.app.store()
    }

    /// The store file.
    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join(STORE_FILE)
    }

    /// The node's temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The genesis and its keys.
    pub fn genesis(&self) -> &TestGenesis {
        &self.genesis
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.genesis.genesis.chain_id
    }

    /// The clock that times the blocks.
    pub fn clock(&self) -> SeededClock {
        self.clock
    }

    /// Limits on what [`TestNode::produce_block`] puts in a block.
    pub fn set_block_limits(&mut self, limits: BlockLimits) {
        self.limits = limits;
    }

    /// The key of funded account `index`.
    pub fn key(&self, index: usize) -> TestkitResult<&SigningKey> {
        self.genesis.account_keys.get(index).ok_or_else(|| {
            TestkitError::Usage(format!(
                "account {index} does not exist: the genesis has {} accounts",
                self.genesis.account_keys.len()
            ))
        })
    }

    /// The address of funded account `index` (the all-zero address if there is no such account,
    /// which [`TestNode::key`] reports as an error).
    pub fn address(&self, index: usize) -> Address {
        self.genesis
            .account_keys
            .get(index)
            .map(|key| Address::from_public_key(&key.public_key()))
            .unwrap_or(Address([0; 20]))
    }

    /// The last committed block (height 0 after genesis).
    pub fn tip(&self) -> TestkitResult<Tip> {
        self.app
            .tip()?
            .ok_or_else(|| TestkitError::Usage("the node has no genesis".into()))
    }

    /// The last committed height.
    pub fn height(&self) -> TestkitResult<u64> {
        Ok(self.tip()?.height)
    }

    /// An account as committed.
    pub fn account(&self, address: Address) -> TestkitResult<Account> {
        Ok(self.store().snapshot()?.account(&address)?)
    }

    /// An account's committed balance.
    pub fn balance(&self, address: Address) -> TestkitResult<Amount> {
        Ok(self.account(address)?.balance)
    }

    /// An account's committed next nonce.
    pub fn nonce(&self, address: Address) -> TestkitResult<u64> {
        Ok(self.account(address)?.nonce)
    }

    /// The committed supply counters.
    pub fn supply(&self) -> TestkitResult<Supply> {
        Ok(self.store().snapshot()?.supply()?)
    }

    /// The committed minimum fee.
    pub fn min_fee(&self) -> TestkitResult<Amount> {
        Ok(self.store().snapshot()?.accounts_params()?.min_fee)
    }

    /// The nonce account `index`'s next transaction should carry: its committed nonce plus its
    /// transactions waiting in the mempool.
    pub fn next_nonce(&self, index: usize) -> TestkitResult<u64> {
        let sender = Address::from_public_key(&self.key(index)?.public_key());
        let waiting = self
            .mempool
            .iter()
            .filter(|bytes| SignedTx::decode(bytes).is_ok_and(|tx| tx.sender == sender))
            .count() as u64;
        Ok(self.nonce(sender)? + waiting)
    }

    /// A transfer from account `from` with its next nonce and the minimum fee.
    pub fn transfer(&self, from: usize, to: Address, amount: Amount) -> TestkitResult<Vec<u8>> {
        let nonce = self.next_nonce(from)?;
        let fee = self.min_fee()?;
        Ok(sign_transfer(
            self.key(from)?,
            self.chain_id(),
            nonce,
            fee,
            to,
            amount,
        ))
    }

    /// A transfer from account `from` with every field chosen by the test.
    pub fn transfer_with(
        &self,
        from: usize,
        nonce: u64,
        fee: Amount,
        to: Address,
        amount: Amount,
    ) -> TestkitResult<Vec<u8>> {
        Ok(sign_transfer(
            self.key(from)?,
            self.chain_id(),
            nonce,
            fee,
            to,
            amount,
        ))
    }

    /// Offers a transaction to the mempool through [`App::check_tx`]; it waits for the next
    /// block only if admitted.
    pub fn submit(&mut self, tx: Vec<u8>) -> TestkitResult<Result<CheckedTx, TxError>> {
        let verdict = self.app.check_tx(&tx)?;
        if verdict.is_ok() {
            self.mempool.push(tx);
        }
        Ok(verdict)
    }

    /// Puts bytes in the mempool without `check_tx`, as if a peer's mempool had let them through.
    pub fn submit_unchecked(&mut self, tx: Vec<u8>) {
        self.mempool.push(tx);
    }

    /// The transactions waiting for the next block.
    pub fn mempool(&self) -> &[Vec<u8>] {
        &self.mempool
    }

    /// Makes the next block from the mempool with [`App::produce_block`] at the clock's time for
    /// its height, proposed by the genesis validator, then checks the invariants. The mempool is
    /// emptied: what the proposal left out is dropped (look at the block to see what got in).
    pub fn produce_block(&mut self) -> TestkitResult<FinalizedBlock> {
        let candidates = std::mem::take(&mut self.mempool);
        let height = self.height()? + 1;
        let proposer = self.genesis.validator_key.public_key();
        let time_ms = self.clock.time_of_block(height);
        let block = self
            .app
            .produce_block(time_ms, proposer, &candidates, self.limits)?;
        self.check_invariants()?;
        Ok(block)
    }

    /// Offers the next block holding exactly `txs`, in order, as another proposer's block would
    /// arrive: it is executed ([`App::finalize_block`]), judged as a validator judges it
    /// ([`App::process_proposal`]) and committed only if accepted, then the invariants are
    /// checked. The execution's results come back either way, so a test can see what each
    /// transaction would have done in a block the validators refuse.
    pub fn offer_block(&mut self, txs: Vec<Vec<u8>>) -> TestkitResult<OfferedBlock> {
        let input = self.next_block_input(txs)?;
        let executed = self.app.finalize_block(input)?.clone();
        let verdict = match self.app.process_proposal(&executed.block)? {
            Ok(()) => {
                let tip = self.app.commit()?;
                self.check_invariants()?;
                Ok(tip)
            }
            Err(reason) => Err(reason),
        };
        Ok(OfferedBlock { executed, verdict })
    }

    /// The input of the next block holding `txs`: next height, the clock's time, the tip as
    /// parent, the genesis validator as proposer.
    pub fn next_block_input(&self, txs: Vec<Vec<u8>>) -> TestkitResult<BlockInput> {
        let tip = self.tip()?;
        Ok(BlockInput {
            height: tip.height + 1,
            time_ms: self.clock.time_of_block(tip.height + 1).max(tip.time_ms),
            parent_hash: tip.block_hash,
            proposer: self.genesis.validator_key.public_key(),
            txs,
            reports: Vec::new(),
        })
    }

    /// The stored block at `height`.
    pub fn block(&self, height: u64) -> TestkitResult<v1::Block> {
        let bytes = self
            .store()
            .block(height)?
            .ok_or_else(|| TestkitError::Usage(format!("no block is stored at height {height}")))?;
        decode_stored("block", &bytes)
    }

    /// The stored results of the block at `height`.
    pub fn results(&self, height: u64) -> TestkitResult<v1::BlockResults> {
        let bytes = self.store().results(height)?.ok_or_else(|| {
            TestkitError::Usage(format!("no results are stored at height {height}"))
        })?;
        decode_stored("block results", &bytes)
    }

    /// Height, block hash, app hash and time of every stored block, from 1 to the tip, as read
    /// back from the stored headers.
    pub fn history(&self) -> TestkitResult<Vec<Tip>> {
        stored_history(self.store())
    }

    /// Re-executes every stored block into a fresh store made from the same genesis (in a
    /// temporary directory of its own) and returns the tips it reached, block by block.
    pub fn replay_into_fresh_store(&self) -> TestkitResult<Vec<Tip>> {
        let dir = tempfile::tempdir()?;
        replay_blocks(
            self.store(),
            &self.genesis.genesis,
            &dir.path().join(STORE_FILE),
        )
    }

    /// The attestation key of genesis maker `index`.
    pub fn maker_key(&self, index: usize) -> TestkitResult<&SigningKey> {
        self.genesis.maker_keys.get(index).ok_or_else(|| {
            TestkitError::Usage(format!(
                "maker {index} does not exist: the genesis has {} makers",
                self.genesis.maker_keys.len()
            ))
        })
    }

    /// A transaction from account `from` carrying `messages`, with its next nonce and the
    /// minimum fee.
    pub fn sign_tx(&self, from: usize, messages: Vec<v1::Message>) -> TestkitResult<Vec<u8>> {
        let nonce = self.next_nonce(from)?;
        let fee = self.min_fee()?;
        Ok(build_signed_tx(
            self.key(from)?,
            self.chain_id(),
            nonce,
            fee,
            messages,
            "",
        ))
    }

    /// Signs `messages` from account `from` ([`TestNode::sign_tx`]), submits them, produces the
    /// next block and returns the transaction's result. A transaction the mempool refuses is an
    /// `Err` (these helpers are for transactions that pay their fee).
    pub fn execute(
        &mut self,
        from: usize,
        messages: Vec<v1::Message>,
    ) -> TestkitResult<v1::TxResult> {
        let tx = self.sign_tx(from, messages)?;
        let hash = sha256(&tx);
        if let Err(refusal) = self.submit(tx)? {
            return Err(TestkitError::Usage(format!(
                "the mempool refused the transaction: {refusal}"
            )));
        }
        let block = self.produce_block()?;
        block
            .tx_hashes
            .iter()
            .position(|h| *h == hash)
            .and_then(|i| block.results.tx_results.get(i).cloned())
            .ok_or_else(|| TestkitError::Usage("the block left the transaction out".into()))
    }

    /// The key of price oracle `index`.
    pub fn oracle_key(&self, index: usize) -> TestkitResult<&SigningKey> {
        self.genesis.oracle_keys.get(index).ok_or_else(|| {
            TestkitError::Usage(format!(
                "oracle {index} does not exist: the genesis has {} oracles",
                self.genesis.oracle_keys.len()
            ))
        })
    }

    /// Oracle `index` submits `micro_fiat_per_token` in the next block; returns the
    /// transaction's result.
    pub fn submit_price(
        &mut self,
        index: usize,
        micro_fiat_per_token: u64,
    ) -> TestkitResult<v1::TxResult> {
        let key = self.oracle_key(index)?.clone();
        let address = Address::from_public_key(&key.public_key());
        let nonce = self.nonce(address)?;
        let fee = self.min_fee()?;
        let tx = build_signed_tx(
            &key,
            self.chain_id(),
            nonce,
            fee,
            vec![submit_price_message(micro_fiat_per_token)],
            "",
        );
        let hash = sha256(&tx);
        if let Err(refusal) = self.submit(tx)? {
            return Err(TestkitError::Usage(format!(
                "the mempool refused the price: {refusal}"
            )));
        }
        let block = self.produce_block()?;
        block
            .tx_hashes
            .iter()
            .position(|h| *h == hash)
            .and_then(|i| block.results.tx_results.get(i).cloned())
            .ok_or_else(|| TestkitError::Usage("the block left the price out".into()))
    }

    /// Account `from` burns `amount` for credits to `beneficiary` (itself when `None`) in the
    /// next block; returns the transaction's result.
    pub fn mint_credits(
        &mut self,
        from: usize,
        amount: Amount,
        beneficiary: Option<Address>,
    ) -> TestkitResult<v1::TxResult> {
        self.execute(
            from,
            vec![mint_credits_message(amount, beneficiary.as_ref(), 0)],
        )
    }

    /// An account's committed credits.
    pub fn credits(&self, address: Address) -> TestkitResult<u64> {
        Ok(self.store().snapshot()?.credits_of(&address)?)
    }

    /// The onboarding message of `device` for account `owner`, attested by maker `maker`, with
    /// both signatures (tests may tamper with it before sending it).
    pub fn onboarding(
        &self,
        owner: usize,
        device: &TestDevice,
        maker: usize,
    ) -> TestkitResult<v1::OnboardDevice> {
        Ok(device.onboarding(
            self.chain_id(),
            &self.address(owner),
            self.maker_key(maker)?,
        ))
    }

    /// Onboards `device` for account `owner` with maker `maker`'s attestation in the next block;
    /// returns the transaction's result.
    pub fn onboard_device(
        &mut self,
        owner: usize,
        device: &TestDevice,
        maker: usize,
    ) -> TestkitResult<v1::TxResult> {
        let onboarding = self.onboarding(owner, device, maker)?;
        self.execute(owner, vec![onboard_device_message(onboarding)])
    }

    /// Asserts a device's location and antenna, signed by account `owner`, in the next block;
    /// returns the transaction's result.
    pub fn assert_location(
        &mut self,
        owner: usize,
        device: &DeviceId,
        radio: Radio,
    ) -> TestkitResult<v1::TxResult> {
        self.execute(owner, vec![assert_location_message(device, radio)])
    }

    /// The time the next block will carry.
    pub fn next_block_time(&self) -> TestkitResult<u64> {
        let tip = self.tip()?;
        Ok(self.clock.time_of_block(tip.height + 1).max(tip.time_ms))
    }

    /// A report of `device` with its next counter, dated at the next block's time.
    pub fn report(&self, device: &mut TestDevice, kind: Kind) -> TestkitResult<Vec<u8>> {
        let time_ms = self.next_block_time()?;
        Ok(device.report(self.chain_id(), time_ms, kind))
    }

    /// Makes the next block like [`TestNode::produce_block`], with `reports` after the
    /// transactions ([`App::produce_block_with_reports`]), then checks the invariants.
    pub fn produce_block_with_reports(
        &mut self,
        reports: Vec<Vec<u8>>,
    ) -> TestkitResult<FinalizedBlock> {
        let candidates = std::mem::take(&mut self.mempool);
        let proposer = self.genesis.validator_key.public_key();
        let time_ms = self.next_block_time()?;
        let block = self.app.produce_block_with_reports(
            time_ms,
            proposer,
            &candidates,
            reports,
            self.limits,
        )?;
        self.check_invariants()?;
        Ok(block)
    }

    /// [`TestNode::produce_block_with_reports`], returning only the reports' verdicts, in order.
    pub fn judge_reports(&mut self, reports: Vec<Vec<u8>>) -> TestkitResult<Vec<v1::ReportResult>> {
        Ok(self
            .produce_block_with_reports(reports)?
            .results
            .report_results)
    }

    /// A device as committed.
    pub fn device(&self, id: &DeviceId) -> TestkitResult<Option<DeviceRecord>> {
        Ok(self.store().snapshot()?.device(id)?)
    }

    /// The committed staking totals.
    pub fn stake_totals(&self) -> TestkitResult<StakeTotals> {
        Ok(self.store().snapshot()?.stake_totals()?)
    }

    /// Produces empty blocks until the tip is at `height` (nothing if it is there already).
    pub fn advance_to(&mut self, height: u64) -> TestkitResult<()> {
        while self.height()? < height {
            self.produce_block()?;
        }
        Ok(())
    }

    /// A storage provider as committed.
    pub fn storage_provider(&self, device: &DeviceId) -> TestkitResult<Option<ProviderRecord>> {
        Ok(self.store().snapshot()?.provider(device)?)
    }

    /// A storage deal as committed.
    pub fn deal(&self, id: u64) -> TestkitResult<Option<Deal>> {
        Ok(self.store().snapshot()?.deal(id)?)
    }

    /// The committed storage totals (escrow).
    pub fn storage_totals(&self) -> TestkitResult<StorageTotals> {
        Ok(self.store().snapshot()?.storage_totals()?)
    }

    /// What the deal's providers must prove in the proof window open for the next block
    /// (the API's `GET /v1/storage/challenges/{deal}`).
    pub fn challenges(&self, deal: u64) -> TestkitResult<ChallengesView> {
        let tip = self.tip()?;
        storage_query::challenges(
            &self.store().snapshot()?,
            deal,
            None,
            (tip.height, tip.block_hash),
        )?
        .ok_or_else(|| TestkitError::Usage(format!("no deal {deal}")))
    }

    /// [`App::check_invariants`] over the committed state, as a `Result`.
    pub fn check_invariants(&self) -> TestkitResult<()> {
        let height = self.height()?;
        self.app
            .check_invariants()?
            .map_err(|reason| TestkitError::Invariant { height, reason })
    }

    /// [`App::check_invariants`] over the committed state; panics if one is broken.
    #[allow(
        clippy::panic,
        reason = "an assertion for tests: a broken invariant fails the test"
    )]
    pub fn assert_invariants(&self) {
        if let Err(error) = self.check_invariants() {
            panic!("{error}");
        }
    }
}
