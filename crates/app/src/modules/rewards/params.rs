//! Rewards parameters: the tokenomics (emission schedule, pools, share rules) and where the
//! treasury's part goes.

use groundwork_primitives::{Address, sha256};
use groundwork_tokenomics::{PoolSpec, PoolSplit, ProofKind, TokenomicsParams};
use serde::{Deserialize, Serialize};

/// The tokenomics presets `groundwork init --preset` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// A Helium-like wireless network: halving emission; uptime, coverage and data transfer.
    Wireless,
    /// A Filecoin-like storage network: simple plus baseline minting; storage first.
    Storage,
    /// A sensor network: capped exponential decay; sensor data first.
    Sensors,
}

impl Preset {
    /// Parses `wireless`, `storage` or `sensors`.
    pub fn parse(name: &str) -> Option<Preset> {
        match name {
            "wireless" => Some(Preset::Wireless),
            "storage" => Some(Preset::Storage),
            "sensors" => Some(Preset::Sensors),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Wireless => "wireless",
            Preset::Storage => "storage",
            Preset::Sensors => "sensors",
        }
    }
}

/// Rewards parameters, set at genesis (`params.rewards`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardsParams {
    /// What these parameters are for, in words (JSON has no comments; `groundwork init` fills it
    /// with the chosen preset's description). Not used by the state machine.
    #[serde(default)]
    pub comment: String,
    /// The account that receives what the pool split routes to the treasury (unclaimed pools
    /// and rounding dust, when the parameters say `treasury`). Default: the module address
    /// [`default_treasury`], which no key controls until governance exists.
    #[serde(default = "default_treasury")]
    pub treasury: Address,
    /// Emission schedule, pools and share rules. Epochs are the reports module's
    /// (`params.reports.epoch_blocks`). `decimals` must equal the token's.
    #[serde(default)]
    pub tokenomics: TokenomicsParams,
}

/// The treasury's default address: the first 20 bytes of SHA-256(`groundwork/rewards/treasury`).
pub fn default_treasury() -> Address {
    let digest = sha256(b"groundwork/rewards/treasury");
    let mut bytes = [0u8; 20];
    bytes.copy_from_slice(&digest.0[..20]);
    Address(bytes)
}

impl Default for RewardsParams {
    fn default() -> Self {
        RewardsParams {
            comment: String::new(),
            treasury: default_treasury(),
            tokenomics: TokenomicsParams::default(),
        }
    }
}

impl RewardsParams {
    /// The parameters of a preset for a token with `decimals` decimals.
    pub fn preset(preset: Preset, decimals: u8) -> Result<RewardsParams, String> {
        let (tokenomics, comment) = match preset {
            Preset::Wireless => (
                TokenomicsParams::wireless(decimals),
                "Preset wireless: HNT-style halving emission (HIP-20) per epoch; pools: uptime 20% \
                 (min_heartbeats per epoch), coverage 30% (HIP-15 witness diminishing returns, \
                 HIP-17 density), data transfer 50%; unclaimed pools and rounding dust go to the \
                 treasury. A reputation multiplier from each device's verdicts applies to every pool.",
            ),
            Preset::Storage => (
                TokenomicsParams::storage(decimals),
                "Preset storage: Filecoin-style simple minting (330M, 6-year half-life) plus \
                 baseline minting (770M against a baseline doubling yearly); pools: uptime 10%, \
                 data transfer 20%, storage 70%; unclaimed pools carry over to the next epoch, \
                 rounding dust goes to the treasury.",
            ),
            Preset::Sensors => (
                TokenomicsParams::sensors(decimals),
                "Preset sensors: 500M tokens decaying with a 4-year half-life, hard-capped at 500M; \
                 pools: uptime 20%, coverage 20%, sensor data 60% (density-scaled); unclaimed \
                 pools are burned (never minted), rounding dust goes to the treasury.",
            ),
        };
        Ok(RewardsParams {
            comment: comment.into(),
            treasury: default_treasury(),
            tokenomics: tokenomics.map_err(|e| e.to_string())?,
        })
    }

    /// The devnet's parameters: the wireless preset with a sensor-data pool as well (the
    /// simulated fleet has hotspots and sensors) and a heartbeat minimum that short devnet
    /// epochs can meet.
    pub fn devnet(decimals: u8, min_heartbeats: u32) -> Result<RewardsParams, String> {
        let mut params = RewardsParams::preset(Preset::Wireless, decimals)?;
        let pool = |kind, share_bps, apply_density| PoolSpec {
            kind,
            share_bps,
            apply_reputation: true,
            apply_density,
        };
        params.tokenomics.pools = PoolSplit {
            pools: vec![
                pool(ProofKind::Uptime, 2_000, false),
                pool(ProofKind::Coverage, 3_000, true),
                pool(ProofKind::DataTransfer, 3_000, false),
                pool(ProofKind::SensorData, 2_000, false),
            ],
            ..params.tokenomics.pools
        };
        params.tokenomics.uptime.min_heartbeats = min_heartbeats;
        params.comment = format!(
            "Devnet: HNT-style halving emission; pools: uptime 20% (at least {min_heartbeats} \
             heartbeats per epoch), coverage 30% (HIP-15, HIP-17), data transfer 30%, sensor data \
             20%; unclaimed pools and rounding dust go to the treasury."
        );
        Ok(params)
    }

    /// Checks the parameters against the token's decimals.
    pub fn validate(&self, token_decimals: u8) -> Result<(), String> {
        self.tokenomics
            .validate()
            .map_err(|e| format!("rewards.tokenomics: {e}"))?;
        if self.tokenomics.decimals != token_decimals {
            return Err(format!(
                "rewards.tokenomics.decimals is {} but the token has {token_decimals} decimals",
                self.tokenomics.decimals
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid_and_names_round_trip() {
        for preset in [Preset::Wireless, Preset::Storage, Preset::Sensors] {
            assert_eq!(Preset::parse(preset.name()), Some(preset));
            let params = RewardsParams::preset(preset, 8).unwrap();
            params.validate(8).unwrap();
            assert!(params.validate(6).is_err(), "decimals must match the token");
        }
        RewardsParams::devnet(8, 5).unwrap().validate(8).unwrap();
        assert_eq!(Preset::parse("compute"), None);
    }
}
