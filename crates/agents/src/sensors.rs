//! Plausible environmental readings: smooth daily curves plus a little noise.
//!
//! Each sensor has its own offsets (a shady street is cooler, a busy road louder) drawn once from
//! its seed. Values follow the local solar day (the city's longitude shifts noon), and the noise
//! is small and smoothed (an AR(1) walk), so consecutive readings change far more slowly than the
//! chain's rate-of-change limits allow.

use groundwork_proto::v1;

use crate::rng::SimRng;

/// Milliseconds in a day.
const DAY_MS: f64 = 86_400_000.0;

/// One sensor's character and its smoothed noise.
#[derive(Debug, Clone)]
pub struct SensorModel {
    /// Mean temperature, °C.
    mean_temperature_c: f64,
    /// Half the day–night temperature swing, °C.
    temperature_swing_c: f64,
    /// Mean PM2.5, µg/m³.
    mean_pm2_5: f64,
    /// Mean noise level, dB(A).
    mean_noise_dba: f64,
    /// Station pressure offset (altitude, weather), hPa.
    pressure_offset_hpa: f64,
    /// The city's longitude, degrees east (local solar time).
    longitude: f64,
    /// Smoothed noise state, in units of each quantity's noise scale.
    walk: [f64; 6],
    /// When the noise last stepped, ms.
    last_ms: Option<u64>,
}

/// Correlation time of the smoothed noise: ten minutes, so readings taken seconds apart barely
/// differ and readings an hour apart are independent.
const NOISE_CORRELATION_MS: f64 = 600_000.0;

impl SensorModel {
    /// A sensor whose character is drawn from `rng`, in a city at `longitude`.
    pub fn new(rng: &mut SimRng, longitude: f64) -> SensorModel {
        SensorModel {
            mean_temperature_c: rng.range(14.0, 20.0),
            temperature_swing_c: rng.range(3.0, 6.0),
            mean_pm2_5: rng.range(6.0, 18.0),
            mean_noise_dba: rng.range(45.0, 62.0),
            pressure_offset_hpa: rng.range(-8.0, 8.0),
            longitude,
            walk: [0.0; 6],
            last_ms: None,
        }
    }

    /// The measurements at `timestamp_ms` (and a step of the smoothed noise).
    pub fn read(&mut self, rng: &mut SimRng, timestamp_ms: u64) -> Vec<v1::Measurement> {
        // An Ornstein–Uhlenbeck walk sampled at the reading times: stationary variance 1, and a
        // step whose size shrinks with the time since the last reading, whatever the cadence.
        let elapsed = self.last_ms.map_or(f64::INFINITY, |last| {
            timestamp_ms.saturating_sub(last) as f64
        });
        self.last_ms = Some(timestamp_ms);
        let keep = (-elapsed / NOISE_CORRELATION_MS).exp();
        let fresh = (1.0 - keep * keep).sqrt();
        for w in &mut self.walk {
            *w = keep * *w + fresh * rng.normal();
        }
        let solar_ms = timestamp_ms as f64 + self.longitude / 360.0 * DAY_MS;
        let day_phase = (solar_ms.rem_euclid(DAY_MS)) / DAY_MS; // 0 = midnight, 0.5 = noon
        // Warmest mid-afternoon (15:00), coolest before dawn.
        let daily = (std::f64::consts::TAU * (day_phase - 0.375)).sin();
        // Traffic: busy by day, quiet at night.
        let activity = 0.5 - 0.5 * (std::f64::consts::TAU * day_phase).cos();

        let temperature =
            self.mean_temperature_c + self.temperature_swing_c * daily + 0.3 * self.walk[0];
        let humidity = (70.0 - 15.0 * daily + 2.0 * self.walk[1]).clamp(5.0, 100.0);
        let pm2_5 =
            (self.mean_pm2_5 * (0.7 + 0.6 * activity) + 1.5 * self.walk[2]).clamp(0.5, 900.0);
        let co2 = (420.0 + 60.0 * activity + 8.0 * self.walk[3]).max(300.0);
        let pressure = 1_013.25
            + self.pressure_offset_hpa
            + 0.8 * (2.0 * std::f64::consts::TAU * day_phase).cos()
            + 0.1 * self.walk[4];
        let noise = (self.mean_noise_dba + 12.0 * activity + 2.0 * self.walk[5]).clamp(20.0, 130.0);

        use v1::MeasurementKind as K;
        [
            (K::TemperatureC, temperature),
            (K::HumidityPercent, humidity),
            (K::Pm25UgM3, pm2_5),
            (K::Co2Ppm, co2),
            (K::PressureHpa, pressure),
            (K::NoiseDba, noise),
        ]
        .into_iter()
        .map(|(kind, value)| v1::Measurement {
            kind: kind as i32,
            value_milli: (value * 1_000.0).round() as i64,
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_app::modules::reports::sensors::{
        MeasurementKind, Reading, SensorParams, check_reading,
    };
    use std::collections::BTreeMap;

    fn chain_kind(kind: i32) -> MeasurementKind {
        use v1::MeasurementKind as K;
        match K::try_from(kind).unwrap() {
            K::TemperatureC => MeasurementKind::TemperatureMilliCelsius,
            K::HumidityPercent => MeasurementKind::RelativeHumidityMilliPercent,
            K::Pm25UgM3 => MeasurementKind::Pm2_5NanogramsPerCubicMetre,
            K::Co2Ppm => MeasurementKind::Co2MilliPpm,
            K::PressureHpa => MeasurementKind::PressureMilliHectopascal,
            K::NoiseDba => MeasurementKind::NoiseMilliDecibelA,
            other => panic!("the fleet does not send {other:?}"),
        }
    }

    #[test]
    fn readings_seconds_apart_stay_within_the_rate_limits() {
        let params = SensorParams::default();
        let mut rng = SimRng::new(6, 6);
        let mut sensor = SensorModel::new(&mut rng, -9.14);
        let mut previous: BTreeMap<i32, Reading> = BTreeMap::new();
        for step in 0..5_000_u64 {
            let t = 1_760_000_000_000 + step * 1_000;
            for m in sensor.read(&mut rng, t) {
                let current = Reading {
                    value_milli: m.value_milli,
                    timestamp_ms: t,
                };
                check_reading(
                    previous.get(&m.kind).copied(),
                    current,
                    chain_kind(m.kind),
                    &params,
                )
                .unwrap();
                previous.insert(m.kind, current);
            }
        }
    }

    #[test]
    fn a_day_of_readings_every_minute_passes_the_chains_plausibility_checks() {
        let params = SensorParams::default();
        let mut rng = SimRng::new(5, 5);
        let mut sensor = SensorModel::new(&mut rng, -9.14);
        let mut previous: BTreeMap<i32, Reading> = BTreeMap::new();
        let start = 1_760_000_000_000_u64;
        let mut temperatures = Vec::new();
        for minute in 0..1_440_u64 {
            let t = start + minute * 60_000;
            for m in sensor.read(&mut rng, t) {
                let kind = chain_kind(m.kind);
                let current = Reading {
                    value_milli: m.value_milli,
                    timestamp_ms: t,
                };
                check_reading(previous.get(&m.kind).copied(), current, kind, &params).unwrap();
                previous.insert(m.kind, current);
                if m.kind == v1::MeasurementKind::TemperatureC as i32 {
                    temperatures.push(m.value_milli);
                }
            }
        }
        let swing = temperatures.iter().max().unwrap() - temperatures.iter().min().unwrap();
        assert!(
            swing > 4_000,
            "a day should swing by degrees, got {swing} m°C"
        );
    }
}
