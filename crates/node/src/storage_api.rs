//! HTTP endpoints of the storage network: providers, deals with their proof history, the
//! challenges due now, and the deals storing a CID (docs/storage.md, "Queries").

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use groundwork_app::modules::storage::DueChallenge;
use groundwork_app::modules::storage::query::{self, DealPage, ProviderView};
use groundwork_app::modules::storage::state::{
    Deal, DealStatus, ProofOutcome, ProofRecord, ProviderStatus,
};
use groundwork_primitives::{Address, DeviceId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiError, ApiResult, ApiState, ErrorBody};

/// Most items per page.
const MAX_LIMIT: usize = 1000;

fn limit(requested: Option<usize>) -> Result<usize, ApiError> {
    let limit = requested.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit is 1 to {MAX_LIMIT}")));
    }
    Ok(limit)
}

fn parse_device(field: &str, text: &str) -> Result<DeviceId, ApiError> {
    text.parse().map_err(|e| {
        ApiError::bad_request(format!("{field}: {text:?} is not a device id (gwd1…): {e}"))
    })
}

fn parse_deal(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(format!("{text:?} is not a deal id (a positive integer)"))
    })
}

/// A storage provider.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StorageProviderView {
    /// Its storage device (gwd1…).
    pub device: String,
    /// Price per GiB per proving period, base units.
    pub price_per_gib_period: String,
    /// Bytes offered.
    pub capacity_bytes: u64,
    /// Bytes reserved by active deals.
    pub reserved_bytes: u64,
    /// Bytes free for new pieces.
    pub free_bytes: u64,
    /// Where pieces are uploaded and downloaded.
    pub endpoint: String,
    /// active, withdrawn or failed (disqualified).
    pub status: String,
    /// Height it first registered at.
    pub registered_height: u64,
    /// Audit reputation score, parts per million (Storj's α / (α + β)).
    pub reputation_ppm: u64,
    /// Reputation α (fixed point, 10^-9).
    pub reputation_alpha: u64,
    /// Reputation β (fixed point, 10^-9).
    pub reputation_beta: u64,
    /// Missed periods since its last pass or slash.
    pub consecutive_failures: u32,
    /// Periods proven.
    pub passes: u64,
    /// Periods missed.
    pub misses: u64,
    /// Stake burned by storage slashes, base units.
    pub slashed: String,
}

fn provider_view(view: ProviderView) -> StorageProviderView {
    let record = view.record;
    StorageProviderView {
        device: record.device.to_string(),
        price_per_gib_period: record.price_per_gib_period.to_string(),
        capacity_bytes: record.capacity_bytes,
        reserved_bytes: record.reserved_bytes,
        free_bytes: view.free_bytes,
        endpoint: record.endpoint,
        status: match record.status {
            ProviderStatus::Active => "active",
            ProviderStatus::Withdrawn => "withdrawn",
            ProviderStatus::Failed => "failed",
        }
        .into(),
        registered_height: record.registered_height,
        reputation_ppm: view.reputation_ppm,
        reputation_alpha: record.reputation_alpha,
        reputation_beta: record.reputation_beta,
        consecutive_failures: record.consecutive_failures,
        passes: record.passes,
        misses: record.misses,
        slashed: record.slashed.to_string(),
    }
}

