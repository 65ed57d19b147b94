//! Turns a parsed event into the D1 statements (claim + one guarded upsert) that record it.
//!
//! Only events that can grant access for THIS deployment change state ([`Expect`]): the event's
//! `livemode` must equal the Stripe key's mode; a checkout must be `mode=subscription` with
//! `payment_status` `paid` or `no_payment_required` and name a customer; a subscription must
//! carry an item of our price; an invoice line counts only for our price. Anything else is
//! claimed (so a redelivery is a duplicate) and answered `handled: false` with a reason.
//!
//! Order independence: each field group of `billing_customers` has a guard column (migrations
//! 0002, 0003) holding the sort key of the event that last wrote the group; an event writes a
//! group only when its key is greater, so any delivery order ends in the same row.
//!
//! Sort key: `"{created:012}:{rank}:{event_id}"`, compared as text. Ties on `created` are broken
//! by the event type's rank ([`EventType::rank`]), then by event id. Subscription events put
//! Stripe's own data before the rank: `"{created:012}:{terminal}:{period_end:012}:{rank}:{id}"`,
//! so at equal `created` a terminal status (`canceled`, `incomplete_expired`) beats a
//! non-terminal one and the later `current_period_end` beats the earlier; the event id decides
//! only between snapshots equal in all of these.
//!
//! Groups and guards:
//! - `checkout_key`: `checkout_session_id`, `email`, `checkout_completed_at` (a paid
//!   subscription checkout: `checkout.session.completed` or `.async_payment_succeeded`).
//! - `device_key`: `device_id`; checkout keys are prefixed `1:`, subscription keys `0:`, so the
//!   checkout's device wins whatever the order and a subscription's device only fills a gap.
//! - `subscription_id_key`: `subscription_id`; subscription events `1:`, checkout `0:` (a
//!   checkout only supplies the id until a subscription event is seen).
//! - `subscription_key`: `price_id`, `current_period_end`, `cancel_at_period_end`.
//! - `status_key`: `status`, `entitlement` — subscription events only: an invoice never
//!   changes the status, so a paid invoice cannot revive a canceled subscription.
//! - `invoice_key`: `last_invoice_id`, `last_invoice_status` (invoice events).
//! - `entitlements_key`: `stripe_entitlements_json` (entitlement summaries).
//! - `paid_through` has no key: it only grows (`MAX` of the stored value and the end of the
//!   service period of our price's lines on a paid invoice), which is order-independent.
//! - `livemode` is written by every usable event (all of them match the key's mode).
//!
//! A group an event does not write gets a NULL key, and `NULL > x` is never true in SQL.
//! `updated_at` is the only column whose final value depends on delivery order.
//! Assumes one subscription per customer (the product sells one plan).

use super::event::{Checkout, EntitlementSummary, Event, EventType, Facts, Invoice, Subscription};
use crate::license::is_entitled_status;
use std::sync::OnceLock;

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

/// What SQLite (and so D1) reports when a claim's event id is already recorded: a batch that
/// fails with this message proves the event is a duplicate, with no lookup needed.
pub const DUPLICATE_CLAIM_ERROR: &str = "UNIQUE constraint failed: processed_events.event_id";

/// The columns of the guarded upsert, in parameter order (`?1` is `customer_id`); every
/// upsert inserts all of them.
pub const UPSERT_COLUMNS: [&str; 24] = [
    "customer_id",
    "updated_at",
    "checkout_key",
    "checkout_session_id",
    "email",
    "checkout_completed_at",
    "device_key",
    "device_id",
    "subscription_id_key",
    "subscription_id",
    "subscription_key",
    "price_id",
    "current_period_end",
    "cancel_at_period_end",
    "status_key",
    "status",
    "entitlement",
    "invoice_key",
    "last_invoice_id",
    "last_invoice_status",
    "entitlements_key",
    "stripe_entitlements_json",
    "paid_through",
    "livemode",
];

