//! deploy/manifest.json: generated from wrangler.jsonc, openapi.yaml, the migrations and the domain config.

use serde::Serialize;
use serde_json::Value;

use crate::OpsError;
use crate::gate::CHECKOUT_VAR;
use crate::migrations;
use crate::preflight::{self, BLOCKERS};
use crate::repo::{PACKAGE, Repo, WRANGLER};
use crate::spec::{self, Route};
use crate::wrangler::{self, DB_BINDING};

/// The npm scripts the seed manifest lists as `checks`, in order.
pub const SEED_CHECK_SCRIPTS: [&str; 2] = ["cloud:billing:check", "test:cloud-billing-worker"];

/// The deployment manifest: the seed's keys and value types, then `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// The Worker's name in wrangler.jsonc.
    pub service: String,
    /// What the service is for (first sentence of the spec's description).
    pub scope: String,
    /// The platform, `Cloudflare Workers`.
    pub runtime: String,
    /// Its database.
    pub storage: Storage,
    /// The routes the Worker serves, `METHOD /path`.
    pub routes: Vec<String>,
    /// Secrets the Worker needs (`wrangler secret put`).
    pub required_secrets: Vec<String>,
    /// Vars the Worker needs in every environment.
    pub required_vars: Vec<String>,
    /// The npm commands that check the repo, `npm run NAME`.
    pub checks: Vec<String>,
    /// The seed's eight live blocker titles.
    pub live_blockers: Vec<&'static str>,
    /// Everything richer than the seed's shape.
    pub details: Details,
}

/// What the manifest says beyond the seed's keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    /// Where and how the Worker runs.
    pub runtime: Runtime,
    /// The routes with their operationIds.
    pub routes: Vec<Route>,
    /// What `nyra-ops check` verifies.
    pub checks: Vec<CheckEntry>,
    /// The checkout switch.
    pub checkout: CheckoutEntry,
    /// Every No-Go condition `nyra-ops live-preflight` evaluates.
    pub no_go_conditions: Vec<ConditionEntry>,
}

/// Where and how the Worker runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Runtime {
    /// The platform.
    pub platform: String,
    /// The language and target.
    pub language: String,
    /// The Worker's entry module.
    pub main: String,
    /// The Workers compatibility date.
    pub compatibility_date: String,
    /// The wrangler environments.
    pub environments: Vec<String>,
}

/// The Worker's database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    /// Always `Cloudflare D1`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The binding name.
    pub binding: String,
    /// The D1 database name.
    pub database_name: String,
    /// The migrations directory.
    pub migrations_dir: String,
    /// The tables the migrations create.
    pub tables: Vec<String>,
}

/// One check of `nyra-ops check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckEntry {
    /// Stable id.
    pub id: &'static str,
    /// What it verifies.
    pub title: String,
}

/// The checkout switch and its gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutEntry {
    /// The Worker var.
    pub var: &'static str,
    /// Its values, least to most.
    pub values: Vec<&'static str>,
    /// The preflight status each value needs.
    pub needs: Vec<String>,
}

/// One No-Go condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionEntry {
    /// Stable id.
    pub id: &'static str,
    /// What it is, as the seed words it.
    pub title: &'static str,
    /// Where it comes from in the seed.
    pub origin: &'static str,
    /// The modes it blocks.
    pub required_for: Vec<&'static str>,
    /// The answers its state is read from (`<mode>` is test or live).
    pub sources: &'static [&'static str],
    /// How to clear it (`<mode>` is test or live).
    pub how_to_clear: &'static str,
}

