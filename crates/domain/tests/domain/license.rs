//! Tokens, licenses, keys and entitlement rules, through the public API only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use nyra_domain::license::{
    DEFAULT_OFFLINE_GRACE_HOURS, Decision, Entitlement, EntitlementInput, KeyError, Keys,
    LicenseClaims, LicenseError, MAX_CLOCK_SKEW_SECONDS, TOKEN_HARD_CAP_SECONDS, TokenClaims,
    TokenError, UNSETTLED_TOKEN_SECONDS, UNSETTLED_WINDOW_SECONDS, evaluate, issue, kid_of, sign,
    verify, verify_license,
};
use nyra_domain::time::iso;
use proptest::prelude::*;
use std::sync::LazyLock;

const SECRET: &str = "nyra_local_license_signing_secret_0123456789abcdef";
const OTHER_SECRET: &str = "another_local_signing_secret_fedcba9876543210";
const NOW: i64 = 1_764_300_000;
const DAY: i64 = 24 * 3600;
const GRACE: i64 = DEFAULT_OFFLINE_GRACE_HOURS * 3600;

type TestResult = Result<(), Box<dyn std::error::Error>>;

static KEYS: LazyLock<Keys> =
    LazyLock::new(|| Keys::from_secret(SECRET).unwrap_or_else(|e| panic!("{e}")));

fn keys() -> &'static Keys {
    &KEYS
}

fn token_claims() -> TokenClaims {
    TokenClaims {
        customer_id: "cus_Test123".into(),
        device_id: "device-A-0001".into(),
        issued_at: NOW,
        expires_at: NOW + DAY,
    }
}

fn license_claims() -> LicenseClaims {
    LicenseClaims {
        customer_id: "cus_Test123".into(),
        device_id: "device-A-0001".into(),
        entitlement: Entitlement::Pro,
        status: Some("active".into()),
        issued_at: NOW,
        expires_at: NOW + 30 * DAY + GRACE,
    }
}

/// Every string that differs from `text` in exactly one byte and is still valid UTF-8 (printable ASCII).
fn byte_flips(text: &str) -> impl Iterator<Item = String> + '_ {
    (0..text.len()).flat_map(move |i| {
        (0x20u8..=0x7e).filter_map(move |b| {
            let mut bytes = text.as_bytes().to_vec();
            (bytes[i] != b).then(|| {
                bytes[i] = b;
                String::from_utf8(bytes).unwrap_or_else(|e| panic!("{e}"))
            })
        })
    })
}

