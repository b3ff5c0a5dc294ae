//! Turning a step's activity into rewards with the network's own reward math.
//!
//! Two engines give the same pool totals (a test checks it):
//!
//! * **Per device** ([`per_device_rewards`]): every operator becomes a
//!   [`DeviceActivity`] and [`compute_epoch_rewards`] runs on all of them, exactly as the app's
//!   rewards module will. Cost grows with the population (about 0.6 s per million devices per
//!   step), so it is for small worlds and for checking the other engine.
//! * **Cohort** ([`cohort_rewards`]): the devices of one kind do identical work per device (the
//!   world has no geography), so each kind is one [`Contribution`] per pool whose units are the
//!   sum of its devices' units, shared by [`distribute_owned`] after [`PoolSplit::split`]; what
//!   nobody earned and the rounding dust are routed by [`Settlement::route`] as
//!   `compute_epoch_rewards` routes them. A kind's payout is then divided among its devices by
//!   their own units (equally for per-device pools, by capacity for capacity pools).
//!
//! The simulator has no locations, so HIP-17 density scaling is off (scale 1) in both engines,
//! and every device has a perfect reputation.
//!
//! [`PoolSplit::split`]: groundwork_tokenomics::PoolSplit::split

use groundwork_tokenomics::{
    BeaconUnits, Contribution, DeviceActivity, EpochFunds, Fixed, ProofKind, Settlement,
    TokenomicsParams, compute_epoch_rewards, distribute_owned,
};

use crate::error::Result;
use crate::scenario::DeviceKind;

/// Storage and capacity units are counted in thousandths of a capacity unit × day.
pub(crate) const CAPACITY_UNIT_SCALE: f64 = 1_000.0;

/// What one kind of device did in a step.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct KindActivity {
    /// Devices online.
    pub devices: u64,
    /// Their summed capacity (service units per day).
    pub capacity: f64,
    /// Service units they served this step.
    pub served: f64,
}

/// The per-device work of a kind in one step, in pool units.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeviceWork {
    heartbeats: u32,
    beacons: u32,
    witnessed: u32,
    witnesses: u32,
    sensor_readings: u64,
    coverage_units: f64,
}

impl DeviceWork {
    pub(crate) fn new(params: &TokenomicsParams, kind: &DeviceKind, step_days: u32) -> Self {
        let beacons = kind.beacons_per_day.saturating_mul(step_days);
        let units: BeaconUnits = params.coverage.beacon_units(kind.witnesses_per_beacon);
        // Every beacon has `rewarded_witnesses` rewarded witnesses; with identical devices, each
        // device witnesses as many beacons as it sends times that number.
        let witnessed = beacons.saturating_mul(units.rewarded_witnesses);
        let coverage_units = to_f64(units.beaconer) * f64::from(beacons)
            + to_f64(units.per_witness) * f64::from(witnessed);
        DeviceWork {
            heartbeats: kind.heartbeats_per_day.saturating_mul(step_days),
            beacons,
            witnessed,
            witnesses: kind.witnesses_per_beacon,
            sensor_readings: kind
                .sensor_readings_per_day
                .saturating_mul(u64::from(step_days)),
            coverage_units,
        }
    }
}

/// Rewards of a step.
#[derive(Clone, Debug, Default)]
pub(crate) struct StepRewards {
    /// Base units each device of a kind earns from pools shared per device.
    pub per_device: Vec<f64>,
    /// Base units a kind earns per unit of capacity (capacity- and demand-weighted pools).
    pub per_capacity: Vec<f64>,
    /// Exact base units per operator, in operator order (per-device engine only).
    pub exact: Option<Vec<u128>>,
    /// Base units paid to devices.
    pub paid: u128,
    /// Where the rest went.
    pub settlement: Settlement,
}

fn to_f64(value: Fixed) -> f64 {
    value.raw() as f64 / 1e18
}

fn fixed_from_f64(value: f64) -> Fixed {
    if value.is_nan() || value <= 0.0 {
        return Fixed::ZERO;
    }
    // Saturates at u128::MAX for absurd values (the `as` cast does).
    Fixed::from_raw((value * 1e18) as u128)
}

/// Whether a pool is shared per device (true) or per unit of capacity (false).
fn shared_per_device(kind: ProofKind) -> bool {
    matches!(
        kind,
        ProofKind::Uptime | ProofKind::Coverage | ProofKind::SensorData
    )
}

