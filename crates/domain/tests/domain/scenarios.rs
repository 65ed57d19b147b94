//! Entitlement follows payment: Stripe scenarios real accounts produce, in every delivery order.
//!
//! Each scenario is a list of events and checks at chosen instants. For a check, the events
//! Stripe has created by then are delivered in every order (up to 7 events; random orders with
//! duplicates above that) into SQLite through the Worker's own SQL; every order must end in the
//! same row, and `license::evaluate` on that row must give the expected licence answer.

use crate::webhook::{migrated, to_db};
use nyra_domain::license::{EntitlementInput, evaluate};
use nyra_domain::webhook::event::{
    Checkout, Event, EventType, Facts, Invoice, InvoiceLine, Subscription,
};
use nyra_domain::webhook::state::{Expect, plan};
use proptest::test_runner::{Config, TestRng};

const T0: i64 = 1_764_300_000;
const DAY: i64 = 86_400;
const PERIOD: i64 = 30 * DAY;
const GRACE_HOURS: i64 = 168;
const GRACE: i64 = GRACE_HOURS * 3600;
const PRICE: &str = "price_test_local_pro_monthly";
const OTHER: &str = "price_test_other_product";
/// The price checkout sells after a price change; `PRICE` became a previous price.
const NEW_PRICE: &str = "price_test_local_pro_monthly_v2";
const CUS: &str = "cus_test_Scenario";
const TEST_KEY: Expect = Expect {
    price_id: PRICE,
    previous_prices: &[],
    livemode: false,
};
const LIVE_KEY: Expect = Expect {
    price_id: PRICE,
    previous_prices: &[],
    livemode: true,
};

/// The licence answer at an instant: active, token expiry, payment issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Answer {
    active: bool,
    expires_at: Option<i64>,
    payment_issue: bool,
}

const DENIED: Answer = Answer {
    active: false,
    expires_at: None,
    payment_issue: false,
};

fn until(expires_at: i64) -> Answer {
    Answer {
        active: true,
        expires_at: Some(expires_at),
        payment_issue: false,
    }
}

fn past_due_until(expires_at: i64) -> Answer {
    Answer {
        payment_issue: true,
        ..until(expires_at)
    }
}

struct Scenario {
    name: &'static str,
    expect: Expect<'static>,
    events: Vec<Event>,
    checks: Vec<(i64, Answer)>,
}

fn event(id: &str, event_type: EventType, created: i64, facts: Facts) -> Event {
    Event {
        id: format!("evt_{id}"),
        event_type,
        created,
        livemode: false,
        facts,
    }
}

fn live(mut event: Event) -> Event {
    event.livemode = true;
    event
}

fn checkout_as(id: &str, event_type: EventType, created: i64, mode: &str, paid: &str) -> Event {
    let customer = (mode == "subscription").then(|| CUS.to_owned());
    let facts = Facts::CheckoutCompleted(Checkout {
        session_id: "cs_test_Scenario".into(),
        customer_id: customer,
        mode: Some(mode.into()),
        payment_status: Some(paid.into()),
        subscription_id: (mode == "subscription").then(|| "sub_test_Scenario".to_owned()),
        device_id: Some("dev_test_scenario".into()),
        email: None,
    });
    event(id, event_type, created, facts)
}

fn checkout(id: &str, created: i64) -> Event {
    let completed = EventType::CheckoutSessionCompleted;
    checkout_as(id, completed, created, "subscription", "paid")
}

fn sub(id: &str, event_type: EventType, created: i64, status: &str, end: i64) -> Event {
    sub_priced(id, event_type, created, status, end, PRICE)
}

fn sub_priced(
    id: &str,
    event_type: EventType,
    created: i64,
    status: &str,
    end: i64,
    price: &str,
) -> Event {
    let facts = Facts::Subscription(Subscription {
        subscription_id: "sub_test_Scenario".into(),
        customer_id: CUS.into(),
        status: status.into(),
        cancel_at_period_end: false,
        device_id: Some("dev_test_scenario".into()),
        price_id: Some(price.into()),
        price_ids: vec![price.into()],
        current_period_end: Some(end),
        latest_invoice: None,
    });
    event(id, event_type, created, facts)
}

fn invoice(id: &str, event_type: EventType, created: i64, status: &str, line_end: i64) -> Event {
    invoice_priced(id, event_type, created, status, line_end, PRICE)
}

