//! Contract tests of the generated server side: drift from generated/, and the dispatch layer's rules.

use nyra_api::models::*;
use nyra_api::rt::{DispatchConfig, HttpRequest, HttpResponse};
use nyra_api::server::*;

#[test]
fn generated_copy_matches_build_output() {
    for name in ["models.rs", "server.rs"] {
        let built = std::fs::read_to_string(format!("{}/{name}", env!("OUT_DIR"))).unwrap();
        let path = format!("{}/../../generated/{name}", env!("CARGO_MANIFEST_DIR"));
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            built == committed,
            "generated/{name} differs from what build.rs makes from openapi.yaml; run `cargo xtask codegen` and commit generated/"
        );
    }
}

/// A fake implementation answering fixed values, to exercise dispatch.
struct Fake;

fn ok_status() -> LicenseStatus {
    LicenseStatus {
        active: false,
        entitlement: Entitlement::None,
        status: None,
        payment_issue: false,
        customer_id: "cus_1".into(),
        device_id: "device-1".into(),
        current_period_end_iso: None,
        cancel_at_period_end: false,
        offline_grace_ends_at_iso: None,
        device_activation: DeviceActivation {
            activated_at_iso: "2026-01-01T00:00:00Z".into(),
            last_checked_at_iso: "2026-01-01T00:00:00Z".into(),
            active: false,
        },
        license: None,
        device_access_token: None,
        device_access_token_expires_at_iso: None,
        reason: None,
    }
}

impl BillingApi for Fake {
    async fn health(&self, _: HealthRequest) -> HealthResponse {
        HealthResponse::Ok(HealthReport {
            ok: true,
            service: "nyra-billing-api".into(),
            stripe_api_version: "2026-02-25.clover".into(),
            stripe_mode: StripeMode::Test,
            missing_secrets: vec![],
            insecure_secrets: vec![],
            missing_vars: vec![],
            d1: D1Health {
                ok: true,
                missing_tables: vec![],
                error: None,
            },
        })
    }
    async fn create_checkout(&self, r: CreateCheckoutRequest) -> CreateCheckoutResponse {
        CreateCheckoutResponse::Ok(CheckoutResponse {
            checkout_url: format!("https://checkout.example/{}", r.body.device_id),
            checkout_session_id: "cs_test_1".into(),
            expires_at_iso: "2026-01-01T00:00:00Z".into(),
            activation_code: "0000-0000-0000-0000-0000-0000-0000-0000".into(),
        })
    }
    async fn create_portal(&self, r: CreatePortalRequest) -> CreatePortalResponse {
        match r.bearer {
            Some(_) => CreatePortalResponse::Ok(PortalResponse {
                portal_url: "https://portal.example".into(),
            }),
            None => CreatePortalResponse::Unauthorized(nyra_api::rt::problem_of(
                ErrorCode::Unauthorized,
                "no token",
            )),
        }
    }
    async fn stripe_webhook(&self, r: StripeWebhookRequest) -> StripeWebhookResponse {
        StripeWebhookResponse::Ok(WebhookAck {
            received: !r.body.is_empty(),
            duplicate: false,
            handled: false,
        })
    }
    async fn license_status(&self, r: LicenseStatusRequest) -> LicenseStatusResponse {
        let mut status = ok_status();
        status.device_id = r.device_id;
        LicenseStatusResponse::Ok(status)
    }
}

fn call(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let request = HttpRequest {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        body: body.to_vec(),
    };
    let config = DispatchConfig {
        allowed_origin: Some("http://localhost:5173".into()),
    };
    match route(&config, &request) {
        Ok(operation) => futures_executor::block_on(dispatch(&Fake, &config, operation, request)),
        Err(response) => response,
    }
}

fn code(response: &HttpResponse) -> String {
    let value: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(
        value["status"], response.status,
        "problem status equals http status"
    );
    value["code"].as_str().unwrap().to_owned()
}

const JSON: (&str, &str) = ("content-type", "application/json");

/// `POST /api/billing/checkout` with a JSON body.
fn checkout(body: &[u8]) -> HttpResponse {
    call("POST", "/api/billing/checkout", &[JSON], body)
}

#[test]
fn routes_health_and_adds_security_headers() {
    let response = call("GET", "/health", &[], b"");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("access-control-allow-origin"), None);
}

