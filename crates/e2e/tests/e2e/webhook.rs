//! Webhook ingest against the real Worker and local D1: verification, idempotency, order, atomicity, load (direct and queue mode), queue retries and dead letters, fuzz.

use crate::util::{
    UNUSED_STRIPE, WEBHOOK, deliver, event_id, event_json, now, post_webhook, random_bytes,
};
use fastrand::Rng;
use nyra_domain::webhook::verify::signature_header;
use nyra_e2e::http::{Answer, Http};
use nyra_e2e::secrets::STRIPE_WEBHOOK_SECRET;
use nyra_e2e::worker::QueueSettings;
use nyra_e2e::{Worker, WorkerOptions};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The lifecycle of one subscription, in `created` order (the fixtures' times are distinct).
const LIFECYCLE: [&str; 6] = [
    "customer.subscription.created",
    "checkout.session.completed",
    "invoice.paid",
    "customer.subscription.updated",
    "invoice.payment_failed",
    "customer.subscription.deleted",
];
/// The lifecycle plus a handled summary and an unhandled type.
const ALL_KINDS: [&str; 8] = [
    "customer.created",
    "customer.subscription.created",
    "checkout.session.completed",
    "invoice.paid",
    "entitlements.active_entitlement_summary.updated",
    "customer.subscription.updated",
    "invoice.payment_failed",
    "customer.subscription.deleted",
];

// ---- helpers ------------------------------------------------------------------------------

async fn start(options: WorkerOptions) -> (Worker, Http) {
    let worker = Worker::start(options).await.expect("worker starts");
    let http = Http::new(&worker.base_url);
    (worker, http)
}

async fn local() -> (Worker, Http) {
    start(WorkerOptions::local(UNUSED_STRIPE)).await
}

fn event(kind: &str, tag: &str) -> Vec<u8> {
    serde_json::to_vec(&event_json(kind, tag)).expect("serialises")
}

fn customer(tag: &str) -> String {
    format!("cus_test_{tag}01")
}

/// `(duplicate, handled)` of a 200 acknowledgement (panics on anything else).
fn ack(answer: &Answer) -> (bool, bool) {
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let body = answer.json();
    assert_eq!(body["received"], true);
    let flag = |name: &str| body[name].as_bool().expect("a boolean");
    (flag("duplicate"), flag("handled"))
}

fn query(worker: &Worker, sql: &str) -> Vec<Value> {
    match worker.d1(sql).expect("d1 answers") {
        Value::Array(rows) => rows,
        other => panic!("rows expected, got {other}"),
    }
}

fn count(worker: &Worker, sql: &str) -> i64 {
    query(worker, sql)[0]["n"].as_i64().expect("a count")
}

/// `(processed_events rows, billing_customers rows)`, in one wrangler call.
fn counts(worker: &Worker) -> (i64, i64) {
    let sql = "SELECT (SELECT COUNT(*) FROM processed_events) AS events, \
               (SELECT COUNT(*) FROM billing_customers) AS customers";
    let row = &query(worker, sql)[0];
    let get = |name: &str| row[name].as_i64().expect("a count");
    (get("events"), get("customers"))
}

fn processed(worker: &Worker) -> i64 {
    count(worker, "SELECT COUNT(*) AS n FROM processed_events")
}

/// The billing rows whose customer id starts with `cus_test_{prefix}`, keyed by customer id.
fn rows(worker: &Worker, prefix: &str) -> Vec<Value> {
    query(
        worker,
        &format!(
            "SELECT * FROM billing_customers WHERE customer_id LIKE 'cus_test_{prefix}%' \
             ORDER BY customer_id"
        ),
    )
}

/// A row without `updated_at` (the one order-dependent column) and with `tag` made generic.
fn normalized(row: &Value, tag: &str) -> String {
    let mut row = row.clone();
    if let Some(map) = row.as_object_mut() {
        map.remove("updated_at");
    }
    row.to_string().replace(tag, "TAG")
}

/// Checks the end state of the fixture lifecycle (plus, if delivered, the summary).
fn assert_lifecycle_end(row: &Value, tag: &str) {
    assert_eq!(row["customer_id"], customer(tag));
    assert_eq!(row["status"], "canceled");
    assert_eq!(row["entitlement"], "none");
    assert_eq!(row["subscription_id"], format!("sub_test_{tag}01"));
    assert_eq!(row["checkout_session_id"], format!("cs_test_a1{tag}01"));
    assert_eq!(row["device_id"], "dev_test_7f3c9a12");
    assert_eq!(row["email"], "buyer@example.test");
    assert_eq!(row["last_invoice_id"], format!("in_test_{tag}02"));
    assert_eq!(row["price_id"], "price_test_local_pro_monthly");
}

/// Delivers several bodies with at most `parallel` in flight; returns the answers in input order.
async fn deliver_all(http: &Http, bodies: Vec<Vec<u8>>, parallel: usize) -> Vec<Answer> {
    let gate = Arc::new(Semaphore::new(parallel));
    let mut tasks = JoinSet::new();
    for (index, body) in bodies.into_iter().enumerate() {
        let (http, gate) = (http.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            (index, deliver(&http, body).await)
        });
    }
    let mut answers: Vec<(usize, Answer)> = tasks.join_all().await;
    answers.sort_by_key(|(index, _)| *index);
    answers.into_iter().map(|(_, answer)| answer).collect()
}

