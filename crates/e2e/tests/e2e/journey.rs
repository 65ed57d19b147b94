//! The paid journey: checkout, payment in the emulator, activation, refresh, portal, cancel.
//!
//! Most tests share one Worker + Stripe emulator stack (started once, in a runtime of its own so
//! it outlives each test); tests that move the emulator's clock or inject faults get their own.
//! Each test uses its own device id, so shared state never crosses tests.

use crate::util::{CHECKOUT, PORTAL, Stack, deliver, keys, now, post_webhook};
use nyra_domain::license::{self, TokenClaims};
use nyra_domain::webhook::verify::signature_header;
use nyra_e2e::http::{Answer, Http};
use nyra_e2e::secrets::{self, LICENSE_API_TOKEN, STRIPE_SECRET_KEY};
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
const RETURN_URL: &str = "http://localhost:5173/billing";
const GRACE_SECONDS: i64 = 168 * 3600;

// ---- the stack ----------------------------------------------------------------------------

/// The stack shared by the tests that neither move the clock nor inject faults.
fn shared() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    Stack::shared(&STACK)
}

impl Stack {
    async fn emulator_get(&self, path: &str) -> Value {
        reqwest::get(format!("{}{path}", self.emulator))
            .await
            .expect("the emulator answers")
            .json()
            .await
            .expect("json")
    }

    /// The emulator's log of `/v1` requests.
    async fn stripe_requests(&self) -> Vec<Value> {
        let log = self.emulator_get("/_emulator/requests").await;
        log["requests"].as_array().cloned().unwrap_or_default()
    }

    /// The emulator's events with their JSON.
    async fn events(&self) -> Vec<Value> {
        let log = self.emulator_get("/_emulator/events").await;
        log["events"].as_array().cloned().unwrap_or_default()
    }

    /// Sets the emulator's fault mode for the next `count` requests.
    async fn fault(&self, mode: &str, count: u32) {
        self.control("/_emulator/faults", json!({"mode": mode, "count": count}))
            .await;
    }

    /// One `billing_customers` row by customer id.
    fn customer_row(&self, customer: &str) -> Value {
        let rows = self
            .worker
            .d1(&format!(
                "SELECT * FROM billing_customers WHERE customer_id = '{customer}'"
            ))
            .expect("d1 query");
        rows[0].clone()
    }
}

// ---- journey steps ------------------------------------------------------------------------

/// A device that has paid: its checkout, the emulator's pay answer and ids.
struct Paid {
    device: String,
    session: String,
    code: String,
    customer: String,
    subscription: String,
    pay: Value,
}

fn device(name: &str) -> String {
    format!("e2e-{name}")
}

async fn checkout(http: &Http, device: &str, email: Option<&str>) -> Answer {
    let mut body = json!({"deviceId": device});
    if let Some(email) = email {
        body["email"] = json!(email);
    }
    http.post_json(CHECKOUT, &[], &body).await
}

async fn activate(http: &Http, device: &str, session: &str, code: &str) -> Answer {
    let target = format!(
        "/api/license/status?deviceId={device}&checkoutSessionId={session}&activationCode={code}"
    );
    let bearer = format!("Bearer {LICENSE_API_TOKEN}");
    http.get(&target, &[("authorization", &bearer)]).await
}

async fn refresh(http: &Http, device: &str, token: &str) -> Answer {
    let target = format!("/api/license/status?deviceId={device}");
    let bearer = format!("Bearer {token}");
    http.get(&target, &[("authorization", &bearer)]).await
}

async fn portal(http: &Http, token: Option<&str>) -> Answer {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| vec![("authorization", b)])
        .unwrap_or_default();
    http.send("POST", PORTAL, &headers, Vec::new()).await
}

/// Checkout, then pay in the emulator (which delivers the events before it answers).
async fn pay(stack: &Stack, name: &str) -> Paid {
    let device = device(name);
    let body = json!({"deviceId": device, "email": "buyer@example.com"});
    let (session, code, pay) = stack.checkout_and_pay(&body).await;
    Paid {
        device,
        session,
        code,
        customer: pay["customer"].as_str().expect("customer").to_owned(),
        subscription: pay["subscription"]
            .as_str()
            .expect("subscription")
            .to_owned(),
        pay,
    }
}

