//! What Stripe does when a subscription moves on (renewal, failed payment, cancellation, time
//! passing), and which events that emits; the invoice steps shared with [`crate::payment`].

use serde_json::{Map, Value, json};

use crate::events::emit;
use crate::ids::new_id;
use crate::objects::{self, AMOUNT, PERIOD};
use crate::state::{Invoice, Store, Subscription};

/// Why a control action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The named object does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The object is in a state where the action makes no sense.
    #[error("{0}")]
    Conflict(String),
    /// The control request itself is malformed.
    #[error("{0}")]
    BadRequest(String),
}

/// The events an action emitted (ids, in order) and the ids of objects it touched.
#[derive(Debug, Default)]
pub struct Outcome {
    pub events: Vec<String>,
    pub objects: Map<String, Value>,
}

impl Outcome {
    /// Records an event and appends it to the outcome.
    pub fn emit(&mut self, store: &mut Store, kind: &str, object: Value, previous: Option<Value>) {
        self.events.push(emit(store, kind, object, previous));
    }

    /// Names an object the action touched in the control answer.
    pub fn note(&mut self, key: &str, id: &str) {
        self.objects.insert(key.to_owned(), json!(id));
    }
}

/// Email used when the session had no `customer_email`.
pub const DEFAULT_EMAIL: &str = "buyer@example.com";
/// Most periods one clock advance may renew per subscription.
const MAX_RENEWALS: usize = 1000;

/// Renews a subscription: pays the next period's invoice (or the open one of a past-due
/// subscription) and moves the item period on by 30 days.
pub fn renew(store: &mut Store, sub_id: &str) -> Result<Outcome, ControlError> {
    let sub = billable_subscription(store, sub_id)?;
    let mut out = Outcome::default();
    out.note("subscription", &sub.id);
    let open = sub
        .latest_invoice
        .as_ref()
        .and_then(|id| store.invoices.get(id))
        .filter(|inv| inv.status == "open")
        .cloned();
    let mut next = sub.clone();
    let mut invoice = match open {
        Some(mut inv) => {
            settle_invoice(store, &mut out, &mut inv, false);
            inv
        }
        None => {
            advance_period(&mut next);
            let email = customer_email(store, &sub.customer);
            let period = (sub.period_start, sub.period_end);
            let mut inv = draft_invoice(store, &next, &email, "subscription_cycle", period);
            settle_invoice(store, &mut out, &mut inv, true);
            inv
        }
    };
    invoice.status = "paid";
    next.status = "active";
    next.latest_invoice = Some(invoice.id.clone());
    out.note("invoice", &invoice.id);
    let previous = changed_attributes(&sub, &next);
    out.emit(
        store,
        "customer.subscription.updated",
        objects::subscription(&next),
        Some(previous),
    );
    store.invoices.insert(invoice.id.clone(), invoice);
    store.subscriptions.insert(next.id.clone(), next);
    Ok(out)
}

/// Fails a renewal payment: the next period's invoice stays `open` and the subscription
/// becomes `past_due` (a further failure only retries the open invoice).
pub fn fail_payment(store: &mut Store, sub_id: &str) -> Result<Outcome, ControlError> {
    let sub = billable_subscription(store, sub_id)?;
    let mut out = Outcome::default();
    out.note("subscription", &sub.id);
    let open = sub
        .latest_invoice
        .as_ref()
        .and_then(|id| store.invoices.get(id))
        .filter(|inv| inv.status == "open")
        .cloned();
    if let Some(mut inv) = open {
        inv.attempt_count += 1;
        out.note("invoice", &inv.id);
        out.emit(
            store,
            "invoice.payment_failed",
            objects::invoice(&inv),
            None,
        );
        store.invoices.insert(inv.id.clone(), inv);
        return Ok(out);
    }
    let mut next = sub.clone();
    advance_period(&mut next);
    let email = customer_email(store, &sub.customer);
    let period = (sub.period_start, sub.period_end);
    let mut inv = draft_invoice(store, &next, &email, "subscription_cycle", period);
    let now = store.now();
    inv.status = "open";
    inv.finalized_at = Some(now);
    inv.attempt_count = 1;
    next.status = "past_due";
    next.latest_invoice = Some(inv.id.clone());
    out.note("invoice", &inv.id);
    out.emit(
        store,
        "invoice.payment_failed",
        objects::invoice(&inv),
        None,
    );
    let previous = changed_attributes(&sub, &next);
    out.emit(
        store,
        "customer.subscription.updated",
        objects::subscription(&next),
        Some(previous),
    );
    store.invoices.insert(inv.id.clone(), inv);
    store.subscriptions.insert(next.id.clone(), next);
    Ok(out)
}

