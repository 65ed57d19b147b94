//! Turns a parsed event into the D1 statements (claim + one guarded upsert) that record it.
//!
//! Order independence: each field group of `billing_customers` has a guard column (migration
//! 0002) holding the sort key of the event that last wrote the group; an event writes a group
//! only when its key is greater, so any delivery order ends in the same row.
//!
//! Sort key: `"{created:012}:{rank}:{event_id}"`, compared as text. Ties on `created` are broken
//! by the event type's rank (higher wins: `customer.subscription.deleted` 6 > `.updated` 5 >
//! `.created` 4 > `checkout.session.completed` 3 > `invoice.paid` 2 > `invoice.payment_failed` 1;
//! the entitlement summary is 7 but shares its group with no other type), then by event id.
//!
//! Groups and guards:
//! - `checkout_key`: `checkout_session_id`, `email` (checkout.session.completed).
//! - `device_key`: `device_id`; checkout keys are prefixed `1:`, subscription keys `0:`, so the
//!   checkout's device wins whatever the order and a subscription's device only fills a gap.
//! - `subscription_id_key`: `subscription_id`; subscription events `1:`, checkout `0:` (a
//!   checkout only supplies the id until a subscription event is seen).
//! - `subscription_key`: `price_id`, `current_period_end`, `cancel_at_period_end`.
//! - `status_key`: `status`, `entitlement` (subscription events, and `invoice.paid` of a
//!   subscription invoice, which sets `active`).
//! - `invoice_key`: `last_invoice_id`, `last_invoice_status` (invoice events).
//! - `entitlements_key`: `stripe_entitlements_json` (entitlement summaries).
//!
//! A group an event does not write gets a NULL key, and `NULL > x` is never true in SQL.
//! `updated_at` is the only column whose final value depends on delivery order.
//! Assumes one subscription per customer (the product sells one plan).

use super::event::{Checkout, EntitlementSummary, Event, EventType, Facts, Invoice, Subscription};
use crate::license::is_entitled_status;

/// A bound SQL parameter, executed identically by D1 and rusqlite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    /// SQL NULL.
    Null,
    /// A 64-bit integer.
    Integer(i64),
    /// UTF-8 text.
    Text(String),
}

/// One prepared statement with positional (`?N`) parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL text.
    pub sql: &'static str,
    /// Parameters for `?1`, `?2`, ... in order.
    pub params: Vec<SqlValue>,
}

/// Claims the event id; a duplicate violates the primary key and fails the whole batch.
pub const CLAIM_SQL: &str =
    "INSERT INTO processed_events (event_id, type, processed_at) VALUES (?1, ?2, ?3)";

