//! Settle on read: a row missing Stripe's subscription or payment data is completed from Stripe.
//!
//! When license status finds a row without status, period or paid-through date (checkout
//! completed, subscription events late, or a row written before migration 0003), it reads the
//! subscription and its latest invoice back from Stripe (`GET /v1/subscriptions/{id}`,
//! `GET /v1/invoices/{id}`, 10 s timeout each) and applies them through the same guarded upsert
//! as webhooks, dated now. When that invoice is not paid (a renewal being retried), the newest
//! paid one (`GET /v1/invoices?subscription=&status=paid&limit=1`) gives the paid-through
//! date. If Stripe cannot be reached the row is used as it is (the 24-hour fallback of
//! `license::evaluate`, within 72 hours of checkout completion). An isolate tries
//! this at most once per customer per [`crate::ctx::SETTLE_RETRY_SECONDS`], so a row Stripe
//! cannot settle does not turn a refresh loop into a Stripe request loop.

use crate::ctx::Ctx;
use crate::store::{customers, events};
use crate::stripe::{Retrieve, Stripe};
use nyra_domain::license;
use nyra_domain::time::iso;
use nyra_domain::webhook::event::{self, EventType, Facts};
use nyra_domain::webhook::state::{self, Expect, Statement};
use worker::{D1Database, console_log};

/// The row as it stands after settling it from Stripe (unchanged when nothing was missing,
/// or Stripe or D1 did not answer).
pub async fn if_unsettled(
    ctx: &Ctx,
    db: &D1Database,
    row: customers::CustomerRow,
    stripe_key: String,
    expect: &Expect<'_>,
    device_id: &str,
) -> customers::CustomerRow {
    let Some(subscription_id) = row.subscription_id.clone() else {
        return row;
    };
    let now = ctx.now();
    let unsettled = license::is_unsettled(&row.entitlement_input(expect.livemode));
    if !unsettled || !ctx.may_settle(&row.customer_id, now) {
        return row;
    }
    let statements = snapshots(&ctx.stripe(stripe_key), &subscription_id, expect, now).await;
    if statements.is_empty() || events::apply(db, &statements).await.is_err() {
        console_log!("settle: {subscription_id} not settled");
        return row;
    }
    match customers::by_customer(db, &row.customer_id, device_id).await {
        Ok(Some(settled)) => settled,
        _ => row,
    }
}

/// The upserts of the subscription and, when it is paid, its latest invoice.
async fn snapshots(
    stripe: &Stripe,
    subscription_id: &str,
    expect: &Expect<'_>,
    now: i64,
) -> Vec<Statement> {
    let now_iso = iso(now);
    let Some(subscription) = read(
        stripe,
        Retrieve::Subscription,
        subscription_id,
        EventType::SubscriptionUpdated,
        now,
    )
    .await
    else {
        return Vec::new();
    };
    let invoice_id = match &subscription.facts {
        Facts::Subscription(s) => s.latest_invoice.clone(),
        _ => None,
    };
    let mut invoice = match invoice_id {
        Some(id) => read(stripe, Retrieve::Invoice, &id, EventType::InvoicePaid, now).await,
        None => None,
    };
    if !invoice.as_ref().is_some_and(is_paid) {
        invoice = last_paid(stripe, subscription_id, now).await.or(invoice);
    }
    [Some(subscription), invoice]
        .into_iter()
        .flatten()
        .filter_map(|snapshot| state::state_change(&snapshot, expect, &now_iso))
        .collect()
}

/// Whether a read-back invoice is paid.
fn is_paid(invoice: &event::Event) -> bool {
    matches!(&invoice.facts, Facts::Invoice(i) if i.status.as_deref() == Some("paid"))
}

/// The subscription's newest paid invoice, when its latest one is not paid (a renewal still
/// being retried): what was paid before still counts until its period end plus the grace.
async fn last_paid(stripe: &Stripe, subscription_id: &str, now: i64) -> Option<event::Event> {
    let list = stripe
        .last_paid_invoice(subscription_id)
        .await
        .inspect_err(|e| e.log("settle read"))
        .ok()?;
    let object = event::first_in_list(&list)
        .inspect_err(|e| console_log!("settle: {subscription_id} invoices unusable: {e}"))
        .ok()??;
    event::snapshot(EventType::InvoicePaid, object.as_bytes(), now)
        .inspect_err(|e| console_log!("settle: {subscription_id} last paid invoice unusable: {e}"))
        .ok()
}

/// One object read back and parsed as a snapshot; `None` (logged) when Stripe or the parse fails.
async fn read(
    stripe: &Stripe,
    kind: Retrieve,
    id: &str,
    as_type: EventType,
    now: i64,
) -> Option<event::Event> {
    let body = stripe
        .retrieve(kind, id)
        .await
        .inspect_err(|e| e.log("settle read"))
        .ok()?;
    event::snapshot(as_type, &body, now)
        .inspect_err(|e| console_log!("settle: {id} unusable: {e}"))
        .ok()
}
