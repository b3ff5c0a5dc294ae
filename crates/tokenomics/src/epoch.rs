//! One epoch's rewards, end to end: split the distributable amount into pools, turn each device's
//! activity into units, apply density and reputation, share each pool, and route what nobody
//! earned.
//!
//! This is the function the app's `rewards` module calls at the end of an epoch, and the
//! simulator calls in its loop. It is pure: the caller passes the epoch's emission (from
//! [`crate::EmissionSchedule::emission_for_epoch`]), the amount carried over from the previous
//! epoch, and the devices' aggregated activity, sorted by device key.
//!
//! The books always balance:
//! `Σ payouts + to_treasury + to_burn + carry_over == emission + carried_in`.

use std::collections::BTreeMap;

use h3o::CellIndex;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::amount_serde;
use crate::coverage::BeaconUnits;
use crate::distribution::{
    Contribution, Distribution, Explanation, Ineligibility, distribute_owned,
};
use crate::error::{Result, TokenomicsError};
use crate::fixed::Fixed;
use crate::params::TokenomicsParams;
use crate::pools::{PoolAmounts, PoolSpec, ProofKind, Settlement};

/// What one device did in an epoch, already verified and aggregated by the app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceActivity<K> {
    /// The device.
    pub device: K,
    /// Its asserted H3 location (any resolution at least as fine as the density parameters').
    #[serde(default, with = "cell_serde")]
    pub location: Option<CellIndex>,
    /// Valid heartbeats.
    pub heartbeats: u32,
    /// For each valid beacon the device sent: how many valid witnesses heard it.
    pub beacons: Vec<u32>,
    /// For each beacon the device validly witnessed (and was selected as a rewarded witness):
    /// how many valid witnesses that beacon had.
    pub witnessed: Vec<u32>,
    /// Data credits users actually paid for the device's data transfer.
    #[serde(with = "amount_serde")]
    pub data_credits: u128,
    /// Valid sensor readings.
    pub sensor_readings: u64,
    /// Storage proven (e.g. GiB × epochs of passed challenges).
    #[serde(with = "amount_serde")]
    pub storage_units: u128,
    /// Compute work verified (e.g. fuel units).
    #[serde(with = "amount_serde")]
    pub compute_units: u128,
    /// The reputation multiplier, from [`crate::ReputationParams::multiplier`]; zero means
    /// disqualified.
    pub reputation: Fixed,
}

impl<K> DeviceActivity<K> {
    /// A device that did nothing yet, with a perfect reputation.
    pub fn new(device: K) -> Self {
        DeviceActivity {
            device,
            location: None,
            heartbeats: 0,
            beacons: Vec::new(),
            witnessed: Vec::new(),
            data_credits: 0,
            sensor_readings: 0,
            storage_units: 0,
            compute_units: 0,
            reputation: Fixed::ONE,
        }
    }

    /// Whether the device reported anything that counts toward a pool of this kind.
    pub fn is_active_in(&self, kind: ProofKind) -> bool {
        match kind {
            ProofKind::Uptime => self.heartbeats > 0,
            ProofKind::Coverage => !self.beacons.is_empty() || !self.witnessed.is_empty(),
            ProofKind::DataTransfer => self.data_credits > 0,
            ProofKind::SensorData => self.sensor_readings > 0,
            ProofKind::Storage => self.storage_units > 0,
            ProofKind::Compute => self.compute_units > 0,
        }
    }
}

