//! A small blocking HTTP client for the node's API.

use std::time::Duration;

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;

/// Talks to one node.
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client for the node at `base` (e.g. `http://127.0.0.1:26657`).
    pub fn new(base: &str) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(150)))
            .build();
        Client {
            base: base.trim_end_matches('/').to_string(),
            agent: config.into(),
        }
    }

    /// GET a JSON document.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let response = self
            .agent
            .get(&url)
            .call()
            .with_context(|| self.unreachable(&url))?;
        read(response, &url)
    }

    /// POST raw bytes with a content type, reading a JSON answer.
    pub fn post_bytes<T: DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let response = self
            .agent
            .post(&url)
            .header("Content-Type", content_type)
            .send(body)
            .with_context(|| self.unreachable(&url))?;
        read(response, &url)
    }

    fn unreachable(&self, url: &str) -> String {
        format!(
            "cannot reach the node at {url}: is it running? (start one with `groundwork devnet`, or pass --node URL)"
        )
    }
}

fn read<T: DeserializeOwned>(
    mut response: ureq::http::Response<ureq::Body>,
    url: &str,
) -> anyhow::Result<T> {
    let status = response.status();
    let text = response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("reading the answer from {url}"))?;
    if !status.is_success() {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or(text);
        bail!("the node answered {status}: {message}");
    }
    serde_json::from_str(&text)
        .with_context(|| format!("the node's answer from {url} is not the expected JSON"))
}
