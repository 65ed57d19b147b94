//! live-preflight: whether money may move, from the dashboard answers alone (never a secret value).

use serde::Serialize;

use crate::dashboard::{BillingCloud, Loaded, StripeMode, StripeSetup};
use crate::repo::{Repo, WRANGLER};
use crate::validate;
use crate::wrangler;

/// The placeholder for the Stripe mode in how-to texts.
const MODE: &str = "<mode>";

/// One live blocker, as the manifest lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockerDef {
    /// Stable id.
    pub id: &'static str,
    /// What it is.
    pub title: &'static str,
    /// Blocks live money only; test mode may go ahead without it.
    pub live_only: bool,
    /// How to clear it; `<mode>` stands for `test` or `live`.
    pub how_to_clear: &'static str,
}

/// The eight live blockers, in the order to clear them.
pub const BLOCKERS: [BlockerDef; 8] = [
    BlockerDef {
        id: "cloudflare-d1",
        title: "Cloudflare account and D1 database ID",
        live_only: false,
        how_to_clear: "Create the D1 database in the Cloudflare account (`npx wrangler d1 create nyra_billing`), enter its id as billingCloud.d1DatabaseId and run `npm run cloud:billing:config:sync` so env.production in wrangler.jsonc uses it.",
    },
    BlockerDef {
        id: "worker-url",
        title: "Custom domain or workers.dev URL",
        live_only: false,
        how_to_clear: "Deploy with `npx wrangler deploy --env production`, attach a custom domain (or use the workers.dev URL) and enter it as billingCloud.workerUrl.",
    },
    BlockerDef {
        id: "stripe-secrets",
        title: "Stripe secrets in the Wrangler secret store",
        live_only: false,
        how_to_clear: "Store every required secret with `npx wrangler secret put NAME --env production` (Stripe keys of <mode> mode), list the names (never the values) in billingCloud.secretsSet and set billingCloud.stripeSecretsMode to \"<mode>\".",
    },
    BlockerDef {
        id: "stripe-price",
        title: "Stripe product and monthly Price ID",
        live_only: false,
        how_to_clear: "In Stripe (<mode> mode) create the product and its monthly Price, store the Price ID with `npx wrangler secret put NYRA_STRIPE_PRICE_PRO_MONTHLY --env production` and set billingCloud.stripe.<mode>.productAndPriceCreated to true.",
    },
    BlockerDef {
        id: "customer-portal",
        title: "Stripe Customer Portal configuration",
        live_only: false,
        how_to_clear: "In Stripe (<mode> mode) configure the Customer Portal (cancellation, payment method, invoice history) and set billingCloud.stripe.<mode>.customerPortalConfigured to true.",
    },
    BlockerDef {
        id: "stripe-webhook",
        title: "Stripe webhook endpoint and signing secret",
        live_only: false,
        how_to_clear: "In Stripe (<mode> mode) add a webhook endpoint at <workerUrl>/api/billing/webhook on the pinned API version with the events checkout.session.completed, customer.subscription.created, customer.subscription.updated, customer.subscription.deleted, invoice.paid, invoice.payment_failed and entitlements.active_entitlement_summary.updated; store its signing secret with `npx wrangler secret put STRIPE_WEBHOOK_SECRET --env production` and set billingCloud.stripe.<mode>.webhookEndpointConfigured to true.",
    },
    BlockerDef {
        id: "support-inbox",
        title: "Support inbox roundtrip",
        live_only: true,
        how_to_clear: "Send a message to the support inbox from an outside address, answer it, confirm the answer arrives, and set billingCloud.supportInboxTested to true.",
    },
    BlockerDef {
        id: "legal-review",
        title: "Attorney/accountant review",
        live_only: true,
        how_to_clear: "Have an attorney and an accountant approve the terms, refund policy and tax setup for selling the subscription, then set billingCloud.legalReviewApproved to true.",
    },
];

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// A blocker for the requested mode stands: no live money.
    NoGoLiveMoney,
    /// Test mode is fully ready (live blockers may stand).
    GoTestMode,
    /// Every blocker is cleared for live mode.
    GoLive,
}

/// The deployability verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployability {
    /// The verdict.
    pub status: Status,
    /// A blocker for the requested mode stands.
    pub blocked: bool,
    /// How many of the eight blockers stand (for any mode).
    pub open_blockers: usize,
}

