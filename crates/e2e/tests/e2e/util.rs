//! Helpers the end-to-end test files share: routes, clock, keys, fixture events, seeded bytes, the Worker + emulator stack.

use nyra_domain::license::Keys;
use nyra_domain::webhook::verify::signature_header;
use nyra_e2e::http::{Answer, Http};
use nyra_e2e::secrets::{LICENSE_SIGNING_SECRET, STRIPE_WEBHOOK_SECRET};
use nyra_e2e::{Worker, WorkerOptions};
use nyra_emulator::Emulator;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

pub const CHECKOUT: &str = "/api/billing/checkout";
pub const PORTAL: &str = "/api/billing/portal";
pub const WEBHOOK: &str = "/api/billing/webhook";
/// A Stripe URL nothing listens on, for Workers that never call Stripe.
pub const UNUSED_STRIPE: &str = "http://127.0.0.1:9";

/// Unix seconds now.
pub fn now() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// The signing keys of the local secrets.
pub fn keys() -> Keys {
    Keys::from_secret(LICENSE_SIGNING_SECRET).expect("the local signing secret is usable")
}

/// `len` bytes from a seeded generator.
pub fn random_bytes(rng: &mut fastrand::Rng, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rng.fill(&mut bytes);
    bytes
}

fn fixture(kind: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../domain/fixtures/webhook/events")
        .join(format!("{kind}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The id `event_json` gives an event: `evt_{tag}_{kind}`.
pub fn event_id(kind: &str, tag: &str) -> String {
    format!("evt_{tag}_{}", kind.replace('.', "_"))
}

/// A fixture event whose Stripe ids carry `tag` (a fresh customer, subscription, ...) and whose
/// event id is `evt_{tag}_{kind}`.
pub fn event_json(kind: &str, tag: &str) -> Value {
    let mut value: Value = serde_json::from_str(&fixture(kind).replace("NyraLifecycle", tag))
        .expect("fixture is json");
    value["id"] = json!(event_id(kind, tag));
    value
}

/// Posts a body as Stripe would, with the given `Stripe-Signature` (if any).
pub async fn post_webhook(http: &Http, body: Vec<u8>, signature: Option<&str>) -> Answer {
    let mut headers = vec![("content-type", "application/json")];
    headers.extend(signature.map(|s| ("stripe-signature", s)));
    http.send("POST", WEBHOOK, &headers, body).await
}

/// Posts a body signed now with the Worker's secret.
pub async fn deliver(http: &Http, body: Vec<u8>) -> Answer {
    let signature = signature_header(STRIPE_WEBHOOK_SECRET, now(), &body);
    post_webhook(http, body, Some(&signature)).await
}

/// Every event of an emulator control answer reached the Worker and got 200.
fn assert_all_delivered(answer: &Value) {
    for event in answer["events"].as_array().expect("events") {
        let last = event["deliveries"].as_array().and_then(|d| d.last());
        assert_eq!(
            last.map(|d| d["status"].clone()),
            Some(json!(200)),
            "event {} was not accepted: {event}",
            event["type"]
        );
    }
}

/// A Worker wired to a Stripe emulator that delivers its events to that Worker.
pub struct Stack {
    pub worker: Worker,
    /// The emulator's base URL.
    pub emulator: String,
    /// Kept alive: dropping it shuts the emulator down.
    _emulator: Emulator,
}

impl Stack {
    /// Starts an emulator whose webhook URL is the Worker's, then the Worker on that port.
    async fn start(configure: fn(WorkerOptions) -> WorkerOptions) -> Result<Stack, String> {
        let (worker, emulator) = nyra_e2e::stack::start(configure).await?;
        Ok(Stack {
            worker,
            emulator: emulator.base_url(),
            _emulator: emulator,
        })
    }

    /// A stack for one test, living in the test's runtime.
    pub async fn own(configure: fn(WorkerOptions) -> WorkerOptions) -> Stack {
        Stack::start(configure)
            .await
            .unwrap_or_else(|e| panic!("stack starts: {e}"))
    }

    /// The default stack kept in `cell`, started once in a runtime of its own so it outlives
    /// each test's runtime.
    pub fn shared(cell: &'static OnceLock<Stack>) -> &'static Stack {
        nyra_e2e::stack::shared(cell, || Stack::start(|o| o))
    }

    pub fn http(&self) -> Http {
        Http::new(&self.worker.base_url)
    }

    /// POSTs JSON to an emulator control route and returns its JSON answer.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.emulator))
            .json(&body)
            .send()
            .await
            .expect("the emulator answers");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.expect("json")
    }

    /// `control`, then asserts every event the emulator delivered meanwhile got 200.
    pub async fn control_delivered(&self, path: &str, body: Value) -> Value {
        let answer = self.control(path, body).await;
        assert_all_delivered(&answer);
        answer
    }

    /// Checkout with `body`, then pay in the emulator (which delivers the events before it
    /// answers): the checkout session id, its activation code and the emulator's pay answer.
    pub async fn checkout_and_pay(&self, body: &Value) -> (String, String, Value) {
        let answer = self.http().post_json(CHECKOUT, &[], body).await;
        assert_eq!(answer.status, 200, "{}", answer.json());
        let text = |name: &str| {
            answer.json()[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name}"))
                .to_owned()
        };
        let (session, code) = (text("checkoutSessionId"), text("activationCode"));
        let pay = self
            .control_delivered(
                &format!("/_emulator/checkout/sessions/{session}/pay"),
                json!({}),
            )
            .await;
        (session, code, pay)
    }
}
