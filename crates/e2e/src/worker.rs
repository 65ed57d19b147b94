//! Starts the built Worker under `wrangler dev` on a free port with its own fresh local D1, and always stops it.

use crate::{paths, secrets};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::sync::Mutex;

/// Why the Worker could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The Worker has not been built.
    #[error("the worker is not built at {0}; run `cargo xtask test` (it builds it first)")]
    NotBuilt(String),
    /// A file could not be written.
    #[error("cannot prepare the worker's directory: {0}")]
    Io(#[from] std::io::Error),
    /// Migrations failed.
    #[error("d1 migrations failed: {0}")]
    Migrations(String),
    /// A D1 command failed three times.
    #[error("d1 command failed: {0}")]
    Query(String),
    /// The Worker did not answer in time.
    #[error("the worker did not answer within {0:?}; wrangler said:\n{1}")]
    Timeout(Duration, String),
}

/// What the Worker is started with.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Secrets written to the instance's `.dev.vars`.
    pub secrets: Vec<(String, String)>,
    /// Vars, replacing the wrangler config's.
    pub vars: Vec<(String, String)>,
    /// Apply the D1 migrations before starting.
    pub migrate: bool,
    /// The port to listen on; `None` picks a free one. Set it when another process (the
    /// Stripe emulator's webhook URL) must know the Worker's address before it starts.
    pub port: Option<u16>,
    /// Another Worker script to run instead of ours (the benchmark's JS baseline).
    pub main: Option<std::path::PathBuf>,
    /// Serve the static documents through the assets layer (`ASSETS`, every request reaching
    /// the Worker first) as wrangler.jsonc does; `false` only for the benchmark's plain
    /// hello-world, which shows what that layer costs.
    pub assets: bool,
    /// The rate limiting bindings' limits per 60 s.
    pub rate_limits: RateLimits,
    /// The webhook queue and its dead-letter lane (used when `WEBHOOK_MODE` is `queue`).
    pub webhook_queue: QueueSettings,
    /// wrangler's `--log-level` (`warn` by default; `log` keeps the Worker's own log lines,
    /// which tests that read `wrangler.log` need).
    pub log_level: &'static str,
}

/// The webhook queue's consumer settings (wrangler `queues.consumers[]`), main lane and dead-letter lane.
#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    /// Messages per consumer batch (`max_batch_size`, at most 100).
    pub max_batch_size: u32,
    /// Seconds a partial batch waits (`max_batch_timeout`).
    pub max_batch_timeout: u32,
    /// Retries on the main lane before a message moves to the dead-letter queue.
    pub max_retries: u32,
    /// Retries on the dead-letter lane.
    pub dead_letter_retries: u32,
    /// Seconds before a retried message is delivered again (`retry_delay`, both lanes).
    pub retry_delay: u32,
}

impl QueueSettings {
    /// Quick settings for tests: full batches of 100, a 1 s timeout, immediate retries.
    pub const QUICK: QueueSettings = QueueSettings {
        max_batch_size: 100,
        max_batch_timeout: 1,
        max_retries: 3,
        dead_letter_retries: 100,
        retry_delay: 0,
    };
}

/// The webhook queue's name; its dead-letter queue adds `-dlq` (the Worker tells lanes apart by it).
pub const WEBHOOK_QUEUE: &str = "nyra-billing-webhooks";

/// The `simple` limits of the rate limiting bindings, per 60 seconds.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Checkouts per client IP (`CHECKOUT_IP_LIMITER`).
    pub checkout_per_ip: u32,
    /// Checkouts per device id (`CHECKOUT_DEVICE_LIMITER`).
    pub checkout_per_device: u32,
    /// Portal sessions per customer (`PORTAL_CUSTOMER_LIMITER`).
    pub portal_per_customer: u32,
}

impl RateLimits {
    /// Limits no test reaches by accident: every test shares one client IP.
    pub const GENEROUS: RateLimits = RateLimits {
        checkout_per_ip: 100_000,
        checkout_per_device: 1_000,
        portal_per_customer: 1_000,
    };
}

