//! The node's HTTP API, as much of it as a fleet needs (blocking, `ureq`).

use std::time::Duration;

use groundwork_primitives::{Address, DeviceId, Hash};
use groundwork_proto::Message as _;
use groundwork_proto::v1;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::{FleetError, Result};

/// What `GET /v1/status` says that the fleet uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Status {
    /// The chain id.
    pub chain_id: String,
    /// The last committed height.
    pub height: u64,
    /// Token decimals.
    #[serde(default)]
    pub token_decimals: u8,
}

#[derive(Debug, Deserialize)]
struct BlockView {
    hash: String,
}

#[derive(Debug, Deserialize)]
struct AccountView {
    next_nonce: u64,
    #[serde(default)]
    balance: String,
}

#[derive(Debug, Deserialize)]
struct CreditsView {
    credits: u64,
}

/// What `GET /v1/oracle` says that buyers of credits use.
#[derive(Debug, Clone, Deserialize)]
pub struct OracleStatus {
    /// The median minting would use now, micro-fiat per whole token.
    pub median_micro_fiat_per_token: Option<u64>,
    /// Why there is none.
    pub stale_reason: Option<String>,
    /// The fixed price of one credit, micro-fiat.
    pub micro_fiat_per_credit: u64,
}

/// A device as `GET /v1/devices/{id}` shows it (the fields the fleet reads).
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceView {
    /// Its owner (gw1…).
    pub owner: String,
    /// Its cell, hex.
    pub location: Option<String>,
    /// The counter of its last authenticated report.
    pub last_report_counter: Option<u64>,
}

/// The outcome of a committed transaction.
#[derive(Debug, Clone, Deserialize)]
pub struct TxOutcome {
    /// `committed`, `pending` or `timeout`.
    pub status: String,
    /// Result code, 0 = success.
    pub code: Option<u32>,
    /// Why it failed.
    pub error: Option<String>,
}

/// A report refused at ingest.
#[derive(Debug, Clone, Deserialize)]
pub struct Refusal {
    /// Its position in the batch.
    pub index: usize,
    /// Why.
    pub reason: String,
}

/// What the node did with a batch of reports.
#[derive(Debug, Clone)]
pub enum BatchAnswer {
    /// Taken: how many queued, and which were refused.
    Taken {
        /// Reports queued.
        accepted: usize,
        /// Reports refused.
        rejected: Vec<Refusal>,
    },
    /// The queue is full (429): nothing was queued; send again later.
    QueueFull,
}

#[derive(Debug, Deserialize)]
struct BatchView {
    accepted: usize,
    rejected: Vec<Refusal>,
}

/// A blocking client of one node.
#[derive(Debug, Clone)]
pub struct NodeClient {
    base: String,
    agent: ureq::Agent,
}

