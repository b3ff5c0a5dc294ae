//! The simulation loop: one [`run`] of a scenario with a seed.
//!
//! Each step, in this order:
//!
//! 1. **Demand.** Potential demand follows its growth curve, the service price its decline,
//!    demand its elasticity, noise and shocks; the part within reach of the network's devices
//!    (coverage) and within its capacity is served. Users pay for it in fiat.
//! 2. **Burn.** The burn-and-mint share of what users paid buys tokens at the step's price and
//!    burns them.
//! 3. **Mint.** Each of the step's epochs mints what
//!    [`EmissionSchedule::emission_for_epoch`] says (the function the app's rewards module
//!    mints with; baseline curves see the network's realised capacity), plus re-minted burns
//!    when the parameters enable [`groundwork_tokenomics::NetEmissions`].
//! 4. **Rewards.** The network's reward math shares the minted tokens and any carry-over among
//!    devices ([`crate::rewards`]); unclaimed tokens go where the parameters say.
//! 5. **Operators.** Each operator earns its reward and its share of direct fees, pays its
//!    operating cost, sells part of its reward, and leaves after a run of unprofitable steps
//!    longer than its patience.
//! 6. **Price.** Buying (burns, speculation) and selling (operators) move the price through the
//!    market's depth, with noise and shocks; or the price follows an external path.
//! 7. **Joining.** Prospects compare the recent income of a device with its hardware cost; those
//!    whose accepted payback period is long enough buy one.
//! 8. **Books.** Supply must equal initial + minted − burned, and the balances (market,
//!    operators, treasury, carry-over) must add up to it, every step; otherwise the run fails.
//!
//! Operators live in struct-of-arrays form (kind, capacity, cost, patience, unprofitable streak,
//! cumulative profit), so a million of them cost a few milliseconds per step. Randomness comes
//! from one ChaCha8 stream seeded by the run's seed; nothing iterates a hash map, so the same
//! seed gives the same outcome, bit for bit.

use groundwork_tokenomics::{
    CapacityIntegral, EmissionSchedule, EpochFunds, NetEmissions, TokenomicsParams,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Result, SimError};
use crate::rewards::{
    DeviceWork, KindActivity, OperatorView, StepRewards, cohort_rewards, per_device_rewards,
};
use crate::scenario::{Growth, Market, RewardEngine, Scenario, ShockKind};

/// Days in the year used for growth rates and reports.
pub const DAYS_PER_YEAR: f64 = 365.0;

/// One step of a run. Token amounts are whole tokens; money is USD.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StepRow {
    /// The step (0-based).
    pub step: u32,
    /// Days since the start at the end of the step.
    pub day: u32,
    /// Operators online during the step.
    pub operators: u64,
    /// Operators who joined at the end of the step.
    pub joined: u64,
    /// Operators who left at the end of the step.
    pub left: u64,
    /// Summed capacity, service units per day.
    pub capacity: f64,
    /// Share of demand within reach of the devices (coverage), 0 to 1.
    pub coverage: f64,
    /// Demand users would buy, service units per day.
    pub demand: f64,
    /// Service units served in the step.
    pub served: f64,
    /// Users' price per service unit, USD.
    pub service_price_usd: f64,
    /// What users paid in the step, USD.
    pub revenue_usd: f64,
    /// The part of it paid to operators directly, USD.
    pub fees_to_operators_usd: f64,
    /// Token price during the step, USD.
    pub token_price_usd: f64,
    /// Total supply at the end of the step, tokens.
    pub supply: f64,
    /// Tokens minted in the step (emission and re-mint).
    pub minted: f64,
    /// Of which re-minted under net emissions.
    pub reminted: f64,
    /// Tokens burned in the step (burn-and-mint, and unclaimed rewards routed to burn).
    pub burned: f64,
    /// Tokens paid to operators.
    pub rewards: f64,
    /// The treasury's balance at the end of the step, tokens.
    pub treasury: f64,
    /// Rewards valued at the step's price plus direct fees, USD.
    pub operator_income_usd: f64,
    /// Operating costs, USD.
    pub operator_costs_usd: f64,
    /// Income minus operating costs, USD (hardware excluded).
    pub operator_profit_usd: f64,
    /// Share of operators whose step was profitable.
    pub profitable_share: f64,
    /// Share of operators who have earned back their hardware.
    pub paid_back_share: f64,
    /// Market capitalisation, USD.
    pub market_cap_usd: f64,
}

/// The result of one run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// The scenario's name.
    pub scenario: String,
    /// The seed the run used.
    pub seed: u64,
    /// Days per step.
    pub step_days: u32,
    /// One row per step.
    pub rows: Vec<StepRow>,
    /// Mean hardware cost of a device, USD (weighted by the kinds' initial or potential mix).
    pub mean_hardware_cost_usd: f64,
    /// Operating days of operators who earned back their hardware, by how long it took: index
    /// `d` counts operators who did so after `d` days (capped at the horizon).
    pub payback_days_histogram: Vec<u64>,
    /// Operators ever online (initial plus joined).
    pub operators_ever: u64,
}

/// Run a scenario with a seed.
pub fn run(scenario: &Scenario, seed: u64) -> Result<Outcome> {
    run_with_progress(scenario, seed, &|_| {})
}

/// Run a scenario with a seed, calling `progress(steps_done)` every 32 steps and at the end.
pub fn run_with_progress(
    scenario: &Scenario,
    seed: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Outcome> {
    let mut simulation = Simulation::new(scenario, seed)?;
    let mut rows = Vec::with_capacity(scenario.steps as usize);
    let mut reported = 0u64;
    for step in 0..scenario.steps {
        rows.push(simulation.step(step)?);
        if step % 32 == 31 {
            progress(u64::from(step + 1) - reported);
            reported = u64::from(step + 1);
        }
    }
    progress(u64::from(scenario.steps) - reported);
    Ok(Outcome {
        scenario: scenario.name.clone(),
        seed,
        step_days: scenario.step_days,
        rows,
        mean_hardware_cost_usd: simulation.mean_hardware_cost(),
        payback_days_histogram: simulation.payback_histogram,
        operators_ever: u64::from(simulation.population.next_id),
    })
}

/// Operators, struct-of-arrays, sorted by id (ids grow as operators join; leaving keeps order).
#[derive(Default)]
struct Population {
    id: Vec<u32>,
    kind: Vec<u8>,
    capacity: Vec<f32>,
    /// Operating cost, USD per step.
    cost: Vec<f32>,
    /// Unprofitable steps tolerated.
    patience: Vec<u16>,
    /// Current run of unprofitable steps.
    streak: Vec<u16>,
    /// Net USD since joining, starting at minus the hardware cost.
    balance: Vec<f32>,
    /// Step of joining.
    joined: Vec<u32>,
    next_id: u32,
}

impl Population {
    /// Devices and capacity per kind.
    fn activity(&self, kinds: usize) -> Vec<KindActivity> {
        self.activity_from(0, kinds)
    }

    /// Devices and capacity per kind of the operators from index `start` on.
    fn activity_from(&self, start: usize, kinds: usize) -> Vec<KindActivity> {
        let mut activity = vec![KindActivity::default(); kinds];
        let kind = self.kind.get(start..).unwrap_or(&[]);
        let capacity = self.capacity.get(start..).unwrap_or(&[]);
        for (kind, capacity) in kind.iter().zip(capacity) {
            if let Some(slot) = activity.get_mut(usize::from(*kind)) {
                slot.devices += 1;
                slot.capacity += f64::from(*capacity);
            }
        }
        activity
    }
}

/// Ledger of base units.
#[derive(Default)]
struct Ledger {
    initial: u128,
    minted: u128,
    burned: u128,
    supply: u128,
    market: u128,
    operators: u128,
    treasury: u128,
    carry_over: u128,
    smoothed_burn: u128,
}

struct Simulation<'a> {
    scenario: &'a Scenario,
    params: TokenomicsParams,
    work: Vec<DeviceWork>,
    rng: ChaCha8Rng,
    population: Population,
    ledger: Ledger,
    unit: f64,
    capacity_integral: u128,
    price: f64,
    expected_income: Vec<Option<f64>>,
    payback_histogram: Vec<u64>,
    /// Devices and capacity per kind for the next step, when already known.
    next_activity: Option<Vec<KindActivity>>,
}

