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

/// Vars the Worker needs; `/health` reports the missing ones by name.
pub const REQUIRED_VARS: [&str; 2] = ["ALLOWED_ORIGIN", "STRIPE_API_VERSION"];

/// The checkout switch var (`disabled` | `test` | `live`); unset means `disabled`.
pub const CHECKOUT_SWITCH_VAR: &str = "BILLING_CHECKOUT";

/// The billing tables the Worker reads and writes.
pub const TABLES: [&str; 3] = [
    "billing_customers",
    "processed_events",
    "device_activations",
];

/// The Stripe API version every request and webhook is pinned to.
pub const STRIPE_API_VERSION: &str = "2026-02-25.clover";

/// Where Stripe lives when `STRIPE_API_BASE` is unset.
pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com";