/// Each field group's guard column and the columns it guards (the guard itself last).
const GROUPS: [(&str, &[&str]); 7] = [
    (
        "checkout_key",
        &[
            "checkout_session_id",
            "email",
            "checkout_completed_at",
            "checkout_key",
        ],
    ),
    ("device_key", &["device_id", "device_key"]),
    (
        "subscription_id_key",
        &["subscription_id", "subscription_id_key"],
    ),
    (
        "subscription_key",
        &[
            "price_id",
            "current_period_end",
            "cancel_at_period_end",
            "subscription_key",
        ],
    ),
    ("status_key", &["status", "entitlement", "status_key"]),
    (
        "invoice_key",
        &["last_invoice_id", "last_invoice_status", "invoice_key"],
    ),
    (
        "entitlements_key",
        &["stripe_entitlements_json", "entitlements_key"],
    ),
];

/// The bit of [`upsert_sql`]'s mask that assigns `paid_through` on conflict.
const PAID_THROUGH: u8 = 1 << 7;

/// Every group and `paid_through`: the upsert that assigns everything on conflict.
pub const EVERY_GROUP: u8 = u8::MAX;

/// The guarded upsert that, on conflict, assigns only the groups in `mask` (bit `i`: the `i`th
/// group of the module doc's list, bit 7: `paid_through`); every column is still inserted.
///
/// An event leaves a group out of the mask exactly when its key is NULL, and `NULL > x` keeps
/// the stored values, so the statement writes what [`EVERY_GROUP`]'s would, with fewer
/// expressions for D1 to parse and run (an event writes one to four of the seven groups).
/// Each text is built once per process.
pub fn upsert_sql(mask: u8) -> &'static str {
    static TEXTS: [OnceLock<String>; 256] = [const { OnceLock::new() }; 256];
    TEXTS[usize::from(mask)].get_or_init(|| upsert_text(mask))
}

fn upsert_text(mask: u8) -> String {
    let guarded = |key: &str, column: &str| {
        format!(
            "{column} = CASE WHEN excluded.{key} > COALESCE(billing_customers.{key}, '') \
             THEN excluded.{column} ELSE billing_customers.{column} END"
        )
    };
    let mut assignments = vec!["updated_at = excluded.updated_at".to_owned()];
    for (bit, (key, columns)) in GROUPS.iter().enumerate() {
        if mask & (1 << bit) != 0 {
            assignments.extend(columns.iter().map(|column| guarded(key, column)));
        }
    }
    if mask & PAID_THROUGH != 0 {
        assignments.push(
            "paid_through = CASE WHEN excluded.paid_through IS NULL THEN billing_customers.paid_through \
             WHEN billing_customers.paid_through IS NULL THEN excluded.paid_through \
             ELSE MAX(billing_customers.paid_through, excluded.paid_through) END"
                .to_owned(),
        );
    }
    assignments
        .push("livemode = COALESCE(excluded.livemode, billing_customers.livemode)".to_owned());
    let placeholders: Vec<String> = (1..=UPSERT_COLUMNS.len())
        .map(|i| format!("?{i}"))
        .collect();
    format!(
        "INSERT INTO billing_customers ({}) VALUES ({}) ON CONFLICT (customer_id) DO UPDATE SET {}",
        UPSERT_COLUMNS.join(", "),
        placeholders.join(", "),
        assignments.join(", ")
    )
}

/// What this deployment accepts as a grant: our prices, our Stripe mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect<'a> {
    /// `NYRA_STRIPE_PRICE_PRO_MONTHLY`: the price checkout sells.
    pub price_id: &'a str,
    /// `NYRA_STRIPE_PRICE_PRO_MONTHLY_PREVIOUS`: prices checkout sold before; their
    /// subscriptions are recorded like the current price's.
    pub previous_prices: &'a [String],
    /// The key is a live key (`sk_live_`/`rk_live_`); events must match it.
    pub livemode: bool,
}

impl Expect<'_> {
    /// Whether a subscription on `price` is ours: the current price or a previous one.
    pub fn accepts(&self, price: &str) -> bool {
        price == self.price_id || self.previous_prices.iter().any(|p| p == price)
    }
}

/// The statements for one event and whether it changed billing state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Run in ONE batch: the claim, then the guarded upsert when the event is usable.
    pub statements: Vec<Statement>,
    /// Why a verified event changes nothing (`None` when it is handled).
    pub ignored: Option<&'static str>,
}