impl<'a> Simulation<'a> {
    fn new(scenario: &'a Scenario, seed: u64) -> Result<Self> {
        scenario.validate()?;
        let params = scenario.effective_tokenomics();
        params.validate()?;
        let unit = 10f64.powi(i32::from(params.decimals));
        let initial = (scenario.initial_supply_tokens * unit) as u128;
        let work = scenario
            .device_kinds
            .iter()
            .map(|kind| DeviceWork::new(&params, kind, scenario.step_days))
            .collect();
        let price = match &scenario.market {
            Market::BurnAndMint {
                initial_price_usd, ..
            } => *initial_price_usd,
            Market::Path { points, .. } => interpolate(points, 0.0),
        };
        let horizon_days = scenario.steps as usize * scenario.step_days as usize;
        let mut simulation = Simulation {
            scenario,
            params,
            work,
            rng: ChaCha8Rng::seed_from_u64(seed),
            population: Population::default(),
            ledger: Ledger {
                initial,
                supply: initial,
                market: initial,
                ..Ledger::default()
            },
            unit,
            capacity_integral: 0,
            price,
            expected_income: vec![None; scenario.device_kinds.len()],
            payback_histogram: vec![0; horizon_days + 1],
            next_activity: None,
        };
        for (index, kind) in scenario.device_kinds.iter().enumerate() {
            simulation.add_operators(index, kind.initial_operators, 0);
        }
        Ok(simulation)
    }

    fn mean_hardware_cost(&self) -> f64 {
        let kinds = &self.scenario.device_kinds;
        let weight = |k: &crate::scenario::DeviceKind| k.initial_operators.max(1) as f64;
        let total: f64 = kinds.iter().map(weight).sum();
        kinds
            .iter()
            .map(|k| k.hardware_cost_usd * weight(k))
            .sum::<f64>()
            / total.max(1.0)
    }

