//! The operator runbook (docs/deploy.md, docs/rollback.md, README.md) names only commands that
//! exist: every `npm run` script is in package.json, every `cargo xtask` command is in xtask's
//! dispatch and usage, every `npx wrangler` subcommand is a real one; and no document holds a
//! secret-looking value.

use std::collections::BTreeSet;

use nyra_domain::config::{REQUIRED_SECRETS, STRIPE_API_VERSION};
use nyra_ops::preflight::BLOCKERS;
use serde_json::Value;

/// The documents checked, relative to the repo root.
const DOCS: [&str; 3] = ["docs/deploy.md", "docs/rollback.md", "README.md"];

/// Wrangler subcommands the runbook may use: real top-level wrangler 4 commands, kept small on
/// purpose. Adding one here is a claim that `npx wrangler <it> --help` works.
const WRANGLER_SUBCOMMANDS: [&str; 11] = [
    "d1",
    "queues",
    "secret",
    "deploy",
    "rollback",
    "deployments",
    "versions",
    "dev",
    "tail",
    "whoami",
    "login",
];

/// The events the Worker handles; the Stripe endpoint must send exactly these.
const WEBHOOK_EVENTS: [&str; 7] = [
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
    "entitlements.active_entitlement_summary.updated",
];

fn read(relative: &str) -> String {
    let path = super::real_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every document with its text.
fn docs() -> Vec<(&'static str, String)> {
    DOCS.iter().map(|d| (*d, read(d))).collect()
}

/// The word after each occurrence of `prefix`, with its 1-based line; `allowed` says which
/// characters a word may hold. Trailing `.`/`:` (end of a sentence) is not part of the word.
/// An empty word (the prefix followed by punctuation) is returned as `""` so it fails loudly.
fn mentions(text: &str, prefix: &str, allowed: fn(char) -> bool) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find(prefix) {
            rest = &rest[at + prefix.len()..];
            let word: String = rest.chars().take_while(|c| allowed(*c)).collect();
            found.push((n + 1, word.trim_end_matches(['.', ':']).to_string()));
        }
    }
    found
}

fn npm_scripts_in(text: &str) -> Vec<(usize, String)> {
    mentions(text, "npm run ", |c| {
        c.is_ascii_alphanumeric() || ":_.-".contains(c)
    })
}

fn xtask_commands_in(text: &str) -> Vec<(usize, String)> {
    mentions(text, "cargo xtask ", |c| {
        c.is_ascii_alphanumeric() || c == '-'
    })
}

fn wrangler_subcommands_in(text: &str) -> Vec<(usize, String)> {
    mentions(text, "npx wrangler ", |c| {
        c.is_ascii_alphanumeric() || c == '-'
    })
}

/// The script names in package.json.
fn package_scripts() -> BTreeSet<String> {
    let package: Value = serde_json::from_str(&read("package.json")).expect("package.json parses");
    package["scripts"]
        .as_object()
        .expect("package.json has scripts")
        .keys()
        .cloned()
        .collect()
}

/// The commands xtask dispatches (`Some("name") =>` arms of main) and the ones its USAGE lists.
fn xtask_commands() -> (BTreeSet<String>, BTreeSet<String>) {
    let main = read("xtask/src/main.rs");
    let arms = mentions(&main, "Some(\"", |c| c.is_ascii_alphanumeric() || c == '-')
        .into_iter()
        .map(|(_, w)| w)
        .filter(|w| !w.is_empty())
        .collect();
    let usage_start = main.find("commands:").expect("USAGE lists commands");
    let usage_end = usage_start + main[usage_start..].find("\";").expect("USAGE ends");
    let usage = main[usage_start..usage_end]
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    (arms, usage)
}

