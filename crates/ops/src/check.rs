//! check: wrangler.jsonc, migrations, spec, Worker, manifest and dashboard schema agree; no secret is committed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::dashboard;
use crate::gate::{self, CHECKOUT_VAR, Gate, RETIRED_VAR};
use crate::manifest;
use crate::migrations::{self, Applied};
use crate::repo::{DASHBOARD, DASHBOARD_SCHEMA, MANIFEST, Repo};
use crate::secrets;
use crate::spec::{self, Route, Spec};
use crate::wrangler;

/// One check: `Ok` or why it failed.
pub type CheckFn = fn(&Ctx) -> Result<(), String>;

/// Every check, by id, in the order run; titles come from [`title`].
pub const CHECKS: [(&str, CheckFn); 10] = [
    ("wrangler-parses", wrangler_parses),
    ("wrangler-envs", wrangler_envs),
    ("checkout-gated", checkout_gated),
    ("migrations-apply", migrations_apply),
    ("routes-agree", routes_agree),
    ("secrets-agree", secrets_agree),
    ("tables-agree", tables_agree),
    ("manifest-generated", manifest_generated),
    ("dashboard-schema-generated", dashboard_schema_generated),
    ("no-committed-secrets", no_committed_secrets),
];

/// Files never scanned for secrets: lock files full of hashes.
const SKIPPED_FILES: [&str; 2] = ["Cargo.lock", "package-lock.json"];
/// Directories skipped when the root is not a git checkout.
const SKIPPED_DIRS: [&str; 7] = [
    ".git",
    "target",
    "node_modules",
    ".wrangler",
    ".tools",
    "dist",
    "build",
];

/// Every check's id and title, as the manifest lists them.
pub fn entries() -> Vec<manifest::CheckEntry> {
    CHECKS
        .iter()
        .map(|(id, _)| manifest::CheckEntry {
            id,
            title: title(id),
        })
        .collect()
}

/// What a check verifies, as printed and as listed in the manifest.
pub fn title(id: &str) -> String {
    let vars = nyra_domain::config::REQUIRED_VARS.join(", ");
    match id {
        "wrangler-parses" => "wrangler.jsonc parses".into(),
        "wrangler-envs" => format!(
            "wrangler.jsonc env.local and env.production have the DB binding, the vars {vars} and the rate limiters {}",
            nyra_domain::config::RATE_LIMITERS.join(", ")
        ),
        "checkout-gated" => format!(
            "env.production {CHECKOUT_VAR} is disabled, test or live and enables no more than the live preflight allows ({DASHBOARD}); {RETIRED_VAR} is gone"
        ),
        "migrations-apply" => {
            "migrations apply cleanly to an empty SQLite database (stand-in for `wrangler d1 migrations apply --local`)"
                .into()
        }
        "routes-agree" => "routes agree: openapi.yaml, the Worker (nyra_api::server::OPERATIONS) and deploy/manifest.json".into(),
        "secrets-agree" => "required secrets and vars agree: nyra_domain::config and deploy/manifest.json".into(),
        "tables-agree" => "tables agree: migrations, nyra_domain::config::TABLES and deploy/manifest.json".into(),
        "manifest-generated" => "deploy/manifest.json is exactly what `nyra-ops manifest` generates".into(),
        "dashboard-schema-generated" => {
            "deploy/dashboard.schema.json is exactly what `nyra-ops dashboard-schema` generates".into()
        }
        _ => "no secret-looking string in git-tracked files".into(),
    }
}

/// The inputs every check reads, parsed once.
pub struct Ctx {
    repo: Repo,
    wrangler: Result<Value, String>,
    spec: Result<Spec, String>,
    migrations: Result<Applied, String>,
    manifest: Result<Value, String>,
    gate: Result<Gate, String>,
}

impl Ctx {
    /// Reads and parses the repo's inputs; `dashboard` overrides deploy/dashboard.json.
    pub fn load(repo: &Repo, dashboard: Option<&Path>) -> Ctx {
        let manifest_path = repo.path(MANIFEST);
        let wrangler = crate::preflight::read_wrangler(repo);
        let default = repo.path(DASHBOARD);
        let gate = dashboard::load(repo, dashboard.unwrap_or(&default), dashboard.is_some())
            .map(|loaded| Gate::evaluate(&loaded, &wrangler))
            .map_err(|e| e.to_string());
        Ctx {
            repo: repo.clone(),
            spec: spec::load(repo).map_err(|e| e.to_string()),
            migrations: migrations::apply(repo).map_err(|e| e.to_string()),
            manifest: repo
                .read(&manifest_path)
                .map_err(|e| e.to_string())
                .and_then(|t| {
                    serde_json::from_str(&t)
                        .map_err(|e| format!("{MANIFEST} is not valid JSON ({e})"))
                }),
            wrangler,
            gate,
        }
    }
}