/// H3 cells as their 64-bit index (`h3o` is built without its serde feature).
mod cell_serde {
    use h3o::CellIndex;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(cell: &Option<CellIndex>, s: S) -> Result<S::Ok, S::Error> {
        cell.map(|c| format!("{:x}", u64::from(c))).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CellIndex>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let raw = u64::from_str_radix(&text, 16).map_err(serde::de::Error::custom)?;
        CellIndex::try_from(raw)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

/// The amounts available to an epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochFunds {
    /// Newly minted this epoch (plus any re-minted net emissions).
    #[serde(with = "amount_serde")]
    pub emission: u128,
    /// Carried over from the previous epoch's unclaimed pools.
    #[serde(with = "amount_serde")]
    pub carried_in: u128,
}

/// The result of one epoch's reward computation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochRewards<K> {
    /// The epoch.
    pub epoch: u64,
    /// What was available.
    pub funds: EpochFunds,
    /// The pool amounts and the split's rounding dust.
    pub pool_amounts: PoolAmounts,
    /// Each pool's distribution, by proof kind.
    pub pools: BTreeMap<ProofKind, Distribution<K>>,
    /// Base units of pools nobody qualified for.
    #[serde(with = "amount_serde")]
    pub unclaimed: u128,
    /// Base units of rounding dust (split and pools).
    #[serde(with = "amount_serde")]
    pub rounding: u128,
    /// Where `unclaimed` and `rounding` went.
    pub settlement: Settlement,
}

impl<K: Ord + Clone> EpochRewards<K> {
    /// Base units paid to devices.
    pub fn total_paid(&self) -> u128 {
        self.pools.values().map(Distribution::paid).sum()
    }

    /// Whether every base unit is accounted for (always true for results of
    /// [`compute_epoch_rewards`]; useful as an invariant check in the app).
    pub fn is_balanced(&self) -> bool {
        let available = self.funds.emission.checked_add(self.funds.carried_in);
        let spent = self.total_paid().checked_add(self.settlement.total());
        available.is_some() && available == spent
    }

    /// A device's earnings across all pools.
    pub fn device_total(&self, device: &K) -> u128 {
        self.pools
            .values()
            .filter_map(|pool| pool.amount_for(device))
            .sum()
    }

    /// Why a device earned what it did, one explanation per pool it took part in.
    pub fn explain(&self, device: &K) -> Vec<Explanation<K>> {
        self.pools
            .iter()
            .filter_map(|(kind, pool)| pool.explain(device, Some(*kind)))
            .collect()
    }

    /// Every device's total earnings, sorted by device, without zero entries.
    pub fn device_totals(&self) -> Vec<(K, u128)>
    where
        K: Send + Sync,
    {
        let mut all: Vec<(&K, u128)> = self
            .pools
            .values()
            .flat_map(|pool| pool.payouts.iter())
            .filter(|payout| payout.amount > 0)
            .map(|payout| (&payout.device, payout.amount))
            .collect();
        all.par_sort_by(|a, b| a.0.cmp(b.0));
        let mut totals: Vec<(K, u128)> = Vec::new();
        for (device, amount) in all {
            match totals.last_mut() {
                Some((last, total)) if last == device => *total += amount,
                _ => totals.push((device.clone(), amount)),
            }
        }
        totals
    }
}

/// Compute one epoch's rewards.
///
/// `devices` must be sorted by key, each device once (the app's state iterates in key order).
pub fn compute_epoch_rewards<K>(
    params: &TokenomicsParams,
    epoch: u64,
    funds: EpochFunds,
    devices: &[DeviceActivity<K>],
) -> Result<EpochRewards<K>>
where
    K: Ord + Clone + Send + Sync,
{
    params.validate()?;
    if let Some(index) = devices
        .par_windows(2)
        .position_first(|pair| pair[0].device >= pair[1].device)
    {
        return Err(if devices[index].device == devices[index + 1].device {
            TokenomicsError::DuplicateDevice { index: index + 1 }
        } else {
            TokenomicsError::DevicesNotSorted { index: index + 1 }
        });
    }
    let available = funds
        .emission
        .checked_add(funds.carried_in)
        .ok_or(TokenomicsError::Overflow("emission plus carried-in amount"))?;
    let pool_amounts = params.pools.split(available)?;

    let density_scales = density_scales_for(params, devices)?;
    let beacon_table = BeaconTable::new(params);

    let mut settlement = Settlement::default();
    settlement.route(params.pools.rounding, pool_amounts.rounding_remainder);
    let mut rounding = pool_amounts.rounding_remainder;
    let mut unclaimed = 0u128;
    let mut pools = BTreeMap::new();
    for spec in &params.pools.pools {
        let amount = pool_amounts.pools.get(&spec.kind).copied().unwrap_or(0);
        let contributions =
            contributions_for(params, spec, devices, &density_scales, &beacon_table)?;
        let distribution = distribute_owned(amount, contributions)?;
        if distribution.total_weight == 0 {
            unclaimed += distribution.remainder;
            settlement.route(params.pools.unclaimed, distribution.remainder);
        } else {
            rounding += distribution.remainder;
            settlement.route(params.pools.rounding, distribution.remainder);
        }
        pools.insert(spec.kind, distribution);
    }
    Ok(EpochRewards {
        epoch,
        funds,
        pool_amounts,
        pools,
        unclaimed,
        rounding,
        settlement,
    })
}

