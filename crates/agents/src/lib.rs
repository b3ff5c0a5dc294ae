//! Simulated device fleets for Groundwork.
//!
//! A fleet is a set of simulated devices — radio hotspots and environmental sensors — placed on
//! H3 cells around a real city. [`run_fleet`] onboards them on a node (maker attestation, device
//! signature, owner transaction, stake), then plays their lives against the node's HTTP API until
//! told to stop: heartbeats at the chain's cadence, beacons when chain randomness selects a
//! hotspot, witness reports from every hotspot in radio range under a log-distance path-loss model
//! with shadowing, data transfer receipts countersigned by simulated users, and sensor readings
//! that follow smooth daily curves. Every report is signed with the device's key and numbered with
//! a strictly increasing counter.
//!
//! A configurable few devices cheat, so that the chain's verdicts can be seen to catch them: a
//! location liar (asserts a cell tens of kilometres from where its radio really is), a witness
//! ring (far-apart hotspots that fabricate strong witness reports of each other's beacons) and a
//! replayer (resends its old reports). The [`FleetReport`] says which devices cheat and how, and
//! counts reports sent, accepted and refused per class of device.
//!
//! The simulated payers pay for the data they send with credits (burn-and-mint): before their
//! first receipt, and whenever their credits run short, the fleet's owner burns tokens at the
//! oracle price to mint credits for them, so every receipt it signs is covered. A devnet also
//! runs a [`PriceFeed`] with the genesis oracle's key, so there is a fresh price to mint at.
//!
//! Everything is seeded: the same [`FleetConfig`] gives the same keys, places and cheaters.

pub mod client;
pub mod config;
pub mod credits;
pub mod fleet;
pub mod oracle;
pub mod placement;
pub mod radio;
pub mod report;
pub mod rng;
pub mod sensors;
pub mod signing;

pub use config::{CheaterCounts, City, FleetConfig, OwnerFunding};
pub use fleet::run_fleet;
pub use oracle::{PriceFeed, run_price_feed};
pub use report::{ClassCounts, DeviceRole, DeviceSummary, FleetReport};

/// What can stop a fleet. Invalid *reports* are not errors: the node refuses or judges them, and
/// the [`FleetReport`] counts them. These are for broken setups and unreachable nodes.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The node could not be reached or answered something unreadable.
    #[error("node {url}: {message}")]
    Node {
        /// The URL asked.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The configuration cannot work.
    #[error("fleet configuration: {0}")]
    Config(String),
    /// Onboarding or funding did not go through.
    #[error("onboarding: {0}")]
    Onboarding(String),
    /// Buying credits for the simulated payers did not go through.
    #[error("buying credits: {0}")]
    Credits(String),
}

/// The crate's result type.
pub type Result<T, E = FleetError> = std::result::Result<T, E>;
