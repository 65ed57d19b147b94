//! Entitlement follows payment, end to end: crafted, signed Stripe events into the real Worker, then license status.
//!
//! Stripe is unreachable here (settle on read finds nothing), so each answer comes from what the
//! webhooks recorded: an unpaid renewal, another price, the other mode, an unpaid or
//! payment-mode checkout and a paid invoice after deletion must not grant. The last tests drive
//! the Stripe emulator instead, whose own events (async payment, payment mode, a $0 final
//! invoice after an immediate cancel) reach the Worker as Stripe would send them.

use crate::util::{CHECKOUT, Stack};
use nyra_domain::time::{iso, parse_iso};
use nyra_domain::webhook::verify::signature_header;
use nyra_e2e::http::{Answer, Http};
use nyra_e2e::secrets::{
    LICENSE_API_TOKEN, PRICE_PRO_MONTHLY, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET,
};
use nyra_e2e::{Worker, WorkerOptions};
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

const UNREACHABLE_STRIPE: &str = "http://127.0.0.1:9";
const DAY: i64 = 86_400;
const GRACE: i64 = 168 * 3600;
/// A price checkout sold before the current one (`NYRA_STRIPE_PRICE_PRO_MONTHLY_PREVIOUS`).
const PREVIOUS_PRICE: &str = "price_test_local_pro_monthly_v0";

fn now() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

fn shared() -> &'static Worker {
    static WORKER: OnceLock<Worker> = OnceLock::new();
    nyra_e2e::stack::shared(&WORKER, || async {
        let options = WorkerOptions::local(UNREACHABLE_STRIPE)
            .with_secret("NYRA_STRIPE_PRICE_PRO_MONTHLY_PREVIOUS", PREVIOUS_PRICE);
        Worker::start(options).await.map_err(|e| e.to_string())
    })
}

/// One customer's events, named by `tag`.
struct Customer {
    tag: String,
}

impl Customer {
    fn new(tag: &str) -> Self {
        Customer {
            tag: tag.to_owned(),
        }
    }

    fn id(&self, prefix: &str) -> String {
        format!("{prefix}_test_{}", self.tag)
    }

    fn device(&self) -> String {
        format!("dev_test_{}", self.tag)
    }

    fn envelope(&self, name: &str, event_type: &str, created: i64, object: Value) -> Value {
        json!({
            "id": format!("evt_{}_{name}", self.tag), "object": "event",
            "api_version": "2026-02-25.clover", "created": created, "livemode": false,
            "type": event_type, "data": {"object": object},
        })
    }

    fn checkout(&self, created: i64, mode: &str, paid: &str) -> Value {
        let customer = (mode == "subscription").then(|| self.id("cus"));
        let object = json!({
            "id": self.id("cs"), "object": "checkout.session", "mode": mode,
            "payment_status": paid, "customer": customer,
            "subscription": (mode == "subscription").then(|| self.id("sub")),
            "client_reference_id": self.device(), "metadata": {"deviceId": self.device()},
            "customer_details": null,
        });
        self.envelope("checkout", "checkout.session.completed", created, object)
    }

    fn subscription(&self, name: &str, created: i64, status: &str, end: i64, price: &str) -> Value {
        let object = json!({
            "id": self.id("sub"), "object": "subscription", "customer": self.id("cus"),
            "status": status, "cancel_at_period_end": false,
            "metadata": {"deviceId": self.device()}, "latest_invoice": null,
            "items": {"object": "list", "data": [
                {"price": {"id": price}, "current_period_end": end}
            ]},
        });
        let kind = if status == "canceled" {
            "customer.subscription.deleted"
        } else {
            "customer.subscription.updated"
        };
        self.envelope(name, kind, created, object)
    }

    fn invoice(&self, name: &str, created: i64, status: &str, line_end: i64) -> Value {
        self.invoice_priced(name, created, status, line_end, PRICE_PRO_MONTHLY)
    }