/// Where a line holds a secret-looking value: a Stripe secret or restricted key prefix followed
/// by 10+ letters or digits (unless that run says `local`, the obviously fake dev values), or
/// `whsec_` followed by 10+ characters of a signing secret.
fn secret_kind(line: &str) -> Option<&'static str> {
    for prefix in ["sk_live_", "sk_test_", "rk_live_", "rk_test_"] {
        for (at, _) in line.match_indices(prefix) {
            let run: String = line[at + prefix.len()..]
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            if run.len() >= 10 && !run.to_ascii_lowercase().contains("local") {
                return Some("a Stripe secret or restricted key");
            }
        }
    }
    for (at, _) in line.match_indices("whsec_") {
        let run = line[at + "whsec_".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "+/=".contains(*c))
            .count();
        if run >= 10 {
            return Some("a Stripe webhook signing secret");
        }
    }
    None
}

/// Every bad mention in `docs`, as `file:line: why`.
fn problems(docs: &[(&str, String)]) -> Vec<String> {
    let scripts = package_scripts();
    let (arms, usage) = xtask_commands();
    let mut out = Vec::new();
    for (file, text) in docs {
        for (line, script) in npm_scripts_in(text) {
            if !scripts.contains(&script) {
                out.push(format!(
                    "{file}:{line}: `npm run {script}` is not a package.json script"
                ));
            }
        }
        for (line, cmd) in xtask_commands_in(text) {
            if !arms.contains(&cmd) || !usage.contains(&cmd) {
                out.push(format!(
                    "{file}:{line}: `cargo xtask {cmd}` is not an xtask command"
                ));
            }
        }
        for (line, sub) in wrangler_subcommands_in(text) {
            if !WRANGLER_SUBCOMMANDS.contains(&sub.as_str()) {
                out.push(format!(
                    "{file}:{line}: `npx wrangler {sub}` is not an allowed wrangler subcommand"
                ));
            }
        }
        for (n, line) in text.lines().enumerate() {
            if let Some(kind) = secret_kind(line) {
                out.push(format!("{file}:{}: {kind}", n + 1));
            }
        }
    }
    out
}

#[test]
fn runbook_names_only_commands_that_exist_and_holds_no_secret() {
    let docs = docs();
    assert_eq!(problems(&docs), Vec::<String>::new());
}

#[test]
fn runbook_mentions_are_actually_found() {
    // The scanners see what the documents use, so the check above is not vacuous.
    let deploy = read("docs/deploy.md");
    let scripts: BTreeSet<String> = npm_scripts_in(&deploy).into_iter().map(|m| m.1).collect();
    for script in [
        "cloud:billing:config:sync",
        "cloud:billing:check",
        "billing:live-preflight",
    ] {
        assert!(scripts.contains(script), "deploy.md runs npm run {script}");
    }
    let subs: BTreeSet<String> = docs()
        .iter()
        .flat_map(|(_, t)| wrangler_subcommands_in(t))
        .map(|m| m.1)
        .collect();
    for sub in [
        "d1",
        "secret",
        "deploy",
        "rollback",
        "deployments",
        "versions",
    ] {
        assert!(subs.contains(sub), "the runbook uses npx wrangler {sub}");
    }
    let readme = read("README.md");
    assert!(!xtask_commands_in(&readme).is_empty());
    assert!(readme.contains("(docs/deploy.md)") && readme.contains("(docs/rollback.md)"));
}

