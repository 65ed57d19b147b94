//! A Worker wired to an in-process Stripe emulator that delivers its events back to that Worker.

use crate::secrets::{STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET};
use crate::{Worker, WorkerOptions};
use nyra_emulator::{Config, Emulator};
use std::future::Future;
use std::sync::OnceLock;

/// Starts the emulator (its webhook URL is the Worker's), then the Worker on that port.
pub async fn start(
    configure: impl FnOnce(WorkerOptions) -> WorkerOptions,
) -> Result<(Worker, Emulator), String> {
    let port = crate::worker::free_port().map_err(|e| e.to_string())?;
    let mut config = Config::new(STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET);
    config.webhook_url = Some(format!("http://127.0.0.1:{port}/api/billing/webhook"));
    let emulator = Emulator::start(([127, 0, 0, 1], 0).into(), config)
        .await
        .map_err(|e| format!("stripe emulator: {e}"))?;
    let mut options = configure(WorkerOptions::local(&emulator.base_url()));
    options.port = Some(port);
    let worker = Worker::start(options).await.map_err(|e| e.to_string())?;
    Ok((worker, emulator))
}

/// Starts a value once, in a runtime of its own that outlives every test's runtime.
///
/// The value is never dropped; its Worker dies with the test process (see `worker::guarded`).
pub fn shared<T, F>(cell: &'static OnceLock<T>, make: fn() -> F) -> &'static T
where
    T: Send + Sync + 'static,
    F: Future<Output = Result<T, String>> + 'static,
{
    cell.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("a runtime");
            runtime.block_on(async move {
                let _ = sender.send(make().await);
                std::future::pending::<()>().await;
            });
        });
        match receiver.recv() {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => panic!("shared stack starts: {e}"),
            Err(_) => panic!("the shared stack's thread ended"),
        }
    })
}
