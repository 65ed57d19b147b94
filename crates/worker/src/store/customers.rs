//! Billing customer rows and device activations for checkout, portal and license status.
//!
//! The webhook route writes `billing_customers`; this module only reads it, and owns
//! `device_activations` (one row per customer and device, upserted on every license check): the
//! seats of a subscription (`replaced_at` set when another device took the seat) and the
//! generation of the newest device access token of each device.

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

/// The columns of a `billing_customers` row that license status and the portal read.
#[derive(Debug, Clone, Deserialize)]
pub struct CustomerRow {
    /// Stripe customer id (the primary key).
    pub customer_id: String,
    /// Stripe subscription status; `None` until a subscription event arrived.
    pub status: Option<String>,
    /// Unix seconds; `None` until a subscription event arrived.
    pub current_period_end: Option<f64>,
    /// 1 when the subscription ends at the period end.
    pub cancel_at_period_end: Option<f64>,
    /// The subscription the row follows (for reading it back from Stripe).
    pub subscription_id: Option<String>,
    /// End of the service period of the last paid invoice, unix seconds.
    pub paid_through: Option<f64>,
    /// 1 for live-mode data, 0 for test mode; `None` for rows written before migration 0003.
    pub livemode: Option<f64>,
    /// When the paid subscription checkout completed, unix seconds.
    pub checkout_completed_at: Option<f64>,
    /// This device's activation, read in the same query (`None` before its first check).
    pub activated_at: Option<String>,
    /// When this device's last check was recorded.
    pub last_checked_at: Option<String>,
    /// The answer recorded at that check, 1 or 0.
    pub last_active: Option<f64>,
    /// The generation of this device's newest token.
    pub token_generation: Option<f64>,
    /// When another device took this device's seat.
    pub replaced_at: Option<String>,
}

/// Where a device stands on its subscription's seats, for a token of some generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat {
    /// The device has never been activated for this customer.
    Unknown,
    /// Another device took the seat.
    Replaced,
    /// The device is seated but a newer token was issued to it.
    Superseded,
    /// The device is seated and the token is its newest.
    Current,
}

impl CustomerRow {
    /// `current_period_end` as whole unix seconds.
    pub fn period_end(&self) -> Option<i64> {
        self.current_period_end.map(seconds)
    }

    /// The facts `license::evaluate` decides on; `live` is the Stripe key's mode (a row written
    /// before migration 0003 recorded no mode and counts as the key's).
    pub fn entitlement_input(&self, live: bool) -> nyra_domain::license::EntitlementInput {
        nyra_domain::license::EntitlementInput {
            status: self.status.clone(),
            current_period_end: self.period_end(),
            paid_through: self.paid_through.map(seconds),
            checkout_completed_at: self.checkout_completed_at.map(seconds),
            mode_matches: self.livemode.is_none_or(|mode| (mode != 0.0) == live),
        }
    }

    /// Whether the subscription is set to end at the period end.
    pub fn cancels_at_period_end(&self) -> bool {
        self.cancel_at_period_end.is_some_and(|v| v != 0.0)
    }

    /// The device's seat as seen by a token of `generation`.
    pub fn seat(&self, generation: u64) -> Seat {
        if self.activated_at.is_none() {
            Seat::Unknown
        } else if self.replaced_at.is_some() {
            Seat::Replaced
        } else if self.token_generation.map(generation_of) != Some(generation) {
            Seat::Superseded
        } else {
            Seat::Current
        }
    }

    /// The stored activation, when recording this check would change nothing but a recent
    /// `last_checked_at` (same answer, recorded less than `TOUCH_SECONDS` ago).
    pub fn fresh_activation(&self, active: bool, now: i64) -> Option<ActivationRow> {
        let recorded = self
            .last_checked_at
            .as_deref()
            .and_then(nyra_domain::time::parse_iso)?;
        let same_answer = self.last_active.map(|v| v != 0.0) == Some(active);
        (same_answer && (0..TOUCH_SECONDS).contains(&(now - recorded))).then(|| ActivationRow {
            activated_at: self.activated_at.clone().unwrap_or_default(),
            last_checked_at: nyra_domain::time::iso(now),
            last_active: if active { 1.0 } else { 0.0 },
            token_generation: self.token_generation.unwrap_or_default(),
        })
    }
}

