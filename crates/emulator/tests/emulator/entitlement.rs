//! The event shapes issue 13's scenarios need, as the emulator emits them: each parses with
//! `nyra_domain::webhook::event::parse`, and the events delivered in order through the Worker's
//! own SQL (`state::plan` into SQLite with the migrations) give the licence answer the README's
//! "What grants access" table promises.

use nyra_domain::license::{EntitlementInput, evaluate};
use nyra_domain::webhook::event::parse;
use nyra_domain::webhook::state::{Expect, SqlValue, plan};
use rusqlite::Connection;
use rusqlite::types::Value as Db;
use serde_json::{Value, json};

use super::{
    PRICE, Receiver, SK, checkout_form, control, create_session, event_ids, json_of,
    paid_subscription, start, stripe_post,
};
use nyra_emulator::CLOVER;

const GRACE_HOURS: i64 = 168;
const GRACE: i64 = GRACE_HOURS * 3600;
const ONE_TIME: &str = "price_test_local_sticker_pack_one_time";
const TEST_KEY: Expect = Expect {
    price_id: PRICE,
    previous_prices: &[],
    livemode: false,
};

/// The licence answer: active, its grace boundary (the token expiry before the 45-day cap),
/// payment issue.
type Licence = (bool, Option<i64>, bool);

const DENIED: Licence = (false, None, false);

