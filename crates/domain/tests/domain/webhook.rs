//! Webhook verification (Stripe SDK vectors), clover event parsing and order-independent D1 state.

use std::collections::BTreeSet;
use std::path::PathBuf;

use nyra_domain::webhook::event::{
    ActiveEntitlement, Checkout, EntitlementSummary, Event, EventError, EventType, Facts, Invoice,
    InvoiceLine, Subscription, parse,
};
use nyra_domain::webhook::state::{
    CLAIM_SQL, DUPLICATE_CLAIM_ERROR, EVERY_GROUP, Expect, SqlValue, Statement, UPSERT_COLUMNS,
    plan, sort_key, upsert_sql,
};
use nyra_domain::webhook::verify::{VerifyError, signature_header, verify};
use proptest::prelude::*;
use rusqlite::Connection;
use rusqlite::types::Value as Db;
use serde_json::{Value, json};

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;
pub(crate) type Row = Vec<(String, Db)>;

const SECRET_A: &str = "whsec_local_test_secret_rotation_a";
const SECRET_B: &str = "whsec_local_test_secret_rotation_b";
const NOW: i64 = 1_764_300_000;
pub(crate) const NOW_ISO: &str = "2025-11-28T03:20:00Z";
const CUS: &str = "cus_test_NyraLifecycle01";
const PRICE: &str = "price_test_local_pro_monthly";
pub(crate) const EXPECT: Expect = Expect {
    price_id: PRICE,
    previous_prices: &[],
    livemode: false,
};
pub(crate) const LIFECYCLE: [&str; 6] = [
    "checkout.session.completed",
    "customer.subscription.created",
    "invoice.paid",
    "customer.subscription.updated",
    "invoice.payment_failed",
    "customer.subscription.deleted",
];

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/webhook")
}

pub(crate) fn fixture_bytes(event_type: &str) -> Result<Vec<u8>, std::io::Error> {
    std::fs::read(fixtures().join("events").join(format!("{event_type}.json")))
}

pub(crate) fn fixture(event_type: &str) -> Result<Event, Box<dyn std::error::Error>> {
    Ok(parse(&fixture_bytes(event_type)?)?)
}

fn fixture_json(event_type: &str) -> Result<Value, Box<dyn std::error::Error>> {
    Ok(serde_json::from_slice(&fixture_bytes(event_type)?)?)
}

fn parse_json(value: &Value) -> Result<Event, Box<dyn std::error::Error>> {
    Ok(parse(&serde_json::to_vec(value)?)?)
}

fn malformed_detail(value: &Value) -> Result<String, Box<dyn std::error::Error>> {
    match parse(&serde_json::to_vec(value)?) {
        Ok(event) => Err(format!("expected event_malformed, parsed {event:?}").into()),
        Err(EventError::Malformed(detail)) => Ok(detail),
    }
}

// ---------------------------------------------------------------- verification

/// The vectors' names for each outcome.
fn code(result: Result<(), VerifyError>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(VerifyError::Missing) => "signature_missing",
        Err(VerifyError::Malformed) => "signature_malformed",
        Err(VerifyError::Mismatch) => "signature_mismatch",
        Err(VerifyError::TimestampOutOfTolerance) => "timestamp_out_of_tolerance",
    }
}

#[test]
fn every_stripe_sdk_vector_gives_the_expected_result() -> TestResult {
    let vectors: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("stripe-sdk-vectors.json"))?)?;
    let cases = vectors["cases"].as_array().ok_or("cases")?;
    assert!(
        cases.len() >= 20,
        "expected the full vector set, got {}",
        cases.len()
    );
    for case in cases {
        let name = case["name"].as_str().ok_or("name")?;
        let header = case["header"].as_str();
        let payload = case["payload"].as_str().ok_or("payload")?;
        let secrets = case["secrets"].as_str().ok_or("secrets")?;
        let now = case["now"].as_i64().ok_or("now")?;
        let expected = case["expected"].as_str().ok_or("expected")?;
        let got = code(verify(header, payload.as_bytes(), secrets, now));
        assert_eq!(got, expected, "vector {name}");
        let sdk_accepts = case["sdk_accepts"].as_bool().ok_or("sdk_accepts")?;
        assert_eq!(
            sdk_accepts,
            expected == "ok",
            "vector {name}: the SDK disagrees with the expectation"
        );
    }
    Ok(())
}

#[test]
fn our_signer_produces_exactly_the_sdk_header() -> TestResult {
    let vectors: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("stripe-sdk-vectors.json"))?)?;
    let signer = &vectors["valid_signer"];
    let secret = signer["secret"].as_str().ok_or("secret")?;
    let timestamp = signer["timestamp"].as_i64().ok_or("timestamp")?;
    let payload = signer["payload"].as_str().ok_or("payload")?;
    assert_eq!(
        signature_header(secret, timestamp, payload.as_bytes()),
        signer["header"].as_str().ok_or("header")?
    );
    assert_eq!(vectors["sdk_construct_event_accepts_valid"], json!(true));
    Ok(())
}

