//! Read-only views of storage for the API: providers, deals with their proof history, and the
//! challenges due now.

use groundwork_primitives::{Address, DeviceId, Hash};
use serde::Serialize;

use crate::chain;
use crate::error::AppResult;
use crate::modules::storage::state::{Deal, DealStatus, ProofRecord, ProviderRecord, StorageRead};
use crate::modules::storage::{DueChallenge, derive_deal_challenges};

/// A provider as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderView {
    /// The record.
    #[serde(flatten)]
    pub record: ProviderRecord,
    /// Capacity not reserved.
    pub free_bytes: u64,
    /// Audit reputation score, parts per million.
    pub reputation_ppm: u64,
}

impl From<ProviderRecord> for ProviderView {
    fn from(record: ProviderRecord) -> Self {
        let reputation = groundwork_storage_net::AuditReputation {
            alpha: record.reputation_alpha,
            beta: record.reputation_beta,
        };
        ProviderView {
            free_bytes: record.free_bytes(),
            reputation_ppm: reputation.score_ppm(),
            record,
        }
    }
}

/// A page of providers.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderPage {
    /// The providers, in id order.
    pub providers: Vec<ProviderView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<DeviceId>,
}

/// Up to `limit` providers after `cursor`.
pub fn providers(
    state: &impl StorageRead,
    cursor: Option<DeviceId>,
    limit: usize,
) -> AppResult<ProviderPage> {
    let records = state.providers_page(cursor.as_ref(), limit.saturating_add(1))?;
    let more = records.len() > limit;
    let providers: Vec<ProviderView> = records
        .into_iter()
        .take(limit)
        .map(ProviderView::from)
        .collect();
    let next_cursor = if more {
        providers.last().map(|p| p.record.device)
    } else {
        None
    };
    Ok(ProviderPage {
        providers,
        next_cursor,
    })
}

/// One provider.
pub fn provider(state: &impl StorageRead, device: &DeviceId) -> AppResult<Option<ProviderView>> {
    Ok(state.provider(device)?.map(ProviderView::from))
}

/// A deal with its proof history.
#[derive(Debug, Clone, Serialize)]
pub struct DealView {
    /// The deal.
    #[serde(flatten)]
    pub deal: Deal,
    /// Every settled or proven (period, provider), in period then provider order (at most
    /// [`MAX_PROOF_HISTORY`], the latest kept).
    pub proofs: Vec<ProofRecord>,
}

/// Most proof records a deal view carries.
pub const MAX_PROOF_HISTORY: usize = 4096;

/// A deal with its proof history.
pub fn deal(state: &impl StorageRead, id: u64) -> AppResult<Option<DealView>> {
    let Some(deal) = state.deal(id)? else {
        return Ok(None);
    };
    let mut proofs = Vec::new();
    let mut after = None;
    loop {
        let page = state.proof_records(id, after, 1024)?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some((last.period, last.provider));
        proofs.extend(page);
        if proofs.len() > MAX_PROOF_HISTORY {
            let excess = proofs.len() - MAX_PROOF_HISTORY;
            proofs.drain(..excess);
        }
    }
    Ok(Some(DealView { deal, proofs }))
}

/// A page of deals.
#[derive(Debug, Clone, Serialize)]
pub struct DealPage {
    /// The deals, in id order (without proof history: ask for one deal for it).
    pub deals: Vec<Deal>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<u64>,
}

fn page_of(state: &impl StorageRead, ids: Vec<u64>, limit: usize) -> AppResult<DealPage> {
    let more = ids.len() > limit;
    let mut deals = Vec::new();
    for id in ids.into_iter().take(limit) {
        if let Some(deal) = state.deal(id)? {
            deals.push(deal);
        }
    }
    let next_cursor = if more {
        deals.last().map(|d| d.id)
    } else {
        None
    };
    Ok(DealPage { deals, next_cursor })
}

/// Up to `limit` deals of a client after `cursor`.
pub fn deals_of_client(
    state: &impl StorageRead,
    client: &Address,
    cursor: Option<u64>,
    limit: usize,
) -> AppResult<DealPage> {
    let ids = state.deals_of_client(client, cursor, limit.saturating_add(1))?;
    page_of(state, ids, limit)
}

/// Up to `limit` deals storing a CID after `cursor`.
pub fn deals_of_cid(
    state: &impl StorageRead,
    cid: &str,
    cursor: Option<u64>,
    limit: usize,
) -> AppResult<DealPage> {
    let ids = state.deals_of_cid(cid, cursor, limit.saturating_add(1))?;
    page_of(state, ids, limit)
}