/// The guarded upsert shared by every handled event type.
pub const UPSERT_SQL: &str = "INSERT INTO billing_customers (customer_id, updated_at, \
checkout_key, checkout_session_id, email, device_key, device_id, subscription_id_key, subscription_id, \
subscription_key, price_id, current_period_end, cancel_at_period_end, status_key, status, entitlement, \
invoice_key, last_invoice_id, last_invoice_status, entitlements_key, stripe_entitlements_json) \
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21) \
ON CONFLICT (customer_id) DO UPDATE SET updated_at = excluded.updated_at, \
checkout_session_id = CASE WHEN excluded.checkout_key > COALESCE(billing_customers.checkout_key, '') THEN excluded.checkout_session_id ELSE billing_customers.checkout_session_id END, \
email = CASE WHEN excluded.checkout_key > COALESCE(billing_customers.checkout_key, '') THEN excluded.email ELSE billing_customers.email END, \
checkout_key = CASE WHEN excluded.checkout_key > COALESCE(billing_customers.checkout_key, '') THEN excluded.checkout_key ELSE billing_customers.checkout_key END, \
device_id = CASE WHEN excluded.device_key > COALESCE(billing_customers.device_key, '') THEN excluded.device_id ELSE billing_customers.device_id END, \
device_key = CASE WHEN excluded.device_key > COALESCE(billing_customers.device_key, '') THEN excluded.device_key ELSE billing_customers.device_key END, \
subscription_id = CASE WHEN excluded.subscription_id_key > COALESCE(billing_customers.subscription_id_key, '') THEN excluded.subscription_id ELSE billing_customers.subscription_id END, \
subscription_id_key = CASE WHEN excluded.subscription_id_key > COALESCE(billing_customers.subscription_id_key, '') THEN excluded.subscription_id_key ELSE billing_customers.subscription_id_key END, \
price_id = CASE WHEN excluded.subscription_key > COALESCE(billing_customers.subscription_key, '') THEN excluded.price_id ELSE billing_customers.price_id END, \
current_period_end = CASE WHEN excluded.subscription_key > COALESCE(billing_customers.subscription_key, '') THEN excluded.current_period_end ELSE billing_customers.current_period_end END, \
cancel_at_period_end = CASE WHEN excluded.subscription_key > COALESCE(billing_customers.subscription_key, '') THEN excluded.cancel_at_period_end ELSE billing_customers.cancel_at_period_end END, \
subscription_key = CASE WHEN excluded.subscription_key > COALESCE(billing_customers.subscription_key, '') THEN excluded.subscription_key ELSE billing_customers.subscription_key END, \
status = CASE WHEN excluded.status_key > COALESCE(billing_customers.status_key, '') THEN excluded.status ELSE billing_customers.status END, \
entitlement = CASE WHEN excluded.status_key > COALESCE(billing_customers.status_key, '') THEN excluded.entitlement ELSE billing_customers.entitlement END, \
status_key = CASE WHEN excluded.status_key > COALESCE(billing_customers.status_key, '') THEN excluded.status_key ELSE billing_customers.status_key END, \
last_invoice_id = CASE WHEN excluded.invoice_key > COALESCE(billing_customers.invoice_key, '') THEN excluded.last_invoice_id ELSE billing_customers.last_invoice_id END, \
last_invoice_status = CASE WHEN excluded.invoice_key > COALESCE(billing_customers.invoice_key, '') THEN excluded.last_invoice_status ELSE billing_customers.last_invoice_status END, \
invoice_key = CASE WHEN excluded.invoice_key > COALESCE(billing_customers.invoice_key, '') THEN excluded.invoice_key ELSE billing_customers.invoice_key END, \
stripe_entitlements_json = CASE WHEN excluded.entitlements_key > COALESCE(billing_customers.entitlements_key, '') THEN excluded.stripe_entitlements_json ELSE billing_customers.stripe_entitlements_json END, \
entitlements_key = CASE WHEN excluded.entitlements_key > COALESCE(billing_customers.entitlements_key, '') THEN excluded.entitlements_key ELSE billing_customers.entitlements_key END";

/// The statements to run in ONE batch: the claim, then the state change (none if unhandled).
pub fn plan(event: &Event, now_iso: &str) -> Vec<Statement> {
    let claim = Statement {
        sql: CLAIM_SQL,
        params: vec![
            text(&event.id),
            text(event.event_type.as_str()),
            text(now_iso),
        ],
    };
    let key = sort_key(event);
    let row = match &event.facts {
        Facts::CheckoutCompleted(c) => Some(checkout_row(c, &key)),
        Facts::Subscription(s) => Some(subscription_row(s, &key)),
        Facts::Invoice(i) => Some(invoice_row(
            i,
            &key,
            event.event_type == EventType::InvoicePaid,
        )),
        Facts::EntitlementSummary(e) => Some(entitlements_row(e, &key)),
        Facts::Unhandled => None,
    };
    std::iter::once(claim)
        .chain(row.map(|r| r.statement(now_iso)))
        .collect()
}

/// The `entitlement` column: derived from the status with the licence's own rule
/// ([`is_entitled_status`]); a hint for operators reading D1, never read by the Worker, which
/// decides with `license::evaluate` on every request.
fn entitlement_for(status: &str) -> &'static str {
    if is_entitled_status(status) {
        "pro"
    } else {
        "none"
    }
}

/// The event's sort key: `"{created:012}:{rank}:{event_id}"` (see the module doc).
pub fn sort_key(event: &Event) -> String {
    let created = event.created.clamp(0, 999_999_999_999);
    format!("{created:012}:{}:{}", event.event_type.rank(), event.id)
}

