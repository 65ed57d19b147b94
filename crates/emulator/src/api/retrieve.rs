//! `GET` of the subscriptions, customers and invoices the emulator created.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;

use super::{Answer, only_expand};
use crate::errors::ApiError;
use crate::form::Params;
use crate::objects;
use crate::state::Shared;

fn missing(what: &str, id: &str) -> ApiError {
    ApiError::no_such(StatusCode::NOT_FOUND, what, id, "id")
}

/// `GET /v1/subscriptions/{id}`.
pub async fn subscription(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Extension(params): Extension<Params>,
) -> Answer {
    only_expand(&params)?;
    let store = shared.lock();
    let sub = store
        .subscriptions
        .get(&id)
        .ok_or_else(|| missing("subscription", &id))?;
    Ok(Json(objects::subscription(sub)))
}

/// `GET /v1/customers/{id}`.
pub async fn customer(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Extension(params): Extension<Params>,
) -> Answer {
    only_expand(&params)?;
    let store = shared.lock();
    let customer = store
        .customers
        .get(&id)
        .ok_or_else(|| missing("customer", &id))?;
    Ok(Json(objects::customer(customer)))
}

/// `GET /v1/invoices/{id}`.
pub async fn invoice(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Extension(params): Extension<Params>,
) -> Answer {
    only_expand(&params)?;
    let store = shared.lock();
    let invoice = store
        .invoices
        .get(&id)
        .ok_or_else(|| missing("invoice", &id))?;
    Ok(Json(objects::invoice(invoice)))
}
