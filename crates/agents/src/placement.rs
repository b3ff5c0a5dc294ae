//! Where simulated devices stand: points around a city, snapped to H3 cells.
//!
//! Geometry here is plain `f64` on a sphere of the mean Earth radius (this is the simulator, not
//! a verdict); the chain measures the same distances in fixed point from the cell centres
//! (`groundwork_app::modules::reports::physics`), and they agree to well under a metre.

use h3o::{CellIndex, LatLng, Resolution};

use crate::rng::SimRng;
use crate::{FleetError, Result};

/// Mean Earth radius in metres (IUGG R₁), the one the chain's physics uses.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The H3 resolution devices are placed at: 12 (cells of about 300 m², 9.4 m centre to corner),
/// fine enough for the coverage checks, which need at least resolution 11.
pub const DEVICE_RESOLUTION: Resolution = Resolution::Twelve;

/// A point on the Earth, degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lng: f64,
}

impl GeoPoint {
    /// The point `distance_m` metres from `self` along the initial bearing `bearing_rad`
    /// (clockwise from north), on the great circle.
    pub fn offset(self, distance_m: f64, bearing_rad: f64) -> GeoPoint {
        let angular = distance_m / EARTH_RADIUS_M;
        let (lat1, lng1) = (self.lat.to_radians(), self.lng.to_radians());
        let lat2 =
            (lat1.sin() * angular.cos() + lat1.cos() * angular.sin() * bearing_rad.cos()).asin();
        let lng2 = lng1
            + (bearing_rad.sin() * angular.sin() * lat1.cos())
                .atan2(angular.cos() - lat1.sin() * lat2.sin());
        let lng2 = (lng2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0;
        GeoPoint {
            lat: lat2.to_degrees(),
            lng: lng2,
        }
    }

    /// Great-circle (haversine) distance to `other`, metres.
    pub fn distance_m(self, other: GeoPoint) -> f64 {
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = lat2 - lat1;
        let dlng = (other.lng - self.lng).to_radians();
        let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
    }

    /// The resolution-12 cell holding the point.
    pub fn cell(self) -> Result<u64> {
        let point = LatLng::new(self.lat, self.lng).map_err(|e| {
            FleetError::Config(format!(
                "({}, {}) is not a place on Earth: {e}",
                self.lat, self.lng
            ))
        })?;
        Ok(u64::from(point.to_cell(DEVICE_RESOLUTION)))
    }
}

/// The centre of an H3 cell, or `None` if `cell` is not a cell index.
pub fn cell_centre(cell: u64) -> Option<GeoPoint> {
    let cell = CellIndex::try_from(cell).ok()?;
    let centre = LatLng::from(cell);
    Some(GeoPoint {
        lat: centre.lat(),
        lng: centre.lng(),
    })
}

/// Distance between two cells' centres, metres (`f64::INFINITY` if either is not a cell).
pub fn cell_distance_m(a: u64, b: u64) -> f64 {
    match (cell_centre(a), cell_centre(b)) {
        (Some(a), Some(b)) => a.distance_m(b),
        _ => f64::INFINITY,
    }
}

/// A uniformly random point in the disc of `radius_m` around `centre`.
pub fn random_point_in_disc(rng: &mut SimRng, centre: GeoPoint, radius_m: f64) -> GeoPoint {
    // sqrt makes the density uniform over the area, not crowded at the centre.
    let distance = radius_m * rng.unit().sqrt();
    let bearing = rng.range(0.0, std::f64::consts::TAU);
    centre.offset(distance, bearing)
}

/// Picks a cell in the disc whose centre is at least `min_separation_m` from every cell in
/// `taken`; after `attempts` failures it takes the best candidate seen (the one farthest from its
/// nearest neighbour), so a crowded disc degrades gracefully instead of failing.
pub fn place_separated(
    rng: &mut SimRng,
    centre: GeoPoint,
    radius_m: f64,
    taken: &[u64],
    min_separation_m: f64,
    attempts: usize,
) -> Result<u64> {
    let mut best: Option<(f64, u64)> = None;
    for _ in 0..attempts.max(1) {
        let cell = random_point_in_disc(rng, centre, radius_m).cell()?;
        let nearest = taken
            .iter()
            .map(|&t| cell_distance_m(cell, t))
            .fold(f64::INFINITY, f64::min);
        if nearest >= min_separation_m {
            return Ok(cell);
        }
        if best.is_none_or(|(d, _)| nearest > d) {
            best = Some((nearest, cell));
        }
    }
    best.map(|(_, cell)| cell)
        .ok_or_else(|| FleetError::Config("no place found".into()))
}

/// A cell `distance_m` metres from `from` in a random direction: where a location liar claims to be.
pub fn claimed_far_away(rng: &mut SimRng, from: u64, distance_m: f64) -> Result<u64> {
    let origin = cell_centre(from)
        .ok_or_else(|| FleetError::Config(format!("{from:x} is not an H3 cell")))?;
    origin
        .offset(distance_m, rng.range(0.0, std::f64::consts::TAU))
        .cell()
}

/// `k` cells on a ring of `radius_m` around `centre`, evenly spread (with a little jitter): the
/// members of a witness ring, far from each other and from the city.
pub fn ring_cells(rng: &mut SimRng, centre: GeoPoint, radius_m: f64, k: usize) -> Result<Vec<u64>> {
    let start = rng.range(0.0, std::f64::consts::TAU);
    (0..k)
        .map(|i| {
            let bearing =
                start + std::f64::consts::TAU * i as f64 / k.max(1) as f64 + rng.range(-0.1, 0.1);
            centre
                .offset(radius_m * rng.range(0.9, 1.1), bearing)
                .cell()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISBON: GeoPoint = GeoPoint {
        lat: 38.7223,
        lng: -9.1393,
    };

    #[test]
    fn offsets_land_at_the_distance_asked() {
        for (distance, bearing) in [(10.0, 0.0), (1_500.0, 1.0), (35_000.0, 4.0)] {
            let there = LISBON.offset(distance, bearing);
            assert!((LISBON.distance_m(there) - distance).abs() < 1e-6 * distance + 1e-6);
        }
    }

    #[test]
    fn devices_are_placed_on_resolution_12_cells_inside_the_disc_and_apart() {
        let mut rng = SimRng::new(42, 0);
        let mut taken = Vec::new();
        for _ in 0..40 {
            let cell = place_separated(&mut rng, LISBON, 5_000.0, &taken, 500.0, 200).unwrap();
            let index = CellIndex::try_from(cell).unwrap();
            assert_eq!(index.resolution(), Resolution::Twelve);
            let centre = cell_centre(cell).unwrap();
            assert!(LISBON.distance_m(centre) <= 5_000.0 + 15.0);
            for &other in &taken {
                assert!(cell_distance_m(cell, other) >= 500.0);
            }
            taken.push(cell);
        }
    }

    #[test]
    fn a_liar_claims_a_cell_at_the_distance_chosen() {
        let mut rng = SimRng::new(1, 0);
        let home = LISBON.cell().unwrap();
        let claimed = claimed_far_away(&mut rng, home, 30_000.0).unwrap();
        let d = cell_distance_m(home, claimed);
        assert!((d - 30_000.0).abs() < 30.0, "{d}");
    }

    #[test]
    fn the_same_seed_places_the_same_cells() {
        let place = || {
            let mut rng = SimRng::new(9, 3);
            (0..5)
                .map(|_| {
                    random_point_in_disc(&mut rng, LISBON, 3_000.0)
                        .cell()
                        .unwrap()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(place(), place());
    }
}
