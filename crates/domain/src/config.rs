//! Names of the secrets and vars the Worker needs: one list for the Worker, the ops tool and the manifest.

/// Secrets the Worker needs; `/health` reports the missing ones by name.
pub const REQUIRED_SECRETS: [&str; 8] = [
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "NYRA_STRIPE_PRICE_PRO_MONTHLY",
    "NYRA_BILLING_SUCCESS_URL",
    "NYRA_BILLING_CANCEL_URL",
    "NYRA_BILLING_RETURN_URL",
    "NYRA_LICENSE_API_TOKEN",
    "NYRA_LICENSE_SIGNING_SECRET",
];

/// Optional secret: the previous signing secret, still accepted for verification during a rotation.
pub const PREVIOUS_SIGNING_SECRET: &str = "NYRA_LICENSE_SIGNING_SECRET_PREVIOUS";

/// Optional secret: Price IDs checkout sold before `NYRA_STRIPE_PRICE_PRO_MONTHLY` changed
/// (comma-separated); subscriptions on them keep being recorded and keep their access.
pub const PREVIOUS_PRICES: &str = "NYRA_STRIPE_PRICE_PRO_MONTHLY_PREVIOUS";

/// The Price IDs of a comma- or space-separated list (empty entries dropped).
pub fn price_list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The var that marks the local environment (`NYRA_ENV=local`, set only in wrangler's
/// `env.local` and by the test harness); anywhere else published fake secrets are refused.
pub const ENV_VAR: &str = "NYRA_ENV";

/// Values published in this repository (`.dev.vars`, tests, docs): never secret anywhere else.
pub const PUBLISHED_FAKE_VALUES: [&str; 8] = [
    "sk_test_local_not_a_real_key",
    "whsec_local_not_a_real_secret",
    "price_test_local_pro_monthly",
    "nyra_local_app_token_not_a_secret",
    "nyra_local_license_signing_secret_0123456789abcdef",
    "http://localhost:5173/billing/success?session_id={CHECKOUT_SESSION_ID}",
    "http://localhost:5173/billing/cancel",
    "http://localhost:5173/billing",
];

/// Prefixes (compared case-insensitively) of obvious placeholders and of the repo's fake values.
pub const PLACEHOLDER_PREFIXES: [&str; 13] = [
    "sk_test_local_",
    "rk_test_local_",
    "whsec_local_",
    "whsec_bench_",
    "price_test_local_",
    "nyra_local_",
    "replace-with",
    "replace_with",
    "changeme",
    "change-me",
    "placeholder",
    "your-",
    "<",
];

/// Whether a secret's value is a published fake or an obvious placeholder (never the value itself).
pub fn is_published_fake(value: &str) -> bool {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    PUBLISHED_FAKE_VALUES.contains(&value)
        || PLACEHOLDER_PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// Vars the Worker needs; `/health` reports the missing ones by name.
pub const REQUIRED_VARS: [&str; 2] = ["ALLOWED_ORIGIN", "STRIPE_API_VERSION"];

/// Rate limiter binding counting checkouts per client IP (wrangler `ratelimits`).
pub const CHECKOUT_IP_LIMITER: &str = "CHECKOUT_IP_LIMITER";

/// Rate limiter binding counting checkouts per device id.
pub const CHECKOUT_DEVICE_LIMITER: &str = "CHECKOUT_DEVICE_LIMITER";

/// Rate limiter binding counting portal sessions per customer.
pub const PORTAL_CUSTOMER_LIMITER: &str = "PORTAL_CUSTOMER_LIMITER";

/// Every rate limiter binding the Worker uses; without one, its route answers `503
/// config_missing` naming it (`nyra-ops check` requires each in env.local and env.production).
pub const RATE_LIMITERS: [&str; 3] = [
    CHECKOUT_IP_LIMITER,
    CHECKOUT_DEVICE_LIMITER,
    PORTAL_CUSTOMER_LIMITER,
];

/// The checkout switch var (`disabled` | `test` | `live`); unset means `disabled`.
pub const CHECKOUT_SWITCH_VAR: &str = "BILLING_CHECKOUT";

/// The billing tables the Worker reads and writes.
pub const TABLES: [&str; 4] = [
    "billing_customers",
    "processed_events",
    "device_activations",
    "checkout_sessions",
];

/// The Stripe API version every request and webhook is pinned to.
pub const STRIPE_API_VERSION: &str = "2026-02-25.clover";

/// Where Stripe lives when `STRIPE_API_BASE` is unset.
pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_values_and_placeholders_are_fake() {
        for value in PUBLISHED_FAKE_VALUES {
            assert!(is_published_fake(value), "{value}");
        }
        assert!(is_published_fake(" Replace-With-a-real-key"));
        assert!(is_published_fake("sk_test_local_anything"));
        assert!(!is_published_fake("sk_test_51Nq2kQ0realistic"));
        assert!(!is_published_fake("https://porterlabz.com/billing"));
    }
}
