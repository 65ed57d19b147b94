//! Activation only the buyer can perform (issue 14): activation codes, device seats, token generations, checkout refusals and rate limits, published fake secrets.

use nyra_e2e::http::{Answer, Http};
use nyra_e2e::secrets::{self, LICENSE_API_TOKEN};
use nyra_e2e::{RateLimits, Worker, WorkerOptions};
use nyra_emulator::Emulator;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const CHECKOUT: &str = "/api/billing/checkout";
const STATUS: &str = "/api/license/status";

/// A Worker wired to a Stripe emulator that delivers its events to that Worker.
struct Stack {
    worker: Worker,
    emulator: Emulator,
}

impl Stack {
    async fn start(configure: impl FnOnce(WorkerOptions) -> WorkerOptions) -> Stack {
        let (worker, emulator) = nyra_e2e::stack::start(configure)
            .await
            .unwrap_or_else(|e| panic!("stack starts: {e}"));
        Stack { worker, emulator }
    }

    fn http(&self) -> Http {
        Http::new(&self.worker.base_url)
    }

    async fn checkout(&self, device: &str) -> Answer {
        let body = json!({"deviceId": device, "email": "buyer@example.com"});
        self.http().post_json(CHECKOUT, &[], &body).await
    }

    /// Pays a session in the emulator (its events reach the Worker before it answers).
    async fn pay(&self, session: &str) -> Value {
        let url = format!(
            "{}/_emulator/checkout/sessions/{session}/pay",
            self.emulator.base_url()
        );
        let client = reqwest::Client::new();
        let answer = client.post(url).json(&json!({})).send().await;
        answer
            .expect("the emulator answers")
            .json()
            .await
            .expect("json")
    }

    /// How many `/v1` requests reached the emulator.
    async fn stripe_requests(&self) -> usize {
        let url = format!("{}/_emulator/requests", self.emulator.base_url());
        let log: Value = reqwest::get(url)
            .await
            .expect("the emulator answers")
            .json()
            .await
            .expect("json");
        log["requests"].as_array().map_or(0, Vec::len)
    }

    fn activations(&self) -> Value {
        let sql = "SELECT device_id, replaced_at, token_generation FROM device_activations \
                   ORDER BY device_id";
        self.worker.d1(sql).expect("d1 query")
    }
}

async fn activate(http: &Http, device: &str, query: &str) -> Answer {
    let target = format!("{STATUS}?deviceId={device}{query}");
    let bearer = format!("Bearer {LICENSE_API_TOKEN}");
    http.get(&target, &[("authorization", &bearer)]).await
}

async fn refresh(http: &Http, device: &str, token: &str) -> Answer {
    let bearer = format!("Bearer {token}");
    let target = format!("{STATUS}?deviceId={device}");
    http.get(&target, &[("authorization", &bearer)]).await
}

async fn portal(http: &Http, token: &str) -> Answer {
    let bearer = format!("Bearer {token}");
    let headers = [("authorization", bearer.as_str())];
    http.send("POST", "/api/billing/portal", &headers, Vec::new())
        .await
}

fn text(body: &Value, field: &str) -> String {
    body[field].as_str().unwrap_or_default().to_owned()
}

fn active_token(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.json());
    let body = answer.json();
    assert_eq!(body["active"], true, "{body}");
    text(&body, "deviceAccessToken")
}

