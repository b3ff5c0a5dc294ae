//! Groundwork's reward math: pure, deterministic functions for emission schedules, reward pools,
//! device shares, HIP-15 coverage units, HIP-17 density scaling and Storj-style reputation.
//!
//! Nothing here keeps state or does I/O, and nothing that decides a payout touches a float: token
//! amounts are `u128` base units, fractions are [`Fixed`] (18-decimal integer fixed point), and
//! `e^x` / `ln x` are evaluated in integer arithmetic (see [`fixed`]), so every validator computes
//! the same payouts to the base unit. Collections are sorted vectors or `BTreeMap`s.
//!
//! The pieces, in the order an epoch uses them:
//!
//! 1. [`EmissionSchedule::emission_for_epoch`]: how much the epoch mints ([`emission`]).
//! 2. [`PoolSplit::split`]: that amount split into pools by [`ProofKind`] ([`pools`]).
//! 3. Units per device: uptime (minimum heartbeats), [`CoverageParams::beacon_units`] (HIP-15),
//!    data credits, sensor readings, storage and compute units; multiplied by
//!    [`DensityParams::scales`] (HIP-17) and [`ReputationParams::multiplier`].
//! 4. [`distribute`]: each pool shared by weight, rounded down, the remainder returned.
//! 5. [`compute_epoch_rewards`] does 2–4 in one call and routes unclaimed tokens and rounding
//!    dust to the treasury, a burn or the next epoch, so that
//!    `Σ payouts + treasury + burn + carry-over == emission + carried in`, exactly.
//!
//! ```
//! use groundwork_tokenomics::{
//!     CapacityIntegral, DeviceActivity, EpochFunds, TokenomicsParams, compute_epoch_rewards,
//! };
//!
//! let params = TokenomicsParams::wireless(8)?;
//! let emission = params.emission.emission_for_epoch(0, CapacityIntegral::NONE)?;
//! let mut device = DeviceActivity::new([1u8; 32]);
//! device.heartbeats = 24;
//! device.data_credits = 1_000;
//! let funds = EpochFunds { emission: emission.amount, carried_in: 0 };
//! let rewards = compute_epoch_rewards(&params, 0, funds, &[device])?;
//! assert!(rewards.is_balanced());
//! for line in rewards.explain(&[1u8; 32]) {
//!     println!("{:?}: {} base units from a pool of {}", line.kind, line.amount, line.pool);
//! }
//! # Ok::<(), groundwork_tokenomics::TokenomicsError>(())
//! ```

pub mod amount_serde;
pub mod coverage;
pub mod density;
pub mod distribution;
pub mod emission;
pub mod epoch;
pub mod error;
pub mod fixed;
pub mod params;
pub mod pools;
pub mod reputation;

pub use coverage::{BeaconUnits, CoverageParams};
pub use density::{DensityParams, DensityResolution};
pub use distribution::{
    AppliedMultiplier, Contribution, Distribution, Explanation, Ineligibility, MultiplierKind,
    Payout, distribute, distribute_owned,
};
pub use emission::{
    BaselineMinting, CapacityIntegral, DEFAULT_DECIMALS, EmissionCurve, EmissionSchedule,
    EpochEmission, NetEmissions, whole_tokens,
};
pub use epoch::{DeviceActivity, EpochFunds, EpochRewards, compute_epoch_rewards};
pub use error::{Result, TokenomicsError};
pub use fixed::{Fixed, exp_neg, ln, mul_div_floor};
pub use params::{TokenomicsParams, UptimeParams};
pub use pools::{PoolAmounts, PoolSpec, PoolSplit, ProofKind, Settlement, UnclaimedDestination};
pub use reputation::{AuditOutcome, AuditScore, ReputationParams};