fn rotation_header(body: &[u8]) -> String {
    let a = signature_header(SECRET_A, NOW, body);
    let b = signature_header(SECRET_B, NOW, body);
    format!("{a},{}", b.split_once(',').map_or("", |(_, v1)| v1))
}

#[test]
fn rotation_accepts_either_secret() {
    let body = br#"{"id":"evt_rotation"}"#;
    let both = rotation_header(body);
    for secrets in [
        SECRET_A,
        SECRET_B,
        "whsec_local_other, whsec_local_x ,".trim_end_matches(','),
    ] {
        let expected = if secrets.contains("other") {
            "signature_mismatch"
        } else {
            "ok"
        };
        assert_eq!(
            code(verify(Some(&both), body, secrets, NOW)),
            expected,
            "{secrets}"
        );
    }
    let only_b = signature_header(SECRET_B, NOW, body);
    let only_a = signature_header(SECRET_A, NOW, body);
    for config in [
        format!("{SECRET_A},{SECRET_B}"),
        format!(" {SECRET_B} ,, {SECRET_A} "),
    ] {
        assert_eq!(code(verify(Some(&only_a), body, &config, NOW)), "ok");
        assert_eq!(code(verify(Some(&only_b), body, &config, NOW)), "ok");
    }
    assert_eq!(
        code(verify(Some(&only_b), body, SECRET_A, NOW)),
        "signature_mismatch"
    );
    assert_eq!(
        code(verify(Some(&only_a), body, " , ", NOW)),
        "signature_mismatch"
    );
}

#[test]
fn tolerance_is_300_seconds_in_the_past_only() {
    let body = b"{}";
    let at = |t: i64| {
        code(verify(
            Some(&signature_header(SECRET_A, t, body)),
            body,
            SECRET_A,
            NOW,
        ))
    };
    assert_eq!(at(NOW - 300), "ok");
    assert_eq!(at(NOW - 301), "timestamp_out_of_tolerance");
    assert_eq!(at(NOW + 86_400), "ok");
    let stale_wrong = signature_header(SECRET_B, NOW - 3_600, body);
    assert_eq!(
        code(verify(Some(&stale_wrong), body, SECRET_A, NOW)),
        "signature_mismatch"
    );
    assert_eq!(code(verify(None, body, SECRET_A, NOW)), "signature_missing");
    assert_eq!(
        code(verify(Some("  "), body, SECRET_A, NOW)),
        "signature_missing"
    );
    let twice = format!("t={NOW},{}", signature_header(SECRET_A, NOW, body));
    assert_eq!(
        code(verify(Some(&twice), body, SECRET_A, NOW)),
        "signature_malformed"
    );
}

#[test]
fn verification_needs_no_parseable_body_and_messages_are_lower_case() {
    let body = b"\xff not json at all";
    assert_eq!(
        code(verify(
            Some(&signature_header(SECRET_A, NOW, body)),
            body,
            SECRET_A,
            NOW
        )),
        "ok"
    );
    let errors = [
        VerifyError::Missing,
        VerifyError::Malformed,
        VerifyError::Mismatch,
        VerifyError::TimestampOutOfTolerance,
    ];
    let messages: BTreeSet<_> = errors.iter().map(VerifyError::to_string).collect();
    assert_eq!(messages.len(), 4);
    for error in errors {
        let message = error.to_string();
        assert_eq!(message, message.to_lowercase());
    }
}

proptest! {
    #[test]
    fn arbitrary_headers_never_panic_and_never_pass(header in ".{0,200}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
        prop_assert!(verify(Some(&header), &body, SECRET_A, NOW).is_err());
    }

    #[test]
    fn any_single_byte_change_of_the_body_is_a_mismatch(index in 0usize..40, byte in any::<u8>()) {
        let body = br#"{"id":"evt_test_flip","object":"event"}"#.to_vec();
        let header = signature_header(SECRET_A, NOW, &body);
        let mut changed = body.clone();
        let i = index % changed.len();
        prop_assume!(changed[i] != byte);
        changed[i] = byte;
        prop_assert_eq!(code(verify(Some(&header), &changed, SECRET_A, NOW)), "signature_mismatch");
    }
}

// ---------------------------------------------------------------- parsing

#[test]
fn checkout_fixture_parses_to_its_facts() -> TestResult {
    let event = fixture("checkout.session.completed")?;
    assert_eq!(
        (event.id.as_str(), event.created, event.livemode),
        ("evt_test_NyraCheckoutCompleted", NOW + 4, false)
    );
    let expected = Checkout {
        session_id: "cs_test_a1NyraLifecycle01".into(),
        customer_id: Some(CUS.into()),
        mode: Some("subscription".into()),
        payment_status: Some("paid".into()),
        subscription_id: Some("sub_test_NyraLifecycle01".into()),
        device_id: Some("dev_test_7f3c9a12".into()),
        email: Some("buyer@example.test".into()),
    };
    assert_eq!(event.facts, Facts::CheckoutCompleted(expected));
    Ok(())
}