/// Pays and activates: the first license answer (active).
async fn activated(stack: &Stack, name: &str) -> (Paid, Value) {
    let paid = pay(stack, name).await;
    let answer = activate(&stack.http(), &paid.device, &paid.session, &paid.code).await;
    assert_eq!(answer.status, 200, "{}", answer.json());
    let body = answer.json();
    assert_eq!(body["active"], true, "{body}");
    (paid, body)
}

fn token_of(body: &Value) -> String {
    body["deviceAccessToken"]
        .as_str()
        .expect("a token")
        .to_owned()
}

fn mint(customer: &str, device: &str, expires_at: i64) -> String {
    let claims = TokenClaims {
        customer_id: customer.to_owned(),
        device_id: device.to_owned(),
        issued_at: expires_at - 3600,
        expires_at,
    };
    license::issue(&keys(), &claims)
}

/// Asserts the body never carries a secret value or Stripe's own message text.
fn assert_sanitised(answer: &Answer) {
    let text = String::from_utf8_lossy(&answer.body);
    for (_, value) in secrets::local() {
        assert!(!text.contains(value), "the body leaked a secret: {text}");
    }
    for stripe_text in [
        "sk_",
        "emulator",
        "Stripe emulator",
        "req_",
        "An error occurred",
    ] {
        assert!(
            !text.contains(stripe_text),
            "raw stripe text leaked: {text}"
        );
    }
}

// ---- snapshots ----------------------------------------------------------------------------

/// A named snapshot with the volatile fields redacted (nulls stay visible).
fn snapshot(name: &str, body: &Value) {
    insta::assert_json_snapshot!(name, body, {
        ".checkoutUrl" => redact("[checkout url]"),
        ".checkoutSessionId" => redact("[checkout session id]"),
        ".activationCode" => redact("[activation code]"),
        ".expiresAtIso" => redact("[iso]"),
        ".portalUrl" => redact("[portal url]"),
        ".customerId" => redact("[customer id]"),
        ".currentPeriodEndIso" => redact("[iso]"),
        ".offlineGraceEndsAtIso" => redact("[iso]"),
        ".deviceActivation.activatedAtIso" => redact("[iso]"),
        ".deviceActivation.lastCheckedAtIso" => redact("[iso]"),
        ".license" => redact("[license]"),
        ".deviceAccessToken" => redact("[token]"),
        ".deviceAccessTokenExpiresAtIso" => redact("[iso]"),
    });
}

/// Replaces a string with `label`; leaves `null` as it is.
fn redact(label: &'static str) -> insta::internals::Redaction {
    insta::dynamic_redaction(move |value, _| {
        if value.as_str().is_some() {
            label.into()
        } else {
            value
        }
    })
}

