//! Staking: collateral bonded per device, unbonding after a delay, and slashing.
//!
//! When a device is onboarded its owner bonds the stake its kind requires (a devices parameter);
//! when it is decommissioned the stake starts unbonding and can be withdrawn after
//! `unbonding_blocks`. Slashed stake is **burned** (it leaves the supply; no one profits from
//! reporting a fault, which removes an incentive to fabricate accusations). The module keeps
//! totals so the supply rule `liquid + bonded + unbonding (+ escrowed) = supply` can be checked.

pub mod events;
pub mod msgs;
pub mod params;
pub mod query;
pub mod state;
