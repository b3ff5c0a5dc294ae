//! Devices: hardware makers, device identity and onboarding, location, ownership, retirement.
//!
//! A device joins with a transaction signed by its owner that carries two more signatures: the
//! maker's attestation over the device key and kind (this key lives in hardware we built), and
//! the device's own signature over the owner's address (it holds its key). Makers are registered
//! at genesis with an onboarding allowance; each onboarding uses one. The device id is the
//! address of its key (printed `gwd1…`); a key can join only once, ever. Onboarding bonds the
//! stake the kind requires (staking module); decommissioning starts unbonding it.

pub mod events;
pub mod msgs;
pub mod params;
pub mod query;
pub mod state;

use crate::error::{AppError, AppResult};
use crate::genesis::Genesis;
use state::{DevicesWrite, Maker};

/// Registers the genesis makers and stores the parameters.
pub fn init_genesis(state: &mut impl DevicesWrite, genesis: &Genesis) -> AppResult<()> {
    for maker in &genesis.makers {
        let key = maker
            .public_key
            .parse::<groundwork_primitives::PublicKey>()
            .map_err(|e| AppError::Genesis(format!("maker {:?}: {e}", maker.name)))?;
        let id = groundwork_primitives::Address::from_public_key(&key);
        state.put_maker(&Maker {
            id,
            name: maker.name.clone(),
            public_key: key,
            allowance: maker.allowance,
            onboarded: 0,
        });
    }
    state.put_devices_params(&genesis.params.devices);
    Ok(())
}

/// Slashes up to `amount` of a device's stake: it is burned (see the staking module). An active
/// device's bond shrinks; a decommissioned device's stake is reached in the unbonding queue until
/// its owner withdraws it, so decommissioning cannot dodge a penalty. The entry point for storage
/// proofs and provable fraud. Returns the amount burned.
pub fn slash<S>(
    state: &mut S,
    device: &groundwork_primitives::DeviceId,
    amount: groundwork_primitives::Amount,
    reason: &str,
) -> AppResult<(groundwork_primitives::Amount, groundwork_proto::v1::Event)>
where
    S: DevicesWrite
        + crate::modules::staking::state::StakingWrite
        + crate::modules::accounts::state::AccountsWrite,
{
    let Some(mut record) = state.device(device)? else {
        return Err(AppError::Corrupt {
            key: device.to_string(),
            reason: "slashing an unknown device".into(),
        });
    };
    let from_bond = state.burn_bonded(amount.min(record.stake))?;
    record.stake = groundwork_primitives::Amount(record.stake.0 - from_bond.0);
    state.put_device(&record);
    let from_unbonding = state.burn_unbonding(
        &record.owner,
        device,
        groundwork_primitives::Amount(amount.0 - from_bond.0),
    )?;
    let burned = groundwork_primitives::Amount(from_bond.0 + from_unbonding.0);
    state.burn_held(burned)?;
    Ok((
        burned,
        crate::modules::staking::events::slashed(device, burned, reason),
    ))
}
