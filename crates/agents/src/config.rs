//! How a fleet is set up: size, seed, city, mix of devices, cheaters, cadences, node and keys.

use std::time::Duration;

use groundwork_app::modules::credits::params::CreditsParams;
use groundwork_app::modules::devices::params::DevicesParams;
use groundwork_app::modules::reports::params::ReportsParams;
use groundwork_primitives::{Amount, SigningKey};

use crate::radio::RadioModel;

/// A city the fleet is placed around.
#[derive(Debug, Clone, PartialEq)]
pub struct City {
    /// Its name (for reports).
    pub name: String,
    /// Latitude of its centre, degrees.
    pub lat: f64,
    /// Longitude of its centre, degrees.
    pub lng: f64,
}

impl City {
    /// Lisbon: Praça do Comércio, more or less (38.7223 N, 9.1393 W).
    pub fn lisbon() -> City {
        City {
            name: "Lisbon".into(),
            lat: 38.7223,
            lng: -9.1393,
        }
    }
}

/// How many devices cheat, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheaterCounts {
    /// Hotspots whose radio is in the city but whose asserted cell is tens of km away.
    pub location_liars: usize,
    /// Size of the witness ring (0 = none; a ring needs at least 2): hotspots far apart that
    /// fabricate strong witness reports of each other's beacons.
    pub witness_ring: usize,
    /// Sensors that resend reports they already sent.
    pub replayers: usize,
}

impl CheaterCounts {
    /// No cheaters.
    pub const NONE: CheaterCounts = CheaterCounts {
        location_liars: 0,
        witness_ring: 0,
        replayers: 0,
    };

    /// One of each (a ring of three).
    pub const ONE_OF_EACH: CheaterCounts = CheaterCounts {
        location_liars: 1,
        witness_ring: 3,
        replayers: 1,
    };

    /// The cheaters a fleet of `devices` gets by default: about 5 % of the fleet, at least one
    /// liar, a ring of three and one replayer once the fleet has 20 devices, none below that.
    pub fn default_for(devices: usize) -> CheaterCounts {
        if devices < 20 {
            return CheaterCounts::NONE;
        }
        let share = devices / 60;
        CheaterCounts {
            location_liars: share.max(1),
            witness_ring: 3,
            replayers: share.max(1),
        }
    }

    /// Devices that cheat in total.
    pub fn total(&self) -> usize {
        self.location_liars + self.witness_ring + self.replayers
    }
}

/// Who owns the devices and pays their stakes.
#[derive(Debug, Clone)]
pub enum OwnerFunding {
    /// One funded account owns every device.
    Key(SigningKey),
    /// Fresh owner keys (from the fleet seed), one per `devices_per_owner` devices, funded
    /// through the node's faucet (devnets).
    Faucet {
        /// Devices per owner.
        devices_per_owner: usize,
    },
}

/// How often devices report.
#[derive(Debug, Clone, PartialEq)]
pub struct Cadences {
    /// How often the fleet polls the chain and sends what is due. Should be well under the block
    /// interval: a beacon must land within the chain's beacon window of its entropy block.
    pub tick: Duration,
    /// Heartbeat interval; `None` = 10 % above the chain's minimum heartbeat interval, so no
    /// heartbeat comes too soon.
    pub heartbeat: Option<Duration>,
    /// Sensor reading interval.
    pub sensor: Duration,
    /// Mean interval between a hotspot's data transfer sessions.
    pub data_transfer: Duration,
    /// How often a replayer resends old reports.
    pub replay: Duration,
}

impl Default for Cadences {
    fn default() -> Self {
        Cadences {
            tick: Duration::from_millis(100),
            heartbeat: None,
            sensor: Duration::from_secs(60),
            data_transfer: Duration::from_secs(30),
            replay: Duration::from_secs(5),
        }
    }
}

