//! The sustainability metrics DePIN analysts use, computed from a run's time series, and a plain
//! verdict.
//!
//! * **Burn-to-mint ratio**: tokens burned ÷ tokens minted. Above 1 the supply shrinks.
//! * **Net emissions** (minted − burned) and **net inflation** (net emissions ÷ supply at the
//!   start of the year).
//! * **Subsidy ratio**: value of the tokens minted (at the price of the step they were minted
//!   in) ÷ what users paid. Above 1, operators are paid more by the token's buyers than by the
//!   network's users.
//! * **Operator payback**: hardware cost ÷ a device's mean net daily income (days).
//! * **Cost coverage**: operators' income (rewards at market value plus direct fees) ÷ their
//!   operating costs.
//! * **Churn**: operators who left ÷ mean operators, per year.
//!
//! The network is **value-driven** from the first day after which, for every trailing 90-day
//! window to the end of the run, users paid at least as much as the emissions were worth
//! (subsidy ratio ≤ 1). A **death spiral** is a token that ends below 20% of its peak price
//! while the network ends with under half of its peak operators.

use serde::Serialize;

use crate::engine::{DAYS_PER_YEAR, Outcome, StepRow};

/// The window over which "value-driven" is judged, days.
pub const VALUE_WINDOW_DAYS: u32 = 90;
/// A death spiral's price: the final price below this share of the peak.
pub const SPIRAL_PRICE_SHARE: f64 = 0.2;
/// A death spiral's network: final operators below this share of the peak.
pub const SPIRAL_OPERATOR_SHARE: f64 = 0.5;

/// One year of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct YearMetrics {
    /// The year (1 is the first).
    pub year: u32,
    /// Tokens minted.
    pub minted: f64,
    /// Tokens burned.
    pub burned: f64,
    /// Burned ÷ minted.
    pub burn_to_mint: Option<f64>,
    /// Minted − burned.
    pub net_emissions: f64,
    /// Net emissions ÷ supply at the start of the year.
    pub net_inflation: Option<f64>,
    /// What users paid, USD.
    pub revenue_usd: f64,
    /// What the minted tokens were worth when minted, USD.
    pub emission_value_usd: f64,
    /// Emission value ÷ revenue.
    pub subsidy_ratio: Option<f64>,
    /// Operators' income ÷ operating costs.
    pub cost_coverage: Option<f64>,
    /// Hardware cost ÷ a device's mean net daily income, days (none when income is not positive).
    pub payback_days: Option<f64>,
    /// Operators who left ÷ mean operators.
    pub churn: Option<f64>,
    /// Operators at the end of the year.
    pub operators_end: u64,
    /// Token price at the end of the year, USD.
    pub price_end: f64,
}

/// A run's headline numbers and verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Per year (a partial last year counts as a year).
    pub years: Vec<YearMetrics>,
    /// Whether the network ends value-driven (and not merely because its token collapsed).
    pub value_driven: bool,
    /// The first day from which users pay for the emissions in every window to the end, if
    /// they do.
    pub value_driven_from_day: Option<u32>,
    /// The first day any 90-day window was value-driven.
    pub first_value_driven_day: Option<u32>,
    /// Whether the run ends in a death spiral.
    pub death_spiral: bool,
    /// Most operators at once.
    pub peak_operators: u64,
    /// Operators at the end.
    pub final_operators: u64,
    /// Highest token price, USD.
    pub peak_price_usd: f64,
    /// Token price at the end, USD.
    pub final_price_usd: f64,
    /// Median days operators who earned back their hardware took to do so.
    pub median_realised_payback_days: Option<u32>,
    /// Operators who earned back their hardware ÷ operators ever online.
    pub paid_back_share_of_all: f64,
    /// One paragraph for people.
    pub verdict: String,
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0 && numerator.is_finite()).then(|| numerator / denominator)
}

/// Compute the summary of a run.
pub fn summarise(outcome: &Outcome) -> Summary {
    let rows = &outcome.rows;
    let step_days = outcome.step_days.max(1);
    let steps_per_year = ((DAYS_PER_YEAR as u32).div_ceil(step_days)).max(1) as usize;
    let years: Vec<YearMetrics> = rows
        .chunks(steps_per_year)
        .enumerate()
        .map(|(index, chunk)| year_metrics(index, chunk, rows, steps_per_year, outcome))
        .collect();

    let window = (VALUE_WINDOW_DAYS.div_ceil(step_days)).max(1) as usize;
    let mut value_driven = vec![false; rows.len()];
    let (mut revenue, mut emission_value) = (0.0, 0.0);
    for (index, row) in rows.iter().enumerate() {
        revenue += row.revenue_usd;
        emission_value += row.minted * row.token_price_usd;
        if index >= window {
            let old = &rows[index - window];
            revenue -= old.revenue_usd;
            emission_value -= old.minted * old.token_price_usd;
        }
        value_driven[index] = index + 1 >= window && revenue > 0.0 && revenue >= emission_value;
    }
    let first_value_driven_day = value_driven
        .iter()
        .position(|v| *v)
        .map(|index| rows[index].day);
    let value_driven_from_day = match value_driven.iter().rposition(|v| !*v) {
        None => rows.first().map(|r| r.day),
        Some(last_false) if last_false + 1 < rows.len() => Some(rows[last_false + 1].day),
        Some(_) => None,
    };

    let peak_operators = rows.iter().map(|r| r.operators).max().unwrap_or(0);
    let final_operators = rows.last().map_or(0, |r| r.operators);
    let peak_price_usd = rows.iter().map(|r| r.token_price_usd).fold(0.0, f64::max);
    let final_price_usd = rows.last().map_or(0.0, |r| r.token_price_usd);
    let death_spiral = peak_operators > 0
        && final_price_usd < SPIRAL_PRICE_SHARE * peak_price_usd
        && (final_operators as f64) < SPIRAL_OPERATOR_SHARE * peak_operators as f64;

    let paid_back: u64 = outcome.payback_days_histogram.iter().sum();
    let median_realised_payback_days = (paid_back > 0).then(|| {
        let mut seen = 0u64;
        let mut median = 0u32;
        for (days, count) in outcome.payback_days_histogram.iter().enumerate() {
            seen += count;
            if seen * 2 >= paid_back {
                median = days as u32;
                break;
            }
        }
        median
    });
    let paid_back_share_of_all = if outcome.operators_ever > 0 {
        paid_back as f64 / outcome.operators_ever as f64
    } else {
        0.0
    };

    let mut summary = Summary {
        value_driven: value_driven_from_day.is_some() && !death_spiral,
        years,
        value_driven_from_day,
        first_value_driven_day,
        death_spiral,
        peak_operators,
        final_operators,
        peak_price_usd,
        final_price_usd,
        median_realised_payback_days,
        paid_back_share_of_all,
        verdict: String::new(),
    };
    summary.verdict = verdict(&summary, rows);
    summary
}

