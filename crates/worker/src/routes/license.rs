//! `GET /api/license/status`: first activation (app token + checkout + activation code) or refresh (device token), then the licence.
//!
//! - First activation: `Authorization: Bearer NYRA_LICENSE_API_TOKEN` (compared in constant time)
//!   with `checkoutSessionId` and `activationCode`. No `checkoutSessionId`, no code, or a code
//!   whose SHA-256 is not the session's (constant-time compare): `401 activation_code_invalid`,
//!   nothing written. No customer row yet: `404
//!   checkout_not_found`. An entitled device then takes a seat (`customers::claim_seat`: beyond
//!   `NYRA_MAX_DEVICES` the least recently checked device is replaced).
//! - Refresh: `Authorization: Bearer <device access token>` verified for this `deviceId` with the
//!   key its `kid` names (`401 token_invalid|token_expired|device_mismatch`); the row by customer
//!   id (`404 customer_not_found` when the device was never activated). A replaced device gets
//!   `200 active: false, reason: device_replaced` and no credentials; a token older than the
//!   device's newest is `401 token_superseded`.
//!
//! Entitlement comes from `nyra_domain::license::evaluate` with `NYRA_OFFLINE_GRACE_HOURS`. An
//! active device gets a new token (the next generation, recorded atomically) and a licence
//! expiring at the same instant; an inactive one gets `200 active: false` and neither. Every
//! answered check is recorded in `device_activations`; an inactive answer's upsert is skipped
//! when it is unchanged and was recorded less than `customers::TOUCH_SECONDS` ago.
//!
//! A refresh whose customer row this isolate read less than `ctx::CUSTOMER_ROW_SECONDS` ago
//! costs one D1 write instead of a read and a write: when that row grants access, the token
//! rotation alone decides (it matches only this token's generation on a seated device); a
//! cancellation or failed payment recorded by another isolate shows at most that late.

use crate::ctx::{Ctx, is_live_key};
use crate::license_sign;
use crate::problems::ApiError;
use crate::settle;
use crate::store::checkouts;
use crate::store::customers::{self, ActivationRow, CustomerRow, Seat};
use crate::timing;
use nyra_api::models::{DeviceActivation, Entitlement, LicenseReason, LicenseStatus, Problem};
use nyra_api::server::{LicenseStatusRequest, LicenseStatusResponse};
use nyra_domain::activation;
use nyra_domain::license::{self, Decision, KeyRing, LicenseClaims, TokenClaims, VerifiedToken};
use nyra_domain::time::iso;
use nyra_domain::webhook::state::Expect;
use subtle::ConstantTimeEq;
use worker::D1Database;

const BEARER_MISSING: &str =
    "send Authorization: Bearer with the app token (first activation) or a device access token";

const NOT_A_TOKEN: &str = "the bearer is neither the app token nor a device access token";

/// How the request got in.
enum Entry {
    /// The app token with a valid activation code.
    Activation,
    /// A device access token of this generation.
    Refresh(u64),
}

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
    let device_id = request.device_id.as_str();
    let previous = ctx.previous_prices();
    let expect = Expect {
        price_id: &price,
        previous_prices: &previous,
        livemode: is_live_key(&stripe_key),
    };
    timing::mark("setup");
    let (row, entry) = if same_secret(bearer, &app_token) {
        (first_activation(&db, &request).await?, Entry::Activation)
    } else {
        let token = device_token(&keys, bearer, device_id, now)?;
        timing::mark("verify");
        if let Some(answer) = recent_refresh(ctx, &db, &keys, &token, &expect, now).await? {
            return Ok(answer);
        }
        (
            refresh(&db, &token, device_id).await?,
            Entry::Refresh(token.generation),
        )
    };
    if let Entry::Refresh(generation) = entry {
        match row.seat(generation) {
            Seat::Unknown => return Err(ApiError::CustomerNotFound),
            Seat::Replaced => return Ok(replaced(&row, device_id)),
            Seat::Superseded => return Err(ApiError::TokenSuperseded),
            Seat::Current => {}
        }
    }
    let row = settle::if_unsettled(ctx, &db, row, stripe_key.clone(), &expect, device_id).await;
    ctx.remember_customer(&row, now);
    let input = row.entitlement_input(expect.livemode);
    let decision = license::evaluate(&input, now, ctx.grace_hours());
    let activation = record(ctx, &db, &row, device_id, &entry, &decision, now).await?;
    Ok(body(&keys, &row, device_id, &decision, activation, now).await)
}

/// A refresh answered from the customer row this isolate read less than
/// [`crate::ctx::CUSTOMER_ROW_SECONDS`] ago, with one D1 write (the token rotation): only when
/// that row is settled and grants access, and the rotation finds this token's generation on a
/// seated device. Anything else (`None`) takes the full path, which reads D1 again.
async fn recent_refresh(
    ctx: &Ctx,
    db: &D1Database,
    keys: &KeyRing,
    token: &VerifiedToken,
    expect: &Expect<'_>,
    now: i64,
) -> Result<Option<LicenseStatus>, ApiError> {
    let claims = &token.claims;
    let Some(row) = ctx.recent_customer(&claims.customer_id, now) else {
        return Ok(None);
    };
    let input = row.entitlement_input(expect.livemode);
    let decision = license::evaluate(&input, now, ctx.grace_hours());
    if !decision.active || license::is_unsettled(&input) {
        return Ok(None);
    }
    let (customer, device) = (&claims.customer_id, &claims.device_id);
    let rotated = customers::rotate_token(db, customer, device, &iso(now), token.generation)
        .await
        .map_err(|_| ApiError::StorageFailed)?;
    timing::mark("d1");
    match rotated {
        Some(activation) => Ok(Some(
            body(keys, &row, device, &decision, activation, now).await,
        )),
        None => Ok(None),
    }
}