fn lifecycle_subscription(status: &str, cancel_at_period_end: bool) -> Facts {
    Facts::Subscription(Subscription {
        subscription_id: "sub_test_NyraLifecycle01".into(),
        customer_id: CUS.into(),
        status: status.into(),
        cancel_at_period_end,
        device_id: Some("dev_test_7f3c9a12".into()),
        price_id: Some(PRICE.into()),
        price_ids: vec![PRICE.into()],
        current_period_end: Some(NOW + 2 + 30 * 86_400),
        latest_invoice: Some("in_test_NyraLifecycle01".into()),
    })
}

#[test]
fn subscription_fixtures_parse_to_their_facts() -> TestResult {
    assert_eq!(
        fixture("customer.subscription.created")?.facts,
        lifecycle_subscription("active", false)
    );
    assert_eq!(
        fixture("customer.subscription.updated")?.facts,
        lifecycle_subscription("active", true)
    );
    assert_eq!(
        fixture("customer.subscription.deleted")?.facts,
        lifecycle_subscription("canceled", true)
    );
    Ok(())
}

fn lifecycle_invoice(id: &str, status: &str, period_end: i64) -> Facts {
    Facts::Invoice(Invoice {
        invoice_id: id.into(),
        customer_id: CUS.into(),
        status: Some(status.into()),
        subscription_id: Some("sub_test_NyraLifecycle01".into()),
        lines: vec![InvoiceLine {
            price_id: Some(PRICE.into()),
            period_end: Some(period_end),
        }],
    })
}

#[test]
fn invoice_fixtures_parse_to_their_facts() -> TestResult {
    assert_eq!(
        fixture("invoice.paid")?.facts,
        lifecycle_invoice("in_test_NyraLifecycle01", "paid", NOW + 2 + 30 * 86_400)
    );
    assert_eq!(
        fixture("invoice.payment_failed")?.facts,
        lifecycle_invoice("in_test_NyraLifecycle02", "open", NOW + 2 + 30 * 86_400)
    );
    let raw = fixture_json("invoice.paid")?;
    assert!(
        raw["data"]["object"].get("paid").is_none(),
        "clover invoices have no paid boolean"
    );
    assert!(
        raw["data"]["object"].get("subscription").is_none(),
        "clover invoices name the subscription under parent"
    );
    Ok(())
}

#[test]
fn entitlement_summary_fixture_parses_to_compact_json() -> TestResult {
    let entitlement = |id: &str, feature: &str, lookup_key: &str| ActiveEntitlement {
        id: id.into(),
        feature: feature.into(),
        lookup_key: lookup_key.into(),
    };
    let expected = EntitlementSummary {
        customer_id: CUS.into(),
        entitlements: vec![
            entitlement("ent_test_NyraProSync", "feat_test_NyraProSync", "nyra_pro_sync"),
            entitlement("ent_test_NyraProSwarm", "feat_test_NyraProSwarm", "nyra_pro_swarm"),
        ],
        entitlements_json: concat!(
            r#"[{"id":"ent_test_NyraProSync","feature":"feat_test_NyraProSync","lookup_key":"nyra_pro_sync"},"#,
            r#"{"id":"ent_test_NyraProSwarm","feature":"feat_test_NyraProSwarm","lookup_key":"nyra_pro_swarm"}]"#
        )
        .into(),
    };
    assert_eq!(
        fixture("entitlements.active_entitlement_summary.updated")?.facts,
        Facts::EntitlementSummary(expected)
    );
    Ok(())
}

#[test]
fn other_types_are_unhandled_and_every_fixture_is_clover() -> TestResult {
    assert_eq!(fixture("customer.created")?.facts, Facts::Unhandled);
    for name in LIFECYCLE.iter().chain(&[
        "entitlements.active_entitlement_summary.updated",
        "customer.created",
    ]) {
        let raw = fixture_json(name)?;
        assert_eq!(raw["api_version"], "2026-02-25.clover", "{name}");
        assert_eq!(raw["object"], "event", "{name}");
        assert_eq!(raw["type"], *name, "{name}");
    }
    Ok(())
}

#[test]
fn nulls_fallbacks_and_expanded_references_are_tolerated() -> TestResult {
    let mut raw = fixture_json("checkout.session.completed")?;
    let object = &mut raw["data"]["object"];
    object["metadata"] = Value::Null;
    object["customer_details"] = Value::Null;
    object["customer"] = json!({"id": CUS, "object": "customer", "email": null});
    object["some_future_field"] = json!({"nested": [1, 2, 3]});
    let Facts::CheckoutCompleted(checkout) = parse_json(&raw)?.facts else {
        return Err("not a checkout".into());
    };
    assert_eq!(checkout.customer_id.as_deref(), Some(CUS));
    assert_eq!(
        checkout.device_id, None,
        "client_reference_id (settable by whoever opens a payment link) is never trusted"
    );
    assert_eq!(
        checkout.email.as_deref(),
        Some("buyer@example.test"),
        "falls back to customer_email"
    );
    Ok(())
}

