//! `POST /api/billing/checkout`: a subscription-mode Stripe Checkout Session bound to the calling device.
//!
//! Order of refusals, all before Stripe is called: the checkout switch `BILLING_CHECKOUT` not
//! `test` or `live` (`503 checkout_disabled`), a missing secret (`503 config_missing`), a
//! published fake secret outside the local env (`503 config_insecure`), a live key while the
//! switch is not `live` (`503 live_mode_not_enabled`), a rate limit per client IP or per device
//! (`429 rate_limited`, with `Retry-After`), an entitled device (`409 already_subscribed`).
//! Then a fresh activation code: its Stripe idempotency key makes this request's session its own,
//! Stripe's answer (`400 invalid_body` when Stripe rejects the email, else `502 stripe_error`), and
//! the code's SHA-256 is stored with the session id (`503 storage_unavailable` when D1 fails).

use crate::ctx::{CheckoutSwitch, Ctx, is_live_key};
use crate::problems::ApiError;
use crate::store::checkouts;
use crate::store::customers::{self, CustomerRow};
use crate::stripe::CheckoutParams;
use nyra_api::models::{CheckoutResponse, Problem};
use nyra_api::server::{CreateCheckoutRequest, CreateCheckoutResponse};
use nyra_domain::activation::{self, CODE_BYTES};
use nyra_domain::config::{CHECKOUT_DEVICE_LIMITER, CHECKOUT_IP_LIMITER};
use nyra_domain::license;
use nyra_domain::time::iso;

/// The secrets checkout needs, in the order they are reported.
const SECRETS: [&str; 4] = [
    "STRIPE_SECRET_KEY",
    "NYRA_STRIPE_PRICE_PRO_MONTHLY",
    "NYRA_BILLING_SUCCESS_URL",
    "NYRA_BILLING_CANCEL_URL",
];

/// Creates the Checkout Session and answers its URL, id, expiry and activation code.
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
    let live = is_live_key(&key);
    if live && switch != CheckoutSwitch::Live {
        return Err(ApiError::LiveModeNotEnabled);
    }
    let body = &request.body;
    within_limits(ctx, &body.device_id).await?;
    let db = ctx.db()?;
    let now = ctx.now();
    let rows = customers::bought_by(&db, &body.device_id)
        .await
        .map_err(|_| ApiError::StorageFailed)?;
    if rows.iter().any(|row| entitled(ctx, row, live, now)) {
        return Err(ApiError::AlreadySubscribed);
    }
    let code = activation::format_code(&ctx.random_bytes::<CODE_BYTES>()?);
    let params = CheckoutParams {
        price: &price,
        success_url: &success_url,
        cancel_url: &cancel_url,
        device_id: &body.device_id,
        email: body.email.as_deref(),
    };
    let session = ctx
        .stripe(key)
        .create_checkout(&params, &activation::idempotency_key(&code))
        .await
        .map_err(|e| ApiError::stripe("create checkout session", e))?;
    let hash = activation::hash_hex(&code).unwrap_or_default();
    checkouts::insert(&db, &session.id, &body.device_id, &hash, &iso(now))
        .await
        .map_err(|_| ApiError::StorageFailed)?;
    Ok(CheckoutResponse {
        checkout_url: session.url,
        checkout_session_id: session.id,
        expires_at_iso: iso(session.expires_at),
        activation_code: code,
    })
}

/// Counts this checkout against the per-IP and per-device limits.
async fn within_limits(ctx: &Ctx, device_id: &str) -> Result<(), ApiError> {
    let ip = ctx.client_ip().unwrap_or("unknown");
    if !ctx
        .within_rate_limit(CHECKOUT_IP_LIMITER, format!("ip:{ip}"))
        .await?
    {
        return Err(ApiError::RateLimited("checkout", "ip address"));
    }
    if !ctx
        .within_rate_limit(CHECKOUT_DEVICE_LIMITER, format!("device:{device_id}"))
        .await?
    {
        return Err(ApiError::RateLimited("checkout", "device"));
    }
    Ok(())
}

/// Whether `row` entitles its device now, by the same rule as license status (the one call to
/// `license::evaluate` here).
fn entitled(ctx: &Ctx, row: &CustomerRow, live: bool, now: i64) -> bool {
    license::evaluate(&row.entitlement_input(live), now, ctx.grace_hours()).active
}
