//! `POST /api/billing/webhook`: verify the Stripe signature, parse the event, record it in one D1 batch.

use crate::app::App;
use crate::{clock, config, store};
use nyra_api::models::{ErrorCode, WebhookAck};
use nyra_api::rt::problem_of;
use nyra_api::server::{StripeWebhookRequest, StripeWebhookResponse};
use nyra_domain::webhook::event::{self, Event, Facts};
use nyra_domain::webhook::state;
use nyra_domain::webhook::verify::{self, VerifyError};
use worker::console_log;

/// Longest problem detail echoed for a malformed event (serde may quote body fragments).
const MAX_DETAIL_CHARS: usize = 200;

/// Verifies before parsing, then records the event; a D1 failure answers 503 so Stripe retries.
pub async fn handle(app: &App, request: StripeWebhookRequest) -> StripeWebhookResponse {
    let Some(secrets) = config::secret(&app.env, "STRIPE_WEBHOOK_SECRET") else {
        console_log!("webhook: config_missing");
        return unavailable(
            ErrorCode::ConfigMissing,
            "the webhook secret is not configured",
        );
    };
    let now = clock::now();
    let signature = request.stripe_signature.as_deref();
    if let Err(error) = verify::verify(signature, &request.body, &secrets, now) {
        console_log!("webhook: rejected {}", error.code());
        return StripeWebhookResponse::BadRequest(problem_of(code_of(error), error.to_string()));
    }
    match event::parse(&request.body) {
        Ok(event) => record(app, &event, now).await,
        Err(error) => {
            console_log!("webhook: rejected {}", error.code());
            let detail = truncate(error.detail(), MAX_DETAIL_CHARS);
            StripeWebhookResponse::BadRequest(problem_of(ErrorCode::EventMalformed, detail))
        }
    }
}

/// Runs the claim and the state change in one batch; a failed batch is a duplicate or a 503.
async fn record(app: &App, event: &Event, now: i64) -> StripeWebhookResponse {
    let Ok(db) = app.env.d1("DB") else {
        console_log!(
            "webhook: {} {} d1 binding missing",
            event.id,
            event.event_type
        );
        return storage_unavailable();
    };
    let handled = event.facts != Facts::Unhandled;
    let statements = state::plan(event, &nyra_domain::time::iso(now));
    if store::events::apply(&db, &statements).await.is_ok() {
        console_log!("webhook: {} {} recorded", event.id, event.event_type);
        return ack(false, handled);
    }
    match store::events::is_processed(&db, &event.id).await {
        Ok(true) => {
            console_log!("webhook: {} {} duplicate", event.id, event.event_type);
            ack(true, handled)
        }
        Ok(false) | Err(_) => {
            console_log!(
                "webhook: {} {} storage_unavailable",
                event.id,
                event.event_type
            );
            storage_unavailable()
        }
    }
}

fn ack(duplicate: bool, handled: bool) -> StripeWebhookResponse {
    StripeWebhookResponse::Ok(WebhookAck {
        received: true,
        duplicate,
        handled,
    })
}

fn storage_unavailable() -> StripeWebhookResponse {
    unavailable(
        ErrorCode::StorageUnavailable,
        "the billing database did not record the event; try again later",
    )
}

fn unavailable(code: ErrorCode, detail: &str) -> StripeWebhookResponse {
    StripeWebhookResponse::ServiceUnavailable(problem_of(code, detail))
}

fn code_of(error: VerifyError) -> ErrorCode {
    match error {
        VerifyError::Missing => ErrorCode::SignatureMissing,
        VerifyError::Malformed => ErrorCode::SignatureMalformed,
        VerifyError::Mismatch => ErrorCode::SignatureMismatch,
        VerifyError::TimestampOutOfTolerance => ErrorCode::TimestampOutOfTolerance,
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}
