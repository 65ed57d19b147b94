//! The hosted verification (`nyra-ops verify-hosted`) against the local stack, the Stripe emulator paying.

use nyra_e2e::secrets::{self, LICENSE_API_TOKEN, LICENSE_SIGNING_SECRET};
use nyra_e2e::{Worker, WorkerOptions};
use nyra_emulator::Emulator;
use nyra_ops::verify::{self, ITEMS, Options, Outcome, Report, Secrets, Status};
use serde_json::Value;
use std::time::Duration;

/// The fake live key the refusal test starts the Worker with (obviously not a real key).
const LIVE_KEY: &str = "sk_live_local_fake";

/// A Worker whose Stripe is an emulator delivering its events back to that Worker.
struct Stack {
    worker: Worker,
    emulator: Emulator,
}

/// Test-mode checkout switched on, whatever the harness's default for `BILLING_CHECKOUT`.
fn test_checkout(options: WorkerOptions) -> WorkerOptions {
    options.with_var("BILLING_CHECKOUT", "test")
}

async fn start(configure: fn(WorkerOptions) -> WorkerOptions) -> Stack {
    let (worker, emulator) = nyra_e2e::stack::start(configure)
        .await
        .unwrap_or_else(|e| panic!("the stack starts: {e}"));
    Stack { worker, emulator }
}

/// What the CLI would read from the environment, passed explicitly.
fn all_secrets() -> Secrets {
    Secrets {
        license_api_token: LICENSE_API_TOKEN.to_owned(),
        license_signing_secret: Some(LICENSE_SIGNING_SECRET.to_owned()),
        webhook_secret: Some(secrets::STRIPE_WEBHOOK_SECRET.to_owned()),
    }
}

fn options(stack: &Stack, device: &str, secrets: Secrets) -> Options {
    let mut options = Options::new(&stack.worker.base_url, secrets);
    options.device_id = device.to_owned();
    options.wait = Duration::from_secs(60);
    options.pay_with_emulator = Some(stack.emulator.base_url());
    options
        .validate()
        .expect("the local URLs are valid options");
    options
}

/// Runs the checklist, checking the streamed items equal the report's.
async fn verify(options: &Options) -> Report {
    let mut streamed = Vec::new();
    let report = verify::run(options, &mut |item| streamed.push(item.clone())).await;
    assert_eq!(
        streamed, report.items,
        "each item is streamed once, in order"
    );
    let names: Vec<&str> = report.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ITEMS, "every item is reported, in order");
    report
}

fn item<'a>(report: &'a Report, name: &str) -> &'a verify::Item {
    report
        .items
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no item {name}"))
}

/// The JSON report is `{base, items: [{name, checklist, status, detail}], outcome}` and holds no secret value.
fn assert_json_report(report: &Report) {
    let json = serde_json::to_value(report).expect("the report serialises");
    let keys: Vec<&str> = json
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(keys, ["base", "items", "outcome"]);
    for item in json["items"].as_array().expect("items") {
        let mut keys: Vec<&str> = item
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(keys, ["checklist", "detail", "name", "status"]);
    }
    let text = json.to_string();
    for (name, value) in secrets::local() {
        if name != "NYRA_STRIPE_PRICE_PRO_MONTHLY" && !value.starts_with("http") {
            assert!(!text.contains(value), "the report leaked {name}: {text}");
        }
    }
}

/// The re-sent event was recorded, yet no field group of the customer's row names it: every
/// guard key still belongs to a real event, and the row is active with the real checkout.
fn assert_built_event_changed_nothing(stack: &Stack, device: &str) {
    let processed = stack
        .worker
        .d1("SELECT event_id FROM processed_events WHERE event_id LIKE 'evt_nyra_verify_%'")
        .expect("d1 query");
    assert_eq!(processed.as_array().map(Vec::len), Some(1), "{processed}");
    let rows = stack
        .worker
        .d1(&format!(
            "SELECT * FROM billing_customers WHERE device_id = '{device}'"
        ))
        .expect("d1 query");
    let row = &rows[0];
    assert_eq!(row["status"], "active", "{row}");
    assert!(row["subscription_id"].is_string(), "{row}");
    let text = row.to_string();
    assert!(
        !text.contains("evt_nyra_verify_"),
        "a guard names the built event: {text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_hosted_against_the_local_stack_passes_all_nine_only_with_every_secret() {
    let stack = start(test_checkout).await;
    let report = verify(&options(&stack, "e2e-hosted-0001", all_secrets())).await;
    eprint!("{}", report.render_text());
    assert_eq!(report.outcome, Outcome::Passed, "{}", report.render_text());
    assert_eq!(report.outcome.exit_code(), 0);
    assert_eq!(report.base, stack.worker.base_url);
    assert!(!report.interrupted);
    for item in &report.items {
        assert_eq!(item.status, Status::Passed, "{}", item.line());
    }
    let numbered: Vec<u8> = report.items.iter().filter_map(|i| i.checklist).collect();
    let mut sorted = numbered.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (1..=9).collect::<Vec<u8>>(),
        "all nine checklist items ran"
    );
    assert!(
        report
            .summary()
            .starts_with("verify-hosted: PASSED - 9 of 9 checklist items passed"),
        "{}",
        report.summary()
    );
    let customer = &item(&report, "customer-recorded").detail;
    assert!(
        customer.contains("customer cus_") && customer.contains("e2e-hosted-0001"),
        "{customer}"
    );
    let active = &item(&report, "subscription-active").detail;
    assert!(active.contains("active, status active"), "{active}");
    let duplicate = &item(&report, "webhook-duplicate").detail;
    assert!(
        duplicate.contains("recorded, then duplicate: true"),
        "{duplicate}"
    );
    assert_built_event_changed_nothing(&stack, "e2e-hosted-0001");
    assert!(
        item(&report, "webhook-signature")
            .detail
            .contains("signature_mismatch")
    );
    assert_json_report(&report);

    let without_webhook_secret = Secrets {
        webhook_secret: None,
        ..all_secrets()
    };
    let report = verify(&options(&stack, "e2e-hosted-0002", without_webhook_secret)).await;
    assert_incomplete(&report, &["[8] webhook-duplicate"]);

    let only_app_token = Secrets {
        license_api_token: LICENSE_API_TOKEN.to_owned(),
        ..Secrets::default()
    };
    let report = verify(&options(&stack, "e2e-hosted-0004", only_app_token)).await;
    assert_incomplete(&report, &["license-offline", "[8] webhook-duplicate"]);
}

