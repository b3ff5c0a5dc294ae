//! Scaling down devices crowded into one area (Helium HIP-17, "Hex density-based transmit reward
//! scaling", <https://github.com/helium/HIP/blob/main/0017-hex-density-based-transmit-reward-scaling.md>).
//!
//! For each configured H3 resolution, from the finest to the coarsest:
//!
//! 1. A cell's *actual* count is the number of devices in it at the finest resolution, and at a
//!    coarser resolution the sum of its children's *clipped* counts.
//! 2. `occupied` is the number of cells in its 1-ring (the cell and its six neighbours) whose actual
//!    count reaches the resolution's target.
//! 3. Its limit is `min(max, target · max(occupied − N + 1, 1))` and its clipped count
//!    `min(actual, limit)`.
//!
//! A device's scale is the product over resolutions of `clipped / actual` of the cells containing
//! it, at most one. Defaults (HIP-17): res 4: N 2, target 500, max 1000 · res 5: N 4, 100, 200 ·
//! res 6: N 4, 25, 50 · res 7: N 4, 5, 10 · res 8–10: N 2, 1, 1.
//!
//! Each ratio and each product is rounded down in [`Fixed`]. Cells and neighbours come from the
//! `h3o` crate; counts are gathered with sorted vectors, never by iterating a hash map, so the
//! result is the same on every machine.

use h3o::{CellIndex, Resolution};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TokenomicsError};
use crate::fixed::Fixed;

/// The HIP-17 parameters of one H3 resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DensityResolution {
    /// The H3 resolution (0–15).
    pub resolution: u8,
    /// `N`: occupied neighbours needed before the limit grows beyond the target.
    pub neighbors: u64,
    /// Target number of devices per cell.
    pub target: u64,
    /// Maximum number of devices per cell.
    pub max: u64,
}

/// HIP-17 density scaling: one entry per resolution used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DensityParams {
    /// The resolutions, in any order; each at most once.
    pub resolutions: Vec<DensityResolution>,
}

impl Default for DensityParams {
    fn default() -> Self {
        let entry = |resolution, neighbors, target, max| DensityResolution {
            resolution,
            neighbors,
            target,
            max,
        };
        DensityParams {
            resolutions: vec![
                entry(4, 2, 500, 1_000),
                entry(5, 4, 100, 200),
                entry(6, 4, 25, 50),
                entry(7, 4, 5, 10),
                entry(8, 2, 1, 1),
                entry(9, 2, 1, 1),
                entry(10, 2, 1, 1),
            ],
        }
    }
}

/// Counts of one cell at one resolution.
#[derive(Clone, Copy, Debug)]
struct CellCount {
    key: u64,
    cell: CellIndex,
    actual: u64,
    clipped: u64,
}

impl DensityResolution {
    /// `min(max, target · max(occupied − N + 1, 1))`.
    pub fn limit(&self, occupied: u64) -> u64 {
        let factor = (occupied + 1).saturating_sub(self.neighbors).max(1);
        self.max.min(self.target.saturating_mul(factor))
    }
}