/// Schedules cancellation at the end of the current period.
pub fn cancel_at_period_end(store: &mut Store, sub_id: &str) -> Result<Outcome, ControlError> {
    let sub = live_subscription(store, sub_id)?;
    if sub.cancel_at_period_end {
        return Err(ControlError::Conflict(
            "subscription already cancels at period end".into(),
        ));
    }
    let mut next = sub.clone();
    next.cancel_at_period_end = true;
    next.cancel_at = Some(sub.period_end);
    next.canceled_at = Some(store.now());
    let mut out = Outcome::default();
    out.note("subscription", &sub.id);
    let previous = changed_attributes(&sub, &next);
    out.emit(
        store,
        "customer.subscription.updated",
        objects::subscription(&next),
        Some(previous),
    );
    store.subscriptions.insert(next.id.clone(), next);
    Ok(out)
}

/// Cancels now (`ended_at` = now) or, from the clock, at the scheduled period end.
pub fn cancel(
    store: &mut Store,
    sub_id: &str,
    ended_at: Option<i64>,
) -> Result<Outcome, ControlError> {
    let mut sub = live_subscription(store, sub_id)?;
    let now = store.now();
    sub.status = "canceled";
    sub.canceled_at = Some(sub.canceled_at.unwrap_or(now));
    sub.ended_at = Some(ended_at.unwrap_or(now));
    let mut out = Outcome::default();
    out.note("subscription", &sub.id);
    out.emit(
        store,
        "customer.subscription.deleted",
        objects::subscription(&sub),
        None,
    );
    store.subscriptions.insert(sub.id.clone(), sub);
    Ok(out)
}

/// Cancels now; with `invoice_now`, Stripe's final invoice follows the deletion: $0 here (no
/// proration credit), its line of the subscription's price covering the period up to now,
/// finalized and paid at once (`invoice.created`, `.finalized`, `.paid`, `.payment_succeeded`).
pub fn cancel_now(
    store: &mut Store,
    sub_id: &str,
    invoice_now: bool,
) -> Result<Outcome, ControlError> {
    let mut out = cancel(store, sub_id, None)?;
    if invoice_now {
        final_invoice(store, &mut out, sub_id);
    }
    Ok(out)
}

fn final_invoice(store: &mut Store, out: &mut Outcome, sub_id: &str) {
    let Some(mut sub) = store.subscriptions.get(sub_id).cloned() else {
        return;
    };
    let now = store.now();
    let email = customer_email(store, &sub.customer);
    let period = (sub.period_start, now);
    let mut inv = draft_invoice(store, &sub, &email, "subscription_update", period);
    inv.line_end = now;
    inv.amount = 0;
    inv.proration = true;
    settle_invoice(store, out, &mut inv, true);
    out.note("invoice", &inv.id);
    sub.latest_invoice = Some(inv.id.clone());
    store.invoices.insert(inv.id.clone(), inv);
    store.subscriptions.insert(sub.id.clone(), sub);
}

/// Moves the virtual clock on, then ends or renews every subscription whose period passed.
pub fn advance_clock(store: &mut Store, seconds: i64) -> Result<Outcome, ControlError> {
    if !(0..=10 * 366 * 24 * 3600).contains(&seconds) {
        return Err(ControlError::BadRequest(
            "seconds must be between 0 and ten years".into(),
        ));
    }
    store.clock.advance(seconds);
    let mut subs: Vec<(i64, String)> = store
        .subscriptions
        .values()
        .filter(|s| !s.has_ended())
        .map(|s| (s.created, s.id.clone()))
        .collect();
    subs.sort();
    let mut out = Outcome::default();
    for (_, id) in subs {
        for _ in 0..MAX_RENEWALS {
            let Some(sub) = store.subscriptions.get(&id).cloned() else {
                break;
            };
            if sub.has_ended() || sub.period_end > store.now() {
                break;
            }
            let step = if sub.cancel_at_period_end {
                cancel(store, &id, Some(sub.period_end))?
            } else if sub.status == "active" {
                renew(store, &id)?
            } else {
                break;
            };
            out.events.extend(step.events);
        }
    }
    Ok(out)
}