// ---- the journey --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn journey_checkout_pay_activate_refresh_portal_cancel_inactive() {
    let stack = Stack::own(|o| o).await;
    let http = stack.http();
    let (paid, first) = activated(&stack, "journey-0001").await;
    assert!(paid.pay["events"].as_array().is_some_and(|e| e.len() >= 3));
    assert_eq!(first["status"], "active");
    assert_eq!(first["customerId"], paid.customer.as_str());

    let desktop = nyra_client::Desktop::new(&stack.worker.base_url, &paid.device);
    let refreshed = desktop
        .refresh(&token_of(&first))
        .await
        .expect("refresh through the client helper");
    assert!(refreshed.active);
    let now = now();
    let public_key = keys().public_key_b64();
    let licence = refreshed.license.as_deref().expect("a license");
    let claims = nyra_client::verify_license(licence, &public_key, &paid.device, now)
        .expect("the license verifies offline");
    assert_eq!(claims.customer_id, paid.customer);

    let portal_answer = portal(&http, refreshed.device_access_token.as_deref()).await;
    assert_eq!(portal_answer.status, 200);
    let portal_url = portal_answer.json()["portalUrl"]
        .as_str()
        .map(str::to_owned);
    assert!(portal_url.is_some_and(|u| u.starts_with(&stack.emulator)));

    let sub = &paid.subscription;
    stack
        .control_delivered(
            &format!("/_emulator/subscriptions/{sub}/cancel_at_period_end"),
            json!({}),
        )
        .await;
    let newest = refreshed.device_access_token.as_deref().expect("a token");
    let still = refresh(&http, &paid.device, newest).await.json();
    assert_eq!(still["active"], true, "active until the period ends");
    assert_eq!(still["cancelAtPeriodEnd"], true);

    let past = 30 * 24 * 3600 + GRACE_SECONDS + 3600;
    stack
        .control_delivered("/_emulator/clock/advance", json!({"seconds": past}))
        .await;
    let end = refresh(&http, &paid.device, &token_of(&still)).await;
    assert_eq!(end.status, 200);
    let end = end.json();
    assert_eq!(end["active"], false, "{end}");
    assert_eq!(end["status"], "canceled");
    assert_eq!(end["deviceAccessToken"], Value::Null);
    assert_eq!(end["license"], Value::Null);
    assert_eq!(end["deviceActivation"]["active"], false);
    snapshot("license_status_inactive", &end);
}

