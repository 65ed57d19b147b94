//! `cargo xtask demo`: walks the paid journey against a running `cargo xtask dev` stack, step by step.
//!
//! checkout → pay in the emulator → webhooks received → first activation → refresh → offline
//! license check → portal → renewal payment failed (licensed only for the paid period plus
//! grace, `paymentIssue`) → renewal paid late (the full new period) → cancel at period end →
//! emulator time travel past the grace boundary → license inactive. Any answer that disagrees
//! ends the demo with an error.

use crate::run::{Result, root};
use nyra_domain::license::{Keys, LicenseError, TOKEN_HARD_CAP_SECONDS, verify_license};
use nyra_domain::time::{iso, parse_iso};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

const WORKER: &str = "http://127.0.0.1:8787";
const EMULATOR: &str = "http://127.0.0.1:12111";

/// Runs the demo; needs `cargo xtask dev` running in another terminal.
pub fn run() -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(walk())
}

/// The demo's HTTP client and the fake secrets of `.dev.vars`.
struct Demo {
    http: reqwest::Client,
    app_token: String,
    keys: Keys,
    device: String,
}

async fn walk() -> Result<()> {
    let demo = Demo::new()?;
    say(1, "health", &demo.health().await?);
    let (session, url, code) = demo.checkout().await?;
    say(
        2,
        "checkout",
        &format!("{session}\n      activation code {code} (shown once)\n      open {url}"),
    );
    let pay = demo
        .control(&format!("/_emulator/checkout/sessions/{session}/pay"))
        .await?;
    say(
        3,
        "paid in the emulator; webhooks received",
        &delivered(&pay)?,
    );
    let first = demo.activate(&session, &code).await?;
    say(4, "first activation", &describe(&first));
    let refreshed = demo.refresh(&token(&first)?).await?;
    expect(
        refreshed["active"] == true,
        "refresh: the device is not active",
    )?;
    say(5, "refresh", &describe(&refreshed));
    say(6, "offline license check", &demo.offline(&refreshed)?);
    say(7, "portal", &demo.portal(&token(&refreshed)?).await?);
    let subscription = text(&pay, "subscription")?;
    let refreshed = demo.failed_renewal(&subscription, &refreshed).await?;
    let latest = demo.cancel_at_period_end(&subscription, &refreshed).await?;
    demo.time_travel(&latest).await?;
    println!("\ndemo: every step agreed");
    Ok(())
}

impl Demo {
    fn new() -> Result<Demo> {
        let vars = std::fs::read_to_string(root().join(".dev.vars"))
            .map_err(|e| format!(".dev.vars: {e}; run `cargo xtask dev` first"))?;
        let signing = dev_var(&vars, "NYRA_LICENSE_SIGNING_SECRET")?;
        let keys = Keys::from_secret(&signing).map_err(|e| format!("signing secret: {e}"))?;
        Ok(Demo {
            http: reqwest::Client::new(),
            app_token: dev_var(&vars, "NYRA_LICENSE_API_TOKEN")?,
            keys,
            device: format!("demo-{}", now()),
        })
    }

    async fn health(&self) -> Result<String> {
        let body = self.worker_get("/health", None).await?;
        expect(
            body["ok"] == true,
            &format!("the Worker is not healthy: {body}"),
        )?;
        Ok(format!("ok, stripe mode {}", body["stripeMode"]))
    }

    async fn checkout(&self) -> Result<(String, String, String)> {
        let body = json!({"deviceId": self.device, "email": "demo@example.com"});
        let response = self
            .http
            .post(format!("{WORKER}/api/billing/checkout"))
            .json(&body)
            .send()
            .await;
        let answer = decode(response, 200).await?;
        Ok((
            text(&answer, "checkoutSessionId")?,
            text(&answer, "checkoutUrl")?,
            text(&answer, "activationCode")?,
        ))
    }

    async fn activate(&self, session: &str, code: &str) -> Result<Value> {
        let query = format!(
            "deviceId={}&checkoutSessionId={session}&activationCode={code}",
            self.device
        );
        let answer = self.license(&query, &self.app_token).await?;
        expect(answer["active"] == true, "first activation: not active")?;
        Ok(answer)
    }

    async fn refresh(&self, device_token: &str) -> Result<Value> {
        self.license(&format!("deviceId={}", self.device), device_token)
            .await
    }

