//! `verify-hosted`: the hosted checklist run against a deployed Worker in Stripe test mode (docs/deploy.md).
//!
//! The seed's nine hosted checklist items ([`CHECKLIST`]) plus the steps between them (stripe
//! mode guard, payment, first activation, offline license), run in [`ITEMS`] order. A skipped
//! item is reported as skipped and makes the run [`Outcome::Incomplete`]; only a run where all
//! nine checklist items ran and passed is [`Outcome::Passed`]. Secrets come in through
//! [`Secrets`] (the CLI reads them from the environment) and are never printed or reported.

mod api;
mod checks;
pub mod cli;
mod event;
mod wait;

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use api::Api;
use checks::{Checkout, Health};
use nyra_client::types::LicenseStatus;

/// The seed's hosted checklist: item name and the seed's wording, numbered 1 to 9 in this order.
pub const CHECKLIST: [(&str, &str); 9] = [
    ("health", "GET /health reports ok: true."),
    (
        "checkout",
        "Checkout Session creation returns a Stripe-hosted Checkout URL.",
    ),
    (
        "customer-recorded",
        "Stripe webhook checkout.session.completed records the customer and device metadata.",
    ),
    (
        "subscription-active",
        "Stripe webhook invoice.paid records active subscription state.",
    ),
    (
        "portal",
        "Stripe Customer Portal creation works with a device access token.",
    ),
    (
        "refresh",
        "Desktop Refresh Activation returns active license state after checkout/webhook sync.",
    ),
    (
        "token-expiry",
        "License status returns deviceAccessTokenExpiresAtIso, and the signed device access token contains the same expiresAt value.",
    ),
    (
        "webhook-duplicate",
        "Duplicate webhook delivery is idempotent.",
    ),
    ("webhook-signature", "Bad webhook signature is rejected."),
];

/// Every item, checklist items and the steps between them, in the order they run.
pub const ITEMS: [&str; 13] = [
    "health",
    "stripe-mode",
    "checkout",
    "webhook-signature",
    "payment",
    "activation",
    "customer-recorded",
    "subscription-active",
    "token-expiry",
    "license-offline",
    "refresh",
    "portal",
    "webhook-duplicate",
];

/// The seed checklist number (1 to 9) of an item, `None` for a step.
pub fn checklist_number(name: &str) -> Option<u8> {
    let index = CHECKLIST.iter().position(|(item, _)| *item == name)?;
    u8::try_from(index + 1).ok()
}

/// Why the checklist cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The app token is not in the environment.
    #[error(
        "NYRA_LICENSE_API_TOKEN is not set: export the app token (read -rs NYRA_LICENSE_API_TOKEN && export NYRA_LICENSE_API_TOKEN)"
    )]
    MissingAppToken,
    /// `--base` or `--pay-with-emulator` is not an http(s) URL.
    #[error("{0} is not an http(s) base URL")]
    BadUrl(&'static str),
}

/// The secrets the checklist uses; `Debug` shows only whether each is set.
#[derive(Clone, Default)]
pub struct Secrets {
    /// `NYRA_LICENSE_API_TOKEN`: the app token for first activation (required).
    pub license_api_token: String,
    /// `NYRA_LICENSE_SIGNING_SECRET`: derives the license public key (offline check skipped without it).
    pub license_signing_secret: Option<String>,
    /// `STRIPE_WEBHOOK_SECRET`: signs the re-sent event (duplicate check skipped without it).
    pub webhook_secret: Option<String>,
}

impl Secrets {
    /// Reads the three variables from the environment; only the app token is required.
    pub fn from_env() -> Result<Secrets, SetupError> {
        let read = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Ok(Secrets {
            license_api_token: read("NYRA_LICENSE_API_TOKEN").ok_or(SetupError::MissingAppToken)?,
            license_signing_secret: read("NYRA_LICENSE_SIGNING_SECRET"),
            webhook_secret: read("STRIPE_WEBHOOK_SECRET"),
        })
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |present: bool| if present { "<set>" } else { "<unset>" };
        f.debug_struct("Secrets")
            .field(
                "license_api_token",
                &set(!self.license_api_token.is_empty()),
            )
            .field(
                "license_signing_secret",
                &set(self.license_signing_secret.is_some()),
            )
            .field("webhook_secret", &set(self.webhook_secret.is_some()))
            .finish()
    }
}

