//! What Stripe does when a Checkout Session is paid, and which events that emits.
//!
//! - By card ([`Method::Card`]): in subscription mode a customer, an `active` subscription, its
//!   paid first invoice and the active entitlement; in payment mode a PaymentIntent, and a
//!   customer only with `customer_creation=always`.
//! - By an async method ([`Method::Async`], a bank debit): the session completes with
//!   `payment_status: "unpaid"`; in subscription mode the subscription is `incomplete` and its
//!   first invoice `open`. [`settle_async`] then succeeds (`invoice.paid`,
//!   `invoice.payment_succeeded`, `customer.subscription.updated` to `active`,
//!   `checkout.session.async_payment_succeeded`, the entitlement) or fails
//!   (`invoice.payment_failed`, `checkout.session.async_payment_failed`, then
//!   `customer.subscription.updated` to `incomplete_expired`: Stripe expires an incomplete
//!   subscription 23 hours after creation, the emulator at once).

use serde_json::json;

use crate::ids::new_id;
use crate::lifecycle::{
    ControlError, DEFAULT_EMAIL, Outcome, changed_attributes, draft_invoice, open_invoice,
    settle_invoice,
};
use crate::objects::{self, PERIOD};
use crate::state::{CheckoutSession, Customer, Invoice, Store, Subscription};

/// How the buyer pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Settled at once.
    Card,
    /// Processing: the outcome comes later through [`settle_async`].
    Async,
}

/// Pays an open Checkout Session by `method`.
pub fn pay(store: &mut Store, session_id: &str, method: Method) -> Result<Outcome, ControlError> {
    let mut session = open_session(store, session_id)?;
    let email = session.customer_email.clone();
    session.complete = true;
    session.async_pending = method == Method::Async;
    session.payment_status = if session.async_pending {
        "unpaid"
    } else {
        "paid"
    };
    session.paid_email = Some(email.unwrap_or_else(|| DEFAULT_EMAIL.into()));
    let mut out = Outcome::default();
    if session.mode == "payment" {
        pay_once(store, &mut out, session);
    } else {
        subscribe(store, &mut out, session);
    }
    Ok(out)
}

/// Ends an async payment: `succeeded` pays (and activates), otherwise it failed.
pub fn settle_async(
    store: &mut Store,
    session_id: &str,
    succeeded: bool,
) -> Result<Outcome, ControlError> {
    let mut session = store.sessions.get(session_id).cloned().ok_or_else(|| {
        ControlError::NotFound(format!("no such checkout session: '{session_id}'"))
    })?;
    if !session.async_pending {
        return Err(ControlError::Conflict(
            "checkout session has no async payment pending: pay it with {\"async\": true}".into(),
        ));
    }
    session.async_pending = false;
    let mut out = Outcome::default();
    out.note("session", &session.id);
    if succeeded {
        session.payment_status = "paid";
        async_succeeded(store, &mut out, &session);
    } else {
        async_failed(store, &mut out, &session);
    }
    store.sessions.insert(session.id.clone(), session);
    Ok(out)
}

fn open_session(store: &Store, session_id: &str) -> Result<CheckoutSession, ControlError> {
    let session = store.sessions.get(session_id).cloned().ok_or_else(|| {
        ControlError::NotFound(format!("no such checkout session: '{session_id}'"))
    })?;
    if session.complete {
        return Err(ControlError::Conflict(
            "checkout session is already paid".into(),
        ));
    }
    if session.expires_at <= store.now() {
        return Err(ControlError::Conflict(
            "checkout session has expired".into(),
        ));
    }
    Ok(session)
}

/// Payment mode: a PaymentIntent, no subscription, a customer only when asked for.
fn pay_once(store: &mut Store, out: &mut Outcome, mut session: CheckoutSession) {
    if session.customer_creation == Some("always") {
        session.customer = Some(new_customer(store, out, &session));
    }
    let intent = new_id("pi_test_", 24);
    out.note("payment_intent", &intent);
    session.payment_intent = Some(intent);
    complete(store, out, session);
}

/// Subscription mode: customer, subscription (`active`, or `incomplete` while an async payment
/// processes) and its first invoice (paid, or `open`).
fn subscribe(store: &mut Store, out: &mut Outcome, mut session: CheckoutSession) {
    let customer = new_customer(store, out, &session);
    let mut sub = new_subscription(store, &session, &customer);
    let email = session.paid_email.clone().unwrap_or_default();
    let now = store.now();
    let mut invoice = draft_invoice(store, &sub, &email, "subscription_create", (now, now));
    sub.latest_invoice = Some(invoice.id.clone());
    session.customer = Some(customer.clone());
    session.subscription = Some(sub.id.clone());
    session.invoice = Some(invoice.id.clone());
    out.note("subscription", &sub.id);
    out.note("invoice", &invoice.id);
    let pending = session.async_pending;
    complete(store, out, session);
    let created = objects::subscription(&sub);
    out.emit(store, "customer.subscription.created", created, None);
    if pending {
        open_invoice(store, out, &mut invoice);
    } else {
        settle_invoice(store, out, &mut invoice, true);
        entitle(store, out, &customer);
    }
    store.invoices.insert(invoice.id.clone(), invoice);
    store.subscriptions.insert(sub.id.clone(), sub);
}