/// Printable ASCII (what an HTTP header value may hold).
fn printable(rng: &mut Rng, len: usize) -> String {
    (0..len).map(|_| char::from(rng.u8(b'!'..=b'~'))).collect()
}

// ---- verification -------------------------------------------------------------------------

#[tokio::test]
async fn webhook_rejects_each_bad_signature_with_its_code_and_writes_nothing() {
    let (worker, http) = local().await;
    let body = event("customer.subscription.updated", "Rej_");
    let t = now();
    let cases = [
        (None, "signature_missing"),
        (Some("   ".to_owned()), "signature_missing"),
        (Some("t=soon,v1=zz".to_owned()), "signature_malformed"),
        (Some(format!("t={t}")), "signature_malformed"),
        (
            Some(signature_header("whsec_some_other_secret", t, &body)),
            "signature_mismatch",
        ),
        (
            Some(signature_header(STRIPE_WEBHOOK_SECRET, t, b"{}")),
            "signature_mismatch",
        ),
        (
            Some(signature_header(STRIPE_WEBHOOK_SECRET, t - 360, &body)),
            "timestamp_out_of_tolerance",
        ),
    ];
    for (signature, code) in cases {
        let answer = post_webhook(&http, body.clone(), signature.as_deref()).await;
        assert_eq!((answer.status, answer.code().as_str()), (401, code));
        let text = String::from_utf8_lossy(&answer.body);
        assert!(!text.contains(STRIPE_WEBHOOK_SECRET), "a secret leaked");
    }
    assert_eq!(
        counts(&worker),
        (0, 0),
        "a rejected request wrote something"
    );
    // A verified body that is no usable event is recorded and answered 200 (Stripe would
    // otherwise retry it for days), and grants nothing.
    let malformed_signed = signature_header(STRIPE_WEBHOOK_SECRET, t, b"{\"id\": 1}");
    let parsed = post_webhook(&http, b"{\"id\": 1}".to_vec(), Some(&malformed_signed)).await;
    assert_eq!(ack(&parsed), (false, false));
    assert_eq!(counts(&worker), (1, 0), "claimed, nothing else written");
    // The same body, correctly signed (a future timestamp is accepted, as Stripe's SDKs do).
    let future = signature_header(STRIPE_WEBHOOK_SECRET, t + 3600, &body);
    assert_eq!(
        ack(&post_webhook(&http, body, Some(&future)).await),
        (false, true)
    );
    assert_eq!(counts(&worker), (2, 1));
}

