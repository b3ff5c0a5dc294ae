//! Transaction messages of the devices module.

use groundwork_primitives::{Address, DeviceId, PublicKey, Signature, domain, signed_message};
use groundwork_proto::v1;

use crate::TxContext;
use crate::error::ExecError;
use crate::modules::accounts::state::AccountsWrite;
use crate::modules::devices::events;
use crate::modules::devices::state::{DeviceKind, DeviceRecord, DeviceStatus, DevicesWrite};
use crate::modules::staking::events as staking_events;
use crate::modules::staking::state::StakingWrite;

/// Plausible antenna gains, tenths of dBi: from −10 dBi (a poor indoor antenna) to 30 dBi
/// (a large directional dish); anything outside is a typo or a lie.
const ANTENNA_GAIN_RANGE_X10: std::ops::RangeInclusive<i32> = -100..=300;
/// Plausible antenna elevations, metres above ground.
const ELEVATION_RANGE_M: std::ops::RangeInclusive<i32> = -100..=10_000;

/// The bytes a maker signs to attest a device key: the tagged key and the kind.
pub fn maker_attestation_message(
    chain_id: &str,
    device_key: &PublicKey,
    kind: DeviceKind,
) -> Vec<u8> {
    let mut body = device_key.tagged_bytes();
    body.push(kind.to_proto() as u8);
    signed_message(domain::MAKER_ATTESTATION, chain_id, &body)
}

/// The bytes a device signs to accept its owner.
pub fn device_onboarding_message(chain_id: &str, owner: &Address) -> Vec<u8> {
    signed_message(domain::DEVICE_ONBOARDING, chain_id, owner.as_bytes())
}

fn check_cell(cell: u64, min_resolution: u8) -> Result<u8, String> {
    let cell =
        h3o::CellIndex::try_from(cell).map_err(|e| format!("{cell:x} is not an H3 cell: {e}"))?;
    let resolution = u8::from(cell.resolution());
    if resolution < min_resolution {
        return Err(format!(
            "H3 resolution {resolution} is coarser than the minimum {min_resolution}"
        ));
    }
    Ok(resolution)
}

fn check_radio(gain: i32, elevation: i32) -> Result<(), String> {
    if !ANTENNA_GAIN_RANGE_X10.contains(&gain) {
        return Err(format!(
            "antenna gain {} dBi is outside -10..30 dBi",
            gain as f64 / 10.0
        ));
    }
    if !ELEVATION_RANGE_M.contains(&elevation) {
        return Err(format!("elevation {elevation} m is outside -100..10000 m"));
    }
    Ok(())
}

fn device_id(bytes: &[u8]) -> Result<DeviceId, String> {
    DeviceId::from_slice(bytes).map_err(|e| format!("device: {e}"))
}

/// Onboards a device (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardDevice {
    /// The device's key.
    pub device_key: PublicKey,
    /// What it is.
    pub kind: DeviceKind,
    /// The attesting maker.
    pub maker: Address,
    /// The maker's attestation.
    pub maker_signature: Signature,
    /// The device's acceptance of its owner.
    pub device_signature: Signature,
    /// A first location, if given.
    pub cell: Option<u64>,
    /// Antenna gain, tenths of dBi.
    pub antenna_gain_dbi_x10: i32,
    /// Elevation, metres.
    pub elevation_m: i32,
}

impl OnboardDevice {
    /// Stateless checks.
    pub fn from_proto(m: &v1::OnboardDevice) -> Result<Self, String> {
        use v1::public_key::Key;
        let device_key = match m.device_key.as_ref().and_then(|k| k.key.as_ref()) {
            Some(Key::Ed25519(b)) => PublicKey::ed25519(b),
            Some(Key::P256(b)) => PublicKey::p256(b),
            None => return Err("device_key is missing".into()),
        }
        .map_err(|e| format!("device_key: {e}"))?;
        let kind = DeviceKind::from_proto(m.kind)
            .ok_or_else(|| format!("unknown device kind {}", m.kind))?;
        let maker = Address::from_slice(&m.maker).map_err(|e| format!("maker: {e}"))?;
        let maker_signature = Signature::from_slice(&m.maker_signature)
            .map_err(|e| format!("maker_signature: {e}"))?;
        let device_signature = Signature::from_slice(&m.device_signature)
            .map_err(|e| format!("device_signature: {e}"))?;
        let cell = match m.h3_cell {
            0 => None,
            cell => {
                check_cell(cell, 0)?;
                Some(cell)
            }
        };
        check_radio(m.antenna_gain_dbi_x10, m.elevation_m)?;
        Ok(OnboardDevice {
            device_key,
            kind,
            maker,
            maker_signature,
            device_signature,
            cell,
            antenna_gain_dbi_x10: m.antenna_gain_dbi_x10,
            elevation_m: m.elevation_m,
        })
    }

