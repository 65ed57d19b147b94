//! live-preflight: whether money may move, from the dashboard answers alone (never a secret value).

use serde::Serialize;
use serde_json::Value;

use crate::dashboard::{BillingCloud, Loaded, StripeMode, StripeSetup};
use crate::repo::{Repo, WRANGLER};
use crate::validate;
use crate::wrangler;

/// The placeholder for the Stripe mode in how-to texts.
const MODE: &str = "<mode>";

/// Where a No-Go condition comes from in the seed document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    /// One of the seed manifest's eight `liveBlockers` (the manifest lists its title).
    LiveBlocker,
    /// A condition of No-Go rule 1 that the seed's blocker list does not name.
    NoGoRule,
}

impl Origin {
    /// How the page and the manifest name it.
    pub fn describe(self) -> &'static str {
        match self {
            Origin::LiveBlocker => "seed liveBlockers",
            Origin::NoGoRule => "No-Go rule 1",
        }
    }
}

/// One No-Go condition: a seed live blocker or a further condition of No-Go rule 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockerDef {
    /// Stable id.
    pub id: &'static str,
    /// What it is, worded exactly as the seed words it.
    pub title: &'static str,
    /// Blocks live money only; test mode may go ahead without it.
    pub live_only: bool,
    /// Where it comes from in the seed.
    pub origin: Origin,
    /// The answers its state is read from; `<mode>` stands for `test` or `live`.
    pub sources: &'static [&'static str],
    /// How to clear it; `<mode>` stands for `test` or `live`.
    pub how_to_clear: &'static str,
}

/// The seed's eight live blockers, then the two further No-Go rule 1 conditions, in the order to clear them.
pub const BLOCKERS: [BlockerDef; 10] = [
    BlockerDef {
        id: "cloudflare-d1",
        title: "Cloudflare account and D1 database ID",
        live_only: false,
        origin: Origin::LiveBlocker,
        sources: &[
            "billingCloud.d1DatabaseId",
            "wrangler.jsonc env.production.d1_databases[DB].database_id",
        ],
        how_to_clear: "Create the D1 database in the Cloudflare account (`npx wrangler d1 create nyra_billing`), enter its id as billingCloud.d1DatabaseId and run `npm run cloud:billing:config:sync` so env.production in wrangler.jsonc uses it.",
    },
    BlockerDef {
        id: "worker-url",
        title: "Billing Worker custom domain",
        live_only: false,
        origin: Origin::LiveBlocker,
        sources: &["billingCloud.workerUrl"],
        how_to_clear: "Deploy with `npx wrangler deploy --env production`, attach a custom domain (or use the workers.dev URL) and enter it as billingCloud.workerUrl.",
    },
    BlockerDef {
        id: "stripe-secrets",
        title: "Stripe test/live secrets in Wrangler secret store",
        live_only: false,
        origin: Origin::LiveBlocker,
        sources: &["billingCloud.secretsSet", "billingCloud.stripeSecretsMode"],
        how_to_clear: "Store every required secret with `npx wrangler secret put NAME --env production` (Stripe keys of <mode> mode), list the names (never the values) in billingCloud.secretsSet and set billingCloud.stripeSecretsMode to \"<mode>\".",
    },
    BlockerDef {
        id: "stripe-price",
        title: "Stripe product/price after final monthly price",
        live_only: false,
        origin: Origin::LiveBlocker,
        sources: &[
            "billingCloud.stripe.<mode>.productAndPriceCreated",
            "billingCloud.secretsSet",
            "billingCloud.monthlyPriceFinal (live)",
        ],
        how_to_clear: "Choose the final monthly price in the command center (for live mode set billingCloud.monthlyPriceFinal to true), then in Stripe (<mode> mode) create the product and its monthly Price at that price, store the Price ID with `npx wrangler secret put NYRA_STRIPE_PRICE_PRO_MONTHLY --env production` and set billingCloud.stripe.<mode>.productAndPriceCreated to true.",
    },
    BlockerDef {
        id: "customer-portal",
        title: "Customer Portal configuration",
        live_only: false,
        origin: Origin::LiveBlocker,
        sources: &["billingCloud.stripe.<mode>.customerPortalConfigured"],
        how_to_clear: "In Stripe (<mode> mode) configure the Customer Portal (cancellation, payment method, invoice history) and set billingCloud.stripe.<mode>.customerPortalConfigured to true.",
    },
    BlockerDef {
        id: "stripe-webhook",
        title: "Stripe webhook endpoint and signing secret",
        live_only: false,
        origin: Origin::LiveBlocker,
        sources: &[
            "billingCloud.stripe.<mode>.webhookEndpointConfigured",
            "billingCloud.secretsSet",
        ],
        how_to_clear: "In Stripe (<mode> mode) add a webhook endpoint at <workerUrl>/api/billing/webhook on the pinned API version with the events checkout.session.completed, customer.subscription.created, customer.subscription.updated, customer.subscription.deleted, invoice.paid, invoice.payment_failed and entitlements.active_entitlement_summary.updated; store its signing secret with `npx wrangler secret put STRIPE_WEBHOOK_SECRET --env production` and set billingCloud.stripe.<mode>.webhookEndpointConfigured to true.",
    },
    BlockerDef {
        id: "support-inbox",
        title: "Support inbox roundtrip",
        live_only: true,
        origin: Origin::LiveBlocker,
        sources: &["billingCloud.supportInboxTested"],
        how_to_clear: "Send a message to the support inbox from an outside address, answer it, confirm the answer arrives, and set billingCloud.supportInboxTested to true.",
    },
    BlockerDef {
        id: "legal-review",
        title: "Attorney/accountant review",
        live_only: true,
        origin: Origin::LiveBlocker,
        sources: &["billingCloud.legalReviewApproved"],
        how_to_clear: "Have an attorney and an accountant approve the terms, refund policy and tax setup for selling the subscription, then set billingCloud.legalReviewApproved to true.",
    },
    BlockerDef {
        id: "hosted-ai-cap",
        title: "Hosted AI cap",
        live_only: true,
        origin: Origin::NoGoRule,
        sources: &["billingCloud.hostedAiCapSet"],
        how_to_clear: "Set the hosted AI usage cap for paid devices in the command center, confirm it holds, and set billingCloud.hostedAiCapSet to true.",
    },
    BlockerDef {
        id: "signed-release",
        title: "Signed/store-trusted release path",
        live_only: true,
        origin: Origin::NoGoRule,
        sources: &["billingCloud.signedReleasePathReady"],
        how_to_clear: "Ship the desktop app through a signed, store-trusted release path (code-signed and notarized builds the OS trusts), then set billingCloud.signedReleasePathReady to true.",
    },
];