/// How the checklist runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Worker's base URL, e.g. `https://billing.example.com` (a trailing slash is ignored).
    pub base: String,
    /// The device id the checkout and activation use.
    pub device_id: String,
    /// Run against a Worker whose `/health` says `stripeMode: live`.
    pub allow_live: bool,
    /// How long to wait for the payment and the first activation.
    pub wait: Duration,
    /// Pay through this Stripe emulator's control route instead of waiting for a person.
    pub pay_with_emulator: Option<String>,
    /// The secrets (never printed).
    pub secrets: Secrets,
    /// Operator at a terminal: notices and the countdown on stderr, Ctrl-C stops the wait.
    pub interactive: bool,
}

impl Options {
    /// Options with defaults: a fresh device id, a 10-minute wait, no emulator, not interactive.
    pub fn new(base: &str, secrets: Secrets) -> Options {
        Options {
            base: base.trim_end_matches('/').to_owned(),
            device_id: default_device_id(),
            allow_live: false,
            wait: Duration::from_secs(600),
            pay_with_emulator: None,
            secrets,
            interactive: false,
        }
    }
}

impl Options {
    /// Checks that `base` (and the emulator URL, when given) are http(s) URLs.
    pub fn validate(&self) -> Result<(), SetupError> {
        if !is_http_url(&self.base) {
            return Err(SetupError::BadUrl("--base"));
        }
        match &self.pay_with_emulator {
            Some(url) if !is_http_url(url) => Err(SetupError::BadUrl("--pay-with-emulator")),
            _ => Ok(()),
        }
    }
}

fn is_http_url(text: &str) -> bool {
    reqwest::Url::parse(text)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// `verify-hosted-<unix seconds>`: unique per run, valid as a device id.
pub fn default_device_id() -> String {
    format!("verify-hosted-{}", checks::now())
}

/// What became of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It ran and passed.
    Passed,
    /// It ran and failed.
    Failed,
    /// It could not run (a secret it needs is not set); the run cannot pass.
    Skipped,
    /// An earlier item it depends on failed.
    NotRun,
}

impl Status {
    /// `ok`, `fail`, `skipped` or `not run`.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Passed => "ok",
            Status::Failed => "fail",
            Status::Skipped => "skipped",
            Status::NotRun => "not run",
        }
    }
}

/// One item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The item's name (one of [`ITEMS`]).
    pub name: String,
    /// Its number in the seed's hosted checklist, `None` for a step between checklist items.
    pub checklist: Option<u8>,
    /// What became of it.
    pub status: Status,
    /// What was seen, why it failed, or why it was skipped.
    pub detail: String,
}

impl Item {
    /// `ok - [3] customer-recorded: detail` (the number only for checklist items).
    pub fn line(&self) -> String {
        let number = self
            .checklist
            .map(|n| format!("[{n}] "))
            .unwrap_or_default();
        format!(
            "{} - {number}{}: {}",
            self.status.mark(),
            self.name,
            self.detail
        )
    }
}

/// How the whole run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// All nine checklist items (and every step) ran and passed: exit 0.
    Passed,
    /// An item failed: exit 1.
    Failed,
    /// Nothing failed, but an item was skipped: exit 2.
    Incomplete,
}

impl Outcome {
    /// The outcome of a list of items.
    pub fn of(items: &[Item]) -> Outcome {
        let any = |status| items.iter().any(|i| i.status == status);
        let all_checklist_passed = CHECKLIST.iter().all(|(name, _)| {
            items
                .iter()
                .any(|i| i.name == *name && i.status == Status::Passed)
        });
        if any(Status::Failed) || any(Status::NotRun) {
            Outcome::Failed
        } else if any(Status::Skipped) || !all_checklist_passed {
            Outcome::Incomplete
        } else {
            Outcome::Passed
        }
    }

    /// The process exit code: 0, 1 or 2.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Passed => 0,
            Outcome::Failed => 1,
            Outcome::Incomplete => 2,
        }
    }

    /// `PASSED`, `FAILED` or `INCOMPLETE`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Passed => "PASSED",
            Outcome::Failed => "FAILED",
            Outcome::Incomplete => "INCOMPLETE",
        }
    }
}

/// The checklist's result: `{base, items, outcome}` as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The Worker checked.
    pub base: String,
    /// Every item, in run order; items after a blocking failure are not run.
    pub items: Vec<Item>,
    /// PASSED, FAILED or INCOMPLETE.
    pub outcome: Outcome,
    /// The operator pressed Ctrl-C while the checklist waited.
    #[serde(skip)]
    pub interrupted: bool,
}

