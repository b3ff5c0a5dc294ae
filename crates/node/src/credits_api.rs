//! HTTP endpoints for credits and the token price oracle.

use axum::Json;
use axum::extract::{Path, State};
use groundwork_app::chain;
use groundwork_app::modules::credits::query as credits_query;
use groundwork_primitives::Address;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiError, ApiResult, ApiState, ErrorBody};

/// An account's credits.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreditsResponse {
    /// The account, `gw1…`.
    pub address: String,
    /// Its credits. Credits are not tokens: they pay for service and cannot be transferred.
    pub credits: u64,
    /// Their fiat value in micro-fiat (credits × the fixed credit price).
    pub micro_fiat_value: String,
    /// The height of the state read.
    pub height: u64,
}

#[utoipa::path(get, path = "/v1/credits/{address}",
    params(("address" = String, Path, description = "A gw1… address")),
    responses((status = 200, body = CreditsResponse), (status = 400, body = ErrorBody)))]
pub(crate) async fn get_credits(
    State(state): State<ApiState>,
    Path(address): Path<String>,
) -> ApiResult<CreditsResponse> {
    let address: Address = address
        .parse()
        .map_err(|e| ApiError::bad_request(format!("{address:?}: {e}")))?;
    let snapshot = state.inner.store.snapshot()?;
    let view = credits_query::credit_balance(&snapshot, &address)?;
    let params = {
        use groundwork_app::modules::credits::state::CreditsRead as _;
        snapshot.credits_params()?
    };
    Ok(Json(CreditsResponse {
        address: view.address.to_string(),
        credits: view.credits,
        micro_fiat_value: (u128::from(view.credits) * u128::from(params.micro_fiat_per_credit))
            .to_string(),
        height: snapshot.tip().map_or(0, |t| t.height),
    }))
}

/// One oracle's latest submission.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmissionResponse {
    /// The oracle, `gw1…`.
    pub oracle: String,
    /// Micro-fiat per whole token.
    pub micro_fiat_per_token: u64,
    /// The block that carried it.
    pub height: u64,
    /// That block's time, ms.
    pub time_ms: u64,
    /// Its age at the last block's time, ms.
    pub age_ms: u64,
    /// Whether it counts toward the median.
    pub fresh: bool,
}

/// The oracle price as minting sees it at the last block.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OracleResponse {
    /// The oracle accounts named at genesis.
    pub oracles: Vec<String>,
    /// Their latest submissions.
    pub submissions: Vec<SubmissionResponse>,
    /// The median minting would use now (absent when stale).
    pub median_micro_fiat_per_token: Option<u64>,
    /// Why there is no median, when there is none (the error minting would give).
    pub stale_reason: Option<String>,
    /// A submission counts for this long, ms of block time.
    pub max_price_age_ms: u64,
    /// Fresh submissions needed.
    pub min_fresh_prices: u32,
    /// The fixed price of one credit, micro-fiat.
    pub micro_fiat_per_credit: u64,
    /// The last block's height.
    pub height: u64,
    /// The last block's time, ms: ages are measured from it.
    pub time_ms: u64,
}

#[utoipa::path(get, path = "/v1/oracle", responses((status = 200, body = OracleResponse)))]
pub(crate) async fn get_oracle(State(state): State<ApiState>) -> ApiResult<OracleResponse> {
    let snapshot = state.inner.store.snapshot()?;
    let last = chain::last_block(&snapshot)?;
    let view = credits_query::oracle(&snapshot, last.time_ms)?;
    Ok(Json(OracleResponse {
        oracles: view.oracles.iter().map(ToString::to_string).collect(),
        submissions: view
            .submissions
            .into_iter()
            .map(|s| SubmissionResponse {
                oracle: s.oracle.to_string(),
                micro_fiat_per_token: s.micro_fiat_per_token,
                height: s.height,
                time_ms: s.time_ms,
                age_ms: s.age_ms,
                fresh: s.fresh,
            })
            .collect(),
        median_micro_fiat_per_token: view.median_micro_fiat_per_token,
        stale_reason: view.stale_reason,
        max_price_age_ms: view.max_price_age_ms,
        min_fresh_prices: view.min_fresh_prices,
        micro_fiat_per_credit: view.micro_fiat_per_credit,
        height: last.height,
        time_ms: last.time_ms,
    }))
}

/// Where the supply's mints and burns came from (base units).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SupplyBreakdownResponse {
    /// Burned to mint credits.
    pub burned_for_credits: String,
    /// Burned by slashing.
    pub burned_by_slashing: String,
    /// Burned as transaction and location fees (every burn not counted above).
    pub burned_as_fees: String,
    /// Handed from credit burns to epoch rewards (net emissions), minted as rewards pay it.
    pub reminted: String,
    /// Credits minted since genesis.
    pub credits_minted: u64,
    /// Credits spent on service since genesis.
    pub credits_spent: u64,
}

/// The breakdown of the supply counters, for `/v1/supply`.
pub(crate) fn supply_breakdown(
    snapshot: &groundwork_state::Snapshot,
) -> Result<SupplyBreakdownResponse, ApiError> {
    let view = credits_query::supply_breakdown(snapshot)?;
    Ok(SupplyBreakdownResponse {
        burned_for_credits: view.burned_for_credits.to_string(),
        burned_by_slashing: view.burned_by_slashing.to_string(),
        burned_as_fees: view.burned_as_fees.to_string(),
        reminted: view.reminted.to_string(),
        credits_minted: view.credits.credits_minted,
        credits_spent: view.credits.credits_spent,
    })
}
