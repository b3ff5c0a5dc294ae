//! One epoch's rewards for 1,000,000 devices (wireless preset), timed.
//!
//! Builds a seeded input with realistic report counts: hourly heartbeats (a few devices flaky),
//! four beacons a day with 0–20 witnesses each, a matching number of witness events, paid data
//! transfer for 30% of devices, a few damaged or disqualified reputations, and locations clustered
//! around 2,000 towns so that density scaling has real crowding to work on. Then it runs the
//! emission, pool split, HIP-15 units, HIP-17 density scaling, sharing, and per-device totals
//! five times and prints the median.
//!
//! Run: `cargo bench -p groundwork-tokenomics --bench epoch_rewards`

use std::time::{Duration, Instant};

use groundwork_tokenomics::{
    CapacityIntegral, DeviceActivity, EpochFunds, Fixed, TokenomicsParams, compute_epoch_rewards,
};
use h3o::{LatLng, Resolution};

const DEVICES: u64 = 1_000_000;
const TOWNS: u64 = 2_000;
const RUNS: usize = 5;

/// SplitMix64: a tiny seeded generator, so the input is the same on every run and machine.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn device_key(index: u64) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&index.to_be_bytes());
    key[8..16].copy_from_slice(&index.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    key
}

fn build_devices(rng: &mut SplitMix) -> Vec<DeviceActivity<[u8; 32]>> {
    let towns: Vec<(f64, f64)> = (0..TOWNS)
        .map(|_| (rng.unit() * 120.0 - 55.0, rng.unit() * 340.0 - 170.0))
        .collect();
    (0..DEVICES)
        .map(|index| {
            let mut device = DeviceActivity::new(device_key(index));
            let (lat, lng) = towns[rng.below(TOWNS) as usize];
            // Within about ±10 km of the town centre; some devices pile onto the same spot.
            let spread = if rng.below(10) == 0 { 0.0005 } else { 0.1 };
            let lat = lat + (rng.unit() - 0.5) * spread;
            let lng = lng + (rng.unit() - 0.5) * spread;
            device.location = LatLng::new(lat, lng)
                .ok()
                .map(|point| point.to_cell(Resolution::Twelve));
            device.heartbeats = if rng.below(20) == 0 {
                rng.below(20) as u32
            } else {
                24
            };
            device.beacons = (0..4).map(|_| rng.below(21) as u32).collect();
            let witnessed = rng.below(80) as usize / 2;
            device.witnessed = (0..witnessed).map(|_| 1 + rng.below(20) as u32).collect();
            if rng.below(10) < 3 {
                device.data_credits = u128::from(rng.below(1_000_000));
            }
            device.reputation = match rng.below(200) {
                0 => Fixed::ZERO,
                1..=5 => Fixed::from_bps(9_600 + rng.below(400) as u32),
                _ => Fixed::ONE,
            };
            device
        })
        .collect()
}

fn main() {
    let params = match TokenomicsParams::wireless(8) {
        Ok(params) => params,
        Err(error) => {
            eprintln!("the wireless preset is invalid: {error}");
            std::process::exit(1);
        }
    };
    let mut rng = SplitMix(0x6772_6f75_6e64_776b);
    let build_start = Instant::now();
    let devices = build_devices(&mut rng);
    let reports: usize = devices
        .iter()
        .map(|d| 1 + d.beacons.len() + d.witnessed.len())
        .sum();
    println!(
        "built {} devices ({} aggregated report entries, {} heartbeats) in {:.2?}",
        devices.len(),
        reports,
        devices.iter().map(|d| u64::from(d.heartbeats)).sum::<u64>(),
        build_start.elapsed()
    );

    let mut timings: Vec<Duration> = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let start = Instant::now();
        let epoch = 400 + run as u64;
        let result = params
            .emission
            .emission_for_epoch(epoch, CapacityIntegral::NONE)
            .and_then(|emission| {
                let funds = EpochFunds {
                    emission: emission.amount,
                    carried_in: 0,
                };
                compute_epoch_rewards(&params, epoch, funds, &devices)
            });
        let rewards = match result {
            Ok(rewards) => rewards,
            Err(error) => {
                eprintln!("epoch {epoch} failed: {error}");
                std::process::exit(1);
            }
        };
        let totals = rewards.device_totals();
        let elapsed = start.elapsed();
        timings.push(elapsed);
        println!(
            "run {}: {:.3?} — paid {} base units to {} devices, unclaimed {}, dust {}, balanced {}",
            run + 1,
            elapsed,
            rewards.total_paid(),
            totals.len(),
            rewards.unclaimed,
            rewards.rounding,
            rewards.is_balanced()
        );
    }
    // Where the time goes: density scaling (HIP-17 over every coverage device) on its own.
    let locations: Vec<_> = devices.iter().map(|d| d.location).collect();
    let density_start = Instant::now();
    let scaled = params
        .density
        .scales(&locations)
        .map(|s| s.len())
        .unwrap_or(0);
    println!(
        "of which HIP-17 density scaling of {scaled} devices alone: {:.3?}",
        density_start.elapsed()
    );
    timings.sort();
    println!(
        "epoch_rewards: median of {RUNS} runs for {DEVICES} devices: {:.3?} (min {:.3?}, max {:.3?}) on {} threads",
        timings[RUNS / 2],
        timings[0],
        timings[RUNS - 1],
        rayon::current_num_threads()
    );
}
