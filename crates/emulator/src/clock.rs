//! The virtual clock: real time plus an offset that `/_emulator/clock/advance` grows.

use std::time::{SystemTime, UNIX_EPOCH};

/// Real wall-clock seconds since the Unix epoch (used for signatures).
pub fn real_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Virtual time: what Stripe objects and events are stamped with.
#[derive(Debug, Default)]
pub struct Clock {
    offset: i64,
}

impl Clock {
    /// Virtual now in Unix seconds.
    pub fn now(&self) -> i64 {
        real_now() + self.offset
    }

    /// Moves virtual time forward by `seconds`.
    pub fn advance(&mut self, seconds: i64) {
        self.offset = self.offset.saturating_add(seconds);
    }
}