#[tokio::test(flavor = "multi_thread")]
async fn activation_codes_seats_and_token_generations() {
    let stack = Stack::start(|o| o.with_var("NYRA_MAX_DEVICES", "2")).await;
    let http = stack.http();
    let (a, b, c) = ("act-device-a1", "act-device-b1", "act-device-c1");

    // Two checkouts with identical bodies: two sessions, two codes.
    let first = stack.checkout(a).await.json();
    let second = stack.checkout(a).await.json();
    let (session, code) = (
        text(&first, "checkoutSessionId"),
        text(&first, "activationCode"),
    );
    let (other_session, other_code) = (
        text(&second, "checkoutSessionId"),
        text(&second, "activationCode"),
    );
    assert_ne!(session, other_session);
    assert_ne!(code, other_code);
    assert_eq!(code.len(), 39, "{code}");
    stack.pay(&session).await;

    // Session id only, a wrong code, another session's code: 401 and nothing written.
    let wrong = "0000-0000-0000-0000-0000-0000-0000-0000";
    for query in [
        format!("&checkoutSessionId={session}"),
        format!("&checkoutSessionId={session}&activationCode={wrong}"),
        format!("&checkoutSessionId={session}&activationCode={other_code}"),
        format!("&checkoutSessionId={other_session}&activationCode={code}"),
    ] {
        let answer = activate(&http, a, &query).await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (401, "activation_code_invalid"),
            "{query}"
        );
        assert!(!String::from_utf8_lossy(&answer.body).contains(&code));
    }
    assert_eq!(stack.activations(), json!([]), "nothing was written");

    // The right code activates; it works like a licence key for further devices.
    let with_code = format!("&checkoutSessionId={session}&activationCode={code}");
    let token_a = active_token(&activate(&http, a, &with_code).await);
    let typed = code.to_lowercase().replace('-', "");
    let lowercase = format!("&checkoutSessionId={session}&activationCode={typed}");
    let first_b = active_token(&activate(&http, b, &lowercase).await);

    // A newer token of a seated device makes the older one useless online.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let token_b = active_token(&refresh(&http, b, &first_b).await);
    let stale = refresh(&http, b, &first_b).await;
    assert_eq!(
        (stale.status, stale.code().as_str()),
        (401, "token_superseded")
    );
    assert_eq!(portal(&http, &first_b).await.code(), "token_superseded");

    // A third device replaces the least recently checked one (a).
    let token_c = active_token(&activate(&http, c, &with_code).await);
    let rows = stack.activations();
    let replaced: Vec<&str> = rows
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| !r["replaced_at"].is_null())
        .filter_map(|r| r["device_id"].as_str())
        .collect();
    assert_eq!(replaced, vec![a], "{rows}");

    let answer = refresh(&http, a, &token_a).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["active"], false, "{body}");
    assert_eq!(body["reason"], "device_replaced");
    assert_eq!(body["deviceAccessToken"], Value::Null);
    assert_eq!(body["license"], Value::Null);
    let answer = portal(&http, &token_a).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (401, "device_replaced")
    );
    active_token(&refresh(&http, b, &token_b).await);
    active_token(&refresh(&http, c, &token_c).await);

    // The buying device already pays: checkout refuses before Stripe.
    let before = stack.stripe_requests().await;
    let answer = stack.checkout(a).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (409, "already_subscribed")
    );
    assert!(
        answer.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("portal"))
    );
    assert_eq!(stack.stripe_requests().await, before, "no stripe call");
}

