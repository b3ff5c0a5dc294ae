//! All tokenomics parameters in one serialisable struct, with presets.
//!
//! These live in `genesis.json` and in the simulator's scenario TOML files. Amounts are decimal
//! strings of base units, fixed-point numbers are decimal strings (`"0.999"`); any field left out
//! takes its value from [`TokenomicsParams::default`], which is the [`TokenomicsParams::wireless`]
//! preset with 8 decimals.

use serde::{Deserialize, Serialize};

use crate::coverage::CoverageParams;
use crate::density::DensityParams;
use crate::emission::{
    BaselineMinting, DEFAULT_DECIMALS, EmissionCurve, EmissionSchedule, MAX_DECIMALS, NetEmissions,
    whole_tokens,
};
use crate::error::{Result, TokenomicsError};
use crate::pools::{PoolSpec, PoolSplit, ProofKind, UnclaimedDestination};
use crate::reputation::ReputationParams;

/// Days in the 365-day year the presets use.
const DAYS_PER_YEAR: u64 = 365;

/// Requirements of the uptime pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UptimeParams {
    /// Heartbeats a device must have in an epoch to share the uptime pool (default 20: with
    /// hourly heartbeats and day-long epochs, online about 83% of the day).
    pub min_heartbeats: u32,
}

impl Default for UptimeParams {
    fn default() -> Self {
        UptimeParams { min_heartbeats: 20 }
    }
}

/// Every parameter of the reward computation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenomicsParams {
    /// Decimals of the native token: 1 token = 10^decimals base units (default 8, at most 18).
    /// Every amount below is already in base units.
    pub decimals: u8,
    /// How much each epoch mints.
    pub emission: EmissionSchedule,
    /// Helium-style re-minting of burned tokens, if enabled (default: off).
    pub net_emissions: Option<NetEmissions>,
    /// How each epoch's amount is split by proof kind, and where unclaimed tokens go.
    pub pools: PoolSplit,
    /// The uptime pool's minimum heartbeats.
    pub uptime: UptimeParams,
    /// HIP-15 coverage units.
    pub coverage: CoverageParams,
    /// HIP-17 density scaling.
    pub density: DensityParams,
    /// Storj-style audit reputation.
    pub reputation: ReputationParams,
}

impl Default for TokenomicsParams {
    fn default() -> Self {
        // The wireless preset at 8 decimals cannot fail (8 ≤ 18 and the amounts fit easily);
        // the fallback keeps `default()` total without a panic path.
        TokenomicsParams::wireless(DEFAULT_DECIMALS).unwrap_or_else(|_| TokenomicsParams {
            decimals: DEFAULT_DECIMALS,
            emission: EmissionSchedule {
                curves: vec![EmissionCurve::Constant { per_epoch: 0 }],
                supply_cap: None,
            },
            net_emissions: None,
            pools: PoolSplit {
                pools: vec![pool(ProofKind::Uptime, 10_000, false)],
                unclaimed: UnclaimedDestination::Treasury,
                rounding: UnclaimedDestination::Treasury,
            },
            uptime: UptimeParams::default(),
            coverage: CoverageParams::default(),
            density: DensityParams::default(),
            reputation: ReputationParams::default(),
        })
    }
}

fn pool(kind: ProofKind, share_bps: u32, apply_density: bool) -> PoolSpec {
    PoolSpec {
        kind,
        share_bps,
        apply_reputation: true,
        apply_density,
    }
}

impl TokenomicsParams {
    /// Check every part of the parameters.
    pub fn validate(&self) -> Result<()> {
        if self.decimals > MAX_DECIMALS {
            return Err(TokenomicsError::TooManyDecimals(self.decimals));
        }
        self.emission.validate()?;
        self.pools.validate()?;
        self.density.validate()?;
        if self.coverage.decay_rate > crate::Fixed::ONE {
            return Err(TokenomicsError::ParameterOutOfRange {
                name: "coverage.decay_rate",
                reason: "must be at most 1",
            });
        }
        if self.coverage.witness_redundancy == 0 {
            return Err(TokenomicsError::ZeroParameter(
                "coverage.witness_redundancy",
            ));
        }
        Ok(())
    }

    /// A Helium-like wireless network with day-long epochs: HNT's halving schedule (HIP-20),
    /// 50% of each epoch for data transfer (real demand first, the lesson of HIP-149), 30% for
    /// HIP-15/HIP-17 coverage and 20% for uptime; unclaimed tokens go to the treasury.
    pub fn wireless(decimals: u8) -> Result<TokenomicsParams> {
        Ok(TokenomicsParams {
            decimals,
            emission: EmissionSchedule::helium_hnt(decimals)?,
            net_emissions: None,
            pools: PoolSplit {
                pools: vec![
                    pool(ProofKind::Uptime, 2_000, false),
                    pool(ProofKind::Coverage, 3_000, true),
                    pool(ProofKind::DataTransfer, 5_000, false),
                ],
                unclaimed: UnclaimedDestination::Treasury,
                rounding: UnclaimedDestination::Treasury,
            },
            uptime: UptimeParams::default(),
            coverage: CoverageParams::default(),
            density: DensityParams::default(),
            reputation: ReputationParams::default(),
        })
    }