impl NodeClient {
    /// A client for the node at `base` (e.g. `http://127.0.0.1:26657`).
    pub fn new(base: &str) -> NodeClient {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        NodeClient {
            base: base.trim_end_matches('/').to_string(),
            agent,
        }
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn fail(&self, path: &str, message: impl std::fmt::Display) -> FleetError {
        FleetError::Node {
            url: format!("{}{path}", self.base),
            message: message.to_string(),
        }
    }

    fn read<T: DeserializeOwned>(
        &self,
        path: &str,
        mut response: ureq::http::Response<ureq::Body>,
    ) -> Result<(u16, Result<T, String>)> {
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.fail(path, e))?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or(text);
            return Ok((status, Err(message)));
        }
        let value = serde_json::from_str(&text)
            .map_err(|e| self.fail(path, format!("unexpected answer: {e}")))?;
        Ok((status, Ok(value)))
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<(u16, Result<T, String>)> {
        let url = format!("{}{path}", self.base);
        let response = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| self.fail(path, format!("unreachable: {e}")))?;
        self.read(path, response)
    }

    fn get_ok<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let (status, value) = self.get(path)?;
        value.map_err(|message| self.fail(path, format!("{status}: {message}")))
    }

    fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<(u16, Result<T, String>)> {
        let url = format!("{}{path}", self.base);
        let response = self
            .agent
            .post(&url)
            .header("Content-Type", content_type)
            .send(body)
            .map_err(|e| self.fail(path, format!("unreachable: {e}")))?;
        self.read(path, response)
    }

    /// `GET /v1/status`.
    pub fn status(&self) -> Result<Status> {
        self.get_ok("/v1/status")
    }

    /// The hash of the block at `height`, or `None` if there is none (yet).
    pub fn block_hash(&self, height: u64) -> Result<Option<Hash>> {
        let path = format!("/v1/blocks/{height}");
        let (status, view) = self.get::<BlockView>(&path)?;
        match view {
            Ok(view) => {
                let bytes =
                    hex::decode(&view.hash).map_err(|e| self.fail(&path, format!("hash: {e}")))?;
                Hash::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| self.fail(&path, format!("hash: {e}")))
            }
            Err(_) if status == 404 => Ok(None),
            Err(message) => Err(self.fail(&path, format!("{status}: {message}"))),
        }
    }

    /// The next nonce of an account (committed nonce plus waiting transactions).
    pub fn next_nonce(&self, address: &Address) -> Result<u64> {
        Ok(self
            .get_ok::<AccountView>(&format!("/v1/accounts/{address}"))?
            .next_nonce)
    }

    /// An account's balance in base units.
    pub fn balance(&self, address: &Address) -> Result<u128> {
        let path = format!("/v1/accounts/{address}");
        let view: AccountView = self.get_ok(&path)?;
        view.balance
            .parse()
            .map_err(|e| self.fail(&path, format!("balance {:?}: {e}", view.balance)))
    }

    /// An account's credits.
    pub fn credits(&self, address: &Address) -> Result<u64> {
        Ok(self
            .get_ok::<CreditsView>(&format!("/v1/credits/{address}"))?
            .credits)
    }

    /// `GET /v1/oracle`.
    pub fn oracle(&self) -> Result<OracleStatus> {
        self.get_ok("/v1/oracle")
    }

    /// `POST /v1/txs`: submits a signed transaction without waiting for its block.
    pub fn submit_tx(&self, tx: &[u8]) -> Result<()> {
        let path = "/v1/txs";
        let (status, answer) =
            self.post::<serde_json::Value>(path, "application/x-protobuf", tx)?;
        answer
            .map(|_| ())
            .map_err(|message| self.fail(path, format!("{status}: {message}")))
    }

    /// A device, or `None` if the chain has none with that id.
    pub fn device(&self, id: &DeviceId) -> Result<Option<DeviceView>> {
        let path = format!("/v1/devices/{id}");
        let (status, view) = self.get::<DeviceView>(&path)?;
        match view {
            Ok(view) => Ok(Some(view)),
            Err(_) if status == 404 => Ok(None),
            Err(message) => Err(self.fail(&path, format!("{status}: {message}"))),
        }
    }

    /// `POST /v1/txs?wait=true`: submits a signed transaction and waits for its block.
    pub fn submit_tx_and_wait(&self, tx: &[u8]) -> Result<TxOutcome> {
        let path = "/v1/txs?wait=true";
        let (status, outcome) = self.post::<TxOutcome>(path, "application/x-protobuf", tx)?;
        outcome.map_err(|message| self.fail(path, format!("{status}: {message}")))
    }

    /// `POST /v1/faucet` (devnets): `tokens` whole tokens to `address`, waiting for the block.
    pub fn faucet(&self, address: &Address, tokens: u64) -> Result<TxOutcome> {
        let path = "/v1/faucet";
        let body =
            serde_json::json!({ "address": address.to_string(), "amount": tokens.to_string() });
        let (status, outcome) =
            self.post::<TxOutcome>(path, "application/json", body.to_string().as_bytes())?;
        outcome.map_err(|message| self.fail(path, format!("{status}: {message}")))
    }

    /// `POST /v1/reports` with a protobuf `ReportBatch`.
    pub fn submit_reports(&self, reports: Vec<Vec<u8>>) -> Result<BatchAnswer> {
        let path = "/v1/reports";
        let body = v1::ReportBatch { reports }.encode_to_vec();
        let (status, view) = self.post::<BatchView>(path, "application/x-protobuf", &body)?;
        match view {
            Ok(view) => Ok(BatchAnswer::Taken {
                accepted: view.accepted,
                rejected: view.rejected,
            }),
            Err(_) if status == 429 => Ok(BatchAnswer::QueueFull),
            Err(message) => Err(self.fail(path, format!("{status}: {message}"))),
        }
    }
}
