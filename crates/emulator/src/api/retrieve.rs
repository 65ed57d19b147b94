//! `GET` of the subscriptions, customers and invoices the emulator created, and the invoice list.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use serde_json::json;

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

/// The invoice list's statuses, as Stripe names them.
const INVOICE_STATUSES: [&str; 5] = ["draft", "open", "paid", "uncollectible", "void"];

/// `GET /v1/invoices?subscription=&status=&limit=`: newest first, `limit` 1 to 100 (default 10);
/// no pagination cursor (`has_more` says whether more matched).
pub async fn invoices(
    State(shared): State<Arc<Shared>>,
    Extension(params): Extension<Params>,
) -> Answer {
    let allowed = ["subscription", "status", "limit"];
    if let Some(key) = params
        .keys()
        .find(|k| !k.starts_with("expand[") && !allowed.contains(k))
    {
        return Err(ApiError::unknown(key));
    }
    let status = params.get("status");
    if let Some(status) = status.filter(|s| !INVOICE_STATUSES.contains(s)) {
        let message = format!(
            "Invalid status: must be one of {}",
            INVOICE_STATUSES.join(", ")
        );
        return Err(ApiError::bad(
            "status",
            None,
            format!("{message} (got {status})"),
        ));
    }
    let limit = match params.get("limit") {
        None => 10,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::bad("limit", None, "Invalid integer: limit"))?,
    };
    let subscription = params.get("subscription");
    let store = shared.lock();
    let mut found: Vec<_> = store
        .invoices
        .values()
        .filter(|i| subscription.is_none_or(|s| i.subscription == s))
        .filter(|i| status.is_none_or(|s| i.status == s))
        .collect();
    // Newest first; invoices of the same second in the order they were made (their numbers
    // are sequential), as Stripe lists them.
    found.sort_by(|a, b| (b.created, &b.number).cmp(&(a.created, &a.number)));
    let has_more = found.len() > limit;
    let data: Vec<_> = found
        .into_iter()
        .take(limit)
        .map(objects::invoice)
        .collect();
    Ok(Json(json!({
        "object": "list",
        "url": "/v1/invoices",
        "has_more": has_more,
        "data": data,
    })))
}
