//! A small JSON-over-HTTP client for the checklist: every answer as status plus JSON, never a panic.

use std::time::Duration;

use serde_json::Value;

/// Timeout of one request.
const TIMEOUT: Duration = Duration::from_secs(20);

/// One answer: the status and the body as JSON (`Value::Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body as JSON.
    pub json: Value,
}

impl Answer {
    /// The problem `code` of an error answer, or `""`.
    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or_default()
    }

    /// `status code` for failure details, e.g. `503 config_missing`.
    pub fn describe(&self) -> String {
        match self.code() {
            "" => format!("HTTP {}", self.status),
            code => format!("HTTP {} {code}", self.status),
        }
    }
}

/// Talks to the Worker (and, for control routes, to the Stripe emulator).
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    /// A client of the Worker at `base` (no trailing slash).
    pub fn new(base: &str) -> Api {
        let client = reqwest::Client::builder()
            .connect_timeout(TIMEOUT)
            .timeout(TIMEOUT)
            .build()
            .unwrap_or_default();
        Api {
            base: base.trim_end_matches('/').to_owned(),
            client,
        }
    }

    /// `GET base + path`.
    pub async fn get(&self, path: &str) -> Result<Answer, String> {
        self.send_to(&self.base, reqwest::Method::GET, path, &[], None)
            .await
    }

    /// `POST base + path` with a JSON body and extra headers.
    pub async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Answer, String> {
        self.send_to(&self.base, reqwest::Method::POST, path, headers, body)
            .await
    }

    /// `POST {}` to another server (the emulator).
    pub async fn post_at(&self, base: &str, path: &str) -> Result<Answer, String> {
        let body = Some(b"{}".to_vec());
        self.send_to(base, reqwest::Method::POST, path, &[], body)
            .await
    }

    async fn send_to(
        &self,
        base: &str,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Answer, String> {
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let mut request = self.client.request(method.clone(), &url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {path}: no answer ({})", without_url(&e)))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("{method} {path}: body not read ({})", without_url(&e)))?;
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, json })
    }
}

/// A reqwest error's text without the URL (the caller names the path).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(&format!(" for url ({url})"), "");
    }
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}
