//! Determinism: the same scenario and seed write byte-identical files; another seed does not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use groundwork_sim::Scenario;
use groundwork_sim::ensemble::{Sweep, run_variants, variants};
use groundwork_sim::output::{write_ensemble, write_sweep};

fn scenario() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/compute-bme.toml");
    Scenario::load(&path)
        .unwrap()
        .with_override("steps", "400")
        .unwrap()
        .scaled(0.1)
}

fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap().to_path_buf();
                out.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn write_runs(dir: &Path, scenario: &Scenario, seed: u64, runs: u32) {
    let variants = variants(scenario, &[]).unwrap();
    let ensembles = run_variants(&variants, seed, runs, &|_| {}).unwrap();
    write_ensemble(dir, &ensembles[0], seed).unwrap();
}

#[test]
fn the_same_seed_writes_the_same_bytes() {
    let scenario = scenario();
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    write_runs(a.path(), &scenario, 11, 1);
    write_runs(b.path(), &scenario, 11, 1);
    write_runs(c.path(), &scenario, 12, 1);
    let (first, second, other) = (files(a.path()), files(b.path()), files(c.path()));
    for name in [
        "timeseries.csv",
        "timeseries.json",
        "summary.json",
        "report.md",
        "charts/token_price.svg",
        "charts/token_price.png",
    ] {
        assert!(first.contains_key(Path::new(name)), "{name} missing");
    }
    assert_eq!(first, second);
    assert_ne!(
        first[Path::new("timeseries.csv")],
        other[Path::new("timeseries.csv")]
    );
}

#[test]
fn monte_carlo_bands_and_sweeps_are_byte_identical_too() {
    let scenario = scenario().with_override("steps", "120").unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_runs(a.path(), &scenario, 5, 4);
    write_runs(b.path(), &scenario, 5, 4);
    let first = files(a.path());
    assert!(first.contains_key(Path::new("bands.csv")));
    assert!(first.contains_key(Path::new("runs.csv")));
    assert!(first.contains_key(Path::new("charts/operators.png")));
    assert_eq!(first, files(b.path()));
    // runs.csv lists seeds 5, 6, 7, 8.
    let runs = String::from_utf8(first[Path::new("runs.csv")].clone()).unwrap();
    let seeds: Vec<&str> = runs
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(seeds, ["5", "6", "7", "8"]);

    let sweep = [Sweep::parse("emission_scale=0.05,0.2").unwrap()];
    let (c, d) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [c.path(), d.path()] {
        let variants = variants(&scenario, &sweep).unwrap();
        let ensembles = run_variants(&variants, 5, 2, &|_| {}).unwrap();
        write_sweep(dir, &ensembles, 5).unwrap();
    }
    let swept = files(c.path());
    assert!(swept.contains_key(Path::new("sweep.csv")));
    assert!(swept.contains_key(Path::new("01-emission_scale=0.05/bands.csv")));
    assert_eq!(swept, files(d.path()));
}

#[test]
fn the_number_of_threads_does_not_change_a_run() {
    // Enough operators for several parallel chunks.
    let scenario = scenario()
        .with_override("steps", "12")
        .unwrap()
        .with_override("device_kinds.0.max_operators", "200000")
        .unwrap()
        .with_override("device_kinds.0.initial_operators", "150000")
        .unwrap();
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| groundwork_sim::run(&scenario, 3).unwrap())
    };
    let one = on(1);
    assert!(one.rows[0].operators >= 150_000);
    assert_eq!(one, on(3));
}