/// One blocker's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockerState {
    /// Stable id.
    pub id: &'static str,
    /// What it is.
    pub title: &'static str,
    /// The modes it blocks.
    pub required_for: Vec<&'static str>,
    /// It no longer stands.
    pub cleared: bool,
    /// Why it still stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// How to clear it, for the requested mode.
    pub how_to_clear: String,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreflightReport {
    /// The mode asked about.
    pub mode: StripeMode,
    /// The verdict.
    pub deployability: Deployability,
    /// All eight blockers.
    pub blockers: Vec<BlockerState>,
    /// Problems with the inputs (missing dashboard, secret-looking values removed).
    pub warnings: Vec<String>,
}

/// Evaluates every blocker for `mode`.
pub fn run(repo: &Repo, loaded: &Loaded, mode: StripeMode) -> PreflightReport {
    let (production_db, mut warnings) = production_database_id(repo);
    warnings.extend(dashboard_warnings(loaded));
    let answers = &loaded.file.billing_cloud;
    let blockers: Vec<BlockerState> = BLOCKERS
        .iter()
        .map(|def| {
            state(
                def,
                open_reason(def.id, answers, mode, production_db.as_deref()),
                mode,
                answers,
            )
        })
        .collect();
    let blocked = blockers
        .iter()
        .zip(BLOCKERS.iter())
        .any(|(b, def)| !b.cleared && (mode == StripeMode::Live || !def.live_only));
    let status = match (blocked, mode) {
        (true, _) => Status::NoGoLiveMoney,
        (false, StripeMode::Test) => Status::GoTestMode,
        (false, StripeMode::Live) => Status::GoLive,
    };
    let open_blockers = blockers.iter().filter(|b| !b.cleared).count();
    PreflightReport {
        mode,
        deployability: Deployability {
            status,
            blocked,
            open_blockers,
        },
        blockers,
        warnings,
    }
}

impl PreflightReport {
    /// The report as text.
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "Billing live preflight (mode: {})\ndeployability.status: {}\nBlockers ({} of 8 open):\n",
            self.mode.as_str(),
            status_name(self.deployability.status),
            self.deployability.open_blockers
        );
        for b in &self.blockers {
            let state = if b.cleared { "cleared" } else { "open" };
            let scope = if b.required_for.len() == 1 {
                " (live only)"
            } else {
                ""
            };
            out.push_str(&format!("- {state} - {}{scope}", b.title));
            if let Some(detail) = &b.detail {
                out.push_str(&format!(": {detail} To clear: {}", b.how_to_clear));
            }
            out.push('\n');
        }
        for w in &self.warnings {
            out.push_str(&format!("warning - {w}\n"));
        }
        out.push_str(&self.verdict_line());
        out
    }

    /// The closing line.
    fn verdict_line(&self) -> String {
        match self.deployability.status {
            Status::NoGoLiveMoney => format!(
                "Blocked: do not move money in {} mode until the open blockers are cleared (--allow-blocked exits 0 anyway).\n",
                self.mode.as_str()
            ),
            Status::GoTestMode => {
                "Test mode is ready; live money stays blocked until every blocker is cleared.\n"
                    .into()
            }
            Status::GoLive => "Every blocker is cleared: live money may move.\n".into(),
        }
    }
}

/// `NO_GO_LIVE_MONEY`, `GO_TEST_MODE` or `GO_LIVE`.
pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::NoGoLiveMoney => "NO_GO_LIVE_MONEY",
        Status::GoTestMode => "GO_TEST_MODE",
        Status::GoLive => "GO_LIVE",
    }
}

/// A blocker's state from its open reason.
fn state(
    def: &BlockerDef,
    reason: Option<String>,
    mode: StripeMode,
    answers: &BillingCloud,
) -> BlockerState {
    let url = answers
        .worker_url
        .as_deref()
        .map(|u| u.trim_end_matches('/'))
        .unwrap_or("<workerUrl>");
    BlockerState {
        id: def.id,
        title: def.title,
        required_for: if def.live_only {
            vec!["live"]
        } else {
            vec!["test", "live"]
        },
        cleared: reason.is_none(),
        detail: reason,
        how_to_clear: def
            .how_to_clear
            .replace(MODE, mode.as_str())
            .replace("<workerUrl>", url),
    }
}

