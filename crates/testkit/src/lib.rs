//! For tests only: drive Groundwork's state machine the way a node would, without networking.
//!
//! - [`GenesisBuilder`] writes a genesis with `N` funded accounts whose keys come from a seed,
//!   so every run of a test signs the same bytes and gets the same state roots.
//! - [`SeededClock`] gives block `h` the time `genesis + h × step`: no wall clock anywhere.
//! - [`TestNode`] is an [`App`](groundwork_app::App) over a real redb store in a temporary
//!   directory. Tests sign transfers for account `i` with the right nonce, submit them through
//!   `check_tx` (or offer validators a block of any bytes at all), produce blocks through
//!   [`App::produce_block`](groundwork_app::App::produce_block), and read balances and nonces.
//!   Every block it produces is followed by [`App::check_invariants`](groundwork_app::App::check_invariants):
//!   a broken invariant fails the call that produced the block.
//! - Devices: [`GenesisBuilder::maker`] registers hardware makers with seeded keys;
//!   [`TestDevice`] holds an ed25519 or P-256 device key and signs reports with a counter that
//!   goes up by one each time; [`TestNode::onboard_device`] and [`TestNode::assert_location`]
//!   send the transactions, and [`TestNode::judge_reports`] puts reports in a block
//!   ([`App::produce_block_with_reports`](groundwork_app::App::produce_block_with_reports)) and
//!   returns their verdicts.
//! - [`replay_blocks`] re-executes every stored block of a node into a fresh store, for
//!   determinism tests.
//!
//! ```
//! use groundwork_primitives::Amount;
//! use groundwork_testkit::{GenesisBuilder, TestNode};
//!
//! let mut node = TestNode::start(GenesisBuilder::new().accounts(2, Amount(1_000_000)).build())?;
//! let tx = node.transfer(0, node.address(1), Amount(500))?;
//! node.submit(tx)?.expect("admitted");
//! let block = node.produce_block()?;
//! assert_eq!(block.results.tx_results[0].code, 0);
//! assert_eq!(node.balance(node.address(1))?, Amount(1_000_500));
//! # Ok::<(), groundwork_testkit::TestkitError>(())
//! ```

mod clock;
mod devices;
mod error;
mod genesis;
mod node;
mod replay;
mod storage;
mod txs;

pub use clock::SeededClock;
pub use devices::{
    DEVICE_RESOLUTION, DeviceKey, Radio, TestDevice, assert_location_message, data_transfer,
    decommission_device_message, h3_cell, heartbeat, onboard_device_message, sensor_reading,
    transfer_device_message, withdraw_unbonded_message,
};
pub use error::{TestkitError, TestkitResult};
pub use genesis::{GenesisBuilder, TestGenesis};
pub use node::{OfferedBlock, TestNode};
pub use replay::{replay_blocks, stored_history};
pub use storage::{
    DealTerms, StoredFile, StoredSegment, create_deal_message, register_provider_message,
    repair_deal_message, submit_proof_message, terminate_deal_message, update_provider_message,
    withdraw_provider_message,
};
pub use txs::{sign_transfer, tamper_signature};