fn live_subscription(store: &Store, sub_id: &str) -> Result<Subscription, ControlError> {
    let sub = store
        .subscriptions
        .get(sub_id)
        .cloned()
        .ok_or_else(|| ControlError::NotFound(format!("no such subscription: '{sub_id}'")))?;
    if sub.has_ended() {
        let msg = format!("subscription has ended (status {})", sub.status);
        return Err(ControlError::Conflict(msg));
    }
    Ok(sub)
}

/// A live subscription past its first payment: an `incomplete` one waits for its async payment.
fn billable_subscription(store: &Store, sub_id: &str) -> Result<Subscription, ControlError> {
    let sub = live_subscription(store, sub_id)?;
    if sub.status == "incomplete" {
        return Err(ControlError::Conflict(
            "subscription is incomplete: settle its checkout's async payment first".into(),
        ));
    }
    Ok(sub)
}

pub fn customer_email(store: &Store, customer: &str) -> String {
    store
        .customers
        .get(customer)
        .map(|c| c.email.clone())
        .unwrap_or_else(|| DEFAULT_EMAIL.into())
}

fn advance_period(sub: &mut Subscription) {
    sub.period_start = sub.period_end;
    sub.period_end += PERIOD;
}

/// A draft invoice for the subscription's current item period; `period` is the invoice's
/// own `period_start`/`period_end` (Stripe's pending-items window, not the service period).
pub fn draft_invoice(
    store: &mut Store,
    sub: &Subscription,
    email: &str,
    billing_reason: &'static str,
    period: (i64, i64),
) -> Invoice {
    Invoice {
        id: new_id("in_test_", 24),
        number: store.next_invoice_number(),
        customer: sub.customer.clone(),
        customer_email: email.to_owned(),
        subscription: sub.id.clone(),
        subscription_metadata: sub.metadata.clone(),
        item_id: sub.item_id.clone(),
        price: sub.price.clone(),
        quantity: sub.quantity,
        amount: AMOUNT * i64::from(sub.quantity),
        proration: false,
        billing_reason,
        status: "draft",
        created: store.now(),
        period_start: period.0,
        period_end: period.1,
        line_start: sub.period_start,
        line_end: sub.period_end,
        finalized_at: None,
        paid_at: None,
        attempt_count: 0,
    }
}

/// Emits `invoice.created`, then finalizes the draft (`open`) and emits `invoice.finalized`.
pub fn open_invoice(store: &mut Store, out: &mut Outcome, inv: &mut Invoice) {
    out.emit(store, "invoice.created", objects::invoice(inv), None);
    inv.status = "open";
    inv.finalized_at = Some(store.now());
    out.emit(store, "invoice.finalized", objects::invoice(inv), None);
}

/// Opens a new draft ([`open_invoice`]) when `is_new`, then emits `invoice.paid` and
/// `invoice.payment_succeeded`, snapshotting the invoice at each step.
pub fn settle_invoice(store: &mut Store, out: &mut Outcome, inv: &mut Invoice, is_new: bool) {
    if is_new {
        open_invoice(store, out, inv);
    }
    inv.status = "paid";
    inv.paid_at = Some(store.now());
    inv.attempt_count += 1;
    out.emit(store, "invoice.paid", objects::invoice(inv), None);
    out.emit(
        store,
        "invoice.payment_succeeded",
        objects::invoice(inv),
        None,
    );
}

/// `previous_attributes` for a subscription update: the old value of every changed field
/// (nested objects list only their changed keys, like Stripe's `items: {data: [...]}`).
pub fn changed_attributes(old: &Subscription, new: &Subscription) -> Value {
    diff(&objects::subscription(old), &objects::subscription(new)).unwrap_or_else(|| json!({}))
}

fn diff(before: &Value, after: &Value) -> Option<Value> {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let changed: Map<String, Value> = b
                .iter()
                .filter_map(|(k, v)| match a.get(k) {
                    Some(new) => diff(v, new).map(|d| (k.clone(), d)),
                    None => Some((k.clone(), v.clone())),
                })
                .collect();
            (!changed.is_empty()).then_some(Value::Object(changed))
        }
        _ => (before != after).then(|| before.clone()),
    }
}
