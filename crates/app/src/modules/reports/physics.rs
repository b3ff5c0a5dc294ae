//! Radio coverage verdicts: is a beacon plausible, and could this witness really have heard it?
//!
//! A *beacon* is a radio packet a device was told (by chain randomness) to transmit; a *witness*
//! is another device's report that it heard that packet. These pure functions judge one beacon
//! ([`check_beacon`]) and one witness of it ([`check_witness`]) from plain facts the reports
//! module looks up (device records for cells and antenna gains, ingest stamps for times). They
//! read no state and return a verdict: `Ok` with the numbers that were computed, or a typed reason
//! ([`BeaconInvalid`], [`WitnessInvalid`]) carrying the numbers an operator needs to see why.
//!
//! The rules follow Helium's IoT proof-of-coverage verifier (`helium/oracles`,
//! `iot_verifier/src/poc.rs`, and HIP-58 for the distance limit); every threshold is a named field
//! of [`CoverageParams`] whose doc says where its default comes from.
//!
//! # Order of the witness checks
//!
//! [`check_witness`] reports the first failing reason, in this order: the beacon itself
//! ([`check_beacon`]), self-witness, payload, the witness's cell, the witness's antenna gain,
//! frequency, timing (before the beacon, after the beacon, after the first witness), distance
//! (too far, then too close), SNR and RSSI range, RSSI against free space, and last the cap on
//! witnesses per beacon, so that only an otherwise valid witness is ever refused for the cap
//! (the caller counts valid witnesses, in block order).
//!
//! # Determinism: integers and fixed point, no platform floats
//!
//! These verdicts run inside the consensus state machine, so every number they compute must be
//! bit-identical on every machine. The choice made here: **integer and fixed-point arithmetic
//! only**, with one documented exception at the boundary with `h3o` (below). `libm` would also be
//! deterministic, but the transcendental functions needed here are easy in fixed point and this
//! keeps the module free of floats in its comparisons and of a new dependency.
//!
//! * **Cell centres.** [`cell_centre`] asks `h3o` for the centre of a cell (an `f64` latitude and
//!   longitude) and rounds it to whole micro-degrees (≈ 0.11 m), the only place a float appears.
//!   The workspace builds `h3o` without its `std` feature, so its `atan2`, `sin`, `cos` and `asin`
//!   are those of the `libm` crate — the same Rust code on every platform, built from IEEE-754
//!   basic operations (correctly rounded; Rust never contracts them into fused multiply-adds) —
//!   rather than the platform's maths library, whose last bit Rust does not promise. The same
//!   cell therefore gives the same micro-degrees everywhere; `cell_centres_are_pinned` holds a
//!   few to their exact values.
//! * **Distance.** [`distance_mm`] is the haversine great-circle distance on a sphere of the IUGG
//!   mean Earth radius (6,371,008.8 m), computed in Q48 fixed point (`i128`): sine and cosine by
//!   Taylor series after exact range reduction in integer micro-degrees, square root with
//!   `u128::isqrt`, arcsine by its series (with `asin x = π/2 − 2·asin √((1−x)/2)` above ½).
//!   Arithmetic error is below 1 mm at any distance; the model error (sphere, not ellipsoid) is at
//!   most about 0.5 %, and the rounding of the centres adds at most ≈ 0.3 m.
//! * **Free-space path loss.** [`free_space_path_loss_nano_db`] uses
//!   `FSPL = 20·log10(d·f) + 20·log10(4π/c)` with `log2` of the integer `d·f` computed bit by bit
//!   (repeated squaring, 32 fractional bits), giving nano-decibels; the error is below 10⁻⁸ dB.
//! * **Rounding direction.** Comparisons use integers in the reports' own units (metres,
//!   tenths of a dB). The maximum plausible RSSI is rounded **up** to the next tenth of a dBm, so
//!   rounding can only ever favour the device, by less than 0.1 dB.

use h3o::{CellIndex, LatLng, Resolution};
use serde::{Deserialize, Serialize};

/// Speed of light used in the free-space path loss, in metres per second: 2.998·10⁸, the value
/// in Helium's verifier (`iot_verifier/src/poc.rs`, `C`).
pub const SPEED_OF_LIGHT_M_PER_S: u64 = 299_800_000;

/// Mean Earth radius in millimetres: the IUGG mean radius R₁ = 6,371,008.8 m.
pub const EARTH_MEAN_RADIUS_MM: u64 = 6_371_008_800;

/// `20·log10(4π / c)` with `c` = [`SPEED_OF_LIGHT_M_PER_S`], minus 60 dB because distances enter
/// in millimetres, in nano-decibels (computed to 50 digits: −207.552435289803… dB).
const FSPL_CONSTANT_MM_NANO_DB: i128 = -207_552_435_290;

/// `20·log10(2)` in nano-decibels: the path loss added per doubling of `d·f`.
const NANO_DB_PER_OCTAVE: i128 = 6_020_599_913;

/// Fractional bits of the fixed-point numbers below.
const FRAC_BITS: u32 = 48;
/// 1.0 in Q48.
const ONE: i128 = 1 << FRAC_BITS;
/// π in Q48 (884279719003555.03…, rounded).
const PI_Q48: i128 = 884_279_719_003_555;
/// π/2 in Q48 (rounded).
const HALF_PI_Q48: i128 = 442_139_859_501_778;
/// Half-micro-degrees in 180° (the unit of the angles given to the sine and cosine).
const HALF_MICRO_DEGREES_PER_PI: i128 = 360_000_000;

/// Nano-decibels in a tenth of a decibel (the unit of powers and gains in reports).
const NANO_DB_PER_DECI_DB: i128 = 100_000_000;

// ---------------------------------------------------------------------------------------------
// Facts
// ---------------------------------------------------------------------------------------------

/// What the chain knows about one beacon: the report's contents and the beaconer's device record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconFacts {
    /// The beaconing device's id.
    pub beaconer: [u8; 20],
    /// The beaconer's asserted location, an H3 cell index (resolution 12 typically).
    pub cell: u64,
    /// Carrier frequency of the transmission, in Hz.
    pub frequency_hz: u64,
    /// Conducted transmit power, in tenths of a dBm.
    pub tx_power_dbm_x10: i32,
    /// Gain of the beaconer's antenna, in tenths of a dBi (from its device record).
    pub antenna_gain_dbi_x10: i32,
    /// Height of the antenna above mean sea level, in metres (from its device record).
    pub elevation_m: i32,
    /// When the beacon report arrived at ingest, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Identifier of the transmitted payload (a hash of its bytes).
    pub payload_id: [u8; 32],
}

/// What the chain knows about one witness of a beacon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessFacts {
    /// The witnessing device's id.
    pub witness: [u8; 20],
    /// The witness's asserted location, an H3 cell index (resolution 12 typically).
    pub cell: u64,
    /// Gain of the witness's antenna, in tenths of a dBi (from its device record).
    pub antenna_gain_dbi_x10: i32,
    /// Frequency the witness heard the packet on, in Hz.
    pub frequency_hz: u64,
    /// Received signal strength, in tenths of a dBm.
    pub rssi_dbm_x10: i32,
    /// Signal-to-noise ratio of the received packet, in tenths of a dB.
    pub snr_db_x10: i32,
    /// When the witness report arrived at ingest, ms since the Unix epoch.
    pub received_at_ms: u64,
    /// Identifier of the payload the witness heard (a hash of its bytes).
    pub payload_id: [u8; 32],
}

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

/// A named range of carrier frequencies beacons may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrequencyBand {
    /// The band's name, e.g. `"EU868"`.
    pub name: String,
    /// Lowest allowed carrier frequency, in Hz (inclusive).
    pub min_hz: u64,
    /// Highest allowed carrier frequency, in Hz (inclusive).
    pub max_hz: u64,
}

impl FrequencyBand {
    fn new(name: &str, min_hz: u64, max_hz: u64) -> Self {
        Self {
            name: name.to_owned(),
            min_hz,
            max_hz,
        }
    }

    /// Whether `frequency_hz` lies in the band.
    pub fn contains(&self, frequency_hz: u64) -> bool {
        self.min_hz <= frequency_hz && frequency_hz <= self.max_hz
    }
}

