//! `verify-hosted`: the hosted checklist run against a deployed Worker in Stripe test mode (docs/deploy.md).
//!
//! health → stripe mode → checkout → forged webhook rejected → payment (the operator with a
//! Stripe test card, or the Stripe emulator's control route) → first activation → token expiry
//! → offline license → refresh → portal → duplicate webhook delivery. Secrets come in through
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

/// The checklist items, in the order they run.
pub const ITEMS: [&str; 11] = [
    "health",
    "stripe-mode",
    "checkout",
    "webhook-signature",
    "payment",
    "activation",
    "token-expiry",
    "license-offline",
    "refresh",
    "portal",
    "webhook-duplicate",
];

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

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The item's name (one of [`ITEMS`]).
    pub name: String,
    /// Whether it passed (a skipped item passes and says so in `detail`).
    pub ok: bool,
    /// What was seen, or why it failed.
    pub detail: String,
}

impl Item {
    /// `ok - name: detail` or `fail - name: detail`.
    pub fn line(&self) -> String {
        let mark = if self.ok { "ok" } else { "fail" };
        format!("{mark} - {}: {}", self.name, self.detail)
    }
}

/// The checklist's result: `{base, items, ok}` as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The Worker checked.
    pub base: String,
    /// Every item, in order; items after a blocking failure say they did not run.
    pub items: Vec<Item>,
    /// Every item passed.
    pub ok: bool,
    /// The operator pressed Ctrl-C while the checklist waited.
    #[serde(skip)]
    pub interrupted: bool,
}

impl Report {
    /// One line per item.
    pub fn render_text(&self) -> String {
        self.items
            .iter()
            .map(|i| format!("{}\n", i.line()))
            .collect()
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
    fn record(&mut self, name: &str, ok: bool, detail: String) {
        let item = Item {
            name: name.to_owned(),
            ok,
            detail,
        };
        (self.on_item)(&item);
        self.items.push(item);
    }

    /// Records a check the rest depend on; a failure stops the checklist.
    fn item<T>(&mut self, name: &str, check: checks::Check<T>) -> Result<T, Stop> {
        match check {
            Ok((value, detail)) => {
                self.record(name, true, detail);
                Ok(value)
            }
            Err(why) => {
                self.record(name, false, why);
                Err(Stop::Failed)
            }
        }
    }

    /// Records a check the rest do not depend on.
    fn soft(&mut self, name: &str, check: checks::Check<()>) {
        let _ = self.item(name, check);
    }

    /// Marks every item not recorded yet as not run.
    fn not_run(&mut self) {
        let rest: Vec<&str> = ITEMS
            .iter()
            .copied()
            .filter(|name| !self.items.iter().any(|i| i.name == *name))
            .collect();
        for name in rest {
            self.record(name, false, "not run: an earlier item failed".to_owned());
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
    let ok = run.items.iter().all(|i| i.ok);
    Report {
        base: options.base.clone(),
        items: run.items,
        ok,
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
    let first = pay_and_activate(run, &checkout).await?;
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

/// The payment (emulator or operator) and the first activation answer, active.
async fn pay_and_activate(run: &mut Run<'_>, checkout: &Checkout) -> Result<LicenseStatus, Stop> {
    let options = run.options;
    if let Some(emulator) = &options.pay_with_emulator {
        let paid = checks::pay_with_emulator(&run.api, emulator, &checkout.session_id).await;
        run.item("payment", paid)?;
    } else if options.interactive {
        wait::announce(&checkout.url);
    }
    let countdown = options.interactive && options.pay_with_emulator.is_none();
    let polled = wait::activation(options, &checkout.session_id, countdown).await;
    let stop = if polled.interrupted {
        Stop::Interrupted
    } else {
        Stop::Failed
    };
    if options.pay_with_emulator.is_none() {
        run.item("payment", polled.payment_check())
            .map_err(|_| stop)?;
    }
    run.item("activation", polled.activation_check())
        .map_err(|_| stop)
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

    #[test]
    fn items_render_one_line_each() {
        let item = Item {
            name: "health".to_owned(),
            ok: true,
            detail: "ok".to_owned(),
        };
        assert_eq!(item.line(), "ok - health: ok");
        let failed = Item { ok: false, ..item };
        assert_eq!(failed.line(), "fail - health: ok");
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
