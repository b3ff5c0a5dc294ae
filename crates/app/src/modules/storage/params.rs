//! Storage parameters (genesis `params.storage`); docs/storage.md explains each choice.

use serde::{Deserialize, Serialize};

/// Most challenges per (deal, provider, period): ten proofs of up to ≈5.6 KiB each fit in one
/// 64 KiB transaction (see docs/storage.md, "Detection").
pub const MAX_CHALLENGES_PER_PERIOD: u32 = 10;
/// Basis points: 10,000 = 100%.
pub const BPS: u128 = 10_000;

/// Storage parameters, set at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageParams {
    /// Blocks per proving period. 60 (a minute at 1 s blocks) suits a devnet: a provider is
    /// paid and audited every minute; a production network would choose hours.
    pub proving_period_blocks: u64,
    /// Proofs of period `g` are accepted in blocks `g·P + 1 ..= g·P + deadline`. At most the
    /// period (windows never overlap the next period's) and below the 256 block hashes state
    /// keeps (the challenge seed must still be readable).
    pub proof_deadline_blocks: u64,
    /// Challenges per (deal, provider, period); docs/storage.md has the detection table.
    pub challenges_per_period: u32,
    /// Most pieces one deal may place (bounds the work of a block's settlement and a deal's size).
    pub max_pieces_per_deal: u32,
    /// Longest deal, in periods.
    pub max_duration_periods: u64,
    /// Escrowed on top of the provider payments to pay repairers, basis points of them.
    pub repair_reserve_bps: u32,
    /// A repairer earns this many periods of the repaired piece's rate (from the reserve).
    pub repair_reward_periods: u64,
    /// Share of their unearned payments providers keep when a client ends a deal early, bps.
    pub termination_penalty_bps: u32,
    /// Consecutive missed periods that slash a provider's stake.
    pub slash_after_failures: u32,
    /// Share of the device's bonded stake burned per slash, bps.
    pub slash_bps: u32,
}

impl Default for StorageParams {
    fn default() -> Self {
        StorageParams {
            proving_period_blocks: 60,
            proof_deadline_blocks: 30,
            challenges_per_period: MAX_CHALLENGES_PER_PERIOD,
            max_pieces_per_deal: 512,
            max_duration_periods: 1_000_000,
            repair_reserve_bps: 1_000,
            repair_reward_periods: 4,
            termination_penalty_bps: 1_000,
            slash_after_failures: 3,
            slash_bps: 1_000,
        }
    }
}

impl StorageParams {
    /// Checks the parameters, naming the one that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.proving_period_blocks == 0 {
            return Err("storage.proving_period_blocks must be at least 1".into());
        }
        if self.proof_deadline_blocks == 0
            || self.proof_deadline_blocks > self.proving_period_blocks
            || self.proof_deadline_blocks >= crate::chain::BLOCK_HASH_WINDOW
        {
            return Err(format!(
                "storage.proof_deadline_blocks must be 1 to min(proving_period_blocks, {}), it is {}",
                crate::chain::BLOCK_HASH_WINDOW - 1,
                self.proof_deadline_blocks
            ));
        }
        if self.challenges_per_period == 0 || self.challenges_per_period > MAX_CHALLENGES_PER_PERIOD
        {
            return Err(format!(
                "storage.challenges_per_period must be 1 to {MAX_CHALLENGES_PER_PERIOD}"
            ));
        }
        if self.max_pieces_per_deal == 0 || self.max_duration_periods == 0 {
            return Err(
                "storage.max_pieces_per_deal and max_duration_periods must be at least 1".into(),
            );
        }
        for (name, value) in [
            ("repair_reserve_bps", self.repair_reserve_bps),
            ("termination_penalty_bps", self.termination_penalty_bps),
            ("slash_bps", self.slash_bps),
        ] {
            if u128::from(value) > BPS {
                return Err(format!(
                    "storage.{name} is basis points, at most 10000; it is {value}"
                ));
            }
        }
        if self.slash_after_failures == 0 {
            return Err("storage.slash_after_failures must be at least 1".into());
        }
        Ok(())
    }
}
