//! Scenario files: the network's incentive parameters plus a world to run them in.
//!
//! A scenario is TOML. Its `[tokenomics]` table is exactly the serde form of
//! [`TokenomicsParams`] (what `genesis.json` holds), or `preset = "wireless" | "storage" |
//! "sensors"` with any fields given next to it overriding the preset's. Everything else describes
//! the world: device kinds with their costs, how operators decide, demand, the token market and
//! shocks. Every field has a default except `steps` and at least one `[[device_kinds]]`.
//!
//! ```toml
//! name = "tiny"
//! steps = 365            # days (step_days = 1)
//! initial_supply_tokens = 10_000_000
//!
//! [tokenomics]
//! preset = "wireless"
//!
//! [[device_kinds]]
//! name = "hotspot"
//! hardware_cost_usd = 400
//! operating_cost_usd_per_day = 0.1
//! initial_operators = 1_000
//! max_operators = 50_000
//!
//! [demand]
//! initial = 10_000       # service units per day users would buy at the reference price
//! price_usd_per_unit = 0.5
//!
//! [market]
//! model = "burn_and_mint"
//! initial_price_usd = 1.0
//! ```
//!
//! Any value can be overridden by a dotted path (`demand.elasticity=0.5`,
//! `tokenomics.emission.curves.0.initial_per_epoch=1000`): [`Scenario::with_override`], which is
//! what `--sweep` uses.

use groundwork_tokenomics::{EmissionCurve, ProofKind, TokenomicsParams};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SimError};

/// A whole scenario, resolved (presets expanded, defaults filled).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name, used in reports.
    #[serde(default)]
    pub name: String,
    /// What the scenario is meant to show.
    #[serde(default)]
    pub description: String,
    /// Number of time steps to simulate.
    pub steps: u32,
    /// Days per step (default 1).
    #[serde(default = "one_u32")]
    pub step_days: u32,
    /// Tokenomics epochs per step (default 1: the presets use day-long epochs).
    #[serde(default = "one_u64")]
    pub epochs_per_step: u64,
    /// The seed used when none is given on the command line.
    #[serde(default)]
    pub seed: u64,
    /// Tokens already in circulation at step 0 (held by the market), in whole tokens.
    #[serde(default)]
    pub initial_supply_tokens: f64,
    /// Multiplies every emission curve's amounts (and the supply cap): a quick knob for sweeps.
    #[serde(default = "one_f64")]
    pub emission_scale: f64,
    /// How rewards are computed: per cohort (fast, the default) or per device.
    #[serde(default)]
    pub engine: RewardEngine,
    /// The network's incentive parameters (genesis format).
    #[serde(default)]
    pub tokenomics: TokenomicsParams,
    /// The kinds of hardware operators can deploy.
    pub device_kinds: Vec<DeviceKind>,
    /// How operators decide to join and leave.
    #[serde(default)]
    pub operators: Operators,
    /// Demand for the network's service.
    #[serde(default)]
    pub demand: Demand,
    /// How the token price forms.
    #[serde(default)]
    pub market: Market,
    /// One-off or lasting shocks.
    #[serde(default)]
    pub shocks: Vec<Shock>,
}

fn one_u32() -> u32 {
    1
}
fn one_u64() -> u64 {
    1
}
fn one_f64() -> f64 {
    1.0
}

/// How the simulator turns the world's activity into rewards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardEngine {
    /// One contribution per device kind and pool, shared by [`groundwork_tokenomics::distribute`]
    /// and split among the kind's devices by their units: what makes a million operators fast.
    /// Equal to the per-device computation up to rounding (tested).
    #[default]
    Cohort,
    /// Every operator is a [`groundwork_tokenomics::DeviceActivity`] and each step calls
    /// [`groundwork_tokenomics::compute_epoch_rewards`], as the app does (for small worlds).
    PerDevice,
}