/// Paging of a listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    /// Most items to return (1 to 1000, default 100).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of providers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StorageProviderPage {
    /// The providers, in id order.
    pub providers: Vec<StorageProviderView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/storage/providers", params(PageParams),
    responses((status = 200, body = StorageProviderPage), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_providers(
    State(state): State<ApiState>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> ApiResult<StorageProviderPage> {
    let params = crate::api::query_params(params)?;
    let limit = limit(params.limit)?;
    let cursor = params
        .cursor
        .as_deref()
        .map(|c| parse_device("cursor", c))
        .transpose()?;
    let snapshot = state.inner.store.snapshot()?;
    let page = query::providers(&snapshot, cursor, limit)?;
    Ok(Json(StorageProviderPage {
        providers: page.providers.into_iter().map(provider_view).collect(),
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    }))
}

#[utoipa::path(get, path = "/v1/storage/providers/{id}",
    params(("id" = String, Path, description = "The provider's storage device id, gwd1…")),
    responses((status = 200, body = StorageProviderView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_provider(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<StorageProviderView> {
    let id = parse_device("id", &id)?;
    let snapshot = state.inner.store.snapshot()?;
    let view = query::provider(&snapshot, &id)?
        .ok_or_else(|| ApiError::not_found(format!("{id} is not a storage provider")))?;
    Ok(Json(provider_view(view)))
}

/// A piece of a deal.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PieceView {
    /// Its index in the segment (0..k data, k..n parity).
    pub index: u32,
    /// Its provider (gwd1…).
    pub provider: String,
    /// Its commitment: BLAKE3 Merkle root, hex.
    pub commitment: String,
    /// Its length, bytes.
    pub size: u64,
    /// What it earns per proven period, base units.
    pub rate: String,
    /// The first period its current provider must prove.
    pub since_period: u64,
    /// After a repair: the provider that answers for it in the periods before `since_period`.
    pub previous_provider: Option<String>,
    /// Its provider missed the last settled period.
    pub missed_last: bool,
}

/// A segment of a deal.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SegmentView {
    /// Its length, bytes.
    pub length: u64,
    /// Its n pieces.
    pub pieces: Vec<PieceView>,
}

/// One provider's outcome for one period.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProofView {
    /// The period.
    pub period: u64,
    /// The provider (gwd1…).
    pub provider: String,
    /// proven or missed.
    pub outcome: String,
    /// When it was proven or settled as missed.
    pub height: u64,
    /// What the provider was paid for it, base units.
    pub paid: String,
}

fn proof_view(record: ProofRecord) -> ProofView {
    ProofView {
        period: record.period,
        provider: record.provider.to_string(),
        outcome: match record.outcome {
            ProofOutcome::Proven => "proven",
            ProofOutcome::Missed => "missed",
        }
        .into(),
        height: record.height,
        paid: record.paid.to_string(),
    }
}

/// A storage deal.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DealView {
    /// Its id.
    pub id: u64,
    /// Its client (gw1…).
    pub client: String,
    /// The file's CIDv1.
    pub cid: String,
    /// The file's length, bytes.
    pub file_size: u64,
    /// k: pieces that rebuild a segment.
    pub data_pieces: u16,
    /// n: pieces per segment.
    pub total_pieces: u16,
    /// Bytes per segment.
    pub segment_size: u64,
    /// Repair is due when a segment's healthy pieces fall to this.
    pub repair_threshold: u16,
    /// active, completed or terminated.
    pub status: String,
    /// Height of the block that created it.
    pub created_height: u64,
    /// Its first proving period.
    pub start_period: u64,
    /// One past its last period.
    pub end_period: u64,
    /// What the client escrowed, base units.
    pub escrowed_total: String,
    /// What is still in escrow.
    pub escrow_left: String,
    /// The part of `escrow_left` kept for repairers.
    pub repair_reserve_left: String,
    /// Paid to providers so far.
    pub paid_to_providers: String,
    /// Paid to repairers so far.
    pub paid_to_repairers: String,
    /// Refunded to the client.
    pub refunded: String,
    /// Height it ended at.
    pub ended_height: Option<u64>,
    /// The segments and their pieces.
    pub segments: Vec<SegmentView>,
    /// The proof history per period and provider (only in `GET /v1/storage/deals/{id}`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub proofs: Option<Vec<ProofView>>,
}

fn deal_view(deal: Deal, proofs: Option<Vec<ProofRecord>>) -> DealView {
    DealView {
        id: deal.id,
        client: deal.client.to_string(),
        cid: deal.cid,
        file_size: deal.file_size,
        data_pieces: deal.data_pieces,
        total_pieces: deal.total_pieces,
        segment_size: deal.segment_size,
        repair_threshold: deal.repair_threshold,
        status: match deal.status {
            DealStatus::Active => "active",
            DealStatus::Completed => "completed",
            DealStatus::Terminated => "terminated",
        }
        .into(),
        created_height: deal.created_height,
        start_period: deal.start_period,
        end_period: deal.end_period,
        escrowed_total: deal.escrowed_total.to_string(),
        escrow_left: deal.escrow_left.to_string(),
        repair_reserve_left: deal.repair_reserve_left.to_string(),
        paid_to_providers: deal.paid_to_providers.to_string(),
        paid_to_repairers: deal.paid_to_repairers.to_string(),
        refunded: deal.refunded.to_string(),
        ended_height: deal.ended_height,
        segments: deal
            .segments
            .into_iter()
            .map(|segment| SegmentView {
                length: segment.length,
                pieces: segment
                    .pieces
                    .into_iter()
                    .enumerate()
                    .map(|(index, piece)| PieceView {
                        index: index as u32,
                        provider: piece.provider.to_string(),
                        commitment: piece.commitment.to_string(),
                        size: piece.size,
                        rate: piece.rate.to_string(),
                        since_period: piece.since_period,
                        previous_provider: piece.previous_provider.map(|p| p.to_string()),
                        missed_last: piece.missed_last,
                    })
                    .collect(),
            })
            .collect(),
        proofs: proofs.map(|p| p.into_iter().map(proof_view).collect()),
    }
}

#[utoipa::path(get, path = "/v1/storage/deals/{id}",
    params(("id" = u64, Path, description = "Deal id")),
    responses((status = 200, body = DealView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_deal(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<DealView> {
    let id = parse_deal(&id)?;
    let snapshot = state.inner.store.snapshot()?;
    let view =
        query::deal(&snapshot, id)?.ok_or_else(|| ApiError::not_found(format!("no deal {id}")))?;
    Ok(Json(deal_view(view.deal, Some(view.proofs))))
}

/// Which deals to list: at most one of `client`, `cid`, `provider`; none lists the latest deals,
/// newest first.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DealListParams {
    /// A client's deals (gw1…).
    pub client: Option<String>,
    /// The deals storing this CID.
    pub cid: Option<String>,
    /// The deals a provider was placed in (gwd1…).
    pub provider: Option<String>,
    /// Most deals to return (1 to 1000, default 100).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page (without a filter: deals below this id).
    pub cursor: Option<String>,
}

/// A page of deals (without proof history).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DealListResponse {
    /// The deals, in id order.
    pub deals: Vec<DealView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn deal_page(page: DealPage) -> DealListResponse {
    DealListResponse {
        deals: page
            .deals
            .into_iter()
            .map(|deal| deal_view(deal, None))
            .collect(),
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    }
}

#[utoipa::path(get, path = "/v1/storage/deals", params(DealListParams),
    responses((status = 200, body = DealListResponse), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_deals(
    State(state): State<ApiState>,
    params: Result<Query<DealListParams>, QueryRejection>,
) -> ApiResult<DealListResponse> {
    let params = crate::api::query_params(params)?;
    let limit = limit(params.limit)?;
    let cursor = params.cursor.as_deref().map(parse_deal).transpose()?;
    let snapshot = state.inner.store.snapshot()?;
    let page = match (&params.client, &params.cid, &params.provider) {
        (Some(client), None, None) => {
            let client = client
                .parse::<Address>()
                .map_err(|e| ApiError::bad_request(format!("client: {e}")))?;
            query::deals_of_client(&snapshot, &client, cursor, limit)?
        }
        (None, Some(cid), None) => query::deals_of_cid(&snapshot, cid, cursor, limit)?,
        (None, None, Some(provider)) => {
            let provider = parse_device("provider", provider)?;
            query::deals_of_provider(&snapshot, &provider, cursor, limit)?
        }
        (None, None, None) => query::latest_deals(&snapshot, cursor, limit)?,
        _ => {
            return Err(ApiError::bad_request(
                "name at most one of client=gw1…, cid=bafy… or provider=gwd1…",
            ));
        }
    };
    Ok(Json(deal_page(page)))
}

#[utoipa::path(get, path = "/v1/storage/cids/{cid}",
    params(("cid" = String, Path, description = "A CIDv1 string (bafy…)"), PageParams),
    responses((status = 200, body = DealListResponse), (status = 400, body = ErrorBody)))]
pub(crate) async fn deals_of_cid(
    State(state): State<ApiState>,
    Path(cid): Path<String>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> ApiResult<DealListResponse> {
    let params = crate::api::query_params(params)?;
    let limit = limit(params.limit)?;
    let cursor = params.cursor.as_deref().map(parse_deal).transpose()?;
    let snapshot = state.inner.store.snapshot()?;
    Ok(Json(deal_page(query::deals_of_cid(
        &snapshot, &cid, cursor, limit,
    )?)))
}

/// Which provider's challenges.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ChallengeParams {
    /// Only this provider's (gwd1…).
    pub provider: Option<String>,
}

/// One challenged chunk.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChallengeView {
    /// The segment.
    pub segment: u32,
    /// The piece's index in the segment.
    pub piece: u32,
    /// The 4 KiB chunk of the piece to prove.
    pub chunk: u64,
}

fn challenge_view(c: DueChallenge) -> ChallengeView {
    ChallengeView {
        segment: c.segment,
        piece: c.piece,
        chunk: c.chunk,
    }
}

/// One provider's duty in the open window.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProviderChallengesView {
    /// The provider (gwd1…).
    pub provider: String,
    /// Already proven for this period.
    pub proven: bool,
    /// The chunks to prove, in the order the proofs must come in `SubmitStorageProof`.
    pub challenges: Vec<ChallengeView>,
}