/// The cohort engine: one contribution per device kind and pool.
pub(crate) fn cohort_rewards(
    params: &TokenomicsParams,
    funds: EpochFunds,
    demand_pool: ProofKind,
    credits_per_unit: f64,
    step_days: u32,
    work: &[DeviceWork],
    activity: &[KindActivity],
) -> Result<StepRewards> {
    let available = funds.emission.saturating_add(funds.carried_in);
    let split = params.pools.split(available)?;
    let mut rewards = StepRewards {
        per_device: vec![0.0; activity.len()],
        per_capacity: vec![0.0; activity.len()],
        ..StepRewards::default()
    };
    rewards
        .settlement
        .route(params.pools.rounding, split.rounding_remainder);
    for spec in &params.pools.pools {
        let amount = split.pools.get(&spec.kind).copied().unwrap_or(0);
        let mut contributions = Vec::with_capacity(activity.len());
        for (index, (kind_work, kind)) in work.iter().zip(activity).enumerate() {
            if kind.devices == 0 {
                continue;
            }
            let devices = kind.devices as f64;
            let units = match spec.kind {
                ProofKind::Uptime => {
                    if kind_work.heartbeats < params.uptime.min_heartbeats {
                        0.0
                    } else {
                        devices
                    }
                }
                ProofKind::Coverage => devices * kind_work.coverage_units,
                ProofKind::SensorData => devices * kind_work.sensor_readings as f64,
                ProofKind::Storage => kind.capacity * f64::from(step_days) * CAPACITY_UNIT_SCALE,
                other if other == demand_pool => kind.served * credits_per_unit,
                _ => 0.0,
            };
            let units = fixed_from_f64(units);
            if !units.is_zero() {
                contributions.push(Contribution::new(index as u32, units));
            }
        }
        let distribution = distribute_owned(amount, contributions)?;
        let destination = if distribution.total_weight == 0 {
            params.pools.unclaimed
        } else {
            params.pools.rounding
        };
        rewards
            .settlement
            .route(destination, distribution.remainder);
        for payout in &distribution.payouts {
            let index = payout.device as usize;
            let Some(kind) = activity.get(index) else {
                continue;
            };
            rewards.paid += payout.amount;
            if shared_per_device(spec.kind) {
                rewards.per_device[index] += payout.amount as f64 / kind.devices as f64;
            } else if kind.capacity > 0.0 {
                rewards.per_capacity[index] += payout.amount as f64 / kind.capacity;
            }
        }
    }
    Ok(rewards)
}

/// One operator, as the per-device engine sees it.
pub(crate) struct OperatorView {
    pub id: u32,
    pub kind: usize,
    pub capacity: f64,
}

