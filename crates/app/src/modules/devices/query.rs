//! Read-only views of devices for the API: listing with filters and pages.

use groundwork_primitives::{Address, DeviceId};
use serde::Serialize;

use crate::error::AppResult;
use crate::modules::devices::state::{DeviceKind, DeviceRecord, DeviceStatus, DevicesRead};

/// Filters of a device listing (all optional, combined with AND).
#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    /// Only this owner's devices.
    pub owner: Option<Address>,
    /// Only this kind.
    pub kind: Option<DeviceKind>,
    /// Only this status.
    pub status: Option<DeviceStatus>,
    /// Only devices located in this H3 cell or inside it (a coarser cell is a region).
    pub cell: Option<h3o::CellIndex>,
}

impl DeviceFilter {
    fn matches(&self, record: &DeviceRecord) -> bool {
        if self.owner.is_some_and(|o| o != record.owner)
            || self.kind.is_some_and(|k| k != record.kind)
            || self.status.is_some_and(|s| s != record.status)
        {
            return false;
        }
        match self.cell {
            None => true,
            Some(region) => record
                .location
                .and_then(|c| h3o::CellIndex::try_from(c).ok())
                .and_then(|c| c.parent(region.resolution()))
                .is_some_and(|parent| parent == region),
        }
    }
}

/// A page of devices.
#[derive(Debug, Clone, Serialize)]
pub struct DevicePage {
    /// The devices.
    pub devices: Vec<DeviceRecord>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<DeviceId>,
}

/// Most devices scanned to fill one filtered page, so a query never walks the whole table.
const MAX_SCANNED: usize = 100_000;

/// Up to `limit` devices matching `filter`, after `cursor`.
pub fn list(
    state: &impl DevicesRead,
    filter: &DeviceFilter,
    cursor: Option<DeviceId>,
    limit: usize,
) -> AppResult<DevicePage> {
    let mut devices = Vec::new();
    let mut scanned = 0;
    let mut after = cursor;
    if let Some(owner) = filter.owner {
        // Use the owner index.
        loop {
            let ids = state.devices_of_owner(&owner, after.as_ref(), 256)?;
            if ids.is_empty() {
                return Ok(DevicePage {
                    devices,
                    next_cursor: None,
                });
            }
            for id in ids {
                after = Some(id);
                if let Some(record) = state.device(&id)?
                    && filter.matches(&record)
                {
                    devices.push(record);
                    if devices.len() == limit {
                        return Ok(DevicePage {
                            devices,
                            next_cursor: Some(id),
                        });
                    }
                }
            }
        }
    }
    loop {
        let page = state.devices_page(after.as_ref(), 512)?;
        if page.is_empty() {
            return Ok(DevicePage {
                devices,
                next_cursor: None,
            });
        }
        for record in page {
            scanned += 1;
            after = Some(record.id);
            let id = record.id;
            if filter.matches(&record) {
                devices.push(record);
                if devices.len() == limit {
                    return Ok(DevicePage {
                        devices,
                        next_cursor: Some(id),
                    });
                }
            }
            if scanned >= MAX_SCANNED {
                return Ok(DevicePage {
                    devices,
                    next_cursor: Some(id),
                });
            }
        }
    }
}