/// Plans the claim and, for a usable event, the state change.
pub fn plan(event: &Event, expect: &Expect, now_iso: &str) -> Plan {
    let claim = claim(&event.id, event.event_type.as_str(), now_iso);
    let (row, ignored) = match usable_row(event, expect) {
        Ok(row) => (row, None),
        Err(reason) => (None, Some(reason)),
    };
    Plan {
        statements: std::iter::once(claim)
            .chain(row.map(|r| r.statement(now_iso)))
            .collect(),
        ignored,
    }
}

/// Only the state change of an event (no claim): for snapshots read back from Stripe.
pub fn state_change(event: &Event, expect: &Expect, now_iso: &str) -> Option<Statement> {
    usable_row(event, expect)
        .ok()
        .flatten()
        .map(|r| r.statement(now_iso))
}

/// The claim of an event id; a duplicate violates the primary key and fails the whole batch.
pub fn claim(event_id: &str, event_type: &str, now_iso: &str) -> Statement {
    Statement {
        sql: CLAIM_SQL,
        params: vec![text(event_id), text(event_type), text(now_iso)],
    }
}

/// The upsert an event makes (`Ok(None)`: understood, nothing to write), or why it is ignored.
fn usable_row(event: &Event, expect: &Expect) -> Result<Option<Row>, &'static str> {
    if matches!(event.facts, Facts::Unhandled) {
        return Err("event type not used");
    }
    if event.livemode != expect.livemode {
        return Err("livemode does not match the stripe key's mode");
    }
    let key = sort_key(event);
    let row = match &event.facts {
        Facts::CheckoutCompleted(c) => checkout_row(c, &event.event_type, event.created, &key)?,
        Facts::Subscription(s) => Some(subscription_row(s, expect, &key)?),
        Facts::Invoice(i) => Some(invoice_row(
            i,
            expect,
            &key,
            event.event_type == EventType::InvoicePaid,
        )?),
        Facts::EntitlementSummary(e) => Some(entitlements_row(e, &key)),
        Facts::Unhandled => None,
    };
    Ok(row.map(|row| Row {
        livemode: Some(event.livemode),
        ..row
    }))
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

/// Statuses Stripe never leaves.
pub fn is_terminal_status(status: &str) -> bool {
    matches!(status, "canceled" | "incomplete_expired")
}

/// The event's sort key (see the module doc).
pub fn sort_key(event: &Event) -> String {
    let created = event.created.clamp(0, 999_999_999_999);
    let rank = event.event_type.rank();
    match &event.facts {
        Facts::Subscription(s) => {
            let terminal = u8::from(is_terminal_status(&s.status));
            let end = s.current_period_end.unwrap_or(0).clamp(0, 999_999_999_999);
            format!("{created:012}:{terminal}:{end:012}:{rank}:{}", event.id)
        }
        _ => format!("{created:012}:{rank}:{}", event.id),
    }
}

/// Values for one upsert; `None` keys leave their group untouched on conflict (entitlement
/// defaults to `none` when a row is first created by an event without a status).
#[derive(Default)]
struct Row {
    customer_id: String,
    checkout_key: Option<String>,
    checkout_session_id: Option<String>,
    email: Option<String>,
    checkout_completed_at: Option<i64>,
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
    paid_through: Option<i64>,
    livemode: Option<bool>,
}

impl Row {
    /// The [`upsert_sql`] mask of this row: the groups whose key is set, and `paid_through`.
    fn mask(&self) -> u8 {
        let keys = [
            &self.checkout_key,
            &self.device_key,
            &self.subscription_id_key,
            &self.subscription_key,
            &self.status_key,
            &self.invoice_key,
            &self.entitlements_key,
        ];
        let groups = keys
            .iter()
            .enumerate()
            .filter(|(_, key)| key.is_some())
            .fold(0, |mask, (bit, _)| mask | 1 << bit);
        groups
            | if self.paid_through.is_some() {
                PAID_THROUGH
            } else {
                0
            }
    }

