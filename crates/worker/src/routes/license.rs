//! `GET /api/license/status`: first activation (app token + checkout) or refresh (device token), then the licence.
//!
//! - First activation: `Authorization: Bearer NYRA_LICENSE_API_TOKEN` (compared in constant time)
//!   with `checkoutSessionId`; the row is found by the (checkout_session_id, device_id) index.
//!   Without `checkoutSessionId`: `400 invalid_query`. No row yet: `404 checkout_not_found`.
//! - Refresh: `Authorization: Bearer <device access token>` verified for this `deviceId`
//!   (`401 token_invalid|token_expired|device_mismatch`); the row by customer id and device id
//!   (`404 customer_not_found`).
//!
//! Entitlement comes from `nyra_domain::license::evaluate` with `NYRA_OFFLINE_GRACE_HOURS`. An
//! active device gets a token and a licence expiring at the same instant; an inactive one gets
//! `200 active: false` and neither. Every answered check is recorded in `device_activations`:
//! the customer row and the activation are read in one query, and the upsert is skipped when the
//! answer is unchanged and was recorded less than `customers::TOUCH_SECONDS` ago.

use crate::ctx::{Ctx, stripe_mode};
use crate::problems::ApiError;
use crate::settle;
use crate::store::customers::{self, ActivationRow, CustomerRow};
use nyra_api::models::{DeviceActivation, Entitlement, LicenseStatus, Problem, StripeMode};
use nyra_api::server::{LicenseStatusRequest, LicenseStatusResponse};
use nyra_domain::license::{self, Decision, Keys, LicenseClaims, TokenClaims};
use nyra_domain::time::iso;
use nyra_domain::webhook::state::Expect;
use subtle::ConstantTimeEq;
use worker::D1Database;

const BEARER_MISSING: &str =
    "send Authorization: Bearer with the app token (first activation) or a device access token";

const NOT_A_TOKEN: &str = "the bearer is neither the app token nor a device access token";

/// Answers the device's license state, with a fresh token and licence when it is entitled.
pub async fn handle(ctx: &Ctx, request: LicenseStatusRequest) -> LicenseStatusResponse {
    match answer(ctx, request).await {
        Ok(body) => LicenseStatusResponse::Ok(body),
        Err(error) => Problem::from(error).into(),
    }
}

async fn answer(ctx: &Ctx, request: LicenseStatusRequest) -> Result<LicenseStatus, ApiError> {
    let bearer = request
        .bearer
        .as_deref()
        .ok_or(ApiError::Unauthorized(BEARER_MISSING))?;
    let [app_token, signing, stripe_key, price] = ctx.secrets([
        "NYRA_LICENSE_API_TOKEN",
        "NYRA_LICENSE_SIGNING_SECRET",
        "STRIPE_SECRET_KEY",
        "NYRA_STRIPE_PRICE_PRO_MONTHLY",
    ])?;
    let keys = ctx.signing_keys(&signing)?;
    let db = ctx.db()?;
    let now = ctx.now();
    let row = if same_secret(bearer, &app_token) {
        first_activation(&db, &request).await?
    } else {
        refresh(&db, &keys, bearer, &request.device_id, now).await?
    };
    let expect = Expect {
        price_id: &price,
        livemode: stripe_mode(Some(&stripe_key)) == StripeMode::Live,
    };
    let row = settle::if_unsettled(
        ctx,
        &db,
        row,
        stripe_key.clone(),
        &expect,
        &request.device_id,
    )
    .await;
    let decision = license::evaluate(
        &row.entitlement_input(expect.livemode),
        now,
        ctx.grace_hours(),
    );
    let activation = match row.fresh_activation(decision.active, now) {
        Some(activation) => activation,
        None => record(&db, &row, &request.device_id, now, decision.active).await?,
    };
    Ok(body(
        &keys,
        &row,
        &request.device_id,
        &decision,
        activation,
        now,
    ))
}