/// The titles the seed manifest lists as `liveBlockers`, in order.
pub fn seed_live_blockers() -> Vec<&'static str> {
    BLOCKERS
        .iter()
        .filter(|b| b.origin == Origin::LiveBlocker)
        .map(|b| b.title)
        .collect()
}

/// The modes a condition blocks.
pub fn required_for(def: &BlockerDef) -> Vec<&'static str> {
    if def.live_only {
        vec!["live"]
    } else {
        vec!["test", "live"]
    }
}

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
    /// How many No-Go conditions stand (for any mode).
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
    /// Where it comes from in the seed.
    pub origin: Origin,
    /// The answers its state is read from.
    pub sources: Vec<String>,
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
    /// Every No-Go condition.
    pub blockers: Vec<BlockerState>,
    /// Problems with the inputs (missing dashboard, secret-looking values removed).
    pub warnings: Vec<String>,
}

/// Evaluates every condition for `mode` against the repo's wrangler.jsonc.
pub fn run(repo: &Repo, loaded: &Loaded, mode: StripeMode) -> PreflightReport {
    evaluate(loaded, mode, &read_wrangler(repo))
}

/// The repo's wrangler.jsonc as a value, or why it cannot be read.
pub fn read_wrangler(repo: &Repo) -> Result<Value, String> {
    let path = repo.path(WRANGLER);
    repo.read(&path)
        .and_then(|text| wrangler::parse_value(&text, &repo.show(&path)))
        .map_err(|e| e.to_string())
}

/// Evaluates every condition for `mode` against a parsed wrangler.jsonc (or why it is unreadable).
pub fn evaluate(
    loaded: &Loaded,
    mode: StripeMode,
    config: &Result<Value, String>,
) -> PreflightReport {
    let production_db = config.as_ref().ok().and_then(|c| {
        wrangler::d1_entry(c, "production")
            .and_then(|db| db.get("database_id"))
            .and_then(Value::as_str)
    });
    let mut warnings: Vec<String> = config.as_ref().err().cloned().into_iter().collect();
    warnings.extend(dashboard_warnings(loaded));
    let answers = &loaded.file.billing_cloud;
    let blockers: Vec<BlockerState> = BLOCKERS
        .iter()
        .map(|def| {
            state(
                def,
                open_reason(def.id, answers, mode, production_db),
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
    /// Titles of the open conditions that block the report's mode.
    pub fn blocking_titles(&self) -> Vec<&'static str> {
        self.blockers
            .iter()
            .filter(|b| !b.cleared && b.required_for.contains(&self.mode.as_str()))
            .map(|b| b.title)
            .collect()
    }

    /// The report as text.
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "Billing live preflight (mode: {})\ndeployability.status: {}\nBlockers ({} of {} open):\n",
            self.mode.as_str(),
            status_name(self.deployability.status),
            self.deployability.open_blockers,
            self.blockers.len()
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
    let fill = |text: &str| {
        text.replace(MODE, mode.as_str())
            .replace("<workerUrl>", url)
    };
    BlockerState {
        id: def.id,
        title: def.title,
        origin: def.origin,
        sources: def.sources.iter().map(|s| fill(s)).collect(),
        required_for: required_for(def),
        cleared: reason.is_none(),
        detail: reason,
        how_to_clear: fill(def.how_to_clear),
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
        "stripe-price" => final_price_reason(a, mode)
            .or_else(|| {
                flag_reason(setup, m, "productAndPriceCreated", |s| {
                    s.product_and_price_created
                })
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
        "legal-review" => bool_reason("billingCloud.legalReviewApproved", a.legal_review_approved),
        "hosted-ai-cap" => bool_reason("billingCloud.hostedAiCapSet", a.hosted_ai_cap_set),
        _ => bool_reason(
            "billingCloud.signedReleasePathReady",
            a.signed_release_path_ready,
        ),
    }
}

/// Live money waits for the final monthly price; a test-mode price may be provisional.
fn final_price_reason(a: &BillingCloud, mode: StripeMode) -> Option<String> {
    match mode {
        StripeMode::Test => None,
        StripeMode::Live => bool_reason("billingCloud.monthlyPriceFinal", a.monthly_price_final),
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
