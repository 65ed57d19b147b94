//! Webhook queue mode (`WEBHOOK_MODE=queue`): the producer the webhook route uses and the consumer that applies batches.
//!
//! The route enqueues the exact verified body (bytes, so the consumer stays the one place that
//! parses and plans, with the configuration of the moment it applies). The consumer plans every
//! message with [`batch::delivery`], drops events already in `processed_events` and repeats
//! within the batch ([`batch::plan_batch`]) and runs the rest as ONE D1 batch. If that batch
//! fails, each message is applied on its own (its own batch, as the direct route does): what
//! succeeds or turns out to be recorded already is acknowledged, the rest is retried.
//!
//! Two lanes share this code: the main queue (`max_retries`, then the dead-letter queue) and
//! the dead-letter queue itself (its name ends in `-dlq`), a slower lane that keeps applying
//! the same bodies once D1 is back and logs every attempt at error level for alerting. A
//! retried message is logged at error level on either lane; the main lane does not log a
//! routine "recorded" (as the direct route, see [`crate::routes::webhook`]).

use crate::ctx::{Ctx, is_live_key};
use crate::store;
use nyra_domain::time::iso;
use nyra_domain::webhook::batch::{self, Delivery, Fate};
use nyra_domain::webhook::state::Expect;
use wasm_bindgen::{JsCast, JsValue};
use worker::js_sys::Uint8Array;
use worker::{
    D1Database, Env, MessageBatch, MessageExt, QueueContentType, RawMessage, RawMessageBuilder,
    console_error, console_log,
};

/// The producer binding the webhook route sends to.
pub const PRODUCER_BINDING: &str = "WEBHOOK_QUEUE";

/// Bodies above this stay on the direct path (a queue message holds at most 128 KB).
pub const MAX_MESSAGE_BYTES: usize = 120 * 1024;

/// Whether `WEBHOOK_MODE` selects the queue (anything else, unset included, is `direct`).
pub fn enabled(ctx: &Ctx) -> bool {
    ctx.var("WEBHOOK_MODE").as_deref().map(str::trim) == Some("queue")
}

/// Enqueues a verified body; the error says why it must be applied directly instead.
pub async fn enqueue(ctx: &Ctx, body: &[u8]) -> Result<(), &'static str> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err("body larger than a queue message");
    }
    let queue = ctx.queue(PRODUCER_BINDING).ok_or("queue binding missing")?;
    let message = RawMessageBuilder::new(Uint8Array::from(body).into())
        .build_with_content_type(QueueContentType::V8);
    queue
        .send_raw(message)
        .await
        .map_err(|_| "queue send failed")
}

const RECORDED: &str = "recorded";
const NOT_USED: &str = "recorded, not used";
const RETRIED: &str = "storage_unavailable, retried";

/// Which queue a batch came from.
#[derive(Clone, Copy)]
enum Lane {
    Main,
    DeadLetter,
}

impl Lane {
    fn of(queue: &str) -> Lane {
        if queue.ends_with("-dlq") {
            Lane::DeadLetter
        } else {
            Lane::Main
        }
    }

    fn log(self, delivery: &Delivery, outcome: &str) {
        let (id, kind) = (&delivery.event_id, &delivery.event_type);
        let why = match (outcome, delivery.plan.ignored) {
            (NOT_USED, Some(reason)) => format!(": {reason}"),
            _ => String::new(),
        };
        match self {
            Lane::Main if outcome == RECORDED => {}
            Lane::Main if outcome != RETRIED => {
                console_log!("webhook queue: {id} {kind} {outcome}{why}");
            }
            Lane::Main => console_error!("webhook queue: {id} {kind} {outcome}"),
            Lane::DeadLetter => console_error!("webhook dlq: {id} {kind} {outcome}{why}"),
        }
    }
}

