//! Writing a run, an ensemble or a sweep to a folder: CSV and JSON time series, SVG and PNG
//! charts and a markdown report.
//!
//! One run (`--runs 1`) writes `timeseries.csv`, `timeseries.json`, `summary.json`,
//! `report.md` and `charts/*.svg` plus `charts/*.png`. Several runs write `bands.csv` and
//! `bands.json` (p10, median and p90 per step), `runs.csv` (one line of headline numbers per seed), `summary.json`,
//! `report.md` and charts with the bands shaded. A sweep writes one such folder per variant and
//! `sweep.csv` plus overlay charts at the top. Every file is a pure function of the scenario
//! and the seed: the same inputs give the same bytes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::chart::{Band, Chart, Series, compact};
use crate::engine::{Outcome, StepRow};
use crate::ensemble::{BAND_METRICS, Ensemble, Percentiles, percentiles};
use crate::error::{Result, SimError};
use crate::metrics::{Summary, YearMetrics};

/// A column of the time series.
struct Column {
    name: &'static str,
    read: fn(&StepRow) -> f64,
}

const COLUMNS: &[Column] = &[
    Column {
        name: "step",
        read: |r| f64::from(r.step),
    },
    Column {
        name: "day",
        read: |r| f64::from(r.day),
    },
    Column {
        name: "operators",
        read: |r| r.operators as f64,
    },
    Column {
        name: "joined",
        read: |r| r.joined as f64,
    },
    Column {
        name: "left",
        read: |r| r.left as f64,
    },
    Column {
        name: "capacity",
        read: |r| r.capacity,
    },
    Column {
        name: "coverage",
        read: |r| r.coverage,
    },
    Column {
        name: "demand",
        read: |r| r.demand,
    },
    Column {
        name: "served",
        read: |r| r.served,
    },
    Column {
        name: "service_price_usd",
        read: |r| r.service_price_usd,
    },
    Column {
        name: "revenue_usd",
        read: |r| r.revenue_usd,
    },
    Column {
        name: "fees_to_operators_usd",
        read: |r| r.fees_to_operators_usd,
    },
    Column {
        name: "token_price_usd",
        read: |r| r.token_price_usd,
    },
    Column {
        name: "supply",
        read: |r| r.supply,
    },
    Column {
        name: "minted",
        read: |r| r.minted,
    },
    Column {
        name: "reminted",
        read: |r| r.reminted,
    },
    Column {
        name: "burned",
        read: |r| r.burned,
    },
    Column {
        name: "rewards",
        read: |r| r.rewards,
    },
    Column {
        name: "treasury",
        read: |r| r.treasury,
    },
    Column {
        name: "operator_income_usd",
        read: |r| r.operator_income_usd,
    },
    Column {
        name: "operator_costs_usd",
        read: |r| r.operator_costs_usd,
    },
    Column {
        name: "operator_profit_usd",
        read: |r| r.operator_profit_usd,
    },
    Column {
        name: "profitable_share",
        read: |r| r.profitable_share,
    },
    Column {
        name: "paid_back_share",
        read: |r| r.paid_back_share,
    },
    Column {
        name: "market_cap_usd",
        read: |r| r.market_cap_usd,
    },
];