/// The per-device engine: [`compute_epoch_rewards`] over every operator (sorted by id).
#[allow(clippy::too_many_arguments)]
pub(crate) fn per_device_rewards(
    params: &TokenomicsParams,
    epoch: u64,
    funds: EpochFunds,
    demand_pool: ProofKind,
    credits_per_unit: f64,
    step_days: u32,
    work: &[DeviceWork],
    activity: &[KindActivity],
    operators: &[OperatorView],
) -> Result<StepRewards> {
    // No geography in the simulator: density scaling would mark every device "no location".
    let mut params = params.clone();
    for pool in &mut params.pools.pools {
        pool.apply_density = false;
    }
    let devices: Vec<DeviceActivity<u32>> = operators
        .iter()
        .map(|operator| {
            let mut device = DeviceActivity::new(operator.id);
            let Some(kind_work) = work.get(operator.kind) else {
                return device;
            };
            let kind = activity.get(operator.kind).copied().unwrap_or_default();
            device.heartbeats = kind_work.heartbeats;
            device.beacons = vec![kind_work.witnesses; kind_work.beacons as usize];
            device.witnessed = vec![kind_work.witnesses; kind_work.witnessed as usize];
            device.sensor_readings = kind_work.sensor_readings;
            device.storage_units =
                (operator.capacity * f64::from(step_days) * CAPACITY_UNIT_SCALE) as u128;
            let served = if kind.capacity > 0.0 {
                kind.served * operator.capacity / kind.capacity
            } else {
                0.0
            };
            let credits = (served * credits_per_unit) as u128;
            match demand_pool {
                ProofKind::Compute => device.compute_units = credits,
                _ => device.data_credits = credits,
            }
            device
        })
        .collect();
    let epoch_rewards = compute_epoch_rewards(&params, epoch, funds, &devices)?;
    let totals = epoch_rewards.device_totals();
    let mut exact = vec![0u128; operators.len()];
    let mut cursor = 0usize;
    for (device, amount) in totals {
        while cursor < operators.len() && operators[cursor].id < device {
            cursor += 1;
        }
        if let Some(slot) = exact.get_mut(cursor) {
            *slot = amount;
        }
    }
    Ok(StepRewards {
        per_device: vec![0.0; activity.len()],
        per_capacity: vec![0.0; activity.len()],
        paid: epoch_rewards.total_paid(),
        settlement: epoch_rewards.settlement,
        exact: Some(exact),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> (Vec<DeviceKind>, Vec<OperatorView>) {
        let kinds = vec![
            DeviceKind {
                name: "small".into(),
                ..DeviceKind::default()
            },
            DeviceKind {
                name: "big".into(),
                beacons_per_day: 2,
                witnesses_per_beacon: 9,
                ..DeviceKind::default()
            },
        ];
        let operators = (0..300u32)
            .map(|id| OperatorView {
                id: id * 3 + 1,
                kind: (id % 2) as usize,
                capacity: 1.0 + f64::from(id % 7),
            })
            .collect();
        (kinds, operators)
    }

    fn activity(operators: &[OperatorView], served_per_capacity: f64) -> Vec<KindActivity> {
        let mut activity = vec![KindActivity::default(); 2];
        for operator in operators {
            let kind = &mut activity[operator.kind];
            kind.devices += 1;
            kind.capacity += operator.capacity;
            kind.served += operator.capacity * served_per_capacity;
        }
        activity
    }

    #[test]
    fn cohorts_pay_each_kind_what_compute_epoch_rewards_pays_its_devices() {
        let (kinds, operators) = world();
        for params in [
            TokenomicsParams::wireless(8).unwrap(),
            TokenomicsParams::storage(8).unwrap(),
            TokenomicsParams::sensors(8).unwrap(),
        ] {
            let work: Vec<DeviceWork> = kinds
                .iter()
                .map(|k| DeviceWork::new(&params, k, 1))
                .collect();
            let activity = activity(&operators, 3.0);
            let funds = EpochFunds {
                emission: 123_456_789_000,
                carried_in: 1_000,
            };
            let cohort = cohort_rewards(
                &params,
                funds,
                ProofKind::DataTransfer,
                1_000.0,
                1,
                &work,
                &activity,
            )
            .unwrap();
            let exact = per_device_rewards(
                &params,
                0,
                funds,
                ProofKind::DataTransfer,
                1_000.0,
                1,
                &work,
                &activity,
                &operators,
            )
            .unwrap();
            let per_operator = exact.exact.unwrap();
            for (kind_index, _) in kinds.iter().enumerate() {
                let exact_total: u128 = operators
                    .iter()
                    .zip(&per_operator)
                    .filter(|(o, _)| o.kind == kind_index)
                    .map(|(_, a)| *a)
                    .sum();
                let cohort_total = cohort.per_device[kind_index]
                    * activity[kind_index].devices as f64
                    + cohort.per_capacity[kind_index] * activity[kind_index].capacity;
                let relative = (cohort_total - exact_total as f64).abs() / exact_total as f64;
                assert!(
                    relative < 1e-6,
                    "kind {kind_index}: {cohort_total} vs {exact_total}"
                );
                // And each operator's share within the kind.
                for (operator, amount) in operators.iter().zip(&per_operator) {
                    if operator.kind != kind_index {
                        continue;
                    }
                    let estimate = cohort.per_device[kind_index]
                        + cohort.per_capacity[kind_index] * operator.capacity;
                    assert!((estimate - *amount as f64).abs() <= 2.0 + *amount as f64 * 1e-6);
                }
            }
            let available = funds.emission + funds.carried_in;
            assert_eq!(cohort.paid + cohort.settlement.total(), available);
            assert_eq!(exact.paid + exact.settlement.total(), available);
            assert!(cohort.paid.abs_diff(exact.paid) < 1_000);
        }
    }
}