    /// Checks the maker and both signatures, bonds the stake, and registers the device.
    pub fn execute<S: AccountsWrite + DevicesWrite + StakingWrite>(
        &self,
        state: &mut S,
        ctx: &mut TxContext<'_>,
    ) -> Result<(), ExecError> {
        let id = DeviceId::from_public_key(&self.device_key);
        if state.device(&id)?.is_some() {
            return Err(ExecError::Fail(format!(
                "device key already onboarded as {id}: a key joins once"
            )));
        }
        let Some(mut maker) = state.maker(&self.maker)? else {
            return Err(ExecError::Fail(format!("unknown maker {}", self.maker)));
        };
        if maker.allowance == 0 {
            return Err(ExecError::Fail(format!(
                "maker {:?} has used its whole onboarding allowance",
                maker.name
            )));
        }
        let attestation =
            maker_attestation_message(&ctx.chain.chain_id, &self.device_key, self.kind);
        maker
            .public_key
            .verify_message(&attestation, &self.maker_signature)
            .map_err(|_| {
                ExecError::Fail(format!(
                    "the maker signature does not verify for maker {:?}",
                    maker.name
                ))
            })?;
        let acceptance = device_onboarding_message(&ctx.chain.chain_id, &ctx.sender);
        self.device_key
            .verify_message(&acceptance, &self.device_signature)
            .map_err(|_| ExecError::Fail("the device signature does not verify: the device must sign its owner's address".into()))?;
        let params = state.devices_params()?;
        if let Some(cell) = self.cell {
            check_cell(cell, params.min_location_resolution).map_err(ExecError::Fail)?;
        }
        let stake = params.stake_for(self.kind);
        state.debit(&ctx.sender, stake)?.map_err(|e| {
            ExecError::Fail(format!("cannot bond the {} stake: {e}", self.kind.name()))
        })?;
        state.add_bonded(stake)?;
        maker.allowance -= 1;
        maker.onboarded += 1;
        state.put_maker(&maker);
        state.put_device(&DeviceRecord {
            id,
            public_key: self.device_key,
            owner: ctx.sender,
            kind: self.kind,
            maker: self.maker,
            location: self.cell,
            location_asserts: u32::from(self.cell.is_some()),
            antenna_gain_dbi_x10: self.antenna_gain_dbi_x10,
            elevation_m: self.elevation_m,
            status: DeviceStatus::Active,
            onboarded_height: ctx.height,
            stake,
        });
        ctx.events
            .push(events::onboarded(&id, &ctx.sender, self.kind, &self.maker));
        ctx.events
            .push(staking_events::bonded(&ctx.sender, &id, stake));
        Ok(())
    }
}

fn owned_active<S: DevicesWrite>(
    state: &S,
    id: &DeviceId,
    sender: &Address,
) -> Result<DeviceRecord, ExecError> {
    let Some(record) = state.device(id)? else {
        return Err(ExecError::Fail(format!("no device {id}")));
    };
    if record.owner != *sender {
        return Err(ExecError::Fail(format!(
            "device {id} belongs to {}, not the signer",
            record.owner
        )));
    }
    if record.status != DeviceStatus::Active {
        return Err(ExecError::Fail(format!("device {id} is decommissioned")));
    }
    Ok(record)
}

/// Sets a device's location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertLocation {
    /// The device.
    pub device: DeviceId,
    /// Its H3 cell.
    pub cell: u64,
    /// Antenna gain, tenths of dBi.
    pub antenna_gain_dbi_x10: i32,
    /// Elevation, metres.
    pub elevation_m: i32,
}