/// Writes this check: an active answer seats the device (activation) or rotates its token
/// (refresh); an inactive one only records the check.
async fn record(
    ctx: &Ctx,
    db: &D1Database,
    row: &CustomerRow,
    device_id: &str,
    entry: &Entry,
    decision: &Decision,
    now: i64,
) -> Result<ActivationRow, ApiError> {
    let (customer, now_iso) = (&row.customer_id, iso(now));
    let written = match (decision.active, entry) {
        (true, Entry::Activation) => {
            customers::claim_seat(db, customer, device_id, &now_iso, ctx.max_devices()).await
        }
        (true, Entry::Refresh(generation)) => {
            let rotated = customers::rotate_token(db, customer, device_id, &now_iso, *generation);
            match rotated.await {
                Ok(None) => return Err(ApiError::TokenSuperseded),
                other => other,
            }
        }
        (false, _) => match row.fresh_activation(false, now) {
            Some(activation) => return Ok(activation),
            None => customers::record_check(db, customer, device_id, &now_iso, false).await,
        },
    };
    written.ok().flatten().ok_or(ApiError::StorageFailed)
}

/// Constant-time equality of two secrets (length leaks, content does not).
fn same_secret(given: &str, expected: &str) -> bool {
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// Checks the activation code against the session's stored hash (read with the customer row).
async fn first_activation(
    db: &D1Database,
    request: &LicenseStatusRequest,
) -> Result<CustomerRow, ApiError> {
    let checkout = request
        .checkout_session_id
        .as_deref()
        .ok_or(ApiError::ActivationSessionMissing)?;
    let code = request.activation_code.as_deref().unwrap_or_default();
    let (stored, row) = checkouts::activation(db, checkout, &request.device_id)
        .await
        .map_err(|_| ApiError::StorageFailed)?;
    if !activation::matches(code, stored.as_deref().unwrap_or_default()) {
        return Err(ApiError::ActivationCodeInvalid);
    }
    row.ok_or(ApiError::CheckoutNotFound)
}

/// The device access token, verified for this device with the key its `kid` names.
fn device_token(
    keys: &KeyRing,
    bearer: &str,
    device_id: &str,
    now: i64,
) -> Result<VerifiedToken, ApiError> {
    if !bearer.starts_with(license::TOKEN_PREFIX) {
        return Err(ApiError::Unauthorized(NOT_A_TOKEN));
    }
    Ok(license::verify_in_ring(keys, bearer, Some(device_id), now)?)
}

/// The token's customer row with this device's activation.
async fn refresh(
    db: &D1Database,
    token: &VerifiedToken,
    device_id: &str,
) -> Result<CustomerRow, ApiError> {
    customers::by_customer(db, &token.claims.customer_id, device_id)
        .await
        .map_err(|_| ApiError::StorageFailed)?
        .ok_or(ApiError::CustomerNotFound)
}

/// A replaced device's answer: inactive, `reason: device_replaced`, no credentials, nothing written.
fn replaced(row: &CustomerRow, device_id: &str) -> LicenseStatus {
    LicenseStatus {
        active: false,
        entitlement: Entitlement::None,
        status: row.status.clone(),
        payment_issue: false,
        customer_id: row.customer_id.clone(),
        device_id: device_id.to_owned(),
        current_period_end_iso: row.period_end().map(iso),
        cancel_at_period_end: row.cancels_at_period_end(),
        offline_grace_ends_at_iso: None,
        device_activation: DeviceActivation {
            activated_at_iso: row.activated_at.clone().unwrap_or_default(),
            last_checked_at_iso: row.last_checked_at.clone().unwrap_or_default(),
            active: false,
        },
        license: None,
        device_access_token: None,
        device_access_token_expires_at_iso: None,
        reason: Some(LicenseReason::DeviceReplaced),
    }
}

/// The answer body; the token and licence share `decision.token_expires_at`.
async fn body(
    keys: &KeyRing,
    row: &CustomerRow,
    device_id: &str,
    decision: &Decision,
    activation: ActivationRow,
    now: i64,
) -> LicenseStatus {
    let generation = activation.generation();
    let credentials = match decision.token_expires_at {
        Some(expires_at) => {
            Some(credentials(keys, row, device_id, (now, expires_at), generation).await)
        }
        None => None,
    };
    timing::mark("sign");
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
        reason: None,
    }
}

/// `(token, licence, token expiry ISO)` with the current keys, the expiry text being exactly the
/// token's signed `expiresAt`; the token carries `generation`.
async fn credentials(
    keys: &KeyRing,
    row: &CustomerRow,
    device_id: &str,
    (now, expires_at): (i64, i64),
    generation: u64,
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
        license::issue_generation(keys.current(), &claims, generation),
        license_sign::sign(keys.current(), &licence).await,
        claims.expires_at_iso(),
    )
}

fn entitlement(value: license::Entitlement) -> Entitlement {
    match value {
        license::Entitlement::Pro => Entitlement::Pro,
        license::Entitlement::None => Entitlement::None,
    }
}