#[tokio::test]
async fn webhook_accepts_either_rotated_secret() {
    let options = WorkerOptions::local(UNUSED_STRIPE).with_secret(
        "STRIPE_WEBHOOK_SECRET",
        "whsec_local_old_xxx,whsec_local_new_xxx",
    );
    let (worker, http) = start(options).await;
    let t = now();
    let old = event("invoice.paid", "RotOld_");
    let new = event("invoice.paid", "RotNew_");
    let both = event("invoice.paid", "RotBoth_");
    let signed_old = signature_header("whsec_local_old_xxx", t, &old);
    let signed_new = signature_header("whsec_local_new_xxx", t, &new);
    assert_eq!(
        ack(&post_webhook(&http, old, Some(&signed_old)).await),
        (false, true)
    );
    assert_eq!(
        ack(&post_webhook(&http, new, Some(&signed_new)).await),
        (false, true)
    );
    let wrong = signature_header("whsec_wrong", t, &both);
    let right = signature_header("whsec_local_new_xxx", t, &both);
    let v1 = right.split_once(",v1=").map_or("", |(_, v)| v);
    let two = format!("{wrong},v1={v1}");
    assert_eq!(
        ack(&post_webhook(&http, both.clone(), Some(&two)).await),
        (false, true)
    );
    let default = signature_header(STRIPE_WEBHOOK_SECRET, t, &both);
    let rejected = post_webhook(&http, both, Some(&default)).await;
    assert_eq!(
        (rejected.status, rejected.code().as_str()),
        (401, "signature_mismatch")
    );
    assert_eq!(processed(&worker), 3);
}

#[tokio::test]
async fn webhook_without_a_secret_answers_503_config_missing() {
    let options = WorkerOptions::local(UNUSED_STRIPE).without_secret("STRIPE_WEBHOOK_SECRET");
    let (_worker, http) = start(options).await;
    let answer = deliver(&http, event("invoice.paid", "NoSecret_")).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (503, "config_missing")
    );
}

// ---- idempotency --------------------------------------------------------------------------

#[tokio::test]
async fn webhook_same_event_twice_is_a_duplicate_and_changes_nothing() {
    let (worker, http) = local().await;
    let body = event("customer.subscription.updated", "Twice_");
    assert_eq!(ack(&deliver(&http, body.clone()).await), (false, true));
    let first = rows(&worker, "Twice_");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["cancel_at_period_end"], 1);
    assert_eq!(ack(&deliver(&http, body).await), (true, true));
    assert_eq!(
        rows(&worker, "Twice_"),
        first,
        "a duplicate changed the row"
    );
    let unhandled = event("customer.created", "Twice_");
    assert_eq!(
        ack(&deliver(&http, unhandled.clone()).await),
        (false, false)
    );
    assert_eq!(ack(&deliver(&http, unhandled).await), (true, false));
    assert_eq!(processed(&worker), 2);
}

#[tokio::test]
async fn webhook_twenty_concurrent_deliveries_record_one_event() {
    let (worker, http) = local().await;
    let body = event("invoice.paid", "Conc_");
    let answers = deliver_all(&http, vec![body; 20], 20).await;
    let acks: Vec<(bool, bool)> = answers.iter().map(ack).collect();
    let fresh = acks.iter().filter(|(duplicate, _)| !duplicate).count();
    assert_eq!(
        fresh, 1,
        "exactly one delivery is not a duplicate: {acks:?}"
    );
    assert!(acks.iter().all(|(_, handled)| *handled));
    let id = event_id("invoice.paid", "Conc_");
    let sql = format!("SELECT COUNT(*) AS n FROM processed_events WHERE event_id = '{id}'");
    assert_eq!(count(&worker, &sql), 1);
    let row = &rows(&worker, "Conc_")[0];
    assert_eq!(
        row["status"],
        Value::Null,
        "an invoice never writes the status"
    );
    let paid_through =
        event_json("invoice.paid", "Conc_")["data"]["object"]["lines"]["data"][0]["period"]["end"]
            .clone();
    assert_eq!(row["paid_through"], paid_through);
    assert_eq!(row["last_invoice_id"], "in_test_Conc_01");
    assert_eq!(row["last_invoice_status"], "paid");
}