fn number(value: f64) -> String {
    if !value.is_finite() {
        String::new()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

fn write(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).map_err(|source| SimError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn write_bytes(path: &Path, contents: &[u8]) -> Result<()> {
    std::fs::write(path, contents).map_err(|source| SimError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Write `charts/NAME.svg` and `charts/NAME.png`.
fn write_chart(charts: &Path, name: &str, chart: &Chart) -> Result<()> {
    write(&charts.join(format!("{name}.svg")), &chart.to_svg())?;
    write_bytes(&charts.join(format!("{name}.png")), &chart.to_png()?)
}

fn make_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|source| SimError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn json<T: Serialize>(value: &T) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

/// The time series as CSV.
pub fn timeseries_csv(outcome: &Outcome) -> String {
    let mut csv = COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>().join(",");
    csv.push('\n');
    for row in &outcome.rows {
        let line: Vec<String> = COLUMNS.iter().map(|c| number((c.read)(row))).collect();
        csv.push_str(&line.join(","));
        csv.push('\n');
    }
    csv
}

fn ratio_text(value: Option<f64>) -> String {
    value.map_or("–".into(), |v| format!("{v:.2}"))
}

fn percent_text(value: Option<f64>) -> String {
    value.map_or("–".into(), |v| format!("{:.1}%", v * 100.0))
}

fn days_text(value: Option<f64>) -> String {
    value.map_or("never".into(), |v| format!("{v:.0}"))
}

fn year_table(years: &[YearMetrics]) -> String {
    let mut table = String::from(
        "| year | operators (end) | price (end, USD) | minted | burned | burn/mint | net emissions | net inflation | revenue (USD) | emission value (USD) | subsidy ratio | cost coverage | payback (days) | churn |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for y in years {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            y.year,
            compact(y.operators_end as f64),
            compact(y.price_end),
            compact(y.minted),
            compact(y.burned),
            ratio_text(y.burn_to_mint),
            compact(y.net_emissions),
            percent_text(y.net_inflation),
            compact(y.revenue_usd),
            compact(y.emission_value_usd),
            ratio_text(y.subsidy_ratio),
            ratio_text(y.cost_coverage),
            days_text(y.payback_days),
            percent_text(y.churn),
        );
    }
    table
}

const METRIC_NOTES: &str = "Burn/mint: tokens burned ÷ minted. Net inflation: (minted − burned) ÷ supply at the start of the year. Subsidy ratio: value of the tokens minted ÷ what users paid (above 1: subsidy-driven). Cost coverage: operators' income (rewards at market value + direct fees) ÷ operating costs. Payback: hardware cost ÷ a device's mean net daily income. Churn: operators who left in the year ÷ mean operators.\n";

fn header(out: &mut String, ensemble: &Ensemble, seed: u64) {
    let scenario = &ensemble.scenario;
    let title = if scenario.name.is_empty() {
        "scenario"
    } else {
        &scenario.name
    };
    let _ = writeln!(out, "# {title}: simulation report\n");
    if !scenario.description.is_empty() {
        let _ = writeln!(out, "{}\n", scenario.description.trim());
    }
    if !ensemble.label.is_empty() {
        let _ = writeln!(out, "Sweep values: `{}`.\n", ensemble.label);
    }
    let days = u64::from(scenario.steps) * u64::from(scenario.step_days);
    let _ = writeln!(
        out,
        "{} run(s) from seed {seed}; {} steps of {} day(s) ({:.1} years); reward engine `{:?}`; {} device kind(s), up to {} operators.\n",
        ensemble.runs.len(),
        scenario.steps,
        scenario.step_days,
        days as f64 / 365.0,
        scenario.engine,
        scenario.device_kinds.len(),
        compact(
            scenario
                .device_kinds
                .iter()
                .map(|k| k.max_operators)
                .sum::<u64>() as f64
        ),
    );
}

/// The report of one run.
pub fn single_report(ensemble: &Ensemble, seed: u64) -> String {
    let mut out = String::new();
    header(&mut out, ensemble, seed);
    let Some(run) = ensemble.runs.first() else {
        return out;
    };
    let s = &run.summary;
    let _ = writeln!(out, "## Verdict\n\n{}\n", s.verdict);
    let _ = writeln!(out, "## Year by year\n\n{}", year_table(&s.years));
    let _ = writeln!(out, "{METRIC_NOTES}");
    let _ = writeln!(
        out,
        "## Operators\n\nPeak {} operators, {} at the end. {:.1}% of all operators ever online earned back their hardware; those who did took a median of {} days.\n",
        compact(s.peak_operators as f64),
        compact(s.final_operators as f64),
        s.paid_back_share_of_all * 100.0,
        s.median_realised_payback_days
            .map_or("–".to_string(), |d| d.to_string()),
    );
    let _ = writeln!(
        out,
        "## Token\n\nPeak price {} USD, final {} USD.\n",
        compact(s.peak_price_usd),
        compact(s.final_price_usd)
    );
    out.push_str("## Files\n\n`timeseries.csv`, `timeseries.json` (every step), `summary.json` (these metrics), `charts/*.svg` and `charts/*.png`.\n");
    out
}

fn median_of(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let mut present: Vec<f64> = values.flatten().collect();
    (!present.is_empty()).then(|| percentiles(&mut present).median)
}

/// Median, across runs, of each year's metrics.
fn median_years(ensemble: &Ensemble) -> Vec<YearMetrics> {
    let years = ensemble
        .runs
        .iter()
        .map(|r| r.summary.years.len())
        .min()
        .unwrap_or(0);
    (0..years)
        .map(|y| {
            let all: Vec<&YearMetrics> =
                ensemble.runs.iter().map(|r| &r.summary.years[y]).collect();
            let med = |f: fn(&YearMetrics) -> Option<f64>| median_of(all.iter().map(|m| f(m)));
            YearMetrics {
                year: y as u32 + 1,
                minted: med(|m| Some(m.minted)).unwrap_or(0.0),
                burned: med(|m| Some(m.burned)).unwrap_or(0.0),
                burn_to_mint: med(|m| m.burn_to_mint),
                net_emissions: med(|m| Some(m.net_emissions)).unwrap_or(0.0),
                net_inflation: med(|m| m.net_inflation),
                revenue_usd: med(|m| Some(m.revenue_usd)).unwrap_or(0.0),
                emission_value_usd: med(|m| Some(m.emission_value_usd)).unwrap_or(0.0),
                subsidy_ratio: med(|m| m.subsidy_ratio),
                cost_coverage: med(|m| m.cost_coverage),
                payback_days: med(|m| m.payback_days),
                churn: med(|m| m.churn),
                operators_end: med(|m| Some(m.operators_end as f64)).unwrap_or(0.0) as u64,
                price_end: med(|m| Some(m.price_end)).unwrap_or(0.0),
            }
        })
        .collect()
}

/// Headline numbers of an ensemble.
#[derive(Clone, Debug, Serialize)]
pub struct EnsembleSummary {
    /// Runs.
    pub runs: usize,
    /// Runs value-driven at the end.
    pub value_driven_runs: usize,
    /// Median day from which those runs stay value-driven.
    pub median_value_driven_from_day: Option<f64>,
    /// Runs ending in a death spiral.
    pub death_spiral_runs: usize,
    /// Median of each year's metrics across runs.
    pub median_years: Vec<YearMetrics>,
    /// A sentence for people.
    pub verdict: String,
}

/// Summarise an ensemble.
pub fn ensemble_summary(ensemble: &Ensemble) -> EnsembleSummary {
    let runs = ensemble.runs.len();
    let value_days: Vec<Option<f64>> = ensemble
        .runs
        .iter()
        .map(|r| {
            r.summary
                .value_driven_from_day
                .filter(|_| r.summary.value_driven)
                .map(f64::from)
        })
        .collect();
    let value_driven_runs = value_days.iter().flatten().count();
    let median_value_driven_from_day = median_of(value_days.into_iter());
    let death_spiral_runs = ensemble
        .runs
        .iter()
        .filter(|r| r.summary.death_spiral)
        .count();
    let mut verdict = format!("Value-driven by the end in {value_driven_runs} of {runs} runs");
    if let Some(day) = median_value_driven_from_day {
        let _ = write!(
            verdict,
            " (median: from day {day:.0}, year {:.1})",
            day / 365.0
        );
    }
    let _ = write!(
        verdict,
        "; death spiral in {death_spiral_runs} of {runs} runs."
    );
    EnsembleSummary {
        runs,
        value_driven_runs,
        median_value_driven_from_day,
        death_spiral_runs,
        median_years: median_years(ensemble),
        verdict,
    }
}

/// The report of several runs.
pub fn ensemble_report(ensemble: &Ensemble, seed: u64, summary: &EnsembleSummary) -> String {
    let mut out = String::new();
    header(&mut out, ensemble, seed);
    let _ = writeln!(out, "## Verdict\n\n{}\n", summary.verdict);
    let _ = writeln!(
        out,
        "## Year by year (median across runs)\n\n{}",
        year_table(&summary.median_years)
    );
    let _ = writeln!(out, "{METRIC_NOTES}");
    out.push_str("## Files\n\n`bands.csv`, `bands.json` (p10, median, p90 per step), `runs.csv` (one line per seed; run `i` used seed `S + i`), `summary.json`, `charts/*.svg` and `charts/*.png` (median with the p10–p90 band).\n");
    out
}

/// The charts drawn for each run or ensemble: (file, title, y label, metric names).
const CHARTS: &[(&str, &str, &str, &[&str])] = &[
    ("operators", "Operators", "operators", &["operators"]),
    ("token_price", "Token price", "USD", &["token_price_usd"]),
    ("supply", "Supply, minted and burned", "tokens", &["supply"]),
    (
        "mint_burn",
        "Minted and burned per step",
        "tokens",
        &["minted", "burned"],
    ),
    (
        "demand",
        "Demand and service served",
        "service units",
        &["demand", "served"],
    ),
    ("revenue", "Revenue per step", "USD", &["revenue_usd"]),
    (
        "operator_profit",
        "Operators' profit per step",
        "USD",
        &["operator_profit_usd"],
    ),
];

fn x_of(row: &StepRow) -> f64 {
    f64::from(row.day)
}

fn read_metric(name: &str) -> Option<fn(&StepRow) -> f64> {
    COLUMNS.iter().find(|c| c.name == name).map(|c| c.read)
}

fn single_charts(dir: &Path, outcome: &Outcome) -> Result<()> {
    let charts = dir.join("charts");
    make_dir(&charts)?;
    for (file, title, y_label, metrics) in CHARTS {
        let series = metrics
            .iter()
            .filter_map(|name| {
                read_metric(name).map(|read| Series {
                    name: (*name).to_string(),
                    points: outcome.rows.iter().map(|r| (x_of(r), read(r))).collect(),
                })
            })
            .collect();
        let chart = Chart {
            title: (*title).to_string(),
            x_label: "day".into(),
            y_label: (*y_label).to_string(),
            series,
            bands: Vec::new(),
        };
        write_chart(&charts, file, &chart)?;
    }
    Ok(())
}

fn band_charts(dir: &Path, ensemble: &Ensemble, bands: &[Vec<Percentiles>]) -> Result<()> {
    let charts = dir.join("charts");
    make_dir(&charts)?;
    let days: Vec<f64> = ensemble
        .runs
        .first()
        .map(|r| r.outcome.rows.iter().map(x_of).collect())
        .unwrap_or_default();
    for (file, title, y_label, metrics) in CHARTS {
        let mut chart = Chart {
            title: format!("{title} (median, p10–p90)"),
            x_label: "day".into(),
            y_label: (*y_label).to_string(),
            ..Chart::default()
        };
        for (colour, name) in metrics.iter().enumerate() {
            let Some(index) = BAND_METRICS.iter().position(|m| m.name == *name) else {
                continue;
            };
            chart.series.push(Series {
                name: format!("{name} (median)"),
                points: days
                    .iter()
                    .zip(bands)
                    .map(|(d, b)| (*d, b[index].median))
                    .collect(),
            });
            chart.bands.push(Band {
                name: format!("{name} p10–p90"),
                points: days
                    .iter()
                    .zip(bands)
                    .map(|(d, b)| (*d, b[index].p10, b[index].p90))
                    .collect(),
                colour,
            });
        }
        write_chart(&charts, file, &chart)?;
    }
    Ok(())
}

#[derive(Serialize)]
struct TimeseriesJson<'a> {
    scenario: &'a str,
    seed: u64,
    step_days: u32,
    rows: &'a [StepRow],
}

#[derive(Serialize)]
struct BandsJson<'a> {
    scenario: &'a str,
    first_seed: u64,
    runs: usize,
    metrics: Vec<&'static str>,
    days: Vec<u32>,
    bands: &'a [Vec<Percentiles>],
}

/// Write one ensemble (one or more runs of one scenario variant) to `dir`.
pub fn write_ensemble(dir: &Path, ensemble: &Ensemble, seed: u64) -> Result<PathBuf> {
    make_dir(dir)?;
    let report_path = dir.join("report.md");
    if let [run] = ensemble.runs.as_slice() {
        write(&dir.join("timeseries.csv"), &timeseries_csv(&run.outcome))?;
        write(
            &dir.join("timeseries.json"),
            &json(&TimeseriesJson {
                scenario: &run.outcome.scenario,
                seed: run.outcome.seed,
                step_days: run.outcome.step_days,
                rows: &run.outcome.rows,
            })?,
        )?;
        write(&dir.join("summary.json"), &json::<Summary>(&run.summary)?)?;
        write(&report_path, &single_report(ensemble, seed))?;
        single_charts(dir, &run.outcome)?;
        return Ok(report_path);
    }
    let bands = ensemble.bands();
    let mut csv = String::from("step,day");
    for metric in BAND_METRICS {
        let _ = write!(csv, ",{0}_p10,{0}_median,{0}_p90", metric.name);
    }
    csv.push('\n');
    let rows = ensemble
        .runs
        .first()
        .map(|r| r.outcome.rows.as_slice())
        .unwrap_or(&[]);
    for (row, band) in rows.iter().zip(&bands) {
        let _ = write!(csv, "{},{}", row.step, row.day);
        for p in band {
            let _ = write!(
                csv,
                ",{},{},{}",
                number(p.p10),
                number(p.median),
                number(p.p90)
            );
        }
        csv.push('\n');
    }
    write(&dir.join("bands.csv"), &csv)?;
    write(
        &dir.join("bands.json"),
        &json(&BandsJson {
            scenario: &ensemble.scenario.name,
            first_seed: seed,
            runs: ensemble.runs.len(),
            metrics: BAND_METRICS.iter().map(|m| m.name).collect(),
            days: rows.iter().map(|r| r.day).collect(),
            bands: &bands,
        })?,
    )?;
    let mut runs_csv = String::from(
        "seed,value_driven,value_driven_from_day,first_value_driven_day,death_spiral,peak_operators,final_operators,peak_price_usd,final_price_usd,final_year_burn_to_mint,final_year_subsidy_ratio,final_year_cost_coverage\n",
    );
    for run in &ensemble.runs {
        let s = &run.summary;
        let last = s.years.last();
        let optional = |v: Option<f64>| v.map_or(String::new(), number);
        let _ = writeln!(
            runs_csv,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            run.outcome.seed,
            s.value_driven,
            s.value_driven_from_day
                .map_or(String::new(), |d| d.to_string()),
            s.first_value_driven_day
                .map_or(String::new(), |d| d.to_string()),
            s.death_spiral,
            s.peak_operators,
            s.final_operators,
            number(s.peak_price_usd),
            number(s.final_price_usd),
            optional(last.and_then(|y| y.burn_to_mint)),
            optional(last.and_then(|y| y.subsidy_ratio)),
            optional(last.and_then(|y| y.cost_coverage)),
        );
    }
    write(&dir.join("runs.csv"), &runs_csv)?;
    let summary = ensemble_summary(ensemble);
    write(&dir.join("summary.json"), &json(&summary)?)?;
    write(&report_path, &ensemble_report(ensemble, seed, &summary))?;
    band_charts(dir, ensemble, &bands)?;
    Ok(report_path)
}

/// A folder name for a sweep variant.
fn variant_folder(index: usize, label: &str) -> String {
    let safe: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "=._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{:02}-{safe}", index + 1)
}

/// Write a sweep: one folder per variant, `sweep.csv` and overlay charts of the medians.
pub fn write_sweep(dir: &Path, ensembles: &[Ensemble], seed: u64) -> Result<PathBuf> {
    make_dir(dir)?;
    let mut csv = String::from(
        "variant,folder,runs,value_driven_runs,median_value_driven_from_day,death_spiral_runs,final_year_median_burn_to_mint,final_year_median_subsidy_ratio,final_year_median_cost_coverage,final_median_operators,final_median_price_usd\n",
    );
    let mut report = String::from(
        "# Sweep\n\n| variant | value-driven runs | median value-driven from day | death spirals | final-year burn/mint | final-year subsidy ratio | final-year cost coverage |\n|---|---|---|---|---|---|---|\n",
    );
    let mut operators_chart = Chart {
        title: "Operators by variant (median)".into(),
        x_label: "day".into(),
        y_label: "operators".into(),
        ..Chart::default()
    };
    let mut price_chart = Chart {
        title: "Token price by variant (median)".into(),
        x_label: "day".into(),
        y_label: "USD".into(),
        ..Chart::default()
    };
    for (index, ensemble) in ensembles.iter().enumerate() {
        let folder = variant_folder(index, &ensemble.label);
        write_ensemble(&dir.join(&folder), ensemble, seed)?;
        let summary = ensemble_summary(ensemble);
        let last = summary.median_years.last();
        let optional = |v: Option<f64>| v.map_or(String::new(), number);
        let _ = writeln!(
            csv,
            "\"{}\",{folder},{},{},{},{},{},{},{},{},{}",
            ensemble.label,
            summary.runs,
            summary.value_driven_runs,
            optional(summary.median_value_driven_from_day),
            summary.death_spiral_runs,
            optional(last.and_then(|y| y.burn_to_mint)),
            optional(last.and_then(|y| y.subsidy_ratio)),
            optional(last.and_then(|y| y.cost_coverage)),
            last.map_or(String::new(), |y| y.operators_end.to_string()),
            last.map_or(String::new(), |y| number(y.price_end)),
        );
        let _ = writeln!(
            report,
            "| `{}` | {}/{} | {} | {} | {} | {} | {} |",
            ensemble.label,
            summary.value_driven_runs,
            summary.runs,
            summary
                .median_value_driven_from_day
                .map_or("–".into(), |d| format!("{d:.0}")),
            summary.death_spiral_runs,
            ratio_text(last.and_then(|y| y.burn_to_mint)),
            ratio_text(last.and_then(|y| y.subsidy_ratio)),
            ratio_text(last.and_then(|y| y.cost_coverage)),
        );
        let bands = ensemble.bands();
        let days: Vec<f64> = ensemble
            .runs
            .first()
            .map(|r| r.outcome.rows.iter().map(x_of).collect())
            .unwrap_or_default();
        let median = |name: &str| -> Vec<(f64, f64)> {
            let index = BAND_METRICS
                .iter()
                .position(|m| m.name == name)
                .unwrap_or(0);
            days.iter()
                .zip(&bands)
                .map(|(d, b)| (*d, b[index].median))
                .collect()
        };
        operators_chart.series.push(Series {
            name: ensemble.label.clone(),
            points: median("operators"),
        });
        price_chart.series.push(Series {
            name: ensemble.label.clone(),
            points: median("token_price_usd"),
        });
    }
    write(&dir.join("sweep.csv"), &csv)?;
    let report_path = dir.join("report.md");
    write(&report_path, &report)?;
    let charts = dir.join("charts");
    make_dir(&charts)?;
    write_chart(&charts, "operators", &operators_chart)?;
    write_chart(&charts, "token_price", &price_chart)?;
    Ok(report_path)
}
