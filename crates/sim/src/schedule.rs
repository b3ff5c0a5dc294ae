//! Emission schedules on their own: every K-th epoch's emission and the cumulative emission up to
//! and including it, so anyone can check a schedule against its published source.
//!
//! Amounts are exact decimal token amounts (base units divided by `10^decimals`, no rounding).
//! Baseline curves (Filecoin) need the network's capacity; the default assumption is a network
//! exactly at the baseline ([`CapacityAssumption::AtBaseline`]), under which Filecoin's total
//! minting follows `1.1B · (1 − e^(−λt))`.

use std::fmt::Write as _;
use std::path::Path;

use groundwork_tokenomics::{CapacityIntegral, EmissionCurve, EmissionSchedule, TokenomicsParams};
use serde::Serialize;

use crate::error::{Result, SimError};

/// A schedule and its token's decimals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedSchedule {
    /// The schedule.
    pub schedule: EmissionSchedule,
    /// Decimals of the token.
    pub decimals: u8,
}

/// What capacity baseline curves see.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CapacityAssumption {
    /// The network's capacity equals the baseline at every epoch.
    #[default]
    AtBaseline,
    /// No capacity: baseline minting never starts.
    Zero,
}

/// A preset schedule by name: `filecoin-simple` and `filecoin` (18 decimals, 30-second epochs),
/// `helium-hnt` (8 decimals, day-long epochs), or the tokenomics presets `wireless`, `storage`,
/// `sensors` (8 decimals, day-long epochs).
pub fn preset(name: &str) -> Result<NamedSchedule> {
    let (schedule, decimals) = match name {
        "filecoin-simple" => (EmissionSchedule::filecoin_simple(18)?, 18),
        "filecoin" => (EmissionSchedule::filecoin(18)?, 18),
        "helium-hnt" => (EmissionSchedule::helium_hnt(8)?, 8),
        other => {
            let params = crate::scenario::tokenomics_preset(other, 8)?;
            (params.emission, params.decimals)
        }
    };
    Ok(NamedSchedule { schedule, decimals })
}

/// Read a schedule from a genesis or parameters file (JSON or TOML). It may be a genesis with
/// `params.tokenomics`, a document with a `tokenomics` table or a `[tokenomics] preset`, a
/// bare [`TokenomicsParams`], or a bare [`EmissionSchedule`].
pub fn from_file(path: &Path) -> Result<NamedSchedule> {
    let text = std::fs::read_to_string(path).map_err(|source| SimError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(_) => {
            let toml_value: toml::Value = toml::from_str(&text)
                .map_err(|e| SimError::Scenario(format!("{}: {e}", path.display())))?;
            serde_json::to_value(toml_value)?
        }
    };
    let decimals_of_token = value
        .pointer("/token/decimals")
        .and_then(serde_json::Value::as_u64)
        .and_then(|d| u8::try_from(d).ok());
    let candidates = [
        value.pointer("/params/tokenomics"),
        value.get("tokenomics"),
        Some(&value),
    ];
    for candidate in candidates.into_iter().flatten() {
        if let Some(preset_name) = candidate.get("preset").and_then(serde_json::Value::as_str) {
            let decimals = candidate
                .get("decimals")
                .and_then(serde_json::Value::as_u64)
                .and_then(|d| u8::try_from(d).ok())
                .or(decimals_of_token)
                .unwrap_or(groundwork_tokenomics::DEFAULT_DECIMALS);
            let params = crate::scenario::tokenomics_preset(preset_name, decimals)?;
            return Ok(NamedSchedule {
                schedule: params.emission,
                decimals: params.decimals,
            });
        }
        if candidate.get("curves").is_some() {
            let schedule: EmissionSchedule = serde_json::from_value(candidate.clone())?;
            return Ok(NamedSchedule {
                schedule,
                decimals: decimals_of_token.unwrap_or(groundwork_tokenomics::DEFAULT_DECIMALS),
            });
        }
        if candidate.get("emission").is_some() {
            let params: TokenomicsParams = serde_json::from_value(candidate.clone())?;
            return Ok(NamedSchedule {
                schedule: params.emission,
                decimals: params.decimals,
            });
        }
    }
    Err(SimError::NoSchedule(path.to_path_buf()))
}

/// One printed line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScheduleRow {
    /// The epoch.
    pub epoch: u64,
    /// Tokens it mints (exact decimal).
    pub emission: String,
    /// Tokens minted by epochs `0..=epoch` (exact decimal).
    pub cumulative: String,
}

/// `base_units / 10^decimals` as an exact decimal, without trailing zeros.
pub fn tokens_text(base_units: u128, decimals: u8) -> String {
    let scale = 10u128.pow(u32::from(decimals.min(38)));
    let whole = base_units / scale;
    let fraction = base_units % scale;
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:0width$}", width = usize::from(decimals));
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Every `step`-th epoch below `epochs`: its emission and the cumulative emission including it.
pub fn rows(
    named: &NamedSchedule,
    epochs: u64,
    step: u64,
    capacity: CapacityAssumption,
) -> Result<Vec<ScheduleRow>> {
    let schedule = &named.schedule;
    schedule.validate()?;
    let step = step.max(1);
    let baseline = schedule.curves.iter().find_map(|curve| match curve {
        EmissionCurve::Baseline(baseline) => Some(baseline),
        _ => None,
    });
    let mut rows = Vec::with_capacity((epochs / step + 1) as usize);
    let mut integral = 0u128;
    let mut integral_epoch = 0u64;
    let mut epoch = 0u64;
    while epoch < epochs {
        // R̄Σ at `epoch` and `epoch + 1`, advancing the running integral epoch by epoch.
        let mut advance = |until: u64| -> Result<u128> {
            if let (Some(baseline), CapacityAssumption::AtBaseline) = (baseline, capacity) {
                while integral_epoch < until {
                    let at = baseline.baseline_at(integral_epoch)?;
                    integral = baseline.advance_capacity_integral(integral, integral_epoch, at)?;
                    integral_epoch += 1;
                }
            }
            Ok(integral)
        };
        let start = advance(epoch)?;
        let end = advance(epoch + 1)?;
        let emission = schedule.emission_for_epoch(epoch, CapacityIntegral { start, end })?;
        rows.push(ScheduleRow {
            epoch,
            emission: tokens_text(emission.amount, named.decimals),
            cumulative: tokens_text(emission.cumulative_after, named.decimals),
        });
        epoch = match epoch.checked_add(step) {
            Some(next) => next,
            None => break,
        };
    }
    Ok(rows)
}

/// The rows as CSV with a header.
pub fn to_csv(rows: &[ScheduleRow]) -> String {
    let mut csv = String::from("epoch,emission,cumulative\n");
    for row in rows {
        let _ = writeln!(csv, "{},{},{}", row.epoch, row.emission, row.cumulative);
    }
    csv
}

/// The rows as a JSON array (amounts as strings, to keep every digit).
pub fn to_json(rows: &[ScheduleRow]) -> Result<String> {
    let mut text = serde_json::to_string_pretty(rows)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_amounts_print_exactly() {
        assert_eq!(tokens_text(1, 18), "0.000000000000000001");
        assert_eq!(tokens_text(1_500_000_000, 8), "15");
        assert_eq!(tokens_text(1_550_000_000, 8), "15.5");
        assert_eq!(tokens_text(0, 8), "0");
    }
}