/// One kind of hardware.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceKind {
    /// Its name (e.g. `hotspot`, `disk-node`).
    pub name: String,
    /// What the hardware costs to buy and install, USD.
    pub hardware_cost_usd: f64,
    /// Power, backhaul, hosting: USD per day.
    pub operating_cost_usd_per_day: f64,
    /// Log-normal spread (σ of the log) of operating costs between operators.
    pub cost_spread: f64,
    /// Service capacity of one device: service units per day, or stored units for storage.
    pub capacity_per_device: f64,
    /// Log-normal spread of capacity between operators.
    pub capacity_spread: f64,
    /// Devices online at step 0.
    pub initial_operators: u64,
    /// Everyone who could ever deploy this kind (the market's size).
    pub max_operators: u64,
    /// Heartbeats per day (the uptime pool requires `tokenomics.uptime.min_heartbeats`).
    pub heartbeats_per_day: u32,
    /// Coverage beacons per device per day (coverage pool).
    pub beacons_per_day: u32,
    /// Valid witnesses per beacon (coverage pool, HIP-15).
    pub witnesses_per_beacon: u32,
    /// Valid sensor readings per device per day (sensor pool).
    pub sensor_readings_per_day: u64,
}

impl Default for DeviceKind {
    fn default() -> Self {
        DeviceKind {
            name: "device".into(),
            hardware_cost_usd: 500.0,
            operating_cost_usd_per_day: 0.2,
            cost_spread: 0.3,
            capacity_per_device: 1.0,
            capacity_spread: 0.3,
            initial_operators: 0,
            max_operators: 100_000,
            heartbeats_per_day: 24,
            beacons_per_day: 4,
            witnesses_per_beacon: 4,
            sensor_readings_per_day: 96,
        }
    }
}

/// How operators decide.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Operators {
    /// Median payback period, in days, that a prospective operator accepts before buying.
    pub payback_threshold_days: f64,
    /// Log-normal spread of that threshold between prospects.
    pub payback_spread: f64,
    /// Share of the remaining potential operators who look at the network each day.
    pub join_rate_per_day: f64,
    /// Median number of consecutive unprofitable days an operator tolerates before leaving.
    pub patience_days: f64,
    /// Log-normal spread of that patience.
    pub patience_spread: f64,
    /// Share of each step's rewards operators sell on the market (the rest they hold).
    pub sell_fraction: f64,
    /// Days over which prospects average recent income to estimate payback.
    pub income_smoothing_days: f64,
}

impl Default for Operators {
    fn default() -> Self {
        Operators {
            payback_threshold_days: 365.0,
            payback_spread: 0.5,
            join_rate_per_day: 0.01,
            patience_days: 60.0,
            patience_spread: 0.5,
            sell_fraction: 0.8,
            income_smoothing_days: 30.0,
        }
    }
}

/// How the potential demand grows without price effects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "curve", rename_all = "snake_case", deny_unknown_fields)]
pub enum Growth {
    /// Flat.
    Constant,
    /// `initial · e^(rate · years)`.
    Exponential {
        /// Continuous growth rate per year (0.7 ≈ doubling each year).
        rate_per_year: f64,
    },
    /// S-curve from `initial` towards `ceiling`.
    Logistic {
        /// Continuous growth rate per year in the early phase.
        rate_per_year: f64,
        /// The level demand saturates at, service units per day.
        ceiling: f64,
    },
}

/// Demand for the network's service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Demand {
    /// The service unit's name, for reports (`GB`, `TiB-day`, `GPU-hour`).
    pub unit: String,
    /// The pool that rewards served demand: `data_transfer` or `compute` (`storage` pools
    /// reward capacity, not demand).
    pub pool: ProofKind,
    /// Potential demand at step 0 at the reference price, service units per day.
    pub initial: f64,
    /// Its growth.
    pub growth: Growth,
    /// Users' price per service unit at step 0, USD (fixed in fiat, as Helium's data credits).
    pub price_usd_per_unit: f64,
    /// Yearly decline of the service price (0.1 = 10% cheaper each year).
    pub price_decline_per_year: f64,
    /// Price elasticity: demand × (price / initial price)^(−elasticity).
    pub elasticity: f64,
    /// Daily log-normal noise of demand.
    pub noise: f64,
    /// Devices at which 63% of demand is reachable (`1 − e^(−devices/this)`); 0 means all
    /// demand is reachable from the first device (storage, compute).
    pub coverage_saturation_devices: f64,
    /// Share of what users pay that buys and burns tokens (burn-and-mint); the rest is paid to
    /// operators directly in fiat.
    pub burn_share: f64,
    /// Highest share of capacity that can be sold.
    pub max_utilisation: f64,
    /// Data credits (pool units) per service unit served.
    pub credits_per_unit: f64,
}

