//! `groundwork sim schedule`: the printed schedules match their published sources.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use groundwork_sim::cli::{CapacityArg, ScheduleArgs, ScheduleFormat, schedule_text};

fn args(preset: &str, epochs: u64, step: u64) -> ScheduleArgs {
    ScheduleArgs {
        genesis: None,
        preset: Some(preset.to_string()),
        epochs,
        step,
        format: ScheduleFormat::Csv,
        capacity: CapacityArg::Baseline,
    }
}

fn column(csv: &str, epoch: u64, index: usize) -> f64 {
    csv.lines()
        .skip(1)
        .map(|line| line.split(',').collect::<Vec<_>>())
        .find(|fields| fields[0] == epoch.to_string())
        .map(|fields| fields[index].parse().unwrap())
        .unwrap()
}

const FIL_YEAR: u64 = 1_051_200;

#[test]
fn filecoin_simple_minting_prints_36_27_fil_first_and_half_of_330m_after_six_years() {
    let csv = schedule_text(
        &args("filecoin-simple", 6 * FIL_YEAR, 6 * FIL_YEAR - 1),
        ScheduleFormat::Csv,
    )
    .unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("epoch,emission,cumulative"));
    // 330M · (1 − 2^(−1/6,307,200)) = 36.2662…; exact decimals, 18 places at most.
    let first = lines.next().unwrap();
    assert!(first.starts_with("0,36.26626"), "{first}");
    assert_eq!(first.split(',').nth(1), first.split(',').nth(2));
    // Cumulative up to and including the last epoch of year six: 165M (half of 330M).
    let last = column(&csv, 6 * FIL_YEAR - 1, 2);
    assert!((last - 165_000_000.0).abs() < 1e-6, "{last}");
    assert_eq!(csv.lines().count(), 3);
}

#[test]
fn helium_hnt_prints_its_daily_emission_and_halvings() {
    let csv = schedule_text(&args("helium-hnt", 1_461, 365), ScheduleFormat::Csv).unwrap();
    let emissions: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(1).unwrap())
        .collect();
    // ⌊60,000,000 / 365⌋ HNT a day with 8 decimals, halving at day 730 and day 1,460.
    assert_eq!(
        emissions,
        [
            "164383.56164383",
            "164383.56164383",
            "82191.78082191",
            "82191.78082191",
            "41095.89041095"
        ]
    );
    // Published: 120M HNT in the first two years (less 730 rounded-down base units).
    let two_years = schedule_text(&args("helium-hnt", 730, 729), ScheduleFormat::Csv).unwrap();
    assert_eq!(
        two_years,
        "epoch,emission,cumulative\n0,164383.56164383,164383.56164383\n729,164383.56164383,119999999.9999959\n"
    );
}

#[test]
fn baseline_minting_at_the_baseline_mints_like_1_1b_decaying() {
    // A network exactly at the baseline has θ(t) ≈ t, so both curves decay together: after one
    // year about 1.1B · (1 − 2^(−1/6)) = 120.02M tokens. The `storage` preset has Filecoin's
    // amounts and half-life with day-long epochs (the integral trails by half an epoch).
    let csv = schedule_text(&args("storage", 365, 364), ScheduleFormat::Csv).unwrap();
    let minted = column(&csv, 364, 2);
    let expected = 1.1e9 * (1.0 - 2f64.powf(-1.0 / 6.0));
    assert!(
        (minted - expected).abs() / expected < 1e-3,
        "{minted} vs {expected}"
    );
    let zero_capacity = ScheduleArgs {
        capacity: CapacityArg::Zero,
        ..args("storage", 365, 364)
    };
    let csv = schedule_text(&zero_capacity, ScheduleFormat::Csv).unwrap();
    let simple_only = column(&csv, 364, 2);
    let expected_simple = 330e6 * (1.0 - 2f64.powf(-1.0 / 6.0));
    assert!(
        (simple_only - expected_simple).abs() < 1e-3,
        "{simple_only}"
    );
    // Filecoin's own preset, 30-second epochs: the first epoch mints about 1.1B · ln 2 / (6 years)
    // ≈ 120.9 FIL when the network is at the baseline.
    let csv = schedule_text(&args("filecoin", 2, 1), ScheduleFormat::Csv).unwrap();
    let first = column(&csv, 0, 1);
    let expected = 1.1e9 * std::f64::consts::LN_2 / (6.0 * FIL_YEAR as f64);
    assert!(
        (first - expected).abs() / expected < 1e-3,
        "{first} vs {expected}"
    );
}

#[test]
fn json_output_and_genesis_files_give_the_same_numbers() {
    let json = schedule_text(&args("helium-hnt", 3, 1), ScheduleFormat::Json).unwrap();
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 3);
    assert_eq!(rows[2]["epoch"], 2);
    assert_eq!(rows[2]["cumulative"], "493150.68493149");

    // A genesis-shaped file with the wireless preset's parameters (HNT's schedule).
    let dir = tempfile::tempdir().unwrap();
    let params = groundwork_tokenomics::TokenomicsParams::wireless(8).unwrap();
    let genesis = serde_json::json!({ "chain_id": "x", "params": { "tokenomics": params } });
    let path = dir.path().join("genesis.json");
    std::fs::write(&path, serde_json::to_string(&genesis).unwrap()).unwrap();
    let from_file = ScheduleArgs {
        genesis: Some(path),
        preset: None,
        ..args("", 3, 1)
    };
    assert_eq!(
        schedule_text(&from_file, ScheduleFormat::Json).unwrap(),
        json
    );

    // A scenario file with `[tokenomics] preset = …` works as well.
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, "steps = 1\n[tokenomics]\npreset = \"wireless\"\n").unwrap();
    let from_scenario = ScheduleArgs {
        genesis: Some(path),
        preset: None,
        ..args("", 3, 1)
    };
    assert_eq!(
        schedule_text(&from_scenario, ScheduleFormat::Json).unwrap(),
        json
    );
}
