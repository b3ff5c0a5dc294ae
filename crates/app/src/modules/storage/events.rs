//! Events the storage module emits.

use groundwork_primitives::{Address, Amount, DeviceId};
use groundwork_proto::v1::Event;

use crate::events::event;

/// `storage_provider_registered` (also on re-registration and update, with `action`).
pub fn provider_offer(action: &str, device: &DeviceId, price: Amount, capacity: u64) -> Event {
    event(
        "storage_provider_offer",
        [
            ("action", action.to_string()),
            ("device", device.to_string()),
            ("price_per_gib_period", price.to_string()),
            ("capacity_bytes", capacity.to_string()),
        ],
    )
}

/// `storage_provider_withdrawn`
pub fn provider_withdrawn(device: &DeviceId) -> Event {
    event(
        "storage_provider_withdrawn",
        [("device", device.to_string())],
    )
}

/// `storage_provider_failed`: disqualified by its audit reputation.
pub fn provider_failed(device: &DeviceId, score_ppm: u64) -> Event {
    event(
        "storage_provider_failed",
        [
            ("device", device.to_string()),
            ("score_ppm", score_ppm.to_string()),
        ],
    )
}

/// `storage_deal_created`
pub fn deal_created(
    id: u64,
    client: &Address,
    cid: &str,
    escrowed: Amount,
    start: u64,
    end: u64,
) -> Event {
    event(
        "storage_deal_created",
        [
            ("deal", id.to_string()),
            ("client", client.to_string()),
            ("cid", cid.to_string()),
            ("escrowed", escrowed.to_string()),
            ("start_period", start.to_string()),
            ("end_period", end.to_string()),
        ],
    )
}

/// `storage_proof_accepted`
pub fn proof_accepted(deal: u64, provider: &DeviceId, period: u64, paid: Amount) -> Event {
    event(
        "storage_proof_accepted",
        [
            ("deal", deal.to_string()),
            ("provider", provider.to_string()),
            ("period", period.to_string()),
            ("paid", paid.to_string()),
        ],
    )
}

/// `storage_proof_missed`
pub fn proof_missed(deal: u64, provider: &DeviceId, period: u64) -> Event {
    event(
        "storage_proof_missed",
        [
            ("deal", deal.to_string()),
            ("provider", provider.to_string()),
            ("period", period.to_string()),
        ],
    )
}

/// `storage_deal_ended`: completed or terminated, with the client's refund.
pub fn deal_ended(id: u64, status: &str, refunded: Amount, penalty: Amount) -> Event {
    event(
        "storage_deal_ended",
        [
            ("deal", id.to_string()),
            ("status", status.to_string()),
            ("refunded", refunded.to_string()),
            ("penalty_to_providers", penalty.to_string()),
        ],
    )
}

/// `storage_piece_repaired`
pub fn piece_repaired(
    deal: u64,
    segment: u32,
    piece: u32,
    old: &DeviceId,
    new: &DeviceId,
    repairer: &Address,
    reward: Amount,
) -> Event {
    event(
        "storage_piece_repaired",
        [
            ("deal", deal.to_string()),
            ("segment", segment.to_string()),
            ("piece", piece.to_string()),
            ("old_provider", old.to_string()),
            ("new_provider", new.to_string()),
            ("repairer", repairer.to_string()),
            ("reward", reward.to_string()),
        ],
    )
}