#[test]
fn unknown_route_and_wrong_method() {
    let response = call("GET", "/nope", &[], b"");
    assert_eq!(
        (response.status, code(&response).as_str()),
        (404, "route_not_found")
    );
    let response = call("DELETE", "/health", &[], b"");
    assert_eq!(
        (response.status, code(&response).as_str()),
        (405, "method_not_allowed")
    );
    assert_eq!(response.header("allow"), Some("GET, OPTIONS"));
}

#[test]
fn body_limits_content_type_and_json_errors() {
    let big = vec![b' '; 4097];
    let response = call("POST", "/api/billing/checkout", &[JSON], &big);
    assert_eq!(
        (response.status, code(&response).as_str()),
        (413, "payload_too_large")
    );
    let response = call(
        "POST",
        "/api/billing/checkout",
        &[("content-type", "text/plain")],
        b"{}",
    );
    assert_eq!(
        (response.status, code(&response).as_str()),
        (415, "unsupported_media_type")
    );
    let response = call(
        "POST",
        "/api/billing/checkout",
        &[JSON],
        b"{\"deviceId\": 12}",
    );
    assert_eq!(response.status, 400);
    let detail: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert!(
        detail["detail"].as_str().unwrap().starts_with("deviceId:"),
        "{detail}"
    );
    let response = call(
        "POST",
        "/api/billing/checkout",
        &[JSON],
        b"{\"deviceId\":\"device-123\",\"extra\":1}",
    );
    let detail: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert!(
        detail["detail"].as_str().unwrap().contains("extra"),
        "{detail}"
    );
    let response = call(
        "POST",
        "/api/billing/checkout",
        &[JSON],
        b"{\"deviceId\":\"short\"}",
    );
    assert_eq!(code(&response), "invalid_body");
    let response = call(
        "POST",
        "/api/billing/checkout",
        &[JSON],
        b"{\"deviceId\":\"bad device!\"}",
    );
    assert_eq!(code(&response), "invalid_body");
    let response = call(
        "POST",
        "/api/billing/checkout",
        &[("content-type", "application/json; charset=utf-8")],
        b"{\"deviceId\":\"device-123\"}",
    );
    assert_eq!(response.status, 200);
}

/// The checkout's email is checked against the spec's pattern before the handler (and Stripe)
/// sees it: what the schema allows is handed on, anything else is `400 invalid_body`.
#[test]
fn checkout_email_must_be_an_ascii_address() {
    let with_email = |email: &str| {
        let body = serde_json::json!({"deviceId": "device-123", "email": email}).to_string();
        checkout(body.as_bytes())
    };
    for good in ["buyer@example.com", "a.b+c_d%e-f@mail-1.example.co.uk"] {
        assert_eq!(with_email(good).status, 200, "{good}");
    }
    let zeros = "0".repeat(60);
    let long = format!("{}@example.com", "0".repeat(250));
    for bad in [
        zeros.as_str(),
        "buyer@example",
        "buyer@@example.com",
        "bu yer@example.com",
        "buyer@exa mple.com",
        "buyer@example.com\n",
        "b\u{fc}yer@example.com",
        "@example.com",
        "buyer@.com",
        long.as_str(),
    ] {
        let response = with_email(bad);
        assert_eq!(
            (response.status, code(&response).as_str()),
            (400, "invalid_body"),
            "{bad:?}"
        );
        let detail: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert!(detail["detail"].as_str().unwrap().starts_with("email:"));
    }
}

#[test]
fn bodies_are_limited_only_where_the_spec_documents_413() {
    let big = vec![b'x'; 64 * 1024];
    assert_eq!(call("GET", "/health", &[], &big).status, 200);
    let response = call(
        "POST",
        "/api/billing/portal",
        &[("authorization", "Bearer t")],
        &big,
    );
    assert_eq!(
        (response.status, code(&response).as_str()),
        (413, "payload_too_large")
    );
}

#[test]
fn query_parameters_are_validated_and_named() {
    let response = call("GET", "/api/license/status", &[], b"");
    assert_eq!(code(&response), "invalid_query");
    let response = call(
        "GET",
        "/api/license/status?deviceId=%27%3B%20DROP%20TABLE",
        &[],
        b"",
    );
    assert_eq!(code(&response), "invalid_query");
    let response = call("GET", "/api/license/status?deviceId=device-123", &[], b"");
    assert_eq!(response.status, 200);
}