    fn uniform(&mut self) -> f64 {
        // 53 random bits in [0, 1).
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn normal(&mut self) -> f64 {
        // Box–Muller; one draw per call keeps the stream easy to reason about.
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
    }

    /// A log-normal factor with median 1.
    fn spread(&mut self, sigma: f64) -> f64 {
        if sigma == 0.0 {
            1.0
        } else {
            libm::exp(sigma * self.normal())
        }
    }

    fn add_operators(&mut self, kind_index: usize, count: u64, step: u32) {
        let scenario = self.scenario;
        let Some(kind) = scenario.device_kinds.get(kind_index) else {
            return;
        };
        let operators = &scenario.operators;
        let step_days = f64::from(self.scenario.step_days);
        let (patience_days, patience_spread) = (operators.patience_days, operators.patience_spread);
        for _ in 0..count {
            let capacity = kind.capacity_per_device * self.spread(kind.capacity_spread);
            let cost = kind.operating_cost_usd_per_day * step_days * self.spread(kind.cost_spread);
            let patience = (patience_days * self.spread(patience_spread) / step_days)
                .ceil()
                .clamp(1.0, f64::from(u16::MAX));
            let population = &mut self.population;
            population.id.push(population.next_id);
            population.next_id = population.next_id.saturating_add(1);
            population.kind.push(kind_index as u8);
            population.capacity.push(capacity as f32);
            population.cost.push(cost as f32);
            population.patience.push(patience as u16);
            population.streak.push(0);
            population.balance.push(-(kind.hardware_cost_usd as f32));
            population.joined.push(step);
        }
    }

    fn shock_factor(&self, step: u32, kind: ShockKind) -> f64 {
        self.scenario
            .shocks
            .iter()
            .filter(|shock| shock.kind == kind && step >= shock.step)
            .filter(|shock| {
                shock
                    .duration_steps
                    .is_none_or(|duration| step < shock.step.saturating_add(duration))
            })
            .map(|shock| shock.factor)
            .product()
    }

    fn to_tokens(&self, base_units: u128) -> f64 {
        base_units as f64 / self.unit
    }

    fn step(&mut self, step: u32) -> Result<StepRow> {
        let scenario = self.scenario;
        let step_days = f64::from(scenario.step_days);
        let years = f64::from(step) * step_days / DAYS_PER_YEAR;
        let kinds = scenario.device_kinds.len();

        // Activity per kind from the population as it stands (tallied while settling the
        // previous step, plus the operators who joined after it).
        let mut activity = match self.next_activity.take() {
            Some(activity) => activity,
            None => self.population.activity(kinds),
        };
        let operators = self.population.id.len() as u64;
        let capacity: f64 = activity.iter().map(|a| a.capacity).sum();

        // 1. Demand.
        let demand_params = &scenario.demand;
        let potential = match demand_params.growth {
            Growth::Constant => demand_params.initial,
            Growth::Exponential { rate_per_year } => {
                demand_params.initial * libm::exp(rate_per_year * years)
            }
            Growth::Logistic {
                rate_per_year,
                ceiling,
            } => {
                if demand_params.initial <= 0.0 || ceiling <= 0.0 {
                    0.0
                } else {
                    ceiling
                        / (1.0
                            + (ceiling / demand_params.initial - 1.0)
                                * libm::exp(-rate_per_year * years))
                }
            }
        };
        let service_price = demand_params.price_usd_per_unit
            * libm::pow(1.0 - demand_params.price_decline_per_year.min(0.99), years);
        let price_effect = libm::pow(
            service_price / demand_params.price_usd_per_unit,
            -demand_params.elasticity,
        );
        let noise = if demand_params.noise > 0.0 {
            let n = self.normal();
            libm::exp(demand_params.noise * n - demand_params.noise * demand_params.noise / 2.0)
        } else {
            1.0
        };
        let demand =
            potential * price_effect * noise * self.shock_factor(step, ShockKind::DemandDrop);
        let coverage = if demand_params.coverage_saturation_devices > 0.0 {
            1.0 - libm::exp(-(operators as f64) / demand_params.coverage_saturation_devices)
        } else if operators > 0 {
            1.0
        } else {
            0.0
        };
        let served_per_day = (demand * coverage).min(capacity * demand_params.max_utilisation);
        let served = served_per_day.max(0.0) * step_days;
        for slot in &mut activity {
            slot.served = if capacity > 0.0 {
                served * slot.capacity / capacity
            } else {
                0.0
            };
        }
        let revenue = served * service_price;
        let burn_usd = revenue * demand_params.burn_share;
        let fees_usd = revenue - burn_usd;

        // 2. Burn.
        let price = self.price;
        let wanted = (burn_usd / price * self.unit) as u128;
        let burned_by_users = wanted.min(self.ledger.market);
        self.ledger.market -= burned_by_users;
        self.ledger.burned += burned_by_users;
        self.ledger.supply -= burned_by_users;

        // 3. Mint.
        let epochs = scenario.epochs_per_step;
        let first_epoch = u64::from(step) * epochs;
        let schedule = &self.params.emission;
        let realised = capacity.max(0.0) as u128;
        // Epoch by epoch, with the function the app's rewards module mints with.
        let mut emission = 0u128;
        for epoch in first_epoch..first_epoch + epochs {
            let start = self.capacity_integral;
            self.capacity_integral = advance_integral(schedule, start, epoch, realised)?;
            let integral = CapacityIntegral {
                start,
                end: self.capacity_integral,
            };
            emission =
                emission.saturating_add(schedule.emission_for_epoch(epoch, integral)?.amount);
        }
        let reminted = match &self.params.net_emissions {
            Some(net) => {
                self.ledger.smoothed_burn =
                    NetEmissions::smoothed_burn(self.ledger.smoothed_burn, burned_by_users);
                net.remint(self.ledger.smoothed_burn)
            }
            None => 0,
        };
        let minted = emission + reminted;
        self.ledger.minted += minted;
        self.ledger.supply += minted;

        // 4. Rewards.
        let funds = EpochFunds {
            emission: minted,
            carried_in: std::mem::take(&mut self.ledger.carry_over),
        };
        let rewards = self.rewards(first_epoch, funds, &activity)?;
        self.ledger.operators += rewards.paid;
        self.ledger.treasury += rewards.settlement.to_treasury;
        self.ledger.burned += rewards.settlement.to_burn;
        self.ledger.supply -= rewards.settlement.to_burn;
        self.ledger.carry_over = rewards.settlement.carry_over;
        let sold = (rewards.paid as f64 * scenario.operators.sell_fraction) as u128;
        let sold = sold.min(self.ledger.operators);
        self.ledger.operators -= sold;
        self.ledger.market += sold;

        // 5. Operators.
        let fee_per_capacity = if capacity > 0.0 {
            fees_usd / capacity
        } else {
            0.0
        };
        let usd_per_base_unit = price / self.unit;
        let income_per_device: Vec<f64> = rewards
            .per_device
            .iter()
            .map(|a| a * usd_per_base_unit)
            .collect();
        let income_per_capacity: Vec<f64> = rewards
            .per_capacity
            .iter()
            .map(|b| b * usd_per_base_unit + fee_per_capacity)
            .collect();
        let cost_factor = self.shock_factor(step, ShockKind::CostRise);
        let tally = self.settle_operators(
            step,
            &income_per_device,
            &income_per_capacity,
            rewards.exact.as_deref(),
            usd_per_base_unit,
            fee_per_capacity,
            cost_factor,
        );

        // Expected income of a new device, for prospects (smoothed).
        let alpha = (step_days / scenario.operators.income_smoothing_days.max(step_days)).min(1.0);
        let total_operators_after = self.population.id.len() as f64;
        for (index, kind) in scenario.device_kinds.iter().enumerate() {
            let devices = activity[index].devices;
            let gross = if devices > 0 {
                if rewards.exact.is_some() {
                    tally.income_by_kind[index] / devices as f64
                } else {
                    income_per_device[index] + income_per_capacity[index] * kind.capacity_per_device
                }
            } else {
                // Nobody of this kind yet: a first device would share the step's emission
                // with everyone else.
                self.to_tokens(minted) * price / (total_operators_after + 1.0)
                    + fees_usd / (total_operators_after + 1.0)
            };
            let net =
                (gross - kind.operating_cost_usd_per_day * step_days * cost_factor) / step_days;
            let smoothed = match self.expected_income[index] {
                Some(previous) => previous + alpha * (net - previous),
                None => net,
            };
            self.expected_income[index] = Some(smoothed);
        }

        // 6. Price.
        let supply_tokens = self.to_tokens(self.ledger.supply);
        let next_price = self.next_price(
            step,
            price,
            burn_usd,
            self.to_tokens(sold) * price,
            supply_tokens,
        );

        // 7. Joining.
        let mut joined = 0u64;
        let survivors = self.population.id.len();
        for (index, (kind, left)) in activity.iter().zip(&tally.left_by_kind).enumerate() {
            let count = self.joiners(index, kind.devices.saturating_sub(*left));
            self.add_operators(index, count, step + 1);
            joined += count;
        }
        let mut next_activity = tally.survivors.clone();
        for (slot, new) in next_activity
            .iter_mut()
            .zip(self.population.activity_from(survivors, kinds))
        {
            slot.devices += new.devices;
            slot.capacity += new.capacity;
        }
        self.next_activity = Some(next_activity);
        self.price = next_price;

        // 8. Books.
        self.check_books(step)?;

        let operators_f = operators as f64;
        Ok(StepRow {
            step,
            day: (step + 1) * scenario.step_days,
            operators,
            joined,
            left: tally.left,
            capacity,
            coverage,
            demand,
            served,
            service_price_usd: service_price,
            revenue_usd: revenue,
            fees_to_operators_usd: fees_usd,
            token_price_usd: price,
            supply: supply_tokens,
            minted: self.to_tokens(minted),
            reminted: self.to_tokens(reminted),
            burned: self.to_tokens(burned_by_users + rewards.settlement.to_burn),
            rewards: self.to_tokens(rewards.paid),
            treasury: self.to_tokens(self.ledger.treasury),
            operator_income_usd: tally.income,
            operator_costs_usd: tally.costs,
            operator_profit_usd: tally.income - tally.costs,
            profitable_share: if operators > 0 {
                tally.profitable as f64 / operators_f
            } else {
                0.0
            },
            paid_back_share: if operators > 0 {
                tally.paid_back as f64 / operators_f
            } else {
                0.0
            },
            market_cap_usd: supply_tokens * price,
        })
    }

    fn rewards(
        &self,
        epoch: u64,
        funds: EpochFunds,
        activity: &[KindActivity],
    ) -> Result<StepRewards> {
        let demand = &self.scenario.demand;
        match self.scenario.engine {
            RewardEngine::Cohort => cohort_rewards(
                &self.params,
                funds,
                demand.pool,
                demand.credits_per_unit,
                self.scenario.step_days,
                &self.work,
                activity,
            ),
            RewardEngine::PerDevice => {
                let population = &self.population;
                let operators: Vec<OperatorView> = population
                    .id
                    .iter()
                    .zip(&population.kind)
                    .zip(&population.capacity)
                    .map(|((id, kind), capacity)| OperatorView {
                        id: *id,
                        kind: usize::from(*kind),
                        capacity: f64::from(*capacity),
                    })
                    .collect();
                per_device_rewards(
                    &self.params,
                    epoch,
                    funds,
                    demand.pool,
                    demand.credits_per_unit,
                    self.scenario.step_days,
                    &self.work,
                    activity,
                    &operators,
                )
            }
        }
    }

    /// Pay every operator, count profits, drop those who ran out of patience.
    ///
    /// Operators are processed in fixed-size chunks spread over the cores; each chunk compacts
    /// its survivors in place, then the chunks are joined in order. Chunk boundaries do not
    /// depend on the number of threads, and tallies are added in chunk order, so the result is
    /// the same on any machine.
    #[allow(clippy::too_many_arguments)]
    fn settle_operators(
        &mut self,
        step: u32,
        income_per_device: &[f64],
        income_per_capacity: &[f64],
        exact: Option<&[u128]>,
        usd_per_base_unit: f64,
        fee_per_capacity: f64,
        cost_factor: f64,
    ) -> Tally {
        let kinds = income_per_device.len();
        let rates = Rates {
            step,
            step_days: self.scenario.step_days,
            income_per_device,
            income_per_capacity,
            exact,
            usd_per_base_unit,
            fee_per_capacity,
            cost_factor,
        };
        let p = &mut self.population;
        let chunks: Vec<Chunk<'_>> =
            p.id.chunks_mut(SETTLE_CHUNK)
                .zip(p.kind.chunks_mut(SETTLE_CHUNK))
                .zip(p.capacity.chunks_mut(SETTLE_CHUNK))
                .zip(p.cost.chunks_mut(SETTLE_CHUNK))
                .zip(p.patience.chunks_mut(SETTLE_CHUNK))
                .zip(p.streak.chunks_mut(SETTLE_CHUNK))
                .zip(p.balance.chunks_mut(SETTLE_CHUNK))
                .zip(p.joined.chunks_mut(SETTLE_CHUNK))
                .enumerate()
                .map(
                    |(
                        index,
                        (((((((id, kind), capacity), cost), patience), streak), balance), joined),
                    )| Chunk {
                        offset: index * SETTLE_CHUNK,
                        id,
                        kind,
                        capacity,
                        cost,
                        patience,
                        streak,
                        balance,
                        joined,
                    },
                )
                .collect();
        let settle = |chunk: Chunk<'_>| {
            let offset = chunk.offset;
            let (kept, tally) = settle_chunk(chunk, &rates, kinds);
            (offset, kept, tally)
        };
        // One chunk needs no thread hand-off (and small worlds are mostly one chunk).
        let tallies: Vec<(usize, usize, Tally)> = if chunks.len() > 1 {
            chunks.into_par_iter().map(settle).collect()
        } else {
            chunks.into_iter().map(settle).collect()
        };
        let mut total = Tally {
            left_by_kind: vec![0; kinds],
            income_by_kind: vec![0.0; kinds],
            survivors: vec![KindActivity::default(); kinds],
            ..Tally::default()
        };
        let mut write = 0usize;
        for (offset, kept, tally) in tallies {
            if write != offset {
                let range = offset..offset + kept;
                p.id.copy_within(range.clone(), write);
                p.kind.copy_within(range.clone(), write);
                p.capacity.copy_within(range.clone(), write);
                p.cost.copy_within(range.clone(), write);
                p.patience.copy_within(range.clone(), write);
                p.streak.copy_within(range.clone(), write);
                p.balance.copy_within(range.clone(), write);
                p.joined.copy_within(range, write);
            }
            write += kept;
            total.add(tally, &mut self.payback_histogram);
        }
        p.id.truncate(write);
        p.kind.truncate(write);
        p.capacity.truncate(write);
        p.cost.truncate(write);
        p.patience.truncate(write);
        p.streak.truncate(write);
        p.balance.truncate(write);
        p.joined.truncate(write);
        total
    }

