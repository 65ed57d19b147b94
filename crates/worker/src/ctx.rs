//! The request context: bindings (secrets, vars, D1), the Stripe client, the clock, and the per-isolate caches.
//!
//! Secrets are read only from Worker bindings and never logged. Outside the local environment
//! (`NYRA_ENV=local`, set only in wrangler's `env.local` and by the test harness) a secret holding
//! a published fake or placeholder value is refused (`config_insecure`, names only). Two caches
//! live for the isolate: the key ring of the last signing secrets seen (HKDF and the Ed25519 key
//! expansion then run once per isolate) and the last healthy `/health` report (trusted for
//! [`D1_OK_SECONDS`]: bindings are fixed for an isolate's life, only D1 can change; failures are
//! never cached). Random bytes come from the
//! runtime's `crypto.getRandomValues`, rate limits from Workers Rate Limiting bindings.
//!
//! Refreshes also trust a customer row read less than [`CUSTOMER_ROW_SECONDS`] ago by this
//! isolate (see [`Ctx::recent_customer`]); the seat and token generation are never cached.

use crate::problems::ApiError;
use crate::store::customers::CustomerRow;
use crate::stripe::Stripe;
use nyra_api::models::{HealthReport, StripeMode};
use nyra_api::rt::DispatchConfig;
use nyra_domain::config::{
    ENV_VAR, PREVIOUS_PRICES, PREVIOUS_SIGNING_SECRET, is_published_fake, price_list,
};
use nyra_domain::license::{self, KeyRing};
use sha2::{Digest, Sha256};
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use wasm_bindgen::prelude::wasm_bindgen;
use worker::{D1Database, Env, web_sys};

#[wasm_bindgen]
extern "C" {
    /// `crypto.getRandomValues`: fills the slice from the runtime's CSPRNG.
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn get_random_values(buffer: &mut [u8]) -> Result<(), wasm_bindgen::JsValue>;
}

/// A successful D1 table check is trusted for this many seconds per isolate, so an outage shows
/// at most this late while `/health` stays cheap under load.
pub const D1_OK_SECONDS: i64 = 5;

/// A customer row read by this isolate is trusted for refreshes for this many seconds: a
/// cancellation or a failed payment recorded elsewhere reaches a device at most this late.
pub const CUSTOMER_ROW_SECONDS: i64 = 5;

/// At most this many customer rows (and settle attempts) are kept per isolate (expired ones
/// are dropped first).
const CUSTOMER_ROWS_MAX: usize = 1024;

/// An isolate asks Stripe to settle a customer's row at most once per this many seconds: a row
/// Stripe cannot settle (no paid invoice yet, or Stripe unreachable) costs at most three Stripe
/// reads a minute, not three per refresh, however fast a client loops.
pub const SETTLE_RETRY_SECONDS: i64 = 60;

thread_local! {
    /// The key ring of the last signing secrets seen, with a digest of those secrets.
    static KEYS: RefCell<Option<([u8; 32], KeyRing)>> = const { RefCell::new(None) };
    /// `NYRA_STRIPE_PRICE_PRO_MONTHLY_PREVIOUS`, parsed.
    static PREVIOUS: OnceCell<Vec<String>> = const { OnceCell::new() };
    /// The dispatch layer's settings (`ALLOWED_ORIGIN`).
    static DISPATCH: OnceCell<DispatchConfig> = const { OnceCell::new() };
    /// The last healthy `/health` report and when it was made.
    static HEALTHY: RefCell<Option<(i64, HealthReport)>> = const { RefCell::new(None) };
    /// Customer rows read for license checks, by customer id, with when they were read.
    static CUSTOMERS: RefCell<HashMap<String, (i64, CustomerRow)>> = RefCell::new(HashMap::new());
    /// When this isolate last asked Stripe to settle each customer's row.
    static SETTLE_TRIED: RefCell<HashMap<String, (i64, ())>> = RefCell::new(HashMap::new());
}

/// Everything a handler may touch for one request.
pub struct Ctx {
    env: Env,
    client_ip: Option<String>,
}

impl Ctx {
    /// Wraps the environment of one request and the caller's address (`CF-Connecting-IP`).
    pub fn new(env: Env, client_ip: Option<String>) -> Self {
        Ctx { env, client_ip }
    }

    /// The caller's IP as Cloudflare reports it (`CF-Connecting-IP`), if any.
    pub fn client_ip(&self) -> Option<&str> {
        self.client_ip.as_deref()
    }

