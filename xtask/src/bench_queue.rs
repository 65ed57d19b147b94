//! The benchmark's queue-mode webhook ingest: events applied per second through the queue consumer, and nothing lost.
//!
//! A Worker of its own with `WEBHOOK_MODE=queue` (the e2e harness's quick queue settings:
//! batches of up to 100, 1 s batch timeout). The clock runs from the first delivery until
//! `processed_events` holds every unique event, read straight from the local D1 file with
//! `sqlite3` every 50 ms (through `wrangler d1` when that file or `sqlite3` is missing, about
//! 1 s per look). Then 30% of the events are delivered again and the count must not move.

use crate::bench_stack::{deliver, elapsed, event_bodies};
use crate::run::Result;
use nyra_e2e::worker::QueueSettings;
use nyra_e2e::{Worker, WorkerOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long the consumer may take to record everything.
const SETTLE_WITHIN: Duration = Duration::from_secs(300);

/// Queue-mode webhook ingest figures.
pub struct QueueIngest {
    /// Unique events recorded per second, first delivery to last row.
    pub applied_per_s: f64,
    /// Unique deliveries answered (enqueued) per second.
    pub accepted_per_s: f64,
    /// Unique events sent.
    pub sent: usize,
    /// processed_events rows after the duplicates settled.
    pub recorded: usize,
}

/// Delivers `count` unique signed events and 30% again through the queue.
pub async fn measure(count: usize) -> Result<QueueIngest> {
    let options =
        WorkerOptions::local("http://127.0.0.1:9").with_webhook_queue(QueueSettings::QUICK);
    let worker = Worker::start(options).await.map_err(|e| e.to_string())?;
    let bodies = event_bodies(count)?;
    let started = Instant::now();
    deliver(&worker.base_url, bodies.clone()).await?;
    let accepted_per_s = count as f64 / elapsed(started);
    let reader = Reader::new(&worker);
    reader.wait_for(count).await?;
    let applied_per_s = count as f64 / elapsed(started);
    let duplicates: Vec<Vec<u8>> = bodies.into_iter().take(count * 3 / 10).collect();
    deliver(&worker.base_url, duplicates).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok(QueueIngest {
        applied_per_s,
        accepted_per_s,
        sent: count,
        recorded: reader.count()?,
    })
}

/// Counts the bench's rows in processed_events.
struct Reader<'a> {
    worker: &'a Worker,
    file: Option<PathBuf>,
}

const COUNT_SQL: &str =
    "SELECT COUNT(*) AS n FROM processed_events WHERE event_id LIKE 'evt_bench_%'";

impl<'a> Reader<'a> {
    fn new(worker: &'a Worker) -> Self {
        let dir = worker.dir.path().join("state/v3/d1");
        let file = sqlite_files(&dir).into_iter().next().filter(|_| {
            Command::new("sqlite3")
                .arg("-version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
        Reader { worker, file }
    }

    fn count(&self) -> Result<usize> {
        if let Some(file) = &self.file {
            let output = Command::new("sqlite3")
                .arg(file)
                .arg(COUNT_SQL)
                .output()
                .map_err(|e| e.to_string())?;
            if output.status.success() {
                let text = String::from_utf8_lossy(&output.stdout);
                return text.trim().parse().map_err(|e| format!("sqlite3: {e}"));
            }
        }
        let rows = self.worker.d1(COUNT_SQL).map_err(|e| e.to_string())?;
        Ok(rows[0]["n"].as_u64().unwrap_or(0) as usize)
    }

    async fn wait_for(&self, count: usize) -> Result<()> {
        let deadline = Instant::now() + SETTLE_WITHIN;
        loop {
            let n = self.count()?;
            if n >= count {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "queue mode recorded {n} of {count} events within {SETTLE_WITHIN:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The `.sqlite` files under `dir` (the local D1 database is the only one).
fn sqlite_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(sqlite_files(&path));
        } else if path.extension().is_some_and(|e| e == "sqlite") {
            found.push(path);
        }
    }
    found
}
