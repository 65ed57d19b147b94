//! The `verify-hosted` command line: arguments, secrets from the environment, output and exit code.

use std::io::Write;
use std::time::Duration;

use super::{Options, Report, Secrets, SetupError};

/// Exit code when the checklist could not start (missing token, bad URL): nothing was verified.
pub const ERROR: u8 = 2;
/// Exit code after Ctrl-C (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;

/// Arguments of `nyra-ops verify-hosted`; secrets are read from the environment only.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The deployed Worker's base URL, e.g. `https://billing.example.com`.
    #[arg(long, value_name = "URL")]
    pub base: String,
    /// Device id for the checkout and activation (default: `verify-hosted-<unix seconds>`).
    #[arg(long, value_name = "ID")]
    pub device_id: Option<String>,
    /// Run even when /health reports stripeMode live.
    #[arg(long)]
    pub allow_live: bool,
    /// Print the report as JSON ({base, items: [{name, checklist, status, detail}], outcome}).
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for the payment and the first activation.
    #[arg(long, value_name = "N", default_value_t = 600)]
    pub wait_seconds: u64,
    /// Pay through this Stripe emulator's control route instead of waiting for a person.
    #[arg(long, value_name = "URL")]
    pub pay_with_emulator: Option<String>,
}

/// Runs the command; the result is the exit code.
pub fn run(args: &VerifyArgs) -> u8 {
    let options = match options(args) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("error: {e}");
            return ERROR;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ERROR;
        }
    };
    let json = args.json;
    let mut print = |item: &super::Item| {
        if !json {
            emit(&format!("{}\n", item.line()));
        }
    };
    let report = runtime.block_on(super::run(&options, &mut print));
    finish(&report, json)
}

/// Options from the arguments and the environment.
fn options(args: &VerifyArgs) -> Result<Options, SetupError> {
    let mut options = Options::new(&args.base, Secrets::from_env()?);
    if let Some(device) = &args.device_id {
        options.device_id = device.clone();
    }
    options.allow_live = args.allow_live;
    options.wait = Duration::from_secs(args.wait_seconds);
    options.pay_with_emulator = args.pay_with_emulator.clone();
    options.interactive = true;
    options.validate()?;
    Ok(options)
}

/// Prints the JSON report (when asked) and the summary; the exit code: 0 PASSED, 1 FAILED,
/// 2 INCOMPLETE, 130 interrupted.
fn finish(report: &Report, json: bool) -> u8 {
    if json {
        let text = serde_json::to_string_pretty(report).unwrap_or_default();
        emit(&format!("{text}\n"));
        eprintln!("{}", report.summary());
    } else {
        emit(&format!("{}\n", report.summary()));
    }
    if report.interrupted {
        INTERRUPTED
    } else {
        report.outcome.exit_code()
    }
}

/// Writes to stdout; a closed pipe is not worth a panic.
fn emit(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
