//! Entitlement rules: which subscription states entitle a device, and until when.

use serde::{Deserialize, Serialize};

/// Offline grace after `current_period_end` when `NYRA_OFFLINE_GRACE_HOURS` is unset: 7 days,
/// long enough to ride out Stripe's first payment retries and a week offline.
pub const DEFAULT_OFFLINE_GRACE_HOURS: i64 = 168;

/// Largest accepted `NYRA_OFFLINE_GRACE_HOURS`: 30 days.
pub const MAX_OFFLINE_GRACE_HOURS: i64 = 720;

/// No token or license outlives this many seconds from issue: 45 days, i.e. at most one
/// billing month (31 days) plus the default 7-day grace, with a week to spare. A bad period
/// end (bogus webhook data, a yearly price added later) can then never mint a long-lived
/// credential; the desktop simply refreshes.
pub const TOKEN_HARD_CAP_SECONDS: i64 = 45 * 24 * 3600;

/// Token lifetime while period data is unknown (checkout completed, subscription events not yet in).
pub const UNSETTLED_TOKEN_SECONDS: i64 = 24 * 3600;

/// Subscription statuses that entitle a device (until the grace boundary).
pub const ENTITLED_STATUSES: [&str; 3] = ["active", "trialing", "past_due"];

/// What the device may use; the API's `Entitlement` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entitlement {
    /// The paid plan.
    Pro,
    /// Nothing paid.
    None,
}

/// How long after checkout completion the 24-hour fallback may still be issued without
/// Stripe's subscription and payment data: 72 hours.
pub const UNSETTLED_WINDOW_SECONDS: i64 = 72 * 3600;

/// The stored billing facts a decision needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntitlementInput {
    /// Stripe subscription status of our price, `None` until a subscription event arrived.
    pub status: Option<String>,
    /// `current_period_end`, unix seconds, `None` until a subscription event arrived.
    pub current_period_end: Option<i64>,
    /// End of the service period covered by the last paid invoice, `None` before one.
    pub paid_through: Option<i64>,
    /// When the paid subscription checkout completed, `None` without one.
    pub checkout_completed_at: Option<i64>,
    /// The row's Stripe mode equals the key's (`false` when it does not, or is unknown).
    pub mode_matches: bool,
}

/// The answer for one device at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The device is licensed now.
    pub active: bool,
    /// `Pro` exactly when `active`.
    pub entitlement: Entitlement,
    /// The subscription is `past_due`: access continues until the paid-through boundary, the
    /// user should pay.
    pub payment_issue: bool,
    /// `min(current_period_end, paid_through)` plus the grace, when both are known.
    pub offline_grace_ends_at: Option<i64>,
    /// Expiry of the token and license to issue; `None` when not active (no token then).
    pub token_expires_at: Option<i64>,
}

/// Whether a Stripe status entitles a device; unknown statuses do not.
pub fn is_entitled_status(status: &str) -> bool {
    ENTITLED_STATUSES.contains(&status)
}