/// The thresholds of the coverage checks. Every default names its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageParams {
    /// A witness farther than this from the beaconer (great-circle distance between the cell
    /// centres, in metres) is invalid. Default 100 km: HIP-58 "PoC distance limit", as enforced
    /// by Helium's verifier; practical LoRa links are 30–50 km.
    pub max_witness_distance_m: u64,
    /// A witness whose cell is fewer than this many H3 cells from the beaconer's (grid distance
    /// between their parents at [`Self::min_separation_resolution`]) is invalid: neighbours
    /// witnessing each other prove no coverage. Default 8, Helium's verifier.
    pub min_witness_grid_distance: u32,
    /// The H3 resolution at which [`Self::min_witness_grid_distance`] is measured; device cells
    /// must be at least this fine. Default 11, Helium's verifier. Values above 15 act as 15.
    pub min_separation_resolution: u8,
    /// Used instead of the grid distance when `h3o` cannot compute one (cells separated by a
    /// pentagon's distortion): a witness closer than this many metres is too close. Default
    /// 300 m: 8 resolution-11 cells of 43.1 m centre spacing (√3 × the 24.9 m average edge in
    /// H3's table of cell statistics) times √3/2, the shortest span of 8 hexagon steps.
    pub min_witness_distance_fallback_m: u64,
    /// A witness whose frequency differs from the beacon's by more than this, in Hz, is invalid.
    /// Default 100 kHz, Helium's verifier.
    pub max_frequency_difference_hz: u64,
    /// A witness arriving at ingest more than this many ms after the beacon is invalid.
    /// Default 4,000 ms, Helium's verifier.
    pub max_witness_delay_ms: u64,
    /// A witness arriving at ingest more than this many ms *before* the beacon is invalid. Both
    /// reports are stamped on arrival and either may arrive first; Helium bounds only lateness,
    /// we bound both sides by the same window so a witness cannot be filed long in advance.
    /// Default 4,000 ms (= [`Self::max_witness_delay_ms`]).
    pub max_witness_lead_ms: u64,
    /// A witness arriving more than this many ms after the first witness of the same beacon is
    /// invalid. Default 1,500 ms, Helium's verifier.
    pub max_delay_after_first_witness_ms: u64,
    /// At most this many valid witnesses count per beacon; later ones are refused. Default 14,
    /// Helium's cap of witnesses per beacon (HIP-15).
    pub max_witnesses_per_beacon: u32,
    /// Allowance, in tenths of a dB, above the free-space maximum before an RSSI is called too
    /// strong. Default 8.0 dB: a ground reflection arriving in phase can add up to 6 dB over
    /// free space (two-ray model: the field doubles), plus 2 dB for the measurement error of
    /// uncalibrated LoRa receivers. Not from Helium, which applies no margin: our choice.
    pub rssi_tolerance_db_x10: i32,
    /// Distances below this, in metres, count as this distance in the path-loss check. Devices
    /// are located only to their cell (a resolution-12 hexagon is about 9.4 m from centre to
    /// corner on average, per H3's table), so two centres a few metres apart, or equal, say
    /// nothing more precise; without a floor the free-space loss would go to −∞. Default 10 m.
    pub min_path_distance_m: u64,
    /// A witness reporting an RSSI below this, in tenths of a dBm, is invalid: no receiver
    /// decodes such a signal. Default −148.0 dBm, the best sensitivity in the Semtech SX1276
    /// datasheet (SF12, 10.4 kHz bandwidth); gateway concentrators (SX1302) are less sensitive.
    pub min_rssi_dbm_x10: i32,
    /// Lowest plausible SNR, in tenths of a dB. Default −32.0 dB: the bottom of the SX127x
    /// packet SNR register (a signed byte in quarter dB); LoRa demodulates down to −20 dB.
    pub min_snr_db_x10: i32,
    /// Highest plausible SNR, in tenths of a dB. Default +32.0 dB: the top of that register
    /// (31.75 dB), rounded up.
    pub max_snr_db_x10: i32,
    /// Lowest plausible beacon transmit power, in tenths of a dBm. Default −4.0 dBm: the lowest
    /// setting of the SX1276's RFO output (datasheet: −4 to +14 dBm; PA_BOOST +2 to +20 dBm).
    pub min_tx_power_dbm_x10: i32,
    /// Highest plausible beacon transmit power, in tenths of a dBm. Default 30.0 dBm: 1 W, the
    /// conducted-power limit of FCC §15.247(b)(3) in 902–928 MHz, the loosest of the LoRa regions.
    pub max_tx_power_dbm_x10: i32,
    /// Lowest plausible antenna gain, beaconer or witness, in tenths of a dBi. Default 1.0 dBi,
    /// about the gain of a small whip; the range Helium allowed in location assertions as far as
    /// we know (10 to 150 tenths of a dBi; recheck).
    pub min_antenna_gain_dbi_x10: i32,
    /// Highest plausible antenna gain, in tenths of a dBi. Default 15.0 dBi: above the 12 dBi of
    /// long fibreglass colinears sold for LoRa gateways; see [`Self::min_antenna_gain_dbi_x10`].
    pub max_antenna_gain_dbi_x10: i32,
    /// Lowest plausible antenna elevation, in metres above mean sea level. Default −500 m: below
    /// the shore of the Dead Sea (−430 m), the lowest dry land.
    pub min_elevation_m: i32,
    /// Highest plausible antenna elevation, in metres. Default 9,000 m: above Everest (8,849 m).
    pub max_elevation_m: i32,
    /// The frequency bands beacons may use. Default: the LoRaWAN regions of the LoRa Alliance's
    /// "RP002-1.0.4 Regional Parameters" (EU868, US915, AU915, AS923, KR920, IN865, RU864,
    /// CN470, EU433), each as its full band.
    pub allowed_bands: Vec<FrequencyBand>,
}

impl Default for CoverageParams {
    fn default() -> Self {
        Self {
            max_witness_distance_m: 100_000,
            min_witness_grid_distance: 8,
            min_separation_resolution: 11,
            min_witness_distance_fallback_m: 300,
            max_frequency_difference_hz: 100_000,
            max_witness_delay_ms: 4_000,
            max_witness_lead_ms: 4_000,
            max_delay_after_first_witness_ms: 1_500,
            max_witnesses_per_beacon: 14,
            rssi_tolerance_db_x10: 80,
            min_path_distance_m: 10,
            min_rssi_dbm_x10: -1_480,
            min_snr_db_x10: -320,
            max_snr_db_x10: 320,
            min_tx_power_dbm_x10: -40,
            max_tx_power_dbm_x10: 300,
            min_antenna_gain_dbi_x10: 10,
            max_antenna_gain_dbi_x10: 150,
            min_elevation_m: -500,
            max_elevation_m: 9_000,
            allowed_bands: vec![
                FrequencyBand::new("EU868", 863_000_000, 870_000_000),
                FrequencyBand::new("US915", 902_000_000, 928_000_000),
                FrequencyBand::new("AU915", 915_000_000, 928_000_000),
                FrequencyBand::new("AS923", 915_000_000, 928_000_000),
                FrequencyBand::new("KR920", 920_900_000, 923_300_000),
                FrequencyBand::new("IN865", 865_000_000, 867_000_000),
                FrequencyBand::new("RU864", 864_000_000, 870_000_000),
                FrequencyBand::new("CN470", 470_000_000, 510_000_000),
                FrequencyBand::new("EU433", 433_050_000, 434_790_000),
            ],
        }
    }
}

/// Why a set of [`CoverageParams`] cannot be used (checked at genesis and by governance).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoverageParamsError {
    /// `min_separation_resolution` is not an H3 resolution (0–15).
    #[error("min_separation_resolution {0} is not an H3 resolution (0-15)")]
    BadResolution(u8),
    /// A lower bound exceeds its upper bound.
    #[error("{name}: minimum {min} exceeds maximum {max}")]
    EmptyRange {
        /// Which range.
        name: &'static str,
        /// Its lower bound.
        min: i64,
        /// Its upper bound.
        max: i64,
    },
    /// A frequency band is empty (its minimum exceeds its maximum).
    #[error("frequency band {name}: minimum {min_hz} Hz exceeds maximum {max_hz} Hz")]
    EmptyBand {
        /// The band's name.
        name: String,
        /// Its lower bound, Hz.
        min_hz: u64,
        /// Its upper bound, Hz.
        max_hz: u64,
    },
    /// No frequency band is allowed, so no beacon could ever be valid.
    #[error("no frequency band is allowed")]
    NoBands,
}