    async fn license(&self, query: &str, bearer: &str) -> Result<Value> {
        self.worker_get(&format!("/api/license/status?{query}"), Some(bearer))
            .await
    }

    fn offline(&self, status: &Value) -> Result<String> {
        let licence = text(status, "license")?;
        let public_key = self.keys.public_key_b64();
        let claims = verify_license(&licence, &public_key, &self.device, now())
            .map_err(|e| format!("the license does not verify offline: {e}"))?;
        let foreign = verify_license(&licence, &public_key, "another-device", now());
        expect(
            foreign == Err(LicenseError::DeviceMismatch),
            "a license for another device was accepted",
        )?;
        Ok(format!(
            "valid for {} until {} (public key {public_key})",
            claims.device_id,
            nyra_domain::time::iso(claims.expires_at)
        ))
    }

    async fn portal(&self, device_token: &str) -> Result<String> {
        let response = self
            .http
            .post(format!("{WORKER}/api/billing/portal"))
            .bearer_auth(device_token)
            .send()
            .await;
        let answer = decode(response, 200).await?;
        Ok(format!("open {}", text(&answer, "portalUrl")?))
    }

    /// Steps 8 and 9: the renewal payment fails, so the licence ends at the PAID period's end
    /// plus grace (not the new period's) with `paymentIssue`; then it is paid late and the full
    /// new period is back. Returns the status after the late payment.
    async fn failed_renewal(&self, subscription: &str, status: &Value) -> Result<Value> {
        let paid_end = instant(status, "currentPeriodEndIso")?;
        let grace = instant(status, "offlineGraceEndsAtIso")? - paid_end;
        let path = |action: &str| format!("/_emulator/subscriptions/{subscription}/{action}");
        let failed = self.control(&path("fail_payment")).await?;
        say(8, "renewal payment failed", &delivered(&failed)?);
        let past_due = self.refresh(&token(status)?).await?;
        let new_end = instant(&past_due, "currentPeriodEndIso")?;
        expect(
            past_due["active"] == true && past_due["paymentIssue"] == true && new_end > paid_end,
            &format!(
                "after the failed renewal: expected active with a payment issue, got {past_due}"
            ),
        )?;
        let until = licensed_until(&past_due, paid_end + grace)?;
        println!("      paymentIssue=true, period now ends {}", iso(new_end));
        println!("      licensed only until the paid period end + grace: {until}");
        let late = self.control(&path("renew")).await?;
        say(9, "renewal paid late", &delivered(&late)?);
        let back = self.refresh(&token(&past_due)?).await?;
        expect(
            back["active"] == true
                && back["paymentIssue"] == false
                && instant(&back, "currentPeriodEndIso")? == new_end,
            &format!(
                "after paying late: expected the new period without a payment issue, got {back}"
            ),
        )?;
        let until = licensed_until(&back, new_end + grace)?;
        println!("      the full new period is back: {until}");
        Ok(back)
    }

    /// Cancels at the period end; returns the refresh answer (its token is now the newest).
    async fn cancel_at_period_end(&self, subscription: &str, status: &Value) -> Result<Value> {
        let path = format!("/_emulator/subscriptions/{subscription}/cancel_at_period_end");
        let answer = self.control(&path).await?;
        say(10, "cancel at period end", &delivered(&answer)?);
        let after = self.refresh(&token(status)?).await?;
        expect(
            after["active"] == true && after["cancelAtPeriodEnd"] == true,
            &format!("after cancel: expected active until the period end, got {after}"),
        )?;
        println!("      still active until {}", after["currentPeriodEndIso"]);
        Ok(after)
    }

    async fn time_travel(&self, status: &Value) -> Result<()> {
        let boundary = text(status, "offlineGraceEndsAtIso")?;
        let boundary =
            nyra_domain::time::parse_iso(&boundary).ok_or("bad offlineGraceEndsAtIso")?;
        let clock = self.emulator_get("/_emulator/clock").await?;
        let emulator_now = clock["now"].as_i64().ok_or("the emulator has no clock")?;
        let seconds = (boundary - emulator_now).max(0) + 3600;
        let answer = self
            .control_with("/_emulator/clock/advance", json!({"seconds": seconds}))
            .await?;
        let days = seconds / 86_400;
        say(
            11,
            &format!("emulator clock +{days} days"),
            &delivered(&answer)?,
        );
        let after = self.refresh(&token(status)?).await?;
        expect(
            after["active"] == false && after["deviceAccessToken"].is_null(),
            &format!("after the boundary: expected inactive, got {after}"),
        )?;
        say(12, "license after the boundary", &describe(&after));
        Ok(())
    }

