//! Event envelopes (`object: "event"`, clover) built from object snapshots and recorded in the store.

use serde_json::{Value, json};

use crate::ids::new_id;
use crate::state::{EventRecord, Store};

/// Records an event of type `kind` about `object` and returns its id.
///
/// `previous` becomes `data.previous_attributes` (for `*.updated` events).
pub fn emit(store: &mut Store, kind: &str, object: Value, previous: Option<Value>) -> String {
    let id = new_id("evt_test_", 24);
    let created = store.next_event_created();
    let mut data = json!({ "object": object });
    if let Some(previous) = previous {
        data["previous_attributes"] = previous;
    }
    let event = json!({
        "id": id,
        "object": "event",
        "api_version": store.api_version,
        "created": created,
        "data": data,
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": kind,
    });
    let body = serde_json::to_string_pretty(&event).unwrap_or_else(|_| event.to_string());
    store.events.push(EventRecord {
        id: id.clone(),
        kind: kind.to_owned(),
        created,
        body,
        deliveries: Vec::new(),
    });
    id
}

/// The JSON summary of a recorded event and its deliveries (for control answers).
pub fn summary(record: &EventRecord) -> Value {
    let deliveries: Vec<Value> = record
        .deliveries
        .iter()
        .map(|d| json!({ "at": d.at, "status": d.status, "error": d.error }))
        .collect();
    json!({
        "id": record.id,
        "type": record.kind,
        "created": record.created,
        "deliveries": deliveries,
    })
}