impl AssertLocation {
    /// Stateless checks.
    pub fn from_proto(m: &v1::AssertLocation) -> Result<Self, String> {
        check_cell(m.h3_cell, 0)?;
        check_radio(m.antenna_gain_dbi_x10, m.elevation_m)?;
        Ok(AssertLocation {
            device: device_id(&m.device)?,
            cell: m.h3_cell,
            antenna_gain_dbi_x10: m.antenna_gain_dbi_x10,
            elevation_m: m.elevation_m,
        })
    }

    /// Burns the location fee and records the location.
    pub fn execute<S: AccountsWrite + DevicesWrite>(
        &self,
        state: &mut S,
        ctx: &mut TxContext<'_>,
    ) -> Result<(), ExecError> {
        let mut record = owned_active(state, &self.device, &ctx.sender)?;
        let params = state.devices_params()?;
        check_cell(self.cell, params.min_location_resolution).map_err(ExecError::Fail)?;
        if record.location_asserts > 0 {
            state
                .burn_from(&ctx.sender, params.location_fee)?
                .map_err(|e| ExecError::Fail(format!("cannot pay the location fee: {e}")))?;
        }
        record.location = Some(self.cell);
        record.location_asserts += 1;
        record.antenna_gain_dbi_x10 = self.antenna_gain_dbi_x10;
        record.elevation_m = self.elevation_m;
        state.put_device(&record);
        ctx.events
            .push(events::location_asserted(&self.device, self.cell));
        Ok(())
    }
}

/// Hands a device to a new owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferDevice {
    /// The device.
    pub device: DeviceId,
    /// Its new owner.
    pub new_owner: Address,
}

impl TransferDevice {
    /// Stateless checks.
    pub fn from_proto(m: &v1::TransferDevice) -> Result<Self, String> {
        let new_owner = Address::from_slice(&m.new_owner).map_err(|e| format!("new_owner: {e}"))?;
        Ok(TransferDevice {
            device: device_id(&m.device)?,
            new_owner,
        })
    }

    /// Moves ownership (the stake goes with the device).
    pub fn execute<S: DevicesWrite>(
        &self,
        state: &mut S,
        ctx: &mut TxContext<'_>,
    ) -> Result<(), ExecError> {
        let mut record = owned_active(state, &self.device, &ctx.sender)?;
        record.owner = self.new_owner;
        state.reindex_owner(&self.device, &ctx.sender, &self.new_owner);
        state.put_device(&record);
        ctx.events.push(events::transferred(
            &self.device,
            &ctx.sender,
            &self.new_owner,
        ));
        Ok(())
    }
}

/// Retires a device; its stake starts unbonding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecommissionDevice {
    /// The device.
    pub device: DeviceId,
}

impl DecommissionDevice {
    /// Stateless checks.
    pub fn from_proto(m: &v1::DecommissionDevice) -> Result<Self, String> {
        Ok(DecommissionDevice {
            device: device_id(&m.device)?,
        })
    }

    /// Marks the device decommissioned and queues its stake for release.
    pub fn execute<S: DevicesWrite + StakingWrite>(
        &self,
        state: &mut S,
        ctx: &mut TxContext<'_>,
    ) -> Result<(), ExecError> {
        let mut record = owned_active(state, &self.device, &ctx.sender)?;
        // A storage provider holding pieces stays slashable until they are repaired away or
        // their deals end.
        {
            use crate::modules::storage::state::StorageRead as _;
            if let Some(provider) = state.provider(&self.device)?
                && provider.reserved_bytes > 0
            {
                return Err(ExecError::Fail(format!(
                    "storage provider {} still holds {} bytes of deals: withdraw its offer and wait for the deals to end or be repaired",
                    self.device, provider.reserved_bytes
                )));
            }
        }
        let release = ctx.height + state.staking_params()?.unbonding_blocks;
        state.start_unbonding(&ctx.sender, &self.device, record.stake, release)?;
        ctx.events.push(staking_events::unbonding(
            &ctx.sender,
            &self.device,
            record.stake,
            release,
        ));
        record.stake = groundwork_primitives::Amount::ZERO;
        record.status = DeviceStatus::Decommissioned;
        state.put_device(&record);
        ctx.events.push(events::decommissioned(&self.device));
        Ok(())
    }
}
