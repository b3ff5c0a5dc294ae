//! Radio-coverage reward units with diminishing returns for many witnesses (Helium HIP-15,
//! <https://github.com/helium/HIP/blob/main/0015-beaconing-rewards.md>).
//!
//! For a beacon with `W` valid witnesses (at most `max_rewarded_witnesses`, 14 in Helium; the
//! caller picks which 14 are rewarded), with redundancy `N` (4) and decay `r` (0.8):
//!
//! * each witness earns `1` unit when `W ≤ N`, otherwise `(N + 1 − r^(W−N)) / W`: the first `N`
//!   witnesses are worth a unit each, and the rest add a geometrically shrinking amount, so the
//!   witnesses' total approaches `N + 1` however many there are;
//! * the beaconer earns `W / N` units when `W < N`, otherwise `2 − r^(W−N)`, growing from one unit
//!   at `N` witnesses toward two.
//!
//! All arithmetic is [`Fixed`] (18 decimals), rounded down. (Helium's later oracles reuse the
//! beaconer formula for each witness; this module keeps HIP-15's original split.)

use serde::{Deserialize, Serialize};

use crate::fixed::Fixed;

/// HIP-15 parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CoverageParams {
    /// `N`: witnesses that each earn a full unit (HIP-15: 4).
    pub witness_redundancy: u32,
    /// `r`: decay of each witness beyond `N` (HIP-15: 0.8).
    pub decay_rate: Fixed,
    /// Witnesses rewarded per beacon at most (Helium: 14); more valid witnesses count as this many.
    pub max_rewarded_witnesses: u32,
}

impl Default for CoverageParams {
    fn default() -> Self {
        CoverageParams {
            witness_redundancy: 4,
            decay_rate: Fixed::from_bps(8_000),
            max_rewarded_witnesses: 14,
        }
    }
}

/// The units of one beacon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconUnits {
    /// Units earned by the beaconer.
    pub beaconer: Fixed,
    /// Units earned by each rewarded witness.
    pub per_witness: Fixed,
    /// How many witnesses are rewarded (`min(valid, max_rewarded_witnesses)`).
    pub rewarded_witnesses: u32,
}

impl CoverageParams {
    /// `r^(W − N)` for `W > N`, or one.
    fn decay_beyond_redundancy(&self, witnesses: u32) -> Fixed {
        let beyond = witnesses.saturating_sub(self.witness_redundancy);
        // decay_rate ≤ 1 keeps this in range; an out-of-range rate saturates to zero.
        self.decay_rate.checked_pow(beyond).unwrap_or(Fixed::ZERO)
    }

    /// Units of a beacon heard by `valid_witnesses` valid witnesses.
    pub fn beacon_units(&self, valid_witnesses: u32) -> BeaconUnits {
        let w = valid_witnesses.min(self.max_rewarded_witnesses);
        let n = self.witness_redundancy;
        if w == 0 {
            return BeaconUnits {
                beaconer: Fixed::ZERO,
                per_witness: Fixed::ZERO,
                rewarded_witnesses: 0,
            };
        }
        if w <= n {
            // W < N: W/N for the beaconer (W = N gives exactly one unit, as the formula below).
            let beaconer =
                Fixed::from_ratio(u128::from(w), u128::from(n.max(1))).unwrap_or(Fixed::ONE);
            return BeaconUnits {
                beaconer,
                per_witness: Fixed::ONE,
                rewarded_witnesses: w,
            };
        }
        let decay = self.decay_beyond_redundancy(w);
        let two = Fixed::from_raw(2 * Fixed::ONE.raw());
        let witness_total = Fixed::from_integer(u128::from(n) + 1)
            .unwrap_or(Fixed::ZERO)
            .saturating_sub(decay);
        BeaconUnits {
            beaconer: two.saturating_sub(decay),
            per_witness: Fixed::from_raw(witness_total.raw() / u128::from(w)),
            rewarded_witnesses: w,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str) -> Fixed {
        text.parse().unwrap()
    }

    #[test]
    fn up_to_four_witnesses_each_earn_a_full_unit() {
        let params = CoverageParams::default();
        for w in 1..=4 {
            assert_eq!(params.beacon_units(w).per_witness, Fixed::ONE);
        }
        assert_eq!(params.beacon_units(2).beaconer, fixed("0.5"));
        assert_eq!(params.beacon_units(4).beaconer, Fixed::ONE);
    }

    #[test]
    fn the_fifth_and_later_witnesses_add_geometrically_less() {
        let params = CoverageParams::default();
        // W = 5: witnesses share 4 + 1 − 0.8 = 4.2, i.e. 0.84 each; the beaconer gets 1.2.
        let five = params.beacon_units(5);
        assert_eq!(five.per_witness, fixed("0.84"));
        assert_eq!(five.beaconer, fixed("1.2"));
        // W = 6: 4 + 1 − 0.64 = 4.36 shared by 6.
        assert_eq!(
            params.beacon_units(6).per_witness,
            fixed("0.726666666666666666")
        );
        let mut previous_total = Fixed::ZERO;
        for w in 1..=14 {
            let units = params.beacon_units(w);
            let total = Fixed::from_raw(units.per_witness.raw() * u128::from(w));
            assert!(total >= previous_total, "total witness units grow with W");
            assert!(total <= fixed("5"));
            previous_total = total;
        }
    }

    #[test]
    fn witnesses_beyond_fourteen_count_as_fourteen() {
        let params = CoverageParams::default();
        assert_eq!(params.beacon_units(30), params.beacon_units(14));
        assert_eq!(params.beacon_units(30).rewarded_witnesses, 14);
        // 2 − 0.8^10 = 1.8926258176
        assert_eq!(params.beacon_units(14).beaconer, fixed("1.8926258176"));
    }

    #[test]
    fn a_beacon_nobody_heard_earns_nothing() {
        let units = CoverageParams::default().beacon_units(0);
        assert_eq!(units.beaconer, Fixed::ZERO);
        assert_eq!(units.rewarded_witnesses, 0);
    }
}
