//! The `/v1` Stripe API surface and the gate every request passes: faults, key, version,
//! content type, idempotency, `Request-Id` and the request log.

mod checkout;
mod portal;
mod retrieve;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::clock::real_now;
use crate::errors::ApiError;
use crate::form::Params;
use crate::ids::new_id;
use crate::state::{FaultMode, Replay, Shared};

/// Largest request body accepted (Stripe's bodies are tiny).
const MAX_BODY: usize = 1 << 20;
/// How long a `timeout` fault hangs before answering.
const FAULT_HANG: std::time::Duration = std::time::Duration::from_secs(30);

/// The `/v1` router.
pub fn router(shared: Arc<Shared>) -> Router {
    let v1 = Router::new()
        .route("/checkout/sessions", post(checkout::create))
        .route("/checkout/sessions/{id}", get(checkout::retrieve))
        .route("/billing_portal/sessions", post(portal::create))
        .route("/subscriptions/{id}", get(retrieve::subscription))
        .route("/customers/{id}", get(retrieve::customer))
        .route("/invoices", get(retrieve::invoices))
        .route("/invoices/{id}", get(retrieve::invoice))
        .fallback(unrecognized)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared);
    Router::new().nest("/v1", v1)
}

async fn unrecognized(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::unrecognized(method.as_str(), uri.path())
}

/// Runs every check Stripe makes before a handler, logs the request and stamps `Request-Id`.
async fn gate(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let request_id = new_id("req_", 14);
    let (parts, body) = req.into_parts();
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned());
    let (bytes, too_large) = match to_bytes(body, MAX_BODY).await {
        Ok(bytes) => (bytes, false),
        Err(_) => (Bytes::new(), true),
    };
    let params = match parts.method {
        Method::GET | Method::DELETE => Params::parse(parts.uri.query().unwrap_or("").as_bytes()),
        _ => Params::parse(&bytes),
    };
    let mut entry = json!({
        "at": real_now(),
        "method": parts.method.as_str(),
        "path": path,
        "params": params.to_json(),
        "stripe_version": header(&parts.headers, "stripe-version"),
        "idempotency_key": header(&parts.headers, "idempotency-key"),
        "content_type": header(&parts.headers, "content-type"),
        "request_id": request_id,
    });
    let fingerprint = format!(
        "{} {} {}",
        parts.method,
        path,
        hex::encode(Sha256::digest(&bytes))
    );
    let checked = match too_large {
        true => Err(ApiError::too_large()),
        false => checks(&shared, &parts.headers, bytes.len()).await,
    };
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(params);
    let mut resp = match checked {
        Err(err) => err.into_response(),
        Ok(()) => idempotent(&shared, req, next, &fingerprint, &request_id).await,
    };
    if !resp.headers().contains_key("request-id")
        && let Ok(value) = HeaderValue::from_str(&request_id)
    {
        resp.headers_mut().insert("request-id", value);
    }
    entry["status"] = json!(resp.status().as_u16());
    shared.lock().requests.push(entry);
    resp
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Fault injection, then the secret key, the API version and the content type.
async fn checks(shared: &Shared, headers: &HeaderMap, body_len: usize) -> Result<(), ApiError> {
    let fault = shared.lock().take_fault();
    match fault {
        FaultMode::None => {}
        FaultMode::Error500 => return Err(ApiError::internal()),
        FaultMode::Timeout => {
            tokio::time::sleep(FAULT_HANG).await;
            return Err(ApiError::internal());
        }
    }
    let auth = header(headers, "authorization");
    let key = auth
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim);
    match key {
        Some(k) if k == shared.config.secret_key => {}
        Some(k) => return Err(ApiError::unauthorized(Some(k))),
        None => return Err(ApiError::unauthorized(None)),
    }
    let version = header(headers, "stripe-version");
    if version.as_deref() != Some(shared.config.api_version.as_str()) {
        let got = version.unwrap_or_else(|| "(none)".into());
        return Err(ApiError::request(format!(
            "Invalid Stripe API version: {got}. The Stripe emulator serves only Stripe-Version {}.",
            shared.config.api_version
        )));
    }
    let form = header(headers, "content-type").is_some_and(|ct| {
        ct.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if body_len > 0 && !form {
        return Err(ApiError::request(
            "Invalid request: bodies must be application/x-www-form-urlencoded.",
        ));
    }
    Ok(())
}

/// Replays a stored answer for a reused `Idempotency-Key`, refuses a mismatch, or runs and
/// stores a successful answer.
async fn idempotent(
    shared: &Shared,
    req: Request,
    next: Next,
    fingerprint: &str,
    request_id: &str,
) -> Response {
    let key = header(req.headers(), "idempotency-key").filter(|_| req.method() == Method::POST);
    let Some(key) = key else {
        return next.run(req).await;
    };
    let stored = shared.lock().idempotency.get(&key).cloned();
    if let Some(replay) = stored {
        if replay.fingerprint != fingerprint {
            return ApiError::idempotency(&key).into_response();
        }
        return replayed(replay);
    }
    let resp = next.run(req).await;
    if !resp.status().is_success() {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return ApiError::internal().into_response();
    };
    let replay = Replay {
        fingerprint: fingerprint.to_owned(),
        status: parts.status.as_u16(),
        body: bytes.to_vec(),
        request_id: request_id.to_owned(),
    };
    shared.lock().idempotency.entry(key).or_insert(replay);
    Response::from_parts(parts, Body::from(bytes))
}

fn replayed(replay: Replay) -> Response {
    let status = StatusCode::from_u16(replay.status).unwrap_or(StatusCode::OK);
    let mut resp = (status, Bytes::from(replay.body)).into_response();
    let headers = resp.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    if let Ok(value) = HeaderValue::from_str(&replay.request_id) {
        headers.insert("request-id", value);
    }
    resp
}

/// What every `/v1` handler answers: a Stripe object or a Stripe error.
type Answer = Result<axum::Json<serde_json::Value>, ApiError>;

/// The name Stripe reports for an unknown key: the full key under a known top-level
/// parameter (`line_items[0][bogus]`), else just its top-level name (`bogus`).
fn reported_name(key: &str, top_level: &[&str]) -> String {
    let head = key.split('[').next().unwrap_or(key);
    if top_level.contains(&head) {
        key.to_owned()
    } else {
        head.to_owned()
    }
}

/// Retrievals accept only `expand[]`.
fn only_expand(params: &Params) -> Result<(), ApiError> {
    match params.keys().find(|k| !k.starts_with("expand[")) {
        Some(key) => Err(ApiError::unknown(&reported_name(key, &["expand"]))),
        None => Ok(()),
    }
}