    /// Whether this is the local environment (`NYRA_ENV=local`): only there are fake secrets fine.
    pub fn is_local(&self) -> bool {
        self.var(ENV_VAR).as_deref().map(str::trim) == Some("local")
    }

    /// The names of `names` whose values are published fakes or placeholders (never outside the
    /// local environment's answer; always empty there).
    pub fn insecure_secrets<'a>(&self, names: &[&'a str]) -> Vec<&'a str> {
        if self.is_local() {
            return Vec::new();
        }
        names
            .iter()
            .filter(|name| self.secret(name).is_some_and(|v| is_published_fake(&v)))
            .copied()
            .collect()
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
        if !missing.is_empty() {
            return Err(ApiError::ConfigMissing(missing));
        }
        let insecure = self.insecure_secrets(&names);
        if !insecure.is_empty() {
            return Err(ApiError::ConfigInsecure(insecure));
        }
        Ok(values.map(Option::unwrap_or_default))
    }

    /// `N` bytes from the runtime's CSPRNG.
    pub fn random_bytes<const N: usize>(&self) -> Result<[u8; N], ApiError> {
        let mut bytes = [0u8; N];
        get_random_values(&mut bytes).map_err(|_| ApiError::RandomUnavailable)?;
        Ok(bytes)
    }

    /// Counts one request for `key` on the rate limiter `binding`; `false` when over the limit.
    pub async fn within_rate_limit(
        &self,
        binding: &'static str,
        key: String,
    ) -> Result<bool, ApiError> {
        let limiter = self
            .env
            .rate_limiter(binding)
            .map_err(|_| ApiError::ConfigMissing(vec![binding]))?;
        let outcome = limiter.limit(key).await.map_err(|_| {
            worker::console_error!("rate limiter {binding} did not answer");
            ApiError::ConfigMissing(vec![binding])
        })?;
        Ok(outcome.success)
    }

    /// `NYRA_STRIPE_PRICE_PRO_MONTHLY_PREVIOUS`: the prices checkout sold before the current one,
    /// read once per isolate (bindings are fixed for its life).
    pub fn previous_prices(&self) -> Vec<String> {
        PREVIOUS.with(|prices| {
            prices
                .get_or_init(|| price_list(self.secret(PREVIOUS_PRICES).as_deref()))
                .clone()
        })
    }

    /// `NYRA_MAX_DEVICES`, defaulted and clamped to 1..=10.
    pub fn max_devices(&self) -> u32 {
        nyra_domain::activation::max_devices(self.var("NYRA_MAX_DEVICES").as_deref())
    }

    /// The dispatch layer's settings, read once per isolate (vars are fixed for its life).
    pub fn dispatch_config(&self) -> DispatchConfig {
        DISPATCH.with(|config| {
            config
                .get_or_init(|| DispatchConfig {
                    allowed_origin: self.var("ALLOWED_ORIGIN"),
                })
                .clone()
        })
    }

    /// Hands a static document's request to the assets layer (`ASSETS` binding).
    pub async fn asset(&self, request: web_sys::Request) -> worker::Result<web_sys::Response> {
        let request = worker::Request::from(request);
        let answer = self.env.assets("ASSETS")?.fetch_request(request).await?;
        Ok(answer.into())
    }

    /// The D1 binding.
    pub fn db(&self) -> Result<D1Database, ApiError> {
        self.env.d1("DB").map_err(|_| ApiError::StorageUnbound)
    }

    /// A Queue producer binding, if this deployment has it.
    pub fn queue(&self, binding: &str) -> Option<worker::Queue> {
        self.env.queue(binding).ok()
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

    /// The key ring of `secret` and the optional `NYRA_LICENSE_SIGNING_SECRET_PREVIOUS`, derived
    /// once per isolate per pair of secrets.
    pub fn signing_keys(&self, secret: &str) -> Result<KeyRing, ApiError> {
        let previous = self.secret(PREVIOUS_SIGNING_SECRET);
        if !self.insecure_secrets(&[PREVIOUS_SIGNING_SECRET]).is_empty() {
            return Err(ApiError::ConfigInsecure(vec![PREVIOUS_SIGNING_SECRET]));
        }
        let digest: [u8; 32] = Sha256::new()
            .chain_update(secret.as_bytes())
            .chain_update([0u8])
            .chain_update(previous.as_deref().unwrap_or_default().as_bytes())
            .finalize()
            .into();
        let cached = KEYS.with_borrow(|cache| {
            cache
                .as_ref()
                .filter(|(d, _)| *d == digest)
                .map(|(_, keys)| keys.clone())
        });
        if let Some(keys) = cached {
            return Ok(keys);
        }
        let keys = KeyRing::from_secrets(secret, previous.as_deref())?;
        KEYS.set(Some((digest, keys.clone())));
        Ok(keys)
    }

    /// The healthy report made less than [`D1_OK_SECONDS`] ago, if any.
    pub fn recent_health(&self, now: i64) -> Option<HealthReport> {
        HEALTHY.with_borrow(|cached| {
            cached
                .as_ref()
                .filter(|(at, _)| fresh(*at, now, D1_OK_SECONDS))
                .map(|(_, report)| report.clone())
        })
    }

    /// Keeps a healthy report for later requests (an unhealthy one clears the cache).
    pub fn remember_health(&self, report: &HealthReport, now: i64) {
        HEALTHY.set(report.ok.then(|| (now, report.clone())));
    }

    /// The customer row this isolate read less than [`CUSTOMER_ROW_SECONDS`] ago. Only its
    /// billing columns may be used: the device's activation columns are those of the device
    /// that read it.
    pub fn recent_customer(&self, customer_id: &str, now: i64) -> Option<CustomerRow> {
        CUSTOMERS.with_borrow(|rows| {
            rows.get(customer_id)
                .filter(|(at, _)| fresh(*at, now, CUSTOMER_ROW_SECONDS))
                .map(|(_, row)| row.clone())
        })
    }

    /// Keeps a customer row read from D1 for [`CUSTOMER_ROW_SECONDS`].
    pub fn remember_customer(&self, row: &CustomerRow, now: i64) {
        CUSTOMERS.with_borrow_mut(|rows| {
            let entry = (now, row.clone());
            insert_bounded(rows, &row.customer_id, entry, now, CUSTOMER_ROW_SECONDS);
        });
    }

    /// Whether this isolate may ask Stripe to settle `customer_id`'s row now: not when it did
    /// less than [`SETTLE_RETRY_SECONDS`] ago. A `true` counts as the attempt.
    pub fn may_settle(&self, customer_id: &str, now: i64) -> bool {
        SETTLE_TRIED.with_borrow_mut(|tried| {
            let recent = tried
                .get(customer_id)
                .is_some_and(|(at, ())| fresh(*at, now, SETTLE_RETRY_SECONDS));
            if !recent {
                insert_bounded(tried, customer_id, (now, ()), now, SETTLE_RETRY_SECONDS);
            }
            !recent
        })
    }

    /// Drops every cached customer row (this isolate just recorded a billing change).
    pub fn forget_customers(&self) {
        CUSTOMERS.with_borrow_mut(HashMap::clear);
    }
}

