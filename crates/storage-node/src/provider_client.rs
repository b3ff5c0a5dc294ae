//! A blocking HTTP client for one provider's API ([`crate::wire`]).

use std::time::Duration;

use groundwork_storage_net::commitment::Hash;
use ureq::http::StatusCode;

use crate::store::root_hex;
use crate::wire::{
    ErrorBody, PROVIDER_INFO_PATH, ProofsResponse, ProviderInfo, PutReceipt, piece_path,
};

/// Why a request to a provider failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// No answer (refused connection, timeout, broken transfer).
    #[error("provider {url} did not answer: {reason}")]
    Unreachable {
        /// The provider.
        url: String,
        /// What happened.
        reason: String,
    },
    /// The provider refused with a JSON error.
    #[error("provider {url} refused ({status} {code}): {message}")]
    Refused {
        /// The provider.
        url: String,
        /// HTTP status.
        status: u16,
        /// The error code (see [`crate::wire`]).
        code: String,
        /// Its explanation.
        message: String,
        /// Seconds to wait before asking again, when it said.
        retry_after: Option<u64>,
    },
    /// The answer is not what the API promises.
    #[error("provider {url} answered something unexpected: {reason}")]
    Malformed {
        /// The provider.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

/// Most times an upload is retried after a `429` or `503`.
const MAX_RETRIES: usize = 5;
/// Longest `Retry-After` honoured before giving up on the provider.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);
/// Largest JSON answer read.
const MAX_JSON_ANSWER: u64 = 1 << 20;

/// Talks to providers (any of them: the URL is per call). Cheap to clone; keeps connections.
#[derive(Debug, Clone)]
pub struct ProviderClient {
    agent: ureq::Agent,
}

impl ProviderClient {
    /// A client whose every request gives up after `timeout`.
    pub fn new(timeout: Duration) -> ProviderClient {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_idle_connections_per_host(16)
            .build();
        ProviderClient {
            agent: config.into(),
        }
    }

    /// `GET /v1/info`.
    pub fn info(&self, url: &str) -> Result<ProviderInfo, ProviderError> {
        let full = format!("{}{PROVIDER_INFO_PATH}", url.trim_end_matches('/'));
        let response = self.agent.get(&full).call().map_err(unreachable(url))?;
        json_answer(url, response)
    }

    /// `PUT /v1/pieces/{root}`, retrying politely when the provider is busy or rate-limited.
    pub fn put_piece(
        &self,
        url: &str,
        root: &Hash,
        bytes: &[u8],
    ) -> Result<PutReceipt, ProviderError> {
        let full = format!(
            "{}{}",
            url.trim_end_matches('/'),
            piece_path(&root_hex(root))
        );
        let mut attempt = 0;
        loop {
            let response = self
                .agent
                .put(&full)
                .header("Content-Type", "application/octet-stream")
                // The provider may refuse (full, rate-limited, too large) or already hold the
                // piece: it answers before the body is sent, and no connection is reset under a
                // body it will not read.
                .header("Expect", "100-continue")
                .send(bytes)
                .map_err(unreachable(url))?;
            match json_answer::<PutReceipt>(url, response) {
                Err(ProviderError::Refused {
                    retry_after: Some(wait),
                    ..
                }) if attempt < MAX_RETRIES && Duration::from_secs(wait) <= MAX_RETRY_WAIT => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_secs(wait));
                }
                answer => return answer,
            }
        }
    }

    /// `GET /v1/pieces/{root}`: the whole piece, which must be `expected_len` bytes.
    pub fn get_piece(
        &self,
        url: &str,
        root: &Hash,
        expected_len: u64,
    ) -> Result<Vec<u8>, ProviderError> {
        self.get_piece_into(url, root, expected_len, Vec::new())
    }

    /// [`ProviderClient::get_piece`] into `buffer` (reusing its memory).
    pub fn get_piece_into(
        &self,
        url: &str,
        root: &Hash,
        expected_len: u64,
        mut buffer: Vec<u8>,
    ) -> Result<Vec<u8>, ProviderError> {
        let full = format!(
            "{}{}",
            url.trim_end_matches('/'),
            piece_path(&root_hex(root))
        );
        let mut attempt = 0;
        loop {
            let mut response = self.agent.get(&full).call().map_err(unreachable(url))?;
            if !response.status().is_success() {
                match refusal(url, response) {
                    ProviderError::Refused {
                        retry_after: Some(wait),
                        ..
                    } if attempt < MAX_RETRIES && Duration::from_secs(wait) <= MAX_RETRY_WAIT => {
                        attempt += 1;
                        std::thread::sleep(Duration::from_secs(wait));
                        continue;
                    }
                    error => return Err(error),
                }
            }
            let bytes = read_exact_body(
                url,
                &mut response,
                expected_len,
                std::mem::take(&mut buffer),
            )?;
            if bytes.len() as u64 != expected_len {
                return Err(ProviderError::Malformed {
                    url: url.to_string(),
                    reason: format!(
                        "the piece is {} bytes, expected {expected_len}",
                        bytes.len()
                    ),
                });
            }
            return Ok(bytes);
        }
    }

    /// `GET /v1/pieces/{root}` with `Range: bytes=start-(start+length-1)`.
    pub fn get_range(
        &self,
        url: &str,
        root: &Hash,
        start: u64,
        length: u64,
    ) -> Result<Vec<u8>, ProviderError> {
        let full = format!(
            "{}{}",
            url.trim_end_matches('/'),
            piece_path(&root_hex(root))
        );
        let end = start + length.max(1) - 1;
        let mut response = self
            .agent
            .get(&full)
            .header("Range", &format!("bytes={start}-{end}"))
            .call()
            .map_err(unreachable(url))?;
        if !response.status().is_success() {
            return Err(refusal(url, response));
        }
        response
            .body_mut()
            .with_config()
            .limit(length.saturating_add(1))
            .read_to_vec()
            .map_err(unreachable(url))
    }

    /// `POST /v1/receipts`: the provider's signed receipts of pieces it holds.
    pub fn receipts(
        &self,
        url: &str,
        request: &crate::wire::ReceiptsRequest,
    ) -> Result<crate::wire::ReceiptsResponse, ProviderError> {
        let full = format!(
            "{}{}",
            url.trim_end_matches('/'),
            crate::wire::RECEIPTS_PATH
        );
        let body = serde_json::to_vec(request).map_err(|error| ProviderError::Malformed {
            url: url.to_string(),
            reason: error.to_string(),
        })?;
        let response = self
            .agent
            .post(&full)
            .header("Content-Type", "application/json")
            .send(&body[..])
            .map_err(unreachable(url))?;
        json_answer(url, response)
    }

    /// `GET /v1/pieces/{root}/proofs?chunks=…`.
    pub fn proofs(
        &self,
        url: &str,
        root: &Hash,
        chunks: &[u64],
    ) -> Result<ProofsResponse, ProviderError> {
        let list: Vec<String> = chunks.iter().map(u64::to_string).collect();
        let full = format!(
            "{}{}/proofs?chunks={}",
            url.trim_end_matches('/'),
            piece_path(&root_hex(root)),
            list.join(",")
        );
        let response = self.agent.get(&full).call().map_err(unreachable(url))?;
        json_answer(url, response)
    }
}