impl CoverageParams {
    /// Checks that the parameters make sense: an H3 resolution, non-empty ranges and bands.
    pub fn validate(&self) -> Result<(), CoverageParamsError> {
        if Resolution::try_from(self.min_separation_resolution).is_err() {
            return Err(CoverageParamsError::BadResolution(
                self.min_separation_resolution,
            ));
        }
        let ranges: [(&'static str, i32, i32); 4] = [
            ("snr", self.min_snr_db_x10, self.max_snr_db_x10),
            (
                "tx_power",
                self.min_tx_power_dbm_x10,
                self.max_tx_power_dbm_x10,
            ),
            (
                "antenna_gain",
                self.min_antenna_gain_dbi_x10,
                self.max_antenna_gain_dbi_x10,
            ),
            ("elevation", self.min_elevation_m, self.max_elevation_m),
        ];
        for (name, min, max) in ranges {
            if min > max {
                return Err(CoverageParamsError::EmptyRange {
                    name,
                    min: i64::from(min),
                    max: i64::from(max),
                });
            }
        }
        if self.allowed_bands.is_empty() {
            return Err(CoverageParamsError::NoBands);
        }
        for band in &self.allowed_bands {
            if band.min_hz > band.max_hz {
                return Err(CoverageParamsError::EmptyBand {
                    name: band.name.clone(),
                    min_hz: band.min_hz,
                    max_hz: band.max_hz,
                });
            }
        }
        Ok(())
    }

    /// The separation resolution as an H3 resolution (values above 15 act as 15).
    fn separation_resolution(&self) -> Resolution {
        Resolution::try_from(self.min_separation_resolution.min(15)).unwrap_or(Resolution::Fifteen)
    }
}

// ---------------------------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------------------------

/// Why a beacon is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum BeaconInvalid {
    /// The beaconer's location is not a valid H3 cell index.
    #[error("beaconer's location {cell:#x} is not an H3 cell")]
    InvalidCell {
        /// The offending value.
        cell: u64,
    },
    /// The beaconer's cell is coarser than the resolution the distance checks need.
    #[error("beaconer's cell has resolution {resolution}, at least {min_resolution} is needed")]
    CellTooCoarse {
        /// The cell.
        cell: u64,
        /// Its resolution.
        resolution: u8,
        /// The resolution required ([`CoverageParams::min_separation_resolution`]).
        min_resolution: u8,
    },
    /// The claimed transmit power is outside the plausible range.
    #[error("transmit power {tx_power_dbm_x10} dBm×10 is outside [{min}, {max}]")]
    TxPowerOutOfRange {
        /// Claimed power, tenths of a dBm.
        tx_power_dbm_x10: i32,
        /// Lowest allowed, tenths of a dBm.
        min: i32,
        /// Highest allowed, tenths of a dBm.
        max: i32,
    },
    /// The beaconer's antenna gain is outside the plausible range.
    #[error("antenna gain {gain_dbi_x10} dBi×10 is outside [{min}, {max}]")]
    AntennaGainOutOfRange {
        /// The gain, tenths of a dBi.
        gain_dbi_x10: i32,
        /// Lowest allowed.
        min: i32,
        /// Highest allowed.
        max: i32,
    },
    /// The beaconer's elevation is outside the plausible range.
    #[error("elevation {elevation_m} m is outside [{min}, {max}]")]
    ElevationOutOfRange {
        /// The elevation, metres.
        elevation_m: i32,
        /// Lowest allowed.
        min: i32,
        /// Highest allowed.
        max: i32,
    },
    /// The beacon's frequency lies in none of the allowed bands.
    #[error("frequency {frequency_hz} Hz is in no allowed band")]
    FrequencyOutsideBands {
        /// The frequency, Hz.
        frequency_hz: u64,
    },
}

/// Why a witness is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum WitnessInvalid {
    /// The beacon it witnessed is itself invalid.
    #[error("the beacon is invalid: {0}")]
    InvalidBeacon(BeaconInvalid),
    /// The witness is the beaconer.
    #[error("a device cannot witness its own beacon")]
    SelfWitness,
    /// The witness heard a different payload from the one beaconed.
    #[error("the witnessed payload differs from the beacon's")]
    PayloadMismatch,
    /// The witness's location is not a valid H3 cell index.
    #[error("witness's location {cell:#x} is not an H3 cell")]
    InvalidCell {
        /// The offending value.
        cell: u64,
    },
    /// The witness's cell is coarser than the resolution the distance checks need.
    #[error("witness's cell has resolution {resolution}, at least {min_resolution} is needed")]
    CellTooCoarse {
        /// The cell.
        cell: u64,
        /// Its resolution.
        resolution: u8,
        /// The resolution required.
        min_resolution: u8,
    },
    /// The witness's antenna gain is outside the plausible range.
    #[error("witness antenna gain {gain_dbi_x10} dBi×10 is outside [{min}, {max}]")]
    AntennaGainOutOfRange {
        /// The gain, tenths of a dBi.
        gain_dbi_x10: i32,
        /// Lowest allowed.
        min: i32,
        /// Highest allowed.
        max: i32,
    },
    /// The witness heard the packet on a frequency too far from the beacon's.
    #[error("frequency differs from the beacon's by {diff_hz} Hz (at most {max_hz})")]
    FrequencyMismatch {
        /// The difference, Hz.
        diff_hz: u64,
        /// The allowed difference, Hz.
        max_hz: u64,
    },
    /// The witness arrived too long before the beacon report.
    #[error("arrived {lead_ms} ms before the beacon (at most {max_ms})")]
    ArrivedBeforeBeacon {
        /// How long before, ms.
        lead_ms: u64,
        /// The allowed lead, ms.
        max_ms: u64,
    },
    /// The witness arrived too long after the beacon report.
    #[error("arrived {delay_ms} ms after the beacon (at most {max_ms})")]
    TooLate {
        /// How long after, ms.
        delay_ms: u64,
        /// The allowed delay, ms.
        max_ms: u64,
    },
    /// The witness arrived too long after the beacon's first witness.
    #[error("arrived {delay_ms} ms after the first witness (at most {max_ms})")]
    TooLateAfterFirstWitness {
        /// How long after, ms.
        delay_ms: u64,
        /// The allowed delay, ms.
        max_ms: u64,
    },
    /// The witness is farther from the beaconer than a witness may be.
    #[error("{distance_m} m from the beaconer (at most {max_m})")]
    TooFar {
        /// Distance between the cell centres, metres.
        distance_m: u64,
        /// The allowed distance, metres.
        max_m: u64,
    },
    /// The witness is too close to the beaconer to prove any coverage.
    #[error(
        "too close to the beaconer: grid distance {grid_distance:?} (at least {min_grid_distance}), {distance_m} m"
    )]
    TooClose {
        /// Grid distance between the cells' parents at the separation resolution; `None` when
        /// `h3o` could not compute it and the fallback in metres decided.
        grid_distance: Option<u32>,
        /// The required grid distance.
        min_grid_distance: u32,
        /// Distance between the cell centres, metres.
        distance_m: u64,
    },
    /// The reported SNR cannot come from a working LoRa receiver.
    #[error("SNR {snr_db_x10} dB×10 is outside [{min}, {max}]")]
    SnrOutOfRange {
        /// The reported SNR, tenths of a dB.
        snr_db_x10: i32,
        /// Lowest allowed.
        min: i32,
        /// Highest allowed.
        max: i32,
    },
    /// The reported RSSI is below what any receiver decodes.
    #[error("RSSI {rssi_dbm_x10} dBm×10 is below the sensitivity floor {min}")]
    RssiTooWeak {
        /// The reported RSSI, tenths of a dBm.
        rssi_dbm_x10: i32,
        /// The floor, tenths of a dBm.
        min: i32,
    },
    /// The reported RSSI is stronger than free space allows at this distance.
    #[error(
        "RSSI {rssi_dbm_x10} dBm×10 exceeds the free-space maximum {max_plausible_dbm_x10} at {distance_m} m"
    )]
    RssiTooStrong {
        /// The reported RSSI, tenths of a dBm.
        rssi_dbm_x10: i32,
        /// The most a real signal could be (tolerance included), tenths of a dBm.
        max_plausible_dbm_x10: i64,
        /// Distance between the cell centres, metres.
        distance_m: u64,
    },
    /// The beacon already has as many valid witnesses as count.
    #[error("the beacon already has {cap} valid witnesses")]
    TooManyWitnesses {
        /// The cap.
        cap: u32,
    },
}

