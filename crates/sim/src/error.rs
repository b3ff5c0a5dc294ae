//! The crate's error type.

use std::path::PathBuf;

use groundwork_tokenomics::TokenomicsError;

/// Why a simulation could not be set up, run or written out.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A scenario or genesis file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An output file or folder could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The scenario text is not valid TOML or does not match the scenario format.
    #[error("invalid scenario: {0}")]
    Scenario(String),
    /// A scenario value is outside what the model accepts.
    #[error("scenario parameter `{name}` is invalid: {reason}")]
    Parameter {
        /// The parameter's dotted name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `--sweep` or override argument could not be applied.
    #[error("invalid sweep `{0}`: expected KEY=V1,V2,… with KEY a dotted path in the scenario")]
    Sweep(String),
    /// The network's own reward math refused the parameters or the activity.
    #[error("tokenomics")]
    Tokenomics(#[from] TokenomicsError),
    /// Tokens were created or destroyed outside minting and burning: a bug in the simulator.
    #[error(
        "token conservation broken at step {step}: supply {supply} ≠ initial + minted − burned = {expected}, or balances {balances} ≠ supply"
    )]
    Conservation {
        /// The step at which the books stopped balancing.
        step: u32,
        /// Supply tracked by the ledger, base units.
        supply: u128,
        /// `initial + minted − burned`, base units.
        expected: u128,
        /// The sum of all balances, base units.
        balances: u128,
    },
    /// A genesis file holds no tokenomics parameters or emission schedule.
    #[error(
        "{0}: no tokenomics parameters or emission schedule found (looked for `params.tokenomics`, `tokenomics`, `emission`, `curves`)"
    )]
    NoSchedule(PathBuf),
    /// An unknown preset name.
    #[error(
        "unknown preset `{0}`; known: filecoin-simple, filecoin, helium-hnt, wireless, storage, sensors"
    )]
    UnknownPreset(String),
    /// A chart could not be drawn or encoded as PNG.
    #[error("cannot draw the chart `{title}` as PNG: {reason}")]
    Chart {
        /// The chart's title.
        title: String,
        /// What went wrong.
        reason: String,
    },
    /// JSON encoding failed.
    #[error("json")]
    Json(#[from] serde_json::Error),
}

/// A `Result` with [`SimError`].
pub type Result<T, E = SimError> = std::result::Result<T, E>;