// ---- order independence -------------------------------------------------------------------

#[tokio::test]
async fn webhook_lifecycle_in_any_order_ends_in_the_same_row() {
    let (worker, http) = local().await;
    let mut orders: Vec<Vec<&str>> = vec![
        LIFECYCLE.to_vec(),
        LIFECYCLE.iter().rev().copied().collect(),
    ];
    let mut rng = Rng::with_seed(0x5EED_0004);
    for _ in 0..5 {
        let mut order = LIFECYCLE.to_vec();
        rng.shuffle(&mut order);
        orders.push(order);
    }
    let mut tasks = JoinSet::new();
    for (n, order) in orders.iter().enumerate() {
        let (http, order) = (http.clone(), order.clone());
        tasks.spawn(async move {
            let tag = format!("Ord{n}_");
            for kind in order {
                assert_eq!(ack(&deliver(&http, event(kind, &tag)).await), (false, true));
            }
        });
    }
    tasks.join_all().await;
    let rows = rows(&worker, "Ord");
    assert_eq!(rows.len(), orders.len(), "one row per customer, none lost");
    assert_lifecycle_end(&rows[0], "Ord0_");
    let expected = normalized(&rows[0], "Ord0_");
    for (n, row) in rows.iter().enumerate() {
        let tag = format!("Ord{n}_");
        assert_eq!(normalized(row, &tag), expected, "order {:?}", orders[n]);
    }
}

// ---- atomicity ----------------------------------------------------------------------------

#[tokio::test]
async fn webhook_d1_failure_answers_503_and_writes_nothing_until_redelivery() {
    let (worker, http) = local().await;
    worker
        .d1("ALTER TABLE billing_customers RENAME TO billing_customers_off")
        .expect("rename");
    let body = event("checkout.session.completed", "Atom_");
    let failed = deliver(&http, body.clone()).await;
    assert_eq!(
        (failed.status, failed.code().as_str()),
        (503, "storage_unavailable")
    );
    // One wrangler call: check nothing was written, then put the table back.
    let left = query(
        &worker,
        "SELECT (SELECT COUNT(*) FROM processed_events) AS events, \
         (SELECT COUNT(*) FROM billing_customers_off) AS customers; \
         ALTER TABLE billing_customers_off RENAME TO billing_customers",
    );
    assert_eq!(
        left[0],
        json!({"events": 0, "customers": 0}),
        "a failed batch left rows"
    );
    assert_eq!(ack(&deliver(&http, body).await), (false, true));
    assert_eq!(counts(&worker), (1, 1));
    let row = &rows(&worker, "Atom_")[0];
    assert_eq!(row["checkout_session_id"], "cs_test_a1Atom_01");
    assert_eq!(row["device_id"], "dev_test_7f3c9a12");
}

// ---- load ----------------------------------------------------------------------------------

