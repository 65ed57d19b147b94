//! The dashboard answers file: its format (with a generated JSON Schema) and loading it without echoing secrets.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::OpsError;
use crate::repo::Repo;
use crate::secrets::{self, SecretKind};

/// The whole answers file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "NyrA billing dashboard answers",
    description = "Answers about the Cloudflare and Stripe setup, read by `nyra-ops config-sync` and `nyra-ops live-preflight` (docs/ops.md). Never put a secret value here: secrets go into the Worker with `wrangler secret put`."
)]
pub struct DashboardFile {
    /// Optional path of this schema, for editors.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The billing deployment's answers.
    #[serde(rename = "billingCloud", default)]
    pub billing_cloud: BillingCloud,
}

/// The billing deployment's answers; every field is optional and an absent one means "not done yet".
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct BillingCloud {
    /// The production D1 database id (a UUID) from `wrangler d1 create nyra_billing`; written to wrangler.jsonc.
    #[schemars(pattern(
        r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d1_database_id: Option<String>,
    /// The https origin of the site that calls the API from a browser, no path; written as ALLOWED_ORIGIN.
    #[schemars(pattern(r"^https://[^/?#]+$"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_origin: Option<String>,
    /// The Stripe API version (`YYYY-MM-DD.name`, the one the Worker is built for); written as STRIPE_API_VERSION.
    #[schemars(pattern(r"^\d{4}-\d{2}-\d{2}\.[a-z]+$"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stripe_api_version: Option<String>,
    /// The deployed Worker's https base URL (custom domain or workers.dev); used by the preflight only.
    #[schemars(pattern(r"^https://"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_url: Option<String>,
    /// Names (never values) of the secrets `wrangler secret list --env production` shows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets_set: Vec<String>,
    /// Which Stripe mode the stored STRIPE_SECRET_KEY, webhook secret and price belong to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stripe_secrets_mode: Option<StripeMode>,
    /// Stripe dashboard setup, per mode.
    pub stripe: StripeModes,
    /// The monthly price is final (chosen in the command center); live money waits for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_price_final: Option<bool>,
    /// The hosted AI usage cap is set in the command center; live money waits for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosted_ai_cap_set: Option<bool>,
    /// Desktop releases are signed and trusted by the OS stores; live money waits for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_release_path_ready: Option<bool>,
    /// The checkout switch the operator asks for; config-sync writes it as BILLING_CHECKOUT only when the preflight allows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout: Option<CheckoutState>,
    /// A message to the support inbox was sent and answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_inbox_tested: Option<bool>,
    /// An attorney and an accountant approved selling the subscription (terms, refunds, tax).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_review_approved: Option<bool>,
}

/// A Stripe mode.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum StripeMode {
    /// Test mode: no money moves.
    Test,
    /// Live mode: real money.
    Live,
}

impl StripeMode {
    /// `test` or `live`.
    pub fn as_str(self) -> &'static str {
        match self {
            StripeMode::Test => "test",
            StripeMode::Live => "live",
        }
    }
}

/// The checkout switch: the value of the Worker's `BILLING_CHECKOUT` var.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Deserialize,
    Serialize,
    JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum CheckoutState {
    /// Checkout answers 503 `checkout_disabled` before any Stripe call.
    Disabled,
    /// Checkout serves Stripe test keys only.
    Test,
    /// Checkout may use a live Stripe key: real money.
    Live,
}

impl CheckoutState {
    /// `disabled`, `test` or `live`, as written in wrangler.jsonc.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutState::Disabled => "disabled",
            CheckoutState::Test => "test",
            CheckoutState::Live => "live",
        }
    }

    /// Parses a wrangler.jsonc value; anything else is `None`.
    pub fn parse(value: &str) -> Option<CheckoutState> {
        [
            CheckoutState::Disabled,
            CheckoutState::Test,
            CheckoutState::Live,
        ]
        .into_iter()
        .find(|state| state.as_str() == value)
    }
}

/// Stripe dashboard setup for each mode.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StripeModes {
    /// Test mode setup.
    pub test: StripeSetup,
    /// Live mode setup.
    pub live: StripeSetup,
}

impl StripeModes {
    /// The setup of one mode.
    pub fn of(&self, mode: StripeMode) -> &StripeSetup {
        match mode {
            StripeMode::Test => &self.test,
            StripeMode::Live => &self.live,
        }
    }
}