const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// One flip per byte: a base64url character becomes the next one of the alphabet (so the
/// flip survives decoding and reaches the signature check), anything else has its low bit flipped.
fn one_flip_per_byte(text: &str) -> impl Iterator<Item = String> + '_ {
    (0..text.len()).map(move |i| {
        let mut bytes = text.as_bytes().to_vec();
        bytes[i] = match BASE64URL.iter().position(|&c| c == bytes[i]) {
            Some(at) => BASE64URL[(at + 1) % BASE64URL.len()],
            None => bytes[i] ^ 1,
        };
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn decoded_payload(envelope: &str) -> serde_json::Value {
    let payload = envelope.split('.').nth(2).unwrap_or_default();
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{e}"))
}

// ---- keys ----

#[test]
fn keys_are_deterministic_per_secret() -> TestResult {
    let (a, b) = (Keys::from_secret(SECRET)?, Keys::from_secret(SECRET)?);
    assert_eq!(a.public_key_b64(), b.public_key_b64());
    assert_eq!(a.kid(), b.kid());
    let other = Keys::from_secret(OTHER_SECRET)?;
    assert_ne!(a.public_key_b64(), other.public_key_b64());
    assert_ne!(a.kid(), other.kid());
    assert_ne!(issue(&a, &token_claims()), issue(&other, &token_claims()));
    Ok(())
}

#[test]
fn public_key_is_32_bytes_of_unpadded_base64url_and_names_the_kid() -> TestResult {
    let keys = keys();
    let b64 = keys.public_key_b64();
    assert_eq!(b64.len(), 43);
    let raw: [u8; 32] = URL_SAFE_NO_PAD
        .decode(&b64)?
        .try_into()
        .map_err(|_| "not 32 bytes")?;
    assert_eq!(raw, keys.public_key_bytes());
    assert_eq!(keys.kid(), kid_of(&raw));
    assert_eq!(keys.kid().len(), 16);
    Ok(())
}

#[test]
fn short_or_empty_secret_is_refused() {
    for secret in ["", "short", "0123456789abcdef0123456789abcde"] {
        assert_eq!(
            Keys::from_secret(secret).err(),
            Some(KeyError::SecretTooShort)
        );
    }
}

// ---- device access token ----

#[test]
fn token_round_trips() {
    let token = issue(keys(), &token_claims());
    assert!(token.starts_with("nyra_dat.v1."));
    assert_eq!(token.split('.').count(), 4);
    assert_eq!(
        verify(keys(), &token, "device-A-0001", NOW),
        Ok(token_claims())
    );
    assert_eq!(
        verify(keys(), &token, "device-A-0001", NOW + DAY - 1),
        Ok(token_claims())
    );
}

#[test]
fn token_payload_has_the_documented_fields() {
    let payload = decoded_payload(&issue(keys(), &token_claims()));
    assert_eq!(
        payload,
        serde_json::json!({
            "customerId": "cus_Test123",
            "deviceId": "device-A-0001",
            "issuedAt": "2025-11-28T03:20:00Z",
            "expiresAt": "2025-11-29T03:20:00Z",
            "kid": "cbcba502185af6db",
            "generation": 0,
        })
    );
}

/// A token of the format before `kid` and `generation` (computed independently): still verifies,
/// as the current key and generation 0.
const LEGACY_TOKEN: &str = "nyra_dat.v1.eyJjdXN0b21lcklkIjoiY3VzX1Rlc3QxMjMiLCJkZXZpY2VJZCI6ImRldmljZS1BLTAwMDEiLCJpc3N1ZWRBdCI6IjIwMjUtMTEtMjhUMDM6MjA6MDBaIiwiZXhwaXJlc0F0IjoiMjAyNS0xMS0yOVQwMzoyMDowMFoifQ.P7nH-S9idJMG_tUdBhX7M980HB8QK3A4_hTFuApoLno";

#[test]
fn legacy_tokens_without_kid_and_generation_still_verify() {
    assert_eq!(
        verify(keys(), LEGACY_TOKEN, "device-A-0001", NOW),
        Ok(token_claims())
    );
}

/// Computed independently (Python: `cryptography` HKDF-SHA256 with info
/// `nyra-billing/device-access-token/v1`, then `hmac`/`hashlib`), so the format is pinned.
const INDEPENDENT_TOKEN: &str = "nyra_dat.v1.eyJjdXN0b21lcklkIjoiY3VzX1Rlc3QxMjMiLCJkZXZpY2VJZCI6ImRldmljZS1BLTAwMDEiLCJpc3N1ZWRBdCI6IjIwMjUtMTEtMjhUMDM6MjA6MDBaIiwiZXhwaXJlc0F0IjoiMjAyNS0xMS0yOVQwMzoyMDowMFoiLCJraWQiOiJjYmNiYTUwMjE4NWFmNmRiIiwiZ2VuZXJhdGlvbiI6MH0.lAKaJOlViDEiG-dpTpCmv_Nuo4MpgJ9LnsQEKym-tuE";

#[test]
fn token_matches_an_independent_implementation() {
    assert_eq!(issue(keys(), &token_claims()), INDEPENDENT_TOKEN);
}

/// The same independent check for the license key: `cryptography`'s HKDF + Ed25519.
#[test]
fn license_key_matches_an_independent_implementation() {
    assert_eq!(
        keys().public_key_b64(),
        "0ennIiKoqgZqJxVNmi0QpXfN77Pj-WgklPkJyNXYDsU"
    );
    assert_eq!(keys().kid(), "cbcba502185af6db");
}

#[test]
fn expired_token_is_token_expired() {
    let token = issue(keys(), &token_claims());
    for now in [NOW + DAY, NOW + DAY + 1, i64::MAX] {
        let err = verify(keys(), &token, "device-A-0001", now);
        assert_eq!(err, Err(TokenError::Expired));
    }
}

#[test]
fn token_for_device_a_used_by_device_b_is_device_mismatch() {
    let token = issue(keys(), &token_claims());
    let err = verify(keys(), &token, "device-B-0002", NOW);
    assert_eq!(err, Err(TokenError::DeviceMismatch));
}

#[test]
fn every_byte_flip_of_a_token_is_rejected() {
    let (keys, token) = (keys(), issue(keys(), &token_claims()));
    let mut checked = 0;
    for flipped in byte_flips(&token) {
        assert_eq!(
            verify(keys, &flipped, "device-A-0001", NOW),
            Err(TokenError::Invalid),
            "{flipped}"
        );
        checked += 1;
    }
    assert_eq!(checked, token.len() * 94);
}

#[test]
fn every_truncation_and_extension_of_a_token_is_rejected() {
    let (keys, token) = (keys(), issue(keys(), &token_claims()));
    for end in 0..token.len() {
        assert_eq!(
            verify(keys, &token[..end], "device-A-0001", NOW),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            verify(keys, &token[end + 1..], "device-A-0001", NOW),
            Err(TokenError::Invalid)
        );
    }
    for suffix in ["A", "=", ".", " ", "\n", ".AAAA"] {
        let longer = format!("{token}{suffix}");
        assert_eq!(
            verify(keys, &longer, "device-A-0001", NOW),
            Err(TokenError::Invalid),
            "{suffix:?}"
        );
    }
}

#[test]
fn foreign_and_oversized_tokens_are_invalid() -> TestResult {
    let other = Keys::from_secret(OTHER_SECRET)?;
    let keys = keys();
    let foreign = issue(&other, &token_claims());
    assert_eq!(
        verify(keys, &foreign, "device-A-0001", NOW),
        Err(TokenError::Invalid)
    );
    let license = sign(keys, &license_claims());
    assert_eq!(
        verify(keys, &license, "device-A-0001", NOW),
        Err(TokenError::Invalid)
    );
    let huge = TokenClaims {
        customer_id: "c".repeat(2000),
        ..token_claims()
    };
    assert_eq!(
        verify(keys, &issue(keys, &huge), "device-A-0001", NOW),
        Err(TokenError::Invalid)
    );
    Ok(())
}

#[test]
fn token_expires_at_equals_the_decision_formatted_with_iso() {
    let input = paid(Some("active"), Some(NOW + 20 * DAY));
    let decision = evaluate(&input, NOW, DEFAULT_OFFLINE_GRACE_HOURS);
    let expires_at = decision
        .token_expires_at
        .unwrap_or_else(|| panic!("active"));
    let claims = TokenClaims {
        expires_at,
        ..token_claims()
    };
    let token = issue(keys(), &claims);
    let response_iso = iso(expires_at);
    assert_eq!(decoded_payload(&token)["expiresAt"], response_iso.as_str());
    assert_eq!(claims.expires_at_iso(), response_iso);
    let verified = verify(keys(), &token, "device-A-0001", NOW).map(|c| c.expires_at_iso());
    assert_eq!(verified, Ok(response_iso));
}

// ---- license ----

#[test]
fn license_round_trips_including_unsettled_status() {
    let keys = keys();
    let public = keys.public_key_b64();
    let blob = sign(keys, &license_claims());
    assert!(blob.starts_with("nyra_lic.v1."));
    assert_eq!(
        verify_license(&blob, &public, "device-A-0001", NOW),
        Ok(license_claims())
    );
    let unsettled = LicenseClaims {
        status: None,
        ..license_claims()
    };
    let blob = sign(keys, &unsettled);
    assert_eq!(decoded_payload(&blob)["status"], serde_json::Value::Null);
    assert_eq!(
        verify_license(&blob, &public, "device-A-0001", NOW),
        Ok(unsettled)
    );
}

#[test]
fn every_byte_flip_of_a_license_is_rejected() {
    let keys = keys();
    let (public, blob) = (keys.public_key_b64(), sign(keys, &license_claims()));
    let mut checked = 0;
    for flipped in one_flip_per_byte(&blob) {
        let result = verify_license(&flipped, &public, "device-A-0001", NOW);
        assert_eq!(result, Err(LicenseError::Invalid), "{flipped}");
        checked += 1;
    }
    assert_eq!(checked, blob.len());
}

/// All 94 printable replacements of every byte (~34k Ed25519 checks): seconds, since the
/// workspace builds `curve25519-dalek` at opt-level 3 even in the test profile.
#[test]
fn every_byte_replacement_of_a_license_is_rejected() {
    let keys = keys();
    let (public, blob) = (keys.public_key_b64(), sign(keys, &license_claims()));
    for flipped in byte_flips(&blob) {
        let result = verify_license(&flipped, &public, "device-A-0001", NOW);
        assert_eq!(result, Err(LicenseError::Invalid), "{flipped}");
    }
}

#[test]
fn every_truncation_of_a_license_is_rejected() {
    let keys = keys();
    let (public, blob) = (keys.public_key_b64(), sign(keys, &license_claims()));
    for end in 0..blob.len() {
        let result = verify_license(&blob[..end], &public, "device-A-0001", NOW);
        assert_eq!(result, Err(LicenseError::Invalid), "{end}");
    }
    let longer = format!("{blob}A");
    assert_eq!(
        verify_license(&longer, &public, "device-A-0001", NOW),
        Err(LicenseError::Invalid)
    );
}

#[test]
fn license_for_another_device_is_rejected() {
    let keys = keys();
    let blob = sign(keys, &license_claims());
    let result = verify_license(&blob, &keys.public_key_b64(), "device-B-0002", NOW);
    assert_eq!(result, Err(LicenseError::DeviceMismatch));
}

#[test]
fn expired_license_is_rejected_at_the_grace_boundary() {
    let keys = keys();
    let (public, blob) = (keys.public_key_b64(), sign(keys, &license_claims()));
    let boundary = license_claims().expires_at;
    assert!(verify_license(&blob, &public, "device-A-0001", boundary - 1).is_ok());
    for now in [boundary, boundary + 1, i64::MAX] {
        let result = verify_license(&blob, &public, "device-A-0001", now);
        assert_eq!(result, Err(LicenseError::Expired));
    }
}

#[test]
fn license_issued_in_the_future_is_rejected_beyond_the_skew() {
    let keys = keys();
    let (public, blob) = (keys.public_key_b64(), sign(keys, &license_claims()));
    let at_skew = NOW - MAX_CLOCK_SKEW_SECONDS;
    assert!(verify_license(&blob, &public, "device-A-0001", at_skew).is_ok());
    for now in [at_skew - 1, NOW - 30 * DAY, 0, i64::MIN] {
        let result = verify_license(&blob, &public, "device-A-0001", now);
        assert_eq!(result, Err(LicenseError::IssuedInFuture));
    }
}

#[test]
fn license_signed_by_another_key_is_invalid() -> TestResult {
    let other = Keys::from_secret(OTHER_SECRET)?;
    let blob = sign(&other, &license_claims());
    let result = verify_license(&blob, &keys().public_key_b64(), "device-A-0001", NOW);
    assert_eq!(result, Err(LicenseError::Invalid));
    let token = issue(keys(), &token_claims());
    let result = verify_license(&token, &keys().public_key_b64(), "device-A-0001", NOW);
    assert_eq!(result, Err(LicenseError::Invalid));
    Ok(())
}

/// A license built by an independent signer: accepted with the right `kid`, refused with another.
fn independent_license(signing: &SigningKey, kid: &str) -> String {
    let payload = serde_json::json!({
        "kid": kid, "customerId": "cus_Test123", "deviceId": "device-A-0001",
        "entitlement": "pro", "status": "trialing",
        "issuedAt": "2025-11-28T03:20:00Z", "expiresAt": "2025-12-28T03:20:00Z",
    });
    let signed = format!(
        "nyra_lic.v1.{}",
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let signature = signing.sign(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

#[test]
fn kid_must_name_the_pinned_key() {
    let signing = SigningKey::from_bytes(&[7u8; 32]);
    let public_raw = signing.verifying_key().to_bytes();
    let public = URL_SAFE_NO_PAD.encode(public_raw);
    let good = independent_license(&signing, &kid_of(&public_raw));
    let verified = verify_license(&good, &public, "device-A-0001", NOW);
    assert_eq!(verified.map(|c| c.status), Ok(Some("trialing".into())));
    let wrong_kid = independent_license(&signing, "0000000000000000");
    assert_eq!(
        verify_license(&wrong_kid, &public, "device-A-0001", NOW),
        Err(LicenseError::Invalid)
    );
}

#[test]
fn license_payload_snapshot() {
    let keys = keys();
    let blob = sign(keys, &license_claims());
    insta::assert_json_snapshot!(
        "license_payload",
        serde_json::json!({
            "publicKey": keys.public_key_b64(),
            "kid": keys.kid(),
            "payload": decoded_payload(&blob),
            "license": blob,
        })
    );
}

// ---- entitlement ----

/// A row of our mode whose checkout completed a day before `NOW` and whose invoices are paid
/// through the period end.
fn paid(status: Option<&str>, period_end: Option<i64>) -> EntitlementInput {
    EntitlementInput {
        status: status.map(str::to_owned),
        current_period_end: period_end,
        paid_through: period_end,
        checkout_completed_at: Some(NOW - DAY),
        mode_matches: true,
    }
}

fn decide(status: Option<&str>, period_end: Option<i64>, now: i64) -> Decision {
    evaluate(&paid(status, period_end), now, DEFAULT_OFFLINE_GRACE_HOURS)
}

#[test]
fn entitlement_table_per_status_with_period_data() {
    let end = NOW + 10 * DAY;
    let table = [
        ("active", true, false),
        ("trialing", true, false),
        ("past_due", true, true),
        ("canceled", false, false),
        ("unpaid", false, false),
        ("incomplete", false, false),
        ("incomplete_expired", false, false),
        ("paused", false, false),
        ("ACTIVE", false, false),
        ("something_new", false, false),
        ("", false, false),
    ];
    for (status, active, payment_issue) in table {
        let decision = decide(Some(status), Some(end), NOW);
        let expected = Decision {
            active,
            entitlement: if active {
                Entitlement::Pro
            } else {
                Entitlement::None
            },
            payment_issue,
            offline_grace_ends_at: Some(end + GRACE),
            token_expires_at: active.then_some(end + GRACE),
        };
        assert_eq!(decision, expected, "{status}");
    }
}

#[test]
fn entitled_statuses_end_at_the_grace_boundary() {
    let end = NOW - DAY;
    let boundary = end + GRACE;
    for status in ["active", "trialing", "past_due"] {
        let before = decide(Some(status), Some(end), boundary - 1);
        assert!(before.active, "{status}");
        assert_eq!(before.token_expires_at, Some(boundary));
        let at = decide(Some(status), Some(end), boundary);
        assert!(!at.active, "{status}");
        assert_eq!(
            (at.entitlement, at.token_expires_at),
            (Entitlement::None, None)
        );
        assert_eq!(at.offline_grace_ends_at, Some(boundary));
        assert_eq!(at.payment_issue, status == "past_due");
    }
}

#[test]
fn unsettled_checkout_is_active_for_24_hours() {
    let decision = decide(None, None, NOW);
    let expected = Decision {
        active: true,
        entitlement: Entitlement::Pro,
        payment_issue: false,
        offline_grace_ends_at: None,
        token_expires_at: Some(NOW + UNSETTLED_TOKEN_SECONDS),
    };
    assert_eq!(decision, expected);
    assert_eq!(UNSETTLED_TOKEN_SECONDS, DAY);
}

#[test]
fn entitled_status_without_period_data_gets_24_hours() {
    for status in ["active", "trialing", "past_due"] {
        let decision = decide(Some(status), None, NOW);
        assert_eq!(decision.token_expires_at, Some(NOW + DAY), "{status}");
        assert_eq!(decision.payment_issue, status == "past_due");
    }
    for status in [
        "canceled",
        "unpaid",
        "incomplete",
        "incomplete_expired",
        "paused",
        "x",
    ] {
        let decision = decide(Some(status), None, NOW);
        assert!(
            !decision.active && decision.token_expires_at.is_none(),
            "{status}"
        );
    }
}

#[test]
fn period_data_without_status_is_not_active() {
    let decision = decide(None, Some(NOW + 10 * DAY), NOW);
    assert!(!decision.active);
    assert_eq!(decision.token_expires_at, None);
}

#[test]
fn token_expiry_is_capped_by_the_hard_cap() {
    assert_eq!(TOKEN_HARD_CAP_SECONDS, 45 * DAY);
    let decision = decide(Some("active"), Some(NOW + 365 * DAY), NOW);
    assert!(decision.active);
    assert_eq!(
        decision.token_expires_at,
        Some(NOW + TOKEN_HARD_CAP_SECONDS)
    );
    assert_eq!(
        decision.offline_grace_ends_at,
        Some(NOW + 365 * DAY + GRACE)
    );
    let at_cap = decide(
        Some("active"),
        Some(NOW + TOKEN_HARD_CAP_SECONDS - GRACE),
        NOW,
    );
    assert_eq!(at_cap.token_expires_at, Some(NOW + TOKEN_HARD_CAP_SECONDS));
    let extreme = decide(Some("active"), Some(i64::MAX), i64::MAX - 1);
    assert_eq!(extreme.token_expires_at, Some(i64::MAX));
}

#[test]
fn grace_hours_argument_moves_the_boundary() {
    let input = paid(Some("active"), Some(NOW));
    assert!(!evaluate(&input, NOW, 0).active);
    assert_eq!(evaluate(&input, NOW, 1).token_expires_at, Some(NOW + 3600));
    assert_eq!(evaluate(&input, NOW - 1, -50).token_expires_at, Some(NOW));
    assert_eq!(
        evaluate(&input, NOW, 100_000).offline_grace_ends_at,
        Some(NOW + 720 * 3600)
    );
}

fn any_status() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "active",
            "trialing",
            "past_due",
            "canceled",
            "unpaid",
            "incomplete",
            "incomplete_expired",
            "paused",
        ])
        .prop_map(|s| Some(s.to_owned())),
        "[a-z_]{0,20}".prop_map(Some),
    ]
}

proptest! {
    #[test]
    fn no_token_outlives_the_hard_cap_or_the_grace_boundary(
        status in any_status(),
        period_end in prop::option::of(-10_000_000_000i64..10_000_000_000),
        now in -10_000_000_000i64..10_000_000_000,
        grace in -1_000i64..2_000,
        paid_through in prop::option::of(-10_000_000_000i64..10_000_000_000),
        completed in prop::option::of(-10_000_000_000i64..10_000_000_000),
        mode_matches in any::<bool>(),
    ) {
        let input = EntitlementInput {
            status,
            current_period_end: period_end,
            paid_through,
            checkout_completed_at: completed,
            mode_matches,
        };
        let decision = evaluate(&input, now, grace);
        prop_assert_eq!(decision.active, decision.token_expires_at.is_some());
        prop_assert_eq!(decision.entitlement == Entitlement::Pro, decision.active);
        if let Some(expires_at) = decision.token_expires_at {
            prop_assert!(expires_at > now);
            prop_assert!(expires_at <= now + TOKEN_HARD_CAP_SECONDS);
            if let Some(boundary) = decision.offline_grace_ends_at {
                prop_assert!(expires_at <= boundary);
            }
            prop_assert!(mode_matches, "the other mode never grants");
            if paid_through.is_none() || period_end.is_none() {
                let started = completed.unwrap_or(i64::MAX);
                prop_assert!(now < started.saturating_add(UNSETTLED_WINDOW_SECONDS));
                prop_assert!(expires_at <= now + UNSETTLED_TOKEN_SECONDS);
            }
        }
        prop_assert_eq!(
            decision.offline_grace_ends_at.is_some(),
            period_end.is_some() && paid_through.is_some()
        );
    }

    #[test]
    fn arbitrary_text_is_never_a_valid_token_or_license(text in ".{0,300}") {
        let keys = keys();
        prop_assert_eq!(verify(keys, &text, "device-A-0001", NOW), Err(TokenError::Invalid));
        let prefixed = format!("nyra_lic.v1.{text}");
        let result = verify_license(&prefixed, &keys.public_key_b64(), "device-A-0001", NOW);
        prop_assert_eq!(result, Err(LicenseError::Invalid));
    }
}