    fn statement(self, now_iso: &str) -> Statement {
        let sql = upsert_sql(self.mask());
        let int = |v: Option<i64>| v.map_or(SqlValue::Null, SqlValue::Integer);
        let params = vec![
            SqlValue::Text(self.customer_id),
            text(now_iso),
            opt(self.checkout_key),
            opt(self.checkout_session_id),
            opt(self.email),
            int(self.checkout_completed_at),
            opt(self.device_key),
            opt(self.device_id),
            opt(self.subscription_id_key),
            opt(self.subscription_id),
            opt(self.subscription_key),
            opt(self.price_id),
            int(self.current_period_end),
            SqlValue::Integer(i64::from(self.cancel_at_period_end)),
            opt(self.status_key),
            opt(self.status),
            text(self.entitlement.unwrap_or("none")),
            opt(self.invoice_key),
            opt(self.last_invoice_id),
            opt(self.last_invoice_status),
            opt(self.entitlements_key),
            opt(self.stripe_entitlements_json),
            int(self.paid_through),
            int(self.livemode.map(i64::from)),
        ];
        Statement { sql, params }
    }
}

/// A paid subscription checkout records the customer, session and device; an async payment
/// that failed is understood and writes nothing (its `completed` event was not paid).
fn checkout_row(
    c: &Checkout,
    event_type: &EventType,
    created: i64,
    key: &str,
) -> Result<Option<Row>, &'static str> {
    if c.mode.as_deref() != Some("subscription") {
        return Err("checkout session is not a subscription checkout");
    }
    if *event_type == EventType::CheckoutAsyncPaymentFailed {
        return Ok(None);
    }
    if !matches!(
        c.payment_status.as_deref(),
        Some("paid" | "no_payment_required")
    ) {
        return Err("checkout session is not paid yet");
    }
    let Some(customer_id) = c.customer_id.clone() else {
        return Err("checkout session has no customer");
    };
    if c.device_id.is_none() {
        return Err("checkout session was not created by this service (no metadata.deviceId)");
    }
    Ok(Some(Row {
        customer_id,
        checkout_key: Some(key.to_owned()),
        checkout_session_id: Some(c.session_id.clone()),
        email: c.email.clone(),
        checkout_completed_at: Some(created),
        device_key: c.device_id.as_ref().map(|_| format!("1:{key}")),
        device_id: c.device_id.clone(),
        subscription_id_key: c.subscription_id.as_ref().map(|_| format!("0:{key}")),
        subscription_id: c.subscription_id.clone(),
        ..Row::default()
    }))
}

fn subscription_row(s: &Subscription, expect: &Expect, key: &str) -> Result<Row, &'static str> {
    let Some(price) = s.price_ids.iter().find(|p| expect.accepts(p)) else {
        return Err("subscription is not for our price");
    };
    Ok(Row {
        customer_id: s.customer_id.clone(),
        device_key: s.device_id.as_ref().map(|_| format!("0:{key}")),
        device_id: s.device_id.clone(),
        subscription_id_key: Some(format!("1:{key}")),
        subscription_id: Some(s.subscription_id.clone()),
        subscription_key: Some(key.to_owned()),
        price_id: Some(price.clone()),
        current_period_end: s.current_period_end,
        cancel_at_period_end: s.cancel_at_period_end,
        status_key: Some(key.to_owned()),
        status: Some(s.status.clone()),
        entitlement: Some(entitlement_for(&s.status)),
        ..Row::default()
    })
}

/// The invoice's last status; a paid one also moves `paid_through` to the end of the service
/// period its lines of our price cover. It never writes `status`.
fn invoice_row(i: &Invoice, expect: &Expect, key: &str, paid: bool) -> Result<Row, &'static str> {
    let ours: Vec<&super::event::InvoiceLine> = i
        .lines
        .iter()
        .filter(|l| l.price_id.as_deref().is_some_and(|p| expect.accepts(p)))
        .collect();
    if ours.is_empty() {
        return Err("invoice has no line for our price");
    }
    let settled = paid && i.status.as_deref() == Some("paid");
    Ok(Row {
        customer_id: i.customer_id.clone(),
        invoice_key: Some(key.to_owned()),
        last_invoice_id: Some(i.invoice_id.clone()),
        last_invoice_status: i.status.clone(),
        paid_through: ours
            .iter()
            .filter_map(|l| l.period_end)
            .max()
            .filter(|_| settled),
        ..Row::default()
    })
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
