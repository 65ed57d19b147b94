//! The checkout switch and the seed's four No-Go rules as the page shows them, each with its source.

use serde::Serialize;

use crate::check::CheckLine;
use crate::dashboard::{CheckoutState, Loaded};
use crate::gate::{self, CHECKOUT_VAR, Gate};
use crate::preflight::PreflightReport;

/// Where the switch lives.
pub const SWITCH_SOURCE: &str = "wrangler.jsonc env.production.vars.BILLING_CHECKOUT";

/// The checkout switch: what production says, what the dashboard asks, what the preflight allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutView {
    /// The Worker var.
    pub var: &'static str,
    /// Where its production value is read from.
    pub source: &'static str,
    /// The value in env.production (`None`: unset, which the Worker treats as disabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production: Option<String>,
    /// `billingCloud.checkout` in the dashboard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<CheckoutState>,
    /// What the preflights allow.
    pub gate: Gate,
    /// Why the `checkout-gated` check fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// One of the seed's No-Go rules, how it is enforced and whether it holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoGoRule {
    /// 1 to 4, as the seed numbers them.
    pub number: u8,
    /// The seed's wording.
    pub rule: &'static str,
    /// What enforces it, and where its state comes from.
    pub source: &'static str,
    /// `Some(true)` holds, `Some(false)` is broken or still blocking, `None` is enforced in the Worker's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holds: Option<bool>,
    /// What the state means now.
    pub state: String,
}

/// The switch, from the parsed wrangler.jsonc, the dashboard and the check results.
pub fn view(
    config: &Result<serde_json::Value, String>,
    loaded: &Loaded,
    checks: &[CheckLine],
) -> CheckoutView {
    CheckoutView {
        var: CHECKOUT_VAR,
        source: SWITCH_SOURCE,
        production: config
            .as_ref()
            .ok()
            .and_then(gate::production_value)
            .map(str::to_string),
        requested: loaded.file.billing_cloud.checkout,
        gate: Gate::evaluate(loaded, config),
        failure: failure(checks, "checkout-gated"),
    }
}

/// The seed's four No-Go rules with their state.
pub fn rules(live: &PreflightReport, loaded: &Loaded, checks: &[CheckLine]) -> Vec<NoGoRule> {
    let secrets = failure(checks, "no-committed-secrets");
    let switch = failure(checks, "checkout-gated");
    let open = live.blocking_titles();
    vec![
        NoGoRule {
            number: 1,
            rule: "Do not run live mode until the command center has a monthly price, hosted AI cap, confirmed support inbox, domain/backend URL, Customer Portal setup, attorney/accountant review, and signed/store-trusted release path.",
            source: "`npm run billing:live-preflight -- --mode live`: every condition in Live Blockers, read from the dashboard answers",
            holds: Some(open.is_empty()),
            state: if open.is_empty() {
                "every condition is cleared".into()
            } else {
                format!("live mode stays blocked by: {}", open.join("; "))
            },
        },
        NoGoRule {
            number: 2,
            rule: "Do not put Stripe secrets, webhook secrets, license signing secrets, API tokens, or customer records in the repo or dashboard JSON.",
            source: "`npm run cloud:billing:check` (no secret-looking string in git-tracked files) and config-sync (refuses secret-looking dashboard values)",
            holds: Some(secrets.is_none() && loaded.secrets.is_empty()),
            state: match (&secrets, loaded.secrets.len()) {
                (None, 0) => "no secret-looking value in the repo or the dashboard file".into(),
                (Some(found), _) => format!("committed: {found}"),
                (None, n) => {
                    format!("{n} secret-looking value(s) in the dashboard file (see Needs Fix)")
                }
            },
        },
        NoGoRule {
            number: 3,
            rule: "Do not issue permanent device access tokens. Paid device tokens must expire and refresh through GET /api/license/status.",
            source: "the Worker's code (every token carries a signed expiresAt); `npm run billing:verify-hosted` checks it against a deployed Worker",
            holds: None,
            state: "enforced in the Worker; verified by verify-hosted item 7".into(),
        },
        NoGoRule {
            number: 4,
            rule: "Do not expose checkout publicly until deployability.status is no longer NO_GO_LIVE_MONEY.",
            source: "the checkout switch (BILLING_CHECKOUT): config-sync writes test or live only when the preflight allows, `npm run cloud:billing:check` fails when env.production enables more",
            holds: Some(switch.is_none()),
            state: switch.unwrap_or_else(|| {
                "env.production enables no more checkout than the preflight allows".into()
            }),
        },
    ]
}

/// Why a check failed, if it did.
fn failure(checks: &[CheckLine], id: &str) -> Option<String> {
    checks
        .iter()
        .find(|c| c.id == id)
        .and_then(|c| c.failure.clone())
}
