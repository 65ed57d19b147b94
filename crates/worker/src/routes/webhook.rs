//! `POST /api/billing/webhook`: verify the Stripe signature, then record the event in one D1 batch or enqueue it.
//!
//! Only a failed signature (401) or configuration and D1 failures (503, so Stripe retries) are
//! errors: every verified event is claimed in `processed_events` and answered 200, with
//! `handled: false` (and the reason in the log line) when it cannot grant anything here — a
//! malformed body, another price, the other Stripe mode, an unpaid or non-subscription checkout.
//! A handled event is logged only when it is a duplicate or fails: a routine "recorded" line cost
//! about as much as the rest of the Worker's own work per event under `wrangler dev`
//! (`processed_events` is the record).
//!
//! With `WEBHOOK_MODE=queue` a verified body is enqueued as is and answered
//! `duplicate: false, handled: true` ("accepted for processing"); the queue consumer
//! ([`crate::queue`]) records it. A body the queue cannot take (too large, no binding, the send
//! failed) is recorded here directly, so queue mode never answers worse than direct mode.

use crate::ctx::{Ctx, is_live_key};
use crate::problems::ApiError;
use crate::{queue, store, timing};
use nyra_api::models::{Problem, WebhookAck};
use nyra_api::server::{StripeWebhookRequest, StripeWebhookResponse};
use nyra_domain::time::iso;
use nyra_domain::webhook::batch;
use nyra_domain::webhook::state::Expect;
use nyra_domain::webhook::verify;
use worker::console_log;

/// Verifies before parsing, then records the event; a D1 failure answers 503 so Stripe retries.
pub async fn handle(ctx: &Ctx, request: StripeWebhookRequest) -> StripeWebhookResponse {
    match answer(ctx, request).await {
        Ok(ack) => StripeWebhookResponse::Ok(ack),
        Err(error) => Problem::from(error).into(),
    }
}

async fn answer(ctx: &Ctx, request: StripeWebhookRequest) -> Result<WebhookAck, ApiError> {
    let Some(secrets) = ctx.secret("STRIPE_WEBHOOK_SECRET") else {
        console_log!("webhook: config_missing");
        return Err(ApiError::WebhookSecretMissing);
    };
    let now = ctx.now();
    let signature = request.stripe_signature.as_deref();
    if let Err(error) = verify::verify(signature, &request.body, &secrets, now) {
        let error = ApiError::from(error);
        console_log!("webhook: rejected {}", error.code());
        return Err(error);
    }
    timing::mark("verify");
    let [key, price] = ctx.secrets(["STRIPE_SECRET_KEY", "NYRA_STRIPE_PRICE_PRO_MONTHLY"])?;
    if queue::enabled(ctx) {
        match queue::enqueue(ctx, &request.body).await {
            Ok(()) => return Ok(ack(false, true)),
            Err(reason) => console_log!("webhook: not queued ({reason}), recorded directly"),
        }
    }
    let previous = ctx.previous_prices();
    let expect = Expect {
        price_id: &price,
        previous_prices: &previous,
        livemode: is_live_key(&key),
    };
    record(ctx, &request.body, &expect, &iso(now)).await
}

/// Plans and records one verified body in one D1 batch (the direct path).
async fn record(
    ctx: &Ctx,
    body: &[u8],
    expect: &Expect<'_>,
    now_iso: &str,
) -> Result<WebhookAck, ApiError> {
    let delivery = batch::delivery(body, expect, now_iso);
    timing::mark("parse_plan");
    let (id, event_type) = (&delivery.event_id, &delivery.event_type);
    if let Some(detail) = &delivery.malformed {
        let detail: String = detail.chars().take(200).collect();
        console_log!("webhook: {id} {event_type} malformed: {detail}");
    }
    let log = |outcome: &str| console_log!("webhook: {id} {event_type} {outcome}");
    let handled = delivery.plan.ignored.is_none();
    let db = ctx
        .db()
        .inspect_err(|_| log("d1 binding missing"))
        .map_err(|_| ApiError::EventNotRecorded)?;
    let applied = store::events::apply(&db, &delivery.plan.statements).await;
    timing::mark("d1");
    let duplicate = match applied {
        Ok(()) => {
            ctx.forget_customers();
            if let Some(reason) = delivery.plan.ignored {
                log(&format!("recorded, not used: {reason}"));
            }
            return Ok(ack(false, handled));
        }
        Err(error) => store::events::already_recorded(&db, id, &error).await,
    };
    if duplicate {
        log("duplicate");
        return Ok(ack(true, handled));
    }
    log("storage_unavailable");
    Err(ApiError::EventNotRecorded)
}

fn ack(duplicate: bool, handled: bool) -> WebhookAck {
    WebhookAck {
        received: true,
        duplicate,
        handled,
    }
}
