//! `nyra-ops snapshot`: the Cloud Billing page, its JSON twin, and the page rendered in headless Chromium.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{TempRepo, complete_config, real_root, with_checkout};

/// The section headings, in page order.
const HEADINGS: [&str; 10] = [
    "Billing Worker Config Sync",
    "Checkout Switch",
    "Routes",
    "Secrets",
    "No-Go Rules",
    "Live Blockers",
    "Deployment Manifest",
    "Wrangler Config",
    "D1 Migration",
    "Rehearsal",
];

/// The Waiting line of a fresh clone for the D1 database id.
const D1_WAITING: &str =
    "Create the billing D1 database and enter billingCloud.d1DatabaseId in the dashboard.";

/// Where Debian installs Chromium.
const CHROMIUM: &str = "/usr/bin/chromium";

/// How long one Chromium run may take before it is killed.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

impl TempRepo {
    /// Runs `snapshot --json` with extra args and parses the model.
    fn snapshot_json(&self, extra: &[&str]) -> Value {
        let mut args = vec!["snapshot", "--json"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        serde_json::from_str(&out.stdout).expect("snapshot --json prints JSON")
    }

    /// Runs `snapshot` with extra args and returns the page.
    fn snapshot_html(&self, extra: &[&str]) -> String {
        let mut args = vec!["snapshot"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stdout
                .starts_with("wrote target/cloud-billing/snapshot.html\n"),
            "{}",
            out.stdout
        );
        self.read("target/cloud-billing/snapshot.html")
    }
}

/// The route of an operationId in the model.
fn route<'a>(model: &'a Value, operation_id: &str) -> &'a Value {
    model["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .find(|r| r["operationId"] == operation_id)
        .unwrap_or_else(|| panic!("no route {operation_id}"))
}

/// The model with file texts and route readiness (which changes as issues land) replaced.
fn redacted(mut model: Value) -> Value {
    model["manifest"]["file"]["text"] = json!("[deploy/manifest.json]");
    model["wrangler"]["production"]["text"] = json!("[env.production]");
    for file in model["migrations"].as_array_mut().expect("migrations") {
        file["text"] = json!("[sql]");
    }
    for route in model["routes"].as_array_mut().expect("routes") {
        let route = route.as_object_mut().expect("route object");
        route.insert("ready".into(), json!("[ready]"));
        route.remove("reason");
    }
    model
}

#[test]
fn snapshot_json_twin_of_a_fresh_clone() {
    let repo = TempRepo::new();
    let model = repo.snapshot_json(&[]);
    assert_eq!(
        model["liveBlockers"]["deployability"]["status"],
        "NO_GO_LIVE_MONEY"
    );
    assert_eq!(model["configSync"]["waiting"][0]["message"], D1_WAITING);
    assert_eq!(model["configSync"]["dryRun"], true);
    insta::assert_json_snapshot!("snapshot_fresh_clone_json", redacted(model));
}

#[test]
fn snapshot_routes_show_their_true_status() {
    let repo = TempRepo::new();
    let spec = repo.read("openapi.yaml").replacen(
        "paths:\n",
        "paths:\n  /api/billing/refund:\n    post:\n      operationId: createRefund\n      responses:\n        '200':\n          description: ok\n",
        1,
    );
    repo.write("openapi.yaml", &spec);
    let model = repo.snapshot_json(&[]);
    let refund = route(&model, "createRefund");
    assert_eq!(refund["ready"], false);
    assert!(
        refund["reason"]
            .as_str()
            .expect("reason")
            .starts_with("not served by the Worker")
    );
    for id in ["health", "createCheckout"] {
        assert_eq!(route(&model, id)["ready"], true, "{id}");
    }
    for asset in ["openapiJson", "openapiYaml", "docs"] {
        assert_eq!(route(&model, asset)["served"], "static-asset");
        assert_eq!(route(&model, asset)["ready"], true);
    }
}