impl WorkerOptions {
    /// The local configuration: every fake secret, local vars, migrated D1.
    pub fn local(stripe_api_base: &str) -> Self {
        let own = |pairs: Vec<(&str, &str)>| {
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        };
        WorkerOptions {
            secrets: own(secrets::local()),
            vars: own(vec![
                ("ALLOWED_ORIGIN", "http://localhost:5173"),
                ("STRIPE_API_VERSION", "2026-02-25.clover"),
                ("STRIPE_API_BASE", stripe_api_base),
                ("NYRA_OFFLINE_GRACE_HOURS", "168"),
                ("BILLING_CHECKOUT", "test"),
                ("NYRA_ENV", "local"),
                ("WEBHOOK_MODE", "direct"),
            ]),
            migrate: true,
            port: None,
            main: None,
            assets: true,
            rate_limits: RateLimits::GENEROUS,
            webhook_queue: QueueSettings::QUICK,
            log_level: "warn",
        }
    }

    /// Sets wrangler's `--log-level` (`log` keeps the Worker's `console.log` lines in `wrangler.log`).
    pub fn with_log_level(self, log_level: &'static str) -> Self {
        WorkerOptions { log_level, ..self }
    }

    /// Webhooks go through the queue (`WEBHOOK_MODE=queue`) with these consumer settings.
    pub fn with_webhook_queue(self, settings: QueueSettings) -> Self {
        WorkerOptions {
            webhook_queue: settings,
            ..self
        }
        .with_var("WEBHOOK_MODE", "queue")
    }

    /// Sets the rate limits.
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Drops one secret.
    pub fn without_secret(mut self, name: &str) -> Self {
        self.secrets.retain(|(k, _)| k != name);
        self
    }

    /// Sets (or replaces) a var.
    pub fn with_var(mut self, name: &str, value: &str) -> Self {
        self.vars.retain(|(k, _)| k != name);
        self.vars.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets (or replaces) a secret.
    pub fn with_secret(mut self, name: &str, value: &str) -> Self {
        self.secrets.retain(|(k, _)| k != name);
        self.secrets.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A running Worker; dropping it stops wrangler and workerd.
pub struct Worker {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The instance's directory: config, `.dev.vars`, D1 state.
    pub dir: TempDir,
    /// From spawning wrangler to the first answer of `/health`.
    pub ready_after: Duration,
    child: Child,
    _guard: Option<std::process::ChildStdin>,
}

/// Two `wrangler dev` started at the same instant collide; start them one at a time.
static STARTING: Mutex<()> = Mutex::const_new(());

const START_TIMEOUT: Duration = Duration::from_secs(90);

impl Worker {
    /// Starts the built Worker with the given options on a free port.
    pub async fn start(options: WorkerOptions) -> Result<Worker, StartError> {
        let main = options.main.clone().unwrap_or_else(paths::worker_main);
        if !main.exists() {
            return Err(StartError::NotBuilt(main.display().to_string()));
        }
        let _turn = STARTING.lock().await;
        let dir = tempfile::Builder::new().prefix("nyra-worker-").tempdir()?;
        write_config(dir.path(), &options)?;
        if options.migrate {
            migrate(dir.path())?;
        }
        let port = match options.port {
            Some(port) => port,
            None => free_port()?,
        };
        let spawned = Instant::now();
        let mut child = spawn(dir.path(), port, options.log_level)?;
        let guard = child.stdin.take();
        let mut worker = Worker {
            base_url: format!("http://127.0.0.1:{port}"),
            dir,
            ready_after: Duration::ZERO,
            child,
            _guard: guard,
        };
        worker.wait_ready().await?;
        worker.ready_after = spawned.elapsed();
        Ok(worker)
    }

    /// Runs SQL against this instance's local D1 through wrangler and returns the rows as JSON.
    ///
    /// A failed run is tried again up to twice: wrangler's local D1 opens the same SQLite file
    /// as the running Worker, and a write the Worker holds open can refuse the second writer.
    pub fn d1(&self, sql: &str) -> Result<serde_json::Value, StartError> {
        let mut failure = String::new();
        for attempt in 0..3 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(250));
            }
            let output = wrangler(self.dir.path())
                .args(["d1", "execute", "DB", "--local", "--json", "--command", sql])
                .args(persist_args(self.dir.path()))
                .stdin(Stdio::null())
                .output()?;
            if output.status.success() {
                let value: serde_json::Value = serde_json::from_slice(&output.stdout)
                    .map_err(|e| StartError::Query(e.to_string()))?;
                return Ok(value[0]["results"].clone());
            }
            failure = wrangler_failure(&output);
        }
        Err(StartError::Query(format!("{sql}: {failure}")))
    }

