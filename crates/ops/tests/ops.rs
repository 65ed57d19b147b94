//! The ops tool end to end: the `nyra-ops` binary run against temp copies of the repo.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use nyra_ops::check;
use nyra_ops::dashboard;
use nyra_ops::manifest;
use nyra_ops::repo::Repo;
use serde_json::{Value, json};

/// The real repo (read only: every test that writes works on a [`TempRepo`]).
fn real_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A throw-away copy of the files the ops tool reads; removed on drop.
struct TempRepo {
    root: PathBuf,
}

impl TempRepo {
    /// Copies wrangler.jsonc, openapi.yaml, migrations/ and the generated deploy/ files.
    fn new() -> TempRepo {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let root = std::env::temp_dir().join(format!("nyra-ops-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let real = real_root();
        for file in [
            "wrangler.jsonc",
            "openapi.yaml",
            "deploy/manifest.json",
            "deploy/dashboard.schema.json",
            "package.json",
        ] {
            copy(&real.join(file), &root.join(file));
        }
        for entry in std::fs::read_dir(real.join("migrations")).expect("migrations dir") {
            let entry = entry.expect("dir entry");
            copy(
                &entry.path(),
                &root.join("migrations").join(entry.file_name()),
            );
        }
        TempRepo { root }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).expect("readable")
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(path, text).expect("writable");
    }

    /// Writes a dashboard file and returns its path.
    fn dashboard(&self, value: &Value) -> String {
        self.write("dashboard.json", &value.to_string());
        self.path("dashboard.json").display().to_string()
    }

    /// Runs `nyra-ops --root <temp> args...`.
    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["--root", self.root.to_str().expect("utf-8 temp path")];
        all.extend_from_slice(args);
        run(&all)
    }

    /// config-sync with a dashboard value against the temp wrangler.jsonc.
    fn sync(&self, value: &Value, extra: &[&str]) -> Output {
        let dashboard = self.dashboard(value);
        let mut args = vec!["config-sync", "--dashboard", dashboard.as_str()];
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

impl Drop for TempRepo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().expect("has parent")).expect("mkdir");
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
}

