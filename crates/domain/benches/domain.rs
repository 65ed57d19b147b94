//! Micro-benchmarks of the hot domain paths, natively (no workerd): webhook verify + parse of a
//! realistic ~5 KB event, device-token issue/verify, license sign/verify, entitlement evaluation.
//!
//! `cargo bench -p nyra-domain` runs them all in well under a minute (small samples, short
//! measurement windows): enough to show a regression, not a precision measurement.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nyra_domain::license::{self, Entitlement, EntitlementInput, Keys, LicenseClaims, TokenClaims};
use nyra_domain::webhook::{event, verify};
use serde_json::{Value, json};

const WEBHOOK_SECRET: &str = "whsec_bench_not_a_real_secret";
/// Two configured secrets (rotation): the matching one is the second, the slower path.
const WEBHOOK_SECRETS: &str = "whsec_bench_old_rotated_secret,whsec_bench_not_a_real_secret";
const SIGNING_SECRET: &str = "nyra_bench_license_signing_secret_0123456789abcdef";
const NOW: i64 = 1_764_300_100;
const DAY: i64 = 24 * 3600;
const GRACE_HOURS: i64 = 168;

/// The `checkout.session.completed` fixture, padded the way Stripe's real events are when a
/// session carries expanded line items and a merchant's metadata, to about 5 KB.
fn realistic_event() -> Vec<u8> {
    let fixture = include_str!("../fixtures/webhook/events/checkout.session.completed.json");
    let mut value: Value = serde_json::from_str(fixture).expect("the fixture is json");
    let object = &mut value["data"]["object"];
    object["metadata"] = json!({
        "deviceId": "dev_test_7f3c9a12",
        "appVersion": "2.14.0 (build 5521)",
        "platform": "macos-aarch64",
        "osVersion": "15.3.1",
        "locale": "de-DE",
        "campaign": "spring-launch-2026",
        "referrer": "https://nyra.test/pricing?plan=pro&interval=month",
        "installId": "inst_4c1f9e2a7b3d48e6a0c5f1e9d2b7a6c3",
    });
    let line_item = |n: u32| {
        json!({
            "id": format!("li_test_1Qx7Yz2eZvKYlo2C0a1b2c{n:02}"),
            "object": "item",
            "adjustable_quantity": null,
            "amount_discount": 0,
            "amount_subtotal": 499,
            "amount_tax": 80,
            "amount_total": 579,
            "currency": "eur",
            "description": "Nyra Pro (monthly)",
            "discounts": [],
            "price": {
                "id": "price_test_local_pro_monthly",
                "object": "price",
                "active": true,
                "billing_scheme": "per_unit",
                "created": 1_764_000_000,
                "currency": "eur",
                "custom_unit_amount": null,
                "livemode": false,
                "lookup_key": "nyra_pro_monthly",
                "metadata": {"tier": "pro", "interval": "month"},
                "nickname": "Pro monthly",
                "product": "prod_test_NyraPro",
                "recurring": {
                    "interval": "month",
                    "interval_count": 1,
                    "meter": null,
                    "trial_period_days": null,
                    "usage_type": "licensed"
                },
                "tax_behavior": "exclusive",
                "tiers_mode": null,
                "transform_quantity": null,
                "type": "recurring",
                "unit_amount": 499,
                "unit_amount_decimal": "499"
            },
            "quantity": 1,
            "taxes": [{
                "amount": 80,
                "rate": {"id": "txr_test_de19", "percentage": 19.0, "jurisdiction": "DE"},
                "taxability_reason": "standard_rated",
                "taxable_amount": 499
            }]
        })
    };
    object["line_items"] = json!({
        "object": "list",
        "data": [line_item(1)],
        "has_more": false,
        "url": "/v1/checkout/sessions/cs_test_a1NyraLifecycle01/line_items"
    });
    let body = serde_json::to_vec_pretty(&value).expect("serialises");
    assert!(
        (4_500..=6_000).contains(&body.len()),
        "the realistic event should be about 5 KB, is {} bytes",
        body.len()
    );
    body
}

