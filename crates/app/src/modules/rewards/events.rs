//! Events the rewards module emits (block events of an epoch's last block).

use groundwork_proto::v1::Event;

use crate::events::event;
use crate::modules::rewards::state::EpochSummary;

/// `rewards.epoch_paid`: an epoch's rewards were minted.
pub fn epoch_paid(summary: &EpochSummary) -> Event {
    event(
        "rewards.epoch_paid",
        [
            ("epoch", summary.epoch.to_string()),
            ("emission", summary.emission.0.to_string()),
            ("paid", summary.paid.0.to_string()),
            ("to_treasury", summary.to_treasury.0.to_string()),
            ("burned", summary.burned.0.to_string()),
            ("carry_out", summary.carry_out.0.to_string()),
            ("devices_paid", summary.devices_paid.to_string()),
        ],
    )
}