// ---- the deployment checklist -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn health_ok() {
    let answer = shared().http().get("/health", &[]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["ok"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn checkout_returns_hosted_checkout_url() {
    let stack = shared();
    let answer = checkout(&stack.http(), &device("checkout-url"), None).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    let session = body["checkoutSessionId"].as_str().unwrap_or_default();
    assert!(session.starts_with("cs_test_"), "{body}");
    let url = body["checkoutUrl"].as_str().unwrap_or_default();
    assert_eq!(url, format!("{}/c/pay/{session}", stack.emulator));
    let expires = body["expiresAtIso"]
        .as_str()
        .and_then(nyra_domain::time::parse_iso);
    assert!(expires.is_some_and(|t| t > now() + 23 * 3600), "{body}");
    snapshot("checkout_ok", &body);
}

#[tokio::test(flavor = "multi_thread")]
async fn checkout_completed_records_customer_and_device() {
    let stack = shared();
    let paid = pay(stack, "completed-0001").await;
    let row = stack.customer_row(&paid.customer);
    assert_eq!(row["checkout_session_id"], paid.session.as_str());
    assert_eq!(row["device_id"], paid.device.as_str());
    assert_eq!(row["subscription_id"], paid.subscription.as_str());
    assert_eq!(row["email"], "buyer@example.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn invoice_paid_records_active_state() {
    let stack = shared();
    let paid = pay(stack, "invoice-paid-01").await;
    let kinds: Vec<&str> = paid.pay["events"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["type"].as_str()).collect())
        .unwrap_or_default();
    assert!(kinds.contains(&"invoice.paid"), "{kinds:?}");
    let row = stack.customer_row(&paid.customer);
    assert_eq!(row["status"], "active");
    assert_eq!(row["last_invoice_status"], "paid");
    assert!(
        row["current_period_end"]
            .as_i64()
            .is_some_and(|t| t > now())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn portal_works_with_device_token() {
    let stack = shared();
    let (paid, body) = activated(stack, "portal-0001").await;
    let answer = portal(&stack.http(), Some(&token_of(&body))).await;
    assert_eq!(answer.status, 200);
    let url = answer.json()["portalUrl"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        url.starts_with(&format!("{}/p/session/", stack.emulator)),
        "{url}"
    );
    let requests = stack.stripe_requests().await;
    let sent = requests
        .iter()
        .find(|r| {
            r["path"] == "/v1/billing_portal/sessions"
                && r["params"]["customer"] == paid.customer.as_str()
        })
        .expect("the portal request reached stripe");
    assert_eq!(
        sent["params"],
        json!({"customer": paid.customer, "return_url": RETURN_URL})
    );
    assert_eq!(sent["stripe_version"], "2026-02-25.clover");
    assert!(
        sent["idempotency_key"]
            .as_str()
            .is_some_and(|k| k.starts_with("nyra-portal-"))
    );
    snapshot("portal_ok", &answer.json());
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_returns_active_state_after_sync() {
    let stack = shared();
    let (paid, first) = activated(stack, "refresh-0001").await;
    snapshot("license_status_active", &first);
    let again = refresh(&stack.http(), &paid.device, &token_of(&first)).await;
    assert_eq!(again.status, 200);
    let again = again.json();
    assert_eq!(again["active"], true);
    assert_eq!(again["entitlement"], "pro");
    assert_eq!(again["status"], "active");
    assert_eq!(again["paymentIssue"], false);
    assert_eq!(again["customerId"], paid.customer.as_str());
    assert_eq!(again["deviceId"], paid.device.as_str());
    assert_eq!(
        again["deviceActivation"]["activatedAtIso"], first["deviceActivation"]["activatedAtIso"],
        "activated_at is kept"
    );
    assert_eq!(again["deviceActivation"]["active"], true);
    let rows = stack
        .worker
        .d1(&format!(
            "SELECT last_active FROM device_activations WHERE device_id = '{}'",
            paid.device
        ))
        .expect("d1 query");
    assert_eq!(rows, json!([{"last_active": 1}]));
}

#[tokio::test(flavor = "multi_thread")]
async fn refreshes_rotate_tokens_and_inactive_answers_coalesce() {
    let stack = shared();
    let (paid, first) = activated(stack, "coalesce-0001").await;
    let stored = |stack: &Stack| {
        let sql = format!(
            "SELECT last_checked_at, last_active, token_generation FROM device_activations \
             WHERE device_id = '{}'",
            paid.device
        );
        stack.worker.d1(&sql).expect("d1 query")
    };
    assert_eq!(stored(stack)[0]["token_generation"], 1);
    let again = refresh(&stack.http(), &paid.device, &token_of(&first))
        .await
        .json();
    assert_eq!(again["active"], true);
    assert_eq!(
        stored(stack)[0]["token_generation"],
        2,
        "every active answer issues the next generation"
    );
    stack
        .control(
            &format!("/_emulator/subscriptions/{}/cancel", paid.subscription),
            json!({}),
        )
        .await;
    let after = refresh(&stack.http(), &paid.device, &token_of(&again))
        .await
        .json();
    assert_eq!(after["active"], false);
    let before = stored(stack);
    assert_eq!(
        before[0]["last_active"], 0,
        "a changed answer is written at once"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let unchanged = refresh(&stack.http(), &paid.device, &token_of(&again))
        .await
        .json();
    assert_eq!(unchanged["active"], false);
    assert_ne!(
        unchanged["deviceActivation"]["lastCheckedAtIso"], before[0]["last_checked_at"],
        "the answer reports this check"
    );
    assert_eq!(
        stored(stack),
        before,
        "an unchanged inactive answer within a minute is not written again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn token_expiry_matches_signed_token() {
    let stack = shared();
    let (paid, body) = activated(stack, "expiry-0001").await;
    let token = token_of(&body);
    let claims = license::verify(&keys(), &token, &paid.device, now()).expect("the token verifies");
    assert_eq!(
        body["deviceAccessTokenExpiresAtIso"],
        claims.expires_at_iso().as_str()
    );
    let period_end = body["currentPeriodEndIso"]
        .as_str()
        .and_then(nyra_domain::time::parse_iso)
        .expect("period end");
    assert_eq!(claims.expires_at, period_end + GRACE_SECONDS);
    assert_eq!(
        body["offlineGraceEndsAtIso"],
        body["deviceAccessTokenExpiresAtIso"]
    );
    let licence = body["license"].as_str().expect("license");
    let signed = license::verify_license(licence, &keys().public_key_b64(), &paid.device, now())
        .expect("the license verifies");
    assert_eq!(signed.expires_at, claims.expires_at);
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_webhook_is_idempotent() {
    let stack = shared();
    let paid = pay(stack, "duplicate-0001").await;
    let before = stack.customer_row(&paid.customer);
    let invoice_paid = paid.pay["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "invoice.paid"))
        .and_then(|e| e["id"].as_str())
        .expect("an invoice.paid event")
        .to_owned();
    stack
        .control_delivered(
            &format!("/_emulator/events/{invoice_paid}/redeliver"),
            json!({}),
        )
        .await;
    let event = stack
        .events()
        .await
        .into_iter()
        .find(|e| e["id"] == invoice_paid.as_str())
        .expect("the event is logged");
    let body = serde_json::to_vec(&event["event"]).expect("serialises");
    let answer = deliver(&stack.http(), body).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["duplicate"], true);
    let after = stack.customer_row(&paid.customer);
    assert_eq!(before, after, "a duplicate changes nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_signature_rejected() {
    let stack = shared();
    let body = br#"{"id":"evt_e2e_bad","object":"event","type":"invoice.paid","created":1,"data":{"object":{}}}"#;
    let signature = signature_header("whsec_not_the_configured_secret", now(), body);
    let answer = post_webhook(&stack.http(), body.to_vec(), Some(&signature)).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.code(), "signature_mismatch");
}

// ---- Stripe parameters --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn checkout_sends_exactly_the_design_parameters() {
    let stack = shared();
    let with_email = device("params-email");
    let without = device("params-plain");
    let http = stack.http();
    assert_eq!(
        checkout(&http, &with_email, Some("a@example.com"))
            .await
            .status,
        200
    );
    assert_eq!(checkout(&http, &without, None).await.status, 200);
    let requests = stack.stripe_requests().await;
    let sent = |device: &str| {
        requests
            .iter()
            .find(|r| {
                r["path"] == "/v1/checkout/sessions" && r["params"]["client_reference_id"] == device
            })
            .cloned()
            .expect("the checkout reached stripe")
    };
    let expected = |device: &str| {
        json!({
            "mode": "subscription",
            "line_items[0][price]": secrets::PRICE_PRO_MONTHLY,
            "line_items[0][quantity]": "1",
            "success_url": "http://localhost:5173/billing/success?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://localhost:5173/billing/cancel",
            "client_reference_id": device,
            "metadata[deviceId]": device,
            "subscription_data[metadata][deviceId]": device,
        })
    };
    let mut with = expected(&with_email);
    with["customer_email"] = json!("a@example.com");
    let first = sent(&with_email);
    assert_eq!(first["params"], with);
    assert_eq!(sent(&without)["params"], expected(&without));
    assert_eq!(first["method"], "POST");
    assert_eq!(first["stripe_version"], "2026-02-25.clover");
    assert_eq!(first["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(first["status"], 200);
    let key = first["idempotency_key"].as_str().unwrap_or_default();
    assert!(key.starts_with("nyra-checkout-"), "{key}");
}

#[tokio::test(flavor = "multi_thread")]
async fn identical_checkouts_get_their_own_sessions_and_codes() {
    let stack = shared();
    let http = stack.http();
    let device = device("retry-0001");
    let first = checkout(&http, &device, Some("b@example.com")).await.json();
    let second = checkout(&http, &device, Some("b@example.com")).await.json();
    assert_ne!(first["checkoutSessionId"], second["checkoutSessionId"]);
    assert_ne!(first["activationCode"], second["activationCode"]);
    let keys: Vec<Value> = stack
        .stripe_requests()
        .await
        .into_iter()
        .filter(|r| r["params"]["client_reference_id"] == device.as_str())
        .map(|r| r["idempotency_key"].clone())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1], "idempotency keys are unique per request");
}

#[tokio::test(flavor = "multi_thread")]
async fn emulator_rejects_a_missing_stripe_parameter() {
    let stack = shared();
    let form = "mode=subscription&line_items[0][price]=price_test_local_pro_monthly\
                &line_items[0][quantity]=1&cancel_url=http://localhost/cancel";
    let response = reqwest::Client::new()
        .post(format!("{}/v1/checkout/sessions", stack.emulator))
        .header("authorization", format!("Bearer {STRIPE_SECRET_KEY}"))
        .header("stripe-version", "2026-02-25.clover")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("the emulator answers");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "parameter_missing");
    assert_eq!(body["error"]["param"], "success_url");
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

// ---- refusals -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn live_mode_refused_without_calling_stripe() {
    let stack = Stack::own(|o| o.with_secret("STRIPE_SECRET_KEY", "sk_live_local_fake_key")).await;
    let answer = checkout(&stack.http(), &device("live-0001"), None).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.code(), "live_mode_not_enabled");
    assert_sanitised(&answer);
    assert!(!String::from_utf8_lossy(&answer.body).contains("sk_live_local_fake_key"));
    assert!(
        stack.stripe_requests().await.is_empty(),
        "stripe was called"
    );
    snapshot("checkout_live_mode_not_enabled", &answer.json());
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_secret_is_config_missing() {
    let stack = Stack::own(|o| o.without_secret("NYRA_STRIPE_PRICE_PRO_MONTHLY")).await;
    let answer = checkout(&stack.http(), &device("config-0001"), None).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.code(), "config_missing");
    assert!(
        answer.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("NYRA_STRIPE_PRICE_PRO_MONTHLY"))
    );
    snapshot("checkout_config_missing", &answer.json());
}

#[tokio::test(flavor = "multi_thread")]
async fn stripe_500_and_timeout_answer_502_sanitised() {
    let stack = Stack::own(|o| o).await;
    let http = stack.http();
    let (_, body) = activated(&stack, "faults-0001").await;

    stack.fault("error500", 1).await;
    let failed = checkout(&http, &device("faults-0002"), None).await;
    assert_eq!(failed.status, 502);
    assert_eq!(failed.code(), "stripe_error");
    assert_sanitised(&failed);
    snapshot("checkout_stripe_error", &failed.json());

    stack.fault("error500", 1).await;
    let failed = portal(&http, Some(&token_of(&body))).await;
    assert_eq!(failed.status, 502);
    assert_eq!(failed.code(), "stripe_error");
    assert_sanitised(&failed);
    snapshot("portal_stripe_error", &failed.json());

    stack.fault("timeout", 1).await;
    let started = Instant::now();
    let timed_out = checkout(&http, &device("faults-0003"), None).await;
    let took = started.elapsed();
    assert_eq!(timed_out.status, 502);
    assert_eq!(timed_out.code(), "stripe_error");
    assert_sanitised(&timed_out);
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(20),
        "{took:?}"
    );
    snapshot("checkout_stripe_timeout", &timed_out.json());
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_expired_and_foreign_tokens_are_401() {
    let stack = shared();
    let http = stack.http();
    let (paid, body) = activated(stack, "tamper-0001").await;
    let token = token_of(&body);
    for index in 0..token.len() {
        let mut bytes = token.clone().into_bytes();
        bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).expect("ascii");
        let answer = refresh(&http, &paid.device, &tampered).await;
        assert_eq!(answer.status, 401, "byte {index} flipped was accepted");
        assert!(matches!(
            answer.code().as_str(),
            "token_invalid" | "unauthorized"
        ));
    }
    let expired = mint(&paid.customer, &paid.device, now() - 60);
    let answer = refresh(&http, &paid.device, &expired).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (401, "token_expired")
    );
    snapshot("license_status_token_expired", &answer.json());
    let answer = portal(&http, Some(&expired)).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (401, "token_expired")
    );

    let other = refresh(&http, &device("tamper-other"), &token).await;
    assert_eq!(
        (other.status, other.code().as_str()),
        (401, "device_mismatch")
    );
    snapshot("license_status_device_mismatch", &other.json());

    let garbage = portal(&http, Some("nyra_dat.v1.garbage.garbage")).await;
    assert_eq!(
        (garbage.status, garbage.code().as_str()),
        (401, "token_invalid")
    );
    snapshot("portal_token_invalid", &garbage.json());
    let none = portal(&http, None).await;
    assert_eq!((none.status, none.code().as_str()), (401, "unauthorized"));
    snapshot("portal_unauthorized", &none.json());
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_or_missing_bearer_is_401() {
    let http = shared().http();
    let device = device("bearer-0001");
    let target = format!("/api/license/status?deviceId={device}&checkoutSessionId=cs_test_x");
    let none = http.get(&target, &[]).await;
    assert_eq!((none.status, none.code().as_str()), (401, "unauthorized"));
    snapshot("license_status_unauthorized", &none.json());
    let wrong = http
        .get(
            &target,
            &[("authorization", "Bearer nyra_local_app_token_not_a_secreT")],
        )
        .await;
    assert_eq!((wrong.status, wrong.code().as_str()), (401, "unauthorized"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_checkout_is_404() {
    let stack = shared();
    let http = stack.http();
    let device = device("unknown-0001");
    let unpaid = checkout(&http, &device, None).await.json();
    let session = unpaid["checkoutSessionId"].as_str().expect("a session");
    let code = unpaid["activationCode"].as_str().expect("a code");
    let answer = activate(&http, &device, session, code).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (404, "checkout_not_found")
    );
    snapshot("license_status_checkout_not_found", &answer.json());

    let target = format!("/api/license/status?deviceId={device}");
    let bearer = format!("Bearer {LICENSE_API_TOKEN}");
    let missing = http.get(&target, &[("authorization", &bearer)]).await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (401, "activation_code_invalid")
    );
    snapshot("license_status_session_missing", &missing.json());

    let stranger = mint("cus_test_nobody", &device, now() + 3600);
    let answer = refresh(&http, &device, &stranger).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (404, "customer_not_found")
    );
    let answer = portal(&http, Some(&stranger)).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (404, "customer_not_found")
    );
    snapshot("portal_customer_not_found", &answer.json());
}

// ---- entitlement edges --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn canceled_subscription_answers_inactive_without_token() {
    let stack = shared();
    let (paid, body) = activated(stack, "cancel-0001").await;
    let sub = &paid.subscription;
    stack
        .control_delivered(&format!("/_emulator/subscriptions/{sub}/cancel"), json!({}))
        .await;
    let answer = refresh(&stack.http(), &paid.device, &token_of(&body)).await;
    assert_eq!(answer.status, 200);
    let answer = answer.json();
    assert_eq!(answer["active"], false);
    assert_eq!(answer["entitlement"], "none");
    assert_eq!(answer["deviceAccessToken"], Value::Null);
    assert_eq!(answer["deviceAccessTokenExpiresAtIso"], Value::Null);
    assert_eq!(answer["license"], Value::Null);
}

