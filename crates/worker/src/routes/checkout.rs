//! `POST /api/billing/checkout`: a subscription-mode Stripe Checkout Session bound to the calling device.
//!
//! Order of refusals: a missing secret (`503 config_missing`), a live key without
//! `BILLING_LIVE_MODE=enabled` (`503 live_mode_not_enabled`, before Stripe is called), then
//! Stripe's answer (`400 invalid_body` when Stripe rejects the email, else `502 stripe_error`).

use crate::app::App;
use crate::stripe::{CheckoutParams, Stripe, StripeError};
use crate::{clock, config};
use nyra_api::models::{CheckoutResponse, ErrorCode, StripeMode};
use nyra_api::rt::problem_of;
use nyra_api::server::{CreateCheckoutRequest, CreateCheckoutResponse};
use nyra_domain::time::iso;

/// The secrets checkout needs, in the order they are reported.
const SECRETS: [&str; 4] = [
    "STRIPE_SECRET_KEY",
    "NYRA_STRIPE_PRICE_PRO_MONTHLY",
    "NYRA_BILLING_SUCCESS_URL",
    "NYRA_BILLING_CANCEL_URL",
];

/// Creates the Checkout Session and answers its URL, id and expiry.
pub async fn handle(app: &App, request: CreateCheckoutRequest) -> CreateCheckoutResponse {
    let [key, price, success_url, cancel_url] = match required_secrets(app, SECRETS) {
        Ok(values) => values,
        Err(missing) => return unavailable(ErrorCode::ConfigMissing, &missing_detail(&missing)),
    };
    if !live_mode_allowed(&key, config::var(&app.env, "BILLING_LIVE_MODE").as_deref()) {
        let detail = "the stripe key is a live key and BILLING_LIVE_MODE is not enabled";
        return unavailable(ErrorCode::LiveModeNotEnabled, detail);
    }
    let body = &request.body;
    let params = CheckoutParams {
        price: &price,
        success_url: &success_url,
        cancel_url: &cancel_url,
        device_id: &body.device_id,
        email: body.email.as_deref(),
    };
    let stripe = stripe_client(app, key);
    match stripe.create_checkout(&params, clock::now()).await {
        Ok(session) => CreateCheckoutResponse::Ok(CheckoutResponse {
            checkout_url: session.url,
            checkout_session_id: session.id,
            expires_at_iso: iso(session.expires_at),
        }),
        Err(error) => stripe_failure(&error),
    }
}

/// The Stripe client from the Worker's vars.
pub fn stripe_client(app: &App, key: String) -> Stripe {
    Stripe::new(
        config::var(&app.env, "STRIPE_API_BASE"),
        key,
        config::var(&app.env, "STRIPE_API_VERSION"),
    )
}

/// A live key needs `BILLING_LIVE_MODE=enabled`; test keys always pass.
fn live_mode_allowed(key: &str, live_mode: Option<&str>) -> bool {
    let live = super::health::stripe_mode(Some(key)) == StripeMode::Live;
    !live || live_mode.map(str::trim) == Some("enabled")
}

/// The values of `names`, or the names of those that are not set.
pub fn required_secrets<const N: usize>(
    app: &App,
    names: [&'static str; N],
) -> Result<[String; N], Vec<&'static str>> {
    let values = names.map(|name| config::secret(&app.env, name));
    let missing: Vec<&str> = names
        .iter()
        .zip(&values)
        .filter(|(_, value)| value.is_none())
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        Ok(values.map(Option::unwrap_or_default))
    } else {
        Err(missing)
    }
}

/// `"not configured: <names>"` (names only, never values).
pub fn missing_detail(missing: &[&str]) -> String {
    format!("not configured: {}", missing.join(", "))
}

fn unavailable(code: ErrorCode, detail: &str) -> CreateCheckoutResponse {
    CreateCheckoutResponse::ServiceUnavailable(problem_of(code, detail))
}

/// Stripe refusing the email is the caller's input; anything else is a `502`.
fn stripe_failure(error: &StripeError) -> CreateCheckoutResponse {
    error.log("create checkout session");
    if error.rejected_param() == Some("customer_email") {
        let detail = "email: stripe does not accept this email address";
        return CreateCheckoutResponse::BadRequest(problem_of(ErrorCode::InvalidBody, detail));
    }
    CreateCheckoutResponse::BadGateway(problem_of(ErrorCode::StripeError, error.detail()))
}
