//! `nyra-ops`: the command line of the billing ops tool (docs/ops.md).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nyra_ops::dashboard::{self, CheckoutState, StripeMode};
use nyra_ops::repo::{DASHBOARD, DASHBOARD_SCHEMA, MANIFEST, Repo, WRANGLER};
use nyra_ops::sync::{self, SyncOptions};
use nyra_ops::{OpsError, check, manifest, preflight};

/// Exit code when a check fails, a file is stale, a value needs fixing or money is blocked.
const FAILED: u8 = 1;
/// Exit code when a command could not run at all.
const ERROR: u8 = 2;

/// Ops tool of the NyrA billing Worker.
#[derive(Debug, Parser)]
#[command(name = "nyra-ops", version, about)]
struct Cli {
    /// Repo root (default: the nearest directory holding wrangler.jsonc and openapi.yaml).
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Verify wrangler.jsonc, migrations, spec, Worker routes, manifest, the checkout gate and that no secret is committed.
    Check {
        /// Dashboard answers the checkout gate is judged by (default: deploy/dashboard.json; missing means nothing answered).
        #[arg(long, value_name = "PATH")]
        dashboard: Option<PathBuf>,
    },
    /// Validate the dashboard answers and write the production config into wrangler.jsonc.
    ConfigSync {
        /// Dashboard answers file (default: deploy/dashboard.json; missing means nothing answered).
        #[arg(long, value_name = "PATH")]
        dashboard: Option<PathBuf>,
        /// The wrangler config to update (default: the repo's wrangler.jsonc).
        #[arg(long, value_name = "PATH")]
        wrangler: Option<PathBuf>,
        /// Report what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The checkout switch to write (overrides billingCloud.checkout); written only when the preflight allows it.
        #[arg(long, value_enum, value_name = "STATE")]
        checkout: Option<CheckoutState>,
    },
    /// Rollback step 1: write BILLING_CHECKOUT=disabled into env.production of wrangler.jsonc (nothing else).
    CheckoutDisable {
        /// The wrangler config to update (default: the repo's wrangler.jsonc).
        #[arg(long, value_name = "PATH")]
        wrangler: Option<PathBuf>,
    },
    /// Write deploy/manifest.json from the repo's sources, or compare with --check.
    Manifest {
        /// Compare only; exit 1 when the file differs.
        #[arg(long)]
        check: bool,
    },
    /// Write deploy/dashboard.schema.json, or compare with --check.
    DashboardSchema {
        /// Compare only; exit 1 when the file differs.
        #[arg(long)]
        check: bool,
    },
    /// Report whether money may move: NO_GO_LIVE_MONEY, GO_TEST_MODE or GO_LIVE.
    LivePreflight {
        /// The Stripe mode to deploy.
        #[arg(long, value_enum)]
        mode: StripeMode,
        /// Exit 0 even when blocked.
        #[arg(long)]
        allow_blocked: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Dashboard answers file (default: deploy/dashboard.json; missing means nothing answered).
        #[arg(long, value_name = "PATH")]
        dashboard: Option<PathBuf>,
    },
    /// Print the license public keys derived from NYRA_LICENSE_SIGNING_SECRET (and, during a
    /// rotation, NYRA_LICENSE_SIGNING_SECRET_PREVIOUS) in the environment, current first.
    LicensePublicKey,
    /// Write the Cloud Billing snapshot page (static HTML; --json prints its model).
    Snapshot(nyra_ops::snapshot::SnapshotArgs),
    /// Run the hosted checklist against a deployed Worker in Stripe test mode (docs/deploy.md).
    VerifyHosted(nyra_ops::verify::cli::VerifyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let repo = cli
        .root
        .clone()
        .map(Repo::at)
        .unwrap_or_else(Repo::discover);
    match run(&repo, cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(ERROR)
        }
    }
}