impl Default for Demand {
    fn default() -> Self {
        Demand {
            unit: "unit".into(),
            pool: ProofKind::DataTransfer,
            initial: 0.0,
            growth: Growth::Constant,
            price_usd_per_unit: 1.0,
            price_decline_per_year: 0.0,
            elasticity: 0.0,
            noise: 0.0,
            coverage_saturation_devices: 0.0,
            burn_share: 1.0,
            max_utilisation: 1.0,
            credits_per_unit: 1_000.0,
        }
    }
}

/// How the token price forms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum Market {
    /// Flows move the price: users buy tokens to burn for service, speculators buy, operators
    /// sell rewards. `Δ ln p = (buy − sell) / depth + noise`, with depth a share of the market
    /// capitalisation. With all rewards sold and no speculation the price settles where burns
    /// equal sales: the burn-and-mint equilibrium `revenue / tokens minted`.
    BurnAndMint {
        /// Token price at step 0, USD.
        initial_price_usd: f64,
        /// Net buying of this share of the market cap moves the log price by 1 (default 0.5).
        #[serde(default = "default_depth_fraction")]
        depth_fraction: f64,
        /// The least market depth, USD (thin markets early on; default 1,000,000).
        #[serde(default = "default_min_depth")]
        min_depth_usd: f64,
        /// Daily σ of the log price noise (default 0.02).
        #[serde(default = "default_price_noise")]
        noise: f64,
        /// Speculative buying (negative: selling), USD per day, as `[step, usd]` points linearly
        /// interpolated (before the first and after the last point the end values hold).
        #[serde(default)]
        speculative_inflow_usd_per_day: Vec<[f64; 2]>,
    },
    /// An external price path, `[step, usd]` points linearly interpolated, with optional noise.
    Path {
        /// The points.
        points: Vec<[f64; 2]>,
        /// Daily σ of multiplicative noise around the path (default 0).
        #[serde(default)]
        noise: f64,
    },
}

fn default_depth_fraction() -> f64 {
    0.5
}
fn default_min_depth() -> f64 {
    1_000_000.0
}
fn default_price_noise() -> f64 {
    0.02
}

impl Default for Market {
    fn default() -> Self {
        Market::BurnAndMint {
            initial_price_usd: 1.0,
            depth_fraction: default_depth_fraction(),
            min_depth_usd: default_min_depth(),
            noise: default_price_noise(),
            speculative_inflow_usd_per_day: Vec::new(),
        }
    }
}

/// What a shock hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShockKind {
    /// The token price is multiplied by `factor` once, at `step`.
    PriceCrash,
    /// Demand is multiplied by `factor` from `step` on (for `duration_steps` if given).
    DemandDrop,
    /// Operating costs are multiplied by `factor` from `step` on (for `duration_steps` if given).
    CostRise,
}

/// A shock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shock {
    /// The step it starts at.
    pub step: u32,
    /// What it hits.
    pub kind: ShockKind,
    /// The multiplier (0.3 = a 70% crash).
    pub factor: f64,
    /// How long it lasts; forever when absent (ignored for price crashes).
    #[serde(default)]
    pub duration_steps: Option<u32>,
}