/// One printed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    /// The check's id.
    pub id: &'static str,
    /// Why it failed, if it did.
    pub failure: Option<String>,
}

/// Runs every check; `dashboard` overrides deploy/dashboard.json for the checkout gate.
pub fn run(repo: &Repo, dashboard: Option<&Path>) -> Vec<CheckLine> {
    let ctx = Ctx::load(repo, dashboard);
    CHECKS
        .iter()
        .map(|(id, check)| CheckLine {
            id,
            failure: check(&ctx).err(),
        })
        .collect()
}

/// `ok - title` or `fail - title: reason`, one line each.
pub fn render(lines: &[CheckLine]) -> String {
    lines
        .iter()
        .map(|line| match &line.failure {
            None => format!("ok - {}\n", title(line.id)),
            Some(why) => format!("fail - {}: {why}\n", title(line.id)),
        })
        .collect()
}

/// wrangler.jsonc is valid JSONC with an object at the top.
fn wrangler_parses(ctx: &Ctx) -> Result<(), String> {
    ctx.wrangler.as_ref().map(|_| ()).map_err(Clone::clone)
}

/// env.local and env.production each have the DB binding and the required vars.
fn wrangler_envs(ctx: &Ctx) -> Result<(), String> {
    let config = ctx
        .wrangler
        .as_ref()
        .map_err(|_| "wrangler.jsonc does not parse".to_string())?;
    let mut problems = Vec::new();
    for env in ["local", "production"] {
        if config.pointer(&format!("/env/{env}")).is_none() {
            problems.push(format!("env.{env} is missing"));
            continue;
        }
        if wrangler::d1_entry(config, env).is_none() {
            problems.push(format!(
                "env.{env} has no d1_databases entry with binding DB"
            ));
        }
        for var in nyra_domain::config::REQUIRED_VARS {
            if wrangler::env_var(config, env, var).is_none_or(str::is_empty) {
                problems.push(format!("env.{env}.vars lacks {var}"));
            }
        }
        for limiter in nyra_domain::config::RATE_LIMITERS {
            if !wrangler::has_rate_limiter(config, env, limiter) {
                problems.push(format!("env.{env}.ratelimits lacks {limiter}"));
            }
        }
    }
    joined(problems)
}

/// env.production's checkout switch is no more than the preflight allows.
fn checkout_gated(ctx: &Ctx) -> Result<(), String> {
    let config = ctx
        .wrangler
        .as_ref()
        .map_err(|_| "wrangler.jsonc does not parse".to_string())?;
    let gate = ctx.gate.as_ref().map_err(Clone::clone)?;
    gate::check(gate, config)
}

/// Every migration applies to an empty database.
fn migrations_apply(ctx: &Ctx) -> Result<(), String> {
    ctx.migrations.as_ref().map(|_| ()).map_err(Clone::clone)
}

/// Spec, Worker route table and manifest list the same Worker routes.
fn routes_agree(ctx: &Ctx) -> Result<(), String> {
    let spec = ctx.spec.as_ref().map_err(Clone::clone)?;
    let manifest = manifest_list::<String>(ctx, "/routes")?;
    let mut problems = differences(
        "openapi.yaml",
        &spec.worker_routes,
        "the Worker",
        &spec::served_routes(),
        show_route,
    );
    let spec_routes: Vec<String> = spec.worker_routes.iter().map(Route::seed_form).collect();
    problems.extend(differences(
        "openapi.yaml",
        &spec_routes,
        MANIFEST,
        &manifest,
        Clone::clone,
    ));
    joined(problems)
}

/// The domain's secret and var names equal the manifest's.
fn secrets_agree(ctx: &Ctx) -> Result<(), String> {
    let config = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let secrets = manifest_list::<String>(ctx, "/requiredSecrets")?;
    let vars = manifest_list::<String>(ctx, "/requiredVars")?;
    let mut problems = differences(
        "REQUIRED_SECRETS",
        &config(&nyra_domain::config::REQUIRED_SECRETS),
        "manifest requiredSecrets",
        &secrets,
        Clone::clone,
    );
    problems.extend(differences(
        "REQUIRED_VARS",
        &config(&nyra_domain::config::REQUIRED_VARS),
        "manifest requiredVars",
        &vars,
        Clone::clone,
    ));
    joined(problems)
}