/// Applies one batch of queued webhook bodies; never fails (every message is acked or retried).
pub async fn consume(batch: MessageBatch<JsValue>, env: Env) {
    let lane = Lane::of(&batch.queue());
    let ctx = Ctx::new(env, None);
    let Some((db, price, livemode)) = setup(&ctx) else {
        batch.retry_all();
        return;
    };
    let previous = ctx.previous_prices();
    let expect = Expect {
        price_id: &price,
        previous_prices: &previous,
        livemode,
    };
    let now_iso = iso(ctx.now());
    let mut messages = Vec::new();
    let mut deliveries = Vec::new();
    for message in batch.raw_iter() {
        match body_bytes(&message.body()) {
            Some(body) => {
                let delivery = batch::delivery(&body, &expect, &now_iso);
                if let Some(detail) = &delivery.malformed {
                    let detail: String = detail.chars().take(200).collect();
                    console_log!("webhook queue: {} malformed: {detail}", delivery.event_id);
                }
                deliveries.push(delivery);
                messages.push(message);
            }
            None => {
                console_error!(
                    "webhook queue: message {} is not a body, dropped",
                    message.id()
                );
                message.ack();
            }
        }
    }
    apply(lane, &db, &messages, &deliveries).await;
    ctx.forget_customers();
}

/// The D1 binding and what an event must match, or `None` (logged) when not configured.
fn setup(ctx: &Ctx) -> Option<(D1Database, String, bool)> {
    let keys = ctx.secrets(["STRIPE_SECRET_KEY", "NYRA_STRIPE_PRICE_PRO_MONTHLY"]);
    let Ok([key, price]) = keys else {
        console_error!("webhook queue: config_missing, batch retried");
        return None;
    };
    let Ok(db) = ctx.db() else {
        console_error!("webhook queue: d1 binding missing, batch retried");
        return None;
    };
    let livemode = is_live_key(&key);
    Some((db, price, livemode))
}

/// A message body as bytes: the route sends a `Uint8Array`; text is accepted too.
fn body_bytes(body: &JsValue) -> Option<Vec<u8>> {
    if let Some(bytes) = body.dyn_ref::<Uint8Array>() {
        return Some(bytes.to_vec());
    }
    body.as_string().map(String::into_bytes)
}

/// One D1 batch for the whole queue batch; on failure, each message on its own.
async fn apply(lane: Lane, db: &D1Database, messages: &[RawMessage], deliveries: &[Delivery]) {
    let Ok(processed) = store::events::processed_among(db, deliveries).await else {
        console_error!("webhook queue: storage_unavailable, batch retried");
        messages.iter().for_each(MessageExt::retry);
        return;
    };
    let plan = batch::plan_batch(deliveries, &processed);
    if plan.statements.is_empty() || store::events::apply(db, &plan.statements).await.is_ok() {
        for ((message, delivery), fate) in messages.iter().zip(deliveries).zip(&plan.fates) {
            lane.log(delivery, outcome(delivery, *fate));
            message.ack();
        }
        return;
    }
    for ((message, delivery), fate) in messages.iter().zip(deliveries).zip(&plan.fates) {
        let applied = match fate {
            Fate::Apply => apply_one(db, delivery).await,
            _ => Ok(outcome(delivery, *fate)),
        };
        match applied {
            Ok(done) => {
                lane.log(delivery, done);
                message.ack();
            }
            Err(failed) => {
                lane.log(delivery, failed);
                message.retry();
            }
        }
    }
}

/// Applies one delivery's plan as its own batch, as the direct route does.
async fn apply_one(db: &D1Database, delivery: &Delivery) -> Result<&'static str, &'static str> {
    match store::events::apply(db, &delivery.plan.statements).await {
        Ok(()) => Ok(outcome(delivery, Fate::Apply)),
        Err(error) if store::events::already_recorded(db, &delivery.event_id, &error).await => {
            Ok("duplicate")
        }
        Err(_) => Err(RETRIED),
    }
}

/// The log word for a delivery acknowledged with `fate`.
fn outcome(delivery: &Delivery, fate: Fate) -> &'static str {
    match (fate, delivery.plan.ignored) {
        (Fate::Apply, None) => RECORDED,
        (Fate::Apply, Some(_)) => NOT_USED,
        (Fate::AlreadyProcessed | Fate::RepeatInBatch, _) => "duplicate",
    }
}
