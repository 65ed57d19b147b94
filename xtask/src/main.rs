//! Developer commands of nyra-billing-api: `cargo xtask dev` starts the local stack, `cargo xtask test` runs every test.

mod assets;
mod bench;
mod bench_profile;
mod bench_queue;
mod bench_stack;
mod codegen;
mod demo;
mod dev;
mod run;
mod setup;
mod test;
mod worker;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  dev              set up, build, and start the local stack (Worker :8787, Stripe emulator :12111)
  demo             walk the paid journey against a running `dev` stack, step by step
  test             set up, then run fmt, clippy, spec lint, codegen drift, unit, contract and e2e tests
  bench [--quick] [--webhook-only | --stages-only]  measure our Worker against a plain JS Worker on the same workerd; check the budgets
  codegen [--check] refresh generated/ from openapi.yaml (or only check it is current)
  build            build the release Worker and the static assets; print the Worker's size
  assets           build the static assets (docs page, openapi.json, openapi.yaml)
  setup            install what the commands and the tests need (idempotent)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = &args.get(1..).unwrap_or_default();
    let result = match args.first().map(String::as_str) {
        Some("dev") => dev::run(),
        Some("demo") => demo::run(),
        Some("test") => test::run(rest),
        Some("bench") => bench::run(rest),
        Some("codegen") => codegen::run(rest.iter().any(|a| a == "--check")),
        Some("build") => setup::all().and_then(|_| worker::build()).map(|_| ()),
        Some("assets") => setup::npm().and_then(|_| assets::build()),
        Some("setup") => setup::for_tests(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: {e}");
            ExitCode::FAILURE
        }
    }
}
