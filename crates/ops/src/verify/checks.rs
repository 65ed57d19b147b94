//! The checklist items that are one request and a judgement each.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use nyra_client::types::LicenseStatus;
use nyra_client::{Desktop, verify_license};
use nyra_domain::license::{Keys, TOKEN_PREFIX};

use super::Options;
use super::api::{Answer, Api};

/// The webhook route.
pub const WEBHOOK: &str = "/api/billing/webhook";

/// A check's value and what it saw, or why it failed.
pub type Check<T> = Result<(T, String), String>;

/// Whether a check the rest do not depend on ran, or was skipped (its detail says why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// It ran and passed.
    Done,
    /// It could not run; the run cannot pass.
    Skipped,
}

/// Codes of a rejected webhook signature.
const SIGNATURE_CODES: [&str; 3] = [
    "signature_mismatch",
    "signature_malformed",
    "timestamp_out_of_tolerance",
];

/// Unix seconds now.
pub fn now() -> i64 {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// What `/health` said.
#[derive(Debug, Clone)]
pub struct Health {
    /// `stripeMode` is `live`.
    pub live: bool,
    /// `stripeMode` as reported.
    pub mode: String,
}

/// The created Checkout Session.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// `cs_...`.
    pub session_id: String,
    /// Where the buyer pays.
    pub url: String,
    /// The buyer's activation code for first activation (kept in memory, never printed).
    pub activation_code: String,
}

/// `active, status S, entitlement E` of a license answer.
pub fn describe_status(status: &LicenseStatus) -> String {
    let stripe = status.status.as_deref().unwrap_or("not reported yet");
    let active = if status.active { "active" } else { "inactive" };
    format!(
        "{active}, status {stripe}, entitlement {}",
        status.entitlement
    )
}

/// `GET /health` answers 200 with `ok: true`.
pub async fn health(api: &Api) -> Check<Health> {
    let answer = api.get("/health").await?;
    let body = &answer.json;
    let mode = body["stripeMode"].as_str().unwrap_or("unknown").to_owned();
    if answer.status != 200 || body["ok"] != true {
        return Err(format!(
            "{} not ok: {}",
            answer.describe(),
            health_problems(&answer)
        ));
    }
    let version = body["stripeApiVersion"].as_str().unwrap_or("unknown");
    let detail = format!("ok (stripeMode {mode}, Stripe API version {version})");
    Ok((
        Health {
            live: mode == "live",
            mode,
        },
        detail,
    ))
}

