//! `POST /api/billing/portal`: a Stripe Customer Portal session for the customer of a device access token.
//!
//! The token's MAC (with the key its `kid` names) and expiry are verified with
//! `nyra_domain::license::verify_in_ring`, and the customer and device come from the verified
//! claims. The device must have been activated for that customer (`404 customer_not_found`),
//! still hold its seat (`401 device_replaced`) and present its newest token (`401
//! token_superseded`). Each customer may open `PORTAL_CUSTOMER_LIMITER`'s number of sessions per
//! minute (`429 rate_limited` beyond, before Stripe): a scripted loop with a valid token cannot
//! spend the Stripe account's rate limit that checkout and every other portal call share. The
//! return URL is always `NYRA_BILLING_RETURN_URL`, never one the caller supplies.

use crate::ctx::Ctx;
use crate::problems::ApiError;
use crate::store::customers::{self, Seat};
use nyra_api::models::{PortalResponse, Problem};
use nyra_api::server::{CreatePortalRequest, CreatePortalResponse};
use nyra_domain::config::PORTAL_CUSTOMER_LIMITER;
use nyra_domain::license;

const BEARER_MISSING: &str = "send Authorization: Bearer with a device access token";

/// Creates the portal session and answers its URL.
pub async fn handle(ctx: &Ctx, request: CreatePortalRequest) -> CreatePortalResponse {
    match answer(ctx, request).await {
        Ok(body) => CreatePortalResponse::Ok(body),
        Err(error) => Problem::from(error).into(),
    }
}

async fn answer(ctx: &Ctx, request: CreatePortalRequest) -> Result<PortalResponse, ApiError> {
    let bearer = request
        .bearer
        .ok_or(ApiError::Unauthorized(BEARER_MISSING))?;
    let [key, return_url, signing] = ctx.secrets([
        "STRIPE_SECRET_KEY",
        "NYRA_BILLING_RETURN_URL",
        "NYRA_LICENSE_SIGNING_SECRET",
    ])?;
    let keys = ctx.signing_keys(&signing)?;
    let now = ctx.now();
    let verified = license::verify_in_ring(&keys, &bearer, None, now)?;
    let claims = &verified.claims;
    let db = ctx.db()?;
    let row = customers::by_customer(&db, &claims.customer_id, &claims.device_id)
        .await
        .map_err(|_| ApiError::StorageFailed)?
        .ok_or(ApiError::CustomerNotFound)?;
    match row.seat(verified.generation) {
        Seat::Unknown => return Err(ApiError::CustomerNotFound),
        Seat::Replaced => return Err(ApiError::DeviceReplaced),
        Seat::Superseded => return Err(ApiError::TokenSuperseded),
        Seat::Current => {}
    }
    let customer = format!("customer:{}", claims.customer_id);
    if !ctx
        .within_rate_limit(PORTAL_CUSTOMER_LIMITER, customer)
        .await?
    {
        return Err(ApiError::RateLimited("portal", "customer"));
    }
    let portal_url = ctx
        .stripe(key)
        .create_portal(&claims.customer_id, &return_url, now)
        .await
        .map_err(|e| ApiError::stripe("create portal session", e))?;
    Ok(PortalResponse { portal_url })
}
