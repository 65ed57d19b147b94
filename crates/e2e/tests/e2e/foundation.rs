//! The foundation: /health, the dispatch rules over real HTTP, the docs routes and the generated client.

use crate::util::UNUSED_STRIPE;
use nyra_e2e::http::Http;
use nyra_e2e::{Worker, WorkerOptions};
use serde_json::json;

async fn local() -> Worker {
    Worker::start(WorkerOptions::local(UNUSED_STRIPE))
        .await
        .expect("worker starts")
}

#[tokio::test]
async fn health_is_ok_with_everything_configured() {
    let worker = local().await;
    let answer = Http::new(&worker.base_url).get("/health", &[]).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["ok"], true);
    assert_eq!(body["stripeMode"], "test");
    assert_eq!(body["stripeApiVersion"], "2026-02-25.clover");
    assert_eq!(body["d1"], json!({"ok": true, "missingTables": []}));
}

#[tokio::test]
async fn health_names_a_missing_secret_and_never_a_value() {
    let options = WorkerOptions::local(UNUSED_STRIPE).without_secret("NYRA_LICENSE_SIGNING_SECRET");
    let worker = Worker::start(options).await.expect("worker starts");
    let answer = Http::new(&worker.base_url).get("/health", &[]).await;
    assert_eq!(answer.status, 503);
    assert_eq!(
        answer.json()["missingSecrets"],
        json!(["NYRA_LICENSE_SIGNING_SECRET"])
    );
    let text = String::from_utf8_lossy(&answer.body);
    for (_, value) in nyra_e2e::secrets::local() {
        assert!(!text.contains(value), "health leaked a secret value");
    }
}

#[tokio::test]
async fn health_reports_missing_tables_and_live_keys() {
    let mut options =
        WorkerOptions::local(UNUSED_STRIPE).with_secret("STRIPE_SECRET_KEY", "sk_live_local_fake");
    options.migrate = false;
    let worker = Worker::start(options).await.expect("worker starts");
    let answer = Http::new(&worker.base_url).get("/health", &[]).await;
    assert_eq!(answer.status, 503);
    let body = answer.json();
    assert_eq!(body["stripeMode"], "live");
    assert_eq!(body["d1"]["ok"], false);
    assert_eq!(
        body["d1"]["missingTables"],
        json!([
            "billing_customers",
            "processed_events",
            "device_activations",
            "checkout_sessions"
        ])
    );
}

#[tokio::test]
async fn dispatch_rules_hold_over_http() {
    let worker = local().await;
    let http = Http::new(&worker.base_url);
    let origin = ("origin", "http://localhost:5173");
    let preflight = http
        .send(
            "OPTIONS",
            "/api/billing/checkout",
            &[origin, ("access-control-request-method", "POST")],
            vec![],
        )
        .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    let foreign = http
        .send(
            "OPTIONS",
            "/api/billing/checkout",
            &[("origin", "https://evil.example")],
            vec![],
        )
        .await;
    assert_eq!(
        (foreign.status, foreign.code().as_str()),
        (403, "origin_not_allowed")
    );
    let health = http.get("/health", &[origin]).await;
    assert_eq!(
        health.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    let webhook = http
        .send("OPTIONS", "/api/billing/webhook", &[origin], vec![])
        .await;
    assert_eq!(webhook.status, 405);
    let big = http
        .send(
            "POST",
            "/api/billing/checkout",
            &[("content-type", "application/json")],
            vec![b' '; 10 * 1024 * 1024],
        )
        .await;
    assert_eq!(
        (big.status, big.code().as_str()),
        (413, "payload_too_large")
    );
    let text = http
        .send(
            "POST",
            "/api/billing/checkout",
            &[("content-type", "text/plain")],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(
        (text.status, text.code().as_str()),
        (415, "unsupported_media_type")
    );
    let bad = http
        .post_json("/api/billing/checkout", &[], &json!({"deviceId": 7}))
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("deviceId")
    );
    let unknown = http
        .post_json(
            "/api/billing/checkout",
            &[],
            &json!({"deviceId": "device-123", "admin": true}),
        )
        .await;
    assert!(
        unknown.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("admin")
    );
    let missing = http.get("/nope", &[]).await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (404, "route_not_found")
    );
}

#[tokio::test]
async fn docs_and_spec_are_served_offline() {
    let worker = local().await;
    let http = Http::new(&worker.base_url);
    let yaml = http.get("/openapi.yaml", &[]).await;
    assert_eq!(yaml.status, 200);
    let committed = std::fs::read(nyra_e2e::paths::root().join("openapi.yaml")).expect("spec");
    assert_eq!(
        yaml.body, committed,
        "/openapi.yaml is the file byte for byte"
    );
    assert_eq!(
        yaml.header("content-type"),
        Some("application/yaml; charset=utf-8"),
        "the media type the spec documents"
    );
    let json = http.get("/openapi.json", &[]).await;
    let parsed: serde_json::Value = yaml_serde::from_slice(&committed).expect("yaml");
    assert_eq!(json.json(), parsed, "/openapi.json is the same document");
    let docs = http.get("/docs", &[]).await;
    assert_eq!(docs.status, 200);
    let page = String::from_utf8_lossy(&docs.body);
    for path in [
        "/health",
        "/api/billing/checkout",
        "/api/billing/portal",
        "/api/billing/webhook",
        "/api/license/status",
    ] {
        assert!(page.contains(path), "docs page lacks {path}");
    }
    for remote in [
        "src=\"http",
        "src='http",
        "<link href=\"http",
        "url(http",
        "url(\"http",
        "@import \"http",
    ] {
        assert!(
            !page.contains(remote),
            "docs page loads a remote resource ({remote})"
        );
    }
}

#[tokio::test]
async fn other_methods_on_the_documents_get_405_with_allow() {
    let worker = local().await;
    let http = Http::new(&worker.base_url);
    for path in ["/docs", "/openapi.json", "/openapi.yaml"] {
        for method in ["TRACE", "POST", "DELETE"] {
            let answer = http.send(method, path, &[], Vec::new()).await;
            assert_eq!(answer.status, 405, "{method} {path}");
            assert_eq!(
                answer.header("allow"),
                Some("GET, HEAD, OPTIONS"),
                "{method} {path}"
            );
            assert_eq!(answer.code(), "method_not_allowed");
        }
        let head = http.send("HEAD", path, &[], Vec::new()).await;
        assert_eq!(head.status, 200, "HEAD {path}");
    }
}

#[tokio::test]
async fn generated_client_reads_health() {
    let worker = local().await;
    let client = nyra_client::Client::new(&worker.base_url);
    let report = client
        .health()
        .await
        .expect("health through the generated client")
        .into_inner();
    assert!(report.ok);
    assert_eq!(report.service, "nyra-billing-api");
}
