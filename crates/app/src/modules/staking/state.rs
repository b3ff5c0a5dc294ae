//! Staking state, reached only through [`StakingRead`] and [`StakingWrite`].
//!
//! Keys:
//! - `staking/totals` → JSON [`StakeTotals`]
//! - `staking/params` → JSON [`StakingParams`]
//! - `staking/unbonding/` ‖ owner (20) ‖ release height (u64 BE) ‖ device (20) → amount (u128 BE)

use groundwork_primitives::{Address, Amount, DeviceId};
use groundwork_state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::modules::staking::params::StakingParams;

const TOTALS_KEY: &[u8] = b"staking/totals";
const PARAMS_KEY: &[u8] = b"staking/params";
const UNBONDING_PREFIX: &[u8] = b"staking/unbonding/";

/// Stake held by the module, in base units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StakeTotals {
    /// Bonded to active devices.
    pub bonded: Amount,
    /// Waiting out the unbonding period.
    pub unbonding: Amount,
    /// Burned by slashing since genesis.
    pub slashed: Amount,
}

/// One unbonding entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Unbonding {
    /// Who gets it back.
    pub owner: Address,
    /// The device it was bonded to.
    pub device: DeviceId,
    /// From this height on it can be withdrawn.
    pub release_height: u64,
    /// How much.
    pub amount: Amount,
}

fn unbonding_key(owner: &Address, release_height: u64, device: &DeviceId) -> Vec<u8> {
    let mut key = UNBONDING_PREFIX.to_vec();
    key.extend_from_slice(owner.as_bytes());
    key.extend_from_slice(&release_height.to_be_bytes());
    key.extend_from_slice(device.as_bytes());
    key
}

fn owner_prefix(owner: &Address) -> Vec<u8> {
    let mut key = UNBONDING_PREFIX.to_vec();
    key.extend_from_slice(owner.as_bytes());
    key
}

fn corrupt(key: &[u8], reason: impl Into<String>) -> AppError {
    AppError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: reason.into(),
    }
}

/// Reading staking state.
pub trait StakingRead: StateRead {
    /// The totals.
    fn stake_totals(&self) -> AppResult<StakeTotals> {
        match self.get(TOTALS_KEY)? {
            Some(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| corrupt(TOTALS_KEY, e.to_string()))
            }
            None => Ok(StakeTotals::default()),
        }
    }

    /// The parameters.
    fn staking_params(&self) -> AppResult<StakingParams> {
        match self.get(PARAMS_KEY)? {
            Some(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| corrupt(PARAMS_KEY, e.to_string()))
            }
            None => Ok(StakingParams::default()),
        }
    }

    /// An owner's unbonding entries, oldest release first (at most `limit`).
    fn unbonding_of(&self, owner: &Address, limit: usize) -> AppResult<Vec<Unbonding>> {
        self.scan_prefix(&owner_prefix(owner), None, limit)?
            .into_iter()
            .map(|(key, value)| {
                let rest = &key[UNBONDING_PREFIX.len() + 20..];
                if rest.len() != 28 || value.len() != 16 {
                    return Err(corrupt(&key, "unbonding entry has the wrong size"));
                }
                let release_height =
                    u64::from_be_bytes(rest[..8].try_into().map_err(|_| corrupt(&key, "height"))?);
                let device =
                    DeviceId::from_slice(&rest[8..]).map_err(|e| corrupt(&key, e.to_string()))?;
                let amount = Amount(u128::from_be_bytes(
                    value
                        .as_slice()
                        .try_into()
                        .map_err(|_| corrupt(&key, "amount"))?,
                ));
                Ok(Unbonding {
                    owner: *owner,
                    device,
                    release_height,
                    amount,
                })
            })
            .collect()
    }
}

impl<S: StateRead + ?Sized> StakingRead for S {}

/// Changing staking state. Token movements in and out of accounts are the caller's (the devices
/// module debits the owner when it bonds, this module credits the owner on withdrawal).
pub trait StakingWrite: StateWrite + StakingRead {
    /// Stores the parameters.
    fn put_staking_params(&mut self, params: &StakingParams) {
        self.put(
            PARAMS_KEY.to_vec(),
            serde_json::to_vec(params).unwrap_or_default(),
        );
    }

    /// Stores the totals.
    fn put_stake_totals(&mut self, totals: &StakeTotals) {
        self.put(
            TOTALS_KEY.to_vec(),
            serde_json::to_vec(totals).unwrap_or_default(),
        );
    }