/// Values for one upsert; `None` keys leave their group untouched on conflict (entitlement
/// defaults to `none` when a row is first created by an event without a status).
#[derive(Default)]
struct Row {
    customer_id: String,
    checkout_key: Option<String>,
    checkout_session_id: Option<String>,
    email: Option<String>,
    device_key: Option<String>,
    device_id: Option<String>,
    subscription_id_key: Option<String>,
    subscription_id: Option<String>,
    subscription_key: Option<String>,
    price_id: Option<String>,
    current_period_end: Option<i64>,
    cancel_at_period_end: bool,
    status_key: Option<String>,
    status: Option<String>,
    entitlement: Option<&'static str>,
    invoice_key: Option<String>,
    last_invoice_id: Option<String>,
    last_invoice_status: Option<String>,
    entitlements_key: Option<String>,
    stripe_entitlements_json: Option<String>,
}

impl Row {
    fn statement(self, now_iso: &str) -> Statement {
        let params = vec![
            SqlValue::Text(self.customer_id),
            text(now_iso),
            opt(self.checkout_key),
            opt(self.checkout_session_id),
            opt(self.email),
            opt(self.device_key),
            opt(self.device_id),
            opt(self.subscription_id_key),
            opt(self.subscription_id),
            opt(self.subscription_key),
            opt(self.price_id),
            self.current_period_end
                .map_or(SqlValue::Null, SqlValue::Integer),
            SqlValue::Integer(i64::from(self.cancel_at_period_end)),
            opt(self.status_key),
            opt(self.status),
            text(self.entitlement.unwrap_or("none")),
            opt(self.invoice_key),
            opt(self.last_invoice_id),
            opt(self.last_invoice_status),
            opt(self.entitlements_key),
            opt(self.stripe_entitlements_json),
        ];
        Statement {
            sql: UPSERT_SQL,
            params,
        }
    }
}

fn checkout_row(c: &Checkout, key: &str) -> Row {
    Row {
        customer_id: c.customer_id.clone(),
        checkout_key: Some(key.to_owned()),
        checkout_session_id: Some(c.session_id.clone()),
        email: c.email.clone(),
        device_key: c.device_id.as_ref().map(|_| format!("1:{key}")),
        device_id: c.device_id.clone(),
        subscription_id_key: c.subscription_id.as_ref().map(|_| format!("0:{key}")),
        subscription_id: c.subscription_id.clone(),
        ..Row::default()
    }
}

fn subscription_row(s: &Subscription, key: &str) -> Row {
    Row {
        customer_id: s.customer_id.clone(),
        device_key: s.device_id.as_ref().map(|_| format!("0:{key}")),
        device_id: s.device_id.clone(),
        subscription_id_key: Some(format!("1:{key}")),
        subscription_id: Some(s.subscription_id.clone()),
        subscription_key: Some(key.to_owned()),
        price_id: s.price_id.clone(),
        current_period_end: s.current_period_end,
        cancel_at_period_end: s.cancel_at_period_end,
        status_key: Some(key.to_owned()),
        status: Some(s.status.clone()),
        entitlement: Some(entitlement_for(&s.status)),
        ..Row::default()
    }
}

fn invoice_row(i: &Invoice, key: &str, paid: bool) -> Row {
    let marks_active = paid && i.subscription_id.is_some();
    Row {
        customer_id: i.customer_id.clone(),
        status_key: marks_active.then(|| key.to_owned()),
        status: marks_active.then(|| "active".to_owned()),
        entitlement: marks_active.then(|| entitlement_for("active")),
        invoice_key: Some(key.to_owned()),
        last_invoice_id: Some(i.invoice_id.clone()),
        last_invoice_status: i.status.clone(),
        ..Row::default()
    }
}

fn entitlements_row(e: &EntitlementSummary, key: &str) -> Row {
    Row {
        customer_id: e.customer_id.clone(),
        entitlements_key: Some(key.to_owned()),
        stripe_entitlements_json: Some(e.entitlements_json.clone()),
        ..Row::default()
    }
}

fn text(value: &str) -> SqlValue {
    SqlValue::Text(value.to_owned())
}

fn opt(value: Option<String>) -> SqlValue {
    value.map_or(SqlValue::Null, SqlValue::Text)
}