/// Runs one command; the `u8` is the exit code.
fn run(repo: &Repo, command: Cmd) -> Result<u8, OpsError> {
    match command {
        Cmd::Check { dashboard } => Ok(run_check(repo, dashboard.as_deref())),
        Cmd::ConfigSync {
            dashboard,
            wrangler,
            dry_run,
            json,
            checkout,
        } => run_sync(
            repo,
            SyncOptions {
                dashboard_required: dashboard.is_some(),
                dashboard: dashboard.unwrap_or_else(|| repo.path(DASHBOARD)),
                wrangler: wrangler.unwrap_or_else(|| repo.path(WRANGLER)),
                dry_run,
                checkout,
            },
            json,
        ),
        Cmd::CheckoutDisable { wrangler } => {
            let path = wrangler.unwrap_or_else(|| repo.path(WRANGLER));
            println!("{}", sync::disable_checkout(repo, &path)?);
            Ok(0)
        }
        Cmd::Manifest { check } => {
            let text = manifest::render(&manifest::generate(repo, check::entries())?)?;
            generated_file(repo, MANIFEST, &text, check, "manifest")
        }
        Cmd::DashboardSchema { check } => generated_file(
            repo,
            DASHBOARD_SCHEMA,
            &dashboard::schema_json(),
            check,
            "dashboard-schema",
        ),
        Cmd::LivePreflight {
            mode,
            allow_blocked,
            json,
            dashboard,
        } => run_preflight(repo, mode, allow_blocked, json, dashboard),
        Cmd::LicensePublicKey => license_public_key(),
        Cmd::Snapshot(args) => Ok(nyra_ops::snapshot::run(repo, &args).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            ERROR
        })),
        Cmd::VerifyHosted(args) => Ok(nyra_ops::verify::cli::run(&args)),
    }
}

fn run_check(repo: &Repo, dashboard: Option<&Path>) -> u8 {
    let lines = check::run(repo, dashboard);
    emit(&check::render(&lines));
    if lines.iter().any(|l| l.failure.is_some()) {
        FAILED
    } else {
        0
    }
}

fn run_sync(repo: &Repo, options: SyncOptions, json: bool) -> Result<u8, OpsError> {
    let report = sync::run(repo, &options)?;
    if json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    } else {
        emit(&report.render_text());
    }
    Ok(if report.needs_fix.is_empty() {
        0
    } else {
        FAILED
    })
}

fn run_preflight(
    repo: &Repo,
    mode: StripeMode,
    allow_blocked: bool,
    json: bool,
    dashboard: Option<PathBuf>,
) -> Result<u8, OpsError> {
    let required = dashboard.is_some();
    let path = dashboard.unwrap_or_else(|| repo.path(DASHBOARD));
    let loaded = dashboard::load(repo, &path, required)?;
    let report = preflight::run(repo, &loaded, mode);
    if json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    } else {
        emit(&report.render_text());
    }
    Ok(if report.deployability.blocked && !allow_blocked {
        FAILED
    } else {
        0
    })
}

/// Writes a generated file, or with `check` compares it.
fn generated_file(
    repo: &Repo,
    relative: &str,
    text: &str,
    check: bool,
    command: &str,
) -> Result<u8, OpsError> {
    let path = repo.path(relative);
    if !check {
        repo.write(&path, text)?;
        println!("wrote {relative}");
        return Ok(0);
    }
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text) {
        println!("ok - {relative} is up to date");
        Ok(0)
    } else {
        println!(
            "fail - {relative} differs from the generator; run `cargo run -p nyra-ops -- {command}`"
        );
        Ok(FAILED)
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn emit(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Prints the public keys (never the secrets), current first, one per line with its kid on stderr.
fn license_public_key() -> Result<u8, OpsError> {
    let secret =
        std::env::var("NYRA_LICENSE_SIGNING_SECRET").map_err(|_| OpsError::MissingSigningSecret)?;
    let previous = std::env::var("NYRA_LICENSE_SIGNING_SECRET_PREVIOUS").ok();
    let keys = [Some(secret), previous.filter(|p| !p.trim().is_empty())];
    for secret in keys.iter().flatten() {
        let keys = nyra_domain::license::Keys::from_secret(secret)?;
        println!("{}", keys.public_key_b64());
        eprintln!("kid: {}", keys.kid());
    }
    Ok(0)
}