    async fn wait_ready(&mut self) -> Result<(), StartError> {
        let client = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            let probe = client.get(format!("{}/health", self.base_url)).send().await;
            if probe.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(self.dir.path().join("wrangler.log")).unwrap_or_default();
        let tail: String = log
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        Err(StartError::Timeout(START_TIMEOUT, tail))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        stop_group(&mut self.child);
    }
}

/// Stops a child started in its own process group, and everything it started.
pub fn stop_group(child: &mut Child) {
    let Ok(pid) = i32::try_from(child.id()) else {
        return;
    };
    signal_group(pid, "TERM");
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    signal_group(pid, "KILL");
    let _ = child.wait();
}

fn signal_group(pid: i32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), "--".to_owned(), format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
}

fn write_config(dir: &Path, options: &WorkerOptions) -> std::io::Result<()> {
    let vars: serde_json::Map<String, serde_json::Value> = options
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let mut config = serde_json::json!({
        "name": "nyra-billing-api",
        "main": options.main.clone().unwrap_or_else(paths::worker_main),
        "compatibility_date": "2026-05-31",
        "vars": vars,
        "ratelimits": [
            limiter("CHECKOUT_IP_LIMITER", "1001", options.rate_limits.checkout_per_ip),
            limiter("CHECKOUT_DEVICE_LIMITER", "1002", options.rate_limits.checkout_per_device),
            limiter("PORTAL_CUSTOMER_LIMITER", "1003", options.rate_limits.portal_per_customer),
        ],
        "queues": queues(&options.webhook_queue),
        "d1_databases": [{
            "binding": "DB",
            "database_name": "nyra_billing",
            "database_id": "replace-with-cloudflare-d1-database-id",
            "migrations_dir": paths::root().join("migrations"),
        }],
    });
    if options.assets {
        config["assets"] = serde_json::json!({
            "directory": paths::assets(),
            "binding": "ASSETS",
            "run_worker_first": true,
            "html_handling": "auto-trailing-slash",
            "not_found_handling": "none"
        });
    }
    std::fs::create_dir_all(paths::assets())?;
    std::fs::write(
        dir.join("wrangler.json"),
        serde_json::to_vec_pretty(&config)?,
    )?;
    let pairs: Vec<(&str, &str)> = options
        .secrets
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    std::fs::write(dir.join(".dev.vars"), secrets::dotenv(&pairs))
}

/// The webhook queue's producer binding and the consumers of it and of its dead-letter queue.
fn queues(settings: &QueueSettings) -> serde_json::Value {
    let dead_letter = format!("{WEBHOOK_QUEUE}-dlq");
    serde_json::json!({
        "producers": [{ "binding": "WEBHOOK_QUEUE", "queue": WEBHOOK_QUEUE }],
        "consumers": [
            {
                "queue": WEBHOOK_QUEUE,
                "max_batch_size": settings.max_batch_size,
                "max_batch_timeout": settings.max_batch_timeout,
                "max_retries": settings.max_retries,
                "retry_delay": settings.retry_delay,
                "dead_letter_queue": dead_letter,
            },
            {
                "queue": dead_letter,
                "max_batch_size": settings.max_batch_size,
                "max_batch_timeout": settings.max_batch_timeout,
                "max_retries": settings.dead_letter_retries,
                "retry_delay": settings.retry_delay,
            },
        ],
    })
}

