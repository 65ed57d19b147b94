//! The OpenAPI fuzzer (schemathesis, installed by `cargo xtask setup`) against the real Worker: every check on every operation, with no credentials, the app token and a device token.

use crate::util::Stack;
use nyra_e2e::secrets::LICENSE_API_TOKEN;
use serde_json::json;
use std::process::Command;

/// The spec's own example device: the fuzzer's example and coverage phases use it, so with its
/// device token they reach the refresh and portal paths, not only the refusals.
const EXAMPLE_DEVICE: &str = "desk-7f3a9c2e";

/// Fixed, so a failure reproduces on any machine (`st run --seed`).
const SEED: &str = "20261203";

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_failure_on_any_operation() {
    let stack = Stack::own(|o| o).await;
    let device_token = activated_device_token(&stack).await;
    let bearers = [
        ("no credentials", None),
        ("the app token", Some(LICENSE_API_TOKEN.to_owned())),
        ("a device token", Some(device_token)),
    ];
    for (who, bearer) in bearers {
        let (ok, report) = schemathesis(&stack.worker.base_url, bearer.as_deref());
        assert!(ok, "schemathesis with {who} found failures:\n{report}");
        assert!(
            report.contains("8 selected / 8 total") && report.contains(" passed"),
            "schemathesis did not test every operation:\n{report}"
        );
    }
}

/// Pays a checkout for the example device and activates it: its device access token.
async fn activated_device_token(stack: &Stack) -> String {
    let body = json!({"deviceId": EXAMPLE_DEVICE, "email": "fuzz@example.com"});
    let (session, code, _) = stack.checkout_and_pay(&body).await;
    let target = format!(
        "/api/license/status?deviceId={EXAMPLE_DEVICE}&checkoutSessionId={session}&activationCode={code}"
    );
    let bearer = format!("Bearer {LICENSE_API_TOKEN}");
    let answer = stack
        .http()
        .get(&target, &[("authorization", &bearer)])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json());
    answer.json()["deviceAccessToken"]
        .as_str()
        .expect("an active device gets a token")
        .to_owned()
}

/// Runs every phase and check of schemathesis against the Worker: whether it passed, and its report.
fn schemathesis(base_url: &str, bearer: Option<&str>) -> (bool, String) {
    let st = nyra_e2e::paths::schemathesis();
    assert!(
        st.exists(),
        "{} is missing: run `cargo xtask setup`",
        st.display()
    );
    let spec = nyra_e2e::paths::root().join("openapi.yaml");
    let mut command = Command::new(&st);
    command
        .args(["run", &spec.display().to_string(), "--url", base_url])
        .args(["--seed", SEED, "--max-examples", "60", "--workers", "2"])
        .args(["--generation-database", "none", "--no-color"])
        .current_dir(std::env::temp_dir());
    if let Some(token) = bearer {
        command.args(["--header", &format!("Authorization: Bearer {token}")]);
    }
    let output = command.output().expect("schemathesis runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), report)
}