    fn next_price(
        &mut self,
        step: u32,
        price: f64,
        buy_usd: f64,
        sell_usd: f64,
        supply_tokens: f64,
    ) -> f64 {
        let next_step = step + 1;
        let crash = self
            .scenario
            .shocks
            .iter()
            .filter(|s| s.kind == ShockKind::PriceCrash && s.step == next_step)
            .map(|s| s.factor)
            .product::<f64>();
        let step_days = f64::from(self.scenario.step_days);
        let price = match &self.scenario.market {
            Market::BurnAndMint {
                depth_fraction,
                min_depth_usd,
                noise,
                speculative_inflow_usd_per_day,
                ..
            } => {
                let speculation = if speculative_inflow_usd_per_day.is_empty() {
                    0.0
                } else {
                    interpolate(speculative_inflow_usd_per_day, f64::from(step)) * step_days
                };
                let depth = (depth_fraction * supply_tokens * price)
                    .max(*min_depth_usd)
                    .max(1.0);
                let flow = ((buy_usd + speculation - sell_usd) / depth).clamp(-2.0, 2.0);
                let sigma = noise * libm::sqrt(step_days);
                let shock = if sigma > 0.0 {
                    sigma * self.normal() - sigma * sigma / 2.0
                } else {
                    0.0
                };
                price * libm::exp(flow + shock) * crash
            }
            Market::Path { points, noise } => {
                let base = interpolate(points, f64::from(next_step));
                let later_crashes = self
                    .scenario
                    .shocks
                    .iter()
                    .filter(|s| s.kind == ShockKind::PriceCrash && s.step <= next_step)
                    .map(|s| s.factor)
                    .product::<f64>();
                let sigma = *noise;
                let shock = if sigma > 0.0 {
                    libm::exp(sigma * self.normal() - sigma * sigma / 2.0)
                } else {
                    1.0
                };
                base * later_crashes * shock
            }
        };
        price.clamp(1e-12, 1e12)
    }

    fn joiners(&mut self, index: usize, current: u64) -> u64 {
        let scenario = self.scenario;
        let Some(kind) = scenario.device_kinds.get(index) else {
            return 0;
        };
        let room = kind.max_operators.saturating_sub(current);
        let Some(net_per_day) = self.expected_income[index] else {
            return 0;
        };
        if room == 0 || net_per_day <= 0.0 {
            return 0;
        }
        let operators = &scenario.operators;
        let payback_days = kind.hardware_cost_usd / net_per_day;
        // Share of prospects whose accepted payback (log-normal around the median) is longer.
        let accepting = if operators.payback_spread > 0.0 {
            let z = (libm::log(payback_days.max(1e-9))
                - libm::log(operators.payback_threshold_days))
                / operators.payback_spread;
            0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
        } else if payback_days <= operators.payback_threshold_days {
            1.0
        } else {
            0.0
        };
        let rate = (operators.join_rate_per_day * f64::from(scenario.step_days)).min(1.0);
        let expected = room as f64 * rate * accepting;
        // Stochastic rounding keeps small flows alive without biasing large ones.
        let whole = expected.floor();
        let extra = if self.uniform() < expected - whole {
            1.0
        } else {
            0.0
        };
        ((whole + extra) as u64).min(room)
    }

    fn check_books(&self, step: u32) -> Result<()> {
        let l = &self.ledger;
        let expected = (l.initial + l.minted).checked_sub(l.burned);
        let balances = l.market + l.operators + l.treasury + l.carry_over;
        if expected != Some(l.supply) || balances != l.supply {
            return Err(SimError::Conservation {
                step,
                supply: l.supply,
                expected: expected.unwrap_or(0),
                balances,
            });
        }
        Ok(())
    }
}

fn advance_integral(
    schedule: &EmissionSchedule,
    integral: u128,
    epoch: u64,
    realised: u128,
) -> Result<u128> {
    let mut next = integral;
    for curve in &schedule.curves {
        if let groundwork_tokenomics::EmissionCurve::Baseline(baseline) = curve {
            // One baseline curve drives R̄Σ (Filecoin has one).
            next = baseline.advance_capacity_integral(integral, epoch, realised)?;
            break;
        }
    }
    Ok(next)
}

/// Operators per parallel chunk when settling a step.
const SETTLE_CHUNK: usize = 1 << 16;