#[test]
fn snapshot_lists_all_five_worker_routes_ready() {
    let repo = TempRepo::new();
    let model = repo.snapshot_json(&[]);
    let worker: Vec<&Value> = model["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .filter(|r| r["served"] == "worker")
        .collect();
    assert_eq!(worker.len(), 5, "{worker:?}");
    for r in worker {
        assert_eq!(r["ready"], true, "{r}");
    }
}

#[test]
fn snapshot_shows_the_checkout_switch_and_every_no_go_condition_with_its_source() {
    let repo = TempRepo::new();
    let model = repo.snapshot_json(&[]);
    assert_eq!(model["checkout"]["production"], "disabled");
    assert_eq!(model["checkout"]["gate"]["allowed"], "disabled");
    assert_eq!(
        model["checkout"]["source"],
        "wrangler.jsonc env.production.vars.BILLING_CHECKOUT"
    );
    let rules = model["noGoRules"].as_array().expect("rules");
    assert_eq!(rules.len(), 4);
    assert!(
        rules
            .iter()
            .all(|r| r["source"].as_str().is_some_and(|s| !s.is_empty()))
    );
    let conditions = model["liveBlockers"]["blockers"]
        .as_array()
        .expect("blockers");
    assert_eq!(conditions.len(), nyra_ops::preflight::BLOCKERS.len());
    for c in conditions {
        assert!(!c["sources"].as_array().expect("sources").is_empty(), "{c}");
    }
    let edited = repo.read("wrangler.jsonc").replacen(
        "\"BILLING_CHECKOUT\": \"disabled\"",
        "\"BILLING_CHECKOUT\": \"live\"",
        1,
    );
    repo.write("wrangler.jsonc", &edited);
    let html = repo.snapshot_html(&[]);
    for text in [
        "beyond the gate",
        "Hosted AI cap",
        "billingCloud.hostedAiCapSet",
        "Signed/store-trusted release path",
        "No-Go rule 1",
        "Do not expose checkout publicly",
    ] {
        assert!(html.contains(text), "page lacks {text}");
    }
}

#[test]
fn snapshot_never_writes_wrangler_jsonc() {
    let repo = TempRepo::new();
    let before = repo.read("wrangler.jsonc");
    let dashboard = repo.dashboard(&complete_config());
    let model = repo.snapshot_json(&["--dashboard", &dashboard]);
    assert_eq!(repo.read("wrangler.jsonc"), before);
    let applied = model["configSync"]["applied"].to_string();
    assert!(
        applied.contains("would set env.production.d1_databases[DB].database_id"),
        "{applied}"
    );
    assert!(
        !model["configSync"]["waiting"]
            .to_string()
            .contains(D1_WAITING)
    );
}

#[test]
fn snapshot_html_loads_no_external_resource() {
    let repo = TempRepo::new();
    let html = repo.snapshot_html(&[]);
    for banned in [
        "src=", "<link", "url(", "@import", "<script", "<iframe", "<object",
    ] {
        assert!(
            !html.to_lowercase().contains(banned),
            "page contains {banned}"
        );
    }
    for (i, _) in html.match_indices("href=\"") {
        assert!(html[i + 6..].starts_with('#'), "non-anchor link at {i}");
    }
    assert_eq!(html.matches("<h1").count(), 1);
    assert_eq!(html.matches("<h2").count(), HEADINGS.len());
    assert!(
        html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
    assert!(html.contains("<th scope=\"col\">") && html.contains("<th scope=\"row\">"));
    assert!(html.contains("@media print"));
    assert!(html.contains("<mark class=\"placeholder\""));
}

/// A one-shot HTTP server answering `GET /health` with `body`; returns its base URL.
fn health_server(status: u16, body: Value) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut line = String::new();
        reader.read_line(&mut line).expect("request line");
        assert!(line.starts_with("GET /health "), "{line}");
        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {}
        let body = body.to_string();
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    base
}

#[test]
fn snapshot_rehearsal_reads_health_of_the_base_url() {
    let repo = TempRepo::new();
    let base = health_server(
        503,
        json!({
            "ok": false, "service": "nyra-billing-api", "stripeApiVersion": "2026-02-25.clover",
            "stripeMode": "test", "missingSecrets": ["STRIPE_WEBHOOK_SECRET"], "missingVars": [],
            "d1": { "ok": true, "missingTables": [] }, "unexpected": "dropped"
        }),
    );
    let model = repo.snapshot_json(&["--base", &base]);
    let rehearsal = &model["rehearsal"];
    assert_eq!(rehearsal["httpStatus"], 503);
    assert_eq!(rehearsal["health"]["stripeMode"], "test");
    assert!(rehearsal["health"].get("unexpected").is_none());
    let secrets = model["secrets"].as_array().expect("secrets");
    assert_eq!(secrets.len(), nyra_domain::config::REQUIRED_SECRETS.len());
    for s in secrets {
        assert_eq!(s["store"], "Secret store");
        let expected = if s["name"] == "STRIPE_WEBHOOK_SECRET" {
            "unset"
        } else {
            "set"
        };
        assert_eq!(s["state"], expected, "{s}");
    }
}

#[test]
fn snapshot_without_a_reachable_worker_says_unknown() {
    let repo = TempRepo::new();
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    let model = repo.snapshot_json(&["--base", &closed]);
    assert!(
        model["rehearsal"]["error"]
            .as_str()
            .expect("error")
            .starts_with("not reachable")
    );
    assert!(
        model["secrets"]
            .as_array()
            .expect("secrets")
            .iter()
            .all(|s| s["state"] == "unknown")
    );
    let plain = repo.snapshot_json(&[]);
    assert!(plain.get("rehearsal").is_none());
    let bad = repo.run(&["snapshot", "--base", "ftp://example.com"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("--base must be an http:// or https:// url"),
        "{}",
        bad.stderr
    );
}

// ---------------------------------------------------------------- headless Chromium

/// One Chromium install at a time.
static CHROMIUM_LOCK: Mutex<()> = Mutex::new(());

/// Chromium, installed with apt-get when missing and running as root; fails the test otherwise.
fn chromium() -> PathBuf {
    let _guard = CHROMIUM_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let path = PathBuf::from(CHROMIUM);
    if path.exists() {
        return path;
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .ok();
    let root = uid.as_deref() == Some("0");
    assert!(
        root && Path::new("/usr/bin/apt-get").exists(),
        "the browser test needs {CHROMIUM}; install it with `sudo apt-get install -y chromium` (the test installs it itself only when run as root with apt-get)"
    );
    for args in [
        &["update"][..],
        &["install", "-y", "--no-install-recommends", "chromium"][..],
    ] {
        eprintln!(
            "browser test: running apt-get {} (Chromium is missing)",
            args.join(" ")
        );
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .expect("apt-get runs");
        assert!(
            status.success(),
            "apt-get {} failed ({status}); the browser test cannot run without {CHROMIUM}",
            args.join(" ")
        );
    }
    assert!(
        path.exists(),
        "apt-get installed chromium but {CHROMIUM} is missing"
    );
    eprintln!("browser test: chromium installed");
    path
}

/// Runs headless Chromium with extra args on a page, killed after [`CHROMIUM_TIMEOUT`]; returns stdout.
fn headless(page: &Path, extra: &[String]) -> String {
    let profile = tempdir("chromium-profile");
    let out_path = profile.with_extension("stdout");
    let err_path = profile.with_extension("stderr");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {CHROMIUM_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    assert!(status.success(), "chromium failed ({status}): {stderr}");
    stdout
}

/// A fresh, empty temp directory.
fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "nyra-ops-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The text content of the rendered DOM, tags stripped, whitespace collapsed.
fn visible_text(dom: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in dom.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn snapshot_renders_in_headless_chromium() {
    let repo = TempRepo::new();
    repo.snapshot_html(&[]);
    let page = repo.path("target/cloud-billing/snapshot.html");
    let dom = headless(&page, &["--dump-dom".to_string()]);
    for heading in HEADINGS {
        assert!(
            dom.contains(&format!(">{heading}</h2>")),
            "no h2 {heading} in the rendered DOM"
        );
    }
    assert!(
        dom.contains("NO_GO_LIVE_MONEY"),
        "no NO_GO_LIVE_MONEY banner"
    );
    assert!(dom.contains("class=\"banner status no-go\""));
    let text = visible_text(&dom);
    assert!(
        text.contains(&format!("Production billing D1 database_id: {D1_WAITING}")),
        "{text}"
    );

    let shot = real_root().join("target/cloud-billing/snapshot.png");
    std::fs::create_dir_all(shot.parent().expect("parent")).expect("mkdir target/cloud-billing");
    let _ = std::fs::remove_file(&shot);
    headless(
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400".to_string(),
        ],
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 50_000, "screenshot is only {} bytes", png.len());
    eprintln!("browser test: screenshot at {}", shot.display());

    let dashboard = repo.dashboard(&with_checkout(complete_config(), "disabled"));
    repo.snapshot_html(&["--dashboard", &dashboard]);
    let complete = visible_text(&headless(&page, &["--dump-dom".to_string()]));
    assert!(
        !complete.contains(D1_WAITING),
        "the D1 Waiting line is still shown: {complete}"
    );
    assert!(complete.contains("No billing config values are waiting."));
    assert!(complete.contains("NO_GO_LIVE_MONEY"));
}