/// Upserts the activation row and returns it as stored.
async fn record(
    db: &D1Database,
    row: &CustomerRow,
    device_id: &str,
    now: i64,
    active: bool,
) -> Result<ActivationRow, ApiError> {
    customers::record_check(db, &row.customer_id, device_id, &iso(now), active)
        .await
        .ok()
        .flatten()
        .ok_or(ApiError::StorageFailed)
}

/// Constant-time equality of two secrets (length leaks, content does not).
fn same_secret(given: &str, expected: &str) -> bool {
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

async fn first_activation(
    db: &D1Database,
    request: &LicenseStatusRequest,
) -> Result<CustomerRow, ApiError> {
    let checkout = request
        .checkout_session_id
        .as_deref()
        .ok_or(ApiError::InvalidQuery(
            "checkoutSessionId: required for first activation with the app token",
        ))?;
    customers::by_checkout(db, checkout, &request.device_id)
        .await
        .map_err(|_| ApiError::StorageFailed)?
        .ok_or(ApiError::CheckoutNotFound)
}

async fn refresh(
    db: &D1Database,
    keys: &Keys,
    bearer: &str,
    device_id: &str,
    now: i64,
) -> Result<CustomerRow, ApiError> {
    if !bearer.starts_with(license::TOKEN_PREFIX) {
        return Err(ApiError::Unauthorized(NOT_A_TOKEN));
    }
    let claims = license::verify(keys, bearer, device_id, now)?;
    customers::by_customer_device(db, &claims.customer_id, device_id)
        .await
        .map_err(|_| ApiError::StorageFailed)?
        .ok_or(ApiError::CustomerNotFound)
}

/// The answer body; the token and licence share `decision.token_expires_at`.
fn body(
    keys: &Keys,
    row: &CustomerRow,
    device_id: &str,
    decision: &Decision,
    activation: ActivationRow,
    now: i64,
) -> LicenseStatus {
    let credentials = decision
        .token_expires_at
        .map(|expires_at| credentials(keys, row, device_id, now, expires_at));
    let (token, license, token_expiry) = match credentials {
        Some((token, license, expiry)) => (Some(token), Some(license), Some(expiry)),
        None => (None, None, None),
    };
    LicenseStatus {
        active: decision.active,
        entitlement: entitlement(decision.entitlement),
        status: row.status.clone(),
        payment_issue: decision.payment_issue,
        customer_id: row.customer_id.clone(),
        device_id: device_id.to_owned(),
        current_period_end_iso: row.period_end().map(iso),
        cancel_at_period_end: row.cancels_at_period_end(),
        offline_grace_ends_at_iso: decision.offline_grace_ends_at.map(iso),
        device_activation: DeviceActivation {
            activated_at_iso: activation.activated_at,
            last_checked_at_iso: activation.last_checked_at,
            active: activation.last_active != 0.0,
        },
        license,
        device_access_token: token,
        device_access_token_expires_at_iso: token_expiry,
    }
}

/// `(token, licence, token expiry ISO)`, the expiry text being exactly the token's signed `expiresAt`.
fn credentials(
    keys: &Keys,
    row: &CustomerRow,
    device_id: &str,
    now: i64,
    expires_at: i64,
) -> (String, String, String) {
    let claims = TokenClaims {
        customer_id: row.customer_id.clone(),
        device_id: device_id.to_owned(),
        issued_at: now,
        expires_at,
    };
    let licence = LicenseClaims {
        customer_id: row.customer_id.clone(),
        device_id: device_id.to_owned(),
        entitlement: license::Entitlement::Pro,
        status: row.status.clone(),
        issued_at: now,
        expires_at,
    };
    (
        license::issue(keys, &claims),
        license::sign(keys, &licence),
        claims.expires_at_iso(),
    )
}

fn entitlement(value: license::Entitlement) -> Entitlement {
    match value {
        license::Entitlement::Pro => Entitlement::Pro,
        license::Entitlement::None => Entitlement::None,
    }
}