#[test]
fn period_end_is_the_latest_item_and_price_the_first() -> TestResult {
    let mut raw = fixture_json("customer.subscription.updated")?;
    let first = raw["data"]["object"]["items"]["data"][0].clone();
    let mut second = first.clone();
    second["price"]["id"] = json!("price_test_NyraAddon");
    second["current_period_end"] = json!(NOW + 90 * 86_400);
    raw["data"]["object"]["items"]["data"] = json!([first, second]);
    let Facts::Subscription(subscription) = parse_json(&raw)?.facts else {
        return Err("not a subscription".into());
    };
    assert_eq!(
        subscription.price_id.as_deref(),
        Some("price_test_local_pro_monthly")
    );
    assert_eq!(subscription.current_period_end, Some(NOW + 90 * 86_400));
    Ok(())
}

#[test]
fn missing_required_fields_are_event_malformed_naming_the_field() -> TestResult {
    let cases: [(&str, &str, &str); 6] = [
        (
            "checkout.session.completed",
            "/data/object/id",
            "data.object.id",
        ),
        (
            "customer.subscription.updated",
            "/data/object/items",
            "data.object.items",
        ),
        (
            "customer.subscription.created",
            "/data/object/status",
            "data.object.status",
        ),
        (
            "invoice.paid",
            "/data/object/customer",
            "data.object.customer",
        ),
        (
            "invoice.payment_failed",
            "/data/object/id",
            "data.object.id",
        ),
        (
            "entitlements.active_entitlement_summary.updated",
            "/data/object/customer",
            "data.object.customer",
        ),
    ];
    for (event_type, pointer, field) in cases {
        let mut raw = fixture_json(event_type)?;
        *raw.pointer_mut(pointer).ok_or(pointer)? = Value::Null;
        let detail = malformed_detail(&raw)?;
        assert!(detail.contains(field), "{event_type}: {detail}");
    }
    let mut raw = fixture_json("invoice.paid")?;
    raw.as_object_mut().ok_or("object")?.remove("created");
    assert!(malformed_detail(&raw)?.contains("created"));
    let mut raw = fixture_json("customer.subscription.updated")?;
    raw["data"]["object"]["status"] = json!(42);
    let detail = malformed_detail(&raw)?;
    assert!(
        detail.starts_with("data.object: invalid type: integer `42`"),
        "{detail}"
    );
    raw["data"]["object"]["status"] = json!("active");
    raw["data"]["object"]["items"]["data"][0]["price"]["id"] = json!(7);
    let detail = malformed_detail(&raw)?;
    assert!(
        detail.starts_with("data.object: invalid type: integer `7`"),
        "{detail}"
    );
    raw["data"]["object"] = json!("sub_test_not_an_object");
    let detail = malformed_detail(&raw)?;
    assert!(detail.starts_with("data.object: invalid type"), "{detail}");
    let detail = malformed_detail(&json!({"id": 5}))?;
    assert!(
        detail.starts_with("body: invalid type: integer `5`"),
        "{detail}"
    );
    let garbage = parse(b"{not json").err().ok_or("garbage parsed")?;
    assert!(
        garbage.to_string().starts_with("malformed event: "),
        "{garbage}"
    );
    Ok(())
}

#[test]
fn unhandled_types_need_only_the_envelope() -> TestResult {
    let raw = json!({"id": "evt_x", "object": "event", "type": "charge.refunded", "created": NOW, "data": {"object": {}}});
    assert_eq!(parse_json(&raw)?.facts, Facts::Unhandled);
    assert!(
        malformed_detail(&json!({"id": "evt_x", "type": "charge.refunded", "created": NOW}))?
            .contains("data.object")
    );
    Ok(())
}

// ---------------------------------------------------------------- D1 state (rusqlite)

/// An in-memory database with every migration applied in order, as D1 would have it.
pub(crate) fn migrated() -> Result<Connection, Box<dyn std::error::Error>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|path| path.extension().is_some_and(|e| e == "sql"));
    files.sort();
    let conn = Connection::open_in_memory()?;
    for file in files {
        conn.execute_batch(&std::fs::read_to_string(file)?)?;
    }
    Ok(conn)
}

pub(crate) fn to_db(value: &SqlValue) -> Db {
    match value {
        SqlValue::Null => Db::Null,
        SqlValue::Integer(i) => Db::Integer(*i),
        SqlValue::Text(t) => Db::Text(t.clone()),
    }
}

/// Runs the plan as one transaction, like a D1 batch: any failure rolls everything back.
fn apply(conn: &mut Connection, event: &Event, now_iso: &str) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for statement in plan(event, &EXPECT, now_iso).statements {
        tx.execute(
            statement.sql,
            rusqlite::params_from_iter(statement.params.iter().map(to_db)),
        )?;
    }
    tx.commit()
}

pub(crate) fn rows(conn: &Connection, skip_updated_at: bool) -> rusqlite::Result<Vec<Row>> {
    let mut statement = conn.prepare("SELECT * FROM billing_customers ORDER BY customer_id")?;
    let names: Vec<String> = statement.column_names().map(str::to_owned).collect();
    let mapped = statement.query_map([], |row| {
        let mut out = Row::new();
        for (i, name) in names.iter().enumerate() {
            if !(skip_updated_at && name == "updated_at") {
                out.push((name.clone(), row.get::<_, Db>(i)?));
            }
        }
        Ok(out)
    })?;
    mapped.collect()
}

