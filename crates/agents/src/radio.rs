//! Radio propagation: what a hotspot hears of another's beacon.
//!
//! **Model.** Log-distance path loss with a close-in free-space reference and log-normal
//! shadowing (Rappaport, *Wireless Communications*, §4.9–4.10):
//!
//! ```text
//! PL(d) = FSPL(d₀) + 10·n·log10(d / d₀) + X_σ     for d > d₀ (free space below d₀)
//! RSSI  = P_tx + G_tx + G_rx − PL(d)
//! ```
//!
//! with d₀ = 100 m (rooftop antennas see their street in line of sight), n ≈ 2.7–3.5 (urban
//! and suburban measurements of sub-GHz links; 2 is free space) and σ ≈ 6 dB (typical of urban
//! shadowing). A packet is heard when RSSI reaches the receiver's sensitivity (about −135 dBm for
//! a LoRa gateway at SF12, 125 kHz). SNR is RSSI over the thermal noise of the channel
//! (−174 dBm/Hz + 10·log10(bandwidth) + noise figure).
//!
//! **Never stronger than free space.** Shadowing is a random draw, and a lucky one could push a
//! short link above what free space allows — which the chain would (rightly) call impossible. A
//! real signal does not beat free space by more than multipath allows, so an honest RSSI is
//! capped just under the free-space value the chain computes for the *true* positions
//! ([`free_space_rssi_dbm_x10`], which uses the chain's own fixed-point path loss). Only devices
//! that lie — about where they are, or about what they heard — ever exceed the chain's bound.

use groundwork_app::modules::reports::physics;

use crate::placement::cell_distance_m;
use crate::rng::SimRng;

/// The radio every simulated hotspot has, and how signals travel between them.
#[derive(Debug, Clone, PartialEq)]
pub struct RadioModel {
    /// Carrier frequency, Hz. Default 868.1 MHz, the first EU868 LoRaWAN channel (Lisbon is in EU868).
    pub frequency_hz: u64,
    /// Conducted transmit power, tenths of a dBm. Default 14 dBm, the EU868 limit (ETSI EN 300 220).
    pub tx_power_dbm_x10: i32,
    /// Antenna gain of every hotspot, tenths of a dBi. Default 3 dBi, a common stock LoRa antenna.
    pub antenna_gain_dbi_x10: i32,
    /// Antenna height above ground, metres (recorded with the device; the model ignores it).
    pub elevation_m: i32,
    /// Path-loss exponent n beyond the reference distance. Default 3.2.
    pub path_loss_exponent: f64,
    /// Reference distance d₀, metres: free space below it. Default 100 m.
    pub reference_distance_m: f64,
    /// Standard deviation of log-normal shadowing, dB. Default 6 dB.
    pub shadowing_sigma_db: f64,
    /// Weakest signal a hotspot decodes, dBm. Default −135 dBm (LoRa gateway, SF12/125 kHz).
    pub sensitivity_dbm: f64,
    /// Channel bandwidth, Hz (for the noise floor). Default 125 kHz.
    pub bandwidth_hz: f64,
    /// Receiver noise figure, dB. Default 6 dB.
    pub noise_figure_db: f64,
    /// How far below the free-space value an honest RSSI is capped, tenths of a dB. Default 0.5 dB,
    /// so rounding on the chain's side never tips an honest report over.
    pub free_space_headroom_db_x10: i32,
}

impl Default for RadioModel {
    fn default() -> Self {
        RadioModel {
            frequency_hz: 868_100_000,
            tx_power_dbm_x10: 140,
            antenna_gain_dbi_x10: 30,
            elevation_m: 15,
            path_loss_exponent: 3.2,
            reference_distance_m: 100.0,
            shadowing_sigma_db: 6.0,
            sensitivity_dbm: -135.0,
            bandwidth_hz: 125_000.0,
            noise_figure_db: 6.0,
            free_space_headroom_db_x10: 5,
        }
    }
}

/// What a receiver measured of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reception {
    /// Received signal strength, tenths of a dBm.
    pub rssi_dbm_x10: i32,
    /// Signal-to-noise ratio, tenths of a dB.
    pub snr_db_x10: i32,
}

/// Free-space path loss, dB, at `distance_m` and `frequency_hz` (float form, for the model).
pub fn free_space_path_loss_db(distance_m: f64, frequency_hz: u64) -> f64 {
    let c = physics::SPEED_OF_LIGHT_M_PER_S as f64;
    20.0 * (4.0 * std::f64::consts::PI * distance_m.max(1.0) * frequency_hz as f64 / c).log10()
}

/// The strongest RSSI free space allows between two cells, tenths of a dBm, computed the way the
/// chain does (its fixed-point path loss between the cell centres, distance floored at 10 m),
/// before the chain's tolerance margin.
pub fn free_space_rssi_dbm_x10(model: &RadioModel, from_cell: u64, to_cell: u64) -> i64 {
    let distance_m = cell_distance_m(from_cell, to_cell).round().max(10.0) as u64;
    let loss_x10 = physics::free_space_path_loss_db_x10(distance_m, model.frequency_hz);
    i64::from(model.tx_power_dbm_x10) + 2 * i64::from(model.antenna_gain_dbi_x10) - loss_x10
}

impl RadioModel {
    /// Median path loss at `distance_m` (no shadowing), dB.
    pub fn median_path_loss_db(&self, distance_m: f64) -> f64 {
        let d0 = self.reference_distance_m.max(1.0);
        let reference = free_space_path_loss_db(d0, self.frequency_hz);
        if distance_m <= d0 {
            return free_space_path_loss_db(distance_m, self.frequency_hz);
        }
        reference + 10.0 * self.path_loss_exponent * (distance_m / d0).log10()
    }

