//! snapshot: the Cloud Billing page, one static HTML file (and its JSON twin) built from the repo and the Worker.

pub mod checkout;
pub mod files;
pub mod health;
pub mod highlight;
pub mod html;
pub mod routes;
pub mod store;

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::OpsError;
use crate::check;
use crate::dashboard::{self, StripeMode};
use crate::preflight::{self, PreflightReport, Status};
use crate::repo::{DASHBOARD, Repo, WRANGLER};
use crate::spec;
use crate::sync::{self, SyncOptions, SyncReport};

/// Where the page goes by default, relative to the root.
pub const DEFAULT_OUT: &str = "target/cloud-billing/snapshot.html";

/// The rule the page repeats at its top and bottom.
pub const RULE: &str = "Do not paste Stripe keys, webhook secrets, license signing secrets, API tokens or customer data into dashboard files. Secrets go into the Worker only with `npx wrangler secret put NAME --env production`.";

/// The `snapshot` command's options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SnapshotArgs {
    /// Dashboard answers file (default: deploy/dashboard.json; missing means nothing answered).
    #[arg(long, value_name = "PATH")]
    pub dashboard: Option<PathBuf>,
    /// Where to write the page (default: target/cloud-billing/snapshot.html below the root).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Print the page's model as JSON instead of the summary (the page is still written).
    #[arg(long)]
    pub json: bool,
    /// Base URL of a running Worker; its /health fills in Secrets and Rehearsal.
    #[arg(long, value_name = "URL")]
    pub base: Option<String>,
}

/// Why the snapshot could not be made; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A file could not be read, parsed or written.
    #[error(transparent)]
    Ops(#[from] OpsError),
    /// `--base` is not a usable URL.
    #[error(transparent)]
    Base(#[from] health::BadBase),
    /// The model could not be serialized.
    #[error("cannot render the snapshot as json: {0}")]
    Json(#[from] serde_json::Error),
}

/// Which dashboard file was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DashboardSource {
    /// Its path, relative to the root when below it.
    pub path: String,
    /// False when the default file does not exist.
    pub found: bool,
}

/// One `nyra-ops check` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// Stable id.
    pub id: &'static str,
    /// What it verifies.
    pub title: String,
    /// It passed.
    pub ok: bool,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// Everything on the page, in page order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The Worker's name in wrangler.jsonc.
    pub service: String,
    /// The no-secrets rule the page repeats.
    pub rule: &'static str,
    /// The dashboard answers file read.
    pub dashboard: DashboardSource,
    /// The config-sync report, computed as a dry run (wrangler.jsonc is never written).
    pub config_sync: SyncReport,
    /// The checkout switch (BILLING_CHECKOUT).
    pub checkout: checkout::CheckoutView,
    /// The seed's four No-Go rules, with what enforces each.
    pub no_go_rules: Vec<checkout::NoGoRule>,
    /// The `nyra-ops check` results the route statuses are read from.
    pub checks: Vec<CheckResult>,
    /// Every openapi.yaml route with its status.
    pub routes: Vec<routes::RouteStatus>,
    /// Every required secret (names and states only).
    pub secrets: Vec<store::SecretRow>,
    /// The live-mode preflight.
    pub live_blockers: PreflightReport,
    /// `deployability.status` of a test-mode preflight.
    pub test_mode_status: Status,
    /// deploy/manifest.json.
    pub manifest: files::ManifestView,
    /// env.production of wrangler.jsonc.
    pub wrangler: files::WranglerView,
    /// The D1 migrations.
    pub migrations: Vec<files::FileView>,
    /// The /health answer of `--base`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rehearsal: Option<health::Rehearsal>,
}