/// What a run printed and returned.
struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_nyra-ops"))
        .args(args)
        .env_remove("NYRA_LICENSE_SIGNING_SECRET")
        .output()
        .expect("nyra-ops runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A real-looking live key, assembled at run time so no source file holds one.
fn planted_stripe_key() -> String {
    let tail: String = ('a'..='z').chain('0'..='9').collect();
    format!("{}{}{tail}", "sk_", "live_")
}

const D1_ID: &str = "0b3c2f4e-8a1d-4c6e-9f2a-5d7e8b9c0a1f";

fn complete_config() -> Value {
    json!({
        "billingCloud": {
            "d1DatabaseId": D1_ID,
            "allowedOrigin": "https://app.porterlabz.com",
            "stripeApiVersion": "2026-02-25.clover",
            "workerUrl": "https://nyra-billing-api.porterlabz.workers.dev"
        }
    })
}

/// Every answer a test-mode deployment needs.
fn answered_test_mode() -> Value {
    let mut value = complete_config();
    let answers = value["billingCloud"].as_object_mut().expect("object");
    answers.insert(
        "secretsSet".into(),
        json!(nyra_domain::config::REQUIRED_SECRETS),
    );
    answers.insert("stripeSecretsMode".into(), json!("test"));
    let done = json!({
        "productAndPriceCreated": true,
        "customerPortalConfigured": true,
        "webhookEndpointConfigured": true
    });
    answers.insert("stripe".into(), json!({ "test": done }));
    value
}

/// Every answer live money needs.
fn answered_live_mode() -> Value {
    let mut value = answered_test_mode();
    let answers = value["billingCloud"].as_object_mut().expect("object");
    let done = answers["stripe"]["test"].clone();
    answers.insert("stripe".into(), json!({ "live": done }));
    answers.insert("stripeSecretsMode".into(), json!("live"));
    for answer in [
        "supportInboxTested",
        "legalReviewApproved",
        "monthlyPriceFinal",
        "hostedAiCapSet",
        "signedReleasePathReady",
    ] {
        answers.insert(answer.into(), json!(true));
    }
    value
}

/// The same answers asking for a checkout switch.
fn with_checkout(mut value: Value, state: &str) -> Value {
    value["billingCloud"]["checkout"] = json!(state);
    value
}

/// The production BILLING_CHECKOUT of a wrangler.jsonc text.
fn production_checkout(text: &str) -> String {
    let config = nyra_ops::wrangler::parse_value(text, "wrangler.jsonc").expect("parses");
    config["env"]["production"]["vars"]["BILLING_CHECKOUT"]
        .as_str()
        .unwrap_or("unset")
        .to_string()
}

// ---------------------------------------------------------------- config-sync

#[test]
fn config_sync_empty_dashboard_is_all_waiting() {
    let repo = TempRepo::new();
    let before = repo.read("wrangler.jsonc");
    let out = repo.sync(&json!({}), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("config_sync_empty_dashboard", out.stdout);
    assert_eq!(repo.read("wrangler.jsonc"), before);
}

#[test]
fn config_sync_missing_default_dashboard_is_all_waiting() {
    let repo = TempRepo::new();
    let out = repo.run(&["config-sync"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.matches("\n- ").count(), 7, "{}", out.stdout);
    assert!(out.stdout.contains("Waiting\n- Production billing D1 database_id: Create the billing D1 database and enter billingCloud.d1DatabaseId in the dashboard.\n"));
}

#[test]
fn config_sync_complete_dashboard_applies_then_is_idempotent() {
    let repo = TempRepo::new();
    let first = repo.sync(&complete_config(), &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    insta::assert_snapshot!("config_sync_complete_first_run", first.stdout);
    let written = repo.read("wrangler.jsonc");
    let second = repo.sync(&complete_config(), &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    insta::assert_snapshot!("config_sync_complete_second_run", second.stdout);
    assert!(
        second
            .stdout
            .starts_with("Applied\n- No config values changed on the last sync.\n")
    );
    assert_eq!(repo.read("wrangler.jsonc"), written);
}

#[test]
fn config_sync_writes_only_the_three_production_values() {
    let repo = TempRepo::new();
    let before = repo.read("wrangler.jsonc");
    repo.sync(&complete_config(), &[]);
    let after = repo.read("wrangler.jsonc");
    let production = before.find("\"production\"").expect("has production");
    let (head, tail) = before.split_at(production);
    let expected = format!(
        "{head}{}",
        tail.replacen("https://porterlabz.com", "https://app.porterlabz.com", 1)
            .replacen("replace-with-cloudflare-d1-database-id", D1_ID, 1)
    );
    assert_eq!(after, expected);
}

#[test]
fn config_sync_json_report() {
    let repo = TempRepo::new();
    let out = repo.sync(&complete_config(), &["--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).expect("json");
    insta::assert_json_snapshot!("config_sync_json_report", report);
}

#[test]
fn config_sync_dry_run_writes_nothing() {
    let repo = TempRepo::new();
    let before = repo.read("wrangler.jsonc");
    let out = repo.sync(&complete_config(), &["--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("config_sync_dry_run", out.stdout);
    assert_eq!(repo.read("wrangler.jsonc"), before);
}

#[test]
fn config_sync_invalid_values_need_fix() {
    let repo = TempRepo::new();
    let before = repo.read("wrangler.jsonc");
    let invalid = json!({
        "billingCloud": {
            "d1DatabaseId": "replace-with-cloudflare-d1-database-id",
            "allowedOrigin": "https://porterlabz.com/",
            "stripeApiVersion": "latest",
            "workerUrl": "http://nyra-billing-api.porterlabz.workers.dev",
            "secretsSet": ["STRIPE_SECRET_KEY", "NOT_A_WORKER_SECRET"]
        }
    });
    let out = repo.sync(&invalid, &[]);
    assert_eq!(out.code, 1);
    insta::assert_snapshot!("config_sync_invalid_values", out.stdout);
    assert_eq!(repo.read("wrangler.jsonc"), before);
}

#[test]
fn config_sync_each_invalid_value_alone_needs_fix() {
    let cases = [
        ("d1DatabaseId", "0b3c2f4e-8a1d-4c6e-9f2a"),
        ("allowedOrigin", "http://porterlabz.com"),
        ("allowedOrigin", "https://porterlabz.com/app"),
        ("stripeApiVersion", "2026-02-25"),
        ("stripeApiVersion", "2025-01-27.acacia"),
        ("workerUrl", "https://billing.porterlabz.com/api"),
    ];
    let repo = TempRepo::new();
    for (key, bad) in cases {
        let mut value = complete_config();
        value["billingCloud"][key] = json!(bad);
        let out = repo.sync(&value, &["--dry-run"]);
        assert_eq!(out.code, 1, "{key}={bad}");
        let needs_fix = out.stdout.split("Needs Fix\n").nth(1).expect("section");
        assert!(
            needs_fix.contains(&format!("billingCloud.{key} ")),
            "{key}={bad}: {}",
            out.stdout
        );
    }
}

#[test]
fn config_sync_refuses_a_pasted_secret() {
    let repo = TempRepo::new();
    let before = repo.read("wrangler.jsonc");
    let key = planted_stripe_key();
    let webhook = format!("{}{}", "whsec_", "local_not_real");
    let value = json!({
        "billingCloud": {
            "allowedOrigin": key,
            "d1DatabaseId": D1_ID,
            "secretsSet": ["STRIPE_SECRET_KEY", webhook],
            "stripe": { "test": { "customerPortalConfigured": true } }
        }
    });
    let out = repo.sync(&value, &["--dry-run"]);
    assert!(!out.stdout.contains(&key) && !out.stdout.contains("not_real"));
    let mut only_secret = value.clone();
    only_secret["billingCloud"]
        .as_object_mut()
        .expect("object")
        .remove("d1DatabaseId");
    let out = repo.sync(&only_secret, &[]);
    assert_eq!(out.code, 1);
    insta::assert_snapshot!("config_sync_pasted_secret", out.stdout);
    for text in [&out.stdout, &out.stderr, &repo.read("wrangler.jsonc")] {
        assert!(!text.contains(&key), "secret echoed or written");
    }
    assert_eq!(repo.read("wrangler.jsonc"), before);
}

#[test]
fn config_sync_refuses_customer_emails_and_tokens_anywhere() {
    let repo = TempRepo::new();
    let token: String = "Ab1".repeat(14);
    let value = json!({ "billingCloud": { "supportInboxTested": true }, "note": "buyer@example.com", "token": token });
    let out = repo.sync(&value, &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("- note: looks like an email address"));
    assert!(
        out.stdout
            .contains("- token: looks like a long random token")
    );
    assert!(!out.stdout.contains("buyer@") && !out.stdout.contains(&token));
}

/// A wrangler.jsonc with comments, trailing commas and odd spacing everywhere.
const COMMENTED_WRANGLER: &str = r#"// top comment
{
  "name": "nyra-billing-api", // trailing comment
  /* block
     comment */
  "vars": { "ALLOWED_ORIGIN": "https://top-level.example.com" },
  "env": {
    "local": {
      "vars": {"ALLOWED_ORIGIN":"http://localhost:5173","STRIPE_API_VERSION":"2026-02-25.clover"},
      "d1_databases": [{ "binding": "DB", "database_id": "local-id" }],
    },
    "production": {
      // the site that opens checkout
      "vars": {
        "ALLOWED_ORIGIN":   "https://old.example.com" , // keep this comment
        /* pinned */ "STRIPE_API_VERSION": "2026-02-25.clover",
        "BILLING_CHECKOUT": "disabled", // the switch
      },
      "d1_databases": [
        { "binding": "OTHER", "database_id": "other-id" },
        {
          "binding": "DB",
          "database_name": "nyra_billing",
          "database_id": "replace-me", // from wrangler d1 create
          "migrations_dir": "migrations",
        },
      ],
    },
  },
}
"#;

#[test]
fn config_sync_keeps_comments_and_layout_byte_identical() {
    let repo = TempRepo::new();
    repo.write("wrangler.jsonc", COMMENTED_WRANGLER);
    let out = repo.sync(&complete_config(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("config_sync_commented_wrangler", out.stdout);
    let expected = COMMENTED_WRANGLER
        .replace(
            "\"https://old.example.com\"",
            "\"https://app.porterlabz.com\"",
        )
        .replace("\"replace-me\"", &format!("\"{D1_ID}\""));
    assert_eq!(repo.read("wrangler.jsonc"), expected);
}

#[test]
fn config_sync_broken_files_are_errors_and_change_nothing() {
    let repo = TempRepo::new();
    let before = repo.read("wrangler.jsonc");
    repo.write("dashboard.json", "{ \"billingCloud\": { \"d1DatabaseId\": ");
    let dashboard = repo.path("dashboard.json").display().to_string();
    let broken_dashboard = repo.run(&["config-sync", "--dashboard", &dashboard]);
    let wrong_type = repo.sync(&json!({ "billingCloud": { "workerUrl": 5 } }), &[]);
    let unknown_key = repo.sync(
        &json!({ "billingCloud": { "workerURL": "https://a.example.com" } }),
        &[],
    );
    assert_eq!(repo.read("wrangler.jsonc"), before);
    repo.write("wrangler.jsonc", "{ \"env\": { \"production\": ");
    let broken_wrangler = repo.sync(&complete_config(), &[]);
    assert_eq!(repo.read("wrangler.jsonc"), "{ \"env\": { \"production\": ");
    let missing = repo.run(&["config-sync", "--dashboard", "does-not-exist.json"]);
    let errors: Vec<String> = [
        broken_dashboard,
        wrong_type,
        unknown_key,
        broken_wrangler,
        missing,
    ]
    .iter()
    .map(|out| {
        assert_eq!(out.code, 2, "{}", out.stdout);
        assert!(out.stdout.is_empty());
        out.stderr.trim().to_string()
    })
    .collect();
    insta::assert_snapshot!("config_sync_broken_files", errors.join("\n"));
}

// ---------------------------------------------------------------- live-preflight

#[test]
fn preflight_fresh_repo_is_no_go_with_all_ten_conditions() {
    let repo = TempRepo::new();
    for mode in ["test", "live"] {
        let out = repo.run(&["live-preflight", "--mode", mode, "--json"]);
        assert_eq!(out.code, 1, "blocked exits non-zero");
        let report: Value = serde_json::from_str(&out.stdout).expect("json");
        assert_eq!(report["deployability"]["status"], "NO_GO_LIVE_MONEY");
        let blockers = report["blockers"].as_array().expect("blockers");
        assert_eq!(blockers.len(), 10);
        assert!(
            blockers
                .iter()
                .all(|b| b["cleared"] == false && b["howToClear"].is_string())
        );
        let allowed = repo.run(&["live-preflight", "--mode", mode, "--allow-blocked"]);
        assert_eq!(allowed.code, 0);
    }
    let text = repo.run(&["live-preflight", "--mode", "test", "--allow-blocked"]);
    insta::assert_snapshot!("preflight_fresh_repo", text.stdout);
}

#[test]
fn preflight_answered_test_mode_is_go_test_mode() {
    let repo = TempRepo::new();
    let answers = answered_test_mode();
    assert_eq!(repo.sync(&answers, &[]).code, 0);
    let dashboard = repo.path("dashboard.json").display().to_string();
    let out = repo.run(&[
        "live-preflight",
        "--mode",
        "test",
        "--dashboard",
        &dashboard,
        "--json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let report: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(report["deployability"]["status"], "GO_TEST_MODE");
    let open: Vec<&str> = report["blockers"]
        .as_array()
        .expect("blockers")
        .iter()
        .filter(|b| b["cleared"] == false)
        .filter_map(|b| b["id"].as_str())
        .collect();
    assert_eq!(
        open,
        [
            "support-inbox",
            "legal-review",
            "hosted-ai-cap",
            "signed-release"
        ]
    );
    let live = repo.run(&[
        "live-preflight",
        "--mode",
        "live",
        "--dashboard",
        &dashboard,
    ]);
    assert_eq!(live.code, 1);
    assert!(
        live.stdout
            .contains("deployability.status: NO_GO_LIVE_MONEY")
    );
}

#[test]
fn preflight_needs_config_sync_before_d1_clears() {
    let repo = TempRepo::new();
    let dashboard = repo.dashboard(&answered_test_mode());
    let out = repo.run(&[
        "live-preflight",
        "--mode",
        "test",
        "--dashboard",
        &dashboard,
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("does not use billingCloud.d1DatabaseId yet; run config-sync")
    );
}

#[test]
fn preflight_everything_cleared_is_go_live() {
    let repo = TempRepo::new();
    assert_eq!(repo.sync(&answered_live_mode(), &[]).code, 0);
    let dashboard = repo.path("dashboard.json").display().to_string();
    let out = repo.run(&[
        "live-preflight",
        "--mode",
        "live",
        "--dashboard",
        &dashboard,
    ]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("deployability.status: GO_LIVE\n"));
    let test = repo.run(&[
        "live-preflight",
        "--mode",
        "test",
        "--dashboard",
        &dashboard,
    ]);
    assert_eq!(test.code, 1, "live keys are not test-mode readiness");
}

#[test]
fn preflight_ignores_and_never_echoes_a_pasted_secret() {
    let repo = TempRepo::new();
    let key = planted_stripe_key();
    let dashboard = repo.dashboard(&json!({ "billingCloud": { "workerUrl": key } }));
    let out = repo.run(&[
        "live-preflight",
        "--mode",
        "test",
        "--dashboard",
        &dashboard,
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("warning - billingCloud.workerUrl looks like a Stripe secret")
    );
    assert!(!out.stdout.contains(&key));
}

// ---------------------------------------------------------------- check

#[test]
fn check_passes_on_a_copy_of_the_repo() {
    let repo = TempRepo::new();
    let out = repo.run(&["check"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.stdout.lines().count(), 10);
    assert!(out.stdout.lines().all(|l| l.starts_with("ok - ")));
}

#[test]
fn check_allows_obviously_fake_local_values() {
    let repo = TempRepo::new();
    let fake = format!(
        "{}{}\n{}{}\n",
        "STRIPE_SECRET_KEY=sk_test_",
        "local_0123456789abcdefghijklmnop",
        "STRIPE_WEBHOOK_SECRET=whsec_",
        "local_0123456789abcdefghijklmnop"
    );
    repo.write("fixtures/dev.vars.example", &fake);
    let out = repo.run(&["check"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn check_fails_on_a_planted_secret() {
    let repo = TempRepo::new();
    let key = planted_stripe_key();
    repo.write("src/config.txt", &format!("first line\nkey = \"{key}\"\n"));
    let out = repo.run(&["check"]);
    assert_eq!(out.code, 1);
    let fail = failing_lines(&out.stdout);
    assert_eq!(
        fail,
        [
            "fail - no secret-looking string in git-tracked files: src/config.txt:2 (a Stripe secret or restricted key)"
        ]
    );
    assert!(!out.stdout.contains(&key));
}

#[test]
fn check_fails_on_a_route_added_to_the_spec_but_not_served() {
    let repo = TempRepo::new();
    let spec = repo.read("openapi.yaml").replacen(
        "paths:\n",
        "paths:\n  /api/billing/refund:\n    post:\n      operationId: createRefund\n      responses:\n        '200':\n          description: ok\n",
        1,
    );
    repo.write("openapi.yaml", &spec);
    let out = repo.run(&["check"]);
    assert_eq!(out.code, 1);
    let fail = failing_lines(&out.stdout);
    assert!(fail[0].starts_with("fail - routes agree"), "{fail:?}");
    assert!(fail[0].contains(
        "POST /api/billing/refund (createRefund) is in openapi.yaml but not in the Worker"
    ));
}

#[test]
fn check_fails_on_a_hand_edited_manifest() {
    let repo = TempRepo::new();
    let edited = repo
        .read("deploy/manifest.json")
        .replace("\"Cloudflare D1\"", "\"Cloudflare D1 (edited)\"");
    repo.write("deploy/manifest.json", &edited);
    let out = repo.run(&["check"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        failing_lines(&out.stdout),
        [
            "fail - deploy/manifest.json is exactly what `nyra-ops manifest` generates: deploy/manifest.json differs (edited by hand or stale); run `cargo run -p nyra-ops -- manifest`"
        ]
    );
    assert_eq!(repo.run(&["manifest", "--check"]).code, 1);
    assert_eq!(repo.run(&["manifest"]).code, 0);
    assert_eq!(repo.run(&["manifest", "--check"]).code, 0);
    assert_eq!(repo.run(&["check"]).code, 0);
}

#[test]
fn check_fails_on_a_manifest_route_that_is_not_in_the_spec() {
    let repo = TempRepo::new();
    let mut manifest: Value =
        serde_json::from_str(&repo.read("deploy/manifest.json")).expect("json");
    manifest["routes"]
        .as_array_mut()
        .expect("routes")
        .push(json!("GET /admin"));
    repo.write(
        "deploy/manifest.json",
        &serde_json::to_string_pretty(&manifest).expect("json"),
    );
    let out = repo.run(&["check"]);
    let fail = failing_lines(&out.stdout);
    assert!(
        fail[0].contains("GET /admin is in deploy/manifest.json but not in openapi.yaml"),
        "{fail:?}"
    );
}

#[test]
fn check_fails_on_a_broken_migration_and_wrangler_env() {
    let repo = TempRepo::new();
    repo.write(
        "migrations/0003_broken.sql",
        "ALTER TABLE no_such_table ADD COLUMN x TEXT;\n",
    );
    let wrangler = repo
        .read("wrangler.jsonc")
        .replacen("\"local\": {", "\"staging\": {", 1);
    repo.write("wrangler.jsonc", &wrangler);
    let out = repo.run(&["check"]);
    assert_eq!(out.code, 1);
    let fail = failing_lines(&out.stdout);
    assert!(
        fail.iter().any(|l| l.contains("env.local is missing")),
        "{fail:?}"
    );
    assert!(
        fail.iter()
            .any(|l| l.contains("migration 0003_broken.sql fails")),
        "{fail:?}"
    );
}

#[test]
fn check_fails_on_an_env_without_a_rate_limiter() {
    let repo = TempRepo::new();
    let wrangler = repo.read("wrangler.jsonc");
    let portal = ",\n        { \"name\": \"PORTAL_CUSTOMER_LIMITER\", \"namespace_id\": \"1003\", \"simple\": { \"limit\": 10, \"period\": 60 } }";
    let last = wrangler
        .rfind(portal)
        .expect("production has the portal limiter");
    let mut without = wrangler.clone();
    without.replace_range(last..last + portal.len(), "");
    repo.write("wrangler.jsonc", &without);
    let out = repo.run(&["check"]);
    assert_eq!(out.code, 1);
    let fail = failing_lines(&out.stdout);
    assert_eq!(fail.len(), 1, "only the env check fails: {fail:?}");
    assert!(
        fail[0].contains("env.production.ratelimits lacks PORTAL_CUSTOMER_LIMITER"),
        "{fail:?}"
    );
}

fn failing_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("fail - "))
        .collect()
}

// ---------------------------------------------------------------- checkout gate

#[test]
fn config_sync_no_go_refuses_live_and_test_and_says_why() {
    let repo = TempRepo::new();
    let before = repo.read("wrangler.jsonc");
    for state in ["live", "test"] {
        let out = repo.sync(&with_checkout(complete_config(), state), &[]);
        assert_eq!(out.code, 1, "{}", out.stdout);
        let needs_fix = out.stdout.split("Needs Fix\n").nth(1).expect("section");
        let line = needs_fix
            .lines()
            .find(|l| l.starts_with("- Production BILLING_CHECKOUT: "))
            .unwrap_or_else(|| panic!("no refusal: {}", out.stdout));
        assert!(
            line.contains(&format!("refused to write BILLING_CHECKOUT={state}"))
                && line.contains("NO_GO_LIVE_MONEY")
                && line.contains("Stripe test/live secrets in Wrangler secret store"),
            "{line}"
        );
        assert_eq!(line.contains("Hosted AI cap"), state == "live", "{line}");
        assert_eq!(
            production_checkout(&repo.read("wrangler.jsonc")),
            "disabled"
        );
    }
    let flagged = repo.sync(&complete_config(), &["--checkout", "live", "--dry-run"]);
    assert_eq!(flagged.code, 1);
    assert!(
        flagged
            .stdout
            .contains("refused to write BILLING_CHECKOUT=live")
    );
    insta::assert_snapshot!(
        "config_sync_refuses_live_checkout",
        repo.sync(&with_checkout(complete_config(), "live"), &["--dry-run"])
            .stdout
    );
    assert_ne!(
        repo.read("wrangler.jsonc"),
        before,
        "the config values were applied"
    );
}

#[test]
fn config_sync_go_live_writes_live_and_go_test_writes_test() {
    let repo = TempRepo::new();
    let out = repo.sync(&with_checkout(answered_live_mode(), "live"), &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "- Production BILLING_CHECKOUT: set env.production.vars.BILLING_CHECKOUT to live."
        ),
        "{}",
        out.stdout
    );
    assert_eq!(production_checkout(&repo.read("wrangler.jsonc")), "live");
    assert_eq!(
        repo.run(&[
            "check",
            "--dashboard",
            &repo.path("dashboard.json").display().to_string()
        ])
        .code,
        0
    );
    let test = TempRepo::new();
    let out = test.sync(&with_checkout(answered_test_mode(), "test"), &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(production_checkout(&test.read("wrangler.jsonc")), "test");
    let live = test.sync(&with_checkout(answered_test_mode(), "live"), &[]);
    assert_eq!(live.code, 1, "GO_TEST_MODE is not GO_LIVE");
    assert!(
        live.stdout.contains("Support inbox roundtrip"),
        "{}",
        live.stdout
    );
    assert_eq!(production_checkout(&test.read("wrangler.jsonc")), "test");
}

#[test]
fn config_sync_writes_the_switch_keeping_comments_and_layout() {
    let repo = TempRepo::new();
    repo.write("wrangler.jsonc", COMMENTED_WRANGLER);
    let out = repo.sync(&with_checkout(answered_live_mode(), "live"), &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let expected = COMMENTED_WRANGLER
        .replace(
            "\"https://old.example.com\"",
            "\"https://app.porterlabz.com\"",
        )
        .replace("\"replace-me\"", &format!("\"{D1_ID}\""))
        .replace(
            "\"BILLING_CHECKOUT\": \"disabled\"",
            "\"BILLING_CHECKOUT\": \"live\"",
        );
    assert_eq!(repo.read("wrangler.jsonc"), expected);
}

#[test]
fn check_fails_on_a_hand_edited_live_switch_while_no_go() {
    let repo = TempRepo::new();
    assert_eq!(repo.run(&["check"]).code, 0);
    for state in ["live", "test"] {
        let edited = repo.read("wrangler.jsonc").replacen(
            "\"BILLING_CHECKOUT\": \"disabled\"",
            &format!("\"BILLING_CHECKOUT\": \"{state}\""),
            1,
        );
        repo.write("wrangler.jsonc", &edited);
        let out = repo.run(&["check"]);
        assert_eq!(out.code, 1, "{}", out.stdout);
        let fail = failing_lines(&out.stdout);
        assert_eq!(fail.len(), 1, "{fail:?}");
        assert!(
            fail[0].contains(&format!(
                "env.production.vars.BILLING_CHECKOUT is {state} but"
            )) && fail[0].contains("NO_GO_LIVE_MONEY")
                && fail[0].contains("Cloudflare account and D1 database ID"),
            "{}",
            fail[0]
        );
        let disable = repo.run(&["checkout-disable"]);
        assert_eq!(disable.code, 0, "{}", disable.stderr);
        assert!(
            disable
                .stdout
                .contains("npx wrangler deploy --env production")
        );
        assert_eq!(repo.run(&["check"]).code, 0);
    }
}

#[test]
fn check_fails_on_the_retired_live_mode_var_and_unknown_values() {
    let repo = TempRepo::new();
    let text = repo.read("wrangler.jsonc");
    repo.write(
        "wrangler.jsonc",
        &text.replacen(
            "\"BILLING_CHECKOUT\": \"disabled\"",
            "\"BILLING_CHECKOUT\": \"on\"",
            1,
        ),
    );
    let fail = repo.run(&["check"]).stdout;
    assert!(
        fail.contains("BILLING_CHECKOUT is \"on\", not disabled, test or live"),
        "{fail}"
    );
    repo.write(
        "wrangler.jsonc",
        &text.replacen(
            "\"BILLING_CHECKOUT\": \"test\"",
            "\"BILLING_LIVE_MODE\": \"disabled\"",
            1,
        ),
    );
    let fail = repo.run(&["check"]).stdout;
    assert!(
        fail.contains("BILLING_LIVE_MODE is replaced by BILLING_CHECKOUT; remove env.local.vars.BILLING_LIVE_MODE"),
        "{fail}"
    );
}

#[test]
fn checkout_disable_changes_only_the_switch() {
    let repo = TempRepo::new();
    repo.write(
        "wrangler.jsonc",
        &COMMENTED_WRANGLER.replace(
            "\"BILLING_CHECKOUT\": \"disabled\"",
            "\"BILLING_CHECKOUT\": \"live\"",
        ),
    );
    let out = repo.run(&["checkout-disable"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(repo.read("wrangler.jsonc"), COMMENTED_WRANGLER);
    let again = repo.run(&["checkout-disable"]);
    assert!(
        again.stdout.contains("already disabled"),
        "{}",
        again.stdout
    );
}

// ---------------------------------------------------------------- seed formats

/// The seed's manifest as kept in the repo (a verbatim copy of ../shared/seed/deployment-manifest.json).
fn seed_manifest() -> Value {
    let text = std::fs::read_to_string(real_root().join("deploy/seed-deployment-manifest.json"))
        .expect("seed copy");
    serde_json::from_str(&text).expect("json")
}

/// Seed values this repo's layout (or its spec, the source of truth) makes wrong, documented in docs/ops.md.
const SEED_DIFFERENCES: [&str; 3] = ["/scope", "/storage/migrationsDir", "/storage/tables"];

/// The JSON type of a value.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every leaf pointer of a value.
fn leaves(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| leaves(v, &format!("{at}/{k}"), out)),
        _ => out.push(at.to_string()),
    }
}

#[test]
fn manifest_has_the_seed_shape_and_values() {
    let seed = seed_manifest();
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(real_root().join("deploy/manifest.json")).expect("manifest"),
    )
    .expect("json");
    let keys =
        |v: &Value| -> Vec<String> { v.as_object().expect("object").keys().cloned().collect() };
    let mut expected = keys(&seed);
    expected.push("details".into());
    let mut ours = keys(&manifest);
    ours.sort();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(ours, sorted, "the seed's keys, then details");
    let text = std::fs::read_to_string(real_root().join("deploy/manifest.json")).expect("manifest");
    let seed_text =
        std::fs::read_to_string(real_root().join("deploy/seed-deployment-manifest.json"))
            .expect("seed copy");
    let order = |text: &str| -> Vec<String> {
        let mut found: Vec<(usize, String)> = sorted
            .iter()
            .filter_map(|k| {
                text.find(&format!("\n  \"{k}\":"))
                    .map(|at| (at, k.clone()))
            })
            .collect();
        found.sort();
        found.into_iter().map(|(_, k)| k).collect()
    };
    let mut seed_order = order(&seed_text);
    seed_order.push("details".into());
    assert_eq!(
        order(&text),
        seed_order,
        "the seed's key order, then details"
    );
    assert_eq!(keys(&manifest["storage"]), keys(&seed["storage"]));
    let mut pointers = Vec::new();
    leaves(&seed, "", &mut pointers);
    for pointer in pointers {
        let ours = manifest.pointer(&pointer).expect("present");
        let seed_value = seed.pointer(&pointer).expect("seed value");
        assert_eq!(kind(ours), kind(seed_value), "{pointer}: value type");
        if let Value::Array(items) = ours {
            assert!(items.iter().all(Value::is_string), "{pointer}: strings");
        }
        if !SEED_DIFFERENCES.contains(&pointer.as_str()) {
            assert_eq!(ours, seed_value, "{pointer} differs from the seed");
        }
    }
    assert_eq!(manifest["storage"]["migrationsDir"], "migrations");
    let tables = manifest["storage"]["tables"].as_array().expect("tables");
    let seed_tables = seed["storage"]["tables"].as_array().expect("seed tables");
    assert!(
        tables.starts_with(seed_tables),
        "the seed's tables first, then this repo's"
    );
    let ops = std::fs::read_to_string(real_root().join("docs/ops.md")).expect("docs/ops.md");
    for pointer in SEED_DIFFERENCES {
        let key = pointer.rsplit('/').next().expect("key");
        assert!(
            ops.contains(&format!("`{key}`")),
            "docs/ops.md explains {key}"
        );
    }
}

#[test]
fn seed_copy_is_the_seed_verbatim_when_the_seed_is_present() {
    let shared = real_root().join("../shared/seed/deployment-manifest.json");
    if let Ok(text) = std::fs::read_to_string(shared) {
        let copy =
            std::fs::read_to_string(real_root().join("deploy/seed-deployment-manifest.json"))
                .expect("copy");
        assert_eq!(copy, text);
    }
}

#[test]
fn blocker_titles_are_the_seed_wording() {
    let seed = seed_manifest();
    let titles: Vec<&str> = seed["liveBlockers"]
        .as_array()
        .expect("liveBlockers")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(nyra_ops::preflight::seed_live_blockers(), titles);
    assert!(titles.contains(&"Stripe product/price after final monthly price"));
    let further: Vec<&str> = nyra_ops::preflight::BLOCKERS
        .iter()
        .filter(|b| !titles.contains(&b.title))
        .map(|b| b.title)
        .collect();
    assert_eq!(
        further,
        ["Hosted AI cap", "Signed/store-trusted release path"]
    );
    let rule = "Do not run live mode until the command center has a monthly price, hosted AI cap, confirmed support inbox, domain/backend URL, Customer Portal setup, attorney/accountant review, and signed/store-trusted release path.";
    for title in further {
        assert!(
            rule.to_lowercase().contains(&title.to_lowercase()),
            "{title}"
        );
        let def = nyra_ops::preflight::BLOCKERS
            .iter()
            .find(|b| b.title == title)
            .expect("def");
        assert!(def.live_only, "{title} blocks live money only");
    }
}

// ---------------------------------------------------------------- generated files

#[test]
fn committed_manifest_is_what_the_generator_produces() {
    let repo = Repo::at(real_root());
    let generated = manifest::generate(&repo, check::entries())
        .and_then(|m| manifest::render(&m))
        .expect("generates");
    let committed =
        std::fs::read_to_string(real_root().join("deploy/manifest.json")).expect("committed");
    assert_eq!(
        committed, generated,
        "run `cargo run -p nyra-ops -- manifest`"
    );
}

#[test]
fn committed_dashboard_schema_is_what_the_format_generates() {
    let committed = std::fs::read_to_string(real_root().join("deploy/dashboard.schema.json"))
        .expect("committed");
    assert_eq!(
        committed,
        dashboard::schema_json(),
        "run `cargo run -p nyra-ops -- dashboard-schema`"
    );
}

#[test]
fn dashboard_example_is_valid_and_ready_for_test_mode() {
    let example = real_root().join("deploy/dashboard.example.json");
    let text = std::fs::read_to_string(&example).expect("example");
    let loaded = dashboard::parse(&text, "deploy/dashboard.example.json").expect("parses");
    assert!(loaded.secrets.is_empty());
    let repo = TempRepo::new();
    let value: Value = serde_json::from_str(&text).expect("json");
    let out = repo.sync(&value, &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("Needs Fix\n- No invalid billing config values found.\n")
    );
    let dashboard = repo.path("dashboard.json").display().to_string();
    let preflight = repo.run(&[
        "live-preflight",
        "--mode",
        "test",
        "--dashboard",
        &dashboard,
    ]);
    assert!(
        preflight
            .stdout
            .contains("deployability.status: GO_TEST_MODE"),
        "{}",
        preflight.stdout
    );
}

// ---------------------------------------------------------------- license-public-key

#[test]
fn license_public_key_prints_the_key_never_the_secret() {
    let secret = "local-test-license-signing-secret-not-real-0001";
    let out = Command::new(env!("CARGO_BIN_EXE_nyra-ops"))
        .arg("license-public-key")
        .env("NYRA_LICENSE_SIGNING_SECRET", secret)
        .output()
        .expect("runs");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let keys = nyra_domain::license::Keys::from_secret(secret).expect("keys");
    assert_eq!(stdout.trim(), keys.public_key_b64());
    assert!(!stdout.contains(secret) && !String::from_utf8_lossy(&out.stderr).contains(secret));
    let missing = run(&["license-public-key"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("NYRA_LICENSE_SIGNING_SECRET is not set")
    );
}
#[path = "ops/runbook.rs"]
mod runbook;

// ---------------------------------------------------------------- snapshot

#[path = "ops/snapshot.rs"]
mod snapshot;