fn migrated() -> Connection {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("migrations dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let conn = Connection::open_in_memory().expect("sqlite opens");
    for file in files {
        let sql = std::fs::read_to_string(&file).expect("migration reads");
        conn.execute_batch(&sql).expect("migration applies");
    }
    conn
}

fn to_db(value: &SqlValue) -> Db {
    match value {
        SqlValue::Null => Db::Null,
        SqlValue::Integer(i) => Db::Integer(*i),
        SqlValue::Text(t) => Db::Text(t.clone()),
    }
}

/// The Worker's view of a run of events: each parsed and planned, the plans applied in order.
struct Ledger {
    conn: Connection,
    /// `(type, why it was not used)` per event, in order.
    outcomes: Vec<(String, Option<&'static str>)>,
}

impl Ledger {
    fn new() -> Ledger {
        Ledger {
            conn: migrated(),
            outcomes: Vec::new(),
        }
    }

    fn apply(&mut self, events: &[Value]) {
        for json in events {
            let body = serde_json::to_vec(json).expect("serialises");
            let event = parse(&body).unwrap_or_else(|e| panic!("{}: {e}", json["type"]));
            let plan = plan(&event, &TEST_KEY, "2026-03-01T00:00:00Z");
            for s in &plan.statements {
                let params = rusqlite::params_from_iter(s.params.iter().map(to_db));
                self.conn.execute(s.sql, params).expect("statement runs");
            }
            self.outcomes
                .push((event.event_type.to_string(), plan.ignored));
        }
    }

    /// Why the (first) event of `kind` was not used; `None` when it was.
    fn ignored(&self, kind: &str) -> Option<&'static str> {
        self.outcomes
            .iter()
            .find(|(t, _)| t == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
            .1
    }

    /// The licence answer for `customer` at `now`, as license status decides it.
    fn licence(&self, customer: &str, now: i64) -> Licence {
        let row = self.conn.query_row(
            "SELECT status, current_period_end, paid_through, checkout_completed_at \
             FROM billing_customers WHERE customer_id = ?1",
            [customer],
            |r| {
                Ok(EntitlementInput {
                    status: r.get(0)?,
                    current_period_end: r.get(1)?,
                    paid_through: r.get(2)?,
                    checkout_completed_at: r.get(3)?,
                    mode_matches: true,
                })
            },
        );
        let Ok(input) = row else {
            return DENIED;
        };
        let d = evaluate(&input, now, GRACE_HOURS);
        let boundary = d.offline_grace_ends_at.filter(|_| d.active);
        (d.active, boundary, d.active && d.payment_issue)
    }

    fn column(&self, customer: &str, column: &str) -> Option<String> {
        let sql = format!("SELECT {column} FROM billing_customers WHERE customer_id = ?1");
        self.conn
            .query_row(&sql, [customer], |r| r.get::<_, Option<String>>(0))
            .ok()
            .flatten()
    }
}

fn of_type(events: &[Value], kind: &str) -> Value {
    events
        .iter()
        .find(|e| e["type"] == kind)
        .map(|e| e["data"]["object"].clone())
        .unwrap_or_else(|| panic!("no {kind}"))
}

fn text(value: &Value, field: &str) -> String {
    value[field].as_str().expect(field).to_owned()
}

fn int(value: &Value) -> i64 {
    value.as_i64().expect("an integer")
}

fn period_end(subscription: &Value) -> i64 {
    int(&subscription["items"]["data"][0]["current_period_end"])
}

/// An emulator wired to a receiver, with an open subscription session paid asynchronously.
async fn paid_async() -> (nyra_emulator::Emulator, Receiver, String, Value) {
    let (receiver, url) = Receiver::start().await;
    let emu = start(Some(url)).await;
    let base = emu.base_url();
    let session = json_of(create_session(&base, &checkout_form()).await).await;
    let id = text(&session, "id");
    let path = format!("/_emulator/checkout/sessions/{id}/pay");
    let answer = control(&base, &path, json!({ "async": true })).await;
    (emu, receiver, id, answer)
}

#[tokio::test]
async fn an_async_payment_grants_only_once_it_succeeds() {
    let (emu, receiver, session, paid) = paid_async().await;
    assert_eq!(
        event_ids(&paid),
        [
            "customer.created",
            "checkout.session.completed",
            "customer.subscription.created",
            "invoice.created",
            "invoice.finalized"
        ]
    );
    let events = receiver.events();
    let completed = of_type(&events, "checkout.session.completed");
    assert_eq!(
        (&completed["status"], &completed["payment_status"]),
        (&json!("complete"), &json!("unpaid"))
    );
    let sub = of_type(&events, "customer.subscription.created");
    assert_eq!(sub["status"], "incomplete");
    assert_eq!(of_type(&events, "invoice.finalized")["status"], "open");
    let customer = text(&paid, "customer");
    let mut ledger = Ledger::new();
    ledger.apply(&events);
    assert_eq!(
        ledger.ignored("checkout.session.completed"),
        Some("checkout session is not paid yet")
    );
    assert_eq!(ledger.ignored("customer.subscription.created"), None);
    let now = int(&paid["now"]);
    assert_eq!(ledger.licence(&customer, now + 60), DENIED, "pending");
    assert_eq!(ledger.column(&customer, "checkout_session_id"), None);

    let base = emu.base_url();
    let path = format!("/_emulator/checkout/sessions/{session}/async");
    let settled = control(&base, &path, json!({ "outcome": "succeeded" })).await;
    assert_eq!(
        event_ids(&settled),
        [
            "invoice.paid",
            "invoice.payment_succeeded",
            "customer.subscription.updated",
            "checkout.session.async_payment_succeeded",
            "entitlements.active_entitlement_summary.updated"
        ]
    );
    let later = receiver.events()[events.len()..].to_vec();
    let succeeded = of_type(&later, "checkout.session.async_payment_succeeded");
    assert_eq!(succeeded["payment_status"], "paid");
    assert_eq!(succeeded["subscription"], sub["id"]);
    let updated = &later
        .iter()
        .find(|e| e["type"] == "customer.subscription.updated")
        .expect("an update")["data"];
    assert_eq!(updated["object"]["status"], "active");
    assert_eq!(updated["previous_attributes"]["status"], "incomplete");
    assert_eq!(
        of_type(&later, "invoice.paid")["lines"]["data"][0]["period"]["end"],
        json!(period_end(&sub))
    );
    ledger.apply(&later);
    assert_eq!(
        ledger.ignored("checkout.session.async_payment_succeeded"),
        None
    );
    assert_eq!(
        ledger.column(&customer, "checkout_session_id"),
        Some(session)
    );
    let now = int(&settled["now"]);
    assert_eq!(
        ledger.licence(&customer, now + 60),
        (true, Some(period_end(&sub) + GRACE), false)
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_failed_async_payment_grants_nothing() {
    let (emu, receiver, session, paid) = paid_async().await;
    let base = emu.base_url();
    let path = format!("/_emulator/checkout/sessions/{session}/async");
    let failed = control(&base, &path, json!({ "outcome": "failed" })).await;
    assert_eq!(
        event_ids(&failed),
        [
            "invoice.payment_failed",
            "checkout.session.async_payment_failed",
            "customer.subscription.updated"
        ]
    );
    let events = receiver.events();
    let checkout = of_type(&events, "checkout.session.async_payment_failed");
    assert_eq!(checkout["payment_status"], "unpaid");
    let expired = of_type(&events, "customer.subscription.updated");
    assert_eq!(expired["status"], "incomplete_expired");
    assert!(expired["ended_at"].is_i64());
    let mut ledger = Ledger::new();
    ledger.apply(&events);
    assert_eq!(
        ledger.ignored("checkout.session.async_payment_failed"),
        None
    );
    let customer = text(&paid, "customer");
    assert_eq!(ledger.licence(&customer, int(&failed["now"]) + 60), DENIED);
    assert_eq!(
        ledger.column(&customer, "status").as_deref(),
        Some("incomplete_expired")
    );

    let again = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&json!({ "outcome": "succeeded" }))
        .send()
        .await
        .expect("settle again");
    assert_eq!(again.status(), 409, "nothing pending any more");
    let sub = text(&paid, "subscription");
    let renew = reqwest::Client::new()
        .post(format!("{base}/_emulator/subscriptions/{sub}/renew"))
        .send()
        .await
        .expect("renew");
    assert_eq!(renew.status(), 409, "an expired subscription never renews");
    emu.shutdown().await;
}

/// A payment-mode session for a one-time price, like a Payment Link opened with a device id.
fn payment_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("mode", "payment"),
        ("line_items[0][price]", ONE_TIME),
        ("line_items[0][quantity]", "1"),
        ("success_url", "http://127.0.0.1:8787/ok"),
        ("cancel_url", "http://127.0.0.1:8787/cancel"),
        ("client_reference_id", "device-0001"),
    ]
}

#[tokio::test]
async fn a_payment_mode_checkout_completes_without_customer_or_subscription() {
    let (receiver, url) = Receiver::start().await;
    let emu = start(Some(url)).await;
    let base = emu.base_url();
    let session = json_of(create_session(&base, &payment_form()).await).await;
    assert_eq!(
        (&session["mode"], &session["customer_creation"]),
        (&json!("payment"), &json!("if_required"))
    );
    let id = text(&session, "id");
    let path = format!("/_emulator/checkout/sessions/{id}/pay");
    let paid = control(&base, &path, json!({})).await;
    assert_eq!(event_ids(&paid), ["checkout.session.completed"]);
    let completed = of_type(&receiver.events(), "checkout.session.completed");
    assert_eq!(completed["mode"], "payment");
    assert_eq!(completed["payment_status"], "paid");
    assert_eq!(completed["customer"], Value::Null);
    assert_eq!(completed["subscription"], Value::Null);
    assert_eq!(completed["invoice"], Value::Null);
    assert_eq!(completed["metadata"], json!({}));
    assert_eq!(completed["client_reference_id"], "device-0001");
    assert!(text(&completed, "payment_intent").starts_with("pi_test_"));
    let mut ledger = Ledger::new();
    ledger.apply(&receiver.events());
    assert_eq!(
        ledger.ignored("checkout.session.completed"),
        Some("checkout session is not a subscription checkout")
    );

    let mut form = payment_form();
    form.push(("customer_creation", "always"));
    let session = json_of(create_session(&base, &form).await).await;
    let path = format!("/_emulator/checkout/sessions/{}/pay", text(&session, "id"));
    let paid = control(&base, &path, json!({})).await;
    assert_eq!(
        event_ids(&paid),
        ["customer.created", "checkout.session.completed"]
    );
    let completed = of_type(&receiver.events()[1..], "checkout.session.completed");
    assert_eq!(completed["customer"], paid["customer"]);
    emu.shutdown().await;
}

#[tokio::test]
async fn payment_mode_is_validated_like_stripe() {
    let emu = start(None).await;
    let base = emu.base_url();
    let recurring: Vec<_> = payment_form()
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                if k == "line_items[0][price]" {
                    PRICE
                } else {
                    v
                },
            )
        })
        .collect();
    let one_time_in_subscription: Vec<_> = checkout_form()
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                if k == "line_items[0][price]" {
                    ONE_TIME
                } else {
                    v
                },
            )
        })
        .collect();
    let mut subscription_data = payment_form();
    subscription_data.push(("subscription_data[metadata][deviceId]", "device-0001"));
    let mut creation_in_subscription = checkout_form();
    creation_in_subscription.push(("customer_creation", "always"));
    let mut setup = payment_form();
    setup.push(("mode", "setup"));
    for (form, param) in [
        (recurring, "line_items[0][price]"),
        (one_time_in_subscription, "line_items[0][price]"),
        (subscription_data, "subscription_data"),
        (creation_in_subscription, "customer_creation"),
        (setup, "mode"),
    ] {
        let resp = stripe_post(&base, "/v1/checkout/sessions", &form, SK, CLOVER, None).await;
        assert_eq!(resp.status(), 400, "{param}");
        let err = json_of(resp).await["error"].clone();
        assert_eq!(err["type"], "invalid_request_error");
        assert_eq!(err["param"], param);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn cancelling_now_with_a_final_invoice_pays_zero_after_the_deletion() {
    let (emu, receiver, paid) = paid_subscription().await;
    let base = emu.base_url();
    let sub = text(&paid, "subscription");
    let path = format!("/_emulator/subscriptions/{sub}/cancel");
    let cancelled = control(&base, &path, json!({ "invoice_now": true })).await;
    assert_eq!(
        event_ids(&cancelled),
        [
            "customer.subscription.deleted",
            "invoice.created",
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_succeeded"
        ]
    );
    let events = receiver.events();
    let deleted = of_type(&events, "customer.subscription.deleted");
    let invoices: Vec<Value> = events
        .iter()
        .filter(|e| e["type"] == "invoice.paid")
        .map(|e| e["data"]["object"].clone())
        .collect();
    let last = invoices.last().expect("the final invoice");
    assert_eq!(
        (&last["status"], &last["total"], &last["amount_paid"]),
        (&json!("paid"), &json!(0), &json!(0))
    );
    let line = &last["lines"]["data"][0];
    assert_eq!(line["pricing"]["price_details"]["price"], PRICE);
    assert_eq!(line["amount"], 0);
    assert_eq!(line["period"]["end"], deleted["ended_at"]);
    assert_eq!(
        line["parent"]["subscription_item_details"]["proration"],
        true
    );
    let mut ledger = Ledger::new();
    ledger.apply(&events);
    let customer = text(&paid, "customer");
    let now = int(&cancelled["now"]);
    assert_eq!(ledger.licence(&customer, now + 60), DENIED);
    assert_eq!(
        ledger.column(&customer, "status").as_deref(),
        Some("canceled")
    );

    let plain = paid_subscription().await;
    let sub = text(&plain.2, "subscription");
    let path = format!("/_emulator/subscriptions/{sub}/cancel");
    let answer = control(&plain.0.base_url(), &path, json!({})).await;
    assert_eq!(event_ids(&answer), ["customer.subscription.deleted"]);
    plain.0.shutdown().await;
    emu.shutdown().await;
}

#[tokio::test]
async fn a_failed_renewal_licenses_the_paid_period_only_until_paid_late() {
    let (emu, receiver, paid) = paid_subscription().await;
    let base = emu.base_url();
    let sub = text(&paid, "subscription");
    let customer = text(&paid, "customer");
    let paid_end = period_end(&of_type(
        &receiver.events(),
        "customer.subscription.created",
    ));
    let act = |action: &str| format!("/_emulator/subscriptions/{sub}/{action}");
    let failed = control(&base, &act("fail_payment"), json!({})).await;
    let mut ledger = Ledger::new();
    ledger.apply(&receiver.events());
    let now = int(&failed["now"]);
    assert_eq!(
        ledger.licence(&customer, now + 60),
        (true, Some(paid_end + GRACE), true),
        "past due: the old period plus grace"
    );

    let seen = receiver.events().len();
    let late = control(&base, &act("renew"), json!({})).await;
    ledger.apply(&receiver.events()[seen..]);
    assert_eq!(
        ledger.licence(&customer, int(&late["now"]) + 60),
        (true, Some(paid_end + 30 * 86_400 + GRACE), false),
        "paid late: the full new period"
    );
    emu.shutdown().await;
}
