//! Queue mode's batch planning (rusqlite): a batch in any order, with duplicates, ends in the rows of direct delivery.
//!
//! [`consume`] mirrors the Worker's consumer (`crates/worker/src/queue.rs`): one query for the
//! ids already processed, [`plan_batch`], ONE transaction for the batch, and on failure each
//! delivery in its own transaction (a claim that fails because the event is recorded is a
//! duplicate, anything else is retried).

use std::collections::{BTreeSet, HashSet};

use nyra_domain::webhook::batch::{
    Delivery, Fate, PROCESSED_AMONG_SQL, delivery, from_event, plan_batch, processed_among,
};
use nyra_domain::webhook::event::{Event, identify, parse};
use nyra_domain::webhook::state::{CLAIM_SQL, Statement};
use proptest::prelude::*;
use rusqlite::Connection;

use crate::webhook::{
    EXPECT, LIFECYCLE, NOW_ISO, Row, TestResult, deliver, final_row, fixture, fixture_bytes,
    migrated, permutations, processed, rows, stream, to_db,
};

/// What the consumer did with each delivery of a batch.
#[derive(Debug, Default, PartialEq, Eq)]
struct Outcome {
    /// Applied (alone or in the batch).
    recorded: Vec<String>,
    /// Acknowledged without writing: already recorded, or repeated in the batch.
    duplicates: Vec<String>,
    /// Left for the queue to redeliver.
    retried: Vec<String>,
}

fn run(conn: &mut Connection, statements: &[Statement]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for statement in statements {
        tx.execute(
            statement.sql,
            rusqlite::params_from_iter(statement.params.iter().map(to_db)),
        )?;
    }
    tx.commit()
}

fn already_processed(conn: &Connection, batch: &[Delivery]) -> rusqlite::Result<HashSet<String>> {
    let query = processed_among(batch);
    assert_eq!(query.sql, PROCESSED_AMONG_SQL);
    let mut statement = conn.prepare(query.sql)?;
    let ids = statement.query_map(
        rusqlite::params_from_iter(query.params.iter().map(to_db)),
        |row| row.get::<_, String>(0),
    )?;
    ids.collect()
}

fn is_processed(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM processed_events WHERE event_id = ?1",
        [id],
        |row| row.get(0),
    )?;
    Ok(n > 0)
}

/// The consumer: `stale` pretends the processed-ids query ran before a concurrent delivery.
fn consume(conn: &mut Connection, batch: &[Delivery], stale: bool) -> rusqlite::Result<Outcome> {
    let seen = if stale {
        HashSet::new()
    } else {
        already_processed(conn, batch)?
    };
    let plan = plan_batch(batch, &seen);
    let mut outcome = Outcome::default();
    let together = plan.statements.is_empty() || run(conn, &plan.statements).is_ok();
    for (d, fate) in batch.iter().zip(&plan.fates) {
        let id = d.event_id.clone();
        match fate {
            Fate::AlreadyProcessed | Fate::RepeatInBatch => outcome.duplicates.push(id),
            Fate::Apply if together => outcome.recorded.push(id),
            Fate::Apply if run(conn, &d.plan.statements).is_ok() => outcome.recorded.push(id),
            Fate::Apply if is_processed(conn, &id)? => outcome.duplicates.push(id),
            Fate::Apply => outcome.retried.push(id),
        }
    }
    Ok(outcome)
}

/// Delivers `order` (indices into `events`, repeats allowed) in consecutive batches of the
/// given sizes (cycled); returns the rows without `updated_at` and the claimed ids.
fn deliver_batched(
    events: &[Event],
    order: &[usize],
    sizes: &[usize],
) -> Result<(Vec<Row>, Vec<String>), Box<dyn std::error::Error>> {
    let mut conn = migrated()?;
    let mut rest = order;
    let mut n = 0;
    while !rest.is_empty() {
        let size = sizes[n % sizes.len()].clamp(1, rest.len());
        let now_iso = format!("2025-11-28T05:{:02}:{:02}Z", n / 60 % 60, n % 60);
        let batch: Vec<Delivery> = rest[..size]
            .iter()
            .map(|&i| from_event(&events[i], &EXPECT, &now_iso))
            .collect();
        let outcome = consume(&mut conn, &batch, false)?;
        assert!(outcome.retried.is_empty(), "{outcome:?}");
        rest = &rest[size..];
        n += 1;
    }
    Ok((rows(&conn, true)?, processed(&conn)?))
}

fn lifecycle() -> Result<Vec<Event>, Box<dyn std::error::Error>> {
    LIFECYCLE.iter().map(|name| fixture(name)).collect()
}

#[test]
fn a_body_is_planned_exactly_as_the_direct_route_plans_it() -> TestResult {
    for name in LIFECYCLE.iter().chain(&["customer.created"]) {
        let body = fixture_bytes(name)?;
        let planned = delivery(&body, &EXPECT, NOW_ISO);
        assert_eq!(
            planned,
            from_event(&parse(&body)?, &EXPECT, NOW_ISO),
            "{name}"
        );
        assert_eq!(planned.malformed, None);
    }
    let garbage = b"{\"id\": 1}";
    let planned = delivery(garbage, &EXPECT, NOW_ISO);
    assert_eq!(
        (planned.event_id.clone(), planned.event_type.clone()),
        identify(garbage)
    );
    assert!(planned.event_id.starts_with("unparsed_"));
    assert_eq!(planned.plan.statements.len(), 1, "a claim only");
    assert_eq!(planned.plan.statements[0].sql, CLAIM_SQL);
    assert!(planned.plan.ignored.is_some() && planned.malformed.is_some());
    Ok(())
}