/// The numbers computed for a valid witness (kept with the verdict, used by rewards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessOk {
    /// Great-circle distance between the cell centres, metres (rounded to nearest).
    pub distance_m: u64,
    /// Grid distance at the separation resolution, when `h3o` could compute it.
    pub grid_distance: Option<u32>,
    /// Free-space path loss at `max(distance, min_path_distance_m)` and the beacon's frequency,
    /// tenths of a dB (rounded down).
    pub free_space_path_loss_db_x10: i64,
    /// The strongest RSSI accepted, tolerance included, tenths of a dBm (rounded up).
    pub max_plausible_rssi_dbm_x10: i64,
    /// Arrival of the witness after the beacon's, ms (0 when it arrived first).
    pub delay_ms: u64,
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// Judges a beacon on its own: a fine enough H3 cell, plausible power, gain and elevation, and a
/// frequency in an allowed band.
pub fn check_beacon(beacon: &BeaconFacts, params: &CoverageParams) -> Result<(), BeaconInvalid> {
    let cell = CellIndex::try_from(beacon.cell)
        .map_err(|_| BeaconInvalid::InvalidCell { cell: beacon.cell })?;
    let min_resolution = params.separation_resolution();
    if cell.resolution() < min_resolution {
        return Err(BeaconInvalid::CellTooCoarse {
            cell: beacon.cell,
            resolution: u8::from(cell.resolution()),
            min_resolution: u8::from(min_resolution),
        });
    }
    let (min, max) = (params.min_tx_power_dbm_x10, params.max_tx_power_dbm_x10);
    if !(min..=max).contains(&beacon.tx_power_dbm_x10) {
        return Err(BeaconInvalid::TxPowerOutOfRange {
            tx_power_dbm_x10: beacon.tx_power_dbm_x10,
            min,
            max,
        });
    }
    let (min, max) = (
        params.min_antenna_gain_dbi_x10,
        params.max_antenna_gain_dbi_x10,
    );
    if !(min..=max).contains(&beacon.antenna_gain_dbi_x10) {
        return Err(BeaconInvalid::AntennaGainOutOfRange {
            gain_dbi_x10: beacon.antenna_gain_dbi_x10,
            min,
            max,
        });
    }
    let (min, max) = (params.min_elevation_m, params.max_elevation_m);
    if !(min..=max).contains(&beacon.elevation_m) {
        return Err(BeaconInvalid::ElevationOutOfRange {
            elevation_m: beacon.elevation_m,
            min,
            max,
        });
    }
    if !params
        .allowed_bands
        .iter()
        .any(|band| band.contains(beacon.frequency_hz))
    {
        return Err(BeaconInvalid::FrequencyOutsideBands {
            frequency_hz: beacon.frequency_hz,
        });
    }
    Ok(())
}

/// Judges one witness of a beacon.
///
/// `first_witness_ms` is the arrival of the beacon's earliest witness, when the caller tracks it
/// (a witness arriving before it is simply not late); `valid_witnesses_so_far` is how many
/// witnesses of this beacon have already been judged valid. See the module docs for the order in
/// which reasons are checked.
pub fn check_witness(
    beacon: &BeaconFacts,
    witness: &WitnessFacts,
    first_witness_ms: Option<u64>,
    valid_witnesses_so_far: usize,
    params: &CoverageParams,
) -> Result<WitnessOk, WitnessInvalid> {
    check_beacon(beacon, params).map_err(WitnessInvalid::InvalidBeacon)?;
    if witness.witness == beacon.beaconer {
        return Err(WitnessInvalid::SelfWitness);
    }
    if witness.payload_id != beacon.payload_id {
        return Err(WitnessInvalid::PayloadMismatch);
    }

    // Cells (the beacon's was checked by `check_beacon`, so it parses here).
    let beacon_cell = CellIndex::try_from(beacon.cell).map_err(|_| {
        WitnessInvalid::InvalidBeacon(BeaconInvalid::InvalidCell { cell: beacon.cell })
    })?;
    let witness_cell = CellIndex::try_from(witness.cell)
        .map_err(|_| WitnessInvalid::InvalidCell { cell: witness.cell })?;
    let separation_resolution = params.separation_resolution();
    if witness_cell.resolution() < separation_resolution {
        return Err(WitnessInvalid::CellTooCoarse {
            cell: witness.cell,
            resolution: u8::from(witness_cell.resolution()),
            min_resolution: u8::from(separation_resolution),
        });
    }

    let (min, max) = (
        params.min_antenna_gain_dbi_x10,
        params.max_antenna_gain_dbi_x10,
    );
    if !(min..=max).contains(&witness.antenna_gain_dbi_x10) {
        return Err(WitnessInvalid::AntennaGainOutOfRange {
            gain_dbi_x10: witness.antenna_gain_dbi_x10,
            min,
            max,
        });
    }

    let diff_hz = beacon.frequency_hz.abs_diff(witness.frequency_hz);
    if diff_hz > params.max_frequency_difference_hz {
        return Err(WitnessInvalid::FrequencyMismatch {
            diff_hz,
            max_hz: params.max_frequency_difference_hz,
        });
    }

    // Timing, on ingest arrival stamps.
    let delay_ms = witness.received_at_ms.saturating_sub(beacon.timestamp_ms);
    let lead_ms = beacon.timestamp_ms.saturating_sub(witness.received_at_ms);
    if lead_ms > params.max_witness_lead_ms {
        return Err(WitnessInvalid::ArrivedBeforeBeacon {
            lead_ms,
            max_ms: params.max_witness_lead_ms,
        });
    }
    if delay_ms > params.max_witness_delay_ms {
        return Err(WitnessInvalid::TooLate {
            delay_ms,
            max_ms: params.max_witness_delay_ms,
        });
    }
    if let Some(first_ms) = first_witness_ms {
        let after_first_ms = witness.received_at_ms.saturating_sub(first_ms);
        if after_first_ms > params.max_delay_after_first_witness_ms {
            return Err(WitnessInvalid::TooLateAfterFirstWitness {
                delay_ms: after_first_ms,
                max_ms: params.max_delay_after_first_witness_ms,
            });
        }
    }

    // Distance.
    let distance_mm = distance_mm(geo_point_of(beacon_cell), geo_point_of(witness_cell));
    let distance_m = round_div_u64(distance_mm, 1_000);
    if distance_m > params.max_witness_distance_m {
        return Err(WitnessInvalid::TooFar {
            distance_m,
            max_m: params.max_witness_distance_m,
        });
    }
    let grid_distance = separation_grid_distance(beacon_cell, witness_cell, separation_resolution);
    let too_close = match grid_distance {
        Some(cells) => cells < params.min_witness_grid_distance,
        None => distance_m < params.min_witness_distance_fallback_m,
    };
    if too_close {
        return Err(WitnessInvalid::TooClose {
            grid_distance,
            min_grid_distance: params.min_witness_grid_distance,
            distance_m,
        });
    }

    // Signal.
    if !(params.min_snr_db_x10..=params.max_snr_db_x10).contains(&witness.snr_db_x10) {
        return Err(WitnessInvalid::SnrOutOfRange {
            snr_db_x10: witness.snr_db_x10,
            min: params.min_snr_db_x10,
            max: params.max_snr_db_x10,
        });
    }
    if witness.rssi_dbm_x10 < params.min_rssi_dbm_x10 {
        return Err(WitnessInvalid::RssiTooWeak {
            rssi_dbm_x10: witness.rssi_dbm_x10,
            min: params.min_rssi_dbm_x10,
        });
    }
    let path_distance_mm = distance_mm
        .max(params.min_path_distance_m.saturating_mul(1_000))
        .max(1);
    let loss_nano_db = free_space_path_loss_nano_db(path_distance_mm, beacon.frequency_hz);
    let budget_nano_db = (i128::from(beacon.tx_power_dbm_x10)
        + i128::from(beacon.antenna_gain_dbi_x10)
        + i128::from(witness.antenna_gain_dbi_x10)
        + i128::from(params.rssi_tolerance_db_x10))
        * NANO_DB_PER_DECI_DB;
    let max_plausible_dbm_x10 = saturate_i64(ceil_div_i128(
        budget_nano_db - loss_nano_db,
        NANO_DB_PER_DECI_DB,
    ));
    if i64::from(witness.rssi_dbm_x10) > max_plausible_dbm_x10 {
        return Err(WitnessInvalid::RssiTooStrong {
            rssi_dbm_x10: witness.rssi_dbm_x10,
            max_plausible_dbm_x10,
            distance_m,
        });
    }

    let cap = params.max_witnesses_per_beacon;
    if u64::try_from(valid_witnesses_so_far).unwrap_or(u64::MAX) >= u64::from(cap) {
        return Err(WitnessInvalid::TooManyWitnesses { cap });
    }

    Ok(WitnessOk {
        distance_m,
        grid_distance,
        free_space_path_loss_db_x10: saturate_i64(loss_nano_db.div_euclid(NANO_DB_PER_DECI_DB)),
        max_plausible_rssi_dbm_x10: max_plausible_dbm_x10,
        delay_ms,
    })
}

/// Grid distance between the parents of two cells at `resolution`, or `None` when `h3o` cannot
/// compute one (pentagon distortion, or cells too far apart) or a cell is coarser.
fn separation_grid_distance(a: CellIndex, b: CellIndex, resolution: Resolution) -> Option<u32> {
    let a = a.parent(resolution)?;
    let b = b.parent(resolution)?;
    let cells = a.grid_distance(b).ok()?;
    u32::try_from(cells).ok()
}