    fn invoice_priced(
        &self,
        name: &str,
        created: i64,
        status: &str,
        line_end: i64,
        price: &str,
    ) -> Value {
        let object = json!({
            "id": format!("in_{}_{name}", self.tag), "object": "invoice",
            "customer": self.id("cus"), "status": status,
            "parent": {"type": "subscription_details",
                "subscription_details": {"subscription": self.id("sub")}},
            "lines": {"object": "list", "data": [{
                "pricing": {"type": "price_details",
                    "price_details": {"price": price, "product": "prod_test"}},
                "period": {"start": line_end - 30 * DAY, "end": line_end}
            }]},
        });
        let kind = if status == "paid" {
            "invoice.paid"
        } else {
            "invoice.payment_failed"
        };
        self.envelope(name, kind, created, object)
    }
}

/// Delivers an event signed now; returns `handled`.
async fn deliver(http: &Http, event: &Value) -> bool {
    let body = serde_json::to_vec(event).expect("serialises");
    let signature = signature_header(STRIPE_WEBHOOK_SECRET, now(), &body);
    let headers = [
        ("content-type", "application/json"),
        ("stripe-signature", signature.as_str()),
    ];
    let answer = http
        .send("POST", "/api/billing/webhook", &headers, body)
        .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.json()["handled"].as_bool().expect("handled")
}

/// The activation code of every crafted checkout (its hash is stored as the checkout route would).
const CODE: &str = "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789";

/// Records the crafted checkout's activation code, as `POST /api/billing/checkout` does.
fn issue_code(customer: &Customer) {
    let hash = nyra_domain::activation::hash_hex(CODE).expect("a valid code");
    let sql = format!(
        "INSERT OR IGNORE INTO checkout_sessions (checkout_session_id, device_id, code_hash, created_at) \
         VALUES ('{}', '{}', '{hash}', '2026-01-01T00:00:00Z')",
        customer.id("cs"),
        customer.device()
    );
    shared().d1(&sql).expect("d1 insert");
}

async fn activate(http: &Http, customer: &Customer) -> Answer {
    issue_code(customer);
    let target = format!(
        "/api/license/status?deviceId={}&checkoutSessionId={}&activationCode={CODE}",
        customer.device(),
        customer.id("cs")
    );
    let bearer = format!("Bearer {LICENSE_API_TOKEN}");
    http.get(&target, &[("authorization", &bearer)]).await
}

fn expiry(body: &Value) -> Option<i64> {
    body["deviceAccessTokenExpiresAtIso"]
        .as_str()
        .and_then(parse_iso)
}