#[test]
fn processed_and_repeated_events_are_dropped_and_the_rest_batched_in_order() -> TestResult {
    let events = lifecycle()?;
    let batch: Vec<Delivery> = [0, 1, 0, 2, 1, 3]
        .iter()
        .map(|&i| from_event(&events[i], &EXPECT, NOW_ISO))
        .collect();
    let seen: HashSet<String> = [events[2].id.clone()].into();
    let plan = plan_batch(&batch, &seen);
    use Fate::*;
    assert_eq!(
        plan.fates,
        vec![
            Apply,
            Apply,
            RepeatInBatch,
            AlreadyProcessed,
            RepeatInBatch,
            Apply
        ]
    );
    let expected: Vec<Statement> = [0, 1, 5]
        .iter()
        .flat_map(|&i| batch[i].plan.statements.clone())
        .collect();
    assert_eq!(plan.statements, expected);
    assert!(plan_batch(&[], &seen).statements.is_empty());
    Ok(())
}

#[test]
fn the_processed_query_finds_exactly_the_recorded_ids_even_with_quotes() -> TestResult {
    let mut conn = migrated()?;
    let mut odd = fixture("customer.created")?;
    odd.id = "evt_'); DROP TABLE processed_events; --\"".to_owned();
    let recorded = from_event(&odd, &EXPECT, NOW_ISO);
    run(&mut conn, &recorded.plan.statements)?;
    let other = from_event(&fixture("invoice.paid")?, &EXPECT, NOW_ISO);
    let seen = already_processed(&conn, &[recorded.clone(), other, recorded])?;
    assert_eq!(seen, [odd.id].into());
    Ok(())
}

#[test]
fn a_whole_batch_commits_in_one_transaction_and_a_failure_falls_back_per_event() -> TestResult {
    let events = lifecycle()?;
    let batch: Vec<Delivery> = events
        .iter()
        .map(|e| from_event(e, &EXPECT, NOW_ISO))
        .collect();
    // A concurrent delivery recorded event 3 after the processed-ids query: its claim fails
    // the batch, the fallback applies the others one by one and acknowledges 3 as a duplicate.
    let mut conn = migrated()?;
    run(&mut conn, &batch[3].plan.statements)?;
    let outcome = consume(&mut conn, &batch, true)?;
    assert_eq!(outcome.duplicates, vec![events[3].id.clone()]);
    assert_eq!(outcome.recorded.len(), 5);
    let direct = final_row(&events.iter().collect::<Vec<_>>())?;
    assert_eq!(rows(&conn, true)?, vec![direct.clone()]);
    // A D1 failure (a trigger) rolls the whole batch back; the claim-only event still lands on
    // its own, every event that writes the row is retried, and a redelivery completes the row.
    let mut conn = migrated()?;
    conn.execute_batch(
        "CREATE TRIGGER fail BEFORE INSERT ON billing_customers BEGIN SELECT RAISE(ABORT, 'injected'); END;",
    )?;
    let mut with_unhandled = batch.clone();
    with_unhandled.push(from_event(&fixture("customer.created")?, &EXPECT, NOW_ISO));
    let outcome = consume(&mut conn, &with_unhandled, false)?;
    assert_eq!(outcome.recorded, vec!["evt_test_NyraCustomerCreated"]);
    assert_eq!(outcome.retried.len(), 6);
    assert!(rows(&conn, false)?.is_empty());
    conn.execute_batch("DROP TRIGGER fail;")?;
    let outcome = consume(&mut conn, &with_unhandled, false)?;
    assert_eq!((outcome.recorded.len(), outcome.duplicates.len()), (6, 1));
    assert_eq!(rows(&conn, true)?, vec![direct]);
    Ok(())
}

#[test]
fn all_720_orders_in_batches_with_duplicates_end_in_the_in_order_row() -> TestResult {
    let events = lifecycle()?;
    let in_order = final_row(&events.iter().collect::<Vec<_>>())?;
    let ids: BTreeSet<String> = events.iter().map(|e| e.id.clone()).collect();
    for (k, order) in permutations(&[0, 1, 2, 3, 4, 5]).into_iter().enumerate() {
        let mut stream = order.clone();
        stream.insert(k % 7, order[k % 6]);
        stream.push(order[(k + 3) % 6]);
        let sizes = [1 + k % 4, 1 + k % 3, 8];
        let (rows, claimed) = deliver_batched(&events, &stream, &sizes)?;
        assert_eq!(
            rows,
            vec![in_order.clone()],
            "order {order:?} sizes {sizes:?}"
        );
        assert_eq!(claimed.into_iter().collect::<BTreeSet<_>>(), ids);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_streams_in_random_batches_end_in_the_rows_of_direct_delivery(
        (events, first, second) in stream(),
        sizes in proptest::collection::vec(1usize..10, 1..6),
    ) {
        let fail = |e: Box<dyn std::error::Error>| TestCaseError::fail(e.to_string());
        let batched = deliver_batched(&events, &first, &sizes).map_err(fail)?;
        let direct = deliver(&events, &second).map_err(fail)?;
        prop_assert_eq!(batched, direct);
    }
}
