//! `stripe-emulator`: runs the Stripe emulator until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use nyra_emulator::{CLOVER, Config, Emulator};

/// A local test double of the Stripe API subset the billing Worker calls.
#[derive(Parser)]
#[command(name = "stripe-emulator", version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:12111")]
    listen: SocketAddr,
    /// Secret key API requests must present (falls back to STRIPE_SECRET_KEY).
    #[arg(long, env = "STRIPE_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// Webhook signing secret; with several comma-separated, the first signs
    /// (falls back to STRIPE_WEBHOOK_SECRET).
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: String,
    /// Where signed events are POSTed (none: events are only recorded).
    #[arg(long)]
    webhook_url: Option<String>,
    /// The only Stripe-Version accepted.
    #[arg(long, default_value = CLOVER)]
    api_version: String,
    /// Base URL for hosted checkout/portal links when it differs from the listen address.
    #[arg(long)]
    public_base: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let signing = cli
        .webhook_secret
        .split(',')
        .map(str::trim)
        .find(|s| !s.is_empty());
    let Some(signing) = signing else {
        eprintln!("stripe emulator: the webhook secret is empty");
        return ExitCode::FAILURE;
    };
    let config = Config {
        secret_key: cli.secret_key,
        webhook_secret: signing.to_owned(),
        webhook_url: cli.webhook_url,
        api_version: cli.api_version,
        public_base: cli.public_base,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("stripe emulator: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli.listen, config))
}

async fn run(listen: SocketAddr, config: Config) -> ExitCode {
    let emulator = match Emulator::start(listen, config).await {
        Ok(emulator) => emulator,
        Err(err) => {
            eprintln!("stripe emulator: cannot listen on {listen}: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("stripe emulator listening on {}", emulator.base_url());
    stopped().await;
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
