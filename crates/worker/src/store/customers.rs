//! Billing customer rows and device activations for checkout, portal and license status.
//!
//! The webhook route writes `billing_customers`; this module only reads it, and owns
//! `device_activations` (one row per customer and device, upserted on every license check).

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1Database;

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
}

/// The customer row and, joined in the same read, this device's activation (`?2` is the device).
const SELECT: &str = "SELECT c.customer_id, c.status, c.current_period_end, c.cancel_at_period_end, \
     c.subscription_id, c.paid_through, c.livemode, c.checkout_completed_at, \
     a.activated_at, a.last_checked_at, a.last_active FROM billing_customers c LEFT JOIN device_activations a ON a.customer_id = c.customer_id AND a.device_id = ?2";

/// The row a completed checkout wrote, by the (checkout_session_id, device_id) index.
pub async fn by_checkout(
    db: &D1Database,
    checkout_session_id: &str,
    device_id: &str,
) -> worker::Result<Option<CustomerRow>> {
    first_row(
        db,
        "c.checkout_session_id = ?1",
        checkout_session_id,
        device_id,
    )
    .await
}

/// The customer's row, only if it belongs to `device_id`.
pub async fn by_customer_device(
    db: &D1Database,
    customer_id: &str,
    device_id: &str,
) -> worker::Result<Option<CustomerRow>> {
    first_row(db, "c.customer_id = ?1", customer_id, device_id).await
}

/// The first row matching `key_clause` (on `?1`) for the device `?2`.
async fn first_row(
    db: &D1Database,
    key_clause: &str,
    key: &str,
    device_id: &str,
) -> worker::Result<Option<CustomerRow>> {
    let sql = format!("{SELECT} WHERE {key_clause} AND c.device_id = ?2 LIMIT 1");
    db.prepare(sql)
        .bind(&[key.into(), device_id.into()])?
        .first::<CustomerRow>(None)
        .await
}

/// Records a license check: inserts the activation or updates `last_checked_at` and `last_active`,
/// keeping `activated_at`; returns the row as stored.
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
               last_checked_at = excluded.last_checked_at, last_active = excluded.last_active \
               RETURNING activated_at, last_checked_at, last_active";
    db.prepare(sql)
        .bind(&[
            customer_id.into(),
            device_id.into(),
            now_iso.into(),
            JsValue::from_f64(if active { 1.0 } else { 0.0 }),
        ])?
        .first::<ActivationRow>(None)
        .await
}

/// Whole seconds of a D1 number (JavaScript numbers are `f64`).
fn seconds(value: f64) -> i64 {
    // D1 integers are exact below 2^53; `as` saturates anything out of range.
    value as i64
}
