//! Events the staking module emits.

use groundwork_primitives::{Address, Amount, DeviceId};
use groundwork_proto::v1::Event;

use crate::events::event;

/// `stake_bonded`
pub fn bonded(owner: &Address, device: &DeviceId, amount: Amount) -> Event {
    event(
        "stake_bonded",
        [
            ("owner", owner.to_string()),
            ("device", device.to_string()),
            ("amount", amount.to_string()),
        ],
    )
}

/// `stake_unbonding`
pub fn unbonding(owner: &Address, device: &DeviceId, amount: Amount, release_height: u64) -> Event {
    event(
        "stake_unbonding",
        [
            ("owner", owner.to_string()),
            ("device", device.to_string()),
            ("amount", amount.to_string()),
            ("release_height", release_height.to_string()),
        ],
    )
}

/// `stake_withdrawn`
pub fn withdrawn(owner: &Address, amount: Amount) -> Event {
    event(
        "stake_withdrawn",
        [("owner", owner.to_string()), ("amount", amount.to_string())],
    )
}

/// `stake_slashed`
pub fn slashed(device: &DeviceId, amount: Amount, reason: &str) -> Event {
    event(
        "stake_slashed",
        [
            ("device", device.to_string()),
            ("amount", amount.to_string()),
            ("reason", reason.to_string()),
        ],
    )
}