impl Scenario {
    /// Parse and resolve a scenario from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Scenario> {
        let value: toml::Value =
            toml::from_str(text).map_err(|e| SimError::Scenario(e.to_string()))?;
        Scenario::from_value(value)
    }

    /// Read a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::from_toml_str(&text)
    }

    /// Resolve a parsed TOML document (expanding a tokenomics preset) into a scenario.
    pub fn from_value(mut value: toml::Value) -> Result<Scenario> {
        expand_tokenomics_preset(&mut value)?;
        let scenario: Scenario = value
            .try_into()
            .map_err(|e: toml::de::Error| SimError::Scenario(e.to_string()))?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// The scenario as a TOML document (with the tokenomics preset expanded).
    pub fn to_value(&self) -> Result<toml::Value> {
        toml::Value::try_from(self).map_err(|e| SimError::Scenario(e.to_string()))
    }

    /// A copy with one value replaced, by dotted path (`demand.elasticity`,
    /// `tokenomics.emission.curves.0.initial_per_epoch`). The value is read as TOML (`0.5`,
    /// `"text"`, `true`); anything that does not parse as TOML is taken as a string.
    pub fn with_override(&self, key: &str, raw_value: &str) -> Result<Scenario> {
        let mut document = self.to_value()?;
        let value = parse_value(raw_value);
        set_path(&mut document, key, value).ok_or_else(|| SimError::Sweep(key.to_string()))?;
        Scenario::from_value(document)
    }

    /// Check the world's parameters (the tokenomics are checked by the tokenomics crate).
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &str, reason: &str| {
            Err(SimError::Parameter {
                name: name.to_string(),
                reason: reason.to_string(),
            })
        };
        if self.steps == 0 {
            return bad("steps", "must be at least 1");
        }
        if self.step_days == 0 || self.epochs_per_step == 0 {
            return bad("step_days / epochs_per_step", "must be at least 1");
        }
        if self.device_kinds.is_empty() {
            return bad("device_kinds", "name at least one [[device_kinds]]");
        }
        if self.device_kinds.len() > 255 {
            return bad("device_kinds", "at most 255 kinds");
        }
        if !(self.initial_supply_tokens.is_finite() && self.initial_supply_tokens >= 0.0) {
            return bad("initial_supply_tokens", "must be a non-negative number");
        }
        if !(self.emission_scale.is_finite() && self.emission_scale >= 0.0) {
            return bad("emission_scale", "must be a non-negative number");
        }
        let total_operators: u64 = self.device_kinds.iter().map(|k| k.max_operators).sum();
        if total_operators > 50_000_000 {
            return bad(
                "device_kinds.max_operators",
                "at most 50,000,000 operators in all",
            );
        }
        for kind in &self.device_kinds {
            let costs = [
                kind.hardware_cost_usd,
                kind.operating_cost_usd_per_day,
                kind.capacity_per_device,
                kind.cost_spread,
                kind.capacity_spread,
            ];
            if costs.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
                return bad(
                    &format!("device_kinds.{}", kind.name),
                    "costs, capacity and spreads must be non-negative numbers",
                );
            }
            if kind.initial_operators > kind.max_operators {
                return bad(
                    &format!("device_kinds.{}.initial_operators", kind.name),
                    "must not exceed max_operators",
                );
            }
        }
        let o = &self.operators;
        if !(0.0..=1.0).contains(&o.sell_fraction) || !(0.0..=1.0).contains(&o.join_rate_per_day) {
            return bad(
                "operators.sell_fraction / join_rate_per_day",
                "must be between 0 and 1",
            );
        }
        if !(o.payback_threshold_days > 0.0 && o.patience_days > 0.0) {
            return bad(
                "operators.payback_threshold_days / patience_days",
                "must be positive",
            );
        }
        let d = &self.demand;
        if !matches!(d.pool, ProofKind::DataTransfer | ProofKind::Compute) {
            return bad("demand.pool", "must be data_transfer or compute");
        }
        if !(0.0..=1.0).contains(&d.burn_share)
            || d.max_utilisation.is_nan()
            || d.max_utilisation <= 0.0
        {
            return bad(
                "demand.burn_share / max_utilisation",
                "burn_share in [0, 1], max_utilisation positive",
            );
        }
        if !(d.price_usd_per_unit > 0.0 && d.initial >= 0.0 && d.credits_per_unit > 0.0) {
            return bad(
                "demand",
                "price_usd_per_unit and credits_per_unit must be positive, initial non-negative",
            );
        }
        match &self.market {
            Market::BurnAndMint {
                initial_price_usd,
                depth_fraction,
                ..
            } => {
                if !(*initial_price_usd > 0.0 && *depth_fraction > 0.0) {
                    return bad(
                        "market",
                        "initial_price_usd and depth_fraction must be positive",
                    );
                }
            }
            Market::Path { points, .. } => {
                if points.is_empty() || points.iter().any(|p| p[1].is_nan() || p[1] <= 0.0) {
                    return bad("market.points", "give at least one [step, price > 0] point");
                }
            }
        }
        for shock in &self.shocks {
            if !(shock.factor.is_finite() && shock.factor > 0.0) {
                return bad("shocks.factor", "must be positive");
            }
        }
        self.tokenomics.validate()?;
        Ok(())
    }

    /// The same world at a different size: operators, demand, emissions, supply and market
    /// money all multiplied by `factor`, so that a device's economics (its share of the
    /// emission, of demand and of the market's flows) stay the same. For quick previews and
    /// tests of large scenarios.
    pub fn scaled(&self, factor: f64) -> Scenario {
        let mut scaled = self.clone();
        let count = |n: &mut u64| *n = (*n as f64 * factor).round() as u64;
        for kind in &mut scaled.device_kinds {
            count(&mut kind.initial_operators);
            count(&mut kind.max_operators);
        }
        scaled.demand.initial *= factor;
        if let Growth::Logistic { ceiling, .. } = &mut scaled.demand.growth {
            *ceiling *= factor;
        }
        scaled.demand.coverage_saturation_devices *= factor;
        scaled.emission_scale *= factor;
        scaled.initial_supply_tokens *= factor;
        if let Some(net) = scaled.tokenomics.net_emissions.as_mut() {
            net.max_remint_per_epoch = (net.max_remint_per_epoch as f64 * factor) as u128;
        }
        if let Market::BurnAndMint {
            min_depth_usd,
            speculative_inflow_usd_per_day,
            ..
        } = &mut scaled.market
        {
            *min_depth_usd *= factor;
            for point in speculative_inflow_usd_per_day {
                point[1] *= factor;
            }
        }
        scaled
    }

    /// The tokenomics parameters the simulation runs: the scenario's, with every emission
    /// amount multiplied by `emission_scale`.
    pub fn effective_tokenomics(&self) -> TokenomicsParams {
        let mut params = self.tokenomics.clone();
        if self.emission_scale == 1.0 {
            return params;
        }
        let scale = |amount: &mut u128| {
            *amount = (*amount as f64 * self.emission_scale).floor() as u128;
        };
        for curve in &mut params.emission.curves {
            match curve {
                EmissionCurve::Constant { per_epoch } => scale(per_epoch),
                EmissionCurve::Halving {
                    initial_per_epoch, ..
                } => scale(initial_per_epoch),
                EmissionCurve::ExponentialDecay { total, .. } => scale(total),
                EmissionCurve::Baseline(baseline) => scale(&mut baseline.total),
            }
        }
        if let Some(cap) = params.emission.supply_cap.as_mut() {
            scale(cap);
        }
        params
    }
}

