//! Webhook event writes: the processed_events claim and the billing state change, in one D1 batch.

use std::collections::HashSet;

use nyra_domain::webhook::batch::{self, Delivery};
use nyra_domain::webhook::state::{DUPLICATE_CLAIM_ERROR, SqlValue, Statement};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

/// Runs every statement in one atomic D1 batch (all commit or none do).
pub async fn apply(db: &D1Database, statements: &[Statement]) -> worker::Result<()> {
    let prepared = statements
        .iter()
        .map(|s| prepare(db, s))
        .collect::<worker::Result<Vec<_>>>()?;
    db.batch(prepared).await?;
    Ok(())
}

/// Whether a batch that failed with `error` means `event_id` is already recorded: the claim's
/// own primary-key error says so at once; any other error (an outage, a timeout) is checked
/// with one lookup (false if that fails too).
pub async fn already_recorded(db: &D1Database, event_id: &str, error: &worker::Error) -> bool {
    is_duplicate_claim(error) || is_processed(db, event_id).await.unwrap_or(false)
}

/// Whether a failed batch failed on its claim's primary key: the event is already recorded.
fn is_duplicate_claim(error: &worker::Error) -> bool {
    match error {
        worker::Error::D1(e) => {
            let inner: &worker::js_sys::Error = e.as_ref();
            let message = String::from(inner.message());
            e.cause().contains(DUPLICATE_CLAIM_ERROR) || message.contains(DUPLICATE_CLAIM_ERROR)
        }
        other => other.to_string().contains(DUPLICATE_CLAIM_ERROR),
    }
}

/// Whether an event id has been recorded in processed_events.
pub async fn is_processed(db: &D1Database, event_id: &str) -> worker::Result<bool> {
    let row = db
        .prepare("SELECT 1 AS seen FROM processed_events WHERE event_id = ?1")
        .bind(&[JsValue::from_str(event_id)])?
        .first::<serde::de::IgnoredAny>(None)
        .await?;
    Ok(row.is_some())
}

fn prepare(db: &D1Database, statement: &Statement) -> worker::Result<D1PreparedStatement> {
    let params: Vec<JsValue> = statement.params.iter().map(js_value).collect();
    db.prepare(statement.sql).bind(&params)
}

/// Binds a value: integers as JS numbers (the values stored are unix seconds and 0/1 flags).
fn js_value(value: &SqlValue) -> JsValue {
    match value {
        SqlValue::Null => JsValue::NULL,
        SqlValue::Integer(n) => JsValue::from_f64(*n as f64),
        SqlValue::Text(s) => JsValue::from_str(s),
    }
}

/// Which of the deliveries' event ids are already in processed_events (one query).
pub async fn processed_among(
    db: &D1Database,
    deliveries: &[Delivery],
) -> worker::Result<HashSet<String>> {
    #[derive(serde::Deserialize)]
    struct Seen {
        event_id: String,
    }
    let rows = prepare(db, &batch::processed_among(deliveries))?
        .all()
        .await?
        .results::<Seen>()?;
    Ok(rows.into_iter().map(|r| r.event_id).collect())
}