/// Reads a body of `expected_len` bytes into a buffer allocated once; one byte more is an error.
fn read_exact_body(
    url: &str,
    response: &mut ureq::http::Response<ureq::Body>,
    expected_len: u64,
    mut bytes: Vec<u8>,
) -> Result<Vec<u8>, ProviderError> {
    use std::io::Read;
    let malformed = |reason: String| ProviderError::Malformed {
        url: url.to_string(),
        reason,
    };
    let capacity = usize::try_from(expected_len)
        .map_err(|_| malformed(format!("a piece of {expected_len} bytes is too large")))?;
    // A reused buffer is already that long: no zeroing, no fresh pages.
    bytes.resize(capacity, 0);
    let mut reader = response
        .body_mut()
        .with_config()
        .limit(expected_len.saturating_add(1))
        .reader();
    let mut filled = 0;
    while filled < capacity {
        match reader.read(&mut bytes[filled..]) {
            Ok(0) => {
                return Err(malformed(format!(
                    "the piece is {filled} bytes, expected {expected_len}"
                )));
            }
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => {
                return Err(ProviderError::Unreachable {
                    url: url.to_string(),
                    reason: error.to_string(),
                });
            }
        }
    }
    let mut extra = [0u8; 1];
    if matches!(reader.read(&mut extra), Ok(read) if read > 0) {
        return Err(malformed(format!(
            "the piece is longer than the expected {expected_len} bytes"
        )));
    }
    Ok(bytes)
}

fn unreachable(url: &str) -> impl FnOnce(ureq::Error) -> ProviderError + '_ {
    move |error| ProviderError::Unreachable {
        url: url.to_string(),
        reason: error.to_string(),
    }
}

fn refusal(url: &str, mut response: ureq::http::Response<ureq::Body>) -> ProviderError {
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok());
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_JSON_ANSWER)
        .read_to_string()
        .unwrap_or_default();
    let (code, message) = match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => (body.error.code, body.error.message),
        Err(_) => (
            status.canonical_reason().unwrap_or("error").to_string(),
            text,
        ),
    };
    ProviderError::Refused {
        url: url.to_string(),
        status: status.as_u16(),
        code,
        message,
        retry_after,
    }
}

fn json_answer<T: serde::de::DeserializeOwned>(
    url: &str,
    mut response: ureq::http::Response<ureq::Body>,
) -> Result<T, ProviderError> {
    let status = response.status();
    if !status.is_success() {
        return Err(refusal(url, response));
    }
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_JSON_ANSWER)
        .read_to_string()
        .map_err(unreachable(url))?;
    serde_json::from_str(&text).map_err(|error| ProviderError::Malformed {
        url: url.to_string(),
        reason: format!("{error} (status {status})"),
    })
}

impl ProviderError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ProviderError::Refused { status, .. } => StatusCode::from_u16(*status).ok(),
            _ => None,
        }
    }
}