/// Builds the model: reads the repo and (with `--base`) asks the Worker; writes nothing.
pub fn build(repo: &Repo, args: &SnapshotArgs) -> Result<Snapshot, SnapshotError> {
    let health_url = args.base.as_deref().map(health::health_url).transpose()?;
    let required = args.dashboard.is_some();
    let dashboard_path = args
        .dashboard
        .clone()
        .unwrap_or_else(|| repo.path(DASHBOARD));
    let loaded = dashboard::load(repo, &dashboard_path, required)?;
    let config_sync = dry_run_sync(repo, dashboard_path.clone(), required)?;
    let spec = spec::load(repo)?;
    let lines = check::run(repo, args.dashboard.as_deref());
    let rehearsal = health_url.as_deref().map(health::rehearse);
    let answers = &loaded.file.billing_cloud;
    let live = preflight::run(repo, &loaded, StripeMode::Live);
    let config = preflight::read_wrangler(repo);
    Ok(Snapshot {
        service: service_name(repo)?,
        rule: RULE,
        dashboard: DashboardSource {
            path: repo.show(&dashboard_path),
            found: loaded.found,
        },
        config_sync,
        checkout: checkout::view(&config, &loaded, &lines),
        no_go_rules: checkout::rules(&live, &loaded, &lines),
        routes: routes::statuses(&spec, &lines),
        checks: check_results(&lines),
        secrets: store::rows(answers, rehearsal.as_ref()),
        live_blockers: live,
        test_mode_status: preflight::run(repo, &loaded, StripeMode::Test)
            .deployability
            .status,
        manifest: files::manifest(repo, &lines),
        wrangler: files::wrangler_production(repo),
        migrations: files::migrations(repo),
        rehearsal,
    })
}

/// config-sync as a dry run against the repo's wrangler.jsonc.
fn dry_run_sync(
    repo: &Repo,
    dashboard: PathBuf,
    dashboard_required: bool,
) -> Result<SyncReport, OpsError> {
    let options = SyncOptions {
        dashboard,
        dashboard_required,
        wrangler: repo.path(WRANGLER),
        dry_run: true,
        checkout: None,
    };
    sync::run(repo, &options)
}

/// `name` in wrangler.jsonc.
fn service_name(repo: &Repo) -> Result<String, OpsError> {
    let path = repo.path(WRANGLER);
    let config = crate::wrangler::parse_value(&repo.read(&path)?, &repo.show(&path))?;
    Ok(config
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or("billing worker")
        .to_string())
}

/// The check lines with their titles.
fn check_results(lines: &[check::CheckLine]) -> Vec<CheckResult> {
    lines
        .iter()
        .map(|line| CheckResult {
            id: line.id,
            title: check::title(line.id),
            ok: line.failure.is_none(),
            failure: line.failure.clone(),
        })
        .collect()
}

/// Runs the command: writes the page, prints a summary (or the JSON model); the `u8` is the exit code.
pub fn run(repo: &Repo, args: &SnapshotArgs) -> Result<u8, SnapshotError> {
    let snapshot = build(repo, args)?;
    let out = args.out.clone().unwrap_or_else(|| repo.path(DEFAULT_OUT));
    let printed = if args.json {
        format!("{}\n", serde_json::to_string_pretty(&snapshot)?)
    } else {
        summary(&snapshot, &repo.show(&out))
    };
    repo.write(&out, &html::page(&snapshot))?;
    let _ = std::io::stdout().lock().write_all(printed.as_bytes());
    Ok(0)
}

/// The text printed after writing the page.
fn summary(snapshot: &Snapshot, out: &str) -> String {
    let ready = snapshot.routes.iter().filter(|r| r.ready).count();
    format!(
        "wrote {out}\ndeployability.status: {}\ncheckout switch: {} (allowed: {})\nroutes ready: {ready} of {}\nconfig sync: {} waiting, {} need fix\n",
        preflight::status_name(snapshot.live_blockers.deployability.status),
        snapshot
            .checkout
            .production
            .as_deref()
            .unwrap_or("unset (disabled)"),
        snapshot.checkout.gate.allowed.as_str(),
        snapshot.routes.len(),
        snapshot.config_sync.waiting.len(),
        snapshot.config_sync.needs_fix.len(),
    )
}