/// How the load test's Worker records webhooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Direct,
    Queue,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_load_2000_deliveries_with_duplicates_lose_nothing() {
    load(Mode::Direct).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_queue_load_2000_deliveries_with_duplicates_lose_nothing() {
    load(Mode::Queue).await;
}

/// 2,000 deliveries of 1,400 unique events (30% duplicates), 16 concurrent: every unique event
/// is recorded exactly once and every customer ends in the reference row. In queue mode every
/// delivery is acknowledged `duplicate: false, handled: true` and the test waits (bounded) until
/// the consumer's `processed_events` count settles.
async fn load(mode: Mode) {
    const CUSTOMERS: usize = 175;
    const DELIVERIES: usize = 2000;
    let options = WorkerOptions::local(UNUSED_STRIPE);
    let (worker, http) = start(match mode {
        Mode::Direct => options,
        Mode::Queue => options.with_webhook_queue(QueueSettings::QUICK),
    })
    .await;
    for kind in ALL_KINDS {
        let handled = kind != "customer.created" || mode == Mode::Queue;
        assert_eq!(
            ack(&deliver(&http, event(kind, "Ref_")).await),
            (false, handled)
        );
    }
    let tag = |c: usize| format!("Ld{c:03}_");
    let unique: Vec<(String, &str)> = (0..CUSTOMERS)
        .flat_map(|c| ALL_KINDS.iter().map(move |k| (tag(c), *k)))
        .collect();
    let mut rng = Rng::with_seed(0x5EED_2000);
    let mut stream: Vec<usize> = (0..unique.len()).collect();
    stream.extend((unique.len()..DELIVERIES).map(|_| rng.usize(..unique.len())));
    rng.shuffle(&mut stream);
    let bodies = stream
        .iter()
        .map(|&i| event(unique[i].1, &unique[i].0))
        .collect();
    let started = Instant::now();
    let answers = deliver_all(&http, bodies, 16).await;
    let answered = started.elapsed();
    let acks: Vec<(bool, bool)> = answers.iter().map(ack).collect();
    let fresh = acks.iter().filter(|(dup, _)| !dup).count();
    let expected_fresh = match mode {
        Mode::Direct => unique.len(),
        Mode::Queue => DELIVERIES,
    };
    assert_eq!(
        fresh, expected_fresh,
        "{mode:?}: fresh acknowledgements (direct: each unique event once; queue: every delivery)"
    );
    let recorded_after = match mode {
        Mode::Direct => answered,
        Mode::Queue => {
            settle(&worker, "evt_%", unique.len() + ALL_KINDS.len()).await;
            started.elapsed()
        }
    };
    eprintln!(
        "webhook load ({mode:?}): {DELIVERIES} deliveries ({} unique, {} duplicates, 16 concurrent) answered in {answered:.2?} = {:.0}/s, all recorded after {recorded_after:.2?} = {:.0} events/s",
        unique.len(),
        DELIVERIES - unique.len(),
        DELIVERIES as f64 / answered.as_secs_f64(),
        unique.len() as f64 / recorded_after.as_secs_f64()
    );
    let recorded = query(
        &worker,
        "SELECT event_id FROM processed_events WHERE event_id LIKE 'evt_Ld%'",
    );
    let mut ids: Vec<&str> = recorded
        .iter()
        .filter_map(|r| r["event_id"].as_str())
        .collect();
    let mut expected: Vec<String> = unique.iter().map(|(t, k)| event_id(k, t)).collect();
    ids.sort_unstable();
    expected.sort_unstable();
    assert_eq!(ids, expected, "every unique event recorded exactly once");
    let reference = normalized(&rows(&worker, "Ref_")[0], "Ref_");
    let loaded = rows(&worker, "Ld");
    assert_eq!(loaded.len(), CUSTOMERS);
    for (c, row) in loaded.iter().enumerate() {
        assert_eq!(normalized(row, &tag(c)), reference, "customer {c}");
    }
    assert_lifecycle_end(&loaded[0], &tag(0));
}

/// Waits (at most [`SETTLE_WITHIN`]) until `processed_events` holds `expected` ids matching
/// `pattern` and the count has not moved for two more looks; panics otherwise.
async fn settle(worker: &Worker, pattern: &str, expected: usize) {
    let sql = format!("SELECT COUNT(*) AS n FROM processed_events WHERE event_id LIKE '{pattern}'");
    let deadline = Instant::now() + SETTLE_WITHIN;
    let mut same = 0;
    let mut last = -1;
    while Instant::now() < deadline {
        let n = count(worker, &sql);
        same = if n == last { same + 1 } else { 0 };
        last = n;
        if usize::try_from(n) == Ok(expected) && same >= 2 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!(
        "processed_events did not settle at {expected} ({pattern}) within {SETTLE_WITHIN:?}: last count {last}"
    );
}

/// How long the queue consumer may take to record what was enqueued.
const SETTLE_WITHIN: Duration = Duration::from_secs(180);

// ---- queue mode ------------------------------------------------------------------------------

/// Makes every write to billing_customers fail (the claim alone still succeeds).
const BREAK_D1: &str = "CREATE TRIGGER break_d1 BEFORE INSERT ON billing_customers \
                        BEGIN SELECT RAISE(ABORT, 'injected d1 failure'); END";

/// The Worker's log lines (wrangler.log) that contain `needle`.
fn log_lines(worker: &Worker, needle: &str) -> Vec<String> {
    let log = std::fs::read_to_string(worker.dir.path().join("wrangler.log")).unwrap_or_default();
    log.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// Waits (bounded) until the log holds a line with `needle`.
async fn wait_for_log(worker: &Worker, needle: &str) {
    let deadline = Instant::now() + SETTLE_WITHIN;
    while log_lines(worker, needle).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no log line {needle:?} within {SETTLE_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn webhook_queue_mode_answers_accepted_and_the_consumer_records_like_direct() {
    let options = WorkerOptions::local(UNUSED_STRIPE).with_webhook_queue(QueueSettings::QUICK);
    let (worker, http) = start(options).await;
    let body = event("customer.subscription.updated", "Qd_");
    assert_eq!(ack(&deliver(&http, body.clone()).await), (false, true));
    assert_eq!(ack(&deliver(&http, body).await), (false, true));
    let unhandled = event("customer.created", "Qd_");
    assert_eq!(ack(&deliver(&http, unhandled).await), (false, true));
    let signed = signature_header(STRIPE_WEBHOOK_SECRET, now(), b"{\"id\": 1}");
    let garbage = post_webhook(&http, b"{\"id\": 1}".to_vec(), Some(&signed)).await;
    assert_eq!(ack(&garbage), (false, true), "accepted for processing");
    let paid = event("invoice.paid", "Qd_");
    let wrong = signature_header("whsec_some_other_secret", now(), &paid);
    let bad = post_webhook(&http, paid, Some(&wrong)).await;
    assert_eq!(
        (bad.status, bad.code().as_str()),
        (401, "signature_mismatch")
    );
    settle(&worker, "%", 3).await;
    assert_eq!(
        counts(&worker),
        (3, 1),
        "two events and the digest-named body, one row"
    );
    let row = &rows(&worker, "Qd_")[0];
    assert_eq!(row["cancel_at_period_end"], 1);
    assert_eq!(row["status"], "active");
}

#[tokio::test]
async fn webhook_queue_d1_failure_retries_then_dead_letters_and_loses_nothing() {
    let settings = QueueSettings {
        max_retries: 2,
        ..QueueSettings::QUICK
    };
    let options = WorkerOptions::local(UNUSED_STRIPE)
        .with_webhook_queue(settings)
        .with_log_level("log");
    let (worker, http) = start(options).await;
    worker.d1(BREAK_D1).expect("trigger");
    let body = event("checkout.session.completed", "Dlq_");
    let id = event_id("checkout.session.completed", "Dlq_");
    assert_eq!(ack(&deliver(&http, body).await), (false, true));
    assert_eq!(
        ack(&deliver(&http, event("customer.created", "Dlq_")).await),
        (false, true)
    );
    wait_for_log(&worker, &format!("webhook dlq: {id}")).await;
    let main_failures = log_lines(
        &worker,
        &format!("webhook queue: {id} checkout.session.completed storage_unavailable"),
    );
    assert_eq!(
        main_failures.len(),
        usize::try_from(settings.max_retries + 1).expect("small"),
        "one failed attempt per delivery on the main lane before the dead-letter queue: {:#?}",
        log_lines(&worker, "webhook")
    );
    let attempts = settings.max_retries + 1;
    let moved = log_lines(&worker, "to dead letter queue");
    assert_eq!(
        moved.len(),
        1,
        "only the failing event is dead-lettered: {moved:?}"
    );
    assert!(
        moved[0].contains(&format!("after {attempts} failed attempts")),
        "{moved:?}"
    );
    // The claim-only event of the failed batch was applied on its own; nothing else was written.
    let unhandled = event_id("customer.created", "Dlq_");
    let left = query(
        &worker,
        "SELECT (SELECT group_concat(event_id) FROM processed_events) AS events, \
         (SELECT COUNT(*) FROM billing_customers) AS customers; DROP TRIGGER break_d1",
    );
    assert_eq!(left[0], json!({"events": unhandled, "customers": 0}));
    settle(&worker, "evt_Dlq_%", 2).await;
    assert!(
        !log_lines(
            &worker,
            &format!("webhook dlq: {id} checkout.session.completed recorded")
        )
        .is_empty()
    );
    let row = &rows(&worker, "Dlq_")[0];
    assert_eq!(row["checkout_session_id"], "cs_test_a1Dlq_01");
    assert_eq!(row["device_id"], "dev_test_7f3c9a12");
}

// ---- malformed input ----------------------------------------------------------------------

/// One hostile request: body, `Stripe-Signature`, content type.
struct Hostile {
    body: Vec<u8>,
    signature: Option<String>,
    content_type: &'static str,
}

const SQLISH: [&str; 4] = [
    "'; DROP TABLE processed_events; --",
    "\" OR 1=1 --",
    "evt_1'); DELETE FROM billing_customers; --",
    "?1 ?2 NULL",
];

/// Builds the `n`th hostile request (a fixed mix of families).
fn hostile(n: usize, rng: &mut Rng, valid: &[u8]) -> Hostile {
    let t = now();
    let signed = |body: Vec<u8>| {
        let signature = Some(signature_header(STRIPE_WEBHOOK_SECRET, t, &body));
        Hostile {
            body,
            signature,
            content_type: "application/json",
        }
    };
    let with = |body: Vec<u8>, signature: Option<String>| Hostile {
        body,
        signature,
        content_type: "application/json",
    };
    let len = rng.usize(..2048);
    match n % 12 {
        0 => signed(random_bytes(rng, len)),
        1 => with(random_bytes(rng, len), None),
        2 => signed(valid[..rng.usize(..valid.len())].to_vec()),
        3 => signed(wrong_type(rng)),
        4 => {
            let len = rng.usize(1..=300);
            with(valid.to_vec(), Some(printable(rng, len)))
        }
        5 => {
            let mut body = valid.to_vec();
            let at = rng.usize(..body.len());
            body[at] ^= rng.u8(1..);
            with(
                body,
                Some(signature_header(STRIPE_WEBHOOK_SECRET, t, valid)),
            )
        }
        6 => signed(SQLISH[rng.usize(..SQLISH.len())].as_bytes().to_vec()),
        7 => with(
            valid.to_vec(),
            Some(format!("t={t},v1={}", SQLISH[rng.usize(..SQLISH.len())])),
        ),
        8 => signed(unicode(rng)),
        9 => signed(
            [
                "[]",
                "null",
                "42",
                "\"evt\"",
                "{}",
                "{\"data\":{}}",
                "{\"id\":\"e\",\"type\":\"invoice.paid\",\"created\":1,\"data\":{\"object\":{}}}",
            ][rng.usize(..7)]
            .as_bytes()
            .to_vec(),
        ),
        10 if n % 60 == 10 => with(vec![b' '; 600 * 1024], None),
        10 => Hostile {
            content_type: ["text/plain", "application/x-www-form-urlencoded", ""][rng.usize(..3)],
            ..signed(valid.to_vec())
        },
        _ => {
            let huge = format!("t={t},v1={}", "a".repeat(rng.usize(4096..8192)));
            with(valid.to_vec(), Some(huge))
        }
    }
}

/// A valid event with one field the handler reads replaced by a value of the wrong type.
fn wrong_type(rng: &mut Rng) -> Vec<u8> {
    let kind = LIFECYCLE[rng.usize(..LIFECYCLE.len())];
    let mut value = event_json(kind, "Fuzz_");
    let not_text = [json!(42), json!([1, 2]), json!({"x": true}), json!(true)];
    let not_integer = [json!("1764300000"), json!([1]), json!({"x": 1}), json!(1.5)];
    let pick = rng.usize(..4);
    match rng.usize(..5) {
        0 => value["id"] = not_text[pick].clone(),
        1 => value["type"] = not_text[pick].clone(),
        2 => value["data"]["object"] = not_text[pick].clone(),
        3 => value["data"]["object"]["customer"] = not_text[pick].clone(),
        _ => value["created"] = not_integer[pick].clone(),
    }
    serde_json::to_vec(&value).unwrap_or_default()
}

/// Unicode bodies: valid JSON that is no event, or an event with broken text.
fn unicode(rng: &mut Rng) -> Vec<u8> {
    let samples = [
        "{\"id\":\"évt_☃\",\"type\":\"invoice.paid\"}",
        "{\"😀\":\"\u{202e}\u{0000}\"}",
        "\u{feff}{\"id\":\"evt\"}",
        "{\"id\":\"\\ud800\",\"type\":\"x\",\"created\":\"1\",\"data\":{\"object\":{}}}",
    ];
    samples[rng.usize(..samples.len())].as_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_500_malformed_requests_get_4xx_or_an_unhandled_200_and_grant_nothing() {
    let (worker, http) = local().await;
    let valid = event("invoice.paid", "Fuzz_");
    let mut rng = Rng::with_seed(0x5EED_0500);
    let requests: Vec<Hostile> = (0..500).map(|n| hostile(n, &mut rng, &valid)).collect();
    let gate = Arc::new(Semaphore::new(8));
    let mut tasks = JoinSet::new();
    for (n, request) in requests.into_iter().enumerate() {
        let (http, gate) = (http.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            let mut headers = vec![("content-type", request.content_type)];
            headers.retain(|(_, v)| !v.is_empty());
            headers.extend(
                request
                    .signature
                    .as_deref()
                    .map(|s| ("stripe-signature", s)),
            );
            let answer = http.send("POST", WEBHOOK, &headers, request.body).await;
            let handled = (answer.status == 200).then(|| answer.json()["handled"].clone());
            (n, answer.status, handled)
        });
    }
    let statuses = tasks.join_all().await;
    for (n, status, handled) in &statuses {
        assert!(
            [200, 400, 401, 413, 415].contains(status),
            "hostile request {n} answered {status}"
        );
        if *status == 200 {
            assert_eq!(
                handled,
                &Some(json!(false)),
                "signed garbage {n} was handled"
            );
        }
    }
    assert_eq!(statuses.len(), 500);
    assert_eq!(
        counts(&worker).1,
        0,
        "a hostile request wrote billing state"
    );
    sql_in_ids_is_stored_verbatim(&worker, &http).await;
}

/// Valid, signed SQL-ish ids are bound parameters: stored as text, nothing else happens.
async fn sql_in_ids_is_stored_verbatim(worker: &Worker, http: &Http) {
    let sql_customer = "cus_test_Sql_'); DROP TABLE processed_events; --";
    let mut value = event_json("invoice.paid", "Sql_");
    value["id"] = json!(SQLISH[2]);
    value["data"]["object"]["customer"] = json!(sql_customer);
    let body = serde_json::to_vec(&value).unwrap_or_default();
    assert_eq!(ack(&deliver(http, body).await), (false, true));
    let sql = "SELECT p.event_id, c.customer_id FROM processed_events p, billing_customers c";
    let stored = query(worker, sql);
    assert!(
        stored.contains(&json!({"event_id": SQLISH[2], "customer_id": sql_customer})),
        "{stored:?}"
    );
    assert_eq!(counts(worker).1, 1);
}