impl DensityParams {
    /// The resolutions sorted finest first, checked.
    fn levels(&self) -> Result<Vec<(Resolution, DensityResolution)>> {
        let mut levels = self
            .resolutions
            .iter()
            .map(|entry| {
                Resolution::try_from(entry.resolution)
                    .map(|resolution| (resolution, *entry))
                    .map_err(|_| TokenomicsError::InvalidResolution(entry.resolution))
            })
            .collect::<Result<Vec<_>>>()?;
        levels.sort_by_key(|level| std::cmp::Reverse(level.0));
        if levels.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return Err(TokenomicsError::ParameterOutOfRange {
                name: "density.resolutions",
                reason: "each resolution may appear only once",
            });
        }
        Ok(levels)
    }

    /// Check the parameters.
    pub fn validate(&self) -> Result<()> {
        self.levels().map(|_| ())
    }

    /// The finest resolution a device's location must have, if any resolution is configured.
    pub fn finest_resolution(&self) -> Option<u8> {
        self.resolutions.iter().map(|entry| entry.resolution).max()
    }

    /// The density scale of each device, in input order.
    ///
    /// A device without a location, or with one coarser than the finest configured resolution,
    /// gets zero (it cannot be placed, so it cannot earn coverage). With no resolutions
    /// configured every located device gets one.
    pub fn scales(&self, locations: &[Option<CellIndex>]) -> Result<Vec<Fixed>> {
        let levels = self.levels()?;
        let Some(&(finest, _)) = levels.first() else {
            return Ok(locations
                .iter()
                .map(|l| if l.is_some() { Fixed::ONE } else { Fixed::ZERO })
                .collect());
        };
        // (cell at the finest resolution, device position), sorted by cell.
        let mut placed: Vec<(CellIndex, usize)> = locations
            .par_iter()
            .enumerate()
            .filter_map(|(position, location)| {
                location
                    .and_then(|cell| cell.parent(finest))
                    .map(|cell| (cell, position))
            })
            .collect();
        placed.par_sort_unstable_by_key(|(cell, position)| (u64::from(*cell), *position));

        // Bottom-up: actual and clipped counts per cell, level by level. `parent_of[i][j]` is the
        // position in level i+1 of the parent of cell j of level i.
        let (mut current, _) = run_lengths(placed.iter().map(|(cell, _)| (*cell, 1)));
        let mut counted: Vec<Vec<CellCount>> = Vec::with_capacity(levels.len());
        let mut parent_of: Vec<Vec<usize>> = Vec::with_capacity(levels.len());
        for (index, &(_, params)) in levels.iter().enumerate() {
            clip(&mut current, &params);
            let (next, parents) = match levels.get(index + 1) {
                Some(&(coarser, _)) => coarser_level(&current, coarser),
                None => (Vec::new(), Vec::new()),
            };
            parent_of.push(parents);
            counted.push(std::mem::replace(&mut current, next));
        }

        // Top-down: each cell's scale is its parent's times its own clipped/actual.
        let mut inherited: Vec<Fixed> = Vec::new();
        for index in (0..levels.len()).rev() {
            let parents = &parent_of[index];
            let coarsest = index + 1 == levels.len();
            inherited = counted[index]
                .par_iter()
                .enumerate()
                .map(|(position, c)| {
                    let own = if c.actual == 0 {
                        Fixed::ZERO
                    } else {
                        Fixed::from_ratio(u128::from(c.clipped), u128::from(c.actual))
                            .unwrap_or(Fixed::ZERO)
                    };
                    let from_parent = if coarsest {
                        Fixed::ONE
                    } else {
                        parents
                            .get(position)
                            .and_then(|p| inherited.get(*p))
                            .copied()
                            .unwrap_or(Fixed::ZERO)
                    };
                    own.checked_mul(from_parent)
                        .unwrap_or(Fixed::ZERO)
                        .min(Fixed::ONE)
                })
                .collect();
        }

        // Devices: walk the sorted placements alongside the finest level's cells.
        let mut scales = vec![Fixed::ZERO; locations.len()];
        let finest_cells = &counted[0];
        let mut cell_position = 0usize;
        for (cell, device) in &placed {
            let key = u64::from(*cell);
            while finest_cells
                .get(cell_position)
                .is_some_and(|c| c.key != key)
            {
                cell_position += 1;
            }
            if let Some(scale) = inherited.get(cell_position) {
                scales[*device] = *scale;
            }
        }
        Ok(scales)
    }
}

/// Sum counts of equal consecutive cells (input sorted by cell key); also returns, for each
/// input item, the position of its run.
fn run_lengths(cells: impl Iterator<Item = (CellIndex, u64)>) -> (Vec<CellCount>, Vec<usize>) {
    let mut out: Vec<CellCount> = Vec::new();
    let mut positions = Vec::new();
    for (cell, count) in cells {
        let key = u64::from(cell);
        match out.last_mut() {
            Some(last) if last.key == key => last.actual = last.actual.saturating_add(count),
            _ => out.push(CellCount {
                key,
                cell,
                actual: count,
                clipped: 0,
            }),
        }
        positions.push(out.len() - 1);
    }
    (out, positions)
}

/// The next coarser level: parents with the sum of their children's clipped counts, and each
/// child's parent position.
///
/// An H3 index orders cells of one resolution by base cell then digit by digit, so children
/// sorted by index have their parents in sorted order too: no second sort is needed. Should
/// that ever not hold, the parents are sorted and looked up instead.
fn coarser_level(cells: &[CellCount], coarser: Resolution) -> (Vec<CellCount>, Vec<usize>) {
    let parents: Vec<(CellIndex, u64)> = cells
        .par_iter()
        .map(|c| (c.cell.parent(coarser).unwrap_or(c.cell), c.clipped))
        .collect();
    if parents
        .windows(2)
        .all(|pair| u64::from(pair[0].0) <= u64::from(pair[1].0))
    {
        return run_lengths(parents.into_iter());
    }
    let mut sorted = parents.clone();
    sorted.par_sort_unstable_by_key(|(cell, _)| u64::from(*cell));
    let (level, _) = run_lengths(sorted.into_iter());
    let positions = parents
        .iter()
        .map(|(cell, _)| find(&level, *cell).unwrap_or(0))
        .collect();
    (level, positions)
}