pub(crate) fn processed(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare("SELECT event_id FROM processed_events ORDER BY event_id")?;
    let ids = statement.query_map([], |row| row.get::<_, String>(0))?;
    ids.collect()
}

fn column(row: &Row, name: &str) -> Db {
    row.iter()
        .find(|(n, _)| n == name)
        .map_or(Db::Null, |(_, v)| v.clone())
}

fn text(value: &str) -> Db {
    Db::Text(value.to_owned())
}

pub(crate) fn final_row(events: &[&Event]) -> Result<Row, Box<dyn std::error::Error>> {
    let mut conn = migrated()?;
    for (i, event) in events.iter().enumerate() {
        apply(
            &mut conn,
            event,
            &format!("2025-11-28T03:20:{:02}Z", i % 60),
        )?;
    }
    let mut all = rows(&conn, true)?;
    assert_eq!(all.len(), 1);
    Ok(all.remove(0))
}

#[test]
fn plan_claims_first_and_unhandled_events_only_claim() -> TestResult {
    for name in LIFECYCLE {
        let statements = plan(&fixture(name)?, &EXPECT, NOW_ISO).statements;
        assert_eq!(statements.len(), 2, "{name}");
        assert_eq!(statements[0].sql, CLAIM_SQL);
        assert_eq!(statements[0].params[0], SqlValue::Text(fixture(name)?.id));
        assert!(
            statements[1]
                .sql
                .starts_with("INSERT INTO billing_customers (customer_id, updated_at, "),
            "{name}"
        );
        assert_eq!(statements[1].params.len(), UPSERT_COLUMNS.len(), "{name}");
    }
    assert_eq!(
        CLAIM_SQL,
        "INSERT INTO processed_events (event_id, type, processed_at) VALUES (?1, ?2, ?3)"
    );
    let mut conn = migrated()?;
    let unhandled = fixture("customer.created")?;
    assert_eq!(plan(&unhandled, &EXPECT, NOW_ISO).statements.len(), 1);
    apply(&mut conn, &unhandled, NOW_ISO)?;
    assert_eq!(
        processed(&conn)?,
        vec!["evt_test_NyraCustomerCreated".to_owned()]
    );
    assert!(rows(&conn, false)?.is_empty());
    Ok(())
}

#[test]
fn any_handled_event_can_create_the_row() -> TestResult {
    for name in LIFECYCLE
        .iter()
        .chain(&["entitlements.active_entitlement_summary.updated"])
    {
        let mut conn = migrated()?;
        apply(&mut conn, &fixture(name)?, NOW_ISO)?;
        let all = rows(&conn, false)?;
        assert_eq!(all.len(), 1, "{name}");
        assert_eq!(column(&all[0], "customer_id"), text(CUS));
        assert_eq!(column(&all[0], "updated_at"), text(NOW_ISO));
        assert_eq!(processed(&conn)?.len(), 1);
    }
    Ok(())
}

#[test]
fn a_duplicate_fails_the_batch_and_changes_nothing() -> TestResult {
    let mut conn = migrated()?;
    let event = fixture("customer.subscription.updated")?;
    apply(&mut conn, &event, NOW_ISO)?;
    let before = rows(&conn, false)?;
    let error = apply(&mut conn, &event, "2030-01-01T00:00:00Z")
        .err()
        .ok_or("duplicate accepted")?;
    assert!(error.to_string().contains(DUPLICATE_CLAIM_ERROR), "{error}");
    assert_eq!(rows(&conn, false)?, before, "not even updated_at moves");
    assert_eq!(processed(&conn)?.len(), 1);
    Ok(())
}

#[test]
fn a_failing_state_change_rolls_back_the_claim() -> TestResult {
    let mut conn = migrated()?;
    conn.execute_batch(
        "CREATE TRIGGER fail_insert BEFORE INSERT ON billing_customers BEGIN SELECT RAISE(ABORT, 'injected'); END;",
    )?;
    let event = fixture("invoice.paid")?;
    assert!(apply(&mut conn, &event, NOW_ISO).is_err());
    assert!(processed(&conn)?.is_empty());
    assert!(rows(&conn, false)?.is_empty());
    conn.execute_batch("DROP TRIGGER fail_insert;")?;
    apply(&mut conn, &event, NOW_ISO)?;
    assert_eq!(processed(&conn)?.len(), 1);
    assert_eq!(
        column(&rows(&conn, false)?[0], "paid_through"),
        Db::Integer(NOW + 2 + 30 * 86_400)
    );
    Ok(())
}

pub(crate) fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for (i, &first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            out.push(tail);
        }
    }
    out
}

