//! Events the devices module emits.

use groundwork_primitives::{Address, DeviceId};
use groundwork_proto::v1::Event;

use crate::events::event;
use crate::modules::devices::state::DeviceKind;

/// `device_onboarded`
pub fn onboarded(id: &DeviceId, owner: &Address, kind: DeviceKind, maker: &Address) -> Event {
    event(
        "device_onboarded",
        [
            ("device", id.to_string()),
            ("owner", owner.to_string()),
            ("kind", kind.name().into()),
            ("maker", maker.to_string()),
        ],
    )
}

/// `device_location_asserted`
pub fn location_asserted(id: &DeviceId, cell: u64) -> Event {
    event(
        "device_location_asserted",
        [("device", id.to_string()), ("h3_cell", format!("{cell:x}"))],
    )
}

/// `device_transferred`
pub fn transferred(id: &DeviceId, from: &Address, to: &Address) -> Event {
    event(
        "device_transferred",
        [
            ("device", id.to_string()),
            ("from", from.to_string()),
            ("to", to.to_string()),
        ],
    )
}

/// `device_decommissioned`
pub fn decommissioned(id: &DeviceId) -> Event {
    event("device_decommissioned", [("device", id.to_string())])
}