// ---------------------------------------------------------------------------------------------
// Geometry and path loss in fixed point
// ---------------------------------------------------------------------------------------------

/// A point on the Earth in whole micro-degrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeoPoint {
    /// Latitude, micro-degrees, in [−90,000,000, 90,000,000].
    pub lat_micro_deg: i32,
    /// Longitude, micro-degrees, in [−180,000,000, 180,000,000].
    pub lng_micro_deg: i32,
}

/// The centre of an H3 cell in whole micro-degrees, or `None` if `cell` is not a cell index.
///
/// The one float computation of this module: see "Determinism" in the module docs.
pub fn cell_centre(cell: u64) -> Option<GeoPoint> {
    CellIndex::try_from(cell).ok().map(geo_point_of)
}

fn geo_point_of(cell: CellIndex) -> GeoPoint {
    let centre = LatLng::from(cell);
    // `round` and the multiplication are exact IEEE operations; `as` saturates (h3o's outputs
    // are finite and within ±90/±180 degrees, so it never does).
    GeoPoint {
        lat_micro_deg: (centre.lat() * 1e6).round() as i32,
        lng_micro_deg: (centre.lng() * 1e6).round() as i32,
    }
}

/// Great-circle distance between two points, in millimetres (haversine, mean Earth radius,
/// Q48 fixed point; see the module docs for the error bound). Out-of-range coordinates are
/// clamped to ±90° latitude and wrapped in longitude.
pub fn distance_mm(a: GeoPoint, b: GeoPoint) -> u64 {
    let lat_a = i64::from(a.lat_micro_deg).clamp(-90_000_000, 90_000_000);
    let lat_b = i64::from(b.lat_micro_deg).clamp(-90_000_000, 90_000_000);
    // Angles are handed to sine and cosine in half-micro-degrees, so half of a difference in
    // micro-degrees needs no division: Δ/2 in half-micro-degrees is Δ.
    let half_dlat = lat_b - lat_a;
    let half_dlng =
        (i64::from(b.lng_micro_deg) - i64::from(a.lng_micro_deg)).rem_euclid(360_000_000);
    let half_dlng = if half_dlng > 180_000_000 {
        half_dlng - 360_000_000
    } else {
        half_dlng
    };

    let sin_dlat = sin_half_micro_deg(half_dlat);
    let sin_dlng = sin_half_micro_deg(half_dlng);
    let cos_product = mul_q(cos_half_micro_deg(2 * lat_a), cos_half_micro_deg(2 * lat_b));
    let haversine =
        (mul_q(sin_dlat, sin_dlat) + mul_q(cos_product, mul_q(sin_dlng, sin_dlng))).clamp(0, ONE);
    let half_angle = asin_q(sqrt_q(haversine));
    let central_angle = 2 * half_angle;
    let mm = central_angle * i128::from(EARTH_MEAN_RADIUS_MM) / ONE;
    u64::try_from(mm.max(0)).unwrap_or(u64::MAX)
}

/// Free-space path loss `20·log10(4π·d·f/c)` for `distance_mm` millimetres and `frequency_hz`,
/// in nano-decibels. Zero inputs count as 1 (the loss is then very negative, never a panic).
pub fn free_space_path_loss_nano_db(distance_mm: u64, frequency_hz: u64) -> i128 {
    let product = u128::from(distance_mm.max(1)) * u128::from(frequency_hz.max(1));
    let log2_q32 = i128::from(log2_q32(product));
    log2_q32 * NANO_DB_PER_OCTAVE / (1_i128 << 32) + FSPL_CONSTANT_MM_NANO_DB
}

/// Free-space path loss in tenths of a dB (rounded down) for `distance_m` metres and
/// `frequency_hz`. For the fleet simulator and for operators; the checks use the nano-dB form.
pub fn free_space_path_loss_db_x10(distance_m: u64, frequency_hz: u64) -> i64 {
    let loss = free_space_path_loss_nano_db(distance_m.saturating_mul(1_000), frequency_hz);
    saturate_i64(loss.div_euclid(NANO_DB_PER_DECI_DB))
}

/// `log2(x)` for `x ≥ 1` in Q32 (integer part in the high bits), by normalising to [1, 2) and
/// squaring: each squaring that reaches 2 sets the next fractional bit. Rounds down.
fn log2_q32(x: u128) -> u64 {
    let x = x.max(1);
    let integer_part = 127 - x.leading_zeros();
    // Mantissa in Q62, in [1, 2).
    const MANTISSA_BITS: u32 = 62;
    let mut mantissa = if integer_part >= MANTISSA_BITS {
        x >> (integer_part - MANTISSA_BITS)
    } else {
        x << (MANTISSA_BITS - integer_part)
    };
    let two = 2_u128 << MANTISSA_BITS;
    let mut fraction = 0_u64;
    for bit in (0..32).rev() {
        // mantissa < 2^63, so its square < 2^126: no overflow.
        mantissa = (mantissa * mantissa) >> MANTISSA_BITS;
        if mantissa >= two {
            mantissa >>= 1;
            fraction |= 1 << bit;
        }
    }
    (u64::from(integer_part) << 32) | fraction
}

/// Product of two Q48 numbers.
fn mul_q(a: i128, b: i128) -> i128 {
    (a * b) >> FRAC_BITS
}

/// Square root of a Q48 number in [0, 1].
fn sqrt_q(x: i128) -> i128 {
    let x = u128::try_from(x.clamp(0, ONE)).unwrap_or(0);
    i128::try_from((x << FRAC_BITS).isqrt()).unwrap_or(ONE)
}

/// An angle in half-micro-degrees, in [0, 45°], as Q48 radians.
fn radians_q(half_micro_deg: i64) -> i128 {
    i128::from(half_micro_deg) * PI_Q48 / HALF_MICRO_DEGREES_PER_PI
}

/// `sin` of an angle given in half-micro-degrees, |angle| ≤ 180°, in Q48.
fn sin_half_micro_deg(angle: i64) -> i128 {
    const QUARTER: i64 = 180_000_000; // 90°
    const EIGHTH: i64 = 90_000_000; // 45°
    let sign = if angle < 0 { -1 } else { 1 };
    let mut a = angle.unsigned_abs().min(2 * QUARTER as u64) as i64;
    if a > QUARTER {
        a = 2 * QUARTER - a; // sin(π − x) = sin x
    }
    let value = if a <= EIGHTH {
        sin_series(radians_q(a))
    } else {
        cos_series(radians_q(QUARTER - a))
    };
    sign * value
}

/// `cos` of an angle given in half-micro-degrees, |angle| ≤ 180°, in Q48.
fn cos_half_micro_deg(angle: i64) -> i128 {
    const QUARTER: i64 = 180_000_000;
    const EIGHTH: i64 = 90_000_000;
    let mut a = angle.unsigned_abs().min(2 * QUARTER as u64) as i64;
    let mut sign = 1;
    if a > QUARTER {
        a = 2 * QUARTER - a; // cos(π − x) = −cos x
        sign = -1;
    }
    let value = if a <= EIGHTH {
        cos_series(radians_q(a))
    } else {
        sin_series(radians_q(QUARTER - a))
    };
    sign * value
}

/// Taylor series of `sin x` for Q48 `x` in [0, π/4] (the terms fall below 2⁻⁴⁸ by the 10th).
fn sin_series(x: i128) -> i128 {
    let x2 = mul_q(x, x);
    let mut term = x;
    let mut sum = x;
    for k in 1..16_i128 {
        term = -mul_q(term, x2) / ((2 * k) * (2 * k + 1));
        if term == 0 {
            break;
        }
        sum += term;
    }
    sum
}

/// Taylor series of `cos x` for Q48 `x` in [0, π/4].
fn cos_series(x: i128) -> i128 {
    let x2 = mul_q(x, x);
    let mut term = ONE;
    let mut sum = ONE;
    for k in 1..16_i128 {
        term = -mul_q(term, x2) / ((2 * k - 1) * (2 * k));
        if term == 0 {
            break;
        }
        sum += term;
    }
    sum
}

/// `asin x` for Q48 `x` in [0, 1].
fn asin_q(x: i128) -> i128 {
    let x = x.clamp(0, ONE);
    if x <= ONE / 2 {
        asin_series(x)
    } else {
        // asin x = π/2 − 2·asin √((1 − x)/2), whose argument is at most ½.
        HALF_PI_Q48 - 2 * asin_series(sqrt_q((ONE - x) / 2))
    }
}