/// Runs statements as one transaction, each with its own SQL or with the upsert that assigns
/// every group on conflict.
fn run_as(conn: &mut Connection, statements: &[Statement], every_group: bool) -> TestResult {
    let tx = conn.transaction()?;
    for statement in statements {
        let sql = if every_group && statement.sql != CLAIM_SQL {
            upsert_sql(EVERY_GROUP)
        } else {
            statement.sql
        };
        tx.execute(
            sql,
            rusqlite::params_from_iter(statement.params.iter().map(to_db)),
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// An event's upsert assigns on conflict only the groups it writes; after every step of the
/// lifecycle, in order and reversed, the row equals the one the every-group upsert makes.
#[test]
fn an_upsert_of_only_the_written_groups_writes_what_every_group_would() -> TestResult {
    let mut names: Vec<&str> = LIFECYCLE.to_vec();
    names.push("entitlements.active_entitlement_summary.updated");
    let events = names
        .iter()
        .map(|name| fixture(name))
        .collect::<Result<Vec<_>, _>>()?;
    let mut shorter = 0;
    for order in [
        (0..events.len()).collect::<Vec<_>>(),
        (0..events.len()).rev().collect(),
    ] {
        let (mut trimmed, mut full) = (migrated()?, migrated()?);
        for i in order {
            let statements = plan(&events[i], &EXPECT, NOW_ISO).statements;
            shorter += usize::from(statements[1].sql.len() < upsert_sql(EVERY_GROUP).len());
            run_as(&mut trimmed, &statements, false)?;
            run_as(&mut full, &statements, true)?;
            assert_eq!(
                rows(&trimmed, false)?,
                rows(&full, false)?,
                "after {}",
                names[i]
            );
        }
    }
    assert_eq!(
        shorter,
        2 * events.len(),
        "every event writes only some groups"
    );
    Ok(())
}

#[test]
fn all_720_orders_of_the_lifecycle_end_in_the_in_order_row() -> TestResult {
    let events = LIFECYCLE
        .iter()
        .map(|name| fixture(name))
        .collect::<Result<Vec<_>, _>>()?;
    let created: BTreeSet<i64> = events.iter().map(|e| e.created).collect();
    assert_eq!(created.len(), 6, "distinct created times");
    let in_order = final_row(&events.iter().collect::<Vec<_>>())?;
    let expected = [
        ("checkout_session_id", text("cs_test_a1NyraLifecycle01")),
        ("subscription_id", text("sub_test_NyraLifecycle01")),
        ("device_id", text("dev_test_7f3c9a12")),
        ("email", text("buyer@example.test")),
        ("status", text("canceled")),
        ("entitlement", text("none")),
        ("price_id", text("price_test_local_pro_monthly")),
        ("current_period_end", Db::Integer(NOW + 2 + 30 * 86_400)),
        ("cancel_at_period_end", Db::Integer(1)),
        ("last_invoice_id", text("in_test_NyraLifecycle02")),
        ("last_invoice_status", text("open")),
        ("stripe_entitlements_json", Db::Null),
    ];
    for (name, value) in expected {
        assert_eq!(column(&in_order, name), value, "{name}");
    }
    let orders = permutations(&[0, 1, 2, 3, 4, 5]);
    assert_eq!(orders.len(), 720);
    for order in orders {
        let row = final_row(&order.iter().map(|&i| &events[i]).collect::<Vec<_>>())?;
        assert_eq!(row, in_order, "order {order:?}");
    }
    Ok(())
}

#[test]
fn mid_lifecycle_the_customer_is_entitled() -> TestResult {
    let events = LIFECYCLE[..4]
        .iter()
        .map(|name| fixture(name))
        .collect::<Result<Vec<_>, _>>()?;
    let row = final_row(&events.iter().collect::<Vec<_>>())?;
    assert_eq!(
        (column(&row, "status"), column(&row, "entitlement")),
        (text("active"), text("pro"))
    );
    Ok(())
}

#[test]
fn checkout_device_wins_over_subscription_metadata_in_either_order() -> TestResult {
    let checkout = fixture("checkout.session.completed")?;
    let mut raw = fixture_json("customer.subscription.updated")?;
    raw["data"]["object"]["metadata"]["deviceId"] = json!("dev_test_other");
    let updated = parse_json(&raw)?;
    let a = final_row(&[&checkout, &updated])?;
    let b = final_row(&[&updated, &checkout])?;
    assert_eq!(a, b);
    assert_eq!(column(&a, "device_id"), text("dev_test_7f3c9a12"));
    assert_eq!(
        column(&final_row(&[&updated])?, "device_id"),
        text("dev_test_other")
    );
    Ok(())
}

#[test]
fn a_one_off_invoice_paid_does_not_touch_the_status() -> TestResult {
    let deleted = fixture("customer.subscription.deleted")?;
    let mut raw = fixture_json("invoice.paid")?;
    raw["id"] = json!("evt_test_OneOffInvoicePaid");
    raw["created"] = json!(deleted.created + 10);
    raw["data"]["object"]["parent"] = Value::Null;
    let one_off = parse_json(&raw)?;
    let row = final_row(&[&deleted, &one_off])?;
    assert_eq!(column(&row, "status"), text("canceled"));
    assert_eq!(column(&row, "last_invoice_status"), text("paid"));
    Ok(())
}

// ---------------------------------------------------------------- random streams

#[derive(Debug, Clone)]
struct Spec {
    kind: u8,
    created: i64,
    pick: u8,
    flag: bool,
}

const STATUSES: [&str; 6] = [
    "active",
    "trialing",
    "past_due",
    "canceled",
    "unpaid",
    "incomplete",
];

/// Our price for most events, another product's for every fifth pick.
fn price_of(spec: &Spec) -> String {
    if spec.pick % 5 == 4 {
        "price_test_other_product".to_owned()
    } else {
        PRICE.to_owned()
    }
}

fn pick<'a>(options: &[&'a str], index: u8) -> &'a str {
    options[usize::from(index) % options.len()]
}

