//! The `/_emulator` control routes: pay (by card or async), settle an async payment, renew, fail,
//! cancel, time travel, redeliver, faults, logs.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::deliver::deliver_all;
use crate::events::summary;
use crate::lifecycle::{self, ControlError, Outcome};
use crate::payment::{self, Method};
use crate::state::{Fault, FaultMode, Shared, Store};

/// The `/_emulator` router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_emulator/checkout/sessions/{id}/pay", post(pay))
        .route(
            "/_emulator/checkout/sessions/{id}/async",
            post(settle_async),
        )
        .route(
            "/_emulator/subscriptions/{id}/{action}",
            post(subscription_action),
        )
        .route("/_emulator/clock", get(clock))
        .route("/_emulator/clock/advance", post(advance))
        .route("/_emulator/events", get(events))
        .route("/_emulator/events/{id}/redeliver", post(redeliver))
        .route("/_emulator/requests", get(requests))
        .route("/_emulator/faults", post(faults))
        .with_state(shared)
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::NotFound(_) => StatusCode::NOT_FOUND,
            ControlError::Conflict(_) => StatusCode::CONFLICT,
            ControlError::BadRequest(_) => StatusCode::BAD_REQUEST,
        };
        let body = json!({ "error": { "message": self.to_string() } });
        (status, Json(body)).into_response()
    }
}

/// Runs an action on the store, delivers what it emitted in order, and describes the result:
/// `{now, <object ids>, events: [{id, type, created, deliveries}]}`.
pub async fn perform(
    shared: &Shared,
    action: impl FnOnce(&mut Store) -> Result<Outcome, ControlError>,
) -> Result<Value, ControlError> {
    let outcome = action(&mut shared.lock())?;
    deliver_all(shared, &outcome.events).await;
    let store = shared.lock();
    let events: Vec<Value> = outcome
        .events
        .iter()
        .filter_map(|id| store.events.iter().find(|e| &e.id == id))
        .map(summary)
        .collect();
    let mut answer = outcome.objects;
    answer.insert("now".into(), json!(store.now()));
    answer.insert("events".into(), json!(events));
    Ok(Value::Object(answer))
}

type ControlAnswer = Result<Json<Value>, ControlError>;

/// `{"async": true}` pays by a processing bank debit; no body (or `{}`) pays by card.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pay {
    #[serde(default, rename = "async")]
    asynchronous: bool,
}

async fn pay(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ControlAnswer {
    let Pay { asynchronous } = parse_or_default(&body)?;
    let method = if asynchronous {
        Method::Async
    } else {
        Method::Card
    };
    perform(&shared, |store| payment::pay(store, &id, method))
        .await
        .map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AsyncOutcome {
    outcome: String,
}

async fn settle_async(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ControlAnswer {
    let AsyncOutcome { outcome } = parse(&body)?;
    let succeeded = match outcome.as_str() {
        "succeeded" => true,
        "failed" => false,
        other => {
            let msg = format!("unknown outcome '{other}': use succeeded or failed");
            return Err(ControlError::BadRequest(msg));
        }
    };
    perform(&shared, |store| {
        payment::settle_async(store, &id, succeeded)
    })
    .await
    .map(Json)
}

/// `{"invoice_now": true}` adds Stripe's final invoice ($0 here) after the deletion.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cancel {
    #[serde(default)]
    invoice_now: bool,
}

async fn subscription_action(
    State(shared): State<Arc<Shared>>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> ControlAnswer {
    let answer = match action.as_str() {
        "renew" => perform(&shared, |s| lifecycle::renew(s, &id)).await,
        "fail_payment" => perform(&shared, |s| lifecycle::fail_payment(s, &id)).await,
        "cancel_at_period_end" => {
            perform(&shared, |s| lifecycle::cancel_at_period_end(s, &id)).await
        }
        "cancel" => {
            let Cancel { invoice_now } = parse_or_default(&body)?;
            perform(&shared, |s| lifecycle::cancel_now(s, &id, invoice_now)).await
        }
        _ => Err(ControlError::NotFound(format!(
            "unknown action '{action}': use renew, fail_payment, cancel_at_period_end or cancel"
        ))),
    };
    answer.map(Json)
}

async fn clock(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "now": shared.lock().now() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: i64,
}

async fn advance(State(shared): State<Arc<Shared>>, body: Bytes) -> ControlAnswer {
    let Advance { seconds } = parse(&body)?;
    perform(&shared, |s| lifecycle::advance_clock(s, seconds))
        .await
        .map(Json)
}

async fn events(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let store = shared.lock();
    let events: Vec<Value> = store
        .events
        .iter()
        .map(|record| {
            let mut item = summary(record);
            item["event"] = serde_json::from_str(&record.body).unwrap_or(Value::Null);
            item
        })
        .collect();
    Json(json!({ "events": events }))
}

async fn redeliver(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> ControlAnswer {
    if !shared.lock().events.iter().any(|e| e.id == id) {
        return Err(ControlError::NotFound(format!("no such event: '{id}'")));
    }
    if shared.config.webhook_url.is_none() {
        return Err(ControlError::Conflict(
            "no webhook URL is configured".into(),
        ));
    }
    let ids = [id];
    deliver_all(&shared, &ids).await;
    let store = shared.lock();
    let record = store.events.iter().find(|e| e.id == ids[0]);
    Ok(Json(
        json!({ "events": record.map(summary).into_iter().collect::<Vec<_>>() }),
    ))
}

async fn requests(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "requests": shared.lock().requests }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    mode: String,
    count: Option<u32>,
}

async fn faults(State(shared): State<Arc<Shared>>, body: Bytes) -> ControlAnswer {
    let FaultRequest { mode, count } = parse(&body)?;
    let mode = match mode.as_str() {
        "none" => FaultMode::None,
        "error500" => FaultMode::Error500,
        "timeout" => FaultMode::Timeout,
        other => {
            let msg = format!("unknown fault mode '{other}': use none, error500 or timeout");
            return Err(ControlError::BadRequest(msg));
        }
    };
    shared.lock().fault = Fault {
        mode,
        remaining: count,
    };
    Ok(Json(
        json!({ "mode": format!("{mode:?}").to_lowercase(), "count": count }),
    ))
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ControlError> {
    serde_json::from_slice(body)
        .map_err(|e| ControlError::BadRequest(format!("bad JSON body: {e}")))
}

/// Like [`parse`], but an empty body means the defaults.
fn parse_or_default<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, ControlError> {
    if body.trim_ascii().is_empty() {
        return Ok(T::default());
    }
    parse(body)
}
