//! Stripe emulator: a native test double of the Stripe API subset the billing Worker calls.
//!
//! Production talks to api.stripe.com; this never ships. It is started by
//! `cargo xtask dev` (binary `stripe-emulator`, 127.0.0.1:12111) and in-process
//! by the end-to-end tests ([`Emulator::start`]).
//!
//! # Stripe side (`/v1`, form-encoded like Stripe)
//!
//! Every `/v1` request needs `Authorization: Bearer <secret key>` (else 401, key
//! masked) and `Stripe-Version` equal to [`Config::api_version`] (else 400);
//! `Idempotency-Key` replays the first successful answer for the same body and
//! refuses a different body with `idempotency_error`; every answer carries a
//! `Request-Id`. Unknown parameters answer `parameter_unknown`, missing ones
//! `parameter_missing`, both naming `param`.
//!
//! - `POST /v1/checkout/sessions` (`mode=subscription` with a recurring price, or
//!   `mode=payment` with a one-time price: any `price_...` id containing `one_time`, optionally
//!   `customer_creation=always`), `GET /v1/checkout/sessions/{id}`
//! - `POST /v1/billing_portal/sessions`
//! - `GET /v1/subscriptions/{id}`, `/v1/customers/{id}`, `/v1/invoices/{id}`
//!
//! Hosted pages for a person in a browser: `GET /c/pay/{id}` (its Pay button
//! pays and redirects to `success_url`) and `GET /p/session/{id}` (cancel at
//! period end or now, then back to `return_url`).
//!
//! # Control side (`/_emulator`, JSON)
//!
//! Actions answer `{now, <object ids>, events: [{id, type, created, deliveries}]}`
//! after POSTing each emitted event, signed, to the webhook URL in order.
//!
//! | route | emits |
//! |---|---|
//! | `POST /_emulator/checkout/sessions/{id}/pay` | `customer.created`, `checkout.session.completed`, `customer.subscription.created`, `invoice.created`, `invoice.finalized`, `invoice.paid`, `invoice.payment_succeeded`, `entitlements.active_entitlement_summary.updated` (payment mode: `checkout.session.completed`, after `customer.created` only with `customer_creation=always`) |
//! | `.../pay` `{"async": true}` | `customer.created`, `checkout.session.completed` (`payment_status: "unpaid"`), `customer.subscription.created` (`incomplete`), `invoice.created`, `invoice.finalized` (`open`) |
//! | `POST /_emulator/checkout/sessions/{id}/async` `{"outcome": "succeeded"}` | `invoice.paid`, `invoice.payment_succeeded`, `customer.subscription.updated` (`active`), `checkout.session.async_payment_succeeded`, `entitlements.active_entitlement_summary.updated` |
//! | `.../async` `{"outcome": "failed"}` | `invoice.payment_failed`, `checkout.session.async_payment_failed`, `customer.subscription.updated` (`incomplete_expired`) |
//! | `POST /_emulator/subscriptions/{id}/renew` | `invoice.created`, `invoice.finalized`, `invoice.paid`, `invoice.payment_succeeded`, `customer.subscription.updated` (a past-due subscription: its open invoice is paid, so no `created`/`finalized`) |
//! | `POST /_emulator/subscriptions/{id}/fail_payment` | `invoice.payment_failed`, `customer.subscription.updated` (period moves on, status `past_due`; again: only `invoice.payment_failed`) |
//! | `POST /_emulator/subscriptions/{id}/cancel_at_period_end` | `customer.subscription.updated` |
//! | `POST /_emulator/subscriptions/{id}/cancel` | `customer.subscription.deleted`; with `{"invoice_now": true}` then a $0 final invoice whose line ends at the cancel instant: `invoice.created`, `invoice.finalized`, `invoice.paid`, `invoice.payment_succeeded` |
//! | `POST /_emulator/clock/advance` `{"seconds": N}` | per due subscription: `deleted` if cancelling at period end, else renewals (past-due ones wait) |
//! | `POST /_emulator/events/{id}/redeliver` | the same event bytes, freshly signed |
//!
//! Also `GET /_emulator/clock`, `GET /_emulator/events` (every event with its
//! JSON and delivery attempts), `GET /_emulator/requests` (every `/v1` request:
//! method, path, form params, `Stripe-Version`, `Idempotency-Key`, status;
//! never the `Authorization` value) and `POST /_emulator/faults`
//! `{"mode": "none"|"error500"|"timeout", "count"?: N}`.

// The clover objects are large `json!` literals.
#![recursion_limit = "256"]

mod api;
mod clock;
mod control;
mod deliver;
mod errors;
mod events;
mod form;
mod ids;
mod lifecycle;
mod objects;
mod pages;
mod payment;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The API version the Worker pins and the emulator speaks.
pub const CLOVER: &str = "2026-02-25.clover";

/// How the emulator is set up.
#[derive(Clone, Debug)]
pub struct Config {
    /// The secret key every `/v1` request must present as `Authorization: Bearer`.
    pub secret_key: String,
    /// The webhook signing secret (`whsec_...`) used for `Stripe-Signature`.
    pub webhook_secret: String,
    /// Where signed events are POSTed; `None` records events without delivering.
    pub webhook_url: Option<String>,
    /// The only `Stripe-Version` accepted, e.g. `2026-02-25.clover`.
    pub api_version: String,
    /// Base for hosted URLs (checkout, portal) when it differs from the bound address.
    pub public_base: Option<String>,
}

impl Config {
    /// A config with the given keys, the clover API version and no webhook URL.
    pub fn new(secret_key: impl Into<String>, webhook_secret: impl Into<String>) -> Config {
        Config {
            secret_key: secret_key.into(),
            webhook_secret: webhook_secret.into(),
            webhook_url: None,
            api_version: CLOVER.to_owned(),
            public_base: None,
        }
    }
}

/// A running emulator; dropping it leaves the server running until the runtime ends.
pub struct Emulator {
    base_url: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Emulator {
    /// Binds `addr` (port 0 picks a free port) and serves in a background tokio task.
    pub async fn start(addr: SocketAddr, config: Config) -> std::io::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let host = if local.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            local.ip().to_string()
        };
        let base_url = format!("http://{host}:{}", local.port());
        let shared = Arc::new(state::Shared::new(config, base_url.clone()));
        let app = api::router(shared.clone())
            .merge(control::router(shared.clone()))
            .merge(pages::router(shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(err) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                eprintln!("stripe emulator: server error: {err}");
            }
        });
        Ok(Emulator {
            base_url,
            stop,
            task,
        })
    }

    /// The address it answers on, e.g. `http://127.0.0.1:12111`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Stops accepting, lets in-flight requests finish for up to two seconds, then ends.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(std::time::Duration::from_secs(2), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}
