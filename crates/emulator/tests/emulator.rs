//! End-to-end checks of the Stripe emulator over HTTP: API validation, idempotency, faults,
//! and the signed clover event sequences delivered to a stand-in webhook receiver; the shapes
//! the entitlement scenarios need are in `emulator/entitlement.rs`.

#[path = "emulator/entitlement.rs"]
mod entitlement;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use nyra_emulator::{CLOVER, Config, Emulator};
use serde_json::{Value, json};
use sha2::Sha256;

const SK: &str = "sk_test_local_emulator_key_0123456789";
const WHSEC: &str = "whsec_local_emulator_secret";
const PRICE: &str = "price_test_local_pro_monthly";

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn start(webhook_url: Option<String>) -> Emulator {
    let mut config = Config::new(SK, WHSEC);
    config.webhook_url = webhook_url;
    Emulator::start(any_port(), config)
        .await
        .expect("emulator starts")
}

/// The standard checkout parameters the Worker sends.
fn checkout_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("mode", "subscription"),
        ("line_items[0][price]", PRICE),
        ("line_items[0][quantity]", "1"),
        (
            "success_url",
            "http://127.0.0.1:8787/ok?session_id={CHECKOUT_SESSION_ID}",
        ),
        ("cancel_url", "http://127.0.0.1:8787/cancel"),
        ("client_reference_id", "device-0001"),
        ("customer_email", "ada@example.com"),
        ("metadata[deviceId]", "device-0001"),
        ("subscription_data[metadata][deviceId]", "device-0001"),
    ]
}

fn without(form: &[(&'static str, &'static str)], key: &str) -> Vec<(&'static str, &'static str)> {
    form.iter().filter(|(k, _)| *k != key).copied().collect()
}