/// The names `/health` reports missing (never values).
fn health_problems(answer: &Answer) -> String {
    let names = |key: &str| -> Vec<String> {
        answer.json[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut problems: Vec<String> = names("missingSecrets")
        .into_iter()
        .chain(names("missingVars"))
        .map(|n| format!("{n} missing"))
        .collect();
    if answer.json["d1"]["ok"] == false {
        problems.push("D1 not ready".to_owned());
    }
    if problems.is_empty() {
        "see the body of /health".to_owned()
    } else {
        problems.join(", ")
    }
}

/// Refuses a live-mode Worker unless allowed.
pub fn stripe_mode(health: &Health, allow_live: bool) -> Check<()> {
    match (health.live, allow_live) {
        (false, _) => Ok(((), format!("{} (not live)", health.mode))),
        (true, true) => Ok(((), "live, allowed by --allow-live".to_owned())),
        (true, false) => Err(
            "the Worker reports stripeMode live; refusing to run without --allow-live".to_owned(),
        ),
    }
}

/// `POST /api/billing/checkout` answers a Stripe-hosted URL (or the emulator's, when paying there).
pub async fn checkout(api: &Api, options: &Options) -> Check<Checkout> {
    let body = json!({"deviceId": options.device_id})
        .to_string()
        .into_bytes();
    let answer = api.post("/api/billing/checkout", &[], Some(body)).await?;
    if answer.code() == "checkout_disabled" {
        return Err(format!(
            "checkout refused: {}: BILLING_CHECKOUT is disabled; once `npm run billing:live-preflight -- --mode test` answers GO_TEST_MODE, run `npm run cloud:billing:config:sync -- --checkout test` and deploy",
            answer.describe()
        ));
    }
    if answer.status != 200 {
        return Err(format!("checkout refused: {}", answer.describe()));
    }
    let text = |key: &str| answer.json[key].as_str().unwrap_or_default().to_owned();
    let (session_id, url) = (text("checkoutSessionId"), text("checkoutUrl"));
    let activation_code = text("activationCode");
    if session_id.is_empty() || url.is_empty() || activation_code.is_empty() {
        return Err(
            "the answer has no checkoutSessionId, checkoutUrl or activationCode".to_owned(),
        );
    }
    hosted_checkout(&url, options.pay_with_emulator.as_deref())?;
    let detail = format!("{url} (session {session_id}, activation code received)");
    let checkout = Checkout {
        session_id,
        url,
        activation_code,
    };
    Ok((checkout, detail))
}

/// The URL is https on a `stripe.com` host, or under the emulator's base when paying there.
fn hosted_checkout(url: &str, emulator: Option<&str>) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| format!("not a URL: {url}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let stripe =
        parsed.scheme() == "https" && (host == "stripe.com" || host.ends_with(".stripe.com"));
    let emulated = emulator.is_some_and(|base| url.starts_with(base.trim_end_matches('/')));
    if stripe || emulated {
        Ok(())
    } else {
        Err(format!(
            "{url} is not a Stripe-hosted checkout page (https on a stripe.com host)"
        ))
    }
}

/// A webhook with a forged signature answers 401 with a signature code.
pub async fn forged_webhook(api: &Api) -> Check<Ran> {
    let header = format!("t={},v1={}", now(), "0".repeat(64));
    let body = br#"{"id":"evt_nyra_verify_forged","type":"checkout.session.completed"}"#.to_vec();
    let headers = [("stripe-signature", header.as_str())];
    let answer = api.post(WEBHOOK, &headers, Some(body)).await?;
    if answer.status == 401 && SIGNATURE_CODES.contains(&answer.code()) {
        Ok((
            Ran::Done,
            format!("forged signature rejected: {}", answer.describe()),
        ))
    } else {
        Err(format!(
            "forged signature not rejected as expected: {}",
            answer.describe()
        ))
    }
}

/// Pays the Checkout Session through the emulator's control route; the event types it delivered.
pub async fn pay_with_emulator(api: &Api, emulator: &str, session: &str) -> Check<Vec<String>> {
    let path = format!("/_emulator/checkout/sessions/{session}/pay");
    let answer = api.post_at(emulator, &path).await?;
    if answer.status != 200 {
        return Err(format!("the emulator did not pay: HTTP {}", answer.status));
    }
    let events = answer.json["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let accepted: Vec<String> = events
        .iter()
        .filter(|e| {
            e["deliveries"]
                .as_array()
                .and_then(|d| d.last())
                .is_some_and(|d| d["status"] == 200)
        })
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    if accepted.len() != events.len() || events.is_empty() {
        return Err(format!(
            "paid, but the Worker accepted {} of {} events",
            accepted.len(),
            events.len()
        ));
    }
    let detail = format!(
        "paid through the emulator; {} events delivered, all 200",
        accepted.len()
    );
    Ok((accepted, detail))
}

/// Checklist 3: the Worker's activation answer names a customer and this device.
pub fn customer_recorded(status: &LicenseStatus, options: &Options) -> Check<Ran> {
    let customer = status.customer_id.as_str();
    if !customer.starts_with("cus_") {
        return Err(format!(
            "the activation answer names no Stripe customer (customerId {customer:?})"
        ));
    }
    if status.device_id != options.device_id {
        return Err(format!(
            "the activation answer names device {:?}, not {:?}",
            status.device_id, options.device_id
        ));
    }
    Ok((
        Ran::Done,
        format!(
            "the Worker answers customer {customer} for device {}",
            status.device_id
        ),
    ))
}

/// Checklist 4: the Worker answers an active, paid-up subscription with a period end
/// (and, paying through the emulator, accepted its `invoice.paid`).
pub fn subscription_active(status: &LicenseStatus, delivered: Option<&Vec<String>>) -> Check<Ran> {
    if delivered.is_some_and(|types| !types.iter().any(|t| t == "invoice.paid")) {
        return Err("the emulator delivered no invoice.paid the Worker accepted".to_owned());
    }
    let stripe = status.status.as_deref();
    let period_end = status.current_period_end_iso.as_deref();
    match (status.active, stripe, period_end, status.payment_issue) {
        (true, Some("active" | "trialing"), Some(end), false) => Ok((
            Ran::Done,
            format!("the Worker answers {} until {end}", describe_status(status)),
        )),
        _ => Err(format!(
            "the Worker does not answer an active, paid subscription with a period end ({}, currentPeriodEndIso {}, paymentIssue {})",
            describe_status(status),
            period_end.unwrap_or("null"),
            status.payment_issue
        )),
    }
}

/// `deviceAccessTokenExpiresAtIso` equals the token payload's `expiresAt`.
pub fn token_expiry(status: &LicenseStatus) -> Check<Ran> {
    let token = status.device_access_token.as_deref().unwrap_or_default();
    let answered = status
        .device_access_token_expires_at_iso
        .as_deref()
        .unwrap_or_default();
    let signed = token_expires_at(token).ok_or("the device token's payload does not decode")?;
    if signed == answered {
        Ok((
            Ran::Done,
            format!("deviceAccessTokenExpiresAtIso {answered} equals the token's expiresAt"),
        ))
    } else {
        Err(format!(
            "deviceAccessTokenExpiresAtIso {answered} differs from the token's expiresAt {signed}"
        ))
    }
}

/// The `expiresAt` of `nyra_dat.v1.<base64url payload>.<mac>` (decoded, not verified).
fn token_expires_at(token: &str) -> Option<String> {
    let (payload, _mac) = token.strip_prefix(TOKEN_PREFIX)?.split_once('.')?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    json["expiresAt"].as_str().map(str::to_owned)
}

/// The license verifies offline with the public key of `NYRA_LICENSE_SIGNING_SECRET`.
pub fn license_offline(status: &LicenseStatus, options: &Options) -> Check<Ran> {
    let Some(secret) = options.secrets.license_signing_secret.as_deref() else {
        return Ok((
            Ran::Skipped,
            "NYRA_LICENSE_SIGNING_SECRET is not set".to_owned(),
        ));
    };
    let keys = Keys::from_secret(secret).map_err(|e| format!("signing secret unusable: {e}"))?;
    let license = status.license.as_deref().unwrap_or_default();
    let claims = verify_license(license, &keys.public_key_b64(), &options.device_id, now())
        .map_err(|e| format!("the license does not verify offline: {e}"))?;
    let detail = format!(
        "verified with key {} (expires {})",
        keys.kid(),
        nyra_domain::time::iso(claims.expires_at)
    );
    Ok((Ran::Done, detail))
}

/// Refresh with the device token answers active with a new token; returns that token.
pub async fn refresh(options: &Options, first: &LicenseStatus) -> Check<String> {
    let token = first.device_access_token.as_deref().unwrap_or_default();
    let desktop = Desktop::new(options.base.clone(), options.device_id.clone());
    let status = desktop
        .refresh(token)
        .await
        .map_err(|e| format!("refresh failed: {e}"))?;
    let fresh = status.device_access_token.clone().filter(|_| status.active);
    let fresh =
        fresh.ok_or_else(|| format!("refresh is not active ({})", describe_status(&status)))?;
    Ok((fresh, describe_status(&status)))
}

/// `POST /api/billing/portal` with the device token answers a `portalUrl`.
pub async fn portal(api: &Api, token: &str) -> Check<Ran> {
    let bearer = format!("Bearer {token}");
    let answer = api
        .post("/api/billing/portal", &[("authorization", &bearer)], None)
        .await?;
    if answer.status != 200 {
        return Err(format!("portal refused: {}", answer.describe()));
    }
    let url = answer.json["portalUrl"].as_str().unwrap_or_default();
    match reqwest::Url::parse(url) {
        Ok(parsed) => Ok((
            Ran::Done,
            format!(
                "portalUrl present ({})",
                parsed.host_str().unwrap_or("no host")
            ),
        )),
        Err(_) => Err("the answer has no usable portalUrl".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosted_checkout_needs_https_on_a_stripe_host() {
        let ok = hosted_checkout("https://checkout.stripe.com/c/pay/cs_test_1", None);
        assert!(ok.is_ok());
        assert!(hosted_checkout("http://checkout.stripe.com/c/pay/cs_test_1", None).is_err());
        assert!(hosted_checkout("https://stripe.com.evil.example/pay", None).is_err());
        assert!(hosted_checkout("https://evilstripe.com/pay", None).is_err());
        assert!(hosted_checkout("not a url", None).is_err());
    }

    #[test]
    fn hosted_checkout_accepts_the_emulator_only_when_paying_there() {
        let url = "http://127.0.0.1:12111/c/pay/cs_test_1";
        assert!(hosted_checkout(url, None).is_err());
        assert!(hosted_checkout(url, Some("http://127.0.0.1:12111/")).is_ok());
        assert!(hosted_checkout(url, Some("http://127.0.0.1:9999")).is_err());
    }

    #[test]
    fn token_payload_expiry_is_decoded() {
        let keys = Keys::from_secret("nyra_local_license_signing_secret_0123456789abcdef")
            .expect("a usable secret");
        let claims = nyra_domain::license::TokenClaims {
            customer_id: "cus_1".to_owned(),
            device_id: "device-0001".to_owned(),
            issued_at: 1_764_300_000,
            expires_at: 1_764_400_000,
        };
        let token = nyra_domain::license::issue(&keys, &claims);
        assert_eq!(token_expires_at(&token), Some(claims.expires_at_iso()));
        assert_eq!(token_expires_at("nyra_dat.v1.!!!.x"), None);
        assert_eq!(token_expires_at("other"), None);
    }

    #[test]
    fn live_mode_is_refused_unless_allowed() {
        let live = Health {
            live: true,
            mode: "live".to_owned(),
        };
        assert!(stripe_mode(&live, false).is_err());
        assert!(stripe_mode(&live, true).is_ok());
        let test = Health {
            live: false,
            mode: "test".to_owned(),
        };
        assert!(stripe_mode(&test, false).is_ok());
    }
}