/// A check with the same answer within this many seconds of the recorded one is not written
/// again: refreshes cost one D1 read instead of a read and a write.
pub const TOUCH_SECONDS: i64 = 60;

/// A `device_activations` row after the upsert.
#[derive(Debug, Clone, Deserialize)]
pub struct ActivationRow {
    /// First check of this device for this customer (kept on conflict).
    pub activated_at: String,
    /// This check.
    pub last_checked_at: String,
    /// The answer just given, 1 or 0.
    pub last_active: f64,
    /// The generation of the device's newest token (the one this answer carries, if any).
    pub token_generation: f64,
}

impl ActivationRow {
    /// The token generation as an integer.
    pub fn generation(&self) -> u64 {
        generation_of(self.token_generation)
    }
}

/// The customer row and, joined in the same read, this device's activation (`?2` is the device).
const SELECT: &str = "SELECT c.customer_id, c.status, c.current_period_end, c.cancel_at_period_end, \
     c.subscription_id, c.paid_through, c.livemode, c.checkout_completed_at, \
     a.activated_at, a.last_checked_at, a.last_active, a.token_generation, a.replaced_at \
     FROM billing_customers c \
     LEFT JOIN device_activations a ON a.customer_id = c.customer_id AND a.device_id = ?2";

/// The statement reading the row a completed checkout wrote (any device may activate with the
/// checkout's code), with `device_id`'s activation (see [`crate::store::checkouts::activation`]).
pub fn by_checkout(
    db: &D1Database,
    checkout_session_id: &str,
    device_id: &str,
) -> worker::Result<D1PreparedStatement> {
    db.prepare(format!("{SELECT} WHERE c.checkout_session_id = ?1 LIMIT 1"))
        .bind(&[checkout_session_id.into(), device_id.into()])
}

/// The customer's row with `device_id`'s activation (whether it holds a seat is [`CustomerRow::seat`]).
pub async fn by_customer(
    db: &D1Database,
    customer_id: &str,
    device_id: &str,
) -> worker::Result<Option<CustomerRow>> {
    let sql = format!("{SELECT} WHERE c.customer_id = ?1 LIMIT 1");
    first(db, &sql, customer_id, device_id).await
}

/// The rows a checkout by `device_id` wrote (the buying device of each subscription).
pub async fn bought_by(db: &D1Database, device_id: &str) -> worker::Result<Vec<CustomerRow>> {
    let sql = format!("{SELECT} WHERE c.device_id = ?1");
    db.prepare(sql)
        .bind(&[device_id.into(), device_id.into()])?
        .all()
        .await?
        .results::<CustomerRow>()
}

async fn first(
    db: &D1Database,
    sql: &str,
    key: &str,
    device_id: &str,
) -> worker::Result<Option<CustomerRow>> {
    db.prepare(sql)
        .bind(&[key.into(), device_id.into()])?
        .first::<CustomerRow>(None)
        .await
}

/// The columns every activation write returns.
const RETURNING: &str = "RETURNING activated_at, last_checked_at, last_active, token_generation";