/// Decides entitlement at `now_unix` with `grace_hours` (clamped to `0..=720`).
///
/// - The row's Stripe mode must match the key's, and the status (when known) must entitle.
/// - Settled (period and payment known): active until `min(current_period_end, paid_through)`
///   plus the grace — Stripe moves the period forward before it charges, so an unpaid renewal
///   is not licensed; a renewal paid late moves `paid_through` and restores the period at once.
/// - Unsettled (checkout paid, Stripe's data not in yet): a 24-hour expiry, capped at the
///   period end plus grace when known, and only within 72 hours of checkout completion.
/// - Every expiry is capped at [`TOKEN_HARD_CAP_SECONDS`] from now.
pub fn evaluate(input: &EntitlementInput, now_unix: i64, grace_hours: i64) -> Decision {
    let status = input.status.as_deref();
    let paid_end = match (input.current_period_end, input.paid_through) {
        (Some(end), Some(paid)) => Some(end.min(paid)),
        _ => None,
    };
    let boundary = paid_end.map(|end| grace_boundary(end, grace_hours));
    let entitled = input.mode_matches && status.is_none_or(is_entitled_status);
    let expires_at = match (status, boundary) {
        _ if !entitled => None,
        (Some(_), Some(boundary)) => (now_unix < boundary).then_some(boundary),
        // Period data comes only with a status: a row with one and not the other is not ours.
        (None, _) if input.current_period_end.is_some() => None,
        _ => unsettled_expiry(input, now_unix, boundary, grace_hours),
    };
    let expires_at = expires_at.map(|at| at.min(now_unix.saturating_add(TOKEN_HARD_CAP_SECONDS)));
    Decision {
        active: expires_at.is_some(),
        entitlement: if expires_at.is_some() {
            Entitlement::Pro
        } else {
            Entitlement::None
        },
        payment_issue: status == Some("past_due"),
        offline_grace_ends_at: boundary,
        token_expires_at: expires_at,
    }
}

/// The short fallback while Stripe's data is missing, bounded by the unsettled window.
fn unsettled_expiry(
    input: &EntitlementInput,
    now_unix: i64,
    boundary: Option<i64>,
    grace_hours: i64,
) -> Option<i64> {
    let completed = input.checkout_completed_at?;
    if now_unix >= completed.saturating_add(UNSETTLED_WINDOW_SECONDS) {
        return None;
    }
    let fallback = now_unix.saturating_add(UNSETTLED_TOKEN_SECONDS);
    let period_cap = input
        .current_period_end
        .map(|end| grace_boundary(end, grace_hours));
    let cap = boundary.or(period_cap).unwrap_or(i64::MAX);
    (now_unix < cap).then(|| fallback.min(cap))
}

/// Whether a row that may entitle lacks the Stripe data a settled decision needs (status,
/// period, payment); a row whose status already denies is settled.
pub fn is_unsettled(input: &EntitlementInput) -> bool {
    let may_entitle = input.status.as_deref().is_none_or(is_entitled_status);
    may_entitle
        && (input.status.is_none()
            || input.current_period_end.is_none()
            || input.paid_through.is_none())
}

/// `current_period_end + grace_hours` (clamped) in unix seconds.
pub fn grace_boundary(current_period_end: i64, grace_hours: i64) -> i64 {
    let grace = grace_hours.clamp(0, MAX_OFFLINE_GRACE_HOURS);
    current_period_end.saturating_add(grace * 3600)
}

/// Parses `NYRA_OFFLINE_GRACE_HOURS`: default when missing or not an integer, clamped to `0..=720`.
pub fn grace_hours(var: Option<&str>) -> i64 {
    var.and_then(|text| text.trim().parse::<i64>().ok())
        .map_or(DEFAULT_OFFLINE_GRACE_HOURS, |hours| {
            hours.clamp(0, MAX_OFFLINE_GRACE_HOURS)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_hours_parses_defaults_and_clamps() {
        assert_eq!(grace_hours(None), DEFAULT_OFFLINE_GRACE_HOURS);
        assert_eq!(grace_hours(Some("")), DEFAULT_OFFLINE_GRACE_HOURS);
        assert_eq!(grace_hours(Some("seven days")), DEFAULT_OFFLINE_GRACE_HOURS);
        assert_eq!(grace_hours(Some("1.5")), DEFAULT_OFFLINE_GRACE_HOURS);
        assert_eq!(grace_hours(Some(" 48 ")), 48);
        assert_eq!(grace_hours(Some("0")), 0);
        assert_eq!(grace_hours(Some("-5")), 0);
        assert_eq!(grace_hours(Some("99999")), MAX_OFFLINE_GRACE_HOURS);
    }

    #[test]
    fn boundary_saturates() {
        assert_eq!(grace_boundary(i64::MAX, 168), i64::MAX);
        assert_eq!(grace_boundary(1000, -1), 1000);
    }
}
