//! The crate's error type.

use crate::pools::ProofKind;

/// Why a tokenomics computation could not be carried out.
///
/// These are errors in parameters or in the shape of the input (which the caller controls), never
/// a device's bad behaviour: a device that did not qualify simply earns zero, with the reason in
/// its explanation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenomicsError {
    /// The pool shares do not add up to 10,000 basis points.
    #[error("pool shares add up to {sum} basis points, not 10000")]
    PoolSharesDoNotSumToWhole {
        /// The sum that was found.
        sum: u32,
    },
    /// The same proof kind appears twice in the pool split.
    #[error("pool {0:?} appears more than once in the pool split")]
    DuplicatePool(ProofKind),
    /// A parameter that must be positive is zero.
    #[error("parameter `{0}` must be greater than zero")]
    ZeroParameter(&'static str),
    /// A parameter is outside the range this crate supports.
    #[error("parameter `{name}` is out of range: {reason}")]
    ParameterOutOfRange {
        /// The parameter's name.
        name: &'static str,
        /// What the allowed range is.
        reason: &'static str,
    },
    /// More decimals than the crate supports (amounts must fit comfortably in a `u128`).
    #[error("{0} decimals requested; at most 18 are supported")]
    TooManyDecimals(u8),
    /// An intermediate value does not fit in 128 bits.
    #[error("arithmetic overflow while computing {0}")]
    Overflow(&'static str),
    /// The same device appears twice in one pool's contributions or in an epoch's activity.
    #[error("device at position {index} appears more than once")]
    DuplicateDevice {
        /// Position of the second occurrence in the sorted input.
        index: usize,
    },
    /// Devices in an epoch's activity are not sorted by key.
    #[error("devices are not sorted by key at position {index}")]
    DevicesNotSorted {
        /// Position of the first device that is smaller than its predecessor.
        index: usize,
    },
    /// A density resolution is not a valid H3 resolution (0 to 15).
    #[error("{0} is not an H3 resolution")]
    InvalidResolution(u8),
}

/// A `Result` with [`TokenomicsError`].
pub type Result<T, E = TokenomicsError> = std::result::Result<T, E>;