#[tokio::test]
async fn an_unpaid_renewal_is_licensed_only_until_the_paid_period_plus_grace() {
    let http = Http::new(&shared().base_url);
    let c = Customer::new("UnpaidRenewal");
    let t = now();
    let paid_end = t + DAY;
    for event in [
        c.checkout(t - 29 * DAY, "subscription", "paid"),
        c.subscription("s1", t - 29 * DAY, "active", paid_end, PRICE_PRO_MONTHLY),
        c.invoice("i1", t - 29 * DAY, "paid", paid_end),
        c.subscription(
            "s2",
            t - 10,
            "past_due",
            paid_end + 30 * DAY,
            PRICE_PRO_MONTHLY,
        ),
        c.invoice("i2", t - 10, "open", paid_end + 30 * DAY),
    ] {
        assert!(deliver(&http, &event).await);
    }
    let answer = activate(&http, &c).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(
        (body["active"].clone(), body["paymentIssue"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(
        expiry(&body),
        Some(paid_end + GRACE),
        "not the unpaid period's end"
    );
    assert_eq!(body["currentPeriodEndIso"], json!(iso(paid_end + 30 * DAY)));
    let late = c.invoice("i2p", t - 5, "paid", paid_end + 30 * DAY);
    assert!(deliver(&http, &late).await);
    let refreshed = activate(&http, &c).await.json();
    assert_eq!(
        expiry(&refreshed),
        Some(paid_end + 30 * DAY + GRACE),
        "paid late: full period"
    );
}

#[tokio::test]
async fn another_price_and_the_other_mode_grant_nothing() {
    let http = Http::new(&shared().base_url);
    let t = now();
    let other = Customer::new("OtherPrice");
    assert!(
        deliver(
            &http,
            &other.checkout(t - 100 * DAY, "subscription", "paid")
        )
        .await
    );
    let sub = other.subscription(
        "s1",
        t - 100 * DAY,
        "active",
        t + 10 * DAY,
        "price_test_other",
    );
    assert!(!deliver(&http, &sub).await, "another price is not handled");
    let body = activate(&http, &other).await.json();
    assert_eq!(body["active"], json!(false), "{body}");
    assert_eq!(body["deviceAccessToken"], Value::Null);

    let live = Customer::new("LiveOnTestKey");
    let mut event = live.checkout(t - 60, "subscription", "paid");
    event["livemode"] = json!(true);
    assert!(!deliver(&http, &event).await, "live event on a test key");
    assert_eq!(activate(&http, &live).await.code(), "checkout_not_found");
}

#[tokio::test]
async fn a_previous_price_keeps_being_recorded_and_granting() {
    let http = Http::new(&shared().base_url);
    let c = Customer::new("PreviousPrice");
    let t = now();
    let end = t + 10 * DAY;
    for event in [
        c.checkout(t - 20 * DAY, "subscription", "paid"),
        c.subscription("s1", t - 20 * DAY, "active", end, PREVIOUS_PRICE),
        c.invoice_priced("i1", t - 20 * DAY, "paid", end, PREVIOUS_PRICE),
    ] {
        assert!(deliver(&http, &event).await, "a previous price is handled");
    }
    let body = activate(&http, &c).await.json();
    assert_eq!(body["active"], json!(true), "{body}");
    assert_eq!(expiry(&body), Some(end + GRACE));
    let cancelled = c.subscription("s2", t - 60, "canceled", t - 60, PREVIOUS_PRICE);
    assert!(
        deliver(&http, &cancelled).await,
        "its cancellation is handled"
    );
    let body = activate(&http, &c).await.json();
    assert_eq!(body["active"], json!(false), "{body}");
}

#[tokio::test]
async fn unpaid_and_payment_mode_checkouts_are_answered_200_and_grant_nothing() {
    let http = Http::new(&shared().base_url);
    let t = now();
    let pending = Customer::new("PaymentPending");
    assert!(!deliver(&http, &pending.checkout(t - 60, "subscription", "unpaid")).await);
    assert_eq!(activate(&http, &pending).await.code(), "checkout_not_found");
    let payment = Customer::new("PaymentMode");
    let event = payment.checkout(t - 60, "payment", "paid");
    assert_eq!(event["data"]["object"]["customer"], Value::Null);
    assert!(!deliver(&http, &event).await);
    assert_eq!(activate(&http, &payment).await.code(), "checkout_not_found");
}

#[tokio::test]
async fn a_paid_invoice_after_deletion_does_not_revive_access() {
    let http = Http::new(&shared().base_url);
    let c = Customer::new("PaidAfterDeletion");
    let t = now();
    for event in [
        c.checkout(t - 5 * DAY, "subscription", "paid"),
        c.subscription("s1", t - 5 * DAY, "active", t + 25 * DAY, PRICE_PRO_MONTHLY),
        c.invoice("i1", t - 5 * DAY, "paid", t + 25 * DAY),
        c.subscription("s2", t - 60, "canceled", t + 25 * DAY, PRICE_PRO_MONTHLY),
        c.invoice("i9", t - 30, "paid", t - 60),
    ] {
        assert!(deliver(&http, &event).await);
    }
    let body = activate(&http, &c).await.json();
    assert_eq!(
        (body["active"].clone(), body["status"].clone()),
        (json!(false), json!("canceled"))
    );
}

#[tokio::test]
async fn without_stripe_data_the_fallback_is_24_hours_and_only_within_72_hours() {
    let http = Http::new(&shared().base_url);
    let t = now();
    let fresh = Customer::new("FreshCheckout");
    assert!(deliver(&http, &fresh.checkout(t - 60, "subscription", "paid")).await);
    let body = activate(&http, &fresh).await.json();
    assert_eq!(body["active"], json!(true), "{body}");
    let expires = expiry(&body).expect("a token");
    assert!(
        (t + DAY - 5..=t + DAY + 120).contains(&expires),
        "24 h: {expires} vs {t}"
    );

    let stale = Customer::new("StaleCheckout");
    assert!(
        deliver(
            &http,
            &stale.checkout(t - 73 * 3600, "subscription", "paid")
        )
        .await
    );
    let body = activate(&http, &stale).await.json();
    assert_eq!(
        body["active"],
        json!(false),
        "73 h after checkout without Stripe data"
    );
}

#[tokio::test]
async fn a_verified_malformed_event_is_recorded_and_answered_200() {
    let worker = shared();
    let http = Http::new(&worker.base_url);
    let event = json!({"id": "evt_MalformedButSigned", "type": "invoice.paid", "created": now(),
        "data": {"object": {"id": 5}}});
    assert!(!deliver(&http, &event).await);
    let again = serde_json::to_vec(&event).expect("serialises");
    let signature = signature_header(STRIPE_WEBHOOK_SECRET, now(), &again);
    let headers = [
        ("content-type", "application/json"),
        ("stripe-signature", signature.as_str()),
    ];
    let answer = http
        .send("POST", "/api/billing/webhook", &headers, again)
        .await;
    assert_eq!(answer.json()["duplicate"], json!(true));
}

/// Settle on read: only `checkout.session.completed` reached the Worker; license status reads
/// the subscription and its latest invoice from the emulator and answers with the real period.
#[tokio::test]
async fn activation_with_only_the_checkout_event_settles_from_stripe() {
    use nyra_emulator::{Config, Emulator};
    let config = Config::new(STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET);
    let emulator = Emulator::start(([127, 0, 0, 1], 0).into(), config)
        .await
        .expect("emulator starts");
    let worker = Worker::start(WorkerOptions::local(&emulator.base_url()))
        .await
        .expect("worker starts");
    let http = Http::new(&worker.base_url);
    let device = "dev_test_SettleOnRead";
    let checkout = http
        .post_json("/api/billing/checkout", &[], &json!({"deviceId": device}))
        .await;
    assert_eq!(checkout.status, 200, "{}", checkout.json());
    let session = checkout.json()["checkoutSessionId"]
        .as_str()
        .expect("a session")
        .to_owned();
    let code = checkout.json()["activationCode"]
        .as_str()
        .expect("a code")
        .to_owned();
    let pay = format!(
        "{}/_emulator/checkout/sessions/{session}/pay",
        emulator.base_url()
    );
    let paid = reqwest::Client::new()
        .post(pay)
        .json(&json!({}))
        .send()
        .await;
    assert!(paid.is_ok_and(|r| r.status().is_success()));
    let log: Value = reqwest::get(format!("{}/_emulator/events", emulator.base_url()))
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    let events = log["events"].as_array().cloned().unwrap_or_default();
    let find = |kind: &str| {
        events
            .iter()
            .map(|e| e["event"].clone())
            .find(|e| e["type"] == kind)
            .unwrap_or_else(|| panic!("the emulator made {kind}"))
    };
    assert!(deliver(&http, &find("checkout.session.completed")).await);
    let period_end = find("customer.subscription.created")["data"]["object"]["items"]["data"][0]
        ["current_period_end"]
        .as_i64()
        .expect("a period end");
    let target = format!(
        "/api/license/status?deviceId={device}&checkoutSessionId={session}&activationCode={code}"
    );
    let bearer = format!("Bearer {LICENSE_API_TOKEN}");
    let body = http
        .get(&target, &[("authorization", &bearer)])
        .await
        .json();
    assert_eq!(body["active"], json!(true), "{body}");
    assert_eq!(body["status"], json!("active"));
    assert_eq!(body["currentPeriodEndIso"], json!(iso(period_end)));
    assert_eq!(
        expiry(&body),
        Some(period_end + GRACE),
        "settled: the paid period"
    );
}

// ---- the emulator's scenario shapes through the real Worker ---------------------------------

/// A Worker wired to its own emulator for the scenarios only the emulator makes (async payment,
/// payment mode, a final invoice after deletion). None moves the clock; each uses its own device.
fn emulated() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    Stack::shared(&STACK)
}

/// A Worker checkout for `device`: the session id and its activation code.
async fn worker_checkout(stack: &Stack, device: &str) -> (String, String) {
    let answer = stack
        .http()
        .post_json(CHECKOUT, &[], &json!({"deviceId": device}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json());
    let text = |name: &str| answer.json()[name].as_str().expect(name).to_owned();
    (text("checkoutSessionId"), text("activationCode"))
}

async fn first_activation(http: &Http, device: &str, (session, code): &(String, String)) -> Answer {
    let target = format!(
        "/api/license/status?deviceId={device}&checkoutSessionId={session}&activationCode={code}"
    );
    let bearer = format!("Bearer {LICENSE_API_TOKEN}");
    http.get(&target, &[("authorization", &bearer)]).await
}

/// The emulator's events of `kind` about `object_id`, oldest first.
async fn emitted(stack: &Stack, kind: &str, object_id: &str) -> Vec<Value> {
    let log: Value = reqwest::get(format!("{}/_emulator/events", stack.emulator))
        .await
        .expect("the emulator answers")
        .json()
        .await
        .expect("json");
    let events = log["events"].as_array().cloned().unwrap_or_default();
    events
        .into_iter()
        .map(|e| e["event"].clone())
        .filter(|e| e["type"] == kind && e["data"]["object"]["id"] == object_id)
        .collect()
}

/// Whether the Worker used the latest event of `kind` about `object_id` (the emulator already
/// delivered it; delivering it again is a duplicate that still says `handled`).
async fn handled(stack: &Stack, kind: &str, object_id: &str) -> bool {
    let events = emitted(stack, kind, object_id).await;
    let event = events.last().unwrap_or_else(|| panic!("no {kind}"));
    deliver(&stack.http(), event).await
}

/// Pays `session` by a processing bank debit; every event reaches the Worker.
async fn pay_async(stack: &Stack, session: &str) {
    let path = format!("/_emulator/checkout/sessions/{session}/pay");
    stack.control_delivered(&path, json!({"async": true})).await;
}

async fn settle_async(stack: &Stack, session: &str, outcome: &str) -> Value {
    let path = format!("/_emulator/checkout/sessions/{session}/async");
    stack
        .control_delivered(&path, json!({"outcome": outcome}))
        .await
}

#[tokio::test]
async fn an_async_payment_licenses_nothing_while_pending_then_the_paid_period() {
    let stack = emulated();
    let http = stack.http();
    let device = "dev_test_AsyncSucceeded";
    let checkout = worker_checkout(stack, device).await;
    let session = checkout.0.clone();
    pay_async(stack, &session).await;
    assert!(!handled(stack, "checkout.session.completed", &session).await);
    let pending = first_activation(&http, device, &checkout).await;
    assert_eq!(
        (pending.status, pending.code().as_str()),
        (404, "checkout_not_found")
    );

    settle_async(stack, &session, "succeeded").await;
    assert!(handled(stack, "checkout.session.async_payment_succeeded", &session).await);
    let answer = first_activation(&http, device, &checkout).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(
        (body["active"].clone(), body["status"].clone()),
        (json!(true), json!("active")),
        "{body}"
    );
    let period_end = body["currentPeriodEndIso"]
        .as_str()
        .and_then(parse_iso)
        .expect("a period end");
    assert_eq!(expiry(&body), Some(period_end + GRACE), "the paid period");
}

#[tokio::test]
async fn a_failed_async_payment_licenses_nothing() {
    let stack = emulated();
    let device = "dev_test_AsyncFailed";
    let checkout = worker_checkout(stack, device).await;
    let session = checkout.0.clone();
    pay_async(stack, &session).await;
    settle_async(stack, &session, "failed").await;
    assert!(handled(stack, "checkout.session.async_payment_failed", &session).await);
    let answer = first_activation(&stack.http(), device, &checkout).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (404, "checkout_not_found")
    );
    let rows = stack
        .worker
        .d1(&format!(
            "SELECT status, checkout_session_id FROM billing_customers WHERE device_id = '{device}'"
        ))
        .expect("d1 query");
    assert_eq!(
        (
            rows[0]["status"].clone(),
            rows[0]["checkout_session_id"].clone()
        ),
        (json!("incomplete_expired"), Value::Null)
    );
}

#[tokio::test]
async fn a_payment_mode_checkout_is_answered_200_unhandled_and_grants_nothing() {
    let stack = emulated();
    let device = "dev_test_PaymentLink";
    let form = format!(
        "mode=payment&line_items[0][price]=price_test_local_sticker_pack_one_time\
         &line_items[0][quantity]=1&success_url=http://127.0.0.1:9/ok\
         &cancel_url=http://127.0.0.1:9/cancel&client_reference_id={device}"
    );
    let created: Value = reqwest::Client::new()
        .post(format!("{}/v1/checkout/sessions", stack.emulator))
        .bearer_auth(STRIPE_SECRET_KEY)
        .header("stripe-version", nyra_emulator::CLOVER)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("the emulator answers")
        .json()
        .await
        .expect("json");
    let session = created["id"].as_str().expect("a session").to_owned();
    let path = format!("/_emulator/checkout/sessions/{session}/pay");
    stack.control_delivered(&path, json!({})).await;
    let completed = emitted(stack, "checkout.session.completed", &session).await;
    let object = &completed[0]["data"]["object"];
    assert_eq!(
        (object["mode"].clone(), object["customer"].clone()),
        (json!("payment"), Value::Null)
    );
    assert!(!handled(stack, "checkout.session.completed", &session).await);
    // A session this service did not create has no activation code: it cannot be activated.
    let guessed = (session, CODE.to_owned());
    let answer = first_activation(&stack.http(), device, &guessed).await;
    assert_eq!(answer.code(), "activation_code_invalid");
}

#[tokio::test]
async fn a_zero_dollar_final_invoice_after_an_immediate_cancel_does_not_revive_access() {
    let stack = emulated();
    let http = stack.http();
    let device = "dev_test_FinalInvoice";
    let (session, code, pay) = stack.checkout_and_pay(&json!({"deviceId": device})).await;
    let checkout = (session, code);
    let first = first_activation(&http, device, &checkout).await.json();
    assert_eq!(first["active"], json!(true), "{first}");
    let token = first["deviceAccessToken"]
        .as_str()
        .expect("a token")
        .to_owned();
    let sub = pay["subscription"].as_str().expect("a subscription");
    let cancelled = stack
        .control_delivered(
            &format!("/_emulator/subscriptions/{sub}/cancel"),
            json!({"invoice_now": true}),
        )
        .await;
    let invoice = cancelled["invoice"].as_str().expect("the final invoice");
    assert!(
        handled(stack, "invoice.paid", invoice).await,
        "the $0 invoice is ours"
    );
    let bearer = format!("Bearer {token}");
    let after = http
        .get(
            &format!("/api/license/status?deviceId={device}"),
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(after.status, 200);
    let body = after.json();
    assert_eq!(
        (body["active"].clone(), body["status"].clone()),
        (json!(false), json!("canceled")),
        "{body}"
    );
    assert_eq!(body["deviceAccessToken"], Value::Null);
}
