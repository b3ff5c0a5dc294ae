//! Groundwork's tokenomics simulator: see a network's future before launching it.
//!
//! A [`Scenario`] names the network's incentive parameters (the `tokenomics` crate's
//! [`TokenomicsParams`](groundwork_tokenomics::TokenomicsParams), as in genesis) and a world:
//! device kinds with hardware and operating costs, operators who join when the payback looks
//! short enough and leave after a run of unprofitable days, demand that grows and reacts to
//! price, a token market (burn-and-mint flows with depth and noise, or an external price path)
//! and shocks. [`run`] plays it forward step by step, minting with the network's own
//! [`EmissionSchedule`](groundwork_tokenomics::EmissionSchedule) and sharing rewards with its own
//! pool and distribution code ([`rewards`]), checking every step that the token supply equals
//! initial + minted − burned.
//!
//! [`metrics::summarise`] turns a run into the sustainability metrics analysts use (burn-to-mint,
//! net inflation, subsidy ratio, payback, cost coverage, churn) and a verdict; [`ensemble`] runs
//! Monte Carlo seeds and parameter sweeps in parallel; [`output`] writes CSV, JSON, SVG charts
//! and a markdown report; [`schedule`] prints emission schedules on their own.
//!
//! ```
//! use groundwork_sim::{Scenario, run, metrics::summarise};
//!
//! let scenario = Scenario::from_toml_str(r#"
//!     steps = 60
//!     initial_supply_tokens = 1_000_000
//!     [tokenomics]
//!     preset = "wireless"
//!     [[device_kinds]]
//!     name = "hotspot"
//!     initial_operators = 100
//!     max_operators = 1_000
//!     [demand]
//!     initial = 500
//!     price_usd_per_unit = 0.5
//! "#)?;
//! let outcome = run(&scenario, 7)?;
//! assert_eq!(outcome.rows.len(), 60);
//! assert_eq!(outcome, run(&scenario, 7)?); // same seed, same run
//! println!("{}", summarise(&outcome).verdict);
//! # Ok::<(), groundwork_sim::SimError>(())
//! ```

pub mod chart;
pub mod cli;
pub mod engine;
pub mod ensemble;
pub mod error;
pub mod metrics;
pub mod output;
pub mod rewards;
pub mod scenario;
pub mod schedule;

pub use engine::{Outcome, StepRow, run, run_with_progress};
pub use error::{Result, SimError};
pub use scenario::Scenario;