/// Inserts `entry` (made at `entry.0`) under `key`, first dropping entries older than `seconds`
/// when the map is full; a map still full of fresh entries is left as it is.
fn insert_bounded<V>(
    map: &mut HashMap<String, (i64, V)>,
    key: &str,
    entry: (i64, V),
    now: i64,
    seconds: i64,
) {
    if map.len() >= CUSTOMER_ROWS_MAX {
        map.retain(|_, (at, _)| fresh(*at, now, seconds));
    }
    if map.len() < CUSTOMER_ROWS_MAX {
        map.insert(key.to_owned(), entry);
    }
}

/// Whether something cached at `at` is less than `seconds` old at `now` (a clock that went
/// back makes it stale).
fn fresh(at: i64, now: i64, seconds: i64) -> bool {
    (0..seconds).contains(&(now - at))
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

/// Whether a Stripe key is a live key (the mode webhooks and rows must match).
pub fn is_live_key(key: &str) -> bool {
    stripe_mode(Some(key)) == StripeMode::Live
}

/// Test or live, from the key prefix (secret and restricted keys alike).
pub fn stripe_mode(key: Option<&str>) -> StripeMode {
    match key {
        Some(k) if k.starts_with("sk_live_") || k.starts_with("rk_live_") => StripeMode::Live,
        Some(k) if k.starts_with("sk_test_") || k.starts_with("rk_test_") => StripeMode::Test,
        _ => StripeMode::Unknown,
    }
}
