//! The Worker's clock: unix seconds from `Date.now()` (the only place handlers read time).

/// Now, in whole unix seconds.
pub fn now() -> i64 {
    i64::try_from(worker::Date::now().as_millis() / 1000).unwrap_or(i64::MAX)
}