impl Report {
    /// One line per item, then the summary.
    pub fn render_text(&self) -> String {
        let mut out: String = self
            .items
            .iter()
            .map(|i| format!("{}\n", i.line()))
            .collect();
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// `verify-hosted: INCOMPLETE - 8 of 9 checklist items passed; skipped: ...`.
    pub fn summary(&self) -> String {
        let passed = CHECKLIST
            .iter()
            .filter(|(name, _)| {
                self.items
                    .iter()
                    .any(|i| i.name == *name && i.status == Status::Passed)
            })
            .count();
        let mut text = format!(
            "verify-hosted: {} - {passed} of {} checklist items passed",
            self.outcome.name(),
            CHECKLIST.len()
        );
        for status in [Status::Failed, Status::Skipped, Status::NotRun] {
            let names: Vec<String> = self
                .items
                .iter()
                .filter(|i| i.status == status)
                .map(|i| match i.checklist {
                    Some(n) => format!("[{n}] {}", i.name),
                    None => i.name.clone(),
                })
                .collect();
            if !names.is_empty() {
                text.push_str(&format!("; {}: {}", status.mark(), names.join(", ")));
            }
        }
        text
    }
}

/// Why the checklist stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// An item failed that the rest depend on.
    Failed,
    /// Ctrl-C during the wait.
    Interrupted,
}

/// The running checklist: options, the HTTP client and the items so far.
struct Run<'a> {
    options: &'a Options,
    api: Api,
    items: Vec<Item>,
    on_item: &'a mut dyn FnMut(&Item),
}

impl Run<'_> {
    /// Records an item and hands it to the caller's callback.
    fn record(&mut self, name: &str, status: Status, detail: String) {
        let item = Item {
            name: name.to_owned(),
            checklist: checklist_number(name),
            status,
            detail,
        };
        (self.on_item)(&item);
        self.items.push(item);
    }

    /// Records a check the rest depend on; a failure stops the checklist.
    fn item<T>(&mut self, name: &str, check: checks::Check<T>) -> Result<T, Stop> {
        match check {
            Ok((value, detail)) => {
                self.record(name, Status::Passed, detail);
                Ok(value)
            }
            Err(why) => {
                self.record(name, Status::Failed, why);
                Err(Stop::Failed)
            }
        }
    }

    /// Records a check the rest do not depend on; it may have been skipped.
    fn soft(&mut self, name: &str, check: checks::Check<checks::Ran>) {
        match check {
            Ok((checks::Ran::Done, detail)) => self.record(name, Status::Passed, detail),
            Ok((checks::Ran::Skipped, why)) => self.record(name, Status::Skipped, why),
            Err(why) => self.record(name, Status::Failed, why),
        }
    }

    /// Marks every item not recorded yet as not run.
    fn not_run(&mut self) {
        let rest: Vec<&str> = ITEMS
            .iter()
            .copied()
            .filter(|name| !self.items.iter().any(|i| i.name == *name))
            .collect();
        for name in rest {
            self.record(name, Status::NotRun, "an earlier item failed".to_owned());
        }
    }
}

/// Runs the checklist; `on_item` sees each item as soon as it is decided.
pub async fn run(options: &Options, on_item: &mut dyn FnMut(&Item)) -> Report {
    let mut run = Run {
        options,
        api: Api::new(&options.base),
        items: Vec::new(),
        on_item,
    };
    let stopped = walk(&mut run).await.err();
    if stopped.is_some() {
        run.not_run();
    }
    Report {
        base: options.base.clone(),
        outcome: Outcome::of(&run.items),
        items: run.items,
        interrupted: stopped == Some(Stop::Interrupted),
    }
}

/// The items in order.
async fn walk(run: &mut Run<'_>) -> Result<(), Stop> {
    let health: Health = run.item("health", checks::health(&run.api).await)?;
    run.item(
        "stripe-mode",
        checks::stripe_mode(&health, run.options.allow_live),
    )?;
    let checkout: Checkout = run.item("checkout", checks::checkout(&run.api, run.options).await)?;
    run.soft("webhook-signature", checks::forged_webhook(&run.api).await);
    let (first, delivered) = pay_and_activate(run, &checkout).await?;
    run.soft(
        "customer-recorded",
        checks::customer_recorded(&first, run.options),
    );
    run.soft(
        "subscription-active",
        checks::subscription_active(&first, delivered.as_ref()),
    );
    run.soft("token-expiry", checks::token_expiry(&first));
    run.soft(
        "license-offline",
        checks::license_offline(&first, run.options),
    );
    let token = run.item("refresh", checks::refresh(run.options, &first).await)?;
    run.soft("portal", checks::portal(&run.api, &token).await);
    let duplicate = event::duplicate(&run.api, run.options, &health, &checkout, &first).await;
    run.soft("webhook-duplicate", duplicate);
    Ok(())
}

