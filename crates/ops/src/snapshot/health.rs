//! The rehearsal: `GET <base>/health` of a running Worker (names and modes only, never a value).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long the rehearsal waits for `/health`.
const TIMEOUT: Duration = Duration::from_secs(10);

/// D1's part of the health answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct D1Health {
    /// D1 answered and holds every billing table.
    pub ok: bool,
    /// Tables D1 lacks.
    pub missing_tables: Vec<String>,
}

/// The fields of the Worker's `HealthReport` the page shows; anything else is dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HealthReport {
    /// Everything the service needs is present.
    pub ok: bool,
    /// The service name.
    pub service: String,
    /// The pinned Stripe API version.
    pub stripe_api_version: String,
    /// `test`, `live` or `unknown`: the kind of the stored Stripe key.
    pub stripe_mode: String,
    /// Required secrets that are not set (names only).
    pub missing_secrets: Vec<String>,
    /// Required vars that are not set.
    pub missing_vars: Vec<String>,
    /// D1's state.
    pub d1: D1Health,
}

/// The rehearsal result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rehearsal {
    /// The URL asked.
    pub url: String,
    /// The HTTP status, when the Worker answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The health answer, when it was a health report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthReport>,
    /// Why there is no health answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Why `--base` was refused.
#[derive(Debug, thiserror::Error)]
#[error("--base must be an http:// or https:// url without query or fragment, got {0:?}")]
pub struct BadBase(pub String);

/// `<base>/health`, for a base URL given with `--base`.
pub fn health_url(base: &str) -> Result<String, BadBase> {
    let trimmed = base.trim_end_matches('/');
    let scheme_ok = trimmed.starts_with("http://") || trimmed.starts_with("https://");
    let host = trimmed.split("://").nth(1).unwrap_or_default();
    if !scheme_ok || host.is_empty() || trimmed.contains(['?', '#', ' ']) {
        return Err(BadBase(base.to_string()));
    }
    Ok(format!("{trimmed}/health"))
}

/// Asks the Worker; an unreachable Worker or an odd answer is recorded, not an error.
pub fn rehearse(url: &str) -> Rehearsal {
    let mut rehearsal = Rehearsal {
        url: url.to_string(),
        http_status: None,
        health: None,
        error: None,
    };
    match fetch(url) {
        Ok((status, body)) => {
            rehearsal.http_status = Some(status);
            match serde_json::from_str::<HealthReport>(&body) {
                Ok(health) => rehearsal.health = Some(health),
                Err(_) => {
                    rehearsal.error =
                        Some(format!("HTTP {status}: the answer is not a health report"))
                }
            }
        }
        Err(e) => rehearsal.error = Some(format!("not reachable: {e}")),
    }
    rehearsal
}

/// A blocking GET with a timeout: status and body.
fn fetch(url: &str) -> Result<(u16, String), reqwest::Error> {
    let client = reqwest::blocking::Client::builder()
        .timeout(TIMEOUT)
        .build()?;
    let response = client.get(url).send()?;
    let status = response.status().as_u16();
    Ok((status, response.text()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_url_accepts_http_and_https_bases() {
        assert_eq!(
            health_url("http://127.0.0.1:8787/").expect("valid"),
            "http://127.0.0.1:8787/health"
        );
        assert_eq!(
            health_url("https://x.workers.dev").expect("valid"),
            "https://x.workers.dev/health"
        );
        assert!(health_url("ftp://x").is_err());
        assert!(health_url("https://").is_err());
        assert!(health_url("https://x/?a=1").is_err());
    }
}