#[derive(Default)]
struct Tally {
    income: f64,
    costs: f64,
    profitable: u64,
    paid_back: u64,
    left: u64,
    left_by_kind: Vec<u64>,
    income_by_kind: Vec<f64>,
    /// Days it took operators who earned back their hardware in this step.
    paybacks: Vec<usize>,
    /// Devices and capacity per kind of the operators who stay.
    survivors: Vec<KindActivity>,
}

impl Tally {
    fn add(&mut self, other: Tally, histogram: &mut [u64]) {
        self.income += other.income;
        self.costs += other.costs;
        self.profitable += other.profitable;
        self.paid_back += other.paid_back;
        self.left += other.left;
        for (a, b) in self.left_by_kind.iter_mut().zip(other.left_by_kind) {
            *a += b;
        }
        for (a, b) in self.income_by_kind.iter_mut().zip(other.income_by_kind) {
            *a += b;
        }
        for (a, b) in self.survivors.iter_mut().zip(other.survivors) {
            a.devices += b.devices;
            a.capacity += b.capacity;
        }
        let last = histogram.len().saturating_sub(1);
        for days in other.paybacks {
            if let Some(slot) = histogram.get_mut(days.min(last)) {
                *slot += 1;
            }
        }
    }
}

/// What every operator is paid this step.
struct Rates<'a> {
    step: u32,
    step_days: u32,
    income_per_device: &'a [f64],
    income_per_capacity: &'a [f64],
    exact: Option<&'a [u128]>,
    usd_per_base_unit: f64,
    fee_per_capacity: f64,
    cost_factor: f64,
}

/// A run of operators, one slice per column.
struct Chunk<'a> {
    offset: usize,
    id: &'a mut [u32],
    kind: &'a mut [u8],
    capacity: &'a mut [f32],
    cost: &'a mut [f32],
    patience: &'a mut [u16],
    streak: &'a mut [u16],
    balance: &'a mut [f32],
    joined: &'a mut [u32],
}

/// Settle one chunk; survivors are moved to its front. Returns how many survived.
fn settle_chunk(c: Chunk<'_>, rates: &Rates<'_>, kinds: usize) -> (usize, Tally) {
    match rates.exact {
        Some(amounts) => {
            let amounts = amounts.get(c.offset..).unwrap_or(&[]);
            let income = |i: usize, _kind: usize, capacity: f64| {
                amounts.get(i).copied().unwrap_or(0) as f64 * rates.usd_per_base_unit
                    + rates.fee_per_capacity * capacity
            };
            if kinds == 1 {
                settle_chunk_with::<true>(c, rates, kinds, income)
            } else {
                settle_chunk_with::<false>(c, rates, kinds, income)
            }
        }
        None if kinds == 1 => settle_one_kind(c, rates),
        None => {
            let income = |_i: usize, kind: usize, capacity: f64| {
                rates.income_per_device.get(kind).copied().unwrap_or(0.0)
                    + rates.income_per_capacity.get(kind).copied().unwrap_or(0.0) * capacity
            };
            if kinds == 1 {
                settle_chunk_with::<true>(c, rates, kinds, income)
            } else {
                settle_chunk_with::<false>(c, rates, kinds, income)
            }
        }
    }
}

/// Partial sums per lane: operator `i` adds to lane `i % LANES`, so consecutive operators do
/// not wait on each other's floating-point additions. The lanes are added in lane order at the
/// end, so the result depends only on the operators, never on threads.
const LANES: usize = 4;

fn sum_lanes(lanes: &[f64; LANES]) -> f64 {
    lanes.iter().sum()
}

/// The settling loop. `ONE_KIND` (every operator is of kind 0) keeps every tally in local
/// variables; otherwise tallies per kind live in small vectors.
fn settle_chunk_with<const ONE_KIND: bool>(
    c: Chunk<'_>,
    rates: &Rates<'_>,
    kinds: usize,
    income_of: impl Fn(usize, usize, f64) -> f64,
) -> (usize, Tally) {
    let mut costs = [0.0f64; LANES];
    let mut income_one = [0.0f64; LANES];
    let mut capacity_one = [0.0f64; LANES];
    let mut income_by_kind = vec![[0.0f64; LANES]; if ONE_KIND { 0 } else { kinds }];
    let mut capacity_by_kind = vec![[0.0f64; LANES]; if ONE_KIND { 0 } else { kinds }];
    let mut left_by_kind = vec![0u64; kinds];
    let mut devices_by_kind = vec![0u64; if ONE_KIND { 0 } else { kinds }];
    let (mut profitable, mut paid_back, mut left) = (0u64, 0u64, 0u64);
    let mut paybacks = Vec::new();
    let mut keep = 0usize;
    let len =
        c.id.len()
            .min(c.kind.len())
            .min(c.capacity.len())
            .min(c.cost.len())
            .min(c.patience.len())
            .min(c.streak.len())
            .min(c.balance.len())
            .min(c.joined.len());
    for i in 0..len {
        let lane = i % LANES;
        let kind = if ONE_KIND { 0 } else { usize::from(c.kind[i]) };
        let capacity = f64::from(c.capacity[i]);
        let income = income_of(i, kind, capacity);
        let cost = f64::from(c.cost[i]) * rates.cost_factor;
        let profit = income - cost;
        costs[lane] += cost;
        if ONE_KIND {
            income_one[lane] += income;
        } else if let Some(slot) = income_by_kind.get_mut(kind) {
            slot[lane] += income;
        }
        let before = c.balance[i];
        let after = before + profit as f32;
        c.balance[i] = after;
        if before < 0.0 && after >= 0.0 {
            let steps = (rates.step + 1).saturating_sub(c.joined[i]) as usize;
            paybacks.push(steps * rates.step_days as usize);
        }
        paid_back += u64::from(after >= 0.0);
        // Branch-free: whether a step is profitable is a coin toss for operators near break-even.
        let unprofitable = u16::from(profit < 0.0);
        profitable += u64::from(1 - unprofitable);
        let streak = c.streak[i].saturating_add(1) * unprofitable;
        c.streak[i] = streak;
        if streak >= c.patience[i] {
            left += 1;
            if !ONE_KIND && let Some(slot) = left_by_kind.get_mut(kind) {
                *slot += 1;
            }
            continue;
        }
        if ONE_KIND {
            capacity_one[lane] += capacity;
        } else {
            if let Some(slot) = capacity_by_kind.get_mut(kind) {
                slot[lane] += capacity;
            }
            if let Some(slot) = devices_by_kind.get_mut(kind) {
                *slot += 1;
            }
        }
        if keep != i {
            c.id[keep] = c.id[i];
            c.kind[keep] = c.kind[i];
            c.capacity[keep] = c.capacity[i];
            c.cost[keep] = c.cost[i];
            c.patience[keep] = c.patience[i];
            c.streak[keep] = streak;
            c.balance[keep] = after;
            c.joined[keep] = c.joined[i];
        }
        keep += 1;
    }
    let (income_by_kind, survivors) = if ONE_KIND {
        if let Some(slot) = left_by_kind.first_mut() {
            *slot = left;
        }
        let survivors = KindActivity {
            devices: keep as u64,
            capacity: sum_lanes(&capacity_one),
            served: 0.0,
        };
        (vec![sum_lanes(&income_one)], vec![survivors])
    } else {
        let survivors = devices_by_kind
            .iter()
            .zip(&capacity_by_kind)
            .map(|(devices, capacity)| KindActivity {
                devices: *devices,
                capacity: sum_lanes(capacity),
                served: 0.0,
            })
            .collect();
        (income_by_kind.iter().map(sum_lanes).collect(), survivors)
    };
    let tally = Tally {
        income: income_by_kind.iter().sum(),
        costs: sum_lanes(&costs),
        profitable,
        paid_back,
        left,
        left_by_kind,
        income_by_kind,
        paybacks,
        survivors,
    };
    (keep, tally)
}

