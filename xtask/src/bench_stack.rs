//! The benchmark's stack: our Worker and the Stripe emulator, with one paid, activated device.

use crate::bench::{Ingest, elapsed};
use crate::run::{Result, root};
use nyra_e2e::Worker;
use nyra_e2e::secrets;
use nyra_emulator::Emulator;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

const DEVICE: &str = "bench-device-0001";

/// Our Worker with a paid, activated device.
pub struct Stack {
    /// Our Worker.
    pub worker: Worker,
    _emulator: Emulator,
    checkout_session_id: String,
    activation_code: String,
    device_token: String,
}

/// A route to load: name, path and query, headers.
pub type Route = (&'static str, String, Vec<(String, String)>);

impl Stack {
    /// Starts the emulator and the Worker, then pays and activates one device.
    pub async fn start() -> Result<Stack> {
        let (worker, emulator) = nyra_e2e::stack::start(|o| o).await?;
        let (checkout_session_id, activation_code, device_token) =
            activate(&worker.base_url, &emulator.base_url()).await?;
        Ok(Stack {
            worker,
            _emulator: emulator,
            checkout_session_id,
            activation_code,
            device_token,
        })
    }

    /// The GET routes to load, each one line.
    pub fn routes(&self) -> Vec<Route> {
        let bearer = |token: &str| vec![("Authorization".to_owned(), format!("Bearer {token}"))];
        vec![
            ("health", "/health".to_owned(), vec![]),
            (
                "license_refresh",
                format!("/api/license/status?deviceId={DEVICE}"),
                bearer(&self.device_token),
            ),
            (
                "first_activation",
                format!(
                    "/api/license/status?deviceId={DEVICE}&checkoutSessionId={}&activationCode={}",
                    self.checkout_session_id, self.activation_code
                ),
                bearer(secrets::LICENSE_API_TOKEN),
            ),
        ]
    }

    /// Delivers `count` unique signed events, then 30% of them again, 16 at a time.
    pub async fn ingest(&self, count: usize) -> Result<Ingest> {
        let template = event_template()?;
        let bodies: Vec<Vec<u8>> = (0..count).map(|i| event_body(&template, i)).collect();
        let started = Instant::now();
        deliver(&self.worker.base_url, bodies.clone()).await?;
        let unique_per_s = count as f64 / elapsed(started);
        let duplicates: Vec<Vec<u8>> = bodies.into_iter().take(count * 3 / 10).collect();
        let sent_duplicates = duplicates.len();
        let started = Instant::now();
        deliver(&self.worker.base_url, duplicates).await?;
        let duplicate_per_s = sent_duplicates as f64 / elapsed(started);
        let rows = self
            .worker
            .d1("SELECT COUNT(*) AS n FROM processed_events WHERE event_id LIKE 'evt_bench_%'")
            .map_err(|e| e.to_string())?;
        let recorded = rows[0]["n"].as_u64().unwrap_or(0) as usize;
        Ok(Ingest {
            unique_per_s,
            duplicate_per_s,
            sent: count,
            recorded,
            js_d1_writes_per_s: 0.0,
            queue: None,
        })
    }
}

/// Checkout, pay and first activation (with the checkout's activation code): the session id,
/// the activation code and the device token.
async fn activate(worker: &str, emulator: &str) -> Result<(String, String, String)> {
    let http = reqwest::Client::new();
    let checkout: Value = json_of(
        http.post(format!("{worker}/api/billing/checkout"))
            .json(&json!({"deviceId": DEVICE}))
            .send()
            .await,
    )
    .await?;
    let session = checkout["checkoutSessionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let code = checkout["activationCode"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    json_of(
        http.post(format!(
            "{emulator}/_emulator/checkout/sessions/{session}/pay"
        ))
        .send()
        .await,
    )
    .await?;
    let status: Value = json_of(
        http.get(format!(
            "{worker}/api/license/status?deviceId={DEVICE}&checkoutSessionId={session}&activationCode={code}"
        ))
        .bearer_auth(secrets::LICENSE_API_TOKEN)
        .send()
        .await,
    )
    .await?;
    let token = status["deviceAccessToken"]
        .as_str()
        .ok_or("activation gave no device token")?;
    Ok((session, code, token.to_owned()))
}

async fn json_of(response: reqwest::Result<reqwest::Response>) -> Result<Value> {
    let response = response.map_err(|e| e.to_string())?;
    let status = response.status();
    let value: Value = response.json().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(value)
    } else {
        Err(format!("bench setup got {status}: {value}"))
    }
}

pub(crate) fn event_template() -> Result<Value> {
    let path =
        root().join("crates/domain/fixtures/webhook/events/customer.subscription.updated.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

pub(crate) fn event_body(template: &Value, i: usize) -> Vec<u8> {
    let mut event = template.clone();
    event["id"] = json!(format!("evt_bench_{i:06}"));
    event["created"] = json!(1_764_300_000 + i as i64);
    event["data"]["object"]["customer"] = json!(format!("cus_bench_{:03}", i % 50));
    serde_json::to_vec(&event).unwrap_or_default()
}

/// Sends signed bodies with 16 workers; every answer must be 200.
pub(crate) async fn deliver(base: &str, bodies: Vec<Vec<u8>>) -> Result<()> {
    let queue = Arc::new(tokio::sync::Mutex::new(bodies));
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (queue, client, url) = (
            queue.clone(),
            client.clone(),
            format!("{base}/api/billing/webhook"),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(body) = queue.lock().await.pop() else {
                    return Ok(());
                };
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0);
                let header = nyra_domain::webhook::verify::signature_header(
                    secrets::STRIPE_WEBHOOK_SECRET,
                    now,
                    &body,
                );
                let answer = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("stripe-signature", header)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !answer.status().is_success() {
                    return Err(format!("webhook answered {}", answer.status()));
                }
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}
