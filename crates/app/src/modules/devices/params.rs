//! Devices parameters.

use groundwork_primitives::Amount;
use serde::{Deserialize, Serialize};

use crate::modules::devices::state::DeviceKind;

/// Devices parameters, set at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicesParams {
    /// Stake bonded per hotspot, base units.
    pub stake_hotspot: Amount,
    /// Stake bonded per sensor.
    pub stake_sensor: Amount,
    /// Stake bonded per storage device (storage providers put more at risk: missed proofs are slashed).
    pub stake_storage: Amount,
    /// Stake bonded per compute node.
    pub stake_compute: Amount,
    /// Stake bonded per energy meter.
    pub stake_meter: Amount,
    /// Burned from the owner each time a device's location is asserted after onboarding
    /// (Helium charges for location assertions to make moving devices around costly).
    pub location_fee: Amount,
    /// The coarsest H3 resolution accepted for a location: 8 (cells of about 0.7 km²) keeps
    /// coverage proofs meaningful; finer (12, about 300 m²) is typical.
    pub min_location_resolution: u8,
}

const TOKEN: u128 = 100_000_000; // at the default 8 decimals

impl Default for DevicesParams {
    fn default() -> Self {
        DevicesParams {
            stake_hotspot: Amount(10 * TOKEN),
            stake_sensor: Amount(TOKEN),
            stake_storage: Amount(100 * TOKEN),
            stake_compute: Amount(50 * TOKEN),
            stake_meter: Amount(TOKEN),
            location_fee: Amount(TOKEN / 10),
            min_location_resolution: 8,
        }
    }
}

impl DevicesParams {
    /// The stake a device of `kind` bonds.
    pub fn stake_for(&self, kind: DeviceKind) -> Amount {
        match kind {
            DeviceKind::Hotspot => self.stake_hotspot,
            DeviceKind::Sensor => self.stake_sensor,
            DeviceKind::Storage => self.stake_storage,
            DeviceKind::Compute => self.stake_compute,
            DeviceKind::Meter => self.stake_meter,
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_location_resolution > 15 {
            return Err("devices.min_location_resolution is an H3 resolution, 0 to 15".into());
        }
        Ok(())
    }
}