/// Density scales for every device (one, when no pool applies density).
fn density_scales_for<K: Sync>(
    params: &TokenomicsParams,
    devices: &[DeviceActivity<K>],
) -> Result<Option<Vec<Fixed>>> {
    let density_kinds: Vec<ProofKind> = params
        .pools
        .pools
        .iter()
        .filter(|spec| spec.apply_density)
        .map(|spec| spec.kind)
        .collect();
    if density_kinds.is_empty() {
        return Ok(None);
    }
    // Only devices that take part in a density-scaled pool count toward crowding (HIP-17 counts
    // "interactive" hotspots).
    let locations: Vec<Option<CellIndex>> = devices
        .par_iter()
        .map(|device| {
            let active = density_kinds.iter().any(|kind| device.is_active_in(*kind));
            if active { device.location } else { None }
        })
        .collect();
    params.density.scales(&locations).map(Some)
}

/// HIP-15 units for every witness count up to the cap, computed once per epoch.
struct BeaconTable {
    units: Vec<BeaconUnits>,
}

impl BeaconTable {
    fn new(params: &TokenomicsParams) -> Self {
        let cap = params.coverage.max_rewarded_witnesses.min(4_096);
        BeaconTable {
            units: (0..=cap).map(|w| params.coverage.beacon_units(w)).collect(),
        }
    }

    fn get(&self, witnesses: u32) -> BeaconUnits {
        let index = (witnesses as usize).min(self.units.len().saturating_sub(1));
        self.units.get(index).copied().unwrap_or(BeaconUnits {
            beaconer: Fixed::ZERO,
            per_witness: Fixed::ZERO,
            rewarded_witnesses: 0,
        })
    }
}

/// Units a device earned toward one pool, or why it earned none.
fn units_for<K>(
    params: &TokenomicsParams,
    kind: ProofKind,
    device: &DeviceActivity<K>,
    beacon_table: &BeaconTable,
) -> Result<std::result::Result<Fixed, Ineligibility>> {
    let integer =
        |value: u128, what| Fixed::from_integer(value).ok_or(TokenomicsError::Overflow(what));
    Ok(Ok(match kind {
        ProofKind::Uptime => {
            if device.heartbeats < params.uptime.min_heartbeats {
                return Ok(Err(Ineligibility::TooFewHeartbeats));
            }
            Fixed::ONE
        }
        ProofKind::Coverage => {
            let mut total = Fixed::ZERO;
            for &witnesses in &device.beacons {
                total = total.saturating_add(beacon_table.get(witnesses).beaconer);
            }
            for &witnesses in &device.witnessed {
                total = total.saturating_add(beacon_table.get(witnesses).per_witness);
            }
            total
        }
        ProofKind::DataTransfer => integer(device.data_credits, "data credits as units")?,
        ProofKind::SensorData => integer(u128::from(device.sensor_readings), "sensor readings")?,
        ProofKind::Storage => integer(device.storage_units, "storage units")?,
        ProofKind::Compute => integer(device.compute_units, "compute units")?,
    }))
}

