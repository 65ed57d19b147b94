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

use crate::app::App;
use crate::routes::checkout::{missing_detail, required_secrets};
use crate::store::customers::{self, ActivationRow, CustomerRow};
use crate::{clock, config};
use nyra_api::models::{DeviceActivation, Entitlement, ErrorCode, LicenseStatus};
use nyra_api::rt::problem_of;
use nyra_api::server::{LicenseStatusRequest, LicenseStatusResponse};
use nyra_domain::license::{self, Decision, EntitlementInput, Keys, LicenseClaims, TokenClaims};
use nyra_domain::time::iso;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use subtle::ConstantTimeEq;
use worker::D1Database;

type Answer<T> = Result<T, LicenseStatusResponse>;

/// Answers the device's license state, with a fresh token and licence when it is entitled.
pub async fn handle(app: &App, request: LicenseStatusRequest) -> LicenseStatusResponse {
    answer(app, request).await.unwrap_or_else(|refusal| refusal)
}

async fn answer(app: &App, request: LicenseStatusRequest) -> Answer<LicenseStatusResponse> {
    let Some(bearer) = request.bearer.as_deref() else {
        return Err(unauthorized(ErrorCode::Unauthorized, BEARER_MISSING));
    };
    let [app_token, signing] = required_secrets(
        app,
        ["NYRA_LICENSE_API_TOKEN", "NYRA_LICENSE_SIGNING_SECRET"],
    )
    .map_err(|missing| unavailable(ErrorCode::ConfigMissing, &missing_detail(&missing)))?;
    let keys =
        signing_keys(&signing).map_err(|detail| unavailable(ErrorCode::ConfigMissing, detail))?;
    let db = database(app).map_err(|e| unavailable(ErrorCode::StorageUnavailable, e))?;
    let now = clock::now();
    let row = if same_secret(bearer, &app_token) {
        first_activation(&db, &request).await?
    } else {
        refresh(&db, &keys, bearer, &request.device_id, now).await?
    };
    let decision = decide(app, &row, now);
    let activation = match row.fresh_activation(decision.active, now) {
        Some(activation) => activation,
        None => record(&db, &row, &request.device_id, now, decision.active).await?,
    };
    let status = status_of(&keys, &row, &request.device_id, &decision, activation, now);
    Ok(LicenseStatusResponse::Ok(status))
}

/// Upserts the activation row and returns it as stored.
async fn record(
    db: &D1Database,
    row: &CustomerRow,
    device_id: &str,
    now: i64,
    active: bool,
) -> Answer<ActivationRow> {
    match customers::record_check(db, &row.customer_id, device_id, &iso(now), active).await {
        Ok(Some(activation)) => Ok(activation),
        _ => Err(storage_unavailable()),
    }
}

const BEARER_MISSING: &str =
    "send Authorization: Bearer with the app token (first activation) or a device access token";

thread_local! {
    /// The keys of the last secret seen, with a digest of that secret: HKDF and the Ed25519 key
    /// expansion then run once per isolate instead of on every request.
    static KEYS: RefCell<Option<([u8; 32], Keys)>> = const { RefCell::new(None) };
}

/// The license signing keys; an unusable secret is a configuration error.
pub fn signing_keys(secret: &str) -> Result<Keys, &'static str> {
    let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    if let Some(keys) = KEYS.with_borrow(|c| {
        c.as_ref()
            .filter(|(d, _)| *d == digest)
            .map(|(_, k)| k.clone())
    }) {
        return Ok(keys);
    }
    let keys = Keys::from_secret(secret)
        .map_err(|_| "not configured: NYRA_LICENSE_SIGNING_SECRET is unusable")?;
    KEYS.set(Some((digest, keys.clone())));
    Ok(keys)
}

/// The D1 binding.
pub fn database(app: &App) -> Result<D1Database, &'static str> {
    app.env
        .d1("DB")
        .map_err(|_| "the billing database is not bound; try again later")
}

/// Constant-time equality of two secrets (length leaks, content does not).
fn same_secret(given: &str, expected: &str) -> bool {
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

async fn first_activation(db: &D1Database, request: &LicenseStatusRequest) -> Answer<CustomerRow> {
    let Some(checkout) = request.checkout_session_id.as_deref() else {
        let detail = "checkoutSessionId: required for first activation with the app token";
        return Err(LicenseStatusResponse::BadRequest(problem_of(
            ErrorCode::InvalidQuery,
            detail,
        )));
    };
    match customers::by_checkout(db, checkout, &request.device_id).await {
        Ok(Some(row)) => Ok(row),
        Ok(None) => Err(not_found(
            ErrorCode::CheckoutNotFound,
            "no completed checkout session matches this device yet",
        )),
        Err(_) => Err(storage_unavailable()),
    }
}

async fn refresh(
    db: &D1Database,
    keys: &Keys,
    bearer: &str,
    device_id: &str,
    now: i64,
) -> Answer<CustomerRow> {
    let claims = verify_token(keys, bearer, device_id, now)
        .map_err(|(code, detail)| unauthorized(code, detail))?;
    match customers::by_customer_device(db, &claims.customer_id, device_id).await {
        Ok(Some(row)) => Ok(row),
        Ok(None) => Err(not_found(
            ErrorCode::CustomerNotFound,
            "no billing customer matches this device",
        )),
        Err(_) => Err(storage_unavailable()),
    }
}

/// A device access token for `device_id`; anything that is not one is `unauthorized`.
fn verify_token(
    keys: &Keys,
    bearer: &str,
    device_id: &str,
    now: i64,
) -> Result<TokenClaims, (ErrorCode, &'static str)> {
    if !bearer.starts_with(license::TOKEN_PREFIX) {
        let detail = "the bearer is neither the app token nor a device access token";
        return Err((ErrorCode::Unauthorized, detail));
    }
    license::verify(keys, bearer, device_id, now).map_err(token_error)
}

/// The API code and detail of a token error.
pub fn token_error(error: license::TokenError) -> (ErrorCode, &'static str) {
    match error {
        license::TokenError::Invalid => (
            ErrorCode::TokenInvalid,
            "the device access token is invalid; activate again",
        ),
        license::TokenError::Expired => (
            ErrorCode::TokenExpired,
            "the device access token has expired; activate again",
        ),
        license::TokenError::DeviceMismatch => (
            ErrorCode::DeviceMismatch,
            "the device access token belongs to another device",
        ),
    }
}

fn decide(app: &App, row: &CustomerRow, now: i64) -> Decision {
    let grace = license::grace_hours(config::var(&app.env, "NYRA_OFFLINE_GRACE_HOURS").as_deref());
    let input = EntitlementInput {
        status: row.status.clone(),
        current_period_end: row.period_end(),
    };
    license::evaluate(&input, now, grace)
}

/// The answer body; the token and licence share `decision.token_expires_at`.
fn status_of(
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

fn unauthorized(code: ErrorCode, detail: &str) -> LicenseStatusResponse {
    LicenseStatusResponse::Unauthorized(problem_of(code, detail))
}

fn not_found(code: ErrorCode, detail: &str) -> LicenseStatusResponse {
    LicenseStatusResponse::NotFound(problem_of(code, detail))
}

fn unavailable(code: ErrorCode, detail: &str) -> LicenseStatusResponse {
    LicenseStatusResponse::ServiceUnavailable(problem_of(code, detail))
}

fn storage_unavailable() -> LicenseStatusResponse {
    unavailable(
        ErrorCode::StorageUnavailable,
        "the billing database did not answer; try again later",
    )
}
