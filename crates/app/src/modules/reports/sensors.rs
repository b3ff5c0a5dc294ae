//! Sensor and heartbeat verdicts: is a reading physically plausible, and does a heartbeat count?
//!
//! Pure functions over integers (values in milli-units, times in ms since the Unix epoch), so they
//! give the same verdict on every machine. [`check_reading`] judges one measurement against its
//! kind's plausible range and, given the device's previous reading of that kind, its rate of
//! change; [`check_heartbeat`] judges a heartbeat's cadence. A bad report gets a typed reason
//! ([`SensorInvalid`], [`HeartbeatInvalid`]) carrying the numbers an operator needs to see why.
//!
//! Every threshold is a named field of [`SensorParams`] or [`HeartbeatParams`] whose doc says
//! where its default comes from: physical limits, sensor datasheets, WMO weather records.
//!
//! Rates are compared without division: a change `Δv` over `Δt` ms is too fast when
//! `|Δv| · 60,000 > max_per_minute · Δt` (in `i128`, so nothing overflows); the rate reported is
//! `|Δv| · 60,000 / Δt` rounded up.

use serde::{Deserialize, Serialize};

/// Milliseconds in a minute.
const MS_PER_MINUTE: i128 = 60_000;

/// What a sensor measured. A closed list: add a kind here and a rule to [`SensorParams`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MeasurementKind {
    /// Air temperature, milli-degrees Celsius.
    TemperatureMilliCelsius,
    /// Relative humidity, milli-percent (100 % = 100,000).
    RelativeHumidityMilliPercent,
    /// Fine particulate matter PM2.5, milli-µg/m³ (ng/m³).
    Pm2_5NanogramsPerCubicMetre,
    /// Coarse particulate matter PM10, milli-µg/m³ (ng/m³).
    Pm10NanogramsPerCubicMetre,
    /// Carbon dioxide, milli-ppm (ppb).
    Co2MilliPpm,
    /// Barometric (station) pressure, milli-hectopascals (tenths of a pascal).
    PressureMilliHectopascal,
    /// A-weighted sound level, milli-dB(A).
    NoiseMilliDecibelA,
    /// An energy meter's cumulative register, milli-watt-hours; never decreases.
    EnergyMilliWattHours,
}

/// The plausibility rule for one kind of measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorRule {
    /// Lowest plausible value, milli-units (inclusive).
    pub min_milli: i64,
    /// Highest plausible value, milli-units (inclusive).
    pub max_milli: i64,
    /// Largest plausible change per minute between consecutive readings, milli-units; `None`
    /// when the quantity can legitimately jump across its whole range within seconds.
    pub max_change_per_minute_milli: Option<i64>,
    /// Whether the value is a cumulative counter that never decreases (meter registers).
    pub monotonic: bool,
}

/// Plausibility rules per measurement kind. Every default names its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorParams {
    /// Air temperature. Range −90 °C to +60 °C: the WMO-recognised extremes are −89.2 °C
    /// (Vostok, 1983) and +56.7 °C (Death Valley, 1913); a hotter reading is a sensor in the sun
    /// or in a hot box, not air. Rate 15 °C per minute: the record is about 27 °C in two minutes
    /// (Spearfish, South Dakota, 22 January 1943, a chinook).
    pub temperature: SensorRule,
    /// Relative humidity. Range 0–100 %, by definition (and the Bosch BME280's full range). Rate
    /// 50 % per minute: our judgment — air masses do not change faster; faster swings come from
    /// water on the sensor, whose BME280 response time is about 1 s.
    pub relative_humidity: SensorRule,
    /// PM2.5. Range 0–1,000 µg/m³: the measuring range of common optical sensors (Plantower
    /// PMS5003: ≥ 1,000 µg/m³ maximum; Sensirion SPS30: 0–1,000 µg/m³); a reading above it
    /// cannot come from them. No rate limit: smoke or exhaust next to the sensor swings it
    /// across the range within seconds.
    pub pm2_5: SensorRule,
    /// PM10. Range 0–1,000 µg/m³, the same sensors' range; no rate limit, as for PM2.5.
    pub pm10: SensorRule,
    /// Carbon dioxide. Range 250–40,000 ppm: below pre-industrial air (280 ppm) is impossible
    /// outdoors today (≈ 420 ppm, NOAA Mauna Loa), and 40,000 ppm is the top of the Sensirion
    /// SCD41's range (about exhaled breath). No rate limit: a person breathing near the sensor
    /// moves it by thousands of ppm in seconds.
    pub co2: SensorRule,
    /// Station pressure. Range 300–1,100 hPa: the Bosch BME280's range, covering stations up to
    /// about 9,000 m and the sea-level record of 1,083.8 hPa (Agata, 1968). Rate 100 hPa per
    /// minute: the largest drop measured inside a tornado (≈ 100 hPa, Manchester, South Dakota,
    /// 24 June 2003); storms change pressure a few hPa per hour.
    pub pressure: SensorRule,
    /// Sound level. Range 0–140 dB(A): 0 dB is the threshold of hearing, 140 dB the threshold of
    /// pain (a jet engine at close range); outdoor noise sensors span about 30–130 dB(A). No rate
    /// limit: a horn takes the level from quiet to loud instantly.
    pub noise: SensorRule,
    /// Energy meter register. Range 0–10⁹ Wh: a six-digit kWh register (999,999 kWh) with
    /// headroom. Rate 1,000 Wh per minute, i.e. 60 kW sustained: above a three-phase 100 A
    /// supply at 400 V (≈ 69 kW peak, rarely drawn); a residential 100 A, 240 V service is 24 kW.
    /// Monotonic: a register never runs backwards.
    pub energy: SensorRule,
}