    /// Records `amount` newly bonded (already taken from the owner's balance).
    fn add_bonded(&mut self, amount: Amount) -> AppResult<()> {
        let mut totals = self.stake_totals()?;
        totals.bonded = totals
            .bonded
            .checked_add(amount)
            .ok_or_else(|| corrupt(TOTALS_KEY, "bonded overflow"))?;
        self.put_stake_totals(&totals);
        Ok(())
    }

    /// Moves a device's bond into the unbonding queue, released at `release_height`.
    fn start_unbonding(
        &mut self,
        owner: &Address,
        device: &DeviceId,
        amount: Amount,
        release_height: u64,
    ) -> AppResult<()> {
        let mut totals = self.stake_totals()?;
        totals.bonded = totals
            .bonded
            .checked_sub(amount)
            .ok_or_else(|| corrupt(TOTALS_KEY, "bonded underflow"))?;
        totals.unbonding = totals
            .unbonding
            .checked_add(amount)
            .ok_or_else(|| corrupt(TOTALS_KEY, "unbonding overflow"))?;
        self.put_stake_totals(&totals);
        self.put(
            unbonding_key(owner, release_height, device),
            amount.0.to_be_bytes().to_vec(),
        );
        Ok(())
    }

    /// Removes an owner's entries released by `height` and returns their sum (to be credited).
    fn take_released(&mut self, owner: &Address, height: u64) -> AppResult<Amount> {
        let mut released = Amount::ZERO;
        loop {
            let entries = self.unbonding_of(owner, 256)?;
            let ready: Vec<Unbonding> = entries
                .into_iter()
                .filter(|e| e.release_height <= height)
                .collect();
            if ready.is_empty() {
                break;
            }
            for entry in ready {
                self.delete(unbonding_key(owner, entry.release_height, &entry.device));
                released = released
                    .checked_add(entry.amount)
                    .ok_or_else(|| corrupt(TOTALS_KEY, "release overflow"))?;
            }
        }
        self.leave_unbonding(released, false)?;
        Ok(released)
    }

    /// Burns up to `amount` of what `device` still has waiting in `owner`'s unbonding queue
    /// (slashing reaches stake until it is withdrawn, so decommissioning does not escape a
    /// penalty for what the device did while bonded). Returns what was burned.
    fn burn_unbonding(
        &mut self,
        owner: &Address,
        device: &DeviceId,
        amount: Amount,
    ) -> AppResult<Amount> {
        // An owner's queue holds the devices it decommissioned within one unbonding period.
        let entries = self.unbonding_of(owner, usize::MAX)?;
        let mut burned = Amount::ZERO;
        for entry in entries.iter().filter(|e| e.device == *device) {
            let left = Amount(amount.0 - burned.0);
            if left == Amount::ZERO {
                break;
            }
            let take = left.min(entry.amount);
            let key = unbonding_key(owner, entry.release_height, device);
            let remaining = Amount(entry.amount.0 - take.0);
            if remaining == Amount::ZERO {
                self.delete(key);
            } else {
                self.put(key, remaining.0.to_be_bytes().to_vec());
            }
            burned = Amount(burned.0 + take.0);
        }
        self.leave_unbonding(burned, true)?;
        Ok(burned)
    }

    /// Takes `amount` out of the unbonding total (released to owners, or burned by slashing).
    fn leave_unbonding(&mut self, amount: Amount, slashed: bool) -> AppResult<()> {
        if amount == Amount::ZERO {
            return Ok(());
        }
        let mut totals = self.stake_totals()?;
        totals.unbonding = totals
            .unbonding
            .checked_sub(amount)
            .ok_or_else(|| corrupt(TOTALS_KEY, "unbonding underflow"))?;
        if slashed {
            totals.slashed = totals
                .slashed
                .checked_add(amount)
                .ok_or_else(|| corrupt(TOTALS_KEY, "slashed overflow"))?;
        }
        self.put_stake_totals(&totals);
        Ok(())
    }

    /// Burns up to `amount` of bonded stake (the slashing entry point; the devices module lowers
    /// the device's own bond). Returns what was burned.
    fn burn_bonded(&mut self, amount: Amount) -> AppResult<Amount> {
        let mut totals = self.stake_totals()?;
        let burned = amount.min(totals.bonded);
        totals.bonded = Amount(totals.bonded.0 - burned.0);
        totals.slashed = totals
            .slashed
            .checked_add(burned)
            .ok_or_else(|| corrupt(TOTALS_KEY, "slashed overflow"))?;
        self.put_stake_totals(&totals);
        Ok(burned)
    }
}

impl<S: StateWrite + ?Sized> StakingWrite for S {}