/// Records a license check that issues no token: inserts the activation or updates
/// `last_checked_at` and `last_active`, keeping `activated_at`, the seat and the generation;
/// returns the row as stored.
pub async fn record_check(
    db: &D1Database,
    customer_id: &str,
    device_id: &str,
    now_iso: &str,
    active: bool,
) -> worker::Result<Option<ActivationRow>> {
    let sql = "INSERT INTO device_activations \
               (customer_id, device_id, activated_at, last_checked_at, last_active) \
               VALUES (?1, ?2, ?3, ?3, ?4) \
               ON CONFLICT (customer_id, device_id) DO UPDATE SET \
               last_checked_at = excluded.last_checked_at, last_active = excluded.last_active";
    db.prepare(format!("{sql} {RETURNING}"))
        .bind(&[
            customer_id.into(),
            device_id.into(),
            now_iso.into(),
            JsValue::from_f64(if active { 1.0 } else { 0.0 }),
        ])?
        .first::<ActivationRow>(None)
        .await
}

/// First activation of an entitled device with a valid code, in one batch: when the other seated
/// devices fill `max_devices`, the least recently checked ones lose their seat (`replaced_at`);
/// then this device is seated (again) with the next token generation. Returns its row.
pub async fn claim_seat(
    db: &D1Database,
    customer_id: &str,
    device_id: &str,
    now_iso: &str,
    max_devices: u32,
) -> worker::Result<Option<ActivationRow>> {
    let others = "FROM device_activations WHERE customer_id = ?1 AND device_id != ?2 \
                  AND replaced_at IS NULL";
    let evict = format!(
        "UPDATE device_activations SET replaced_at = ?3 WHERE customer_id = ?1 AND device_id IN \
         (SELECT device_id {others} ORDER BY last_checked_at, activated_at, device_id \
         LIMIT max(0, (SELECT count(*) {others}) - (?4 - 1)))"
    );
    let seat = format!(
        "INSERT INTO device_activations (customer_id, device_id, activated_at, last_checked_at, \
         last_active, token_generation) VALUES (?1, ?2, ?3, ?3, 1, 1) \
         ON CONFLICT (customer_id, device_id) DO UPDATE SET \
         last_checked_at = excluded.last_checked_at, last_active = 1, replaced_at = NULL, \
         token_generation = token_generation + 1 {RETURNING}"
    );
    let (customer, device, now) = (customer_id.into(), device_id.into(), now_iso.into());
    let statements = vec![
        db.prepare(evict).bind(&[
            JsValue::clone(&customer),
            JsValue::clone(&device),
            JsValue::clone(&now),
            JsValue::from_f64(f64::from(max_devices)),
        ])?,
        db.prepare(seat).bind(&[customer, device, now])?,
    ];
    let results = db.batch(statements).await?;
    match results.get(1) {
        Some(result) => Ok(result.results::<ActivationRow>()?.into_iter().next()),
        None => Ok(None),
    }
}

/// Refresh of a seated device presenting its newest token (generation `generation`): records
/// the check and moves to the next generation, atomically; `None` when the token is no longer
/// the newest or the seat is gone (a concurrent refresh or activation won).
pub async fn rotate_token(
    db: &D1Database,
    customer_id: &str,
    device_id: &str,
    now_iso: &str,
    generation: u64,
) -> worker::Result<Option<ActivationRow>> {
    let sql = format!(
        "UPDATE device_activations SET last_checked_at = ?3, last_active = 1, \
         token_generation = token_generation + 1 WHERE customer_id = ?1 AND device_id = ?2 \
         AND token_generation = ?4 AND replaced_at IS NULL {RETURNING}"
    );
    db.prepare(sql)
        .bind(&[
            customer_id.into(),
            device_id.into(),
            now_iso.into(),
            JsValue::from_f64(generation as f64),
        ])?
        .first::<ActivationRow>(None)
        .await
}

/// A D1 generation number as an integer (negative or fractional values never occur).
fn generation_of(value: f64) -> u64 {
    // D1 integers are exact below 2^53; `as` saturates anything out of range.
    value as u64
}

/// Whole seconds of a D1 number (JavaScript numbers are `f64`).
fn seconds(value: f64) -> i64 {
    // D1 integers are exact below 2^53; `as` saturates anything out of range.
    value as i64
}