fn event_of(i: usize, spec: &Spec) -> Event {
    let (event_type, facts) = match spec.kind {
        0 => (
            "checkout.session.completed",
            Facts::CheckoutCompleted(Checkout {
                session_id: format!("cs_test_{}", spec.pick % 2),
                customer_id: Some(CUS.into()),
                mode: Some(pick(&["subscription", "subscription", "payment"], spec.pick).into()),
                payment_status: Some(
                    pick(&["paid", "unpaid", "no_payment_required"], spec.pick / 3).into(),
                ),
                subscription_id: spec.flag.then(|| format!("sub_test_{}", spec.pick % 3)),
                device_id: (!spec.pick.is_multiple_of(4))
                    .then(|| pick(&["dev_a", "dev_b", "dev_c"], spec.pick).to_owned()),
                email: spec.flag.then(|| "buyer@example.test".to_owned()),
            }),
        ),
        1..=3 => (
            [
                "customer.subscription.created",
                "customer.subscription.updated",
                "customer.subscription.deleted",
            ][usize::from(spec.kind - 1)],
            Facts::Subscription(Subscription {
                subscription_id: format!("sub_test_{}", spec.pick % 3),
                customer_id: CUS.into(),
                status: if spec.kind == 3 {
                    "canceled".into()
                } else {
                    pick(&STATUSES, spec.pick).into()
                },
                cancel_at_period_end: spec.flag,
                device_id: spec
                    .pick
                    .is_multiple_of(2)
                    .then(|| pick(&["dev_s", "dev_t"], spec.pick / 2).to_owned()),
                price_id: Some(price_of(spec)),
                price_ids: vec![price_of(spec)],
                current_period_end: Some(NOW + i64::from(spec.pick) * 86_400),
                latest_invoice: None,
            }),
        ),
        4 | 5 => (
            if spec.kind == 4 {
                "invoice.paid"
            } else {
                "invoice.payment_failed"
            },
            Facts::Invoice(Invoice {
                invoice_id: format!("in_test_{}", spec.pick),
                customer_id: CUS.into(),
                status: Some(if spec.kind == 4 { "paid" } else { "open" }.into()),
                subscription_id: spec.flag.then(|| "sub_test_0".to_owned()),
                lines: vec![InvoiceLine {
                    price_id: Some(price_of(spec)),
                    period_end: Some(NOW + i64::from(spec.pick % 40) * 86_400),
                }],
            }),
        ),
        6 => (
            "entitlements.active_entitlement_summary.updated",
            Facts::EntitlementSummary(EntitlementSummary {
                customer_id: CUS.into(),
                entitlements: Vec::new(),
                entitlements_json: format!(
                    r#"[{{"id":"ent_{}","feature":"feat","lookup_key":"k"}}]"#,
                    spec.pick
                ),
            }),
        ),
        _ => ("customer.updated", Facts::Unhandled),
    };
    Event {
        id: format!("evt_test_p{:03}", (i * 37) % 1000),
        event_type: EventType::parse(event_type),
        created: NOW + spec.created,
        livemode: false,
        facts,
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    (0u8..8, 0i64..4, any::<u8>(), any::<bool>()).prop_map(|(kind, created, pick, flag)| Spec {
        kind,
        created,
        pick,
        flag,
    })
}

pub(crate) fn stream() -> impl Strategy<Value = (Vec<Event>, Vec<usize>, Vec<usize>)> {
    proptest::collection::vec(spec(), 1..24).prop_flat_map(|specs| {
        let events: Vec<Event> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| event_of(i, s))
            .collect();
        let n = events.len();
        let indices: Vec<usize> = (0..n).collect();
        let duplicates = proptest::collection::vec(0..n, 0..n + 1);
        let shuffled = (Just(indices.clone()), duplicates).prop_map(|(mut all, dups)| {
            all.extend(dups);
            all
        });
        (
            Just(events),
            shuffled.prop_shuffle(),
            Just(indices).prop_shuffle(),
        )
    })
}

/// Applies a delivery stream; duplicates must fail. Returns the final rows and claimed ids.
pub(crate) fn deliver(
    events: &[Event],
    order: &[usize],
) -> Result<(Vec<Row>, Vec<String>), Box<dyn std::error::Error>> {
    let mut conn = migrated()?;
    let mut seen = BTreeSet::new();
    for (n, &i) in order.iter().enumerate() {
        let before = rows(&conn, false)?;
        let result = apply(
            &mut conn,
            &events[i],
            &format!("2025-11-28T04:{:02}:{:02}Z", n / 60 % 60, n % 60),
        );
        if seen.insert(i) {
            result?;
        } else {
            assert!(result.is_err(), "duplicate {} accepted", events[i].id);
            assert_eq!(
                rows(&conn, false)?,
                before,
                "duplicate {} changed state",
                events[i].id
            );
        }
    }
    Ok((rows(&conn, true)?, processed(&conn)?))
}

