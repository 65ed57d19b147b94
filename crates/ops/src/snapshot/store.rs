//! The Secrets section: each required secret, where it lives and (from /health) whether it is set.

use serde::Serialize;

use crate::dashboard::BillingCloud;
use crate::snapshot::health::Rehearsal;

/// Where every required secret lives.
pub const SECRET_STORE: &str = "Secret store";

/// Whether a secret is set in the running Worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretState {
    /// /health does not list it as missing.
    Set,
    /// /health lists it as missing.
    Unset,
    /// No reachable /health (no `--base`, or the Worker did not answer).
    Unknown,
}

/// One required secret; never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRow {
    /// The secret's name.
    pub name: &'static str,
    /// Where it lives.
    pub store: &'static str,
    /// Set or unset in the running Worker.
    pub state: SecretState,
    /// `billingCloud.secretsSet` lists it.
    pub listed_in_dashboard: bool,
}

/// A row per `nyra_domain::config::REQUIRED_SECRETS` name.
pub fn rows(answers: &BillingCloud, rehearsal: Option<&Rehearsal>) -> Vec<SecretRow> {
    let health = rehearsal.and_then(|r| r.health.as_ref());
    nyra_domain::config::REQUIRED_SECRETS
        .iter()
        .map(|name| SecretRow {
            name,
            store: SECRET_STORE,
            state: match health {
                None => SecretState::Unknown,
                Some(h) if h.missing_secrets.iter().any(|m| m == name) => SecretState::Unset,
                Some(_) => SecretState::Set,
            },
            listed_in_dashboard: answers.secrets_set.iter().any(|s| s == name),
        })
        .collect()
}

impl SecretState {
    /// `set`, `unset` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretState::Set => "set",
            SecretState::Unset => "unset",
            SecretState::Unknown => "unknown",
        }
    }
}