fn invoice_priced(
    id: &str,
    event_type: EventType,
    created: i64,
    status: &str,
    line_end: i64,
    price: &str,
) -> Event {
    let facts = Facts::Invoice(Invoice {
        invoice_id: format!("in_{id}"),
        customer_id: CUS.into(),
        status: Some(status.into()),
        subscription_id: Some("sub_test_Scenario".into()),
        lines: vec![InvoiceLine {
            price_id: Some(price.into()),
            period_end: Some(line_end),
        }],
    });
    event(id, event_type, created, facts)
}

use EventType::{
    CheckoutAsyncPaymentFailed as AsyncFailed, CheckoutAsyncPaymentSucceeded as AsyncPaid,
    CheckoutSessionCompleted as Completed, InvoicePaid as Paid, InvoicePaymentFailed as Failed,
    SubscriptionCreated as Created, SubscriptionDeleted as Deleted, SubscriptionUpdated as Updated,
};

/// A paid monthly subscription started at `T0`: checkout, subscription, first invoice.
fn started() -> Vec<Event> {
    vec![
        checkout("co", T0),
        sub("s1", Created, T0, "active", T0 + PERIOD),
        invoice("i1", Paid, T0, "paid", T0 + PERIOD),
    ]
}

fn with(mut events: Vec<Event>, more: Vec<Event>) -> Vec<Event> {
    events.extend(more);
    events
}

/// After a price change (`PRICE` became a previous price), a subscriber on it renews and
/// cancels exactly as before: the same histories, the same answers.
fn price_changed(scenarios: &[Scenario]) -> Vec<Scenario> {
    let changed = Expect {
        price_id: NEW_PRICE,
        previous_prices: Vec::leak(vec![PRICE.to_owned()]),
        livemode: false,
    };
    let renamed = [
        (
            "renewal paid",
            "price changed: a subscriber on the previous price renews",
        ),
        (
            "cancel at period end",
            "price changed: a subscriber on the previous price cancels",
        ),
    ];
    renamed
        .iter()
        .map(|(from, name)| {
            let original = scenarios
                .iter()
                .find(|s| s.name == *from)
                .unwrap_or_else(|| panic!("no scenario named {from}"));
            Scenario {
                name,
                expect: changed,
                events: original.events.clone(),
                checks: original.checks.clone(),
            }
        })
        .collect()
}