/// The contributions of all devices active in one pool, in device order.
fn contributions_for<K>(
    params: &TokenomicsParams,
    spec: &PoolSpec,
    devices: &[DeviceActivity<K>],
    density_scales: &Option<Vec<Fixed>>,
    beacon_table: &BeaconTable,
) -> Result<Vec<Contribution<K>>>
where
    K: Clone + Send + Sync,
{
    devices
        .par_iter()
        .enumerate()
        .filter(|(_, device)| device.is_active_in(spec.kind))
        .map(|(index, device)| {
            let mut contribution = Contribution::new(device.device.clone(), Fixed::ZERO);
            if spec.apply_density {
                let scale = density_scales
                    .as_ref()
                    .and_then(|scales| scales.get(index).copied())
                    .unwrap_or(Fixed::ONE);
                contribution.density_scale = scale;
                if device.location.is_none() {
                    return Ok(contribution.ineligible(Ineligibility::NoLocation));
                }
            }
            if spec.apply_reputation {
                contribution.reputation = device.reputation.min(Fixed::ONE);
                if device.reputation.is_zero() {
                    return Ok(contribution.ineligible(Ineligibility::Disqualified));
                }
            }
            Ok(match units_for(params, spec.kind, device, beacon_table)? {
                Ok(units) => Contribution {
                    units,
                    ..contribution
                },
                Err(reason) => contribution.ineligible(reason),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pools::{PoolSplit, UnclaimedDestination};
    use h3o::{LatLng, Resolution};
    use proptest::prelude::*;

    fn located(device: u32, lat: f64, lng: f64) -> DeviceActivity<u32> {
        let mut activity = DeviceActivity::new(device);
        activity.location = Some(LatLng::new(lat, lng).unwrap().to_cell(Resolution::Twelve));
        activity
    }

    fn funds(emission: u128) -> EpochFunds {
        EpochFunds {
            emission,
            carried_in: 0,
        }
    }

    #[test]
    fn a_device_that_misses_heartbeats_earns_nothing_from_uptime() {
        let params = TokenomicsParams::wireless(8).unwrap();
        let mut online = DeviceActivity::new(1u32);
        online.heartbeats = 24;
        let mut flaky = DeviceActivity::new(2u32);
        flaky.heartbeats = 3;
        let rewards =
            compute_epoch_rewards(&params, 0, funds(1_000_000), &[online, flaky]).unwrap();
        let uptime = &rewards.pools[&ProofKind::Uptime];
        assert_eq!(uptime.amount_for(&1), Some(200_000));
        assert_eq!(uptime.amount_for(&2), Some(0));
        let why = rewards.explain(&2);
        assert_eq!(why[0].ineligible, Some(Ineligibility::TooFewHeartbeats));
        assert!(rewards.is_balanced());
    }

    #[test]
    fn pools_nobody_qualified_for_go_where_the_parameters_say() {
        let mut params = TokenomicsParams::wireless(8).unwrap();
        params.pools.unclaimed = UnclaimedDestination::CarryOver;
        let mut device = DeviceActivity::new(7u32);
        device.heartbeats = 24;
        let rewards = compute_epoch_rewards(&params, 3, funds(1_000), &[device]).unwrap();
        // Coverage (300) and data transfer (500) had no participants.
        assert_eq!(rewards.unclaimed, 800);
        assert_eq!(rewards.settlement.carry_over, 800);
        assert_eq!(rewards.total_paid(), 200);
        assert!(rewards.is_balanced());
    }

    #[test]
    fn coverage_rewards_follow_hip15_units_and_hip17_density() {
        let params = TokenomicsParams::wireless(8).unwrap();
        // Device 1 beacons once, heard by devices 2 and 3; 2 and 3 share a res-12 spot.
        let mut beaconer = located(1, 10.0, 10.0);
        beaconer.beacons = vec![2];
        let mut a = located(2, 10.5, 10.5);
        a.witnessed = vec![2];
        let mut b = located(3, 10.5, 10.5);
        b.witnessed = vec![2];
        let rewards = compute_epoch_rewards(&params, 0, funds(10_000), &[beaconer, a, b]).unwrap();
        let coverage = &rewards.pools[&ProofKind::Coverage];
        // Beaconer: 2/4 = 0.5 units at scale 1; witnesses: 1 unit each at scale 0.5.
        // Weights 0.5, 0.5, 0.5 share 3,000.
        assert_eq!(coverage.amount_for(&1), Some(1_000));
        assert_eq!(coverage.amount_for(&2), Some(1_000));
        let why = &rewards.explain(&2)[0];
        assert_eq!(why.units, Fixed::ONE);
        assert_eq!(why.multipliers[0].value, Fixed::from_bps(5_000));
    }

    #[test]
    fn a_disqualified_device_earns_nothing_and_is_told_why() {
        let params = TokenomicsParams::wireless(8).unwrap();
        let mut device = DeviceActivity::new(1u32);
        device.heartbeats = 24;
        device.reputation = Fixed::ZERO;
        let rewards = compute_epoch_rewards(&params, 0, funds(1_000), &[device]).unwrap();
        assert_eq!(rewards.device_total(&1), 0);
        assert_eq!(
            rewards.explain(&1)[0].ineligible,
            Some(Ineligibility::Disqualified)
        );
    }

    #[test]
    fn unsorted_or_repeated_devices_are_rejected() {
        let params = TokenomicsParams::wireless(8).unwrap();
        let devices = [DeviceActivity::new(2u32), DeviceActivity::new(1u32)];
        assert_eq!(
            compute_epoch_rewards(&params, 0, funds(1), &devices),
            Err(TokenomicsError::DevicesNotSorted { index: 1 })
        );
        let devices = [DeviceActivity::new(1u32), DeviceActivity::new(1u32)];
        assert_eq!(
            compute_epoch_rewards(&params, 0, funds(1), &devices),
            Err(TokenomicsError::DuplicateDevice { index: 1 })
        );
    }

    #[test]
    fn device_totals_add_up_every_pool() {
        let params = TokenomicsParams::wireless(8).unwrap();
        let mut device = DeviceActivity::new(1u32);
        device.heartbeats = 24;
        device.data_credits = 5;
        let mut other = DeviceActivity::new(2u32);
        other.data_credits = 15;
        let rewards = compute_epoch_rewards(&params, 0, funds(1_000), &[device, other]).unwrap();
        assert_eq!(rewards.device_totals(), vec![(1, 200 + 125), (2, 375)]);
    }

    #[test]
    fn a_carried_in_amount_is_distributed_with_the_emission() {
        let params = PoolSplit {
            pools: vec![PoolSpec {
                kind: ProofKind::Uptime,
                share_bps: 10_000,
                apply_reputation: true,
                apply_density: false,
            }],
            unclaimed: UnclaimedDestination::Burn,
            rounding: UnclaimedDestination::Burn,
        };
        let params = TokenomicsParams {
            pools: params,
            ..TokenomicsParams::wireless(8).unwrap()
        };
        let mut device = DeviceActivity::new(1u32);
        device.heartbeats = 20;
        let rewards = compute_epoch_rewards(
            &params,
            0,
            EpochFunds {
                emission: 60,
                carried_in: 40,
            },
            &[device],
        )
        .unwrap();
        assert_eq!(rewards.device_total(&1), 100);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn every_base_unit_of_an_epoch_is_accounted_for(
            emission in 0u128..1u128 << 100,
            carried_in in 0u128..1u128 << 90,
            activity in proptest::collection::vec((0u32..30, 0u128..1_000_000, 0u32..10_001, proptest::collection::vec(0u32..20, 0..4), 0u8..3), 0..40),
        ) {
            let params = TokenomicsParams::sensors(8).unwrap();
            let devices: Vec<DeviceActivity<u32>> = activity
                .iter()
                .enumerate()
                .map(|(i, (heartbeats, credits, reputation, beacons, spot))| {
                    let mut d = located(i as u32, 30.0 + f64::from(*spot) * 0.0001, 30.0);
                    d.heartbeats = *heartbeats;
                    d.sensor_readings = *credits as u64;
                    d.beacons = beacons.clone();
                    d.reputation = Fixed::from_bps(*reputation);
                    d
                })
                .collect();
            let rewards = compute_epoch_rewards(&params, 0, EpochFunds { emission, carried_in }, &devices).unwrap();
            prop_assert!(rewards.is_balanced());
            prop_assert!(rewards.total_paid() <= emission + carried_in);
            let by_device: u128 = rewards.device_totals().iter().map(|(_, a)| a).sum();
            prop_assert_eq!(by_device, rewards.total_paid());
        }
    }
}
