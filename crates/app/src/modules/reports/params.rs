//! Reports parameters.

use serde::{Deserialize, Serialize};

use crate::modules::reports::physics::CoverageParams;
use crate::modules::reports::sensors::{HeartbeatParams, SensorParams};

/// Reports parameters, set at genesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsParams {
    /// Blocks per epoch: verdict counts are summed per device per epoch, and rewards (incentives)
    /// are paid per epoch. Default 60 (a minute at 1 s blocks) for devnets; Helium uses a day.
    pub epoch_blocks: u64,
    /// A report older than this (by its own timestamp, against the block time) is stale.
    /// One hour: devices buffer reports through short outages, but not for days.
    pub max_report_age_ms: u64,
    /// A report dated further than this in the future is refused (clock skew allowance).
    pub max_report_future_ms: u64,
    /// On average a hotspot is selected to beacon once per this many blocks of entropy
    /// (Helium: one beacon per device per 6 h). Default 30 blocks for a lively devnet.
    pub beacon_interval_blocks: u64,
    /// The block whose hash selects a beacon must be at most this many blocks old, so a device
    /// cannot hoard selections (Helium's beacon randomness lives 180 s).
    pub beacon_window_blocks: u64,
    /// Radio coverage checks.
    #[serde(default)]
    pub coverage: CoverageParams,
    /// Sensor plausibility checks.
    #[serde(default)]
    pub sensors: SensorParams,
    /// Heartbeat cadence.
    #[serde(default)]
    pub heartbeat: HeartbeatParams,
}

impl Default for ReportsParams {
    fn default() -> Self {
        ReportsParams {
            epoch_blocks: 60,
            max_report_age_ms: 3_600_000,
            max_report_future_ms: 300_000,
            beacon_interval_blocks: 30,
            beacon_window_blocks: 10,
            coverage: CoverageParams::default(),
            sensors: SensorParams::default(),
            heartbeat: HeartbeatParams::default(),
        }
    }
}

impl ReportsParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), String> {
        if self.epoch_blocks == 0
            || self.beacon_interval_blocks == 0
            || self.beacon_window_blocks == 0
        {
            return Err("reports.epoch_blocks, beacon_interval_blocks and beacon_window_blocks must be above 0".into());
        }
        Ok(())
    }

    /// The epoch a block height belongs to.
    pub fn epoch_of(&self, height: u64) -> u64 {
        height / self.epoch_blocks.max(1)
    }
}