/// One Workers Rate Limiting binding: `limit` requests per 60 seconds.
fn limiter(name: &str, namespace_id: &str, limit: u32) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "namespace_id": namespace_id,
        "simple": { "limit": limit, "period": 60 },
    })
}

/// A wrangler command for an instance directory, offline and without telemetry.
pub fn wrangler(dir: &Path) -> Command {
    let mut command = Command::new(paths::node_bin().join("wrangler"));
    command
        .current_dir(dir)
        .env("PATH", paths::path_with_node())
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("WRANGLER_LOG_PATH", dir.join("logs"))
        .env("NO_COLOR", "1")
        .arg("--config")
        .arg(dir.join("wrangler.json"));
    command
}

fn persist_args(dir: &Path) -> [String; 2] {
    [
        "--persist-to".to_owned(),
        dir.join("state").display().to_string(),
    ]
}

/// What a failed wrangler run said: with `--json` its error is on stdout, otherwise on stderr.
fn wrangler_failure(output: &std::process::Output) -> String {
    let said = |bytes: &[u8]| String::from_utf8_lossy(bytes).trim().to_owned();
    let (stdout, stderr) = (said(&output.stdout), said(&output.stderr));
    let json = serde_json::from_str::<serde_json::Value>(&stdout).ok();
    let text = json.as_ref().and_then(|v| v["error"]["text"].as_str());
    match text {
        Some(text) => format!("{text} ({})", output.status),
        None => format!("{}: {stdout} {stderr}", output.status),
    }
}

fn migrate(dir: &Path) -> Result<(), StartError> {
    let output = wrangler(dir)
        .args(["d1", "migrations", "apply", "DB", "--local"])
        .args(persist_args(dir))
        .stdin(Stdio::null())
        .output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(StartError::Migrations(wrangler_failure(&output)))
    }
}

fn spawn(dir: &Path, port: u16, log_level: &str) -> std::io::Result<Child> {
    let log = std::fs::File::create(dir.join("wrangler.log"))?;
    let mut command = wrangler(dir);
    command
        .env(REMOVE_AFTER, dir)
        .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &free_port()?.to_string()])
        .args(persist_args(dir))
        .args([
            "--show-interactive-dev-session=false",
            "--log-level",
            log_level,
        ]);
    let mut wrapper = guarded(command);
    wrapper.stdout(log.try_clone()?).stderr(log);
    wrapper.spawn()
}

/// Wraps a command so that it and everything it starts die with the caller: the wrapper
/// runs in its own process group and kills that group when its stdin (held by the caller)
/// closes. When the command's environment names a [`REMOVE_AFTER`] directory, the wrapper
/// removes it once the group has stopped: a Worker the caller never drops (the tests' shared
/// stacks) leaves no directory behind.
pub fn guarded(command: Command) -> Command {
    let mut wrapper = Command::new("sh");
    wrapper
        .arg("-c")
        .arg(concat!(
            "\"$@\" & cat >/dev/null; trap '' TERM; kill -TERM 0; wait; ",
            "if [ -n \"$NYRA_REMOVE_AFTER\" ]; then rm -rf \"$NYRA_REMOVE_AFTER\"; fi"
        ))
        .arg("sh")
        .arg(command.get_program())
        .args(command.get_args())
        .stdin(Stdio::piped())
        .process_group(0);
    if let Some(dir) = command.get_current_dir() {
        wrapper.current_dir(dir);
    }
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapper.env(key, value),
            None => wrapper.env_remove(key),
        };
    }
    wrapper
}

/// The environment variable naming a directory [`guarded`] removes after its command stops.
pub const REMOVE_AFTER: &str = "NYRA_REMOVE_AFTER";

/// A free TCP port on the loopback interface.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