/// Series of `asin x` for Q48 `x` in [0, ½]: each term is the previous times
/// `x²·(2n+1)²/((2n+2)(2n+3))`, at most a quarter of it, so 30 terms exhaust 48 bits.
fn asin_series(x: i128) -> i128 {
    let x2 = mul_q(x, x);
    let mut term = x;
    let mut sum = x;
    for n in 0..30_i128 {
        term = mul_q(term, x2) * (2 * n + 1) * (2 * n + 1) / ((2 * n + 2) * (2 * n + 3));
        if term == 0 {
            break;
        }
        sum += term;
    }
    sum
}

fn round_div_u64(value: u64, divisor: u64) -> u64 {
    value / divisor + u64::from(value % divisor >= divisor.div_ceil(2))
}

fn ceil_div_i128(value: i128, divisor: i128) -> i128 {
    -((-value).div_euclid(divisor))
}

fn saturate_i64(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BERLIN_BRANDENBURG_GATE: (f64, f64) = (52.516_275, 13.377_704);
    const BERLIN_OSTKREUZ: (f64, f64) = (52.503_000, 13.469_000);
    const BERLIN_ALEXANDERPLATZ: (f64, f64) = (52.521_918, 13.413_215);
    const MUNICH_MARIENPLATZ: (f64, f64) = (48.137_154, 11.576_124);
    const EU868_FREQUENCY_HZ: u64 = 868_100_000;

    fn cell_at((lat, lng): (f64, f64), resolution: Resolution) -> u64 {
        u64::from(LatLng::new(lat, lng).unwrap().to_cell(resolution))
    }

    fn beacon_at(place: (f64, f64)) -> BeaconFacts {
        BeaconFacts {
            beaconer: [1; 20],
            cell: cell_at(place, Resolution::Twelve),
            frequency_hz: EU868_FREQUENCY_HZ,
            tx_power_dbm_x10: 140,
            antenna_gain_dbi_x10: 30,
            elevation_m: 40,
            timestamp_ms: 1_700_000_000_000,
            payload_id: [7; 32],
        }
    }

    fn witness_at(place: (f64, f64)) -> WitnessFacts {
        WitnessFacts {
            witness: [2; 20],
            cell: cell_at(place, Resolution::Twelve),
            antenna_gain_dbi_x10: 30,
            frequency_hz: EU868_FREQUENCY_HZ,
            rssi_dbm_x10: -1_100,
            snr_db_x10: -50,
            received_at_ms: 1_700_000_000_500,
            payload_id: [7; 32],
        }
    }

    fn judge(beacon: &BeaconFacts, witness: &WitnessFacts) -> Result<WitnessOk, WitnessInvalid> {
        check_witness(beacon, witness, None, 0, &CoverageParams::default())
    }

    fn reference_fspl_db(distance_m: f64, frequency_hz: f64) -> f64 {
        20.0 * (4.0 * std::f64::consts::PI * distance_m * frequency_hz / 2.998e8).log10()
    }

    #[test]
    fn cell_centres_are_pinned() {
        // Exact micro-degrees of a few centres at resolutions 0, 8 and 12. These must never change
        // between machines or builds: the app compares distances computed from them.
        let pinned: Vec<(u64, GeoPoint)> =
            [0x8001fffffffffff_u64, 0x881f1d4817fffff, 0x8c1f1d4810001ff]
                .into_iter()
                .map(|cell| (cell, cell_centre(cell).unwrap()))
                .collect();
        let expected = [
            (0x8001fffffffffff, (79_242_399, 38_023_407)),
            (0x881f1d4817fffff, (52_530_296, 13_322_377)),
            (0x8c1f1d4810001ff, (52_537_498, 13_319_279)),
        ]
        .map(|(cell, (lat, lng))| {
            (
                cell,
                GeoPoint {
                    lat_micro_deg: lat,
                    lng_micro_deg: lng,
                },
            )
        });
        assert_eq!(pinned, expected);
    }

    // --- Positive cases from real geometry -----------------------------------------------------

    #[test]
    fn a_witness_6_km_across_berlin_with_a_plausible_rssi_is_valid() {
        let ok = judge(
            &beacon_at(BERLIN_BRANDENBURG_GATE),
            &witness_at(BERLIN_OSTKREUZ),
        )
        .unwrap();
        // 6.4 km by h3o's float haversine; ours within 0.1 %.
        assert!((6_300..6_500).contains(&ok.distance_m), "{ok:?}");
        // FSPL at 6.4 km, 868.1 MHz ≈ 107.3 dB; 14 + 3 + 3 − 107.3 + 8 ≈ −79.3 dBm.
        assert!(
            (1_065..1_080).contains(&ok.free_space_path_loss_db_x10),
            "{ok:?}"
        );
        assert!(
            (-800..-785).contains(&ok.max_plausible_rssi_dbm_x10),
            "{ok:?}"
        );
        assert!(ok.grid_distance.unwrap() > 100);
        assert_eq!(ok.delay_ms, 500);
    }

    #[test]
    fn a_witness_6_km_across_berlin_claiming_more_than_free_space_allows_is_too_strong() {
        let mut witness = witness_at(BERLIN_OSTKREUZ);
        witness.rssi_dbm_x10 = -700; // −70 dBm at 6.4 km from 14 dBm: 9 dB above free space
        let verdict = judge(&beacon_at(BERLIN_BRANDENBURG_GATE), &witness);
        match verdict {
            Err(WitnessInvalid::RssiTooStrong {
                rssi_dbm_x10,
                max_plausible_dbm_x10,
                distance_m,
            }) => {
                assert_eq!(rssi_dbm_x10, -700);
                assert!(max_plausible_dbm_x10 < -780);
                assert!((6_300..6_500).contains(&distance_m));
            }
            other => panic!("expected RssiTooStrong, got {other:?}"),
        }
    }

    #[test]
    fn the_distance_agrees_with_h3os_float_haversine() {
        let pairs = [
            (BERLIN_BRANDENBURG_GATE, BERLIN_OSTKREUZ),
            (BERLIN_BRANDENBURG_GATE, BERLIN_ALEXANDERPLATZ),
            (BERLIN_BRANDENBURG_GATE, MUNICH_MARIENPLATZ),
            ((-33.856_784, 151.215_297), (51.500_729, -0.124_625)), // Sydney – London
            ((0.0, 179.999), (0.0, -179.999)),                      // across the antimeridian
            ((89.9, 0.0), (89.9, 180.0)),                           // over the pole
        ];
        for (a, b) in pairs {
            let (ca, cb) = (
                cell_at(a, Resolution::Twelve),
                cell_at(b, Resolution::Twelve),
            );
            let ours = distance_mm(cell_centre(ca).unwrap(), cell_centre(cb).unwrap()) as f64;
            let centre_a = LatLng::from(CellIndex::try_from(ca).unwrap());
            let centre_b = LatLng::from(CellIndex::try_from(cb).unwrap());
            // h3o uses the authalic radius 6,371,007.18 m; scale to ours before comparing.
            let reference = centre_a.distance_rads(centre_b) * EARTH_MEAN_RADIUS_MM as f64;
            let error_mm = (ours - reference).abs();
            assert!(
                error_mm < 500.0,
                "{a:?} {b:?}: ours {ours} mm, reference {reference} mm"
            );
        }
    }

    #[test]
    fn the_path_loss_agrees_with_the_float_formula() {
        for (distance_m, frequency_hz) in [
            (10, 433_050_000),
            (1_000, 868_100_000),
            (6_400, 915_000_000),
            (100_000, 928_000_000),
        ] {
            let ours = free_space_path_loss_nano_db(distance_m * 1_000, frequency_hz) as f64 / 1e9;
            let reference = reference_fspl_db(distance_m as f64, frequency_hz as f64);
            assert!(
                (ours - reference).abs() < 1e-6,
                "{distance_m} m: {ours} vs {reference}"
            );
            assert_eq!(
                free_space_path_loss_db_x10(distance_m, frequency_hz),
                (reference * 10.0).floor() as i64
            );
        }
    }

    #[test]
    fn fixed_point_sine_and_cosine_match_the_float_ones() {
        for micro_deg in [
            0_i64, 1, 30_000_000, 45_000_000, 60_000_000, 89_999_999, 90_000_000,
        ] {
            let radians = (micro_deg as f64 / 1e6).to_radians();
            let sin = sin_half_micro_deg(2 * micro_deg) as f64 / ONE as f64;
            let cos = cos_half_micro_deg(2 * micro_deg) as f64 / ONE as f64;
            assert!((sin - radians.sin()).abs() < 1e-12, "sin {micro_deg}");
            assert!((cos - radians.cos()).abs() < 1e-12, "cos {micro_deg}");
            let neg = sin_half_micro_deg(-2 * micro_deg) as f64 / ONE as f64;
            assert!((neg + radians.sin()).abs() < 1e-12);
        }
        for x in [0.0, 0.1, 0.49, 0.5, 0.51, 0.9, 0.999_999, 1.0] {
            let ours = asin_q((x * ONE as f64) as i128) as f64 / ONE as f64;
            assert!((ours - f64::asin(x)).abs() < 1e-9, "asin {x}: {ours}");
        }
    }

    #[test]
    fn default_params_are_valid() {
        assert_eq!(CoverageParams::default().validate(), Ok(()));
        let params = CoverageParams {
            min_separation_resolution: 16,
            ..CoverageParams::default()
        };
        assert_eq!(
            params.validate(),
            Err(CoverageParamsError::BadResolution(16))
        );
        let params = CoverageParams {
            allowed_bands: vec![],
            ..CoverageParams::default()
        };
        assert_eq!(params.validate(), Err(CoverageParamsError::NoBands));
    }

    // --- One test per witness reason ----------------------------------------------------------

    #[test]
    fn a_witness_of_an_invalid_beacon_is_invalid() {
        let mut beacon = beacon_at(BERLIN_BRANDENBURG_GATE);
        beacon.tx_power_dbm_x10 = 400;
        assert!(matches!(
            judge(&beacon, &witness_at(BERLIN_OSTKREUZ)),
            Err(WitnessInvalid::InvalidBeacon(
                BeaconInvalid::TxPowerOutOfRange { .. }
            ))
        ));
    }

    #[test]
    fn a_device_witnessing_its_own_beacon_is_a_self_witness() {
        let beacon = beacon_at(BERLIN_BRANDENBURG_GATE);
        let mut witness = witness_at(BERLIN_OSTKREUZ);
        witness.witness = beacon.beaconer;
        assert_eq!(judge(&beacon, &witness), Err(WitnessInvalid::SelfWitness));
    }

    #[test]
    fn a_witness_of_another_payload_is_a_payload_mismatch() {
        let mut witness = witness_at(BERLIN_OSTKREUZ);
        witness.payload_id = [8; 32];
        assert_eq!(
            judge(&beacon_at(BERLIN_BRANDENBURG_GATE), &witness),
            Err(WitnessInvalid::PayloadMismatch)
        );
    }

    #[test]
    fn a_witness_whose_location_is_not_an_h3_cell_is_invalid() {
        let mut witness = witness_at(BERLIN_OSTKREUZ);
        witness.cell = 0x1234;
        assert_eq!(
            judge(&beacon_at(BERLIN_BRANDENBURG_GATE), &witness),
            Err(WitnessInvalid::InvalidCell { cell: 0x1234 })
        );
    }

    #[test]
    fn a_witness_located_only_to_a_coarse_cell_is_invalid() {
        let mut witness = witness_at(BERLIN_OSTKREUZ);
        witness.cell = cell_at(BERLIN_OSTKREUZ, Resolution::Eight);
        assert!(matches!(
            judge(&beacon_at(BERLIN_BRANDENBURG_GATE), &witness),
            Err(WitnessInvalid::CellTooCoarse {
                resolution: 8,
                min_resolution: 11,
                ..
            })
        ));
    }

    #[test]
    fn a_witness_with_an_implausible_antenna_gain_is_invalid() {
        let mut witness = witness_at(BERLIN_OSTKREUZ);
        witness.antenna_gain_dbi_x10 = 300;
        assert!(matches!(
            judge(&beacon_at(BERLIN_BRANDENBURG_GATE), &witness),
            Err(WitnessInvalid::AntennaGainOutOfRange {
                gain_dbi_x10: 300,
                ..
            })
        ));
    }

    #[test]
    fn a_witness_more_than_100_khz_off_the_beacon_frequency_is_a_mismatch() {
        let mut witness = witness_at(BERLIN_OSTKREUZ);
        witness.frequency_hz = EU868_FREQUENCY_HZ + 200_000;
        assert_eq!(
            judge(&beacon_at(BERLIN_BRANDENBURG_GATE), &witness),
            Err(WitnessInvalid::FrequencyMismatch {
                diff_hz: 200_000,
                max_hz: 100_000
            })
        );
    }

    #[test]
    fn a_witness_filed_long_before_the_beacon_is_invalid() {
        let beacon = beacon_at(BERLIN_BRANDENBURG_GATE);
        let mut witness = witness_at(BERLIN_OSTKREUZ);
        witness.received_at_ms = beacon.timestamp_ms - 5_000;
        assert_eq!(
            judge(&beacon, &witness),
            Err(WitnessInvalid::ArrivedBeforeBeacon {
                lead_ms: 5_000,
                max_ms: 4_000
            })
        );
        witness.received_at_ms = beacon.timestamp_ms - 300; // either report may arrive first
        assert_eq!(judge(&beacon, &witness).unwrap().delay_ms, 0);
    }

    #[test]
    fn a_witness_arriving_more_than_4_seconds_after_the_beacon_is_too_late() {
        let beacon = beacon_at(BERLIN_BRANDENBURG_GATE);
        let mut witness = witness_at(BERLIN_OSTKREUZ);
        witness.received_at_ms = beacon.timestamp_ms + 4_001;
        assert_eq!(
            judge(&beacon, &witness),
            Err(WitnessInvalid::TooLate {
                delay_ms: 4_001,
                max_ms: 4_000
            })
        );
    }

    #[test]
    fn a_witness_arriving_more_than_1500_ms_after_the_first_witness_is_too_late() {
        let beacon = beacon_at(BERLIN_BRANDENBURG_GATE);
        let mut witness = witness_at(BERLIN_OSTKREUZ);
        witness.received_at_ms = beacon.timestamp_ms + 3_000;
        let first = Some(beacon.timestamp_ms + 1_000);
        assert_eq!(
            check_witness(&beacon, &witness, first, 1, &CoverageParams::default()),
            Err(WitnessInvalid::TooLateAfterFirstWitness {
                delay_ms: 2_000,
                max_ms: 1_500
            })
        );
    }

    #[test]
    fn a_witness_beyond_100_km_is_too_far() {
        let verdict = judge(
            &beacon_at(BERLIN_BRANDENBURG_GATE),
            &witness_at(MUNICH_MARIENPLATZ),
        );
        match verdict {
            Err(WitnessInvalid::TooFar { distance_m, max_m }) => {
                assert!((503_000..506_000).contains(&distance_m), "{distance_m}");
                assert_eq!(max_m, 100_000);
            }
            other => panic!("expected TooFar, got {other:?}"),
        }
    }

    #[test]
    fn a_witness_fewer_than_8_resolution_11_cells_away_is_too_close() {
        // About 100 m east of the gate: 2–3 resolution-11 cells.
        let witness = witness_at((52.516_275, 13.379_200));
        match judge(&beacon_at(BERLIN_BRANDENBURG_GATE), &witness) {
            Err(WitnessInvalid::TooClose {
                grid_distance: Some(cells),
                min_grid_distance: 8,
                ..
            }) => {
                assert!(cells < 8);
            }
            other => panic!("expected TooClose, got {other:?}"),
        }
    }

    #[test]
    fn a_witness_in_the_beaconers_own_cell_is_too_close() {
        let beacon = beacon_at(BERLIN_BRANDENBURG_GATE);
        let mut witness = witness_at(BERLIN_OSTKREUZ);
        witness.cell = beacon.cell;
        assert_eq!(
            judge(&beacon, &witness),
            Err(WitnessInvalid::TooClose {
                grid_distance: Some(0),
                min_grid_distance: 8,
                distance_m: 0
            })
        );
    }

    #[test]
    fn a_witness_reporting_an_snr_no_radio_produces_is_invalid() {
        let mut witness = witness_at(BERLIN_OSTKREUZ);
        witness.snr_db_x10 = 500;
        assert!(matches!(
            judge(&beacon_at(BERLIN_BRANDENBURG_GATE), &witness),
            Err(WitnessInvalid::SnrOutOfRange {
                snr_db_x10: 500,
                ..
            })
        ));
    }

    #[test]
    fn a_witness_reporting_a_signal_below_any_receivers_sensitivity_is_too_weak() {
        let mut witness = witness_at(BERLIN_OSTKREUZ);
        witness.rssi_dbm_x10 = -1_600;
        assert_eq!(
            judge(&beacon_at(BERLIN_BRANDENBURG_GATE), &witness),
            Err(WitnessInvalid::RssiTooWeak {
                rssi_dbm_x10: -1_600,
                min: -1_480
            })
        );
    }

    #[test]
    fn a_witness_louder_than_free_space_allows_is_too_strong() {
        // The limit itself passes; a tenth of a dB more does not.
        let beacon = beacon_at(BERLIN_BRANDENBURG_GATE);
        let mut witness = witness_at(BERLIN_OSTKREUZ);
        let limit = judge(&beacon, &witness).unwrap().max_plausible_rssi_dbm_x10;
        witness.rssi_dbm_x10 = i32::try_from(limit).unwrap();
        assert!(judge(&beacon, &witness).is_ok());
        witness.rssi_dbm_x10 += 1;
        assert!(matches!(
            judge(&beacon, &witness),
            Err(WitnessInvalid::RssiTooStrong { .. })
        ));
    }

    #[test]
    fn a_fifteenth_valid_witness_exceeds_the_cap() {
        let (beacon, witness) = (
            beacon_at(BERLIN_BRANDENBURG_GATE),
            witness_at(BERLIN_OSTKREUZ),
        );
        let params = CoverageParams::default();
        assert!(check_witness(&beacon, &witness, None, 13, &params).is_ok());
        assert_eq!(
            check_witness(&beacon, &witness, None, 14, &params),
            Err(WitnessInvalid::TooManyWitnesses { cap: 14 })
        );
    }

    // --- One test per beacon reason -----------------------------------------------------------

    #[test]
    fn a_valid_beacon_passes() {
        assert_eq!(
            check_beacon(
                &beacon_at(BERLIN_BRANDENBURG_GATE),
                &CoverageParams::default()
            ),
            Ok(())
        );
    }

    #[test]
    fn a_beacon_whose_location_is_not_an_h3_cell_is_invalid() {
        let mut beacon = beacon_at(BERLIN_BRANDENBURG_GATE);
        beacon.cell = u64::MAX;
        assert_eq!(
            check_beacon(&beacon, &CoverageParams::default()),
            Err(BeaconInvalid::InvalidCell { cell: u64::MAX })
        );
    }

    #[test]
    fn a_beacon_located_only_to_a_coarse_cell_is_invalid() {
        let mut beacon = beacon_at(BERLIN_BRANDENBURG_GATE);
        beacon.cell = cell_at(BERLIN_BRANDENBURG_GATE, Resolution::Ten);
        assert!(matches!(
            check_beacon(&beacon, &CoverageParams::default()),
            Err(BeaconInvalid::CellTooCoarse {
                resolution: 10,
                min_resolution: 11,
                ..
            })
        ));
    }

    #[test]
    fn a_beacon_claiming_more_than_one_watt_is_invalid() {
        let mut beacon = beacon_at(BERLIN_BRANDENBURG_GATE);
        beacon.tx_power_dbm_x10 = 301;
        assert_eq!(
            check_beacon(&beacon, &CoverageParams::default()),
            Err(BeaconInvalid::TxPowerOutOfRange {
                tx_power_dbm_x10: 301,
                min: -40,
                max: 300
            })
        );
    }

    #[test]
    fn a_beacon_with_an_implausible_antenna_gain_is_invalid() {
        let mut beacon = beacon_at(BERLIN_BRANDENBURG_GATE);
        beacon.antenna_gain_dbi_x10 = 0;
        assert_eq!(
            check_beacon(&beacon, &CoverageParams::default()),
            Err(BeaconInvalid::AntennaGainOutOfRange {
                gain_dbi_x10: 0,
                min: 10,
                max: 150
            })
        );
    }

    #[test]
    fn a_beacon_above_everest_is_invalid() {
        let mut beacon = beacon_at(BERLIN_BRANDENBURG_GATE);
        beacon.elevation_m = 12_000;
        assert_eq!(
            check_beacon(&beacon, &CoverageParams::default()),
            Err(BeaconInvalid::ElevationOutOfRange {
                elevation_m: 12_000,
                min: -500,
                max: 9_000
            })
        );
    }

    #[test]
    fn a_beacon_outside_every_allowed_band_is_invalid() {
        let mut beacon = beacon_at(BERLIN_BRANDENBURG_GATE);
        beacon.frequency_hz = 2_400_000_000;
        assert_eq!(
            check_beacon(&beacon, &CoverageParams::default()),
            Err(BeaconInvalid::FrequencyOutsideBands {
                frequency_hz: 2_400_000_000
            })
        );
    }

    // --- Never panics ---------------------------------------------------------------------------

    fn any_cell() -> impl Strategy<Value = u64> {
        prop_oneof![
            any::<u64>(),
            (-90.0..90.0_f64, -180.0..180.0_f64, 0_u8..=15).prop_map(|(lat, lng, res)| {
                let resolution = Resolution::try_from(res).unwrap();
                u64::from(LatLng::new(lat, lng).unwrap().to_cell(resolution))
            }),
        ]
    }

    fn extreme_u64() -> impl Strategy<Value = u64> {
        prop_oneof![any::<u64>(), Just(0), Just(u64::MAX), 0_u64..10_000]
    }

    fn extreme_i32() -> impl Strategy<Value = i32> {
        prop_oneof![
            any::<i32>(),
            Just(i32::MIN),
            Just(i32::MAX),
            -2_000_i32..2_000
        ]
    }

    proptest! {
        #[test]
        fn the_coverage_checks_never_panic(
            beacon_cell in any_cell(), witness_cell in any_cell(),
            frequencies in (extreme_u64(), extreme_u64()),
            powers in (extreme_i32(), extreme_i32(), extreme_i32(), extreme_i32(), extreme_i32()),
            elevation in extreme_i32(),
            times in (extreme_u64(), extreme_u64(), proptest::option::of(extreme_u64())),
            same_ids in any::<(bool, bool)>(),
            so_far in prop_oneof![any::<usize>(), 0_usize..20],
            separation_resolution in any::<u8>(),
        ) {
            let beacon = BeaconFacts {
                beaconer: [1; 20],
                cell: beacon_cell,
                frequency_hz: frequencies.0,
                tx_power_dbm_x10: powers.0,
                antenna_gain_dbi_x10: powers.1,
                elevation_m: elevation,
                timestamp_ms: times.0,
                payload_id: [7; 32],
            };
            let witness = WitnessFacts {
                witness: if same_ids.0 { [1; 20] } else { [2; 20] },
                cell: witness_cell,
                antenna_gain_dbi_x10: powers.2,
                frequency_hz: frequencies.1,
                rssi_dbm_x10: powers.3,
                snr_db_x10: powers.4,
                received_at_ms: times.1,
                payload_id: if same_ids.1 { [7; 32] } else { [9; 32] },
            };
            // Wide-open params so that inputs reach the geometry and the path loss.
            let open = CoverageParams {
                max_witness_distance_m: u64::MAX,
                min_witness_grid_distance: 0,
                min_separation_resolution: separation_resolution,
                max_frequency_difference_hz: u64::MAX,
                max_witness_delay_ms: u64::MAX,
                max_witness_lead_ms: u64::MAX,
                max_delay_after_first_witness_ms: u64::MAX,
                rssi_tolerance_db_x10: i32::MAX,
                min_path_distance_m: u64::MAX,
                min_rssi_dbm_x10: i32::MIN,
                min_snr_db_x10: i32::MIN,
                max_snr_db_x10: i32::MAX,
                min_tx_power_dbm_x10: i32::MIN,
                max_tx_power_dbm_x10: i32::MAX,
                min_antenna_gain_dbi_x10: i32::MIN,
                max_antenna_gain_dbi_x10: i32::MAX,
                min_elevation_m: i32::MIN,
                max_elevation_m: i32::MAX,
                allowed_bands: vec![FrequencyBand::new("all", 0, u64::MAX)],
                ..CoverageParams::default()
            };
            for params in [CoverageParams::default(), open] {
                let _ = check_beacon(&beacon, &params);
                let _ = check_witness(&beacon, &witness, times.2, so_far, &params);
            }
        }

        #[test]
        fn geometry_never_panics_and_distance_is_symmetric(
            a in (any::<i32>(), any::<i32>()), b in (any::<i32>(), any::<i32>()),
            d in any::<u64>(), f in any::<u64>(),
        ) {
            let a = GeoPoint { lat_micro_deg: a.0, lng_micro_deg: a.1 };
            let b = GeoPoint { lat_micro_deg: b.0, lng_micro_deg: b.1 };
            let ab = distance_mm(a, b);
            prop_assert_eq!(ab, distance_mm(b, a));
            // Half the circumference, plus rounding slack.
            prop_assert!(ab <= 20_015_200_000, "{}", ab);
            let _ = free_space_path_loss_nano_db(d, f);
            let _ = free_space_path_loss_db_x10(d, f);
        }
    }
}
