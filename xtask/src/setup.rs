//! Idempotent set-up: wasm target, worker-build, wasm-bindgen-cli (Cargo.lock's version), npm packages, `.dev.vars`; for the tests also the OpenAPI fuzzer.

use crate::run::{self, Result, root, step};
use std::path::PathBuf;
use std::process::Command;

/// worker-build's pinned version.
pub const WORKER_BUILD_VERSION: &str = "0.8.7";

/// Everything the other commands need.
pub fn all() -> Result<()> {
    step("set-up (installs only what is missing)");
    wasm_target()?;
    tool("worker-build", "worker-build", WORKER_BUILD_VERSION, true)?;
    tool(
        "wasm-bindgen",
        "wasm-bindgen-cli",
        &wasm_bindgen_version()?,
        false,
    )?;
    npm()?;
    dev_vars()
}

/// [`all`], then the test suite's own tools.
pub fn for_tests() -> Result<()> {
    all()?;
    schemathesis()
}

fn wasm_target() -> Result<()> {
    let installed = run::output(
        command("rustup", &["target", "list", "--installed"]),
        "rustup",
    )?;
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        eprintln!("    wasm32-unknown-unknown: present");
        return Ok(());
    }
    run::status(
        command("rustup", &["target", "add", "wasm32-unknown-unknown"]),
        "rustup target add",
    )
}

fn command(program: &str, args: &[&str]) -> Command {
    let mut c = run::command(program);
    c.args(args);
    c
}

/// Where `cargo install` puts binaries.
pub fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    home.join("bin").join(name)
}

fn tool(bin: &str, krate: &str, version: &str, locked: bool) -> Result<()> {
    let path = cargo_bin(bin);
    let current = Command::new(&path).arg("--version").output();
    if current.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(version)) {
        eprintln!("    {krate} {version}: present");
        return Ok(());
    }
    eprintln!("    {krate} {version}: installing (about 3 minutes, once per machine)");
    let mut args = vec!["install", krate, "--version", version];
    if locked {
        args.push("--locked");
    }
    run::status(command("cargo", &args), &format!("cargo install {krate}"))
}

/// The wasm-bindgen version Cargo.lock pins; the CLI must match it exactly.
pub fn wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            let version = lines.next().unwrap_or_default();
            return Ok(version
                .trim_start_matches("version = ")
                .trim_matches('"')
                .to_owned());
        }
    }
    Err("Cargo.lock has no wasm-bindgen entry".to_owned())
}

/// `npm ci` when node_modules is missing or older than package-lock.json.
pub fn npm() -> Result<()> {
    let lock = root().join("package-lock.json");
    let marker = root().join("node_modules/.package-lock.json");
    let modified = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if matches!((modified(&lock), modified(&marker)), (Some(l), Some(m)) if m >= l) {
        eprintln!("    npm packages: present");
        return Ok(());
    }
    run::status(command("npm", &["ci", "--no-audit", "--no-fund"]), "npm ci")
}

/// schemathesis (the e2e suite's OpenAPI fuzzer) in its own venv, with every package pinned by
/// `xtask/schemathesis-requirements.txt`; reinstalled whenever that file changes.
fn schemathesis() -> Result<()> {
    let wanted = root().join("xtask/schemathesis-requirements.txt");
    let pins =
        std::fs::read_to_string(&wanted).map_err(|e| format!("{}: {e}", wanted.display()))?;
    let st = nyra_e2e::paths::schemathesis();
    let venv = st
        .parent()
        .and_then(|bin| bin.parent())
        .ok_or("no venv dir")?;
    let installed = venv.join("requirements.txt");
    if st.exists() && std::fs::read_to_string(&installed).is_ok_and(|text| text == pins) {
        eprintln!("    schemathesis: present");
        return Ok(());
    }
    let dir = venv.display().to_string();
    run::status(command("python3", &["-m", "venv", "--clear", &dir]), "python3 -m venv").map_err(
        |e| format!("{e} (the OpenAPI fuzzer needs Python 3 with venv; on Debian or Ubuntu: apt install python3-venv)"),
    )?;
    let pip = format!("{dir}/bin/pip");
    let requirements = wanted.display().to_string();
    let args = [
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-r",
        &requirements,
    ];
    run::status(command(&pip, &args), "pip install schemathesis")?;
    std::fs::write(&installed, pins).map_err(|e| format!("{}: {e}", installed.display()))
}

/// Writes `.dev.vars` with obviously fake secrets when it is missing.
pub fn dev_vars() -> Result<()> {
    let path = root().join(".dev.vars");
    if path.exists() {
        eprintln!("    .dev.vars: present (kept as is)");
        return Ok(());
    }
    let text = nyra_e2e::secrets::dotenv(&nyra_e2e::secrets::local());
    std::fs::write(&path, text).map_err(|e| format!(".dev.vars: {e}"))?;
    eprintln!("    .dev.vars: written with fake local secrets");
    Ok(())
}
