//! Running commands with visible progress and the repo's tool environment.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// A failed step, with what to do about it.
pub type Result<T> = std::result::Result<T, String>;

/// The repository root.
pub fn root() -> PathBuf {
    nyra_e2e::paths::root()
}

/// Prints a step header.
pub fn step(title: &str) {
    eprintln!("\n==> {title}");
}

/// A command in the repo root with node tools first on PATH, telemetry off and offline-safe settings.
pub fn command(program: &str) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(root())
        .env("PATH", nyra_e2e::paths::path_with_node())
        .env("REDOCLY_TELEMETRY", "off")
        .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false");
    command
}

/// A repo-local node tool.
pub fn node_tool(name: &str) -> Command {
    command(&nyra_e2e::paths::node_bin().join(name).display().to_string())
}

/// Runs a command to completion, streaming its output; fails on a non-zero exit.
pub fn status(mut command: Command, what: &str) -> Result<()> {
    let started = Instant::now();
    let status = command
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    let took = started.elapsed().as_secs_f32();
    if status.success() {
        eprintln!("    {what}: ok ({took:.1}s)");
        Ok(())
    } else {
        Err(format!("{what}: failed ({status}) after {took:.1}s"))
    }
}

/// Runs a command and captures stdout; fails on a non-zero exit.
pub fn output(mut command: Command, what: &str) -> Result<String> {
    let out = command
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{what}: failed ({})\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