fn scenarios() -> Vec<Scenario> {
    let p1 = T0 + PERIOD;
    let p2 = T0 + 2 * PERIOD;
    let mut all = vec![
        Scenario {
            name: "trial then active",
            expect: TEST_KEY,
            events: vec![
                checkout_as("co", Completed, T0, "subscription", "no_payment_required"),
                sub("s1", Created, T0, "trialing", T0 + 14 * DAY),
                invoice("i0", Paid, T0, "paid", T0 + 14 * DAY),
                sub(
                    "s2",
                    Updated,
                    T0 + 14 * DAY,
                    "active",
                    T0 + 14 * DAY + PERIOD,
                ),
                invoice("i1", Paid, T0 + 14 * DAY, "paid", T0 + 14 * DAY + PERIOD),
            ],
            checks: vec![
                (T0 + DAY, until(T0 + 14 * DAY + GRACE)),
                (T0 + 15 * DAY, until(T0 + 14 * DAY + PERIOD + GRACE)),
            ],
        },
        Scenario {
            name: "renewal paid",
            expect: TEST_KEY,
            events: with(
                started(),
                vec![
                    sub("s2", Updated, p1, "active", p2),
                    invoice("i2", Paid, p1, "paid", p2),
                ],
            ),
            checks: vec![
                (T0 + DAY, until(p1 + GRACE)),
                (p1 + 3600, until(p2 + GRACE)),
            ],
        },
        Scenario {
            name: "renewal failed, then paid late",
            expect: TEST_KEY,
            events: with(
                started(),
                vec![
                    sub("s2", Updated, p1, "past_due", p2),
                    invoice("i2", Failed, p1, "open", p2),
                    invoice("i2p", Paid, p1 + 3 * DAY, "paid", p2),
                    sub("s3", Updated, p1 + 3 * DAY, "active", p2),
                ],
            ),
            checks: vec![
                (p1 + DAY, past_due_until(p1 + GRACE)),
                (p1 + 3 * DAY + 60, until(p2 + GRACE)),
            ],
        },
        Scenario {
            name: "renewal failed, never paid: access ends at the old period plus grace",
            expect: TEST_KEY,
            events: with(
                started(),
                vec![
                    sub("s2", Updated, p1, "past_due", p2),
                    invoice("i2", Failed, p1, "open", p2),
                ],
            ),
            checks: vec![(p1 + DAY, past_due_until(p1 + GRACE)), (p1 + GRACE, DENIED)],
        },
        Scenario {
            name: "renewal failed, then cancelled",
            expect: TEST_KEY,
            events: with(
                started(),
                vec![
                    sub("s2", Updated, p1, "past_due", p2),
                    invoice("i2", Failed, p1, "open", p2),
                    sub("s3", Deleted, p1 + 5 * DAY, "canceled", p2),
                ],
            ),
            checks: vec![
                (p1 + DAY, past_due_until(p1 + GRACE)),
                (p1 + 5 * DAY, DENIED),
            ],
        },
        Scenario {
            name: "cancel at period end",
            expect: TEST_KEY,
            events: with(started(), vec![sub("s3", Deleted, p1, "canceled", p1)]),
            checks: vec![(T0 + 20 * DAY, until(p1 + GRACE)), (p1, DENIED)],
        },
        Scenario {
            name: "immediate cancel, $0 final invoice paid after deletion",
            expect: TEST_KEY,
            events: with(
                started(),
                vec![
                    sub("s3", Deleted, T0 + 5 * DAY, "canceled", p1),
                    invoice("i9", Paid, T0 + 5 * DAY + 1, "paid", T0 + 5 * DAY),
                ],
            ),
            checks: vec![(T0 + DAY, until(p1 + GRACE)), (T0 + 6 * DAY, DENIED)],
        },
        Scenario {
            name: "another product's subscription on the same customer",
            expect: TEST_KEY,
            events: with(
                started(),
                vec![
                    sub_priced("x1", Updated, T0 + DAY, "canceled", T0 + DAY, OTHER),
                    invoice_priced("x2", Paid, T0 + DAY, "paid", T0 + 400 * DAY, OTHER),
                ],
            ),
            checks: vec![(T0 + 2 * DAY, until(p1 + GRACE))],
        },
        Scenario {
            name: "a subscription of another price only",
            expect: TEST_KEY,
            events: vec![
                sub_priced("x1", Created, T0, "active", p1, OTHER),
                invoice_priced("x2", Paid, T0, "paid", p1, OTHER),
            ],
            checks: vec![(T0 + DAY, DENIED)],
        },
        Scenario {
            name: "payment-mode checkout",
            expect: TEST_KEY,
            events: vec![checkout_as("co", Completed, T0, "payment", "paid")],
            checks: vec![(T0 + 60, DENIED)],
        },
        Scenario {
            name: "async payment pending, then succeeded",
            expect: TEST_KEY,
            events: vec![
                checkout_as("co", Completed, T0, "subscription", "unpaid"),
                sub("s1", Created, T0, "incomplete", p1),
                checkout_as("ok", AsyncPaid, T0 + 2 * DAY, "subscription", "paid"),
                sub("s2", Updated, T0 + 2 * DAY, "active", p1),
                invoice("i1", Paid, T0 + 2 * DAY, "paid", p1),
            ],
            checks: vec![(T0 + DAY, DENIED), (T0 + 2 * DAY + 60, until(p1 + GRACE))],
        },
        Scenario {
            name: "async payment pending, then failed",
            expect: TEST_KEY,
            events: vec![
                checkout_as("co", Completed, T0, "subscription", "unpaid"),
                sub("s1", Created, T0, "incomplete", p1),
                checkout_as("no", AsyncFailed, T0 + 2 * DAY, "subscription", "unpaid"),
                sub("s2", Updated, T0 + 3 * DAY, "incomplete_expired", p1),
            ],
            checks: vec![(T0 + DAY, DENIED), (T0 + 4 * DAY, DENIED)],
        },
        Scenario {
            name: "live-mode events on a test key",
            expect: TEST_KEY,
            events: started().into_iter().map(live).collect(),
            checks: vec![(T0 + DAY, DENIED)],
        },
        Scenario {
            name: "test-mode events on a live key",
            expect: LIVE_KEY,
            events: started(),
            checks: vec![(T0 + DAY, DENIED)],
        },
        Scenario {
            name: "same-second updates: the later period wins",
            expect: TEST_KEY,
            events: with(
                started(),
                vec![
                    sub("zz_old", Updated, p1, "active", p1),
                    sub("aa_new", Updated, p1, "active", p2),
                    invoice("i2", Paid, p1, "paid", p2),
                ],
            ),
            checks: vec![(p1 + 60, until(p2 + GRACE))],
        },
        Scenario {
            name: "same-second update and deletion: the terminal status wins",
            expect: TEST_KEY,
            events: with(
                started(),
                vec![
                    sub("zz_update", Updated, T0 + DAY, "active", p1),
                    sub("aa_delete", Deleted, T0 + DAY, "canceled", p1),
                ],
            ),
            checks: vec![(T0 + DAY + 60, DENIED)],
        },
    ];
    all.extend(price_changed(&all));
    all
}