async fn stripe_post(
    base: &str,
    path: &str,
    form: &[(&str, &str)],
    key: &str,
    version: &str,
    idempotency: Option<&str>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .header("Stripe-Version", version)
        .form(form);
    if let Some(k) = idempotency {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.expect("request sent")
}

async fn create_session(base: &str, form: &[(&str, &str)]) -> reqwest::Response {
    stripe_post(base, "/v1/checkout/sessions", form, SK, CLOVER, None).await
}

async fn json_of(resp: reqwest::Response) -> Value {
    resp.json().await.expect("json body")
}

async fn control(base: &str, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .expect("control request");
    assert!(
        resp.status().is_success(),
        "{path} answered {}",
        resp.status()
    );
    json_of(resp).await
}

fn event_ids(answer: &Value) -> Vec<String> {
    answer["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// A stand-in for the Worker's webhook route: verifies each signature and keeps the events.
#[derive(Clone, Default)]
struct Receiver {
    events: Arc<Mutex<Vec<Value>>>,
    bad: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let app = axum::Router::new()
            .route("/webhook", axum::routing::post(receive))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind(any_port())
            .await
            .expect("bind");
        let url = format!("http://{}/webhook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn events(&self) -> Vec<Value> {
        self.events.lock().expect("lock").clone()
    }

    fn types(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["type"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    fn of_type(&self, kind: &str) -> Value {
        self.events()
            .into_iter()
            .find(|e| e["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} event"))
    }
}

fn verify(headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    if content_type != Some("application/json; charset=utf-8") {
        return Err(format!("content type {content_type:?}"));
    }
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Stripe-Signature")?;
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1.push(value.to_owned()),
            _ => {}
        }
    }
    let t = t.ok_or("no timestamp")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs() as i64;
    if (now - t).abs() > 300 {
        return Err(format!("timestamp {t} outside tolerance"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(WHSEC.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    if v1.contains(&expected) {
        Ok(())
    } else {
        Err("signature mismatch".into())
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if let Err(why) = verify(&headers, &body) {
        r.bad.lock().expect("lock").push(why);
        return StatusCode::BAD_REQUEST;
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(event) => {
            r.events.lock().expect("lock").push(event);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

/// Starts an emulator wired to a receiver, creates a session and pays it.
async fn paid_subscription() -> (Emulator, Receiver, Value) {
    let (receiver, url) = Receiver::start().await;
    let emu = start(Some(url)).await;
    let base = emu.base_url();
    let session = json_of(create_session(&base, &checkout_form()).await).await;
    let id = session["id"].as_str().expect("session id");
    let answer = control(
        &base,
        &format!("/_emulator/checkout/sessions/{id}/pay"),
        json!({}),
    )
    .await;
    (emu, receiver, answer)
}

#[tokio::test]
async fn checkout_session_has_the_clover_shape() {
    let emu = start(None).await;
    let base = emu.base_url();
    let resp = create_session(&base, &checkout_form()).await;
    assert_eq!(resp.status(), 200);
    let request_id = resp.headers()["request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(request_id.starts_with("req_"));
    let s = json_of(resp).await;
    let id = s["id"].as_str().expect("id");
    assert!(id.starts_with("cs_test_"));
    assert_eq!(s["object"], "checkout.session");
    assert_eq!(s["mode"], "subscription");
    assert_eq!(s["status"], "open");
    assert_eq!(s["payment_status"], "unpaid");
    assert_eq!(s["url"], format!("{base}/c/pay/{id}"));
    assert_eq!(
        s["expires_at"].as_i64().expect("expires_at") - s["created"].as_i64().expect("created"),
        86_400
    );
    assert_eq!(s["client_reference_id"], "device-0001");
    assert_eq!(s["customer_email"], "ada@example.com");
    assert_eq!(s["metadata"], json!({ "deviceId": "device-0001" }));
    assert_eq!(s["customer"], Value::Null);
    assert_eq!(s["subscription"], Value::Null);
    assert_eq!(s["livemode"], false);
    assert!(
        s["success_url"]
            .as_str()
            .expect("success")
            .contains("{CHECKOUT_SESSION_ID}")
    );

    let got = reqwest::Client::new()
        .get(format!("{base}/v1/checkout/sessions/{id}"))
        .bearer_auth(SK)
        .header("Stripe-Version", CLOVER)
        .send()
        .await
        .expect("get");
    assert_eq!(got.status(), 200);
    assert_eq!(json_of(got).await, s);

    let missing = reqwest::Client::new()
        .get(format!("{base}/v1/checkout/sessions/cs_test_nope"))
        .bearer_auth(SK)
        .header("Stripe-Version", CLOVER)
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), 404);
    assert_eq!(json_of(missing).await["error"]["code"], "resource_missing");
    emu.shutdown().await;
}

#[tokio::test]
async fn missing_and_unknown_parameters_are_stripe_errors() {
    let emu = start(None).await;
    let base = emu.base_url();
    let resp = create_session(&base, &without(&checkout_form(), "success_url")).await;
    assert_eq!(resp.status(), 400);
    let err = json_of(resp).await["error"].clone();
    assert_eq!(err["type"], "invalid_request_error");
    assert_eq!(err["code"], "parameter_missing");
    assert_eq!(err["param"], "success_url");
    assert!(
        err["message"]
            .as_str()
            .expect("message")
            .contains("success_url")
    );

    for (key, named) in [
        ("bogus", "bogus"),
        ("line_items[0][bogus]", "line_items[0][bogus]"),
    ] {
        let mut form = checkout_form();
        form.push((key, "1"));
        let resp = create_session(&base, &form).await;
        assert_eq!(resp.status(), 400);
        let err = json_of(resp).await["error"].clone();
        assert_eq!(err["code"], "parameter_unknown");
        assert_eq!(err["param"], named);
    }

    let mut form = without(&checkout_form(), "line_items[0][price]");
    form.push(("line_items[0][price]", "plan_unknown"));
    let err = json_of(create_session(&base, &form).await).await["error"].clone();
    assert_eq!(err["code"], "resource_missing");
    assert_eq!(err["param"], "line_items[0][price]");

    let portal = [
        ("customer", "cus_test_nobody"),
        ("return_url", "http://127.0.0.1/back"),
    ];
    let resp = stripe_post(
        &base,
        "/v1/billing_portal/sessions",
        &portal,
        SK,
        CLOVER,
        None,
    )
    .await;
    assert_eq!(resp.status(), 400);
    let err = json_of(resp).await["error"].clone();
    assert_eq!(
        (err["code"].clone(), err["param"].clone()),
        (json!("resource_missing"), json!("customer"))
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn wrong_key_and_wrong_version_are_refused() {
    let emu = start(None).await;
    let base = emu.base_url();
    let wrong_key = "sk_test_local_someone_elses_key_9999";
    let path = "/v1/checkout/sessions";
    let resp = stripe_post(&base, path, &checkout_form(), wrong_key, CLOVER, None).await;
    assert_eq!(resp.status(), 401);
    let message = json_of(resp).await["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(
        message.starts_with("Invalid API Key provided: sk_test_"),
        "{message}"
    );
    assert!(
        message.ends_with("9999") && !message.contains("someone"),
        "{message}"
    );

    let resp = stripe_post(&base, path, &checkout_form(), SK, "2024-06-20", None).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        json_of(resp).await["error"]["type"],
        "invalid_request_error"
    );

    let log = reqwest::get(format!("{base}/_emulator/requests"))
        .await
        .expect("log");
    let text = log.text().await.expect("text");
    assert!(
        !text.contains(SK) && !text.contains(wrong_key),
        "the request log leaks a key"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn idempotency_key_replays_or_refuses() {
    let emu = start(None).await;
    let base = emu.base_url();
    let path = "/v1/checkout/sessions";
    let form = checkout_form();
    let first = stripe_post(&base, path, &form, SK, CLOVER, Some("idem-1")).await;
    let first_id = first.headers()["request-id"].clone();
    let first = first.text().await.expect("body");
    let again = stripe_post(&base, path, &form, SK, CLOVER, Some("idem-1")).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["request-id"], first_id);
    assert_eq!(again.text().await.expect("body"), first);

    let other = without(&form, "customer_email");
    let resp = stripe_post(&base, path, &other, SK, CLOVER, Some("idem-1")).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(json_of(resp).await["error"]["type"], "idempotency_error");

    let log = json_of(
        reqwest::get(format!("{base}/_emulator/requests"))
            .await
            .expect("log"),
    )
    .await;
    let entry = &log["requests"][0];
    assert_eq!(
        entry["params"]["subscription_data[metadata][deviceId]"],
        "device-0001"
    );
    assert_eq!(entry["idempotency_key"], "idem-1");
    assert_eq!(entry["stripe_version"], CLOVER);
    emu.shutdown().await;
}

#[tokio::test]
async fn paying_emits_the_signed_clover_sequence() {
    let (emu, receiver, answer) = paid_subscription().await;
    let expected = [
        "customer.created",
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "entitlements.active_entitlement_summary.updated",
    ];
    assert_eq!(event_ids(&answer), expected);
    assert_eq!(receiver.types(), expected);
    assert!(receiver.bad.lock().expect("lock").is_empty());
    for event in answer["events"].as_array().expect("events") {
        assert_eq!(event["deliveries"][0]["status"], 200);
    }
    let events = receiver.events();
    let created: Vec<i64> = events
        .iter()
        .map(|e| e["created"].as_i64().expect("created"))
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] < w[1]),
        "created not increasing: {created:?}"
    );
    for e in &events {
        assert_eq!(e["object"], "event");
        assert_eq!(e["api_version"], CLOVER);
        assert!(e["id"].as_str().expect("id").starts_with("evt_test_"));
        assert_eq!(e["request"], json!({ "id": null, "idempotency_key": null }));
    }

    let sub_id = answer["subscription"].as_str().expect("subscription id");
    let customer = answer["customer"].as_str().expect("customer id");
    let completed = receiver.of_type("checkout.session.completed")["data"]["object"].clone();
    assert_eq!(
        (
            completed["status"].clone(),
            completed["payment_status"].clone()
        ),
        (json!("complete"), json!("paid"))
    );
    assert_eq!(completed["customer"], customer);
    assert_eq!(completed["subscription"], sub_id);
    assert_eq!(completed["customer_details"]["email"], "ada@example.com");

    let sub = receiver.of_type("customer.subscription.created")["data"]["object"].clone();
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["metadata"]["deviceId"], "device-0001");
    let item = &sub["items"]["data"][0];
    assert!(item["current_period_end"].is_i64());
    assert_eq!(
        item["current_period_end"].as_i64().expect("end")
            - item["current_period_start"].as_i64().expect("start"),
        30 * 86_400
    );
    assert_eq!(item["price"]["id"], PRICE);
    assert!(
        sub.get("current_period_end").is_none(),
        "clover has no top-level period"
    );

    let invoice = receiver.of_type("invoice.paid")["data"]["object"].clone();
    assert_eq!(
        invoice["parent"]["subscription_details"]["subscription"],
        sub_id
    );
    assert_eq!(invoice["parent"]["type"], "subscription_details");
    assert!(
        invoice.get("paid").is_none(),
        "clover invoices have no `paid`"
    );
    assert!(invoice.get("subscription").is_none());
    assert_eq!(
        (invoice["status"].clone(), invoice["amount_paid"].clone()),
        (json!("paid"), json!(900))
    );
    assert_eq!(invoice["billing_reason"], "subscription_create");
    assert_eq!(
        receiver.of_type("invoice.created")["data"]["object"]["status"],
        "draft"
    );

    let summary =
        receiver.of_type("entitlements.active_entitlement_summary.updated")["data"]["object"]
            .clone();
    assert_eq!(summary["customer"], customer);
    assert_eq!(summary["entitlements"]["data"][0]["lookup_key"], "pro");

    let base = emu.base_url();
    let portal = [
        ("customer", customer),
        ("return_url", "http://127.0.0.1:8787/back"),
    ];
    let resp = stripe_post(
        &base,
        "/v1/billing_portal/sessions",
        &portal,
        SK,
        CLOVER,
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let p = json_of(resp).await;
    let pid = p["id"].as_str().expect("portal id");
    assert!(pid.starts_with("bps_"));
    assert_eq!(p["object"], "billing_portal.session");
    assert_eq!(p["url"], format!("{base}/p/session/{pid}"));
    let page = reqwest::get(format!("{base}/p/session/{pid}"))
        .await
        .expect("page");
    assert!(page.text().await.expect("html").contains("Customer Portal"));
    emu.shutdown().await;
}

#[tokio::test]
async fn renew_fail_and_cancel_emit_their_events() {
    let (emu, receiver, answer) = paid_subscription().await;
    let base = emu.base_url();
    let sub = answer["subscription"].as_str().expect("sub").to_owned();
    let act = |action: &str| format!("/_emulator/subscriptions/{sub}/{action}");

    let renewed = control(&base, &act("renew"), json!({})).await;
    assert_eq!(
        event_ids(&renewed),
        [
            "invoice.created",
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_succeeded",
            "customer.subscription.updated"
        ]
    );
    let updated = receiver.of_type("customer.subscription.updated")["data"].clone();
    let old_end = updated["previous_attributes"]["items"]["data"][0]["current_period_end"]
        .as_i64()
        .expect("old end");
    let new_end = updated["object"]["items"]["data"][0]["current_period_end"]
        .as_i64()
        .expect("new end");
    assert_eq!(new_end - old_end, 30 * 86_400);

    let failed = control(&base, &act("fail_payment"), json!({})).await;
    assert_eq!(
        event_ids(&failed),
        ["invoice.payment_failed", "customer.subscription.updated"]
    );
    let last = receiver.events().last().cloned().expect("event");
    assert_eq!(last["data"]["object"]["status"], "past_due");
    assert_eq!(last["data"]["previous_attributes"]["status"], "active");

    let cancel = control(&base, &act("cancel"), json!({})).await;
    assert_eq!(event_ids(&cancel), ["customer.subscription.deleted"]);
    let deleted = receiver.of_type("customer.subscription.deleted")["data"]["object"].clone();
    assert_eq!(deleted["status"], "canceled");
    assert!(deleted["ended_at"].is_i64() && deleted["canceled_at"].is_i64());
    emu.shutdown().await;
}

#[tokio::test]
async fn invoice_list_filters_by_subscription_and_status_newest_first() {
    let (emu, _receiver, answer) = paid_subscription().await;
    let base = emu.base_url();
    let sub = answer["subscription"].as_str().expect("sub").to_owned();
    control(
        &base,
        &format!("/_emulator/subscriptions/{sub}/renew"),
        json!({}),
    )
    .await;
    control(
        &base,
        &format!("/_emulator/subscriptions/{sub}/fail_payment"),
        json!({}),
    )
    .await;
    let list = |query: String| {
        let url = format!("{base}/v1/invoices?{query}");
        async move {
            let resp = reqwest::Client::new()
                .get(url)
                .bearer_auth(SK)
                .header("stripe-version", CLOVER)
                .send()
                .await
                .expect("answers");
            (resp.status(), json_of(resp).await)
        }
    };
    let (status, all) = list(format!("subscription={sub}")).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["object"], "list");
    let statuses: Vec<&str> = all["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|i| i["status"].as_str())
        .collect();
    assert_eq!(statuses, ["open", "paid", "paid"], "newest first");
    let (_, paid) = list(format!("subscription={sub}&status=paid&limit=1")).await;
    assert_eq!(paid["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(paid["has_more"], true);
    assert_eq!(paid["data"][0]["id"], all["data"][1]["id"]);
    let (_, none) = list("subscription=sub_unknown&status=paid".to_owned()).await;
    assert_eq!(none["data"], json!([]));
    let (bad, error) = list(format!("subscription={sub}&status=settled")).await;
    assert_eq!(bad, 400);
    assert_eq!(error["error"]["param"], "status");
    let (unknown, error) = list("customer=cus_x".to_owned()).await;
    assert_eq!(unknown, 400);
    assert_eq!(error["error"]["code"], "parameter_unknown");
    emu.shutdown().await;
}

#[tokio::test]
async fn clock_advance_ends_a_subscription_cancelled_at_period_end() {
    let (emu, receiver, answer) = paid_subscription().await;
    let base = emu.base_url();
    let sub = answer["subscription"].as_str().expect("sub");
    let scheduled = control(
        &base,
        &format!("/_emulator/subscriptions/{sub}/cancel_at_period_end"),
        json!({}),
    )
    .await;
    assert_eq!(event_ids(&scheduled), ["customer.subscription.updated"]);
    let updated = receiver.of_type("customer.subscription.updated")["data"].clone();
    assert_eq!(updated["object"]["cancel_at_period_end"], true);
    assert_eq!(
        updated["object"]["cancel_at"],
        updated["object"]["items"]["data"][0]["current_period_end"]
    );
    assert_eq!(
        updated["previous_attributes"]["cancel_at_period_end"],
        false
    );

    let early = control(
        &base,
        "/_emulator/clock/advance",
        json!({ "seconds": 86_400 }),
    )
    .await;
    assert!(event_ids(&early).is_empty());
    let later = control(
        &base,
        "/_emulator/clock/advance",
        json!({ "seconds": 30 * 86_400 }),
    )
    .await;
    assert_eq!(event_ids(&later), ["customer.subscription.deleted"]);
    assert!(
        later["now"].as_i64().expect("now")
            > updated["object"]["cancel_at"].as_i64().expect("cancel_at")
    );
    let deleted = receiver.of_type("customer.subscription.deleted")["data"]["object"].clone();
    assert_eq!(deleted["ended_at"], deleted["cancel_at"]);
    emu.shutdown().await;
}

#[tokio::test]
async fn clock_advance_renews_active_subscriptions() {
    let (emu, _receiver, _answer) = paid_subscription().await;
    let base = emu.base_url();
    let answer = control(
        &base,
        "/_emulator/clock/advance",
        json!({ "seconds": 61 * 86_400 }),
    )
    .await;
    let types = event_ids(&answer);
    assert_eq!(
        types.iter().filter(|t| *t == "invoice.paid").count(),
        2,
        "{types:?}"
    );
    assert_eq!(
        types.last().map(String::as_str),
        Some("customer.subscription.updated")
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn faults_answer_500_with_a_request_id_then_recover() {
    let emu = start(None).await;
    let base = emu.base_url();
    control(
        &base,
        "/_emulator/faults",
        json!({ "mode": "error500", "count": 1 }),
    )
    .await;
    let resp = create_session(&base, &checkout_form()).await;
    assert_eq!(resp.status(), 500);
    assert!(
        resp.headers()["request-id"]
            .to_str()
            .expect("ascii")
            .starts_with("req_")
    );
    assert_eq!(json_of(resp).await["error"]["type"], "api_error");
    assert_eq!(create_session(&base, &checkout_form()).await.status(), 200);

    control(&base, "/_emulator/faults", json!({ "mode": "timeout" })).await;
    let slow = reqwest::Client::new()
        .post(format!("{base}/v1/checkout/sessions"))
        .bearer_auth(SK)
        .header("Stripe-Version", CLOVER)
        .form(&checkout_form())
        .timeout(std::time::Duration::from_millis(300))
        .send()
        .await;
    assert!(slow.is_err_and(|e| e.is_timeout()));
    control(&base, "/_emulator/faults", json!({ "mode": "none" })).await;
    assert_eq!(create_session(&base, &checkout_form()).await.status(), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn failed_deliveries_are_recorded_and_redelivery_resigns() {
    // Nothing listens on this port once the probe listener is dropped.
    let closed = tokio::net::TcpListener::bind(any_port())
        .await
        .expect("bind");
    let dead_url = format!("http://{}/webhook", closed.local_addr().expect("addr"));
    drop(closed);
    let emu = start(Some(dead_url)).await;
    let base = emu.base_url();
    let session = json_of(create_session(&base, &checkout_form()).await).await;
    let id = session["id"].as_str().expect("id");
    let answer = control(
        &base,
        &format!("/_emulator/checkout/sessions/{id}/pay"),
        json!({}),
    )
    .await;
    let first = &answer["events"][0];
    assert_eq!(first["deliveries"][0]["status"], Value::Null);
    assert!(first["deliveries"][0]["error"].is_string());

    let event_id = first["id"].as_str().expect("event id");
    let again = control(
        &base,
        &format!("/_emulator/events/{event_id}/redeliver"),
        json!({}),
    )
    .await;
    assert_eq!(
        again["events"][0]["deliveries"]
            .as_array()
            .expect("deliveries")
            .len(),
        2
    );
    let all = json_of(
        reqwest::get(format!("{base}/_emulator/events"))
            .await
            .expect("events"),
    )
    .await;
    assert_eq!(all["events"].as_array().expect("events").len(), 8);
    assert_eq!(all["events"][0]["event"]["type"], "customer.created");

    let paid_twice = reqwest::Client::new()
        .post(format!("{base}/_emulator/checkout/sessions/{id}/pay"))
        .send()
        .await
        .expect("pay again");
    assert_eq!(paid_twice.status(), 409);
    emu.shutdown().await;
}

#[tokio::test]
async fn redelivered_events_carry_a_valid_signature() {
    let (emu, receiver, answer) = paid_subscription().await;
    let base = emu.base_url();
    let event_id = answer["events"][1]["id"].as_str().expect("event id");
    control(
        &base,
        &format!("/_emulator/events/{event_id}/redeliver"),
        json!({}),
    )
    .await;
    let events = receiver.events();
    assert_eq!(events.len(), 9);
    assert_eq!(events[8], events[1]);
    assert!(receiver.bad.lock().expect("lock").is_empty());
    emu.shutdown().await;
}

#[tokio::test]
async fn hosted_checkout_page_pays_and_redirects() {
    let emu = start(None).await;
    let base = emu.base_url();
    let session = json_of(create_session(&base, &checkout_form()).await).await;
    let url = session["url"].as_str().expect("url");
    let html = reqwest::get(url)
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("<form method=\"post\""));
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = no_redirect.post(url).send().await.expect("pay");
    assert_eq!(resp.status(), 303);
    let id = session["id"].as_str().expect("id");
    assert_eq!(
        resp.headers()["location"],
        format!("http://127.0.0.1:8787/ok?session_id={id}")
    );
    emu.shutdown().await;
}