/// What a deal's providers must prove now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChallengesResponse {
    /// The deal.
    pub deal: u64,
    /// The next block's height.
    pub next_height: u64,
    /// The period whose proof window is open, if one is.
    pub period: Option<u64>,
    /// The block whose hash seeds the challenges.
    pub randomness_height: Option<u64>,
    /// The last block that accepts proofs of the period.
    pub deadline_height: Option<u64>,
    /// The first block of the next proof window.
    pub next_window_opens: u64,
    /// Per provider with pieces due.
    pub providers: Vec<ProviderChallengesView>,
}

#[utoipa::path(get, path = "/v1/storage/challenges/{deal}",
    params(("deal" = u64, Path, description = "Deal id"), ChallengeParams),
    responses((status = 200, body = ChallengesResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_challenges(
    State(state): State<ApiState>,
    Path(deal): Path<String>,
    params: Result<Query<ChallengeParams>, QueryRejection>,
) -> ApiResult<ChallengesResponse> {
    let params = crate::api::query_params(params)?;
    let deal = parse_deal(&deal)?;
    let provider = params
        .provider
        .as_deref()
        .map(|p| parse_device("provider", p))
        .transpose()?;
    let snapshot = state.inner.store.snapshot()?;
    let tip = snapshot
        .tip()
        .ok_or_else(|| ApiError::internal("the store has no committed block"))?;
    let view = query::challenges(
        &snapshot,
        deal,
        provider.as_ref(),
        (tip.height, tip.block_hash),
    )?
    .ok_or_else(|| ApiError::not_found(format!("no deal {deal}")))?;
    Ok(Json(ChallengesResponse {
        deal: view.deal,
        next_height: view.next_height,
        period: view.period,
        randomness_height: view.randomness_height,
        deadline_height: view.deadline_height,
        next_window_opens: view.next_window_opens,
        providers: view
            .providers
            .into_iter()
            .map(|p| ProviderChallengesView {
                provider: p.provider.to_string(),
                proven: p.proven,
                challenges: p.challenges.into_iter().map(challenge_view).collect(),
            })
            .collect(),
    }))
}

/// The storage routes, merged into the API's router.
pub(crate) fn routes() -> axum::Router<ApiState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/v1/storage/providers", get(list_providers))
        .route("/v1/storage/providers/{id}", get(get_provider))
        .route("/v1/storage/deals", get(list_deals))
        .route("/v1/storage/deals/{id}", get(get_deal))
        .route("/v1/storage/cids/{cid}", get(deals_of_cid))
        .route("/v1/storage/challenges/{deal}", get(get_challenges))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::{Arc, Mutex};

    use groundwork_app::App;
    use groundwork_app::modules::devices::state::DeviceKind;
    use groundwork_app::modules::storage::params::StorageParams;
    use groundwork_primitives::Amount;
    use groundwork_storage_net::ErasureParams;
    use groundwork_testkit::{
        DealTerms, GenesisBuilder, StoredFile, TestDevice, TestNode, create_deal_message,
        register_provider_message,
    };
    use serde_json::Value;

    use crate::api::{ApiState, router};
    use crate::config::MempoolConfig;
    use crate::ingest::ReportQueue;
    use crate::mempool::Mempool;
    use crate::metrics::Metrics;

    /// A chain with three registered providers and one deal of a 50,000-byte file, 2 of 3.
    fn chain_with_a_deal() -> (TestNode, Vec<TestDevice>, StoredFile) {
        let mut node = TestNode::start(
            GenesisBuilder::new()
                .accounts(4, Amount(1_000_000_000_000))
                .maker(10)
                .storage_params(StorageParams {
                    proving_period_blocks: 10,
                    proof_deadline_blocks: 5,
                    ..StorageParams::default()
                })
                .build(),
        )
        .unwrap();
        let devices: Vec<TestDevice> = (0..3)
            .map(|i| {
                let device = TestDevice::ed25519(300 + i, DeviceKind::Storage);
                let owner = 1 + i as usize;
                assert_eq!(node.onboard_device(owner, &device, 0).unwrap().code, 0);
                let message =
                    register_provider_message(&device.id(), Amount(1 << 30), 1 << 20, "http://a");
                assert_eq!(node.execute(owner, vec![message]).unwrap().code, 0);
                device
            })
            .collect();
        let erasure = ErasureParams {
            data_pieces: 2,
            total_pieces: 3,
            segment_size: 64 * 1024,
        };
        let file = StoredFile::new(StoredFile::pseudo_random(50_000, 3), erasure).unwrap();
        let placement = vec![devices.iter().collect::<Vec<_>>()];
        let terms = DealTerms {
            duration_periods: 3,
            max_price: Amount(u128::MAX / 2),
            repair_threshold: 2,
        };
        let deal = file.create_deal(node.chain_id(), &node.address(0), &placement, terms);
        let created = node.execute(0, vec![create_deal_message(deal)]).unwrap();
        assert_eq!((created.code, created.error.as_str()), (0, ""));
        // Created in block 7, the deal starts in period 1; its first proof window is blocks 11
        // to 15.
        node.advance_to(10).unwrap();
        (node, devices, file)
    }

    fn get(base: &str, path: &str) -> (u16, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent.get(&format!("{base}{path}")).call().unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&text).unwrap())
    }

    #[test]
    fn storage_queries_answer_over_http_from_the_committed_chain() {
        let (node, devices, file) = chain_with_a_deal();
        let store = node.store().clone();
        let checker = App::open(store.clone()).unwrap();
        let chain = checker.chain_info().unwrap().clone();
        let tip = node.tip().unwrap();
        let (_tips_tx, tips) = tokio::sync::watch::channel(tip);
        let state = ApiState::new(
            store,
            checker,
            chain,
            Arc::new(Mutex::new(Mempool::new(MempoolConfig::default()))),
            Arc::new(Mutex::new(ReportQueue::new(16))),
            tips,
            Arc::new(Metrics::default()),
            "test".into(),
            None,
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, router(state)).await });

        let (status, providers) = get(&base, "/v1/storage/providers?limit=2");
        assert_eq!(status, 200, "{providers}");
        assert_eq!(providers["providers"].as_array().unwrap().len(), 2);
        let cursor = providers["next_cursor"].as_str().unwrap().to_string();
        let (_, rest) = get(&base, &format!("/v1/storage/providers?cursor={cursor}"));
        assert_eq!(rest["providers"].as_array().unwrap().len(), 1);
        assert!(rest["next_cursor"].is_null());

        let id = devices[1].id();
        let (status, provider) = get(&base, &format!("/v1/storage/providers/{id}"));
        assert_eq!(status, 200);
        // 50,000 bytes in one segment, 2 of 3: pieces of 25,024 bytes.
        assert_eq!(provider["reserved_bytes"], 25_024);
        assert_eq!(provider["free_bytes"], (1 << 20) - 25_024);
        assert_eq!(provider["reputation_ppm"], 1_000_000);
        assert_eq!(provider["status"], "active");

        let (status, deal) = get(&base, "/v1/storage/deals/1");
        assert_eq!(status, 200, "{deal}");
        assert_eq!(deal["cid"], file.cid.as_str());
        assert_eq!(deal["segments"][0]["pieces"][2]["size"], 25_024);
        assert_eq!(deal["proofs"].as_array().unwrap().len(), 0);

        let client = node.address(0);
        let (_, by_client) = get(&base, &format!("/v1/storage/deals?client={client}"));
        assert_eq!(by_client["deals"][0]["id"], 1);
        let (_, by_cid) = get(&base, &format!("/v1/storage/cids/{}", file.cid));
        assert_eq!(by_cid["deals"][0]["id"], 1);
        let (_, by_query) = get(&base, &format!("/v1/storage/deals?cid={}", file.cid));
        assert_eq!(by_query["deals"].as_array().unwrap().len(), 1);
        // Without a filter: the latest deals, newest first; below deal 1 there are none.
        let (status, latest) = get(&base, "/v1/storage/deals?limit=5");
        assert_eq!(status, 200, "{latest}");
        assert_eq!(latest["deals"][0]["id"], 1);
        assert_eq!(latest["deals"].as_array().unwrap().len(), 1);
        assert!(latest["next_cursor"].is_null());
        let (_, below) = get(&base, "/v1/storage/deals?cursor=1");
        assert_eq!(below["deals"], Value::Array(vec![]));

        // The window of period 1 is open for the next block (11): ten challenges per provider,
        // the same the chain will check.
        let (status, due) = get(&base, &format!("/v1/storage/challenges/1?provider={id}"));
        assert_eq!(status, 200, "{due}");
        assert_eq!(
            (due["period"].as_u64(), due["deadline_height"].as_u64()),
            (Some(1), Some(15))
        );
        let mine = &due["providers"][0];
        assert_eq!(mine["provider"], id.to_string().as_str());
        assert_eq!(mine["challenges"].as_array().unwrap().len(), 10);
        let expected = node.challenges(1).unwrap();
        let first = expected
            .providers
            .iter()
            .find(|p| p.provider == id)
            .unwrap()
            .challenges[0];
        assert_eq!(mine["challenges"][0]["chunk"], first.chunk);

        // Bad input gets the API's JSON errors.
        for (path, status) in [
            ("/v1/storage/deals/7", 404),
            ("/v1/storage/deals/x", 400),
            ("/v1/storage/deals?client=x&provider=y", 400),
            ("/v1/storage/deals?client=nope", 400),
            ("/v1/storage/providers/gwd1nope", 400),
            ("/v1/storage/providers?limit=0", 400),
            ("/v1/storage/challenges/9", 404),
        ] {
            let (got, body) = get(&base, path);
            assert_eq!(got, status, "{path}: {body}");
            assert!(body["error"]["message"].is_string(), "{path}: {body}");
        }
        let (_, openapi) = get(&base, "/v1/openapi.json");
        assert!(openapi["paths"]["/v1/storage/challenges/{deal}"].is_object());
    }
}
