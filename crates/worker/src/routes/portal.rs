//! `POST /api/billing/portal`: a Stripe Customer Portal session for the customer of a device access token.
//!
//! The token's MAC and expiry are verified with `nyra_domain::license::verify_any_device`, and
//! the customer and device come from the verified claims. The customer's row must still belong
//! to that device (`404 customer_not_found` otherwise). The return URL is always
//! `NYRA_BILLING_RETURN_URL`, never one the caller supplies.

use crate::ctx::Ctx;
use crate::problems::ApiError;
use crate::store::customers;
use nyra_api::models::{PortalResponse, Problem};
use nyra_api::server::{CreatePortalRequest, CreatePortalResponse};
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
    let claims = license::verify_any_device(&keys, &bearer, now)?;
    let db = ctx.db()?;
    customers::by_customer_device(&db, &claims.customer_id, &claims.device_id)
        .await
        .map_err(|_| ApiError::StorageFailed)?
        .ok_or(ApiError::CustomerNotFound)?;
    let portal_url = ctx
        .stripe(key)
        .create_portal(&claims.customer_id, &return_url, now)
        .await
        .map_err(|e| ApiError::stripe("create portal session", e))?;
    Ok(PortalResponse { portal_url })
}