fn new_subscription(store: &Store, session: &CheckoutSession, customer: &str) -> Subscription {
    let now = store.now();
    Subscription {
        id: new_id("sub_test_", 24),
        customer: customer.to_owned(),
        created: now,
        status: if session.async_pending {
            "incomplete"
        } else {
            "active"
        },
        metadata: session.subscription_metadata.clone(),
        item_id: new_id("si_", 14),
        price: session.price.clone(),
        quantity: session.quantity,
        period_start: now,
        period_end: now + PERIOD,
        cancel_at_period_end: false,
        cancel_at: None,
        canceled_at: None,
        ended_at: None,
        latest_invoice: None,
    }
}

/// Creates the buyer's customer (`customer.created`) and returns its id.
fn new_customer(store: &mut Store, out: &mut Outcome, session: &CheckoutSession) -> String {
    let customer = Customer {
        id: new_id("cus_test_", 14),
        created: store.now(),
        email: session.paid_email.clone().unwrap_or_default(),
    };
    out.note("customer", &customer.id);
    out.emit(
        store,
        "customer.created",
        objects::customer(&customer),
        None,
    );
    let id = customer.id.clone();
    store.customers.insert(id.clone(), customer);
    id
}

/// Emits `checkout.session.completed` and keeps the completed session.
fn complete(store: &mut Store, out: &mut Outcome, session: CheckoutSession) {
    let object = objects::checkout_session(&session, "");
    out.emit(store, "checkout.session.completed", object, None);
    store.sessions.insert(session.id.clone(), session);
}

/// `entitlements.active_entitlement_summary.updated`: the customer now has `pro`.
fn entitle(store: &mut Store, out: &mut Outcome, customer: &str) {
    let summary = objects::entitlement_summary(customer, &[new_id("ent_test_", 16)]);
    let previous = json!({ "entitlements": { "data": [] } });
    out.emit(
        store,
        "entitlements.active_entitlement_summary.updated",
        summary,
        Some(previous),
    );
}

fn async_succeeded(store: &mut Store, out: &mut Outcome, session: &CheckoutSession) {
    let sub = session
        .subscription
        .as_deref()
        .and_then(|id| pending(store, id));
    let subscribed = sub.is_some();
    if let Some((sub, mut invoice)) = sub {
        settle_invoice(store, out, &mut invoice, false);
        store.invoices.insert(invoice.id.clone(), invoice);
        update_status(store, out, sub, "active");
    }
    let object = objects::checkout_session(session, "");
    out.emit(
        store,
        "checkout.session.async_payment_succeeded",
        object,
        None,
    );
    if let Some(customer) = session.customer.as_deref().filter(|_| subscribed) {
        entitle(store, out, customer);
    }
}

fn async_failed(store: &mut Store, out: &mut Outcome, session: &CheckoutSession) {
    let sub = session
        .subscription
        .as_deref()
        .and_then(|id| pending(store, id));
    if let Some((_, mut invoice)) = sub.clone() {
        invoice.attempt_count += 1;
        let object = objects::invoice(&invoice);
        out.emit(store, "invoice.payment_failed", object, None);
        store.invoices.insert(invoice.id.clone(), invoice);
    }
    let object = objects::checkout_session(session, "");
    out.emit(store, "checkout.session.async_payment_failed", object, None);
    if let Some((mut sub, _)) = sub {
        sub.ended_at = Some(store.now());
        update_status(store, out, sub, "incomplete_expired");
    }
}

/// The session's `incomplete` subscription and its open first invoice.
fn pending(store: &Store, sub_id: &str) -> Option<(Subscription, Invoice)> {
    let sub = store.subscriptions.get(sub_id)?;
    let invoice = store.invoices.get(sub.latest_invoice.as_deref()?)?;
    (sub.status == "incomplete" && invoice.status == "open").then(|| (sub.clone(), invoice.clone()))
}

/// Moves the subscription to `status` and emits `customer.subscription.updated`.
fn update_status(
    store: &mut Store,
    out: &mut Outcome,
    mut next: Subscription,
    status: &'static str,
) {
    let before = store.subscriptions.get(&next.id).cloned();
    next.status = status;
    let previous = before.map(|before| changed_attributes(&before, &next));
    let object = objects::subscription(&next);
    out.emit(store, "customer.subscription.updated", object, previous);
    store.subscriptions.insert(next.id.clone(), next);
}