/// Index of a cell in a level sorted by key.
fn find(cells: &[CellCount], cell: CellIndex) -> Option<usize> {
    let key = u64::from(cell);
    cells.binary_search_by_key(&key, |c| c.key).ok()
}

/// Fill in the clipped counts of one level.
fn clip(cells: &mut [CellCount], params: &DensityResolution) {
    if params.max <= params.target {
        // The limit is `max` whatever the neighbours (target · k ≥ target ≥ max): skip the ring.
        for c in cells.iter_mut() {
            c.clipped = c.actual.min(params.max);
        }
        return;
    }
    let occupied: Vec<u64> = cells
        .par_iter()
        .map(|c| occupied_neighbours(cells, c.cell, params.target))
        .collect();
    for (c, occupied) in cells.iter_mut().zip(occupied) {
        c.clipped = c.actual.min(params.limit(occupied));
    }
}

/// Cells in the 1-ring of `cell` (itself included) whose actual count reaches `target`.
fn occupied_neighbours(cells: &[CellCount], cell: CellIndex, target: u64) -> u64 {
    let reaches =
        |neighbour: CellIndex| find(cells, neighbour).is_some_and(|i| cells[i].actual >= target);
    let mut ring = [None; 7];
    let mut fast = true;
    for (slot, neighbour) in ring.iter_mut().zip(cell.grid_disk_fast(1)) {
        match neighbour {
            Some(neighbour) => *slot = Some(neighbour),
            None => {
                fast = false;
                break;
            }
        }
    }
    if fast {
        ring.iter().flatten().filter(|n| reaches(**n)).count() as u64
    } else {
        // Near a pentagon the fast path gives up; the safe path handles the distortion.
        cell.grid_disk_safe(1).filter(|n| reaches(*n)).count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use h3o::LatLng;

    fn cell_at(lat: f64, lng: f64) -> CellIndex {
        LatLng::new(lat, lng).unwrap().to_cell(Resolution::Twelve)
    }

    #[test]
    fn the_hip17_limit_grows_with_occupied_neighbours_up_to_the_max() {
        let res7 = DensityResolution {
            resolution: 7,
            neighbors: 4,
            target: 5,
            max: 10,
        };
        assert_eq!(res7.limit(0), 5);
        assert_eq!(res7.limit(4), 5);
        assert_eq!(res7.limit(5), 10);
        assert_eq!(res7.limit(7), 10);
        let res4 = DensityResolution {
            resolution: 4,
            neighbors: 2,
            target: 500,
            max: 1_000,
        };
        assert_eq!(res4.limit(2), 500);
        assert_eq!(res4.limit(3), 1_000);
    }

    #[test]
    fn a_lone_device_keeps_its_full_scale() {
        let scales = DensityParams::default()
            .scales(&[Some(cell_at(48.85, 2.35))])
            .unwrap();
        assert_eq!(scales, vec![Fixed::ONE]);
    }

    #[test]
    fn devices_sharing_a_res10_cell_split_one_device_worth() {
        let cell = cell_at(37.77, -122.42);
        let scales = DensityParams::default()
            .scales(&[Some(cell), Some(cell), Some(cell), Some(cell)])
            .unwrap();
        assert!(
            scales.iter().all(|s| *s == Fixed::from_bps(2_500)),
            "{scales:?}"
        );
    }

    #[test]
    fn devices_in_separate_res10_cells_but_one_res8_cell_are_scaled_at_res8() {
        // Four res-10 children of one res-8 cell: each res-10 cell holds one device, the res-9
        // cells clip to one, so the res-8 cell (max 1) holds at most one device's worth.
        let res8 = cell_at(51.5, -0.12).parent(Resolution::Eight).unwrap();
        let children: Vec<Option<CellIndex>> =
            res8.children(Resolution::Ten).take(4).map(Some).collect();
        let scales = DensityParams::default().scales(&children).unwrap();
        let total: u128 = scales.iter().map(|s| s.raw()).sum();
        assert!(total <= Fixed::ONE.raw());
        assert!(total > Fixed::ONE.raw() - 10);
    }

    #[test]
    fn a_device_without_a_usable_location_gets_zero() {
        let coarse = cell_at(0.0, 0.0).parent(Resolution::Five);
        let scales = DensityParams::default().scales(&[None, coarse]).unwrap();
        assert_eq!(scales, vec![Fixed::ZERO, Fixed::ZERO]);
    }

    #[test]
    fn scales_do_not_depend_on_input_order() {
        let mut locations: Vec<Option<CellIndex>> = (0..300)
            .map(|i| {
                Some(cell_at(
                    40.0 + f64::from(i % 17) * 0.001,
                    -74.0 + f64::from(i % 13) * 0.001,
                ))
            })
            .collect();
        let forward = DensityParams::default().scales(&locations).unwrap();
        locations.reverse();
        let mut backward = DensityParams::default().scales(&locations).unwrap();
        backward.reverse();
        assert_eq!(forward, backward);
        assert!(forward.iter().all(|s| *s <= Fixed::ONE));
    }

    /// A slow, obviously-correct reading of HIP-17 with maps, to check the streaming version.
    fn reference_scales(params: &DensityParams, locations: &[Option<CellIndex>]) -> Vec<Fixed> {
        use std::collections::BTreeMap;
        let mut levels = params.resolutions.clone();
        levels.sort_by_key(|l| std::cmp::Reverse(l.resolution));
        let res = |r: u8| Resolution::try_from(r).unwrap();
        // actual and clipped counts per level, keyed by cell.
        let mut counts: Vec<BTreeMap<CellIndex, (u64, u64)>> = Vec::new();
        let mut actual: BTreeMap<CellIndex, u64> = BTreeMap::new();
        for cell in locations
            .iter()
            .flatten()
            .filter_map(|c| c.parent(res(levels[0].resolution)))
        {
            *actual.entry(cell).or_default() += 1;
        }
        for (i, level) in levels.iter().enumerate() {
            let mut clipped = BTreeMap::new();
            for (cell, count) in &actual {
                let occupied = cell
                    .grid_disk::<Vec<_>>(1)
                    .iter()
                    .filter(|n| actual.get(n).is_some_and(|c| *c >= level.target))
                    .count() as u64;
                clipped.insert(*cell, (*count, (*count).min(level.limit(occupied))));
            }
            let mut next: BTreeMap<CellIndex, u64> = BTreeMap::new();
            if let Some(coarser) = levels.get(i + 1) {
                for (cell, (_, c)) in &clipped {
                    *next
                        .entry(cell.parent(res(coarser.resolution)).unwrap())
                        .or_default() += c;
                }
            }
            counts.push(clipped);
            actual = next;
        }
        locations
            .iter()
            .map(|location| {
                let Some(cell) = location.and_then(|c| c.parent(res(levels[0].resolution))) else {
                    return Fixed::ZERO;
                };
                let mut scale = Fixed::ONE;
                for (i, level) in levels.iter().enumerate().rev() {
                    let (a, c) = counts[i][&cell.parent(res(level.resolution)).unwrap()];
                    scale = Fixed::from_ratio(u128::from(c), u128::from(a))
                        .unwrap()
                        .checked_mul(scale)
                        .unwrap();
                }
                scale.min(Fixed::ONE)
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        #[test]
        fn streaming_density_scaling_matches_the_reference_reading(
            points in proptest::collection::vec((0u32..40, 0u32..40, 0u8..4), 1..400),
        ) {
            // Tight clusters so that every resolution clips; a low res-7 target so the
            // neighbour ring matters.
            let mut params = DensityParams::default();
            params.resolutions[3] = DensityResolution { resolution: 7, neighbors: 2, target: 2, max: 6 };
            let locations: Vec<Option<CellIndex>> = points
                .iter()
                .map(|(a, b, hole)| (*hole > 0).then(|| cell_at(45.0 + f64::from(*a) * 0.002, 7.0 + f64::from(*b) * 0.003)))
                .collect();
            let fast = params.scales(&locations).unwrap();
            proptest::prop_assert_eq!(fast, reference_scales(&params, &locations));
        }
    }

    #[test]
    fn invalid_or_repeated_resolutions_are_rejected() {
        let mut params = DensityParams::default();
        params.resolutions[0].resolution = 16;
        assert_eq!(
            params.validate(),
            Err(TokenomicsError::InvalidResolution(16))
        );
        let mut params = DensityParams::default();
        params.resolutions[1].resolution = 4;
        assert!(params.validate().is_err());
    }
}