#[test]
fn cors_only_for_the_allowed_origin_and_never_on_the_webhook() {
    let origin = ("origin", "http://localhost:5173");
    let response = call("OPTIONS", "/api/billing/checkout", &[origin], b"");
    assert_eq!(response.status, 204);
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert!(
        response
            .header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    let response = call(
        "OPTIONS",
        "/api/billing/checkout",
        &[("origin", "https://evil.example")],
        b"",
    );
    assert_eq!(
        (response.status, code(&response).as_str()),
        (403, "origin_not_allowed")
    );
    let response = call("GET", "/health", &[origin], b"");
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    let response = call("OPTIONS", "/api/billing/webhook", &[origin], b"");
    assert_eq!(response.status, 405);
    let response = call("POST", "/api/billing/webhook", &[origin, JSON], b"{}");
    assert_eq!(response.header("access-control-allow-origin"), None);
}

#[test]
fn bearer_tokens_are_extracted() {
    let response = call(
        "POST",
        "/api/billing/portal",
        &[("authorization", "Bearer abc")],
        b"",
    );
    assert_eq!(response.status, 200);
    let response = call(
        "POST",
        "/api/billing/portal",
        &[("authorization", "Basic abc")],
        b"",
    );
    assert_eq!(response.status, 401);
}

/// Every code of the spec, turned into each operation's response: the status is always the
/// code's `status_of` (the variant's `status()`, the encoded HTTP status and the body's `status`
/// agree), with the code's type link and title.
#[test]
fn every_error_code_answers_with_its_own_status_on_every_operation() {
    fn check<R: From<Problem>>(
        id: OperationId,
        status: impl Fn(&R) -> u16,
        into_http: impl Fn(R) -> HttpResponse,
    ) {
        for code in ErrorCode::ALL {
            let expected = nyra_api::rt::status_of(*code);
            let response = R::from(nyra_api::rt::problem_of(*code, "x"));
            assert_eq!(status(&response), expected, "{id} {code}");
            let http = into_http(response);
            assert_eq!(http.status, expected, "{id} {code}");
            let body: Problem = serde_json::from_slice(&http.body).unwrap();
            assert_eq!((body.status, body.code), (i32::from(expected), *code));
            assert_eq!(body.r#type, format!("/docs#error-{code}"));
            assert!(!body.title.is_empty(), "{code}");
            assert!((400..=599).contains(&expected), "{code}");
        }
    }
    check(
        OperationId::CreateCheckout,
        CreateCheckoutResponse::status,
        CreateCheckoutResponse::into_http,
    );
    check(
        OperationId::CreatePortal,
        CreatePortalResponse::status,
        CreatePortalResponse::into_http,
    );
    check(
        OperationId::StripeWebhook,
        StripeWebhookResponse::status,
        StripeWebhookResponse::into_http,
    );
    check(
        OperationId::LicenseStatus,
        LicenseStatusResponse::status,
        LicenseStatusResponse::into_http,
    );
}

/// A problem whose code's status the operation documents is the documented variant.
#[test]
fn documented_codes_land_in_their_documented_variant() {
    let p = |code| nyra_api::rt::problem_of(code, "x");
    assert!(matches!(
        LicenseStatusResponse::from(p(ErrorCode::TokenExpired)),
        LicenseStatusResponse::Unauthorized(_)
    ));
    assert!(matches!(
        LicenseStatusResponse::from(p(ErrorCode::CheckoutNotFound)),
        LicenseStatusResponse::NotFound(_)
    ));
    assert!(matches!(
        CreateCheckoutResponse::from(p(ErrorCode::StripeError)),
        CreateCheckoutResponse::BadGateway(_)
    ));
    assert!(matches!(
        StripeWebhookResponse::from(p(ErrorCode::SignatureMismatch)),
        StripeWebhookResponse::Unauthorized(_)
    ));
    assert!(matches!(
        CreatePortalResponse::from(p(ErrorCode::StorageUnavailable)),
        CreatePortalResponse::ServiceUnavailable(_)
    ));
}

/// Every request body is a JSON object: serde would read a struct from an array of its fields
/// too (`["device-123"]` as a checkout request), which the spec does not allow.
#[test]
fn a_body_that_is_not_a_json_object_is_invalid() {
    for body in [
        &b"[\"device-123\"]"[..],
        b" [\"device-123\", \"buyer@example.com\"]",
        b"\"device-123\"",
        b"12",
        b"null",
    ] {
        let response = checkout(body);
        assert_eq!(
            (response.status, code(&response).as_str()),
            (400, "invalid_body"),
            "{}",
            String::from_utf8_lossy(body)
        );
        let detail: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(detail["detail"], "request body must be a JSON object");
    }
    let spaced = checkout(b" \n {\"deviceId\":\"device-123\"}");
    assert_eq!(spaced.status, 200);
}