    /// A Filecoin-like storage network with day-long epochs: simple minting of 330M tokens with
    /// a six-year half-life plus baseline minting of 770M against a baseline of 1 PiB (in GiB)
    /// doubling every year; 70% for proven storage, 20% data transfer, 10% uptime; unclaimed
    /// tokens carry over to the next epoch.
    pub fn storage(decimals: u8) -> Result<TokenomicsParams> {
        let half_life = 6 * DAYS_PER_YEAR;
        Ok(TokenomicsParams {
            decimals,
            emission: EmissionSchedule {
                curves: vec![
                    EmissionCurve::ExponentialDecay {
                        total: whole_tokens(330_000_000, decimals)?,
                        half_life_epochs: half_life,
                    },
                    EmissionCurve::Baseline(BaselineMinting {
                        total: whole_tokens(770_000_000, decimals)?,
                        half_life_epochs: half_life,
                        initial_baseline: 1 << 20,
                        growth_bps_per_year: 10_000,
                        epochs_per_year: DAYS_PER_YEAR,
                    }),
                ],
                supply_cap: None,
            },
            net_emissions: None,
            pools: PoolSplit {
                pools: vec![
                    pool(ProofKind::Uptime, 1_000, false),
                    pool(ProofKind::DataTransfer, 2_000, false),
                    pool(ProofKind::Storage, 7_000, false),
                ],
                unclaimed: UnclaimedDestination::CarryOver,
                rounding: UnclaimedDestination::Treasury,
            },
            uptime: UptimeParams::default(),
            coverage: CoverageParams::default(),
            density: DensityParams::default(),
            reputation: ReputationParams::default(),
        })
    }

    /// A sensor network with day-long epochs: 500M tokens decaying with a four-year half-life and
    /// a hard cap at the same 500M; 60% for valid sensor readings (density-scaled, since crowded
    /// sensors measure the same thing), 20% coverage, 20% uptime; unclaimed tokens are burned.
    pub fn sensors(decimals: u8) -> Result<TokenomicsParams> {
        let total = whole_tokens(500_000_000, decimals)?;
        Ok(TokenomicsParams {
            decimals,
            emission: EmissionSchedule {
                curves: vec![EmissionCurve::ExponentialDecay {
                    total,
                    half_life_epochs: 4 * DAYS_PER_YEAR,
                }],
                supply_cap: Some(total),
            },
            net_emissions: None,
            pools: PoolSplit {
                pools: vec![
                    pool(ProofKind::Uptime, 2_000, false),
                    pool(ProofKind::Coverage, 2_000, true),
                    pool(ProofKind::SensorData, 6_000, true),
                ],
                unclaimed: UnclaimedDestination::Burn,
                rounding: UnclaimedDestination::Treasury,
            },
            uptime: UptimeParams::default(),
            coverage: CoverageParams::default(),
            density: DensityParams::default(),
            reputation: ReputationParams::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid_at_every_supported_decimals() {
        for decimals in 0..=MAX_DECIMALS {
            for preset in [
                TokenomicsParams::wireless(decimals).unwrap(),
                TokenomicsParams::storage(decimals).unwrap(),
                TokenomicsParams::sensors(decimals).unwrap(),
            ] {
                preset.validate().unwrap();
            }
        }
        assert!(TokenomicsParams::wireless(19).is_err());
    }

    #[test]
    fn presets_round_trip_through_genesis_json_and_scenario_toml() {
        for preset in [
            TokenomicsParams::wireless(8).unwrap(),
            TokenomicsParams::storage(18).unwrap(),
            TokenomicsParams::sensors(6).unwrap(),
        ] {
            let json = serde_json::to_string_pretty(&preset).unwrap();
            assert_eq!(
                serde_json::from_str::<TokenomicsParams>(&json).unwrap(),
                preset
            );
            let toml_text = toml::to_string(&preset).unwrap();
            assert_eq!(
                toml::from_str::<TokenomicsParams>(&toml_text).unwrap(),
                preset
            );
        }
    }

    #[test]
    fn a_scenario_file_may_override_only_what_it_needs() {
        let text = r#"
            decimals = 8
            [uptime]
            min_heartbeats = 12
            [reputation]
            disqualification_threshold = "0.9"
        "#;
        let params: TokenomicsParams = toml::from_str(text).unwrap();
        assert_eq!(params.uptime.min_heartbeats, 12);
        assert_eq!(
            params.reputation.disqualification_threshold,
            crate::Fixed::from_bps(9_000)
        );
        assert_eq!(
            params.reputation.forgetting_factor,
            ReputationParams::default().forgetting_factor
        );
        assert_eq!(params.pools, TokenomicsParams::default().pools);
    }
}
