//! The two kinds of failure in the state machine.
//!
//! - [`TxError`]: a transaction was invalid or failed. It is recorded in the block's results with
//!   a code and a reason and the chain moves on. These are verdicts, not malfunctions.
//! - [`AppError`]: the node itself cannot go on (the store failed, the block is malformed, the
//!   calls came in the wrong order). The driver stops or rejects the block.

use groundwork_primitives::{Address, Amount};
use groundwork_state::StateError;

/// Why a transaction was refused or failed. The numeric [`TxError::code`] is part of the protocol
/// (`docs/protocol.md`); the text is for people.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TxError {
    /// The bytes are not a well-formed transaction.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// The signature does not verify for the signer and body.
    #[error("the signature does not match the signer and the transaction body")]
    BadSignature,
    /// The body names another chain.
    #[error("the transaction is for chain {got:?}, this chain is {expected:?}")]
    WrongChain {
        /// This chain's id.
        expected: String,
        /// The id in the transaction.
        got: String,
    },
    /// The nonce is not the sender's next nonce.
    #[error("nonce {got} is not the account's next nonce {expected}")]
    BadNonce {
        /// The sender's next nonce.
        expected: u64,
        /// The nonce in the transaction.
        got: u64,
    },
    /// The fee is below the chain's minimum.
    #[error("the fee {got} is below the minimum fee {minimum} (base units)")]
    FeeTooLow {
        /// The minimum fee.
        minimum: Amount,
        /// The fee offered.
        got: Amount,
    },
    /// The sender cannot pay the fee (and, for the mempool, the amounts it sends).
    #[error("account {account} holds {available} but needs {needed} (base units)")]
    InsufficientFunds {
        /// The paying account.
        account: Address,
        /// What it holds.
        available: Amount,
        /// What it needs.
        needed: Amount,
    },
    /// A message is invalid on its own (zero amount, bad address, …).
    #[error("message {index} is invalid: {reason}")]
    InvalidMessage {
        /// The message's position in the transaction, from 0.
        index: usize,
        /// Why.
        reason: String,
    },
    /// A message failed against the state; nothing the transaction did took effect but the fee.
    #[error("message {index} failed: {reason}")]
    MessageFailed {
        /// The message's position in the transaction, from 0.
        index: usize,
        /// Why.
        reason: String,
    },
}

impl TxError {
    /// The one failure code that still charges the fee: the transaction was authenticated, in
    /// order and able to pay, and one of its messages failed.
    pub const PAYING_FAILURE_CODE: u32 = 8;

    /// The protocol's numeric code for this failure (0 means success and is never used here).
    pub fn code(&self) -> u32 {
        match self {
            TxError::Malformed(_) => 1,
            TxError::BadSignature => 2,
            TxError::WrongChain { .. } => 3,
            TxError::BadNonce { .. } => 4,
            TxError::FeeTooLow { .. } => 5,
            TxError::InsufficientFunds { .. } => 6,
            TxError::InvalidMessage { .. } => 7,
            TxError::MessageFailed { .. } => 8,
        }
    }
}

/// A failure that stops block processing.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The store failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// `init_chain` has not run on this store.
    #[error("the chain has no genesis yet: run `groundwork init` or start from a genesis file")]
    NotInitialized,
    /// `init_chain` ran already with a different genesis.
    #[error("this store already holds chain {existing:?}; it cannot be initialised as {offered:?}")]
    AlreadyInitialized {
        /// The chain in the store.
        existing: String,
        /// The chain in the offered genesis.
        offered: String,
    },
    /// The genesis document is invalid.
    #[error("invalid genesis: {0}")]
    Genesis(String),
    /// A block does not follow the chain (height, parent, time) or contradicts its own header.
    #[error("invalid block: {0}")]
    InvalidBlock(String),
    /// `commit` was called with no finalized block pending.
    #[error("commit called with no finalized block pending")]
    NothingToCommit,
    /// Stored state could not be decoded.
    #[error("corrupt state under {key}: {reason}")]
    Corrupt {
        /// The key (printable form).
        key: String,
        /// What was wrong.
        reason: String,
    },
}

/// Results of the state machine's fallible operations.
pub type AppResult<T> = Result<T, AppError>;

/// A module's execution of a message: `Err(Fail)` records a failed transaction,
/// `Err(Fatal)` stops the node.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The message failed; the transaction's other effects are discarded.
    #[error("{0}")]
    Fail(String),
    /// The node cannot go on.
    #[error(transparent)]
    Fatal(#[from] AppError),
}

impl From<StateError> for ExecError {
    fn from(error: StateError) -> Self {
        ExecError::Fatal(AppError::State(error))
    }
}