impl Default for SensorParams {
    fn default() -> Self {
        Self {
            temperature: SensorRule {
                min_milli: -90_000,
                max_milli: 60_000,
                max_change_per_minute_milli: Some(15_000),
                monotonic: false,
            },
            relative_humidity: SensorRule {
                min_milli: 0,
                max_milli: 100_000,
                max_change_per_minute_milli: Some(50_000),
                monotonic: false,
            },
            pm2_5: SensorRule {
                min_milli: 0,
                max_milli: 1_000_000,
                max_change_per_minute_milli: None,
                monotonic: false,
            },
            pm10: SensorRule {
                min_milli: 0,
                max_milli: 1_000_000,
                max_change_per_minute_milli: None,
                monotonic: false,
            },
            co2: SensorRule {
                min_milli: 250_000,
                max_milli: 40_000_000,
                max_change_per_minute_milli: None,
                monotonic: false,
            },
            pressure: SensorRule {
                min_milli: 300_000,
                max_milli: 1_100_000,
                max_change_per_minute_milli: Some(100_000),
                monotonic: false,
            },
            noise: SensorRule {
                min_milli: 0,
                max_milli: 140_000,
                max_change_per_minute_milli: None,
                monotonic: false,
            },
            energy: SensorRule {
                min_milli: 0,
                max_milli: 1_000_000_000_000,
                max_change_per_minute_milli: Some(1_000_000),
                monotonic: true,
            },
        }
    }
}

impl SensorParams {
    /// The rule for a kind of measurement.
    pub fn rule(&self, kind: MeasurementKind) -> &SensorRule {
        match kind {
            MeasurementKind::TemperatureMilliCelsius => &self.temperature,
            MeasurementKind::RelativeHumidityMilliPercent => &self.relative_humidity,
            MeasurementKind::Pm2_5NanogramsPerCubicMetre => &self.pm2_5,
            MeasurementKind::Pm10NanogramsPerCubicMetre => &self.pm10,
            MeasurementKind::Co2MilliPpm => &self.co2,
            MeasurementKind::PressureMilliHectopascal => &self.pressure,
            MeasurementKind::NoiseMilliDecibelA => &self.noise,
            MeasurementKind::EnergyMilliWattHours => &self.energy,
        }
    }
}

/// One measurement: a value and when it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    /// The value, in the kind's milli-units.
    pub value_milli: i64,
    /// When it was measured, ms since the Unix epoch.
    pub timestamp_ms: u64,
}