/// Up to `limit` of the most recent deals, newest first, with ids below `before` (all when
/// `None`): deal ids are given in order, so this reads `limit` deals and scans nothing.
pub fn latest_deals(
    state: &impl StorageRead,
    before: Option<u64>,
    limit: usize,
) -> AppResult<DealPage> {
    let top = before
        .unwrap_or(state.next_deal_id()?)
        .min(state.next_deal_id()?);
    let mut deals = Vec::new();
    let mut id = top;
    while id > 1 && deals.len() < limit {
        id -= 1;
        if let Some(deal) = state.deal(id)? {
            deals.push(deal);
        }
    }
    let next_cursor = (id > 1).then_some(id);
    Ok(DealPage { deals, next_cursor })
}

/// Up to `limit` deals a provider was placed in after `cursor`.
pub fn deals_of_provider(
    state: &impl StorageRead,
    provider: &DeviceId,
    cursor: Option<u64>,
    limit: usize,
) -> AppResult<DealPage> {
    let ids = state.deals_of_provider(provider, cursor, limit.saturating_add(1))?;
    page_of(state, ids, limit)
}

/// One provider's duty in the open proof window.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderChallenges {
    /// The provider.
    pub provider: DeviceId,
    /// Already proven for this period.
    pub proven: bool,
    /// The chunks to prove, in the order the proofs must come.
    pub challenges: Vec<DueChallenge>,
}

/// What a deal's providers must prove now.
#[derive(Debug, Clone, Serialize)]
pub struct ChallengesView {
    /// The deal.
    pub deal: u64,
    /// The next block's height (the one a proof sent now lands in, at the earliest).
    pub next_height: u64,
    /// The period whose proof window is open for the next block, if one is (and the deal is
    /// active in it).
    pub period: Option<u64>,
    /// The block whose hash seeds the period's challenges.
    pub randomness_height: Option<u64>,
    /// The last block that accepts proofs of the period.
    pub deadline_height: Option<u64>,
    /// The first block of the next proof window.
    pub next_window_opens: u64,
    /// Per provider with due pieces (all, or the one asked for).
    pub providers: Vec<ProviderChallenges>,
}

/// The challenges due in the proof window open for the block after the tip `(height, hash)`.
pub fn challenges(
    state: &impl StorageRead,
    deal_id: u64,
    provider: Option<&DeviceId>,
    tip: (u64, Hash),
) -> AppResult<Option<ChallengesView>> {
    let Some(deal) = state.deal(deal_id)? else {
        return Ok(None);
    };
    let params = state.storage_params()?;
    let length = params.proving_period_blocks.max(1);
    let next_height = tip.0 + 1;
    let offset = (next_height - 1) % length;
    let candidate = (next_height - 1) / length;
    let next_window_opens = if offset < params.proof_deadline_blocks {
        next_height
    } else {
        (candidate + 1) * length + 1
    };
    let mut view = ChallengesView {
        deal: deal_id,
        next_height,
        period: None,
        randomness_height: None,
        deadline_height: None,
        next_window_opens,
        providers: Vec::new(),
    };
    let open = offset < params.proof_deadline_blocks
        && deal.status == DealStatus::Active
        && candidate >= deal.start_period
        && candidate < deal.end_period;
    if !open {
        return Ok(Some(view));
    }
    let randomness_height = candidate * length;
    let randomness = if randomness_height == tip.0 {
        Some(tip.1)
    } else {
        chain::block_hash_at(state, randomness_height)?
    };
    let Some(randomness) = randomness else {
        return Ok(Some(view));
    };
    view.period = Some(candidate);
    view.randomness_height = Some(randomness_height);
    view.deadline_height = Some(randomness_height + params.proof_deadline_blocks);
    for (device, _) in deal.due_pieces(candidate) {
        if provider.is_some_and(|p| *p != device) {
            continue;
        }
        let challenges = derive_deal_challenges(
            &randomness,
            &deal,
            &device,
            candidate,
            params.challenges_per_period,
        )
        .map_err(|reason| crate::error::AppError::Corrupt {
            key: format!("storage/d/{deal_id}"),
            reason,
        })?;
        view.providers.push(ProviderChallenges {
            provider: device,
            proven: state.proof_record(deal_id, candidate, &device)?.is_some(),
            challenges,
        });
    }
    Ok(Some(view))
}