/// What was set up in one Stripe mode.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct StripeSetup {
    /// The product and its monthly Price exist; the Price ID is stored as NYRA_STRIPE_PRICE_PRO_MONTHLY.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_and_price_created: Option<bool>,
    /// The Customer Portal is configured (cancel, payment method, invoices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_portal_configured: Option<bool>,
    /// A webhook endpoint points at `<workerUrl>/api/billing/webhook` with the Worker's events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_endpoint_configured: Option<bool>,
}

/// A secret-looking value found in the file: where, and what it looks like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretFinding {
    /// Dotted key path (`billingCloud.allowedOrigin`, `billingCloud.secretsSet[2]`).
    pub path: String,
    /// What it looks like.
    pub kind: SecretKind,
}

/// A loaded dashboard: the answers with secret-looking values removed, and where those were.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The answers; a secret-looking value counts as unanswered.
    pub file: DashboardFile,
    /// The secret-looking values that were removed.
    pub secrets: Vec<SecretFinding>,
    /// False when the default file does not exist (every answer unanswered).
    pub found: bool,
}

impl Loaded {
    /// The secret finding at a key path, if any.
    pub fn secret_at(&self, path: &str) -> Option<&SecretFinding> {
        self.secrets.iter().find(|s| s.path == path)
    }
}

/// The JSON Schema of the file, as committed in deploy/dashboard.schema.json.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(DashboardFile);
    let text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    format!("{text}\n")
}

/// Loads the file at `path`; a missing file is an error only when `required`.
pub fn load(repo: &Repo, path: &Path, required: bool) -> Result<Loaded, OpsError> {
    if !required && !path.exists() {
        return Ok(Loaded::default());
    }
    let text = repo.read(path)?;
    parse(&text, &repo.show(path))
}

/// Parses the text of an answers file shown to the user as `shown`.
pub fn parse(text: &str, shown: &str) -> Result<Loaded, OpsError> {
    let value: Value = serde_json::from_str(text).map_err(|e| OpsError::DashboardJson {
        path: shown.to_string(),
        detail: format!("line {} column {}", e.line(), e.column()),
    })?;
    let mut secrets = Vec::new();
    let clean = scrub(value, "", &mut secrets).unwrap_or(Value::Null);
    let file = serde_path_to_error::deserialize(clean).map_err(|e| shape_error(shown, e))?;
    Ok(Loaded {
        file,
        secrets,
        found: true,
    })
}

/// A schema mismatch, described without the offending value.
fn shape_error(shown: &str, error: serde_path_to_error::Error<serde_json::Error>) -> OpsError {
    let at = match error.path().to_string() {
        p if p == "." => "the top level".to_string(),
        p => p,
    };
    let message = error.inner().to_string();
    let detail = if let Some(rest) = message.strip_prefix("unknown field ") {
        let field = rest.split(',').next().unwrap_or_default();
        format!("unknown key {field}")
    } else if message.starts_with("invalid type") {
        "wrong type".to_string()
    } else if message.starts_with("unknown variant") {
        "not one of the allowed values".to_string()
    } else {
        "invalid value".to_string()
    };
    OpsError::DashboardShape {
        path: shown.to_string(),
        at,
        detail,
    }
}

/// Removes secret-looking strings (values and keys) from `value`, recording their paths.
fn scrub(value: Value, path: &str, found: &mut Vec<SecretFinding>) -> Option<Value> {
    match value {
        Value::String(text) => match secrets::find_in_answer(&text) {
            Some(kind) => {
                found.push(SecretFinding {
                    path: path.to_string(),
                    kind,
                });
                None
            }
            None => Some(Value::String(text)),
        },
        Value::Array(items) => Some(Value::Array(
            items
                .into_iter()
                .enumerate()
                .filter_map(|(i, item)| scrub(item, &format!("{path}[{i}]"), found))
                .collect(),
        )),
        Value::Object(map) => Some(Value::Object(scrub_object(map, path, found))),
        other => Some(other),
    }
}

/// [`scrub`] for an object: a secret-looking key or value drops its entry.
fn scrub_object(
    map: Map<String, Value>,
    path: &str,
    found: &mut Vec<SecretFinding>,
) -> Map<String, Value> {
    let mut clean = Map::new();
    for (key, value) in map {
        let child = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        if let Some(kind) = secrets::find_in_answer(&key) {
            let shown = if path.is_empty() {
                "(a key)".to_string()
            } else {
                format!("{path}.(a key)")
            };
            found.push(SecretFinding { path: shown, kind });
            continue;
        }
        if let Some(value) = scrub(value, &child, found) {
            clean.insert(key, value);
        }
    }
    clean
}