/// What one operator of the single kind earns and spends this step.
struct Pay {
    per_device: f64,
    per_capacity: f64,
    cost_factor: f64,
}

/// Running tallies of [`settle_one_kind`]; sums of money and capacity keep one partial sum per
/// lane (operator `i` adds to lane `i % LANE`), added in lane order at the end.
#[derive(Default)]
struct Lanes {
    income: [f64; LANE],
    costs: [f64; LANE],
    kept_capacity: [f64; LANE],
    profitable: u64,
    paid_back: u64,
    leaving: u64,
}

/// Partial sums per tally in [`settle_one_kind`].
const LANE: usize = 8;

/// Per-block working columns of [`Pay::settle_block`], overwritten by every block.
struct Scratch {
    before: [f32; BLOCK],
    profit: [f32; BLOCK],
    /// 1 where the operator's step was unprofitable, 0 otherwise.
    unprofitable: [u16; BLOCK],
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            before: [0.0; BLOCK],
            profit: [0.0; BLOCK],
            unprofitable: [0; BLOCK],
        }
    }
}

/// What settling one block found.
struct BlockSettled {
    /// Somebody earned back their hardware in this step.
    crossed: bool,
    /// Operators who ran out of patience.
    leaving: u32,
}

impl Pay {
    /// Pay one operator (lane `j`): income, costs, balance, unprofitable streak, leaving.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn settle(
        &self,
        lanes: &mut Lanes,
        j: usize,
        capacity: f32,
        cost: f32,
        balance: &mut f32,
        streak: &mut u16,
        patience: u16,
    ) {
        let lane = j % LANE;
        let capacity = f64::from(capacity);
        let earned = self.per_device + self.per_capacity * capacity;
        let spent = f64::from(cost) * self.cost_factor;
        let profit = earned - spent;
        lanes.income[lane] += earned;
        lanes.costs[lane] += spent;
        let after = *balance + profit as f32;
        *balance = after;
        lanes.paid_back += u64::from(after >= 0.0);
        let unprofitable = u16::from(profit < 0.0);
        lanes.profitable += u64::from(1 - unprofitable);
        let run = streak.saturating_add(1) * unprofitable;
        *streak = run;
        let leaves = run >= patience;
        lanes.leaving += u64::from(leaves);
        lanes.kept_capacity[lane] += if leaves { 0.0 } else { capacity };
    }

    /// Pay a whole block, the same rules as [`Pay::settle`] operator by operator, written as
    /// three passes over the block, one per element width (money in `f64`, balances in `f32`,
    /// streaks in `u16`), each simple enough for the compiler to turn into vector
    /// instructions. Every sum takes the same additions in the same order as [`Pay::settle`]
    /// would, so the results are identical to the last bit. Leaves the balances before the step
    /// in `scratch.before`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn settle_block(
        &self,
        lanes: &mut Lanes,
        capacity: &[f32; BLOCK],
        cost: &[f32; BLOCK],
        balance: &mut [f32; BLOCK],
        streak: &mut [u16; BLOCK],
        patience: &[u16; BLOCK],
        scratch: &mut Scratch,
    ) -> BlockSettled {
        let Scratch {
            before,
            profit,
            unprofitable,
        } = scratch;
        // Money, lane by lane. The capacity sum counts everyone; in the rare block where
        // somebody leaves it is taken again below without them.
        let (mut income, mut costs) = (lanes.income, lanes.costs);
        let kept_before = lanes.kept_capacity;
        let mut kept = kept_before;
        for j in 0..BLOCK {
            let earned = self.per_device + self.per_capacity * f64::from(capacity[j]);
            let net = earned - f64::from(cost[j]) * self.cost_factor;
            profit[j] = net as f32;
            unprofitable[j] = u16::from(net < 0.0);
        }
        // The same products again (cheaper than storing them), summed lane by lane.
        for base in (0..BLOCK).step_by(LANE) {
            for k in 0..LANE {
                let j = base + k;
                let capacity = f64::from(capacity[j]);
                income[k] += self.per_device + self.per_capacity * capacity;
                costs[k] += f64::from(cost[j]) * self.cost_factor;
                kept[k] += capacity;
            }
        }
        // Balances.
        let (mut crossed, mut paid_back) = (0u8, 0u32);
        for j in 0..BLOCK {
            before[j] = balance[j];
            let after = before[j] + profit[j];
            balance[j] = after;
            crossed |= u8::from(before[j] < 0.0) & u8::from(after >= 0.0);
            paid_back += u32::from(after >= 0.0);
        }
        // Unprofitable streaks and leaving.
        let (mut leaving, mut losing) = (0u16, 0u16);
        for j in 0..BLOCK {
            // 0 or all ones: the run goes on, or starts again at 0.
            let mask = unprofitable[j].wrapping_neg();
            let run = streak[j].saturating_add(1) & mask;
            streak[j] = run;
            leaving += u16::from(run >= patience[j]);
            losing += unprofitable[j];
        }
        if leaving > 0 {
            kept = kept_before;
            for base in (0..BLOCK).step_by(LANE) {
                for (k, sum) in kept.iter_mut().enumerate() {
                    let j = base + k;
                    let leaves = streak[j] >= patience[j];
                    *sum += if leaves { 0.0 } else { f64::from(capacity[j]) };
                }
            }
        }
        lanes.income = income;
        lanes.costs = costs;
        lanes.kept_capacity = kept;
        lanes.paid_back += u64::from(paid_back);
        lanes.leaving += u64::from(leaving);
        lanes.profitable += (BLOCK - usize::from(losing)) as u64;
        BlockSettled {
            crossed: crossed != 0,
            leaving: u32::from(leaving),
        }
    }
}

/// Operators per block in [`settle_one_kind`]: the passes over a block have a fixed length, so
/// the compiler turns them into vector instructions. A multiple of [`LANE`].
const BLOCK: usize = 64;
// A block's paybacks are found through a 64-bit mask; its money is summed lane by lane.
const _: () = assert!(BLOCK <= 64 && BLOCK.is_multiple_of(LANE));

/// Above this many leavers in a chunk, [`compact`] moves survivors one by one instead of in runs.
const FEW_LEAVERS: usize = 256;

/// Move the operators who stay to the front of the chunk, in order; `leavers` are the indices
/// (ascending) of those who go. Returns how many stay.
fn compact(c: &mut Chunk<'_>, leavers: &[usize]) -> usize {
    let len = c.id.len();
    let Some(&first) = leavers.first() else {
        return len;
    };
    let mut keep = first;
    if leavers.len() > FEW_LEAVERS {
        for i in first..len {
            if c.streak[i] >= c.patience[i] {
                continue;
            }
            c.id[keep] = c.id[i];
            c.kind[keep] = c.kind[i];
            c.capacity[keep] = c.capacity[i];
            c.cost[keep] = c.cost[i];
            c.patience[keep] = c.patience[i];
            c.streak[keep] = c.streak[i];
            c.balance[keep] = c.balance[i];
            c.joined[keep] = c.joined[i];
            keep += 1;
        }
        return keep;
    }
    // Each run of survivors between two leavers moves down in one copy per column.
    for (index, &leaver) in leavers.iter().enumerate() {
        let end = leavers.get(index + 1).copied().unwrap_or(len);
        let run = leaver + 1..end;
        let count = run.len();
        if count > 0 {
            c.id.copy_within(run.clone(), keep);
            c.kind.copy_within(run.clone(), keep);
            c.capacity.copy_within(run.clone(), keep);
            c.cost.copy_within(run.clone(), keep);
            c.patience.copy_within(run.clone(), keep);
            c.streak.copy_within(run.clone(), keep);
            c.balance.copy_within(run.clone(), keep);
            c.joined.copy_within(run, keep);
        }
        keep += count;
    }
    keep
}