/// Waits out the last seconds of a wall-clock minute: the local limiter's windows align to it.
async fn fresh_minute() {
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() % 60);
    if second > 45 {
        tokio::time::sleep(Duration::from_secs(61 - second)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn checkout_rate_limits_answer_429_before_stripe() {
    let limits = RateLimits {
        checkout_per_ip: 3,
        checkout_per_device: 2,
        ..RateLimits::GENEROUS
    };
    let stack = Stack::start(|o| o.with_rate_limits(limits)).await;
    fresh_minute().await;
    let before = stack.stripe_requests().await;
    for _ in 0..2 {
        assert_eq!(stack.checkout("act-limit-device-1").await.status, 200);
    }
    for (device, limit) in [
        ("act-limit-device-1", "device"),
        ("act-limit-device-2", "ip address"),
    ] {
        let answer = stack.checkout(device).await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (429, "rate_limited")
        );
        assert_eq!(answer.header("retry-after"), Some("60"));
        assert!(
            answer.json()["detail"]
                .as_str()
                .is_some_and(|d| d.contains(limit))
        );
    }
    assert_eq!(
        stack.stripe_requests().await,
        before + 2,
        "no stripe call when limited"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn portal_rate_limit_per_customer_answers_429_before_stripe() {
    let limits = RateLimits {
        portal_per_customer: 2,
        ..RateLimits::GENEROUS
    };
    let stack = Stack::start(|o| o.with_rate_limits(limits)).await;
    let http = stack.http();
    let device = "act-portal-limit-1";
    let checkout = stack.checkout(device).await.json();
    stack.pay(&text(&checkout, "checkoutSessionId")).await;
    let query = format!(
        "&checkoutSessionId={}&activationCode={}",
        text(&checkout, "checkoutSessionId"),
        text(&checkout, "activationCode")
    );
    let token = active_token(&activate(&http, device, &query).await);
    fresh_minute().await;
    // The public app token opens no portal and is not counted: both allowed sessions follow.
    for _ in 0..3 {
        let refused = portal(&http, LICENSE_API_TOKEN).await;
        assert_eq!(refused.status, 401, "{}", refused.json());
    }
    for _ in 0..2 {
        let answer = portal(&http, &token).await;
        assert_eq!(answer.status, 200, "{}", answer.json());
    }
    let before = stack.stripe_requests().await;
    let limited = portal(&http, &token).await;
    assert_eq!(
        (limited.status, limited.code().as_str()),
        (429, "rate_limited")
    );
    assert_eq!(limited.header("retry-after"), Some("60"));
    let detail = text(&limited.json(), "detail");
    assert!(
        detail.contains("portal") && detail.contains("customer"),
        "{detail}"
    );
    assert_eq!(
        stack.stripe_requests().await,
        before,
        "no stripe call when limited"
    );
    // The seat and token checks come first: a superseded token is refused as such, never
    // counted against (or told about) the customer's limit.
    let newer = active_token(&refresh(&http, device, &token).await);
    let stale = portal(&http, &token).await;
    assert_eq!(
        (stale.status, stale.code().as_str()),
        (401, "token_superseded")
    );
    assert_eq!(portal(&http, &newer).await.status, 429, "still limited");
}

#[tokio::test(flavor = "multi_thread")]
async fn published_fake_secrets_are_refused_outside_the_local_env() {
    let stack = Stack::start(|o| {
        o.with_var("NYRA_ENV", "production").with_secret(
            "NYRA_LICENSE_SIGNING_SECRET_PREVIOUS",
            "replace-with-old-secret-0123456789",
        )
    })
    .await;
    let http = stack.http();
    let health = http.get("/health", &[]).await;
    assert_eq!(health.status, 503);
    let body = health.json();
    let mut expected: Vec<&str> = secrets::local().iter().map(|(name, _)| *name).collect();
    expected.push("NYRA_LICENSE_SIGNING_SECRET_PREVIOUS");
    assert_eq!(body["insecureSecrets"], json!(expected), "{body}");
    let checkout = stack.checkout("act-fake-device-1").await;
    assert_eq!(
        (checkout.status, checkout.code().as_str()),
        (503, "config_insecure")
    );
    let status = activate(&http, "act-fake-device-1", "&checkoutSessionId=cs_test_x").await;
    assert_eq!(
        (status.status, status.code().as_str()),
        (503, "config_insecure")
    );
    for answer in [&health, &checkout, &status] {
        let text = String::from_utf8_lossy(&answer.body);
        for (_, value) in secrets::local() {
            assert!(!text.contains(value), "a secret value leaked: {text}");
        }
        assert!(!text.contains("replace-with-old-secret"), "{text}");
    }
    assert_eq!(stack.stripe_requests().await, 0);
}

#[test]
fn every_local_secret_is_a_published_fake() {
    for (name, value) in secrets::local() {
        assert!(nyra_domain::config::is_published_fake(value), "{name}");
    }
}
