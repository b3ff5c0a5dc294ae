//! Read-only views of report activity.

use groundwork_primitives::DeviceId;

use crate::error::AppResult;
use crate::modules::reports::state::{DeviceActivity, EpochCounts, ReportsRead};

/// A device's live activity (current epoch counts, last counter).
pub fn activity(state: &impl ReportsRead, device: &DeviceId) -> AppResult<DeviceActivity> {
    state.activity(device)
}

/// A device's counts for `epoch`: the saved summary of a finished epoch, or the live counts of
/// the current one.
pub fn epoch_counts(
    state: &impl ReportsRead,
    device: &DeviceId,
    epoch: u64,
) -> AppResult<Option<EpochCounts>> {
    if let Some(counts) = state.epoch_counts(epoch, device)? {
        return Ok(Some(counts));
    }
    let live = state.activity(device)?;
    Ok((live.counts.epoch == epoch).then_some(live.counts))
}
