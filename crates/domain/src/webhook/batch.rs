//! Queue mode: turns a batch of verified event bodies into ONE D1 batch of claims and guarded upserts.
//!
//! Each body is planned exactly as the direct route plans it ([`delivery`]: [`event::parse`] then
//! [`state::plan`], or a claim only for a body that is no usable event). A duplicate's claim
//! would fail the whole D1 batch, so [`plan_batch`] first drops the events already in
//! `processed_events` (read with [`processed_among`], one `SELECT ... IN`) and every repeat of an
//! event earlier in the same batch; the rest run together. Nothing is reordered or merged: every
//! upsert is guarded by its event's sort key ([`state`]), so a batch ends in the same rows as
//! the same events delivered one by one in any order. If the batch still fails (a claim raced
//! by another delivery, or a D1 error), the consumer applies each [`Delivery::plan`] on its own,
//! as the direct route does.

use std::collections::HashSet;

use super::event::{self, EventError};
use super::state::{self, Expect, Plan, SqlValue, Statement};

/// Reads which of a list of event ids (`?1`, a JSON array of strings) are already recorded.
pub const PROCESSED_AMONG_SQL: &str = "SELECT event_id FROM processed_events \
WHERE event_id IN (SELECT value FROM json_each(?1))";

/// One verified body, planned: its id, its type and the statements that record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The event id (a digest-based id for a body without one, see [`event::identify`]).
    pub event_id: String,
    /// The event type as Stripe named it (`unparsed` when the body has none).
    pub event_type: String,
    /// The claim and, for a usable event, the guarded upsert; run as one batch.
    pub plan: Plan,
    /// Why the body is no usable event ([`event::parse`]'s detail), if it is not.
    pub malformed: Option<String>,
}

/// What happens to each delivery of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Its statements are part of the batch.
    Apply,
    /// Its event id is already in `processed_events`: acknowledged, nothing written.
    AlreadyProcessed,
    /// An earlier delivery of the same batch carries the same event id.
    RepeatInBatch,
}

/// The D1 batch for a queue batch: the fate of each delivery (same order) and the statements of
/// those to apply, concatenated in delivery order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPlan {
    /// One fate per delivery, index for index.
    pub fates: Vec<Fate>,
    /// Run in ONE batch: all commit or none do.
    pub statements: Vec<Statement>,
}

/// Plans one verified body exactly as the direct route does.
pub fn delivery(body: &[u8], expect: &Expect, now_iso: &str) -> Delivery {
    match event::parse(body) {
        Ok(event) => from_event(&event, expect, now_iso),
        Err(EventError::Malformed(detail)) => unusable(body, detail, now_iso),
    }
}

/// Plans a parsed event (the claim, then the guarded upsert when it is usable).
pub fn from_event(event: &event::Event, expect: &Expect, now_iso: &str) -> Delivery {
    Delivery {
        event_id: event.id.clone(),
        event_type: event.event_type.as_str().to_owned(),
        plan: state::plan(event, expect, now_iso),
        malformed: None,
    }
}

/// A verified body that is no usable event: claimed under its own id (or a digest of the body)
/// so a redelivery is a duplicate; it grants nothing.
fn unusable(body: &[u8], detail: String, now_iso: &str) -> Delivery {
    let (event_id, event_type) = event::identify(body);
    let plan = Plan {
        statements: vec![state::claim(&event_id, &event_type, now_iso)],
        ignored: Some("event body is not a usable event"),
    };
    Delivery {
        event_id,
        event_type,
        plan,
        malformed: Some(detail),
    }
}

/// The query for which of `deliveries`' event ids are already recorded ([`PROCESSED_AMONG_SQL`]).
pub fn processed_among(deliveries: &[Delivery]) -> Statement {
    let ids: Vec<&str> = deliveries.iter().map(|d| d.event_id.as_str()).collect();
    let json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_owned());
    Statement {
        sql: PROCESSED_AMONG_SQL,
        params: vec![SqlValue::Text(json)],
    }
}

/// Drops what is already processed and repeats within the batch; batches the rest.
pub fn plan_batch(deliveries: &[Delivery], processed: &HashSet<String>) -> BatchPlan {
    let mut seen: HashSet<&str> = HashSet::with_capacity(deliveries.len());
    let mut statements = Vec::new();
    let fates = deliveries
        .iter()
        .map(|d| {
            if processed.contains(&d.event_id) {
                Fate::AlreadyProcessed
            } else if !seen.insert(d.event_id.as_str()) {
                Fate::RepeatInBatch
            } else {
                statements.extend(d.plan.statements.iter().cloned());
                Fate::Apply
            }
        })
        .collect();
    BatchPlan { fates, statements }
}
