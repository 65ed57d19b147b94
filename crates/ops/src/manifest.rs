//! deploy/manifest.json: generated from wrangler.jsonc, openapi.yaml, the migrations and the domain config.

use serde::Serialize;
use serde_json::Value;

use crate::OpsError;
use crate::check;
use crate::migrations;
use crate::preflight::BLOCKERS;
use crate::repo::{Repo, WRANGLER};
use crate::spec::{self, Route};
use crate::wrangler::{self, DB_BINDING};

/// The deployment manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// The Worker's name in wrangler.jsonc.
    pub service: String,
    /// What the service is for (first sentence of the spec's description).
    pub scope: String,
    /// Where and how it runs.
    pub runtime: Runtime,
    /// Its database.
    pub storage: Storage,
    /// The routes the Worker serves.
    pub routes: Vec<Route>,
    /// Secrets the Worker needs (`wrangler secret put`).
    pub required_secrets: Vec<String>,
    /// Vars the Worker needs in every environment.
    pub required_vars: Vec<String>,
    /// What `nyra-ops check` verifies.
    pub checks: Vec<CheckEntry>,
    /// What `nyra-ops live-preflight` requires before money moves.
    pub live_blockers: Vec<BlockerEntry>,
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

/// One live blocker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockerEntry {
    /// Stable id.
    pub id: &'static str,
    /// What it is.
    pub title: &'static str,
    /// The modes it blocks.
    pub required_for: Vec<&'static str>,
    /// How to clear it (`<mode>` is test or live).
    pub how_to_clear: &'static str,
}

/// Generates the manifest from the repo's sources.
pub fn generate(repo: &Repo) -> Result<Manifest, OpsError> {
    let path = repo.path(WRANGLER);
    let config = wrangler::parse_value(&repo.read(&path)?, &repo.show(&path))?;
    let spec = spec::load(repo)?;
    let applied = migrations::apply(repo)?;
    let field = |pointer: &str| string_at(&config, pointer, &repo.show(&path));
    Ok(Manifest {
        service: field("/name")?,
        scope: spec.scope,
        runtime: Runtime {
            platform: "Cloudflare Workers".into(),
            language: "Rust (wasm32-unknown-unknown, workers-rs)".into(),
            main: field("/main")?,
            compatibility_date: field("/compatibility_date")?,
            environments: environments(&config),
        },
        storage: storage(&config, &repo.show(&path), applied.tables)?,
        routes: spec.worker_routes,
        required_secrets: to_strings(&nyra_domain::config::REQUIRED_SECRETS),
        required_vars: to_strings(&nyra_domain::config::REQUIRED_VARS),
        checks: check::CHECKS
            .iter()
            .map(|(id, _)| CheckEntry {
                id,
                title: check::title(id),
            })
            .collect(),
        live_blockers: BLOCKERS
            .iter()
            .map(|b| BlockerEntry {
                id: b.id,
                title: b.title,
                required_for: if b.live_only {
                    vec!["live"]
                } else {
                    vec!["test", "live"]
                },
                how_to_clear: b.how_to_clear,
            })
            .collect(),
    })
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