fn year_metrics(
    index: usize,
    chunk: &[StepRow],
    rows: &[StepRow],
    steps_per_year: usize,
    outcome: &Outcome,
) -> YearMetrics {
    let sum = |f: fn(&StepRow) -> f64| chunk.iter().map(f).sum::<f64>();
    let minted = sum(|r| r.minted);
    let burned = sum(|r| r.burned);
    let net = minted - burned;
    let start = index * steps_per_year;
    let supply_start = if start == 0 {
        rows.first().map_or(0.0, |r| r.supply - r.minted + r.burned)
    } else {
        rows[start - 1].supply
    };
    let revenue = sum(|r| r.revenue_usd);
    let emission_value = sum(|r| r.minted * r.token_price_usd);
    let income = sum(|r| r.operator_income_usd);
    let costs = sum(|r| r.operator_costs_usd);
    let profit = income - costs;
    let operator_steps: f64 = chunk.iter().map(|r| r.operators as f64).sum();
    let days = chunk.len() as f64 * f64::from(outcome.step_days);
    let mean_operators = operator_steps / chunk.len().max(1) as f64;
    let daily_net_per_device = ratio(profit, operator_steps * f64::from(outcome.step_days));
    let left: u64 = chunk.iter().map(|r| r.left).sum();
    let last = chunk.last();
    YearMetrics {
        year: index as u32 + 1,
        minted,
        burned,
        burn_to_mint: ratio(burned, minted),
        net_emissions: net,
        net_inflation: ratio(net, supply_start),
        revenue_usd: revenue,
        emission_value_usd: emission_value,
        subsidy_ratio: ratio(emission_value, revenue),
        cost_coverage: ratio(income, costs),
        payback_days: daily_net_per_device
            .filter(|d| *d > 0.0)
            .map(|d| outcome.mean_hardware_cost_usd / d),
        churn: ratio(left as f64 * DAYS_PER_YEAR / days.max(1.0), mean_operators),
        operators_end: last.map_or(0, |r| r.operators),
        price_end: last.map_or(0.0, |r| r.token_price_usd),
    }
}

fn verdict(summary: &Summary, rows: &[StepRow]) -> String {
    let horizon = rows.last().map_or(0, |r| r.day);
    let years = |day: u32| f64::from(day) / DAYS_PER_YEAR;
    let mut text = match (
        summary.value_driven_from_day,
        summary.first_value_driven_day,
    ) {
        (Some(day), _) if summary.death_spiral => format!(
            "Not value-driven: from day {day} (year {:.1}) users paid as much as the new tokens were worth, but only because the token had collapsed, not because usage grew.",
            years(day)
        ),
        (Some(day), _) => format!(
            "Value-driven from day {day} (year {:.1}): from then on, users paid at least as much as the new tokens were worth in every {VALUE_WINDOW_DAYS}-day window.",
            years(day)
        ),
        (None, Some(day)) => format!(
            "Subsidy-driven at the end: users first paid for the emissions in a {VALUE_WINDOW_DAYS}-day window on day {day} (year {:.1}), but the network fell back to living on subsidy.",
            years(day)
        ),
        (None, None) => format!(
            "Subsidy-driven throughout: in no {VALUE_WINDOW_DAYS}-day window of the {horizon} days did users pay as much as the new tokens were worth."
        ),
    };
    if let Some(last) = summary.years.last() {
        if let Some(subsidy) = last.subsidy_ratio {
            text.push_str(&format!(" Final-year subsidy ratio {subsidy:.2}"));
        } else {
            text.push_str(" Final-year subsidy ratio undefined (no revenue)");
        }
        if let Some(burn) = last.burn_to_mint {
            text.push_str(&format!(", burn-to-mint {burn:.2}"));
        }
        text.push('.');
    }
    if summary.death_spiral {
        text.push_str(&format!(
            " Death spiral: the token fell to {:.0}% of its peak and the network kept {:.0}% of its peak operators.",
            100.0 * summary.final_price_usd / summary.peak_price_usd.max(f64::MIN_POSITIVE),
            100.0 * summary.final_operators as f64 / summary.peak_operators.max(1) as f64
        ));
    } else {
        text.push_str(" No death spiral.");
    }
    text
}
