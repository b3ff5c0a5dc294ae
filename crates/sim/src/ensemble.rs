//! Monte Carlo runs and parameter sweeps, in parallel, with summary bands.
//!
//! Run `i` of `N` uses seed `S + i`, so any single run can be reproduced with `--seed S+i`.
//! Runs and sweep variants are independent jobs spread over the cores by rayon; results are
//! collected in job order, so the outputs do not depend on scheduling.

use rayon::prelude::*;
use serde::Serialize;

use crate::engine::{Outcome, StepRow, run_with_progress};
use crate::error::{Result, SimError};
use crate::metrics::{Summary, summarise};
use crate::scenario::Scenario;

/// A per-step quantity that bands summarise.
pub struct BandMetric {
    /// Column name.
    pub name: &'static str,
    /// How to read it from a row.
    pub read: fn(&StepRow) -> f64,
}

/// The quantities summarised across runs.
pub const BAND_METRICS: &[BandMetric] = &[
    BandMetric {
        name: "operators",
        read: |r| r.operators as f64,
    },
    BandMetric {
        name: "capacity",
        read: |r| r.capacity,
    },
    BandMetric {
        name: "demand",
        read: |r| r.demand,
    },
    BandMetric {
        name: "served",
        read: |r| r.served,
    },
    BandMetric {
        name: "revenue_usd",
        read: |r| r.revenue_usd,
    },
    BandMetric {
        name: "token_price_usd",
        read: |r| r.token_price_usd,
    },
    BandMetric {
        name: "supply",
        read: |r| r.supply,
    },
    BandMetric {
        name: "minted",
        read: |r| r.minted,
    },
    BandMetric {
        name: "burned",
        read: |r| r.burned,
    },
    BandMetric {
        name: "operator_profit_usd",
        read: |r| r.operator_profit_usd,
    },
    BandMetric {
        name: "market_cap_usd",
        read: |r| r.market_cap_usd,
    },
];

/// Percentiles of one quantity at one step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// 10th percentile.
    pub p10: f64,
    /// Median.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
}

/// `q`-quantile of sorted values, linearly interpolated.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let position = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let below = position.floor() as usize;
            let above = (below + 1).min(n - 1);
            let weight = position - below as f64;
            sorted[below] * (1.0 - weight) + sorted[above] * weight
        }
    }
}

/// Percentiles of a set of values.
pub fn percentiles(values: &mut [f64]) -> Percentiles {
    values.sort_by(f64::total_cmp);
    Percentiles {
        p10: quantile(values, 0.1),
        median: quantile(values, 0.5),
        p90: quantile(values, 0.9),
    }
}

/// One run's outcome and its summary.
#[derive(Clone, Debug)]
pub struct Run {
    /// The time series.
    pub outcome: Outcome,
    /// Its metrics and verdict.
    pub summary: Summary,
}

/// Several runs of one scenario.
#[derive(Clone, Debug)]
pub struct Ensemble {
    /// The scenario (with any sweep values applied).
    pub scenario: Scenario,
    /// The sweep values that made this variant, `key=value` (empty without a sweep).
    pub label: String,
    /// The runs, in seed order.
    pub runs: Vec<Run>,
}

impl Ensemble {
    /// Per step, percentiles of every [`BAND_METRICS`] quantity across runs.
    pub fn bands(&self) -> Vec<Vec<Percentiles>> {
        let steps = self
            .runs
            .iter()
            .map(|r| r.outcome.rows.len())
            .min()
            .unwrap_or(0);
        (0..steps)
            .map(|step| {
                BAND_METRICS
                    .iter()
                    .map(|metric| {
                        let mut values: Vec<f64> = self
                            .runs
                            .iter()
                            .map(|run| (metric.read)(&run.outcome.rows[step]))
                            .collect();
                        percentiles(&mut values)
                    })
                    .collect()
            })
            .collect()
    }
}

/// A parsed `--sweep KEY=V1,V2,…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sweep {
    /// Dotted path in the scenario.
    pub key: String,
    /// The values to try, as written.
    pub values: Vec<String>,
}

impl Sweep {
    /// Parse `KEY=V1,V2,…`.
    pub fn parse(text: &str) -> Result<Sweep> {
        let (key, values) = text
            .split_once('=')
            .ok_or_else(|| SimError::Sweep(text.to_string()))?;
        let values: Vec<String> = values
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        if key.trim().is_empty() || values.is_empty() {
            return Err(SimError::Sweep(text.to_string()));
        }
        Ok(Sweep {
            key: key.trim().to_string(),
            values,
        })
    }
}

/// Every combination of the sweeps' values applied to the scenario, with its label.
pub fn variants(scenario: &Scenario, sweeps: &[Sweep]) -> Result<Vec<(String, Scenario)>> {
    let mut variants = vec![(String::new(), scenario.clone())];
    for sweep in sweeps {
        let mut next = Vec::with_capacity(variants.len() * sweep.values.len());
        for (label, base) in &variants {
            for value in &sweep.values {
                let changed = base.with_override(&sweep.key, value)?;
                let label = if label.is_empty() {
                    format!("{}={value}", sweep.key)
                } else {
                    format!("{label},{}={value}", sweep.key)
                };
                next.push((label, changed));
            }
        }
        variants = next;
    }
    Ok(variants)
}

/// Run `runs` seeds (`seed`, `seed + 1`, …) of every variant, in parallel.
pub fn run_variants(
    variants: &[(String, Scenario)],
    seed: u64,
    runs: u32,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Ensemble>> {
    let runs = runs.max(1);
    let jobs: Vec<(usize, u64)> = (0..variants.len())
        .flat_map(|variant| (0..runs).map(move |i| (variant, seed.wrapping_add(u64::from(i)))))
        .collect();
    let job = |(variant, seed): &(usize, u64)| {
        let scenario = &variants[*variant].1;
        let outcome = run_with_progress(scenario, *seed, progress)?;
        let summary = summarise(&outcome);
        Ok(Run { outcome, summary })
    };
    // One job runs on the calling thread: no thread pool to start and nobody to hand it to.
    let results: Vec<Result<Run>> = if jobs.len() > 1 {
        jobs.par_iter().map(job).collect()
    } else {
        jobs.iter().map(job).collect()
    };
    let mut ensembles: Vec<Ensemble> = variants
        .iter()
        .map(|(label, scenario)| Ensemble {
            scenario: scenario.clone(),
            label: label.clone(),
            runs: Vec::with_capacity(runs as usize),
        })
        .collect();
    for ((variant, _), result) in jobs.iter().zip(results) {
        ensembles[*variant].runs.push(result?);
    }
    Ok(ensembles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_ranks() {
        let mut values = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        let p = percentiles(&mut values);
        assert_eq!(p.median, 3.0);
        assert!((p.p10 - 1.4).abs() < 1e-12);
        assert!((p.p90 - 4.6).abs() < 1e-12);
    }

    #[test]
    fn sweeps_parse_and_reject_nonsense() {
        let sweep = Sweep::parse("emission_scale=0.5, 1,2").unwrap();
        assert_eq!(sweep.key, "emission_scale");
        assert_eq!(sweep.values, vec!["0.5", "1", "2"]);
        assert!(Sweep::parse("no-equals").is_err());
        assert!(Sweep::parse("key=").is_err());
    }
}