/// The payment (emulator or operator) and the first activation answer, active; with the
/// emulator, also the event types it delivered and the Worker accepted.
async fn pay_and_activate(
    run: &mut Run<'_>,
    checkout: &Checkout,
) -> Result<(LicenseStatus, Option<Vec<String>>), Stop> {
    let options = run.options;
    let mut delivered = None;
    if let Some(emulator) = &options.pay_with_emulator {
        let paid = checks::pay_with_emulator(&run.api, emulator, &checkout.session_id).await;
        delivered = Some(run.item("payment", paid)?);
    } else if options.interactive {
        wait::announce(&checkout.url);
    }
    let countdown = options.interactive && options.pay_with_emulator.is_none();
    let polled = wait::activation(options, checkout, countdown).await;
    let stop = if polled.interrupted {
        Stop::Interrupted
    } else {
        Stop::Failed
    };
    if options.pay_with_emulator.is_none() {
        run.item("payment", polled.payment_check())
            .map_err(|_| stop)?;
    }
    let first = run
        .item("activation", polled.activation_check())
        .map_err(|_| stop)?;
    Ok((first, delivered))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_debug_never_shows_values() {
        let secrets = Secrets {
            license_api_token: "app-token-value".to_owned(),
            license_signing_secret: None,
            webhook_secret: Some("whsec_local_value".to_owned()),
        };
        let text = format!(
            "{:?}",
            Options::new("https://billing.example.com/", secrets)
        );
        assert!(!text.contains("app-token-value") && !text.contains("whsec_local_value"));
        assert!(text.contains("<set>") && text.contains("<unset>"));
        assert!(text.contains("base: \"https://billing.example.com\""));
    }

    #[test]
    fn urls_are_validated() {
        let mut options = Options::new("ftp://billing.example.com", Secrets::default());
        assert!(options.validate().is_err());
        options.base = "https://billing.example.com".to_owned();
        assert!(options.validate().is_ok());
        options.pay_with_emulator = Some("not a url".to_owned());
        assert!(options.validate().is_err());
    }

    fn item(name: &str, status: Status) -> Item {
        Item {
            name: name.to_owned(),
            checklist: checklist_number(name),
            status,
            detail: "seen".to_owned(),
        }
    }

    #[test]
    fn items_render_one_line_each() {
        assert_eq!(
            item("health", Status::Passed).line(),
            "ok - [1] health: seen"
        );
        assert_eq!(
            item("payment", Status::Failed).line(),
            "fail - payment: seen"
        );
        assert_eq!(
            item("webhook-duplicate", Status::Skipped).line(),
            "skipped - [8] webhook-duplicate: seen"
        );
    }

    #[test]
    fn every_checklist_item_runs_and_numbers_follow_the_seed() {
        for (name, _) in CHECKLIST {
            assert!(ITEMS.contains(&name), "{name}");
        }
        assert_eq!(checklist_number("webhook-signature"), Some(9));
        assert_eq!(checklist_number("license-offline"), None);
    }

    #[test]
    fn the_outcome_passes_only_when_all_nine_ran_and_passed() {
        let all: Vec<Item> = ITEMS.iter().map(|n| item(n, Status::Passed)).collect();
        assert_eq!(Outcome::of(&all), Outcome::Passed);
        let mut skipped = all.clone();
        skipped[12] = item("webhook-duplicate", Status::Skipped);
        assert_eq!(Outcome::of(&skipped), Outcome::Incomplete);
        assert_eq!(Outcome::of(&skipped).exit_code(), 2);
        let mut failed = skipped.clone();
        failed[0] = item("health", Status::Failed);
        assert_eq!(Outcome::of(&failed), Outcome::Failed);
        let missing: Vec<Item> = all.into_iter().filter(|i| i.name != "portal").collect();
        assert_eq!(Outcome::of(&missing), Outcome::Incomplete);
    }

    #[test]
    fn the_default_device_id_is_a_valid_device_id() {
        let id = default_device_id();
        assert!(
            nyra_client::types::DeviceId::try_from(id.as_str()).is_ok(),
            "{id}"
        );
    }
}