fn keys() -> Keys {
    Keys::from_secret(SIGNING_SECRET).expect("the bench secret is long enough")
}

fn token_claims() -> TokenClaims {
    TokenClaims {
        customer_id: "cus_test_NyraLifecycle01".into(),
        device_id: "dev_test_7f3c9a12".into(),
        issued_at: NOW,
        expires_at: NOW + 30 * DAY + GRACE_HOURS * 3600,
    }
}

fn license_claims() -> LicenseClaims {
    LicenseClaims {
        customer_id: "cus_test_NyraLifecycle01".into(),
        device_id: "dev_test_7f3c9a12".into(),
        entitlement: Entitlement::Pro,
        status: Some("active".into()),
        issued_at: NOW,
        expires_at: NOW + 30 * DAY + GRACE_HOURS * 3600,
    }
}

fn webhook(c: &mut Criterion) {
    let body = realistic_event();
    let header = verify::signature_header(WEBHOOK_SECRET, NOW, &body);
    let bytes = u64::try_from(body.len()).unwrap_or(u64::MAX);
    let mut group = c.benchmark_group("webhook");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("verify_5kb", |b| {
        b.iter(|| {
            verify::verify(
                black_box(Some(header.as_str())),
                black_box(&body),
                WEBHOOK_SECRETS,
                NOW,
            )
        });
    });
    group.bench_function("parse_5kb", |b| {
        b.iter(|| event::parse(black_box(&body)).expect("the event parses"));
    });
    group.bench_function("verify_and_parse_5kb", |b| {
        b.iter(|| {
            verify::verify(
                Some(header.as_str()),
                black_box(&body),
                WEBHOOK_SECRETS,
                NOW,
            )
            .expect("the signature verifies");
            event::parse(black_box(&body)).expect("the event parses")
        });
    });
    group.finish();
}

fn token(c: &mut Criterion) {
    let keys = keys();
    let claims = token_claims();
    let token = license::issue(&keys, &claims);
    let mut group = c.benchmark_group("device_token");
    group.bench_function("issue", |b| {
        b.iter(|| license::issue(&keys, black_box(&claims)));
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            license::verify(&keys, black_box(&token), "dev_test_7f3c9a12", NOW)
                .expect("the token verifies")
        });
    });
    group.finish();
}

fn license_blob(c: &mut Criterion) {
    let keys = keys();
    let claims = license_claims();
    let blob = license::sign(&keys, &claims);
    let public_key = keys.public_key_b64();
    let mut group = c.benchmark_group("license");
    group.bench_function("sign", |b| {
        b.iter(|| license::sign(&keys, black_box(&claims)));
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            license::verify_license(black_box(&blob), &public_key, "dev_test_7f3c9a12", NOW)
                .expect("the license verifies")
        });
    });
    group.finish();
}

fn entitlement(c: &mut Criterion) {
    let inputs = [
        EntitlementInput {
            status: Some("active".into()),
            current_period_end: Some(NOW + 20 * DAY),
            paid_through: Some(NOW + 20 * DAY),
            checkout_completed_at: Some(NOW - 40 * DAY),
            mode_matches: true,
        },
        EntitlementInput {
            status: Some("past_due".into()),
            current_period_end: Some(NOW - DAY),
            paid_through: Some(NOW - DAY),
            checkout_completed_at: Some(NOW - 40 * DAY),
            mode_matches: true,
        },
        EntitlementInput {
            status: Some("canceled".into()),
            current_period_end: Some(NOW - 10 * DAY),
            paid_through: Some(NOW - 10 * DAY),
            checkout_completed_at: Some(NOW - 40 * DAY),
            mode_matches: true,
        },
        EntitlementInput::default(),
    ];
    c.bench_function("entitlement/evaluate_4_states", |b| {
        b.iter(|| {
            inputs
                .iter()
                .map(|input| license::evaluate(black_box(input), NOW, GRACE_HOURS))
                .filter(|decision| decision.active)
                .count()
        });
    });
}

/// Small samples and short windows: the whole suite stays well under a minute.
fn quick() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = quick();
    targets = webhook, token, license_blob, entitlement
}
criterion_main!(benches);