/// Migrations create exactly the domain's tables, as the manifest lists them.
fn tables_agree(ctx: &Ctx) -> Result<(), String> {
    let applied = ctx.migrations.as_ref().map_err(Clone::clone)?;
    let manifest = manifest_list::<String>(ctx, "/storage/tables")?;
    let domain: Vec<String> = nyra_domain::config::TABLES
        .iter()
        .map(|t| t.to_string())
        .collect();
    let mut problems = differences(
        "migrations",
        &applied.tables,
        "TABLES",
        &domain,
        Clone::clone,
    );
    problems.extend(differences(
        "migrations",
        &applied.tables,
        "manifest tables",
        &manifest,
        Clone::clone,
    ));
    joined(problems)
}

/// The committed manifest is byte-identical to a fresh one.
fn manifest_generated(ctx: &Ctx) -> Result<(), String> {
    let expected = manifest::generate(&ctx.repo, entries())
        .and_then(|m| manifest::render(&m))
        .map_err(|e| format!("cannot generate it: {e}"))?;
    let actual = ctx
        .repo
        .read(&ctx.repo.path(MANIFEST))
        .map_err(|e| e.to_string())?;
    (actual == expected).then_some(()).ok_or_else(|| {
        format!(
            "{MANIFEST} differs (edited by hand or stale); run `cargo run -p nyra-ops -- manifest`"
        )
    })
}

/// The committed dashboard schema is byte-identical to a fresh one.
fn dashboard_schema_generated(ctx: &Ctx) -> Result<(), String> {
    let actual = ctx
        .repo
        .read(&ctx.repo.path(DASHBOARD_SCHEMA))
        .map_err(|e| e.to_string())?;
    (actual == dashboard::schema_json())
        .then_some(())
        .ok_or_else(|| {
            format!("{DASHBOARD_SCHEMA} differs; run `cargo run -p nyra-ops -- dashboard-schema`")
        })
}

/// No scanned file has a line matching the committed-file secret rule.
fn no_committed_secrets(ctx: &Ctx) -> Result<(), String> {
    let files = scanned_files(ctx.repo.root());
    let mut found = Vec::new();
    for file in &files {
        let Ok(bytes) = std::fs::read(ctx.repo.root().join(file)) else {
            continue;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        if text.contains('\0') {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            if let Some(kind) = secrets::find_committed(line) {
                found.push(format!(
                    "{}:{} ({})",
                    file.display(),
                    n + 1,
                    kind.describe()
                ));
            }
        }
    }
    joined(found)
}

/// Files to scan: git-tracked plus untracked-but-not-ignored, or every file when not a git checkout.
fn scanned_files(root: &Path) -> Vec<PathBuf> {
    let listed = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .ok()
        .filter(|out| out.status.success());
    let files = match listed {
        Some(out) => String::from_utf8_lossy(&out.stdout)
            .split('\0')
            .filter(|f| !f.is_empty())
            .map(PathBuf::from)
            .collect(),
        None => walk(root, Path::new("")),
    };
    files
        .into_iter()
        .filter(|f| {
            !f.file_name()
                .is_some_and(|n| SKIPPED_FILES.iter().any(|s| n == *s))
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Every file below `root/dir`, relative to root, skipping build and tool directories.
fn walk(root: &Path, dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let relative = dir.join(entry.file_name());
        match entry.file_type() {
            Ok(t) if t.is_dir() && !SKIPPED_DIRS.iter().any(|s| entry.file_name() == *s) => {
                files.extend(walk(root, &relative));
            }
            Ok(t) if t.is_file() => files.push(relative),
            _ => {}
        }
    }
    files
}

/// A list in the manifest file, parsed.
fn manifest_list<T: serde::de::DeserializeOwned>(
    ctx: &Ctx,
    pointer: &str,
) -> Result<Vec<T>, String> {
    let manifest = ctx.manifest.as_ref().map_err(Clone::clone)?;
    let list = manifest.pointer(pointer).cloned().unwrap_or(Value::Null);
    serde_json::from_value(list).map_err(|_| format!("{MANIFEST} has no valid {pointer}"))
}

/// What is in one list and not the other, both ways.
fn differences<T: Ord + Clone>(
    a: &str,
    left: &[T],
    b: &str,
    right: &[T],
    show: fn(&T) -> String,
) -> Vec<String> {
    let left: BTreeSet<T> = left.iter().cloned().collect();
    let right: BTreeSet<T> = right.iter().cloned().collect();
    let only = |x: &BTreeSet<T>, y: &BTreeSet<T>, from: &str, not: &str| {
        x.difference(y)
            .map(|item| format!("{} is in {from} but not in {not}", show(item)))
            .collect::<Vec<_>>()
    };
    let mut problems = only(&left, &right, a, b);
    problems.extend(only(&right, &left, b, a));
    problems
}

/// `GET /health (health)`.
fn show_route(route: &Route) -> String {
    format!("{} {} ({})", route.method, route.path, route.operation_id)
}

/// Ok when there are no problems, else all of them on one line.
fn joined(problems: Vec<String>) -> Result<(), String> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