/// Settles a chunk of operators of the single kind ([`settle_one_kind_in`]) with the widest
/// vector instructions the CPU offers: the same code compiled for AVX2 where the CPU has it
/// (checked at run time), for the baseline x86-64 otherwise. AVX2 only widens the registers:
/// the same IEEE operations run in the same order (no fused multiply-add), so the results are
/// identical to the last bit whichever path runs (a test compares both).
#[allow(unsafe_code)]
fn settle_one_kind(c: Chunk<'_>, rates: &Rates<'_>) -> (usize, Tally) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `settle_one_kind_avx2` requires nothing but AVX2, which this CPU has (checked
        // on the line above).
        return unsafe { settle_one_kind_avx2(c, rates) };
    }
    settle_one_kind_in(c, rates)
}

/// [`settle_one_kind_in`] compiled with AVX2 enabled.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn settle_one_kind_avx2(c: Chunk<'_>, rates: &Rates<'_>) -> (usize, Tally) {
    settle_one_kind_in(c, rates)
}

/// The common case (one kind of device, cohort rewards), written so the loop over the
/// operators has no branches and vectorises: a first pass pays everyone and counts, in lanes;
/// operators who earned back their hardware this step are picked out only in blocks that have
/// some, leavers only in blocks that have some, and the chunk is compacted only from the first
/// leaver on, a run of survivors at a time. Same rules as [`settle_chunk_with`]; partial sums
/// are taken per lane and added in lane order, so the result depends only on the operators.
#[inline(always)]
fn settle_one_kind_in(mut c: Chunk<'_>, rates: &Rates<'_>) -> (usize, Tally) {
    let pay = Pay {
        per_device: rates.income_per_device.first().copied().unwrap_or(0.0),
        per_capacity: rates.income_per_capacity.first().copied().unwrap_or(0.0),
        cost_factor: rates.cost_factor,
    };
    let mut lanes = Lanes::default();
    let mut scratch = Scratch::new();
    let mut paybacks = Vec::new();
    let mut leavers = Vec::new();
    let mut record_payback = |joined: u32| {
        let steps = (rates.step + 1).saturating_sub(joined) as usize;
        paybacks.push(steps * rates.step_days as usize);
    };
    {
        let (capacity, capacity_rest) = c.capacity.as_chunks::<BLOCK>();
        let (cost, cost_rest) = c.cost.as_chunks::<BLOCK>();
        let (balance, balance_rest) = c.balance.as_chunks_mut::<BLOCK>();
        let (streak, streak_rest) = c.streak.as_chunks_mut::<BLOCK>();
        let (patience, patience_rest) = c.patience.as_chunks::<BLOCK>();
        let (joined, joined_rest) = c.joined.as_chunks::<BLOCK>();
        let blocks = capacity.len();
        for (index, (((((capacity, cost), balance), streak), patience), joined)) in capacity
            .iter()
            .zip(cost)
            .zip(balance.iter_mut())
            .zip(streak.iter_mut())
            .zip(patience)
            .zip(joined)
            .enumerate()
        {
            let settled = pay.settle_block(
                &mut lanes,
                capacity,
                cost,
                balance,
                streak,
                patience,
                &mut scratch,
            );
            let before = &scratch.before;
            // Rare: most blocks have nobody earning back their hardware this step.
            // They are found without a branch per operator, then visited bit by bit.
            if settled.crossed {
                let mut crossed = 0u64;
                for j in 0..BLOCK {
                    let crossing = before[j] < 0.0 && balance[j] >= 0.0;
                    crossed |= u64::from(crossing) << j;
                }
                while crossed != 0 {
                    let j = crossed.trailing_zeros() as usize;
                    crossed &= crossed - 1;
                    record_payback(joined[j]);
                }
            }
            // Rare too: most blocks have nobody leaving.
            if settled.leaving > 0 {
                let offset = index * BLOCK;
                leavers.extend(
                    (0..BLOCK)
                        .filter(|&j| streak[j] >= patience[j])
                        .map(|j| offset + j),
                );
            }
        }
        for j in 0..capacity_rest.len() {
            let before = balance_rest[j];
            pay.settle(
                &mut lanes,
                j,
                capacity_rest[j],
                cost_rest[j],
                &mut balance_rest[j],
                &mut streak_rest[j],
                patience_rest[j],
            );
            if before < 0.0 && balance_rest[j] >= 0.0 {
                record_payback(joined_rest[j]);
            }
            if streak_rest[j] >= patience_rest[j] {
                leavers.push(blocks * BLOCK + j);
            }
        }
    }
    let Lanes {
        income,
        costs,
        kept_capacity,
        profitable,
        paid_back,
        leaving,
    } = lanes;
    let left = leaving;
    let keep = compact(&mut c, &leavers);
    let income: f64 = income.iter().sum();
    let tally = Tally {
        income,
        costs: costs.iter().sum(),
        profitable,
        paid_back,
        left,
        left_by_kind: vec![left],
        income_by_kind: vec![income],
        paybacks,
        survivors: vec![KindActivity {
            devices: keep as u64,
            capacity: kept_capacity.iter().sum(),
            served: 0.0,
        }],
    };
    (keep, tally)
}

