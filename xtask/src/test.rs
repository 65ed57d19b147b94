//! `cargo xtask test`: set-up, then formatting, lints, spec lint, codegen drift, docs, the Worker build and every test.

use crate::run::{self, Result, step};
use crate::{codegen, setup, worker};
use std::time::Instant;

/// Runs the whole suite, or with `--worker-only` just the end-to-end tests of the Worker.
pub fn run(args: &[String]) -> Result<()> {
    let started = Instant::now();
    setup::for_tests()?;
    if args.iter().any(|a| a == "--worker-only") {
        worker::build()?;
        return tests(&["--package", "nyra-e2e"]);
    }
    step("rustfmt");
    run::status(
        cargo(&["fmt", "--all", "--", "--check"]),
        "cargo fmt --check",
    )?;
    step("openapi.yaml lint (redocly)");
    let mut lint = run::node_tool("redocly");
    lint.args(["lint", "--format=stylish", "openapi.yaml"]);
    run::status(lint, "redocly lint")?;
    codegen::run(true)?;
    step("clippy -D warnings (native workspace, then the wasm Worker)");
    run::status(
        cargo(&[
            "clippy",
            "--workspace",
            "--exclude",
            "nyra-billing-worker",
            "--exclude",
            "nyra-bench-hello",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
        "clippy (native)",
    )?;
    run::status(
        cargo(&[
            "clippy",
            "-p",
            "nyra-billing-worker",
            "-p",
            "nyra-bench-hello",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]),
        "clippy (wasm Worker)",
    )?;
    step("rustdoc -D warnings");
    let mut doc = cargo(&[
        "doc",
        "--workspace",
        "--exclude",
        "nyra-billing-worker",
        "--exclude",
        "nyra-bench-hello",
        "--no-deps",
    ]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    run::status(doc, "cargo doc")?;
    worker::build()?;
    tests(&[
        "--workspace",
        "--exclude",
        "nyra-billing-worker",
        "--exclude",
        "nyra-bench-hello",
    ])?;
    eprintln!(
        "\nall checks passed in {:.0}s",
        started.elapsed().as_secs_f32()
    );
    Ok(())
}

fn tests(selection: &[&str]) -> Result<()> {
    step("unit, contract and end-to-end tests");
    let mut args = vec!["test"];
    args.extend_from_slice(selection);
    run::status(cargo(&args), "cargo test")
}

fn cargo(args: &[&str]) -> std::process::Command {
    let mut command = run::command("cargo");
    command.args(args);
    command
}