    async fn worker_get(&self, path: &str, bearer: Option<&str>) -> Result<Value> {
        let mut request = self.http.get(format!("{WORKER}{path}"));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        decode(request.send().await, 200).await
    }

    async fn emulator_get(&self, path: &str) -> Result<Value> {
        decode(self.http.get(format!("{EMULATOR}{path}")).send().await, 200).await
    }

    async fn control(&self, path: &str) -> Result<Value> {
        self.control_with(path, json!({})).await
    }

    async fn control_with(&self, path: &str, body: Value) -> Result<Value> {
        let url = format!("{EMULATOR}{path}");
        decode(self.http.post(url).json(&body).send().await, 200).await
    }
}

/// The JSON of an answer with the expected status, or an error naming what came back.
async fn decode(
    response: std::result::Result<reqwest::Response, reqwest::Error>,
    status: u16,
) -> Result<Value> {
    let response =
        response.map_err(|e| format!("{e}; is `cargo xtask dev` running in another terminal?"))?;
    let url = response.url().path().to_owned();
    let got = response.status().as_u16();
    let body = response.text().await.map_err(|e| e.to_string())?;
    if got != status {
        return Err(format!("{url}: expected {status}, got {got}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("{url}: not json ({e}): {body}"))
}

/// The emitted events and their delivery status; every one must have reached the Worker.
fn delivered(answer: &Value) -> Result<String> {
    let events = answer["events"]
        .as_array()
        .ok_or("no events in the answer")?;
    let mut lines = Vec::new();
    for event in events {
        let status = event["deliveries"]
            .as_array()
            .and_then(|d| d.last())
            .map(|d| d["status"].clone())
            .unwrap_or(Value::Null);
        expect(
            status == json!(200),
            &format!(
                "event {} was not accepted by the Worker: {event}",
                event["type"]
            ),
        )?;
        lines.push(format!(
            "      {} -> {status}",
            event["type"].as_str().unwrap_or("?")
        ));
    }
    Ok(format!("{} events\n{}", events.len(), lines.join("\n")))
}

/// Checks the licence's grace boundary is `boundary` and its token expires there (or at the
/// 45-day cap from issue, when that comes first); describes both.
fn licensed_until(status: &Value, boundary: i64) -> Result<String> {
    let grace_end = instant(status, "offlineGraceEndsAtIso")?;
    let expires = instant(status, "deviceAccessTokenExpiresAtIso")?;
    let cap = now() + TOKEN_HARD_CAP_SECONDS;
    let capped = boundary > cap - 120 && (expires - cap).abs() <= 120;
    expect(
        grace_end == boundary && (expires == boundary || capped),
        &format!(
            "expected the licence to end at {}, got {status}",
            iso(boundary)
        ),
    )?;
    let note = if expires == boundary {
        ""
    } else {
        " (45-day cap)"
    };
    Ok(format!(
        "grace ends {}, token until {}{note}",
        iso(grace_end),
        iso(expires)
    ))
}

/// An ISO instant field of a status, in unix seconds.
fn instant(status: &Value, field: &str) -> Result<i64> {
    parse_iso(&text(status, field)?).ok_or_else(|| format!("{field} is not an instant: {status}"))
}

fn describe(status: &Value) -> String {
    format!(
        "active={} status={} period ends {} token until {}",
        status["active"],
        status["status"],
        status["currentPeriodEndIso"],
        status["deviceAccessTokenExpiresAtIso"],
    )
}

fn token(status: &Value) -> Result<String> {
    text(status, "deviceAccessToken")
}

fn text(value: &Value, field: &str) -> Result<String> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("the answer has no {field}: {value}"))
}

fn expect(condition: bool, message: &str) -> Result<()> {
    if condition {
        Ok(())
    } else {
        Err(message.to_owned())
    }
}

fn say(step: u32, title: &str, detail: &str) {
    println!("[{step:>2}] {title}: {detail}");
}

fn dev_var(vars: &str, name: &str) -> Result<String> {
    vars.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}=")))
        .map(|value| value.trim().trim_matches('"').to_owned())
        .ok_or_else(|| format!(".dev.vars has no {name}"))
}

fn now() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(seconds).unwrap_or(i64::MAX)
}