    /// Thermal noise in the channel, dBm.
    pub fn noise_floor_dbm(&self) -> f64 {
        -174.0 + 10.0 * self.bandwidth_hz.log10() + self.noise_figure_db
    }

    /// What a hotspot in `to_cell` hears of a beacon sent from `from_cell` (true positions), or
    /// `None` when the signal is below sensitivity. Honest: never above free space.
    pub fn receive(&self, rng: &mut SimRng, from_cell: u64, to_cell: u64) -> Option<Reception> {
        let distance = cell_distance_m(from_cell, to_cell);
        if !distance.is_finite() {
            return None;
        }
        let shadowing = self.shadowing_sigma_db * rng.normal();
        let budget = f64::from(self.tx_power_dbm_x10 + 2 * self.antenna_gain_dbi_x10) / 10.0;
        let rssi = budget - self.median_path_loss_db(distance) - shadowing;
        if rssi < self.sensitivity_dbm {
            return None;
        }
        let ceiling = free_space_rssi_dbm_x10(self, from_cell, to_cell)
            - i64::from(self.free_space_headroom_db_x10);
        let rssi_x10 = ((rssi * 10.0).floor() as i64).min(ceiling);
        let rssi_x10 = i32::try_from(rssi_x10).ok()?;
        Some(Reception {
            rssi_dbm_x10: rssi_x10,
            snr_db_x10: self.snr_x10(f64::from(rssi_x10) / 10.0, rng),
        })
    }

    /// The SNR a LoRa receiver would report for a signal of `rssi_dbm`: over the noise floor,
    /// with a little measurement noise, within the −20…+15 dB a packet's SNR register shows.
    pub fn snr_x10(&self, rssi_dbm: f64, rng: &mut SimRng) -> i32 {
        let snr = (rssi_dbm - self.noise_floor_dbm() + rng.normal()).clamp(-20.0, 15.0);
        (snr * 10.0).round() as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::GeoPoint;

    const LISBON: GeoPoint = GeoPoint {
        lat: 38.7223,
        lng: -9.1393,
    };

    #[test]
    fn the_float_free_space_loss_matches_the_chains_fixed_point_one() {
        for d in [10_u64, 400, 3_000, 42_000] {
            let ours = free_space_path_loss_db(d as f64, 868_100_000);
            let chain = physics::free_space_path_loss_db_x10(d, 868_100_000) as f64 / 10.0;
            assert!((ours - chain).abs() < 0.11, "{d} m: {ours} vs {chain}");
        }
    }

    #[test]
    fn honest_rssi_never_exceeds_the_free_space_bound_the_chain_checks() {
        // Even with shadowing drawn 20,000 times, at distances from 10 m to 40 km, and with the
        // chain's tolerance set to zero, an honest RSSI stays at or under free space.
        let model = RadioModel::default();
        let coverage = physics::CoverageParams {
            rssi_tolerance_db_x10: 0,
            ..Default::default()
        };
        let mut rng = SimRng::new(3, 3);
        let beaconer = LISBON.cell().unwrap();
        let mut heard = 0;
        for i in 0..20_000 {
            let distance = 10.0 * 4_000f64.powf(rng.unit());
            let witness = LISBON.offset(distance, f64::from(i)).cell().unwrap();
            let Some(reception) = model.receive(&mut rng, beaconer, witness) else {
                continue;
            };
            heard += 1;
            let ceiling = free_space_rssi_dbm_x10(&model, beaconer, witness);
            assert!(i64::from(reception.rssi_dbm_x10) <= ceiling, "{distance} m");
            assert!(f64::from(reception.rssi_dbm_x10) / 10.0 >= model.sensitivity_dbm - 0.1);
            // The chain's own check, minus the separation rules (tested elsewhere).
            let beacon = physics::BeaconFacts {
                beaconer: [1; 20],
                cell: beaconer,
                frequency_hz: model.frequency_hz,
                tx_power_dbm_x10: model.tx_power_dbm_x10,
                antenna_gain_dbi_x10: model.antenna_gain_dbi_x10,
                elevation_m: model.elevation_m,
                timestamp_ms: 1_000,
                payload_id: [7; 32],
            };
            let facts = physics::WitnessFacts {
                witness: [2; 20],
                cell: witness,
                antenna_gain_dbi_x10: model.antenna_gain_dbi_x10,
                frequency_hz: model.frequency_hz,
                rssi_dbm_x10: reception.rssi_dbm_x10,
                snr_db_x10: reception.snr_db_x10,
                received_at_ms: 1_100,
                payload_id: [7; 32],
            };
            match physics::check_witness(&beacon, &facts, None, 0, &coverage) {
                Ok(_) | Err(physics::WitnessInvalid::TooClose { .. }) => {}
                Err(other) => panic!("{distance} m: {other}"),
            }
        }
        assert!(heard > 5_000, "only {heard} heard");
    }

    #[test]
    fn signals_fade_with_distance_and_die_out_in_tens_of_kilometres() {
        let model = RadioModel::default();
        assert!(model.median_path_loss_db(1_000.0) < model.median_path_loss_db(5_000.0));
        let budget = f64::from(model.tx_power_dbm_x10 + 2 * model.antenna_gain_dbi_x10) / 10.0;
        // Median range: where budget − PL reaches the sensitivity.
        let at_5km = budget - model.median_path_loss_db(5_000.0);
        let at_60km = budget - model.median_path_loss_db(60_000.0);
        assert!(at_5km > model.sensitivity_dbm, "{at_5km}");
        assert!(at_60km < model.sensitivity_dbm, "{at_60km}");
    }
}
