//! `groundwork sim run` and `groundwork sim schedule`, through the real binary: the files a run
//! writes (PNG charts included), the same bytes for the same seed, and bad input refused with a
//! message naming what was wrong.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

fn groundwork() -> Command {
    Command::new(env!("CARGO_BIN_EXE_groundwork"))
}

fn scenario() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim/scenarios/compute-bme.toml")
}

fn sim_run(out: &Path, extra: &[&str]) -> String {
    let output = groundwork()
        .args(["sim", "run"])
        .arg(scenario())
        .arg("--out")
        .arg(out)
        .args(["--set", "steps=90", "--seed", "4", "--quiet"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_monte_carlo_run_writes_bands_charts_and_a_report_and_repeats_byte_for_byte() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let printed = sim_run(a.path(), &["--runs", "3"]);
    assert!(printed.contains("report:"), "{printed}");
    sim_run(b.path(), &["--runs", "3"]);
    for name in [
        "bands.csv",
        "bands.json",
        "runs.csv",
        "summary.json",
        "report.md",
        "charts/token_price.svg",
        "charts/token_price.png",
        "charts/operators.png",
    ] {
        let first = std::fs::read(a.path().join(name)).unwrap();
        assert!(!first.is_empty(), "{name} is empty");
        assert_eq!(first, std::fs::read(b.path().join(name)).unwrap(), "{name}");
    }
    let png = std::fs::read(a.path().join("charts/token_price.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let report = std::fs::read_to_string(a.path().join("report.md")).unwrap();
    assert!(report.contains("burn/mint") && report.contains("subsidy ratio"));
}

#[test]
fn a_sweep_runs_every_value_and_bad_keys_are_named() {
    let out = tempfile::tempdir().unwrap();
    let printed = sim_run(out.path(), &["--sweep", "emission_scale=0.5,2"]);
    assert_eq!(printed.matches("[emission_scale=").count(), 2, "{printed}");
    assert!(out.path().join("sweep.csv").exists());
    assert!(out.path().join("charts/operators.png").exists());

    let refused = groundwork()
        .args(["sim", "run"])
        .arg(scenario())
        .arg("--out")
        .arg(out.path())
        .args(["--sweep", "no_such_field=1,2", "--quiet"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("no_such_field"), "{message}");
}

#[test]
fn schedule_prints_json_for_a_preset() {
    let output = groundwork()
        .args([
            "sim",
            "schedule",
            "--preset",
            "helium-hnt",
            "--epochs",
            "3",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 3);
}