/// Replace `tokenomics.preset = NAME` by the preset's full parameters, keeping the other fields
/// of the table as overrides.
fn expand_tokenomics_preset(document: &mut toml::Value) -> Result<()> {
    let Some(table) = document
        .get_mut("tokenomics")
        .and_then(|t| t.as_table_mut())
    else {
        return Ok(());
    };
    let Some(preset) = table.remove("preset") else {
        return Ok(());
    };
    let name = preset
        .as_str()
        .ok_or_else(|| SimError::Scenario("tokenomics.preset must be a string".into()))?;
    let decimals = match table.get("decimals") {
        Some(value) => value
            .as_integer()
            .and_then(|d| u8::try_from(d).ok())
            .ok_or_else(|| SimError::Scenario("tokenomics.decimals must be 0 to 18".into()))?,
        None => groundwork_tokenomics::DEFAULT_DECIMALS,
    };
    let params = tokenomics_preset(name, decimals)?;
    let mut base = toml::Value::try_from(&params).map_err(|e| SimError::Scenario(e.to_string()))?;
    merge(&mut base, toml::Value::Table(std::mem::take(table)));
    if let Some(slot) = document.get_mut("tokenomics") {
        *slot = base;
    }
    Ok(())
}

/// A [`TokenomicsParams`] preset by name: `wireless`, `storage`, `sensors`.
pub fn tokenomics_preset(name: &str, decimals: u8) -> Result<TokenomicsParams> {
    Ok(match name {
        "wireless" => TokenomicsParams::wireless(decimals)?,
        "storage" => TokenomicsParams::storage(decimals)?,
        "sensors" => TokenomicsParams::sensors(decimals)?,
        other => return Err(SimError::UnknownPreset(other.to_string())),
    })
}