/// Nothing failed, the named items were skipped (and are named in the summary): INCOMPLETE, exit 2.
fn assert_incomplete(report: &Report, skipped: &[&str]) {
    let text = report.render_text();
    assert_eq!(report.outcome, Outcome::Incomplete, "{text}");
    assert_eq!(report.outcome.exit_code(), 2);
    let named: Vec<String> = report
        .items
        .iter()
        .filter(|i| i.status == Status::Skipped)
        .map(|i| match i.checklist {
            Some(n) => format!("[{n}] {}", i.name),
            None => i.name.clone(),
        })
        .collect();
    assert_eq!(named, skipped, "{text}");
    assert!(
        report
            .items
            .iter()
            .all(|i| matches!(i.status, Status::Passed | Status::Skipped)),
        "{text}"
    );
    let summary = report.summary();
    assert!(
        summary.starts_with("verify-hosted: INCOMPLETE - "),
        "{summary}"
    );
    assert!(
        summary.ends_with(&format!("; skipped: {}", skipped.join(", "))),
        "{summary}"
    );
    assert!(
        text.contains("skipped - [8] webhook-duplicate: STRIPE_WEBHOOK_SECRET is not set"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_hosted_with_a_wrong_app_token_fails_without_waiting() {
    let stack = start(test_checkout).await;
    let secrets = Secrets {
        license_api_token: "nyra_local_wrong_app_token".to_owned(),
        ..all_secrets()
    };
    let report = verify(&options(&stack, "e2e-hosted-0003", secrets)).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(report.outcome.exit_code(), 1);
    let activation = item(&report, "activation");
    assert_eq!(activation.status, Status::Failed);
    assert!(
        activation.detail.contains("unauthorized"),
        "{}",
        activation.line()
    );
    for name in [
        "customer-recorded",
        "subscription-active",
        "refresh",
        "webhook-duplicate",
    ] {
        assert_eq!(item(&report, name).status, Status::NotRun, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_hosted_refuses_a_live_mode_worker_without_allow_live() {
    let stack = start(|o| test_checkout(o).with_secret("STRIPE_SECRET_KEY", LIVE_KEY)).await;
    let options = options(&stack, "e2e-hosted-live-01", all_secrets());
    let report = verify(&options).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(
        item(&report, "health").status,
        Status::Passed,
        "{}",
        report.render_text()
    );
    let mode = item(&report, "stripe-mode");
    assert_eq!(mode.status, Status::Failed);
    assert!(mode.detail.contains("--allow-live"), "{}", mode.line());
    for name in &ITEMS[2..] {
        let later = item(&report, name);
        assert_eq!(later.status, Status::NotRun, "{}", later.line());
    }
    let requests: Value = reqwest::get(format!("{}/_emulator/requests", stack.emulator.base_url()))
        .await
        .expect("the emulator answers")
        .json()
        .await
        .expect("json");
    assert_eq!(
        requests["requests"],
        serde_json::json!([]),
        "nothing reached Stripe"
    );

    let allowed = Options {
        allow_live: true,
        ..options
    };
    let report = verify(&allowed).await;
    assert_eq!(
        item(&report, "stripe-mode").status,
        Status::Passed,
        "{}",
        report.render_text()
    );
    let checkout = item(&report, "checkout");
    assert!(
        checkout.detail.contains("live_mode_not_enabled"),
        "{}",
        checkout.line()
    );
}
