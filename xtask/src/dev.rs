//! `cargo xtask dev`: set up, build, migrate local D1, start the Stripe emulator and the Worker; Ctrl-C stops both.

use crate::run::{self, Result, root, step};
use crate::{setup, worker};
use nyra_emulator::{Config, Emulator};
use std::process::Child;
use std::time::Duration;

const WORKER: &str = "http://127.0.0.1:8787";
const EMULATOR: &str = "127.0.0.1:12111";

/// Starts the local stack and waits for Ctrl-C.
pub fn run() -> Result<()> {
    setup::all()?;
    worker::build()?;
    step("local D1 migrations");
    run::status(
        wrangler(&[
            "d1",
            "migrations",
            "apply",
            "DB",
            "--local",
            "--env",
            "local",
        ]),
        "migrations",
    )?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(serve())
}

async fn serve() -> Result<()> {
    step("starting the Stripe emulator and the Worker");
    let emulator = Emulator::start(parse(EMULATOR)?, emulator_config())
        .await
        .map_err(|e| {
            format!("stripe emulator on {EMULATOR}: {e} (is another `cargo xtask dev` running?)")
        })?;
    let mut child = start_worker()?;
    let ready = wait_ready(&mut child).await;
    if let Err(e) = ready {
        nyra_e2e::worker::stop_group(&mut child);
        emulator.shutdown().await;
        return Err(e);
    }
    print_urls(&emulator.base_url());
    let outcome = tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        code = wait_exit(&mut child) => Err(format!("wrangler exited ({code}); see its output above")),
    };
    eprintln!("\nstopping the Worker and the Stripe emulator");
    nyra_e2e::worker::stop_group(&mut child);
    emulator.shutdown().await;
    outcome
}

fn parse(addr: &str) -> Result<std::net::SocketAddr> {
    addr.parse().map_err(|e| format!("{addr}: {e}"))
}

/// The emulator shares the Worker's fake key and webhook secret from `.dev.vars`.
fn emulator_config() -> Config {
    let vars = std::fs::read_to_string(root().join(".dev.vars")).unwrap_or_default();
    let get = |name: &str, fallback: &str| {
        vars.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(|v| v.trim().trim_matches('"').to_owned())
            .unwrap_or_else(|| fallback.to_owned())
    };
    let mut config = Config::new(
        get("STRIPE_SECRET_KEY", nyra_e2e::secrets::STRIPE_SECRET_KEY),
        get(
            "STRIPE_WEBHOOK_SECRET",
            nyra_e2e::secrets::STRIPE_WEBHOOK_SECRET,
        ),
    );
    config.webhook_url = Some(format!("{WORKER}/api/billing/webhook"));
    config
}

fn wrangler(args: &[&str]) -> std::process::Command {
    let mut command = run::node_tool("wrangler");
    command.args(args);
    command
}

/// Starts wrangler in its own process group, guarded so it dies with this process.
fn start_worker() -> Result<Child> {
    let mut command = wrangler(&[
        "dev",
        "--env",
        "local",
        "--ip",
        "127.0.0.1",
        "--port",
        "8787",
    ]);
    command
        .arg("--show-interactive-dev-session=false")
        .env("SKIP_WORKER_BUILD", "1");
    nyra_e2e::worker::guarded(command)
        .spawn()
        .map_err(|e| format!("wrangler dev: {e}"))
}

async fn wait_ready(child: &mut Child) -> Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "wrangler dev exited early ({status}); is port 8787 free?"
            ));
        }
        if client.get(format!("{WORKER}/health")).send().await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the Worker did not answer within 60 s".to_owned())
}

async fn wait_exit(child: &mut Child) -> String {
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status.to_string();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn print_urls(emulator: &str) {
    eprintln!(
        "\nlocal stack is up:\n  Worker           {WORKER}\n  health           {WORKER}/health\n  API reference    {WORKER}/docs\n  OpenAPI          {WORKER}/openapi.json  {WORKER}/openapi.yaml\n  Stripe emulator  {emulator}\n\nPress Ctrl-C to stop everything."
    );
}
