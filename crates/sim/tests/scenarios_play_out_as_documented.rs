//! The canned scenarios do what their descriptions say: the boom and bust spirals, the
//! burn-and-mint compute marketplace becomes value-driven and does not, the stress case (demand
//! up, price down) spirals, and the Filecoin-style storage network lives on subsidy without
//! spiralling.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use groundwork_sim::metrics::summarise;
use groundwork_sim::{Scenario, run};

fn canned(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"));
    Scenario::load(&path).unwrap()
}

#[test]
fn every_shipped_scenario_parses_and_names_itself() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut count = 0;
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let scenario = Scenario::load(&path).unwrap();
        assert!(!scenario.name.is_empty() && !scenario.description.is_empty());
        count += 1;
    }
    assert!(count >= 4);
}

#[test]
fn the_helium_like_boom_ends_in_a_death_spiral() {
    // A fiftieth of the world: per-device economics are unchanged by scaling.
    let scenario = canned("helium-boom-bust").scaled(0.02);
    for seed in [1, 2] {
        let summary = summarise(&run(&scenario, seed).unwrap());
        assert!(summary.death_spiral, "seed {seed}: {}", summary.verdict);
        assert!(!summary.value_driven, "seed {seed}: {}", summary.verdict);
        assert!(summary.peak_operators > 5 * scenario.device_kinds[0].initial_operators);
    }
}

#[test]
fn the_burn_and_mint_compute_market_is_sustainable() {
    let scenario = canned("compute-bme").scaled(0.1);
    for seed in [3, 4] {
        let summary = summarise(&run(&scenario, seed).unwrap());
        assert!(!summary.death_spiral, "seed {seed}: {}", summary.verdict);
        assert!(summary.value_driven, "seed {seed}: {}", summary.verdict);
        let last = summary.years.last().unwrap();
        assert!(last.burn_to_mint.unwrap() > 1.0, "{last:?}");
        assert!(last.cost_coverage.unwrap() > 1.0, "{last:?}");
    }
}

#[test]
fn shocks_hit_when_scheduled() {
    let scenario = canned("helium-boom-bust")
        .with_override("steps", "700")
        .unwrap()
        .with_override("market.noise", "0")
        .unwrap()
        .scaled(0.01);
    let outcome = run(&scenario, 1).unwrap();
    // The price crash at step 600 multiplies the price by 0.4 on top of the market's move.
    let before = outcome.rows[599].token_price_usd;
    let after = outcome.rows[600].token_price_usd;
    assert!(after < 0.5 * before, "{before} → {after}");
}

#[test]
fn the_stress_case_spirals_when_selling_outruns_rising_demand() {
    let scenario = canned("stress-demand-up-price-down").scaled(0.02);
    let summary = summarise(&run(&scenario, scenario.seed).unwrap());
    assert!(summary.death_spiral, "{}", summary.verdict);
    assert!(!summary.value_driven, "{}", summary.verdict);
}

#[test]
fn the_filecoin_style_storage_network_stays_subsidy_driven_without_spiralling() {
    let scenario = canned("storage-baseline").scaled(0.1);
    let summary = summarise(&run(&scenario, scenario.seed).unwrap());
    assert!(!summary.death_spiral, "{}", summary.verdict);
    assert!(!summary.value_driven, "{}", summary.verdict);
    let last = summary.years.last().unwrap();
    assert!(last.subsidy_ratio.unwrap() > 1.0, "{last:?}");
    assert!(last.burn_to_mint.unwrap() < 0.1, "{last:?}");
}
