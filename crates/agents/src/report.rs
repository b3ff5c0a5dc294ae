//! What a fleet run did: its devices, who cheats and how, and report counts per class.

use std::collections::BTreeMap;

use serde::Serialize;

/// What a device is up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceRole {
    /// Reports what really happened.
    Honest,
    /// Asserted a cell far from where its radio is.
    LocationLiar,
    /// Fabricates witness reports of its ring's beacons.
    WitnessRing,
    /// Resends reports it already sent.
    Replayer,
}

impl DeviceRole {
    /// Whether the device cheats.
    pub fn is_cheater(self) -> bool {
        self != DeviceRole::Honest
    }
}

/// One device of the fleet.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceSummary {
    /// Its position in the fleet (its key derives from the seed and this).
    pub index: usize,
    /// Its id (gwd1…).
    pub id: String,
    /// hotspot or sensor.
    pub kind: String,
    /// Honest or which cheat.
    pub role: DeviceRole,
    /// The class its reports are counted under (see [`FleetReport::classes`]).
    pub class: String,
    /// Where it really is (H3 cell, hex).
    pub true_cell: String,
    /// Where it says it is (differs for location liars).
    pub asserted_cell: String,
    /// Reports sent (replays included).
    pub sent: u64,
    /// Reports the node queued.
    pub accepted: u64,
    /// Reports the node refused at ingest.
    pub refused: u64,
    /// The first few refusal reasons.
    pub refusal_reasons: Vec<String>,
    /// Counters of this device's witness reports of a cheater's beacon (such a witness may
    /// rightly be judged invalid: it heard a liar whose claimed place makes the signal impossible).
    pub witnessed_cheater_counters: Vec<u64>,
}

/// Report counts of one class of devices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClassCounts {
    /// Devices in the class.
    pub devices: u64,
    /// Reports sent.
    pub sent: u64,
    /// Reports queued by the node.
    pub accepted: u64,
    /// Reports refused at ingest.
    pub refused: u64,
}

/// The outcome of a fleet run.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    /// The chain.
    pub chain_id: String,
    /// The city.
    pub city: String,
    /// Seed used.
    pub seed: u64,
    /// Devices newly onboarded by this run (others existed already).
    pub onboarded: u64,
    /// The height when reporting started and when it stopped.
    pub heights: (u64, u64),
    /// How long reporting ran, ms.
    pub elapsed_ms: u64,
    /// Beacons sent.
    pub beacons: u64,
    /// Witness reports sent (fabricated ones included).
    pub witnesses: u64,
    /// Batches the node answered 429 to (each was sent again later).
    pub queue_full_retries: u64,
    /// Counts per class: honest_hotspot, honest_sensor, location_liar, witness_ring, replayer.
    pub classes: BTreeMap<String, ClassCounts>,
    /// Every device.
    pub devices: Vec<DeviceSummary>,
}

impl FleetReport {
    /// The cheaters.
    pub fn cheaters(&self) -> impl Iterator<Item = &DeviceSummary> {
        self.devices.iter().filter(|d| d.role.is_cheater())
    }

    /// A few lines for people.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "fleet of {} devices around {} on {} (seed {}): heights {}..{}, {:.1} s, {} beacons, {} witnesses, {} retries after 429\n",
            self.devices.len(),
            self.city,
            self.chain_id,
            self.seed,
            self.heights.0,
            self.heights.1,
            self.elapsed_ms as f64 / 1_000.0,
            self.beacons,
            self.witnesses,
            self.queue_full_retries
        );
        for (class, counts) in &self.classes {
            text.push_str(&format!(
                "  {class:<15} {:>5} devices  {:>8} sent  {:>8} accepted  {:>8} refused\n",
                counts.devices, counts.sent, counts.accepted, counts.refused
            ));
        }
        for cheater in self.cheaters() {
            text.push_str(&format!(
                "  cheater {:?}: {} ({})\n",
                cheater.role, cheater.id, cheater.kind
            ));
        }
        text
    }
}
