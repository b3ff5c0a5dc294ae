//! What can go wrong while driving a test node.

use groundwork_app::AppError;
use groundwork_state::StateError;

/// A failure of the test harness or of the state machine under it.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// The state machine refused a call or could not go on.
    #[error(transparent)]
    App(#[from] AppError),
    /// The store failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The temporary directory could not be made.
    #[error("temporary directory: {0}")]
    Io(#[from] std::io::Error),
    /// A supply invariant does not hold after a block.
    #[error("invariant broken after block {height}: {reason}")]
    Invariant {
        /// The block after which it broke (0 for genesis).
        height: u64,
        /// What the check found.
        reason: String,
    },
    /// Stored bytes (a block, its results) could not be read back.
    #[error("stored data: {0}")]
    Stored(String),
    /// A test asked for something the node does not have (an account index, a block).
    #[error("{0}")]
    Usage(String),
}

/// Results of the testkit's fallible operations.
pub type TestkitResult<T> = Result<T, TestkitError>;