/// Why a sensor reading is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum SensorInvalid {
    /// The value is outside what the quantity can physically be, or the sensor can report.
    #[error("{kind:?} {value_milli} is outside [{min_milli}, {max_milli}]")]
    OutOfRange {
        /// What was measured.
        kind: MeasurementKind,
        /// The value, milli-units.
        value_milli: i64,
        /// Lowest plausible.
        min_milli: i64,
        /// Highest plausible.
        max_milli: i64,
    },
    /// The reading is not later than the device's previous reading of the same kind.
    #[error("timestamp {current_ms} is not after the previous reading's {previous_ms}")]
    TimestampNotAfterPrevious {
        /// The previous reading's time, ms.
        previous_ms: u64,
        /// This reading's time, ms.
        current_ms: u64,
    },
    /// A cumulative counter went down.
    #[error("{kind:?} counter went back from {previous_milli} to {current_milli}")]
    CounterWentBackwards {
        /// What was measured.
        kind: MeasurementKind,
        /// The previous value, milli-units.
        previous_milli: i64,
        /// This value, milli-units.
        current_milli: i64,
    },
    /// The value changed faster than the quantity can.
    #[error("{kind:?} changed by {per_minute_milli} per minute (at most {max_per_minute_milli})")]
    ChangedTooFast {
        /// What was measured.
        kind: MeasurementKind,
        /// The observed change per minute, milli-units (rounded up; saturates at `i64::MAX`).
        per_minute_milli: i64,
        /// The largest plausible change per minute, milli-units.
        max_per_minute_milli: i64,
    },
}

/// Judges a sensor reading, given the device's previous valid reading of the same kind (if any).
///
/// Checks, in order: the range, the timestamp against the previous reading's, a counter going
/// backwards, the rate of change.
pub fn check_reading(
    previous: Option<Reading>,
    current: Reading,
    kind: MeasurementKind,
    params: &SensorParams,
) -> Result<(), SensorInvalid> {
    let rule = params.rule(kind);
    if !(rule.min_milli..=rule.max_milli).contains(&current.value_milli) {
        return Err(SensorInvalid::OutOfRange {
            kind,
            value_milli: current.value_milli,
            min_milli: rule.min_milli,
            max_milli: rule.max_milli,
        });
    }
    let Some(previous) = previous else {
        return Ok(());
    };
    if current.timestamp_ms <= previous.timestamp_ms {
        return Err(SensorInvalid::TimestampNotAfterPrevious {
            previous_ms: previous.timestamp_ms,
            current_ms: current.timestamp_ms,
        });
    }
    if rule.monotonic && current.value_milli < previous.value_milli {
        return Err(SensorInvalid::CounterWentBackwards {
            kind,
            previous_milli: previous.value_milli,
            current_milli: current.value_milli,
        });
    }
    if let Some(max_per_minute_milli) = rule.max_change_per_minute_milli {
        let change = (i128::from(current.value_milli) - i128::from(previous.value_milli)).abs();
        let elapsed_ms = i128::from(current.timestamp_ms - previous.timestamp_ms);
        // |Δv|·60,000 ≤ 2^65·2^16 and max·Δt ≤ 2^63·2^64: both fit in i128.
        if change * MS_PER_MINUTE > i128::from(max_per_minute_milli) * elapsed_ms {
            let per_minute = (change * MS_PER_MINUTE + elapsed_ms - 1) / elapsed_ms;
            return Err(SensorInvalid::ChangedTooFast {
                kind,
                per_minute_milli: i64::try_from(per_minute).unwrap_or(i64::MAX),
                max_per_minute_milli,
            });
        }
    }
    Ok(())
}

/// Heartbeat cadence rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatParams {
    /// A heartbeat less than this many ms after the device's previous counted heartbeat is not
    /// counted. Default 30 minutes. Uptime is rewarded per counted heartbeat, so without a floor
    /// a device could multiply its uptime by sending more often; a device beating a little
    /// more often than this (the simulated fleet beats 10% above the floor) has one heartbeat
    /// counted per interval, while a flood earns nothing extra. Our choice:
    /// Helium Mobile likewise counts radio heartbeats per hour rather than per message.
    pub min_interval_ms: u64,
}

impl Default for HeartbeatParams {
    fn default() -> Self {
        Self {
            min_interval_ms: 30 * 60 * 1_000,
        }
    }
}

/// Why a heartbeat is not counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum HeartbeatInvalid {
    /// The heartbeat is not later than the previous counted one.
    #[error("timestamp {current_ms} is not after the previous heartbeat's {previous_ms}")]
    TimestampNotAfterPrevious {
        /// The previous counted heartbeat's time, ms.
        previous_ms: u64,
        /// This heartbeat's time, ms.
        current_ms: u64,
    },
    /// The heartbeat came sooner after the previous counted one than the minimum interval.
    #[error("{since_previous_ms} ms after the previous heartbeat (at least {min_interval_ms})")]
    TooSoon {
        /// Time since the previous counted heartbeat, ms.
        since_previous_ms: u64,
        /// The minimum interval, ms.
        min_interval_ms: u64,
    },
}

