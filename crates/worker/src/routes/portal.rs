//! `POST /api/billing/portal`: a Stripe Customer Portal session for the device access token's customer.
//!
//! The request carries no `deviceId`, so the token's MAC (which covers the device id it names)
//! and expiry are verified with `nyra_domain::license::verify_any_device`, and the customer and
//! device come from the verified claims. The
//! customer's row must still belong to that device (`404 customer_not_found` otherwise). The
//! return URL is always `NYRA_BILLING_RETURN_URL`, never one the caller supplies.

use nyra_api::models::{ErrorCode, PortalResponse};
use nyra_api::rt::problem_of;
use nyra_api::server::{CreatePortalRequest, CreatePortalResponse};
use nyra_domain::license;

use crate::app::App;
use crate::clock;
use crate::routes::checkout::{missing_detail, required_secrets, stripe_client};
use crate::routes::license::{database, signing_keys, token_error};
use crate::store::customers;

type Answer<T> = Result<T, CreatePortalResponse>;

/// Creates the portal session and answers its URL.
pub async fn handle(app: &App, request: CreatePortalRequest) -> CreatePortalResponse {
    answer(app, request).await.unwrap_or_else(|refusal| refusal)
}

async fn answer(app: &App, request: CreatePortalRequest) -> Answer<CreatePortalResponse> {
    let Some(bearer) = request.bearer.as_deref() else {
        let detail = "send Authorization: Bearer with a device access token";
        return Err(unauthorized(ErrorCode::Unauthorized, detail));
    };
    let [key, return_url, signing] = required_secrets(
        app,
        [
            "STRIPE_SECRET_KEY",
            "NYRA_BILLING_RETURN_URL",
            "NYRA_LICENSE_SIGNING_SECRET",
        ],
    )
    .map_err(|missing| unavailable(ErrorCode::ConfigMissing, &missing_detail(&missing)))?;
    let keys = signing_keys(&signing).map_err(|d| unavailable(ErrorCode::ConfigMissing, d))?;
    let now = clock::now();
    let claims = license::verify_any_device(&keys, bearer, now)
        .map_err(token_error)
        .map_err(|(code, detail)| unauthorized(code, detail))?;
    let db = database(app).map_err(|d| unavailable(ErrorCode::StorageUnavailable, d))?;
    match customers::by_customer_device(&db, &claims.customer_id, &claims.device_id).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            let detail = "no billing customer matches this device";
            return Err(CreatePortalResponse::NotFound(problem_of(
                ErrorCode::CustomerNotFound,
                detail,
            )));
        }
        Err(_) => return Err(storage_unavailable()),
    }
    let stripe = stripe_client(app, key);
    match stripe
        .create_portal(&claims.customer_id, &return_url, now)
        .await
    {
        Ok(portal_url) => Ok(CreatePortalResponse::Ok(PortalResponse { portal_url })),
        Err(error) => {
            error.log("create portal session");
            let problem = problem_of(ErrorCode::StripeError, error.detail());
            Err(CreatePortalResponse::BadGateway(problem))
        }
    }
}

fn unauthorized(code: ErrorCode, detail: &str) -> CreatePortalResponse {
    CreatePortalResponse::Unauthorized(problem_of(code, detail))
}

fn unavailable(code: ErrorCode, detail: &str) -> CreatePortalResponse {
    CreatePortalResponse::ServiceUnavailable(problem_of(code, detail))
}

fn storage_unavailable() -> CreatePortalResponse {
    unavailable(
        ErrorCode::StorageUnavailable,
        "the billing database did not answer; try again later",
    )
}