#[test]
fn runbook_checks_catch_invented_commands_and_planted_secrets() {
    let key = format!("{}{}", "sk_live_", "0123456789abcdefABCDEFGH");
    let hook = format!("{}{}", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let text = format!(
        "npm run billing:not-a-script -- --base x\n\
         cargo xtask deploy\n\
         npx wrangler publish --env production\n\
         npm run `x`\n\
         STRIPE_SECRET_KEY={key}\n\
         secret: {hook}\n\
         fine: sk_test_... sk_test_local_0123456789abcdef whsec_... npm run cloud:billing:check.\n"
    );
    let found = problems(&[("doc.md", text)]);
    assert_eq!(
        found,
        [
            "doc.md:1: `npm run billing:not-a-script` is not a package.json script",
            "doc.md:4: `npm run ` is not a package.json script",
            "doc.md:2: `cargo xtask deploy` is not an xtask command",
            "doc.md:3: `npx wrangler publish` is not an allowed wrangler subcommand",
            "doc.md:5: a Stripe secret or restricted key",
            "doc.md:6: a Stripe webhook signing secret",
        ]
    );
}

#[test]
fn runbook_xtask_usage_and_dispatch_agree() {
    let (arms, usage) = xtask_commands();
    assert!(arms.contains("dev") && arms.contains("test"), "{arms:?}");
    assert_eq!(arms, usage, "every xtask command is dispatched and listed");
}

#[test]
fn runbook_deploy_sets_every_secret_and_configures_the_webhook_the_worker_handles() {
    let deploy = read("docs/deploy.md");
    for name in REQUIRED_SECRETS {
        let put = format!("npx wrangler secret put {name} --env production");
        assert!(deploy.contains(&put), "deploy.md: {put}");
    }
    assert!(deploy.contains("https://<billing-domain>/api/billing/webhook"));
    assert!(deploy.contains(&format!("api_version={STRIPE_API_VERSION}")));
    assert!(deploy.contains(&format!("--api-version {STRIPE_API_VERSION}")));
    let webhook = BLOCKERS
        .iter()
        .find(|b| b.id == "stripe-webhook")
        .expect("stripe-webhook blocker");
    for event in WEBHOOK_EVENTS {
        assert!(
            webhook.how_to_clear.contains(event),
            "preflight names {event}"
        );
        assert!(
            deploy.contains(&format!("- `{event}`")),
            "deploy.md lists {event}"
        );
        assert!(
            deploy.contains(&format!("--enabled-events {event}"))
                && deploy.contains(&format!("\"enabled_events[]={event}\"")),
            "deploy.md's CLI and API examples enable {event}"
        );
    }
    for blocker in BLOCKERS {
        assert!(
            deploy.contains(&format!("`{}`", blocker.id)),
            "{}",
            blocker.id
        );
    }
    for status in ["NO_GO_LIVE_MONEY", "GO_TEST_MODE", "GO_LIVE"] {
        assert!(deploy.contains(status), "{status}");
    }
    // Live checkout is switched on last, through the gated config-sync.
    let enable = deploy
        .find("npm run cloud:billing:config:sync -- --checkout live")
        .expect("deploy.md switches BILLING_CHECKOUT to live");
    let live_preflight = deploy
        .find("npm run billing:live-preflight -- --mode live")
        .expect("live preflight");
    assert!(live_preflight < enable);
}

#[test]
fn runbook_rollback_step_one_is_one_command_that_disables_checkout() {
    let rollback = read("docs/rollback.md");
    let step = &rollback[rollback
        .find("## 1. Disable public checkout first")
        .expect("step 1")..rollback.find("## 2.").expect("step 2")];
    assert!(
        step.contains(
            "npm run cloud:billing:checkout:disable && npx wrangler deploy --env production"
        ),
        "{step}"
    );
    assert!(step.contains("checkout_disabled"));
    for file in [
        "docs/ops.md",
        "docs/deploy.md",
        "docs/rollback.md",
        "wrangler.jsonc",
    ] {
        assert!(
            !read(file).contains("BILLING_LIVE_MODE"),
            "{file} names the retired var"
        );
    }
}

#[test]
fn runbook_wrangler_environments_exist() {
    let wrangler = read("wrangler.jsonc");
    for (file, text) in docs() {
        for (line, env) in mentions(&text, "--env ", |c| c.is_ascii_alphanumeric()) {
            assert!(
                wrangler.contains(&format!("\"{env}\": {{")),
                "{file}:{line}: --env {env} is not an environment of wrangler.jsonc"
            );
        }
    }
}
