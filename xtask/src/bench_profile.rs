//! The webhook request broken into stages inside workerd, from a timing build of the Worker.
//!
//! Builds the Worker a second time with the `timing` feature into `crates/worker/build-timing`,
//! starts it with wrangler's log level at `log`, sends signed unique events one at a time (the
//! marks are per isolate, so concurrent requests would interleave them) and averages the
//! `timing` lines the Worker logs: routing, body read, signature verify, parse + plan, D1 batch,
//! response. The first tenth is discarded as warm-up.

use crate::run::{self, Result, root, step};
use nyra_e2e::{Worker, WorkerOptions};
use std::collections::BTreeMap;

/// The stages a webhook request is split into, in order.
pub const STAGES: [&str; 6] = ["route", "read", "verify", "parse_plan", "d1", "respond"];

/// Mean milliseconds per stage over `count` sequential unique events.
pub async fn webhook_stages(count: usize) -> Result<Vec<(&'static str, f64)>> {
    step("webhook stages inside workerd (timing build, one request at a time)");
    build_timing()?;
    let mut options = WorkerOptions::local("http://127.0.0.1:9").with_log_level("log");
    options.main = Some(root().join("crates/worker/build-timing/worker/shim.mjs"));
    let worker = Worker::start(options).await.map_err(|e| e.to_string())?;
    let template = crate::bench_stack::event_template()?;
    for i in 0..count {
        let body = crate::bench_stack::event_body(&template, 900_000 + i);
        crate::bench_stack::deliver_one(&worker.base_url, body).await?;
    }
    let log = std::fs::read_to_string(worker.dir.path().join("wrangler.log"))
        .map_err(|e| format!("wrangler.log: {e}"))?;
    means(&log, count / 10)
}

fn build_timing() -> Result<()> {
    let args = ["--out-dir", "build-timing", ".", "--features", "timing"];
    let command = crate::worker::worker_build("crates/worker", &args);
    run::output(command, "worker-build (timing)").map(|_| ())
}

/// Averages each stage over the `timing` lines after the first `skip`.
fn means(log: &str, skip: usize) -> Result<Vec<(&'static str, f64)>> {
    let mut sums: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
    let lines = log
        .lines()
        .filter_map(|l| l.split_once("timing ").map(|(_, r)| r));
    for line in lines.skip(skip) {
        for (stage, ms) in line.split_whitespace().filter_map(|kv| kv.split_once('=')) {
            if let (Some(known), Ok(ms)) = (STAGES.iter().find(|s| **s == stage), ms.parse::<f64>())
            {
                let entry = sums.entry(known).or_default();
                entry.0 += ms;
                entry.1 += 1;
            }
        }
    }
    if sums.len() != STAGES.len() {
        return Err(format!("the timing build logged stages {:?}", sums.keys()));
    }
    Ok(STAGES
        .iter()
        .map(|s| (*s, sums.get(s).map_or(0.0, |(sum, n)| sum / *n as f64)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_average_each_stage_after_the_warm_up() -> Result<()> {
        let log = "noise\n\
                   [wrangler:info] timing route=9 read=9 verify=9 parse_plan=9 d1=9 respond=9\n\
                   timing route=1 read=1 verify=2 parse_plan=3 d1=4 respond=5\n\
                   timing route=2 read=3 verify=2 parse_plan=1 d1=0 respond=1\n";
        let means = means(log, 1)?;
        assert_eq!(
            means,
            vec![
                ("route", 1.5),
                ("read", 2.0),
                ("verify", 2.0),
                ("parse_plan", 2.0),
                ("d1", 2.0),
                ("respond", 3.0)
            ]
        );
        assert!(super::means("timing read=1", 0).is_err());
        Ok(())
    }
}
