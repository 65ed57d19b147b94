//! The request context: bindings (secrets, vars, D1), the Stripe client, the clock, and the per-isolate caches.
//!
//! Secrets are read only from Worker bindings and never logged. Two caches live for the
//! isolate: the signing keys of the last signing secret seen (HKDF and the Ed25519 key
//! expansion then run once per isolate) and the instant of the last successful D1 table check
//! (trusted for [`D1_OK_SECONDS`]; failures are never cached).

use crate::problems::ApiError;
use crate::stripe::Stripe;
use nyra_api::models::StripeMode;
use nyra_api::rt::DispatchConfig;
use nyra_domain::license::{self, Keys};
use sha2::{Digest, Sha256};
use std::cell::{Cell, RefCell};
use worker::{D1Database, Env};

/// A successful D1 table check is trusted for this many seconds per isolate, so an outage shows
/// at most this late while `/health` stays cheap under load.
pub const D1_OK_SECONDS: i64 = 5;

thread_local! {
    /// The keys of the last signing secret seen, with a digest of that secret.
    static KEYS: RefCell<Option<([u8; 32], Keys)>> = const { RefCell::new(None) };
    /// When D1 last answered the table check with every table present.
    static D1_OK_AT: Cell<Option<i64>> = const { Cell::new(None) };
}

/// Everything a handler may touch for one request.
pub struct Ctx {
    env: Env,
}

impl Ctx {
    /// Wraps the environment of one request.
    pub fn new(env: Env) -> Self {
        Ctx { env }
    }

    /// Now, in whole unix seconds (`Date.now()`; the only place handlers read time).
    pub fn now(&self) -> i64 {
        i64::try_from(worker::Date::now().as_millis() / 1000).unwrap_or(i64::MAX)
    }

    /// A secret's value, if set and not empty.
    pub fn secret(&self, name: &str) -> Option<String> {
        self.env
            .secret(name)
            .ok()
            .map(|s| s.to_string())
            .filter(|v| !v.trim().is_empty())
    }

    /// A var's value, if set and not empty.
    pub fn var(&self, name: &str) -> Option<String> {
        self.env
            .var(name)
            .ok()
            .map(|v| v.to_string())
            .filter(|v| !v.trim().is_empty())
    }

    /// The values of `names`, or `config_missing` naming those that are not set.
    pub fn secrets<const N: usize>(
        &self,
        names: [&'static str; N],
    ) -> Result<[String; N], ApiError> {
        let values = names.map(|name| self.secret(name));
        let missing: Vec<&'static str> = names
            .iter()
            .zip(&values)
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| *name)
            .collect();
        if missing.is_empty() {
            Ok(values.map(Option::unwrap_or_default))
        } else {
            Err(ApiError::ConfigMissing(missing))
        }
    }

    /// The dispatch layer's settings.
    pub fn dispatch_config(&self) -> DispatchConfig {
        DispatchConfig {
            allowed_origin: self.var("ALLOWED_ORIGIN"),
        }
    }

    /// The D1 binding.
    pub fn db(&self) -> Result<D1Database, ApiError> {
        self.env.d1("DB").map_err(|_| ApiError::StorageUnbound)
    }

    /// A Stripe client with `key`, the base URL and the pinned API version from vars.
    pub fn stripe(&self, key: String) -> Stripe {
        Stripe::new(
            self.var("STRIPE_API_BASE"),
            key,
            self.var("STRIPE_API_VERSION"),
        )
    }

    /// `NYRA_OFFLINE_GRACE_HOURS`, defaulted and clamped.
    pub fn grace_hours(&self) -> i64 {
        license::grace_hours(self.var("NYRA_OFFLINE_GRACE_HOURS").as_deref())
    }

    /// The checkout switch `BILLING_CHECKOUT`: `test` or `live` serve checkout, anything else
    /// (unset included) is `disabled`.
    pub fn checkout_switch(&self) -> CheckoutSwitch {
        match self.var("BILLING_CHECKOUT").as_deref().map(str::trim) {
            Some("test") => CheckoutSwitch::Test,
            Some("live") => CheckoutSwitch::Live,
            _ => CheckoutSwitch::Disabled,
        }
    }

    /// The license signing keys from `secret`, derived once per isolate per secret.
    pub fn signing_keys(&self, secret: &str) -> Result<Keys, ApiError> {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let cached = KEYS.with_borrow(|cache| {
            cache
                .as_ref()
                .filter(|(d, _)| *d == digest)
                .map(|(_, keys)| keys.clone())
        });
        if let Some(keys) = cached {
            return Ok(keys);
        }
        let keys = Keys::from_secret(secret)?;
        KEYS.set(Some((digest, keys.clone())));
        Ok(keys)
    }

    /// Whether a D1 table check succeeded less than [`D1_OK_SECONDS`] ago.
    pub fn d1_recently_ok(&self, now: i64) -> bool {
        D1_OK_AT
            .get()
            .is_some_and(|at| (0..D1_OK_SECONDS).contains(&(now - at)))
    }

    /// Records the outcome of a D1 table check (only successes are trusted later).
    pub fn record_d1_check(&self, ok: bool, now: i64) {
        D1_OK_AT.set(ok.then_some(now));
    }
}

/// The `BILLING_CHECKOUT` var: whether checkout is served, and whether live keys may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutSwitch {
    /// Checkout answers `503 checkout_disabled` (rollback step 1, and the production default).
    Disabled,
    /// Test keys only.
    Test,
    /// Live keys allowed (set by `nyra-ops config-sync` only when the live preflight is GO_LIVE).
    Live,
}

/// Test or live, from the key prefix (secret and restricted keys alike).
pub fn stripe_mode(key: Option<&str>) -> StripeMode {
    match key {
        Some(k) if k.starts_with("sk_live_") || k.starts_with("rk_live_") => StripeMode::Live,
        Some(k) if k.starts_with("sk_test_") || k.starts_with("rk_test_") => StripeMode::Test,
        _ => StripeMode::Unknown,
    }
}
