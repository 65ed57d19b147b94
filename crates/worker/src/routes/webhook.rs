//! `POST /api/billing/webhook`: verify the Stripe signature, parse the event, record it in one D1 batch.

use crate::ctx::Ctx;
use crate::problems::ApiError;
use crate::store;
use nyra_api::models::{Problem, WebhookAck};
use nyra_api::server::{StripeWebhookRequest, StripeWebhookResponse};
use nyra_domain::webhook::event::{self, Event, EventError, Facts};
use nyra_domain::webhook::{state, verify};
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
    let event = event::parse(&request.body).map_err(|EventError::Malformed(detail)| {
        let error = ApiError::EventMalformed(detail);
        console_log!("webhook: rejected {}", error.code());
        error
    })?;
    record(ctx, &event, now).await
}

/// Runs the claim and the state change in one batch; a failed batch is a duplicate or a 503.
async fn record(ctx: &Ctx, event: &Event, now: i64) -> Result<WebhookAck, ApiError> {
    let log = |outcome: &str| console_log!("webhook: {} {} {outcome}", event.id, event.event_type);
    let Ok(db) = ctx.db() else {
        log("d1 binding missing");
        return Err(ApiError::EventNotRecorded);
    };
    let handled = event.facts != Facts::Unhandled;
    let statements = state::plan(event, &nyra_domain::time::iso(now));
    if store::events::apply(&db, &statements).await.is_ok() {
        log("recorded");
        return Ok(ack(false, handled));
    }
    match store::events::is_processed(&db, &event.id).await {
        Ok(true) => {
            log("duplicate");
            Ok(ack(true, handled))
        }
        Ok(false) | Err(_) => {
            log("storage_unavailable");
            Err(ApiError::EventNotRecorded)
        }
    }
}

fn ack(duplicate: bool, handled: bool) -> WebhookAck {
    WebhookAck {
        received: true,
        duplicate,
        handled,
    }
}
