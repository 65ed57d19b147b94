//! `POST /api/billing/webhook`: verify the Stripe signature, parse the event, record it in one D1 batch.
//!
//! Only a failed signature (400) or configuration and D1 failures (503, so Stripe retries) are
//! errors: every verified event is claimed in `processed_events` and answered 200, with
//! `handled: false` (and the reason in the log line) when it cannot grant anything here — a
//! malformed body, another price, the other Stripe mode, an unpaid or non-subscription checkout.

use crate::ctx::{Ctx, stripe_mode};
use crate::problems::ApiError;
use crate::store;
use nyra_api::models::{Problem, StripeMode, WebhookAck};
use nyra_api::server::{StripeWebhookRequest, StripeWebhookResponse};
use nyra_domain::time::iso;
use nyra_domain::webhook::event::{self, EventError};
use nyra_domain::webhook::state::{self, Expect, Plan};
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
    let [key, price] = ctx.secrets(["STRIPE_SECRET_KEY", "NYRA_STRIPE_PRICE_PRO_MONTHLY"])?;
    let expect = Expect {
        price_id: &price,
        livemode: stripe_mode(Some(&key)) == StripeMode::Live,
    };
    let now_iso = iso(now);
    let (id, event_type, plan) = match event::parse(&request.body) {
        Ok(event) => (
            event.id.clone(),
            event.event_type.to_string(),
            state::plan(&event, &expect, &now_iso),
        ),
        Err(EventError::Malformed(detail)) => unusable(&request.body, &detail, &now_iso),
    };
    let log = |outcome: &str| console_log!("webhook: {id} {event_type} {outcome}");
    let handled = plan.ignored.is_none();
    let db = ctx
        .db()
        .inspect_err(|_| log("d1 binding missing"))
        .map_err(|_| ApiError::EventNotRecorded)?;
    let outcome = match plan.ignored {
        Some(reason) => format!("recorded, not used: {reason}"),
        None => "recorded".to_owned(),
    };
    if store::events::apply(&db, &plan.statements).await.is_ok() {
        log(&outcome);
        return Ok(ack(false, handled));
    }
    match store::events::is_processed(&db, &id).await {
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

/// A verified body that is no usable event: claimed under its own id (or a digest of the
/// body) so Stripe's redelivery is a duplicate, and answered 200 so Stripe stops retrying.
fn unusable(body: &[u8], detail: &str, now_iso: &str) -> (String, String, Plan) {
    let (id, event_type) = event::identify(body);
    let detail: String = detail.chars().take(200).collect();
    console_log!("webhook: {id} {event_type} malformed: {detail}");
    let plan = Plan {
        statements: vec![state::claim(&id, &event_type, now_iso)],
        ignored: Some("event body is not a usable event"),
    };
    (id, event_type, plan)
}

fn ack(duplicate: bool, handled: bool) -> WebhookAck {
    WebhookAck {
        received: true,
        duplicate,
        handled,
    }
}
