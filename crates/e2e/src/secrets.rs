//! Obviously fake local secrets for `.dev.vars` and the tests; never real values.

/// The fake Stripe secret key the local stack and the emulator share.
pub const STRIPE_SECRET_KEY: &str = "sk_test_local_not_a_real_key";
/// The fake webhook signing secret the local stack and the emulator share.
pub const STRIPE_WEBHOOK_SECRET: &str = "whsec_local_not_a_real_secret";
/// The emulator's seeded monthly price.
pub const PRICE_PRO_MONTHLY: &str = "price_test_local_pro_monthly";
/// The fake app token for first activation.
pub const LICENSE_API_TOKEN: &str = "nyra_local_app_token_not_a_secret";
/// The fake license signing secret.
pub const LICENSE_SIGNING_SECRET: &str = "nyra_local_license_signing_secret_0123456789abcdef";

/// Every required secret with its fake local value.
pub fn local() -> Vec<(&'static str, &'static str)> {
    vec![
        ("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY),
        ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET),
        ("NYRA_STRIPE_PRICE_PRO_MONTHLY", PRICE_PRO_MONTHLY),
        (
            "NYRA_BILLING_SUCCESS_URL",
            "http://localhost:5173/billing/success?session_id={CHECKOUT_SESSION_ID}",
        ),
        (
            "NYRA_BILLING_CANCEL_URL",
            "http://localhost:5173/billing/cancel",
        ),
        ("NYRA_BILLING_RETURN_URL", "http://localhost:5173/billing"),
        ("NYRA_LICENSE_API_TOKEN", LICENSE_API_TOKEN),
        ("NYRA_LICENSE_SIGNING_SECRET", LICENSE_SIGNING_SECRET),
    ]
}

/// Renders pairs in the `.dev.vars` (dotenv) format.
pub fn dotenv(pairs: &[(&str, &str)]) -> String {
    let mut out =
        String::from("# Local, obviously fake secrets for `wrangler dev`; never real values.\n");
    for (name, value) in pairs {
        out.push_str(&format!("{name}=\"{value}\"\n"));
    }
    out
}
