//! The benchmark's stack: our Worker and the Stripe emulator, with paid, activated devices.
//!
//! Every active refresh rotates the device's token generation (an older token is refused
//! online), so refresh cannot be replayed by autocannon: [`Stack::refresh_load`] runs one
//! closed loop per connection, each on its own paid device, each request sending the token the
//! previous answer carried; [`closed_loop`] measures the JS baseline with the same client.

use crate::run::{Result, root};
use nyra_e2e::secrets;
use nyra_e2e::{Worker, WorkerOptions};
use nyra_emulator::Emulator;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

/// Paid devices: the first for the first-activation load (each activation moves its token
/// generation), then one per refresh connection; each its own customer, so seats never collide.
pub const DEVICES: usize = 17;

/// A paid device: its id, checkout, activation code and newest token.
struct Device {
    id: String,
    session: String,
    code: String,
    token: String,
}

/// Our Worker with paid, activated devices.
pub struct Stack {
    /// Our Worker.
    pub worker: Worker,
    _emulator: Emulator,
    devices: Vec<Device>,
}

/// Requests per second and latency percentiles of a closed-loop run.
pub struct LoopFigure {
    /// Successful answers per second.
    pub rps: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
}

/// A route to load: name, path and query, headers.
pub type Route = (&'static str, String, Vec<(String, String)>);

impl Stack {
    /// Starts the emulator and the Worker, then pays and activates [`DEVICES`] devices.
    pub async fn start() -> Result<Stack> {
        Stack::start_with(|o| o).await
    }

    /// [`Stack::start`] with the Worker's options changed by `configure` (the timing build).
    pub async fn start_with(configure: fn(WorkerOptions) -> WorkerOptions) -> Result<Stack> {
        let (worker, emulator) = nyra_e2e::stack::start(configure).await?;
        let mut devices = Vec::new();
        for n in 0..DEVICES {
            let id = format!("bench-device-{n:04}");
            devices.push(activate(&worker.base_url, &emulator.base_url(), id).await?);
        }
        Ok(Stack {
            worker,
            _emulator: emulator,
            devices,
        })
    }

    /// License refresh under load: one closed loop per device, each request carrying the
    /// token the previous answer issued; the devices keep their newest tokens for the next run.
    pub async fn refresh_load(&mut self, seconds: u32) -> Result<LoopFigure> {
        let base = self.worker.base_url.clone();
        let chains: Vec<(String, String)> = self.devices[1..]
            .iter()
            .map(|d| (d.id.clone(), d.token.clone()))
            .collect();
        let (figure, chains) = closed_loop(chains, seconds, move |client, (device, token)| {
            let next = refresh(client, &base, &device, &token);
            async move { Ok((device, next.await?)) }
        })
        .await?;
        for (device, (_, token)) in self.devices[1..].iter_mut().zip(chains) {
            device.token = token;
        }
        Ok(figure)
    }

    /// `count` refreshes of one device, one at a time, each sending the token the previous
    /// answer carried.
    pub async fn refresh_one_at_a_time(&self, count: usize) -> Result<()> {
        let client = reqwest::Client::new();
        let device = &self.devices[1];
        let mut token = device.token.clone();
        for _ in 0..count {
            token = refresh(&client, &self.worker.base_url, &device.id, &token).await?;
        }
        Ok(())
    }

    /// The GET routes to load, each one line.
    pub fn routes(&self) -> Vec<Route> {
        let bearer = |token: &str| vec![("Authorization".to_owned(), format!("Bearer {token}"))];
        vec![
            ("health", "/health".to_owned(), vec![]),
            (
                "first_activation",
                format!(
                    "/api/license/status?deviceId={}&checkoutSessionId={}&activationCode={}",
                    self.devices[0].id, self.devices[0].session, self.devices[0].code
                ),
                bearer(secrets::LICENSE_API_TOKEN),
            ),
        ]
    }

    /// Delivers `count` unique signed events, then 30% of them again, 16 at a time.
    pub async fn ingest(&self, count: usize) -> Result<DirectIngest> {
        let bodies = event_bodies(count)?;
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
        Ok(DirectIngest {
            unique_per_s,
            duplicate_per_s,
            sent: count,
            recorded,
        })
    }
}

/// One license refresh of `device` with `token`: the token the answer carries.
fn refresh(
    client: &reqwest::Client,
    base: &str,
    device: &str,
    token: &str,
) -> impl std::future::Future<Output = Result<String>> + Send + use<> {
    let url = format!("{base}/api/license/status?deviceId={device}");
    let request = client.get(url).bearer_auth(token);
    async move {
        let answer: Value = json_of(request.send().await).await?;
        let next = answer["deviceAccessToken"]
            .as_str()
            .ok_or("refresh answered without a token")?;
        Ok(next.to_owned())
    }
}

/// The JS baseline Worker taking the same `count` signed webhook bodies from the same client as
/// [`Stack::ingest`] (it reads each body, then does one INSERT): requests per second.
pub async fn js_ingest(base: &str, count: usize) -> Result<f64> {
    let bodies = event_bodies(count)?;
    let started = Instant::now();
    deliver(base, bodies).await?;
    Ok(count as f64 / elapsed(started))
}

/// Events per second a JS Worker commits our webhook's own D1 plan for the bench's events (one
/// batch each, no signature check), under the same client: the floor of recording them our way.
pub async fn js_our_batch(base: &str, count: usize) -> Result<f64> {
    let bodies = planned_bodies(count)?;
    let started = Instant::now();
    deliver(&format!("{base}/our-batch"), bodies).await?;
    Ok(count as f64 / elapsed(started))
}

/// Each bench event's plan (`nyra_domain::webhook::batch::delivery`, the Worker's own planner,
/// with the local price and test mode) as `{statements: [{sql, params}]}`.
fn planned_bodies(count: usize) -> Result<Vec<Vec<u8>>> {
    let price = secrets::local()
        .into_iter()
        .find_map(|(name, value)| (name == "NYRA_STRIPE_PRICE_PRO_MONTHLY").then_some(value))
        .ok_or("no local price")?;
    let expect = nyra_domain::webhook::state::Expect {
        price_id: price,
        previous_prices: &[],
        livemode: false,
    };
    let now = nyra_domain::time::iso(1_764_300_000);
    event_bodies(count)?
        .iter()
        .map(|body| {
            let delivery = nyra_domain::webhook::batch::delivery(body, &expect, &now);
            if let Some(reason) = delivery.plan.ignored {
                return Err(format!("bench event {} not usable: {reason}", delivery.event_id));
            }
            let statements: Vec<Value> = delivery
                .plan
                .statements
                .iter()
                .map(|s| json!({"sql": s.sql, "params": s.params.iter().map(param).collect::<Vec<_>>()}))
                .collect();
            Ok(json!({ "statements": statements }).to_string().into_bytes())
        })
        .collect()
}

fn param(value: &nyra_domain::webhook::state::SqlValue) -> Value {
    use nyra_domain::webhook::state::SqlValue;
    match value {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(n) => json!(n),
        SqlValue::Text(s) => json!(s),
    }
}

/// Direct-mode webhook ingest figures.
pub struct DirectIngest {
    /// Unique events accepted per second.
    pub unique_per_s: f64,
    /// Duplicate deliveries answered per second.
    pub duplicate_per_s: f64,
    /// Unique events sent.
    pub sent: usize,
    /// processed_events rows afterwards.
    pub recorded: usize,
}

/// Seconds since `start`, never zero.
pub fn elapsed(start: Instant) -> f64 {
    start.elapsed().as_secs_f64().max(1e-6)
}

/// Checkout, payment in the emulator and first activation of one device.
async fn activate(worker: &str, emulator: &str, id: String) -> Result<Device> {
    let http = reqwest::Client::new();
    let checkout: Value = json_of(
        http.post(format!("{worker}/api/billing/checkout"))
            .json(&json!({"deviceId": id}))
            .send()
            .await,
    )
    .await?;
    let text = |name: &str| checkout[name].as_str().unwrap_or_default().to_owned();
    let (session, code) = (text("checkoutSessionId"), text("activationCode"));
    let pay = format!("{emulator}/_emulator/checkout/sessions/{session}/pay");
    json_of(http.post(pay).send().await).await?;
    let status: Value = json_of(
        http.get(format!(
            "{worker}/api/license/status?deviceId={id}&checkoutSessionId={session}&activationCode={code}"
        ))
        .bearer_auth(secrets::LICENSE_API_TOKEN)
        .send()
        .await,
    )
    .await?;
    let token = status["deviceAccessToken"]
        .as_str()
        .ok_or("activation gave no device token")?
        .to_owned();
    Ok(Device {
        id,
        session,
        code,
        token,
    })
}

/// Runs one closed loop per state for `seconds`: each step sends a request built from the
/// state and turns its answer into the next state. Every answer must succeed.
pub async fn closed_loop<S, F, Fut>(
    states: Vec<S>,
    seconds: u32,
    step: F,
) -> Result<(LoopFigure, Vec<S>)>
where
    S: Send + 'static,
    F: Fn(&reqwest::Client, S) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<S>> + Send,
{
    let client = reqwest::Client::new();
    let deadline = Instant::now() + std::time::Duration::from_secs(u64::from(seconds));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for state in states {
        let (client, step) = (client.clone(), step.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut state = state;
            while Instant::now() < deadline {
                let sent = Instant::now();
                state = step(&client, state).await?;
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, String>((latencies, state))
        }));
    }
    let mut all = Vec::new();
    let mut states = Vec::new();
    for task in tasks {
        let (latencies, state) = task.await.map_err(|e| e.to_string())??;
        all.extend(latencies);
        states.push(state);
    }
    all.sort_by(f64::total_cmp);
    let at = |q: f64| {
        all.get(((all.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let figure = LoopFigure {
        rps: all.len() as f64 / elapsed(started),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
    };
    Ok((figure, states))
}

/// The JS baseline Worker's `path` (`/` hello-world, `/d1-write` one INSERT) under the same
/// closed-loop client, `connections` loops.
pub async fn js_load(
    base: &str,
    path: &str,
    connections: usize,
    seconds: u32,
) -> Result<LoopFigure> {
    let url = format!("{base}{path}");
    closed_loop(vec![(); connections], seconds, move |client, ()| {
        let request = client.get(url.clone());
        async move {
            let answer = request.send().await.map_err(|e| e.to_string())?;
            if answer.status().is_success() {
                Ok(())
            } else {
                Err(format!("{} answered {}", answer.url(), answer.status()))
            }
        }
    })
    .await
    .map(|(figure, _)| figure)
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

/// The first `count` bench event bodies (unsigned; [`deliver`] signs each as it sends it).
pub(crate) fn event_bodies(count: usize) -> Result<Vec<Vec<u8>>> {
    let template = event_template()?;
    Ok((0..count).map(|i| event_body(&template, i)).collect())
}

/// The `customer.subscription.updated` fixture every bench event is made from.
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
        let (queue, client, base) = (queue.clone(), client.clone(), base.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                // Pop in its own statement: the guard must not live across the send.
                let next = queue.lock().await.pop();
                let Some(body) = next else {
                    return Ok::<_, String>(());
                };
                send_signed(&client, &base, body).await?;
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// Sends one signed body; the answer must be 200.
pub(crate) async fn deliver_one(base: &str, body: Vec<u8>) -> Result<()> {
    send_signed(&reqwest::Client::new(), base, body).await
}

/// POSTs a body to the webhook, signed now with the local secret, as Stripe would.
async fn send_signed(client: &reqwest::Client, base: &str, body: Vec<u8>) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let header =
        nyra_domain::webhook::verify::signature_header(secrets::STRIPE_WEBHOOK_SECRET, now, &body);
    let answer = client
        .post(format!("{base}/api/billing/webhook"))
        .header("content-type", "application/json")
        .header("stripe-signature", header)
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("webhook answered {}", answer.status()))
    }
}