/// Deep-merge `overlay` into `base` (tables merge; anything else replaces).
fn merge(base: &mut toml::Value, overlay: toml::Value) {
    match (base, overlay) {
        (toml::Value::Table(base), toml::Value::Table(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

fn parse_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut table| table.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

/// Set a value by dotted path; numeric segments index arrays. Missing table keys are created
/// (the scenario's own validation then rejects unknown names). `None` when the path cannot be
/// followed.
fn set_path(document: &mut toml::Value, path: &str, value: toml::Value) -> Option<()> {
    let mut segments = path.split('.').peekable();
    let mut current = document;
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        current = match current {
            toml::Value::Table(table) => {
                if last {
                    table.insert(segment.to_string(), value);
                    return Some(());
                }
                table
                    .entry(segment.to_string())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            }
            toml::Value::Array(array) => {
                let index: usize = segment.parse().ok()?;
                let slot = array.get_mut(index)?;
                if last {
                    *slot = value;
                    return Some(());
                }
                slot
            }
            _ => return None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        steps = 10
        [tokenomics]
        preset = "wireless"
        [tokenomics.uptime]
        min_heartbeats = 12
        [[device_kinds]]
        name = "hotspot"
        initial_operators = 5
    "#;

    #[test]
    fn a_preset_expands_and_keeps_the_fields_given_next_to_it() {
        let scenario = Scenario::from_toml_str(MINIMAL).unwrap();
        assert_eq!(scenario.tokenomics.uptime.min_heartbeats, 12);
        let wireless = TokenomicsParams::wireless(8).unwrap();
        assert_eq!(scenario.tokenomics.emission, wireless.emission);
        assert_eq!(scenario.device_kinds[0].hardware_cost_usd, 500.0);
    }

    #[test]
    fn overrides_reach_nested_tables_and_arrays() {
        let scenario = Scenario::from_toml_str(MINIMAL).unwrap();
        let changed = scenario
            .with_override("tokenomics.emission.curves.0.initial_per_epoch", "1000")
            .unwrap()
            .with_override("demand.elasticity", "0.5")
            .unwrap()
            .with_override("device_kinds.0.name", "gateway")
            .unwrap();
        assert_eq!(
            changed.tokenomics.emission.curves[0],
            EmissionCurve::Halving {
                initial_per_epoch: 1000,
                halving_interval_epochs: 730
            }
        );
        assert_eq!(changed.demand.elasticity, 0.5);
        assert_eq!(changed.device_kinds[0].name, "gateway");
        assert!(scenario.with_override("demand.no_such_field", "1").is_err());
        assert!(scenario.with_override("device_kinds.7.name", "x").is_err());
    }

    #[test]
    fn bad_worlds_are_refused_with_the_parameter_named() {
        let text = MINIMAL.replace(
            "initial_operators = 5",
            "initial_operators = 5\nmax_operators = 1",
        );
        let error = Scenario::from_toml_str(&text).unwrap_err().to_string();
        assert!(error.contains("initial_operators"), "{error}");
    }
}