/// Everything a fleet needs.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// The node's API, e.g. `http://127.0.0.1:26657`.
    pub node_url: String,
    /// Devices in the fleet, cheaters included.
    pub devices: usize,
    /// Seed of every key, place and random draw.
    pub seed: u64,
    /// The city the fleet stands in.
    pub city: City,
    /// Radius of the disc around the city centre honest devices are placed in, metres; `None`
    /// sizes it so hotspots can keep their separation (at least 3 km).
    pub radius_m: Option<f64>,
    /// Share of the honest devices that are hotspots (the rest are sensors), 0 to 1.
    pub hotspot_share: f64,
    /// The cheaters.
    pub cheaters: CheaterCounts,
    /// Honest hotspots are placed at least this far apart, metres. Default 500 m: the chain
    /// refuses witnesses closer than 8 resolution-11 cells (about 300 m).
    pub min_hotspot_separation_m: f64,
    /// How far from its radio a location liar claims to be, metres (drawn in this range).
    pub liar_offset_m: (f64, f64),
    /// How far from the city centre the witness ring's members stand, metres.
    pub ring_radius_m: f64,
    /// The RSSI ring members claim to hear each other at, tenths of a dBm.
    pub ring_claimed_rssi_dbm_x10: i32,
    /// Report cadences.
    pub cadences: Cadences,
    /// Radio and propagation.
    pub radio: RadioModel,
    /// The chain's report parameters (beacon interval and window, heartbeat cadence, witness cap);
    /// give the genesis values when they differ from the defaults.
    pub reports_params: ReportsParams,
    /// The chain's device parameters (stakes, for funding owners).
    pub devices_params: DevicesParams,
    /// The maker key that attests device keys (registered on the chain).
    pub maker: SigningKey,
    /// Who owns the devices.
    pub owner: OwnerFunding,
    /// Fee per transaction, base units (at least the chain's minimum, 1000 by default).
    pub fee: Amount,
    /// Onboardings per transaction (at most 64 messages fit one).
    pub onboard_batch: usize,
    /// Simulated users who pay for data.
    pub payers: usize,
    /// The chain's credits parameters (what data costs), from its genesis.
    pub credits_params: CreditsParams,
    /// Credits bought for a payer at a time (at least what the next receipt needs). 5,000,000
    /// credits are $50 at the default $0.00001 per credit: about 120 MB of data.
    pub payer_topup_credits: u64,
    /// Most reports per POST.
    pub max_batch: usize,
    /// Stop after this long (besides the stop flag).
    pub duration: Option<Duration>,
}

impl FleetConfig {
    /// A fleet of `devices` against `node_url`, attested by `maker` and owned per `owner`, with
    /// every other setting at its default (Lisbon, seed 1, 60 % hotspots, default cheaters).
    pub fn new(
        node_url: impl Into<String>,
        devices: usize,
        maker: SigningKey,
        owner: OwnerFunding,
    ) -> FleetConfig {
        FleetConfig {
            node_url: node_url.into(),
            devices,
            seed: 1,
            city: City::lisbon(),
            radius_m: None,
            hotspot_share: 0.6,
            cheaters: CheaterCounts::default_for(devices),
            min_hotspot_separation_m: 500.0,
            liar_offset_m: (25_000.0, 50_000.0),
            ring_radius_m: 45_000.0,
            ring_claimed_rssi_dbm_x10: -650,
            cadences: Cadences::default(),
            radio: RadioModel::default(),
            reports_params: ReportsParams::default(),
            devices_params: DevicesParams::default(),
            maker,
            owner,
            fee: Amount(1_000),
            onboard_batch: 32,
            payers: 16,
            credits_params: CreditsParams::default(),
            payer_topup_credits: 5_000_000,
            max_batch: 5_000,
            duration: None,
        }
    }

    /// Checks the settings fit together.
    pub fn validate(&self) -> Result<(), String> {
        if self.cheaters.total() > self.devices {
            return Err(format!(
                "{} cheaters do not fit in a fleet of {} devices",
                self.cheaters.total(),
                self.devices
            ));
        }
        if self.cheaters.witness_ring == 1 {
            return Err("a witness ring needs at least 2 devices".into());
        }
        if !(0.0..=1.0).contains(&self.hotspot_share) {
            return Err("hotspot_share is a fraction, 0 to 1".into());
        }
        if !(1..=groundwork_proto::MAX_MESSAGES_PER_TX).contains(&self.onboard_batch) {
            return Err(format!(
                "onboard_batch is 1 to {}",
                groundwork_proto::MAX_MESSAGES_PER_TX
            ));
        }
        if !(1..=groundwork_proto::MAX_REPORTS_PER_BATCH).contains(&self.max_batch) {
            return Err(format!(
                "max_batch is 1 to {}",
                groundwork_proto::MAX_REPORTS_PER_BATCH
            ));
        }
        if let OwnerFunding::Faucet {
            devices_per_owner: 0,
        } = self.owner
        {
            return Err("devices_per_owner must be above 0".into());
        }
        if self.payers == 0 {
            return Err("at least one payer is needed".into());
        }
        Ok(())
    }

    /// The heartbeat interval used.
    pub fn heartbeat_interval(&self) -> Duration {
        self.cadences.heartbeat.unwrap_or_else(|| {
            let min = self.reports_params.heartbeat.min_interval_ms;
            Duration::from_millis(min + min / 10 + 1_000)
        })
    }
}