/// Piecewise-linear interpolation of `[x, y]` points (sorted by x); flat beyond the ends.
pub(crate) fn interpolate(points: &[[f64; 2]], x: f64) -> f64 {
    let Some(first) = points.first() else {
        return 0.0;
    };
    if x <= first[0] {
        return first[1];
    }
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if x <= b[0] {
            let span = b[0] - a[0];
            if span <= 0.0 {
                return b[1];
            }
            return a[1] + (b[1] - a[1]) * (x - a[0]) / span;
        }
    }
    points.last().map_or(0.0, |p| p[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns of `n` operators with varied costs, capacities, balances and streaks, so that
    /// some are unprofitable, some earn back their hardware and some run out of patience.
    struct Columns {
        id: Vec<u32>,
        kind: Vec<u8>,
        capacity: Vec<f32>,
        cost: Vec<f32>,
        patience: Vec<u16>,
        streak: Vec<u16>,
        balance: Vec<f32>,
        joined: Vec<u32>,
    }

    impl Columns {
        fn new(n: u32) -> Columns {
            Columns {
                id: (0..n).collect(),
                kind: vec![0; n as usize],
                capacity: (0..n).map(|i| 0.5 + (i % 7) as f32 * 0.3).collect(),
                cost: (0..n).map(|i| 0.2 + (i % 11) as f32 * 0.1).collect(),
                patience: (0..n).map(|i| 1 + (i % 6) as u16).collect(),
                streak: (0..n).map(|i| (i % 5) as u16).collect(),
                balance: (0..n).map(|i| -1.5 + (i % 13) as f32 * 0.25).collect(),
                joined: (0..n).map(|i| i % 3).collect(),
            }
        }

        fn chunk(&mut self) -> Chunk<'_> {
            Chunk {
                offset: 0,
                id: &mut self.id,
                kind: &mut self.kind,
                capacity: &mut self.capacity,
                cost: &mut self.cost,
                patience: &mut self.patience,
                streak: &mut self.streak,
                balance: &mut self.balance,
                joined: &mut self.joined,
            }
        }
    }

    /// Rates of a one-kind world in which, over [`Columns::new`]'s operators, some earn back
    /// their hardware, some lose money and some leave.
    fn one_kind_rates() -> Rates<'static> {
        Rates {
            step: 9,
            step_days: 1,
            income_per_device: &[0.3],
            income_per_capacity: &[0.4],
            exact: None,
            usd_per_base_unit: 0.0,
            fee_per_capacity: 0.0,
            cost_factor: 1.1,
        }
    }

    #[test]
    fn the_one_kind_fast_path_settles_like_the_general_loop() {
        let rates = one_kind_rates();
        // 1003 operators: whole blocks of eight and a remainder.
        let (mut fast, mut general) = (Columns::new(1003), Columns::new(1003));
        let (kept_fast, tally_fast) = settle_one_kind(fast.chunk(), &rates);
        let income = |_i: usize, kind: usize, capacity: f64| {
            rates.income_per_device[kind] + rates.income_per_capacity[kind] * capacity
        };
        let (kept, tally) = settle_chunk_with::<false>(general.chunk(), &rates, 1, income);
        assert_eq!(kept_fast, kept);
        assert!(tally.left > 0 && !tally.paybacks.is_empty() && tally.profitable < 1003);
        assert_eq!(tally_fast.left, tally.left);
        assert_eq!(tally_fast.left_by_kind, tally.left_by_kind);
        assert_eq!(tally_fast.profitable, tally.profitable);
        assert_eq!(tally_fast.paid_back, tally.paid_back);
        assert_eq!(tally_fast.paybacks, tally.paybacks);
        assert_eq!(tally_fast.survivors[0].devices, tally.survivors[0].devices);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        assert!(close(tally_fast.income, tally.income));
        assert!(close(tally_fast.costs, tally.costs));
        assert!(close(
            tally_fast.survivors[0].capacity,
            tally.survivors[0].capacity
        ));
        // The survivors, compacted in the same order with the same balances and streaks.
        assert_eq!(fast.id[..kept], general.id[..kept]);
        assert_eq!(fast.balance[..kept], general.balance[..kept]);
        assert_eq!(fast.streak[..kept], general.streak[..kept]);
    }

    #[test]
    fn the_avx2_build_of_the_operator_loop_settles_bit_for_bit_like_the_baseline() {
        let rates = one_kind_rates();
        // settle_one_kind picks AVX2 where the CPU has it; settle_one_kind_in called from here
        // is the baseline build.
        let (mut dispatched, mut baseline) = (Columns::new(1003), Columns::new(1003));
        let (kept_a, a) = settle_one_kind(dispatched.chunk(), &rates);
        let (kept_b, b) = settle_one_kind_in(baseline.chunk(), &rates);
        assert!(
            a.left > 0 && !a.paybacks.is_empty(),
            "the test exercises leaving and paying back"
        );
        assert_eq!(kept_a, kept_b);
        assert_eq!(a.income.to_bits(), b.income.to_bits());
        assert_eq!(a.costs.to_bits(), b.costs.to_bits());
        assert_eq!(
            a.survivors[0].capacity.to_bits(),
            b.survivors[0].capacity.to_bits()
        );
        assert_eq!(
            (a.left, a.profitable, a.paid_back, &a.paybacks),
            (b.left, b.profitable, b.paid_back, &b.paybacks)
        );
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&dispatched.balance[..kept_a]),
            bits(&baseline.balance[..kept_b])
        );
        assert_eq!(dispatched.streak[..kept_a], baseline.streak[..kept_b]);
        assert_eq!(dispatched.id[..kept_a], baseline.id[..kept_b]);
    }

    #[test]
    fn the_block_passes_settle_bit_for_bit_like_one_operator_at_a_time() {
        let rates = one_kind_rates();
        let pay = Pay {
            per_device: 0.3,
            per_capacity: 0.4,
            cost_factor: 1.1,
        };
        // 1003 operators: fifteen blocks of 64 and a remainder; some earn back their hardware,
        // some are unprofitable, some leave, in several blocks.
        let (mut fast, mut one) = (Columns::new(1003), Columns::new(1003));
        let (kept, tally) = settle_one_kind(fast.chunk(), &rates);
        let mut lanes = Lanes::default();
        let mut survivors = Vec::new();
        for i in 0..one.id.len() {
            pay.settle(
                &mut lanes,
                i,
                one.capacity[i],
                one.cost[i],
                &mut one.balance[i],
                &mut one.streak[i],
                one.patience[i],
            );
            if one.streak[i] < one.patience[i] {
                survivors.push(i);
            }
        }
        assert!(tally.left > 0 && tally.left < 1003 && !tally.paybacks.is_empty());
        assert_eq!(kept, survivors.len());
        assert_eq!(tally.left, lanes.leaving);
        assert_eq!(tally.profitable, lanes.profitable);
        assert_eq!(tally.paid_back, lanes.paid_back);
        let bits = |lanes: &[f64; LANE]| lanes.iter().sum::<f64>().to_bits();
        assert_eq!(tally.income.to_bits(), bits(&lanes.income));
        assert_eq!(tally.costs.to_bits(), bits(&lanes.costs));
        assert_eq!(
            tally.survivors[0].capacity.to_bits(),
            bits(&lanes.kept_capacity)
        );
        // Every survivor's columns, moved to the front in order, bit for bit.
        for (slot, &i) in survivors.iter().enumerate() {
            assert_eq!(fast.id[slot], one.id[i]);
            assert_eq!(fast.capacity[slot].to_bits(), one.capacity[i].to_bits());
            assert_eq!(fast.cost[slot].to_bits(), one.cost[i].to_bits());
            assert_eq!(fast.balance[slot].to_bits(), one.balance[i].to_bits());
            assert_eq!(fast.streak[slot], one.streak[i]);
            assert_eq!(fast.patience[slot], one.patience[i]);
            assert_eq!(fast.joined[slot], one.joined[i]);
        }
    }

    #[test]
    fn compaction_keeps_survivors_in_order_with_few_or_many_leavers() {
        for leavers in [
            vec![],
            vec![0],
            vec![5, 6, 99],
            (0..1003).step_by(3).collect(),
        ] {
            let mut columns = Columns::new(1003);
            for i in 0..1003 {
                let leaves = leavers.contains(&i);
                columns.streak[i] = if leaves { columns.patience[i] } else { 0 };
            }
            let expected: Vec<u32> = (0..1003u32)
                .filter(|i| !leavers.contains(&(*i as usize)))
                .collect();
            let kept = compact(&mut columns.chunk(), &leavers);
            assert_eq!(columns.id[..kept], expected[..]);
            assert!(columns.streak[..kept].iter().all(|s| *s == 0));
        }
    }

    #[test]
    fn interpolation_is_flat_outside_and_linear_inside() {
        let points = [[0.0, 1.0], [10.0, 3.0], [20.0, 3.0]];
        assert_eq!(interpolate(&points, -5.0), 1.0);
        assert_eq!(interpolate(&points, 5.0), 2.0);
        assert_eq!(interpolate(&points, 100.0), 3.0);
    }
}
