//! `POST /v1/billing_portal/sessions`: a Customer Portal session for an existing customer.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;

use super::{Answer, reported_name};
use crate::errors::ApiError;
use crate::form::Params;
use crate::ids::new_id;
use crate::objects;
use crate::state::{PortalSession, Shared};

/// Creates a portal session; `customer` must exist and `return_url` is required.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    Extension(params): Extension<Params>,
) -> Answer {
    for key in params.keys() {
        if !matches!(key, "customer" | "return_url") && !key.starts_with("expand[") {
            let top = ["customer", "return_url", "expand"];
            return Err(ApiError::unknown(&reported_name(key, &top)));
        }
    }
    let customer = field(&params, "customer")?;
    let return_url = field(&params, "return_url")?;
    if !return_url.starts_with("https://") && !return_url.starts_with("http://") {
        return Err(ApiError::bad(
            "return_url",
            Some("url_invalid"),
            "Not a valid URL",
        ));
    }
    let base = shared.public_base();
    let mut store = shared.lock();
    if !store.customers.contains_key(customer) {
        let status = StatusCode::BAD_REQUEST;
        return Err(ApiError::no_such(status, "customer", customer, "customer"));
    }
    let session = PortalSession {
        id: new_id("bps_", 24),
        customer: customer.to_owned(),
        return_url: return_url.to_owned(),
        created: store.now(),
    };
    let body = objects::portal_session(&session, &base);
    store.portal_sessions.insert(session.id.clone(), session);
    Ok(Json(body))
}

fn field<'a>(params: &'a Params, name: &str) -> Result<&'a str, ApiError> {
    match params.get(name) {
        None => Err(ApiError::missing(name)),
        Some("") => Err(ApiError::empty(name)),
        Some(value) => Ok(value),
    }
}