/// Judges a heartbeat at `current_ms` given the device's previous *counted* heartbeat (if any).
/// The caller advances the previous time only when this returns `Ok`, so a device beating too
/// often still has one heartbeat counted per interval.
pub fn check_heartbeat(
    previous_ms: Option<u64>,
    current_ms: u64,
    params: &HeartbeatParams,
) -> Result<(), HeartbeatInvalid> {
    let Some(previous_ms) = previous_ms else {
        return Ok(());
    };
    if current_ms <= previous_ms {
        return Err(HeartbeatInvalid::TimestampNotAfterPrevious {
            previous_ms,
            current_ms,
        });
    }
    let since_previous_ms = current_ms - previous_ms;
    if since_previous_ms < params.min_interval_ms {
        return Err(HeartbeatInvalid::TooSoon {
            since_previous_ms,
            min_interval_ms: params.min_interval_ms,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: u64 = 1_700_000_000_000;
    const MINUTE: u64 = 60_000;

    fn at(value_milli: i64, timestamp_ms: u64) -> Reading {
        Reading {
            value_milli,
            timestamp_ms,
        }
    }

    fn check(
        previous: Option<Reading>,
        current: Reading,
        kind: MeasurementKind,
    ) -> Result<(), SensorInvalid> {
        check_reading(previous, current, kind, &SensorParams::default())
    }

    const ALL_KINDS: [MeasurementKind; 8] = [
        MeasurementKind::TemperatureMilliCelsius,
        MeasurementKind::RelativeHumidityMilliPercent,
        MeasurementKind::Pm2_5NanogramsPerCubicMetre,
        MeasurementKind::Pm10NanogramsPerCubicMetre,
        MeasurementKind::Co2MilliPpm,
        MeasurementKind::PressureMilliHectopascal,
        MeasurementKind::NoiseMilliDecibelA,
        MeasurementKind::EnergyMilliWattHours,
    ];

    #[test]
    fn ordinary_readings_of_every_kind_are_valid() {
        let ordinary = [
            21_500, 55_000, 12_000, 20_000, 420_000, 1_013_250, 55_000, 5_000_000,
        ];
        for (kind, value) in ALL_KINDS.into_iter().zip(ordinary) {
            assert_eq!(check(None, at(value, T0), kind), Ok(()), "{kind:?}");
            assert_eq!(
                check(Some(at(value, T0)), at(value, T0 + MINUTE), kind),
                Ok(()),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn a_temperature_colder_than_antarctica_is_out_of_range() {
        assert_eq!(
            check(
                None,
                at(-95_000, T0),
                MeasurementKind::TemperatureMilliCelsius
            ),
            Err(SensorInvalid::OutOfRange {
                kind: MeasurementKind::TemperatureMilliCelsius,
                value_milli: -95_000,
                min_milli: -90_000,
                max_milli: 60_000,
            })
        );
    }

    #[test]
    fn a_humidity_above_100_percent_is_out_of_range() {
        assert!(matches!(
            check(
                None,
                at(100_001, T0),
                MeasurementKind::RelativeHumidityMilliPercent
            ),
            Err(SensorInvalid::OutOfRange { .. })
        ));
    }

    #[test]
    fn a_negative_particle_count_is_out_of_range() {
        assert!(matches!(
            check(
                None,
                at(-1, T0),
                MeasurementKind::Pm2_5NanogramsPerCubicMetre
            ),
            Err(SensorInvalid::OutOfRange { .. })
        ));
    }

    #[test]
    fn a_reading_not_after_the_previous_one_is_refused() {
        let kind = MeasurementKind::PressureMilliHectopascal;
        assert_eq!(
            check(Some(at(1_013_000, T0)), at(1_013_000, T0), kind),
            Err(SensorInvalid::TimestampNotAfterPrevious {
                previous_ms: T0,
                current_ms: T0
            })
        );
    }

    #[test]
    fn a_meter_running_backwards_is_refused() {
        let kind = MeasurementKind::EnergyMilliWattHours;
        assert_eq!(
            check(Some(at(5_000_000, T0)), at(4_999_999, T0 + MINUTE), kind),
            Err(SensorInvalid::CounterWentBackwards {
                kind,
                previous_milli: 5_000_000,
                current_milli: 4_999_999,
            })
        );
    }

    #[test]
    fn a_temperature_jumping_20_degrees_in_a_minute_changed_too_fast() {
        let kind = MeasurementKind::TemperatureMilliCelsius;
        assert_eq!(
            check(Some(at(0, T0)), at(20_000, T0 + MINUTE), kind),
            Err(SensorInvalid::ChangedTooFast {
                kind,
                per_minute_milli: 20_000,
                max_per_minute_milli: 15_000,
            })
        );
        // The same change over two minutes is 10 °C a minute: fine.
        assert_eq!(
            check(Some(at(0, T0)), at(20_000, T0 + 2 * MINUTE), kind),
            Ok(())
        );
    }

    #[test]
    fn a_meter_counting_more_than_60_kw_changed_too_fast() {
        let kind = MeasurementKind::EnergyMilliWattHours;
        // 2 kWh in one minute = 120 kW.
        assert!(matches!(
            check(Some(at(0, T0)), at(2_000_000, T0 + MINUTE), kind),
            Err(SensorInvalid::ChangedTooFast {
                per_minute_milli: 2_000_000,
                ..
            })
        ));
    }

    #[test]
    fn a_noise_spike_is_not_a_rate_violation() {
        let kind = MeasurementKind::NoiseMilliDecibelA;
        assert_eq!(
            check(Some(at(30_000, T0)), at(120_000, T0 + 1), kind),
            Ok(())
        );
    }

    #[test]
    fn a_first_heartbeat_counts() {
        assert_eq!(
            check_heartbeat(None, T0, &HeartbeatParams::default()),
            Ok(())
        );
    }

    #[test]
    fn a_heartbeat_30_minutes_after_the_last_counts() {
        assert_eq!(
            check_heartbeat(Some(T0), T0 + 30 * MINUTE, &HeartbeatParams::default()),
            Ok(())
        );
    }

    #[test]
    fn a_heartbeat_sooner_than_30_minutes_after_the_last_is_too_soon() {
        assert_eq!(
            check_heartbeat(Some(T0), T0 + 10 * MINUTE, &HeartbeatParams::default()),
            Err(HeartbeatInvalid::TooSoon {
                since_previous_ms: 10 * MINUTE,
                min_interval_ms: 30 * MINUTE,
            })
        );
    }

    #[test]
    fn a_heartbeat_not_after_the_last_is_refused() {
        assert_eq!(
            check_heartbeat(Some(T0), T0 - 1, &HeartbeatParams::default()),
            Err(HeartbeatInvalid::TimestampNotAfterPrevious {
                previous_ms: T0,
                current_ms: T0 - 1
            })
        );
    }

    fn extreme_i64() -> impl Strategy<Value = i64> {
        prop_oneof![
            any::<i64>(),
            Just(i64::MIN),
            Just(i64::MAX),
            -1_000_000_i64..1_000_000
        ]
    }

    fn extreme_u64() -> impl Strategy<Value = u64> {
        prop_oneof![any::<u64>(), Just(0), Just(u64::MAX), T0..T0 + 10 * MINUTE]
    }

    proptest! {
        #[test]
        fn sensor_and_heartbeat_checks_never_panic(
            previous in proptest::option::of((extreme_i64(), extreme_u64())),
            current in (extreme_i64(), extreme_u64()),
            kind in proptest::sample::select(ALL_KINDS.to_vec()),
            rate in proptest::option::of(extreme_i64()),
            heartbeat_interval in extreme_u64(),
        ) {
            let previous = previous.map(|(v, t)| at(v, t));
            let current = at(current.0, current.1);
            let _ = check_reading(previous, current, kind, &SensorParams::default());
            let open = SensorRule {
                min_milli: i64::MIN,
                max_milli: i64::MAX,
                max_change_per_minute_milli: rate,
                monotonic: false,
            };
            let params = SensorParams {
                temperature: open, relative_humidity: open, pm2_5: open, pm10: open,
                co2: open, pressure: open, noise: open, energy: open,
            };
            let _ = check_reading(previous, current, kind, &params);
            let heartbeat = HeartbeatParams { min_interval_ms: heartbeat_interval };
            let _ = check_heartbeat(previous.map(|r| r.timestamp_ms), current.timestamp_ms, &heartbeat);
        }
    }
}