/// The status a model expects: that of the greatest sort key among subscription events of our
/// price (invoices never write the status).
fn expected_status(events: &[Event]) -> Option<String> {
    let writers = events.iter().filter_map(|e| match &e.facts {
        Facts::Subscription(s) if s.price_ids.iter().any(|p| p == PRICE) => {
            Some((sort_key(e), s.status.clone()))
        }
        _ => None,
    });
    writers.max().map(|(_, status)| status)
}

/// The paid-through date a model expects: the latest line end of our price on paid invoices.
fn expected_paid_through(events: &[Event]) -> Option<i64> {
    events
        .iter()
        .filter(|e| e.event_type == EventType::InvoicePaid)
        .filter_map(|e| match &e.facts {
            Facts::Invoice(i) if i.status.as_deref() == Some("paid") => Some(&i.lines),
            _ => None,
        })
        .flatten()
        .filter(|l| l.price_id.as_deref() == Some(PRICE))
        .filter_map(|l| l.period_end)
        .max()
}

/// Whether an event writes the row (a usable event of our price and mode).
fn writes(event: &Event) -> bool {
    plan(event, &EXPECT, NOW_ISO).statements.len() == 2
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_streams_with_duplicates_and_ties_end_in_the_same_row((events, first, second) in stream()) {
        let (rows_a, claimed_a) = deliver(&events, &first).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (rows_b, claimed_b) = deliver(&events, &second).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&rows_a, &rows_b);
        prop_assert_eq!(&claimed_a, &claimed_b);
        let unique: BTreeSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
        prop_assert_eq!(claimed_a.len(), unique.len());
        let written = events.iter().any(writes);
        prop_assert_eq!(rows_a.len(), usize::from(written));
        if let Some(row) = rows_a.first() {
            let status = expected_status(&events).map_or(Db::Null, |s| Db::Text(s.clone()));
            prop_assert_eq!(column(row, "status"), status);
            let paid = expected_paid_through(&events).map_or(Db::Null, Db::Integer);
            prop_assert_eq!(column(row, "paid_through"), paid);
        }
    }
}

#[test]
fn previous_prices_are_a_comma_or_space_separated_list() {
    use nyra_domain::config::price_list;
    assert_eq!(price_list(None), Vec::<String>::new());
    assert_eq!(price_list(Some(" , ")), Vec::<String>::new());
    assert_eq!(
        price_list(Some("price_a, price_b\nprice_c,,")),
        ["price_a", "price_b", "price_c"]
    );
    let previous = price_list(Some("price_old"));
    let expect = Expect {
        price_id: "price_new",
        previous_prices: &previous,
        livemode: false,
    };
    assert!(expect.accepts("price_new") && expect.accepts("price_old"));
    assert!(!expect.accepts("price_other") && !expect.accepts(""));
}

// ---------------------------------------------------------------- settle reads

#[test]
fn the_first_invoice_of_a_list_reads_like_the_paid_event_object() -> TestResult {
    use nyra_domain::webhook::event::{first_in_list, snapshot};
    let paid = fixture_json("invoice.paid")?;
    let object = &paid["data"]["object"];
    let list = json!({"object": "list", "url": "/v1/invoices", "has_more": true,
                      "data": [object, {"id": "in_older"}]});
    let first = first_in_list(&serde_json::to_vec(&list)?)?.ok_or("an invoice")?;
    let read = snapshot(EventType::InvoicePaid, first.as_bytes(), NOW)?;
    assert_eq!(read.facts, fixture("invoice.paid")?.facts);
    assert_eq!(
        read.id,
        format!("settle_{}", object["id"].as_str().ok_or("id")?)
    );
    // The listed invoice passes the same guard as a webhook: ours counts; another price or
    // the other mode changes nothing.
    use nyra_domain::webhook::state::state_change;
    assert!(
        state_change(&read, &EXPECT, NOW_ISO).is_some(),
        "our paid invoice"
    );
    let mut other_price = object.clone();
    other_price["lines"]["data"][0]["pricing"]["price_details"]["price"] = json!("price_other");
    let foreign = snapshot(
        EventType::InvoicePaid,
        &serde_json::to_vec(&other_price)?,
        NOW,
    )?;
    assert!(
        state_change(&foreign, &EXPECT, NOW_ISO).is_none(),
        "another price"
    );
    let live = Expect {
        livemode: true,
        ..EXPECT
    };
    assert!(
        state_change(&read, &live, NOW_ISO).is_none(),
        "the other mode"
    );
    let empty = json!({"object": "list", "data": [], "has_more": false});
    assert_eq!(first_in_list(&serde_json::to_vec(&empty)?)?, None);
    assert!(first_in_list(b"{\"object\": \"list\"}").is_err());
    assert!(first_in_list(b"[]").is_err());
    Ok(())
}
