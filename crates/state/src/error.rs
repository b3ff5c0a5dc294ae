//! Errors of the store. These are infrastructure failures (a disk error, a corrupt file), never a
//! verdict on a transaction: the state machine stops on them rather than record them in a block.

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// redb reported an error (I/O, corruption, a full disk).
    #[error("database error: {0}")]
    Database(#[from] redb::Error),
    /// The Merkle tree failed (a missing node means the store is corrupt).
    #[error("state tree error: {0}")]
    Tree(String),
    /// Stored bytes could not be decoded.
    #[error("corrupt stored value in {table}: {reason}")]
    Corrupt {
        /// The table holding the bad value.
        table: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A commit did not follow the tip (wrong height).
    #[error("block {got} does not follow the stored tip at height {tip}")]
    OutOfOrder {
        /// The stored tip height.
        tip: u64,
        /// The height that was offered.
        got: u64,
    },
}

/// Results of store operations.
pub type StateResult<T> = Result<T, StateError>;

macro_rules! from_redb {
    ($($error:ty),*) => {$(
        impl From<$error> for StateError {
            fn from(error: $error) -> Self {
                StateError::Database(error.into())
            }
        }
    )*};
}

from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);
