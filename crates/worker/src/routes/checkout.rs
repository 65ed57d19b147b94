//! `POST /api/billing/checkout`: a subscription-mode Stripe Checkout Session bound to the calling device.
//!
//! Order of refusals, all before Stripe is called except the last: the checkout switch
//! `BILLING_CHECKOUT` not `test` or `live` (`503 checkout_disabled`), a missing secret
//! (`503 config_missing`), a live key while the switch is not `live`
//! (`503 live_mode_not_enabled`), then Stripe's answer (`400 invalid_body` when Stripe rejects
//! the email, else `502 stripe_error`).

use crate::ctx::{CheckoutSwitch, Ctx, stripe_mode};
use crate::problems::ApiError;
use crate::stripe::CheckoutParams;
use nyra_api::models::{CheckoutResponse, Problem, StripeMode};
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
pub async fn handle(ctx: &Ctx, request: CreateCheckoutRequest) -> CreateCheckoutResponse {
    match answer(ctx, request).await {
        Ok(body) => CreateCheckoutResponse::Ok(body),
        Err(error) => Problem::from(error).into(),
    }
}

async fn answer(ctx: &Ctx, request: CreateCheckoutRequest) -> Result<CheckoutResponse, ApiError> {
    let switch = ctx.checkout_switch();
    if switch == CheckoutSwitch::Disabled {
        return Err(ApiError::CheckoutDisabled);
    }
    let [key, price, success_url, cancel_url] = ctx.secrets(SECRETS)?;
    if stripe_mode(Some(&key)) == StripeMode::Live && switch != CheckoutSwitch::Live {
        return Err(ApiError::LiveModeNotEnabled);
    }
    let body = &request.body;
    let params = CheckoutParams {
        price: &price,
        success_url: &success_url,
        cancel_url: &cancel_url,
        device_id: &body.device_id,
        email: body.email.as_deref(),
    };
    let session = ctx
        .stripe(key)
        .create_checkout(&params, ctx.now())
        .await
        .map_err(|e| ApiError::stripe("create checkout session", e))?;
    Ok(CheckoutResponse {
        checkout_url: session.url,
        checkout_session_id: session.id,
        expires_at_iso: iso(session.expires_at),
    })
}