/// Generates the manifest from the repo's sources; `checks` are the ops checks it lists
/// (`crate::check::entries`).
pub fn generate(repo: &Repo, checks: Vec<CheckEntry>) -> Result<Manifest, OpsError> {
    let path = repo.path(WRANGLER);
    let config = wrangler::parse_value(&repo.read(&path)?, &repo.show(&path))?;
    let spec = spec::load(repo)?;
    let applied = migrations::apply(repo)?;
    let field = |pointer: &str| string_at(&config, pointer, &repo.show(&path));
    let runtime = Runtime {
        platform: "Cloudflare Workers".into(),
        language: "Rust (wasm32-unknown-unknown, workers-rs)".into(),
        main: field("/main")?,
        compatibility_date: field("/compatibility_date")?,
        environments: environments(&config),
    };
    Ok(Manifest {
        service: field("/name")?,
        scope: spec.scope,
        runtime: runtime.platform.clone(),
        storage: storage(&config, &repo.show(&path), applied.tables)?,
        routes: spec.worker_routes.iter().map(Route::seed_form).collect(),
        required_secrets: to_strings(&nyra_domain::config::REQUIRED_SECRETS),
        required_vars: to_strings(&nyra_domain::config::REQUIRED_VARS),
        checks: npm_checks(repo)?,
        live_blockers: preflight::seed_live_blockers(),
        details: Details {
            runtime,
            routes: spec.worker_routes,
            checks,
            checkout: checkout_entry(),
            no_go_conditions: BLOCKERS.iter().map(condition).collect(),
        },
    })
}

/// `npm run NAME` for each seed check script, each one present in package.json.
fn npm_checks(repo: &Repo) -> Result<Vec<String>, OpsError> {
    let path = repo.path(PACKAGE);
    let shown = repo.show(&path);
    let package: Value =
        serde_json::from_str(&repo.read(&path)?).map_err(|e| OpsError::Package {
            path: shown.clone(),
            detail: format!("not valid JSON ({e})"),
        })?;
    SEED_CHECK_SCRIPTS
        .iter()
        .map(|name| match package.pointer(&format!("/scripts/{name}")) {
            Some(Value::String(_)) => Ok(format!("npm run {name}")),
            _ => Err(OpsError::Package {
                path: shown.clone(),
                detail: format!("has no script {name}"),
            }),
        })
        .collect()
}

/// The checkout switch's values and what each needs.
fn checkout_entry() -> CheckoutEntry {
    CheckoutEntry {
        var: CHECKOUT_VAR,
        values: vec!["disabled", "test", "live"],
        needs: vec![
            "disabled: nothing (the production default; `npm run cloud:billing:checkout:disable`)"
                .into(),
            "test: live-preflight --mode test answers GO_TEST_MODE (or --mode live GO_LIVE)".into(),
            "live: live-preflight --mode live answers GO_LIVE".into(),
        ],
    }
}

/// One No-Go condition as listed.
fn condition(def: &preflight::BlockerDef) -> ConditionEntry {
    ConditionEntry {
        id: def.id,
        title: def.title,
        origin: def.origin.describe(),
        required_for: preflight::required_for(def),
        sources: def.sources,
        how_to_clear: def.how_to_clear,
    }
}

/// The manifest as committed: pretty JSON and a final newline.
pub fn render(manifest: &Manifest) -> Result<String, OpsError> {
    Ok(format!("{}\n", serde_json::to_string_pretty(manifest)?))
}

/// The storage section, from env.production's DB entry.
fn storage(config: &Value, shown: &str, tables: Vec<String>) -> Result<Storage, OpsError> {
    let db = wrangler::d1_entry(config, "production").ok_or_else(|| OpsError::WranglerShape {
        path: shown.to_string(),
        what: "env.production.d1_databases entry with binding DB".into(),
    })?;
    Ok(Storage {
        kind: "Cloudflare D1".into(),
        binding: DB_BINDING.into(),
        database_name: string_at(db, "/database_name", shown)?,
        migrations_dir: string_at(db, "/migrations_dir", shown)?,
        tables,
    })
}

/// The names under `env`, sorted.
fn environments(config: &Value) -> Vec<String> {
    let mut names: Vec<String> = config
        .get("env")
        .and_then(Value::as_object)
        .map(|env| env.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// A string at a JSON pointer, or a shape error.
fn string_at(value: &Value, pointer: &str, shown: &str) -> Result<String, OpsError> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| OpsError::WranglerShape {
            path: shown.to_string(),
            what: format!("string at {pointer}"),
        })
}

/// Owned copies of names.
fn to_strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}