/// Why a blocker stands, or `None` when cleared.
fn open_reason(
    id: &str,
    a: &BillingCloud,
    mode: StripeMode,
    production_db: Option<&str>,
) -> Option<String> {
    let setup = a.stripe.of(mode);
    let m = mode.as_str();
    match id {
        "cloudflare-d1" => d1_reason(a, production_db),
        "worker-url" => answer_reason(
            "billingCloud.workerUrl",
            a.worker_url.as_deref(),
            validate::worker_url,
        ),
        "stripe-secrets" => secrets_reason(a, mode),
        "stripe-price" => flag_reason(setup, m, "productAndPriceCreated", |s| {
            s.product_and_price_created
        })
        .or_else(|| missing_secret(a, "NYRA_STRIPE_PRICE_PRO_MONTHLY")),
        "customer-portal" => flag_reason(setup, m, "customerPortalConfigured", |s| {
            s.customer_portal_configured
        }),
        "stripe-webhook" => flag_reason(setup, m, "webhookEndpointConfigured", |s| {
            s.webhook_endpoint_configured
        })
        .or_else(|| missing_secret(a, "STRIPE_WEBHOOK_SECRET")),
        "support-inbox" => bool_reason("billingCloud.supportInboxTested", a.support_inbox_tested),
        _ => bool_reason("billingCloud.legalReviewApproved", a.legal_review_approved),
    }
}

/// The D1 blocker: a valid id in the dashboard, synced into wrangler.jsonc.
fn d1_reason(a: &BillingCloud, production_db: Option<&str>) -> Option<String> {
    let id = a.d1_database_id.as_deref();
    answer_reason("billingCloud.d1DatabaseId", id, validate::d1_database_id).or_else(|| {
        (production_db != id).then(|| {
            "env.production in wrangler.jsonc does not use billingCloud.d1DatabaseId yet; run config-sync.".to_string()
        })
    })
}

/// An answer that must be present and valid.
fn answer_reason(
    key: &str,
    value: Option<&str>,
    rule: fn(&str) -> Result<(), String>,
) -> Option<String> {
    match value {
        None => Some(format!("{key} is unanswered.")),
        Some(v) => rule(v).err().map(|reason| format!("{key} {reason}.")),
    }
}

/// Every required secret listed, stored for the requested mode.
fn secrets_reason(a: &BillingCloud, mode: StripeMode) -> Option<String> {
    let missing: Vec<&str> = nyra_domain::config::REQUIRED_SECRETS
        .into_iter()
        .filter(|name| !a.secrets_set.iter().any(|s| s == name))
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "billingCloud.secretsSet lacks {}.",
            missing.join(", ")
        ));
    }
    (a.stripe_secrets_mode != Some(mode)).then(|| {
        format!(
            "billingCloud.stripeSecretsMode is not \"{}\".",
            mode.as_str()
        )
    })
}

/// A required secret name missing from `secretsSet`.
fn missing_secret(a: &BillingCloud, name: &str) -> Option<String> {
    (!a.secrets_set.iter().any(|s| s == name))
        .then(|| format!("billingCloud.secretsSet lacks {name}."))
}

/// A per-mode Stripe answer that must be true.
fn flag_reason(
    setup: &StripeSetup,
    mode: &str,
    key: &str,
    flag: fn(&StripeSetup) -> Option<bool>,
) -> Option<String> {
    bool_reason(&format!("billingCloud.stripe.{mode}.{key}"), flag(setup))
}

/// An answer that must be true.
fn bool_reason(key: &str, value: Option<bool>) -> Option<String> {
    match value {
        Some(true) => None,
        Some(false) => Some(format!("{key} is false.")),
        None => Some(format!("{key} is unanswered.")),
    }
}

/// The production D1 id from wrangler.jsonc, with a warning when it cannot be read.
fn production_database_id(repo: &Repo) -> (Option<String>, Vec<String>) {
    let path = repo.path(WRANGLER);
    let parsed = repo
        .read(&path)
        .and_then(|text| wrangler::parse_value(&text, &repo.show(&path)));
    match parsed {
        Ok(config) => {
            let id = wrangler::d1_entry(&config, "production")
                .and_then(|db| db.get("database_id"))
                .and_then(|v| v.as_str())
                .map(str::to_string);
            (id, Vec::new())
        }
        Err(e) => (None, vec![e.to_string()]),
    }
}

/// Warnings about the dashboard file itself.
fn dashboard_warnings(loaded: &Loaded) -> Vec<String> {
    let mut warnings = Vec::new();
    if !loaded.found {
        warnings.push("no dashboard answers file: every answer counts as unanswered.".to_string());
    }
    for s in &loaded.secrets {
        warnings.push(format!(
            "{} looks like {}; it was ignored and is not shown. Remove it from the dashboard file.",
            s.path,
            s.kind.describe()
        ));
    }
    warnings
}