/// The columns `license::evaluate` reads (as the Worker's store does), or `None` without a row.
type Facts5 = (
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// Delivers events in `order` (a duplicate fails its batch and changes nothing), returns the row.
fn deliver(events: &[&Event], order: &[usize], expect: &Expect) -> Option<Facts5> {
    let mut conn = migrated().expect("migrations apply");
    for &i in order {
        let tx = conn.transaction().expect("transaction");
        let applied = plan(events[i], expect, "2025-11-28T03:20:00Z")
            .statements
            .iter()
            .try_for_each(|s| {
                tx.execute(
                    s.sql,
                    rusqlite::params_from_iter(s.params.iter().map(to_db)),
                )
                .map(|_| ())
            });
        if applied.is_ok() {
            tx.commit().expect("commit");
        }
    }
    conn.query_row(
        "SELECT status, current_period_end, paid_through, checkout_completed_at, livemode \
         FROM billing_customers WHERE customer_id = ?1",
        [CUS],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )
    .ok()
}

/// The licence answer for a row at `now`, with the Worker's mode rule.
fn answer(row: Option<&Facts5>, expect: &Expect, now: i64) -> Answer {
    let Some((status, end, paid, completed, livemode)) = row.cloned() else {
        return DENIED;
    };
    let input = EntitlementInput {
        status,
        current_period_end: end,
        paid_through: paid,
        checkout_completed_at: completed,
        mode_matches: livemode.is_none_or(|mode| (mode != 0) == expect.livemode),
    };
    let decision = evaluate(&input, now, GRACE_HOURS);
    Answer {
        active: decision.active,
        expires_at: decision.token_expires_at,
        payment_issue: decision.active && decision.payment_issue,
    }
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for tail in permutations(n - 1) {
        for at in 0..=tail.len() {
            let mut order = tail.clone();
            order.insert(at, n - 1);
            out.push(order);
        }
    }
    out
}

/// Every order up to 7 events; 300 random orders with duplicates above that.
fn orders(n: usize) -> Vec<Vec<usize>> {
    if n <= 7 {
        return permutations(n);
    }
    let mut rng = TestRng::deterministic_rng(Config::default().rng_algorithm);
    (0..300)
        .map(|_| {
            let mut order: Vec<usize> = (0..n).collect();
            order.extend((0..n / 2).map(|_| rand_below(&mut rng, n)));
            for i in (1..order.len()).rev() {
                order.swap(i, rand_below(&mut rng, i + 1));
            }
            order
        })
        .collect()
}

fn rand_below(rng: &mut TestRng, n: usize) -> usize {
    use proptest::prelude::Rng;
    (rng.next_u64() % n as u64) as usize
}

#[test]
fn every_scenario_answers_as_expected_in_every_delivery_order() {
    for scenario in scenarios() {
        for (now, expected) in &scenario.checks {
            let seen: Vec<&Event> = scenario
                .events
                .iter()
                .filter(|e| e.created <= *now)
                .collect();
            let all = orders(seen.len());
            let first = deliver(&seen, &all[0], &scenario.expect);
            for order in &all {
                let row = deliver(&seen, order, &scenario.expect);
                assert_eq!(row, first, "{}: order {order:?}", scenario.name);
            }
            let got = answer(first.as_ref(), &scenario.expect, *now);
            assert_eq!(got, *expected, "{} at T0{:+}s", scenario.name, now - T0);
        }
    }
}

#[test]
fn a_long_history_with_duplicates_ends_in_the_same_row() {
    let mut events = started();
    for month in 1..=5 {
        let at = T0 + month * PERIOD;
        events.push(sub(
            &format!("r{month}"),
            Updated,
            at,
            "active",
            at + PERIOD,
        ));
        events.push(invoice(&format!("p{month}"), Paid, at, "paid", at + PERIOD));
    }
    let seen: Vec<&Event> = events.iter().collect();
    let reference = deliver(&seen, &(0..seen.len()).collect::<Vec<_>>(), &TEST_KEY);
    for order in orders(seen.len()) {
        assert_eq!(deliver(&seen, &order, &TEST_KEY), reference, "{order:?}");
    }
    let now = T0 + 5 * PERIOD + DAY;
    assert_eq!(
        answer(reference.as_ref(), &TEST_KEY, now),
        until(T0 + 6 * PERIOD + GRACE)
    );
}