/// A completed checkout's row with no Stripe data yet (as a late webhook leaves it), with
/// `subscription` if given, and its checkout's activation code: `(device, session, code)`.
fn unsettled_row(stack: &Stack, tag: &str, subscription: Option<&str>) -> (String, String, String) {
    let device = device(&format!("{tag}-0001"));
    let session = format!("cs_test_{tag}");
    let subscription = subscription.map_or("NULL".to_owned(), |s| format!("'{s}'"));
    stack
        .worker
        .d1(&format!(
            "INSERT INTO billing_customers (customer_id, checkout_session_id, device_id, \
             subscription_id, updated_at, checkout_completed_at) VALUES ('cus_test_{tag}', \
             '{session}', '{device}', {subscription}, '2026-01-01T00:00:00Z', \
             CAST(strftime('%s', 'now') AS INTEGER))"
        ))
        .expect("insert");
    let code = "0000-1111-2222-3333-4444-5555-6666-7777";
    let hash = nyra_domain::activation::hash_hex(code).expect("a code");
    stack
        .worker
        .d1(&format!(
            "INSERT INTO checkout_sessions (checkout_session_id, device_id, code_hash, created_at) \
             VALUES ('{session}', '{device}', '{hash}', '2026-01-01T00:00:00Z')"
        ))
        .expect("insert");
    (device, session, code.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn unsettled_checkout_is_active_with_a_24_hour_token() {
    let stack = shared();
    let (device, session, code) = unsettled_row(stack, "unsettled", None);
    let started = now();
    let answer = activate(&stack.http(), &device, &session, &code).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["active"], true);
    assert_eq!(body["status"], Value::Null);
    assert_eq!(body["currentPeriodEndIso"], Value::Null);
    let expiry = body["deviceAccessTokenExpiresAtIso"]
        .as_str()
        .and_then(nyra_domain::time::parse_iso)
        .expect("an expiry");
    assert!((started + 24 * 3600..=now() + 24 * 3600).contains(&expiry));
    snapshot("license_status_unsettled", &body);
}

/// A row written before migration 0003 (no paid-through date) whose renewal is being retried:
/// the latest invoice is open, so settle reads the newest paid one, and the device keeps the
/// period it paid for plus the grace, with `paymentIssue`.
#[tokio::test(flavor = "multi_thread")]
async fn an_old_row_in_a_renewal_retry_keeps_the_paid_period_plus_grace() {
    let stack = shared();
    let http = stack.http();
    let (paid, first) = activated(stack, "old-row-retry-0001").await;
    let paid_end = first["currentPeriodEndIso"]
        .as_str()
        .and_then(nyra_domain::time::parse_iso)
        .expect("a period end");
    let sub = &paid.subscription;
    stack
        .control_delivered(
            &format!("/_emulator/subscriptions/{sub}/fail_payment"),
            json!({}),
        )
        .await;
    stack
        .worker
        .d1(&format!(
            "UPDATE billing_customers SET paid_through = NULL, livemode = NULL, \
             checkout_completed_at = NULL WHERE customer_id = '{}'",
            paid.customer
        ))
        .expect("update");
    let answer = refresh(&http, &paid.device, &token_of(&first)).await;
    assert_eq!(answer.status, 200, "{}", answer.json());
    let body = answer.json();
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["status"], "past_due");
    assert_eq!(body["paymentIssue"], true);
    let expiry = body["deviceAccessTokenExpiresAtIso"]
        .as_str()
        .and_then(nyra_domain::time::parse_iso);
    assert_eq!(expiry, Some(paid_end + GRACE_SECONDS), "{body}");
    let listed = stack
        .stripe_requests()
        .await
        .into_iter()
        .filter(|r| r["path"] == "/v1/invoices" && r["params"]["subscription"] == sub.as_str())
        .count();
    assert_eq!(listed, 1, "one list of the paid invoices");
}

/// A row Stripe cannot settle (here its subscription is unknown to Stripe) is asked about once,
/// not on every refresh: a refresh loop is not a Stripe request loop.
#[tokio::test(flavor = "multi_thread")]
async fn an_unsettleable_row_asks_stripe_at_most_once_a_minute() {
    let stack = shared();
    let subscription = "sub_test_unsettleable";
    let (device, session, code) = unsettled_row(stack, "unsettleable", Some(subscription));
    let http = stack.http();
    let answer = activate(&http, &device, &session, &code).await;
    assert_eq!(answer.status, 200, "{}", answer.json());
    assert_eq!(answer.json()["active"], true, "the 24-hour fallback");
    let mut token = token_of(&answer.json());
    for _ in 0..5 {
        let answer = refresh(&http, &device, &token).await;
        assert_eq!(answer.status, 200, "{}", answer.json());
        token = token_of(&answer.json());
    }
    let asked: Vec<Value> = stack
        .stripe_requests()
        .await
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains(subscription)))
        .collect();
    assert_eq!(
        asked.len(),
        1,
        "one settle attempt for six checks: {asked:#?}"
    );
    assert_eq!(asked[0]["status"], 404);
}
