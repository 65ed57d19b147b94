//! A webhook request and a license refresh broken into stages inside workerd, from a timing build of the Worker.
//!
//! Builds the Worker a second time with the `timing` feature into `crates/worker/build-timing`,
//! starts it with wrangler's log level at `log`, sends requests one at a time (the marks are
//! per isolate, so concurrent requests would interleave them) and averages the `timing` lines
//! the Worker logs. A webhook: routing, body read, signature verify, parse + plan, D1 batch,
//! response. A refresh of a row this isolate read in the last 5 s (the hot path): routing,
//! query read, bindings and keys, token verify, the token rotation, the new token and licence,
//! response. The first tenth is discarded as warm-up.

use crate::bench_stack::Stack;
use crate::run::{self, Result, root, step};
use nyra_e2e::{Worker, WorkerOptions};
use std::collections::BTreeMap;

/// The stages a webhook request is split into, in order.
pub const STAGES: [&str; 6] = ["route", "read", "verify", "parse_plan", "d1", "respond"];

/// The stages a hot-path license refresh is split into, in order.
pub const REFRESH_STAGES: [&str; 7] = ["route", "read", "setup", "verify", "d1", "sign", "respond"];

/// Mean milliseconds per stage over `count` sequential unique events.
pub async fn webhook_stages(count: usize) -> Result<Vec<(&'static str, f64)>> {
    step("webhook stages inside workerd (timing build, one request at a time)");
    build_timing()?;
    let worker = Worker::start(timing_options(WorkerOptions::local("http://127.0.0.1:9")))
        .await
        .map_err(|e| e.to_string())?;
    let template = crate::bench_stack::event_template()?;
    for i in 0..count {
        let body = crate::bench_stack::event_body(&template, 900_000 + i);
        crate::bench_stack::deliver_one(&worker.base_url, body).await?;
    }
    means(&log_of(&worker)?, count / 10, &STAGES)
}

/// Mean milliseconds per stage over `count` sequential refreshes of one paid device (the timing
/// build must be built: [`webhook_stages`] builds it).
pub async fn refresh_stages(count: usize) -> Result<Vec<(&'static str, f64)>> {
    step("license refresh stages inside workerd (timing build, one request at a time)");
    let stack = Stack::start_with(timing_options).await?;
    let before = log_of(&stack.worker)?.lines().count();
    stack.refresh_one_at_a_time(count).await?;
    let log = log_of(&stack.worker)?;
    let lines: Vec<&str> = log.lines().skip(before).collect();
    means(&lines.join("\n"), count / 10, &REFRESH_STAGES)
}

/// The timing build, logging at `log` level.
fn timing_options(options: WorkerOptions) -> WorkerOptions {
    let mut options = options.with_log_level("log");
    options.main = Some(root().join("crates/worker/build-timing/worker/shim.mjs"));
    options
}

fn log_of(worker: &Worker) -> Result<String> {
    std::fs::read_to_string(worker.dir.path().join("wrangler.log"))
        .map_err(|e| format!("wrangler.log: {e}"))
}

fn build_timing() -> Result<()> {
    let args = ["--out-dir", "build-timing", ".", "--features", "timing"];
    let command = crate::worker::worker_build("crates/worker", &args);
    run::output(command, "worker-build (timing)").map(|_| ())
}

/// Averages each of `stages` over the `timing` lines after the first `skip` that have them all
/// (a refresh that missed the hot path logs other stages).
fn means(log: &str, skip: usize, stages: &[&'static str]) -> Result<Vec<(&'static str, f64)>> {
    let complete: Vec<BTreeMap<&str, f64>> = log
        .lines()
        .filter_map(|l| l.split_once("timing ").map(|(_, r)| r))
        .map(|line| {
            line.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .filter_map(|(stage, ms)| Some((stage, ms.parse::<f64>().ok()?)))
                .collect::<BTreeMap<&str, f64>>()
        })
        .filter(|spans| stages.iter().all(|s| spans.contains_key(s)))
        .skip(skip)
        .collect();
    if complete.is_empty() {
        return Err(format!(
            "the timing build logged no line with every stage of {stages:?}"
        ));
    }
    let n = complete.len() as f64;
    Ok(stages
        .iter()
        .map(|s| (*s, complete.iter().map(|spans| spans[s]).sum::<f64>() / n))
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
        let means = means(log, 1, &STAGES)?;
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
        assert!(super::means("timing read=1", 0, &STAGES).is_err());
        let refresh = "timing route=1 read=1 setup=1 verify=1 d1=1 sign=1 respond=1\n\
                       timing route=3 read=3 setup=3 verify=3 d1=3 sign=3 respond=3\n\
                       timing route=9 read=9 setup=9 sign=9 respond=9\n";
        assert_eq!(super::means(refresh, 0, &REFRESH_STAGES)?[4], ("d1", 2.0));
        Ok(())
    }
}
