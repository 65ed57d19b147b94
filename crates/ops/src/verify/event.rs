//! The duplicate-delivery check: a signed copy of a delivered-looking event, sent twice.
//!
//! The copy is a `checkout.session.completed` event built for this checkout, customer and device
//! (the tool holds no Stripe key to fetch the real one), with a fresh `evt_nyra_verify_` id and a
//! `created` one hour before the run: its field-group guards lose to every real event, so the
//! customer's row keeps its values; only a `processed_events` row is added (docs/deploy.md). The
//! same event is built against the local stack, so the hosted path is the one the tests run.

use serde_json::{Value, json};

use nyra_client::types::LicenseStatus;
use nyra_domain::config::STRIPE_API_VERSION;
use nyra_domain::webhook::verify::{configured_secrets, signature_header};

use super::Options;
use super::api::Api;
use super::checks::{Check, Checkout, Health, Ran, WEBHOOK, now};

/// How far before the run the built event claims to be created, in seconds.
const BUILT_EVENT_AGE: i64 = 3600;

/// Re-sends a signed delivered-looking event twice; the second answer must be a duplicate.
pub async fn duplicate(
    api: &Api,
    options: &Options,
    health: &Health,
    checkout: &Checkout,
    first: &LicenseStatus,
) -> Check<Ran> {
    let Some(secret) = signing_secret(options) else {
        return Ok((Ran::Skipped, "STRIPE_WEBHOOK_SECRET is not set".to_owned()));
    };
    let body = built(options, health, checkout, first)?;
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    let once = send_signed(api, &secret, &bytes).await?;
    let twice = send_signed(api, &secret, &bytes).await?;
    if twice != Some(true) {
        return Err(format!(
            "event {id} sent twice: the second answer was not duplicate: true"
        ));
    }
    let first_answer = match once {
        Some(true) => "duplicate",
        _ => "recorded",
    };
    let detail = format!("event {id} sent twice: {first_answer}, then duplicate: true");
    Ok((Ran::Done, detail))
}

/// The first configured webhook secret (during a rotation the value holds several).
fn signing_secret(options: &Options) -> Option<String> {
    let secrets = options.secrets.webhook_secret.as_deref()?;
    configured_secrets(secrets).next().map(str::to_owned)
}

/// A `checkout.session.completed` event for this checkout, older than every real one.
fn built(
    options: &Options,
    health: &Health,
    checkout: &Checkout,
    first: &LicenseStatus,
) -> Result<Value, String> {
    let customer = first.customer_id.as_str();
    if customer.is_empty() {
        return Err("the activation answer names no customer".to_owned());
    }
    let device = options.device_id.as_str();
    Ok(json!({
        "id": format!("evt_nyra_verify_{}_{}", now(), std::process::id()),
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "created": now() - BUILT_EVENT_AGE,
        "livemode": health.live,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": checkout.session_id,
            "object": "checkout.session",
            "mode": "subscription",
            "status": "complete",
            "payment_status": "paid",
            "customer": customer,
            "client_reference_id": device,
            "metadata": {"deviceId": device},
        }},
    }))
}

/// Sends `body` signed now; `Some(duplicate)` of a 200 acknowledgement.
async fn send_signed(api: &Api, secret: &str, body: &[u8]) -> Result<Option<bool>, String> {
    let header = signature_header(secret, now(), body);
    let headers = [("stripe-signature", header.as_str())];
    let answer = api.post(WEBHOOK, &headers, Some(body.to_vec())).await?;
    if answer.status != 200 {
        return Err(format!(
            "the signed event was not accepted: {}",
            answer.describe()
        ));
    }
    Ok(answer.json["duplicate"].as_bool())
}
