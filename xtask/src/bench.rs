//! `cargo xtask bench`: our Worker against a plain JavaScript Worker on the same workerd, as ratios, with budgets.

use crate::bench_stack::Route;
use crate::run::{self, Result, root, step};
use crate::{bench_profile, setup, worker};
use nyra_e2e::{Worker, WorkerOptions};
use serde_json::{Value, json};

/// Cold starts measured per Worker, the three Workers taking turns so that a change in the
/// machine's load hits all three alike (the median is reported).
const COLD_STARTS: usize = 7;

/// How long each load run lasts.
fn duration(quick: bool) -> u32 {
    if quick { 3 } else { 4 }
}

/// How many rounds each comparison takes: in a round every Worker of the comparison is loaded
/// once, one after another, so that a change in the shared machine's load hits all of them
/// alike; each figure is the median of its rounds.
fn rounds(quick: bool) -> usize {
    if quick { 1 } else { 3 }
}

/// One measured route: ours and the JS baseline at the same concurrency.
struct Figure {
    name: String,
    rps: f64,
    js_rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs the benchmark and checks the budgets.
pub fn run(args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    setup::all()?;
    if args.iter().any(|a| a == "--stages-only") {
        return run_stages_only(quick);
    }
    let size = worker::build()?;
    if args.iter().any(|a| a == "--webhook-only") {
        return run_webhook_only(quick);
    }
    if args.iter().any(|a| a == "--refresh-only") {
        return run_refresh_only(quick);
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let (cold, figures, ingest) = runtime.block_on(measure(quick))?;
    let (stages, refresh_stages) = runtime.block_on(profiles(quick))?;
    let mut results = results_json(&size, cold, &figures, &ingest);
    results["webhookStagesMs"] = stages_json(&stages);
    results["refreshStagesMs"] = stages_json(&refresh_stages);
    write_outputs(&results, &figures)?;
    print_table(&size, cold, &figures, &ingest);
    print_stages("webhook", &stages);
    print_stages("license refresh (hot path)", &refresh_stages);
    budgets(&size, cold, &figures, &ingest)
}

async fn measure(quick: bool) -> Result<(Cold, Vec<Figure>, Ingest)> {
    step("workers-rs hello-world (the framework's floor)");
    run::status(
        worker::worker_build(RUST_HELLO, &[]),
        "worker-build (hello)",
    )?;
    step("cold starts (process start to first 200, median of 7, taking turns)");
    let (ours, js, floor) = cold_starts().await?;
    eprintln!("    ours {ours:.0} ms, js {js:.0} ms, workers-rs hello {floor:.0} ms");
    let (mut stack, hello) = stack_and_hello().await?;
    let rust_hello = Worker::start(rust_hello_options())
        .await
        .map_err(|e| e.to_string())?;
    let plain_hello = Worker::start(plain_hello_options())
        .await
        .map_err(|e| e.to_string())?;
    let mut figures = Vec::new();
    for connections in [1, 16] {
        // The JS hello-world first (every ratio's base); the same JS hello-world without the
        // assets layer shows what that layer costs every Worker that has one (not a budget).
        let at_root = |name: &'static str| -> Route { (name, "/".to_owned(), vec![]) };
        let mut targets: Vec<(&str, Route)> = vec![
            (&hello.base_url, at_root("js_hello")),
            (&plain_hello.base_url, at_root("js_hello_without_assets")),
            (&rust_hello.base_url, at_root("workers_rs_hello")),
        ];
        let routes = stack.routes().into_iter();
        targets.extend(routes.map(|route| (stack.worker.base_url.as_str(), route)));
        let mut samples: Vec<Vec<Figure>> = targets.iter().map(|_| Vec::new()).collect();
        for _ in 0..rounds(quick) {
            for ((base, (_, target, headers)), samples) in targets.iter().zip(&mut samples) {
                samples.push(load(base, target, headers, connections, quick)?);
            }
        }
        let mut medians = samples
            .into_iter()
            .map(|s| median_by(s, |f: &Figure| f.rps));
        let js_rps = medians.next().map_or(0.0, |js| js.rps);
        for ((_, (name, ..)), mut figure) in targets.iter().skip(1).zip(medians) {
            figure.name = format!("{name}@c{connections}");
            figure.js_rps = js_rps;
            eprintln!(
                "    {}: {:.0} req/s (js {js_rps:.0})",
                figure.name, figure.rps
            );
            figures.push(figure);
        }
    }
    figures.extend(refresh(&mut stack, &hello, quick).await?);
    let ingest = webhook_ingest(&stack, &hello, quick).await?;
    Ok(((ours, js, floor), figures, ingest))
}

/// License refresh under 16 closed loops, with the JS hello-world and one-INSERT Workers under
/// the same client: `[license_refresh@c16, js_one_d1_write@c16]`, both against hello.
async fn refresh(
    stack: &mut crate::bench_stack::Stack,
    hello: &Worker,
    quick: bool,
) -> Result<[Figure; 2]> {
    step("license refresh (16 closed loops, each on its own device, chaining tokens)");
    let seconds = duration(quick);
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..rounds(quick) {
        samples[0].push(stack.refresh_load(seconds).await?);
        samples[1].push(crate::bench_stack::js_load(&hello.base_url, "/", 16, seconds).await?);
        let js_write = crate::bench_stack::js_load(&hello.base_url, "/d1-write", 16, seconds);
        samples[2].push(js_write.await?);
    }
    let [refresh, hello_loop, js_write] =
        samples.map(|s| median_by(s, |l: &crate::bench_stack::LoopFigure| l.rps));
    let refreshed = Figure {
        name: "license_refresh@c16".to_owned(),
        rps: refresh.rps,
        js_rps: hello_loop.rps,
        p50_ms: refresh.p50_ms,
        p99_ms: refresh.p99_ms,
    };
    eprintln!(
        "    license_refresh@c16: {:.0} req/s (js {:.0}, same client)",
        refresh.rps, hello_loop.rps
    );
    // The floor of any answer that must write once: the JS Worker doing one INSERT, same client.
    let one_write = Figure {
        name: "js_one_d1_write@c16".to_owned(),
        rps: js_write.rps,
        js_rps: hello_loop.rps,
        p50_ms: js_write.p50_ms,
        p99_ms: js_write.p99_ms,
    };
    Ok([refreshed, one_write])
}

/// `--refresh-only`: just the license refresh figures against the JS hello-world and one-INSERT
/// Workers (no budgets).
fn run_refresh_only(quick: bool) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let figures = runtime.block_on(async {
        let (mut stack, hello) = stack_and_hello().await?;
        refresh(&mut stack, &hello, quick).await
    })?;
    for figure in &figures {
        eprintln!(
            "    {}: {:.0} req/s = {:.2}x js hello ({:.0}), p99 {:.1} ms",
            figure.name,
            figure.rps,
            figure.rps / figure.js_rps,
            figure.js_rps,
            figure.p99_ms
        );
    }
    Ok(())
}

/// Webhook ingest in direct mode, the JS one-INSERT baseline, and queue mode.
async fn webhook_ingest(
    stack: &crate::bench_stack::Stack,
    hello: &Worker,
    quick: bool,
) -> Result<Ingest> {
    step("webhook ingest (signed unique and duplicate events, 16 concurrent)");
    let count = if quick { 600 } else { 2000 };
    let direct = stack.ingest(count).await?;
    let js_same_client_per_s = crate::bench_stack::js_ingest(&hello.base_url, count).await?;
    let js_our_batch_per_s = crate::bench_stack::js_our_batch(&hello.base_url, count).await?;
    let js_d1_writes_per_s = load(&hello.base_url, "/d1-write", &[], 16, quick)?.rps;
    let queue_send = format!("{}/queue-send", hello.base_url);
    let js_queue_send_per_s = crate::bench_stack::js_ingest(&queue_send, count).await?;
    step("webhook ingest, queue mode (WEBHOOK_MODE=queue; unique events until all applied)");
    let queued = crate::bench_queue::measure(if quick { 1000 } else { 4000 }).await?;
    eprintln!(
        "    applied {:.0} events/s (accepted {:.0}/s), {}/{} recorded",
        queued.applied_per_s, queued.accepted_per_s, queued.recorded, queued.sent
    );
    Ok(Ingest {
        unique_per_s: direct.unique_per_s,
        duplicate_per_s: direct.duplicate_per_s,
        sent: direct.sent,
        recorded: direct.recorded,
        js_d1_writes_per_s,
        js_same_client_per_s,
        js_queue_send_per_s,
        js_our_batch_per_s,
        queue: Some(queued),
    })
}

/// Mean ms per stage.
type Stages = Vec<(&'static str, f64)>;

/// The webhook's and the license refresh's stages from the timing build.
async fn profiles(quick: bool) -> Result<(Stages, Stages)> {
    let count = if quick { 200 } else { 500 };
    let webhook = bench_profile::webhook_stages(count).await?;
    let refresh = bench_profile::refresh_stages(count).await?;
    Ok((webhook, refresh))
}

fn stages_json(stages: &[(&str, f64)]) -> Value {
    let by_stage: serde_json::Map<String, Value> = stages
        .iter()
        .map(|(stage, ms)| ((*stage).to_owned(), json!(ms)))
        .collect();
    Value::Object(by_stage)
}

/// `--stages-only`: just the webhook request's and the license refresh's stages.
fn run_stages_only(quick: bool) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let (webhook, refresh) = runtime.block_on(profiles(quick))?;
    print_stages("webhook", &webhook);
    print_stages("license refresh (hot path)", &refresh);
    Ok(())
}

/// `--webhook-only`: just the webhook ingest figures (direct, queue, JS baseline), no budgets
/// but "lost nothing".
fn run_webhook_only(quick: bool) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let ingest = runtime.block_on(async {
        let (stack, hello) = stack_and_hello().await?;
        webhook_ingest(&stack, &hello, quick).await
    })?;
    print_ingest(&ingest);
    let queued = ingest.queue.as_ref().is_some_and(|q| q.recorded == q.sent);
    if ingest.recorded == ingest.sent && queued {
        Ok(())
    } else {
        Err("webhook ingest lost events".to_owned())
    }
}

/// Our Worker's bench stack (with its activated devices) and the JS baseline Worker.
async fn stack_and_hello() -> Result<(crate::bench_stack::Stack, Worker)> {
    let stack = crate::bench_stack::Stack::start().await?;
    let hello = Worker::start(js_options())
        .await
        .map_err(|e| e.to_string())?;
    Ok((stack, hello))
}

/// Cold starts, ms: ours, the JS hello-world, the workers-rs hello-world.
type Cold = (f64, f64, f64);

/// The workers-rs hello-world crate (`bench/rust-hello`).
const RUST_HELLO: &str = "bench/rust-hello";

fn rust_hello_options() -> WorkerOptions {
    let mut options = WorkerOptions::local("http://127.0.0.1:9");
    options.main = Some(root().join(RUST_HELLO).join("build/index.js"));
    options
}

fn ours_options() -> WorkerOptions {
    WorkerOptions::local("http://127.0.0.1:9")
}

fn js_options() -> WorkerOptions {
    let mut options = WorkerOptions::local("http://127.0.0.1:9");
    options.main = Some(root().join("bench/hello/index.js"));
    options
}

/// The JS hello-world without the assets layer every other Worker here has (as ours must).
fn plain_hello_options() -> WorkerOptions {
    let mut options = js_options();
    options.assets = false;
    options
}

async fn cold_starts() -> Result<Cold> {
    let starters: [fn() -> WorkerOptions; 3] = [ours_options, js_options, rust_hello_options];
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..COLD_STARTS {
        for (options, samples) in starters.iter().zip(&mut samples) {
            let worker = Worker::start(options()).await.map_err(|e| e.to_string())?;
            samples.push(worker.ready_after.as_secs_f64() * 1000.0);
        }
    }
    let [ours, js, floor] = samples.map(|s| median_by(s, |ms: &f64| *ms));
    Ok((ours, js, floor))
}

/// The sample with the median `key` (a rate, or the sample itself).
fn median_by<T>(mut samples: Vec<T>, key: fn(&T) -> f64) -> T {
    samples.sort_by(|a, b| key(a).total_cmp(&key(b)));
    samples.swap_remove(samples.len() / 2)
}

/// One autocannon run; bounded in time, loopback only.
fn load(
    base: &str,
    target: &str,
    headers: &[(String, String)],
    connections: u32,
    quick: bool,
) -> Result<Figure> {
    let mut command = run::node_tool("autocannon");
    command
        .args(["--json", "--connections", &connections.to_string()])
        .args(["--duration", &duration(quick).to_string()]);
    for (name, value) in headers {
        command.args(["--headers", &format!("{name}={value}")]);
    }
    command.arg(format!("{base}{target}"));
    let text = run::output(command, "autocannon")?;
    let report: Value =
        serde_json::from_str(text.trim()).map_err(|e| format!("autocannon output: {e}"))?;
    let non_2xx = report["non2xx"].as_u64().unwrap_or(0) + report["errors"].as_u64().unwrap_or(0);
    if non_2xx > 0 {
        return Err(format!(
            "{target}: {non_2xx} answers were not 2xx during the load run"
        ));
    }
    Ok(Figure {
        name: String::new(),
        rps: report["requests"]["average"].as_f64().unwrap_or(0.0),
        js_rps: 0.0,
        p50_ms: report["latency"]["p50"].as_f64().unwrap_or(0.0),
        p99_ms: report["latency"]["p99"].as_f64().unwrap_or(0.0),
    })
}

/// Webhook ingest figures.
pub struct Ingest {
    /// Unique events accepted per second.
    pub unique_per_s: f64,
    /// Duplicate deliveries answered per second.
    pub duplicate_per_s: f64,
    /// Unique events sent.
    pub sent: usize,
    /// processed_events rows afterwards.
    pub recorded: usize,
    /// The JS baseline's single-INSERT requests per second on the same local D1 (autocannon GETs).
    pub js_d1_writes_per_s: f64,
    /// The same JS Worker taking the webhook's own signed bodies from the webhook's client
    /// (reads the body, one INSERT): the one-write floor for this request shape.
    pub js_same_client_per_s: f64,
    /// The same JS Worker sending each of those bodies to the webhook queue instead (reads the
    /// body, one queue send): the least queue mode's webhook route does per event.
    pub js_queue_send_per_s: f64,
    /// The same JS Worker committing our webhook's own D1 plan for each of those events (one
    /// batch: the claim and the guarded upsert; no signature check): the floor of recording an
    /// event our way, whatever the language.
    pub js_our_batch_per_s: f64,
    /// The same ingest through the webhook queue (`WEBHOOK_MODE=queue`).
    pub queue: Option<crate::bench_queue::QueueIngest>,
}

fn ratio(ours: f64, base: f64) -> f64 {
    if base > 0.0 { ours / base } else { 0.0 }
}

fn results_json(size: &worker::Size, cold: Cold, figures: &[Figure], ingest: &Ingest) -> Value {
    let mut routes = serde_json::Map::new();
    for f in figures {
        routes.insert(
            f.name.clone(),
            json!({"rps": f.rps, "jsRps": f.js_rps, "rpsRatio": ratio(f.rps, f.js_rps), "p50Ms": f.p50_ms, "p99Ms": f.p99_ms}),
        );
    }
    json!({
        "worker": {"gzipBytes": size.gzip, "wasmBytes": size.wasm},
        "coldStartMs": {"ours": cold.0, "js": cold.1, "ratio": ratio(cold.0, cold.1),
                        "workersRsHello": cold.2, "workersRsHelloRatio": ratio(cold.2, cold.1)},
        "routes": routes,
        "webhookIngest": {"uniquePerSecond": ingest.unique_per_s, "duplicatePerSecond": ingest.duplicate_per_s,
                          "sent": ingest.sent, "recorded": ingest.recorded,
                          "jsD1WritesPerSecond": ingest.js_d1_writes_per_s,
                          "ratioToJsD1Writes": ratio(ingest.unique_per_s, ingest.js_d1_writes_per_s),
                          "jsSameClientPerSecond": ingest.js_same_client_per_s,
                          "ratioToJsSameClient": ratio(ingest.unique_per_s, ingest.js_same_client_per_s),
                          "jsOurBatchPerSecond": ingest.js_our_batch_per_s,
                          "jsOurBatchRatioToJsSameClient": ratio(ingest.js_our_batch_per_s, ingest.js_same_client_per_s),
                          "ratioToJsOurBatch": ratio(ingest.unique_per_s, ingest.js_our_batch_per_s)},
        "webhookQueueIngest": ingest.queue.as_ref().map(|q| json!({
            "appliedPerSecond": q.applied_per_s, "acceptedPerSecond": q.accepted_per_s,
            "sent": q.sent, "recorded": q.recorded,
            "ratioToJsD1Writes": ratio(q.applied_per_s, ingest.js_d1_writes_per_s),
            "ratioToJsSameClient": ratio(q.applied_per_s, ingest.js_same_client_per_s),
            "jsQueueSendPerSecond": ingest.js_queue_send_per_s,
            "jsQueueSendRatioToJsSameClient": ratio(ingest.js_queue_send_per_s, ingest.js_same_client_per_s),
            "ratioToDirect": ratio(q.applied_per_s, ingest.unique_per_s)})),
    })
}

fn write_outputs(results: &Value, figures: &[Figure]) -> Result<()> {
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let text = serde_json::to_string_pretty(results).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("results.json"), text).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("ratios.svg"), svg(figures)).map_err(|e| e.to_string())?;
    eprintln!("\n    wrote target/bench/results.json and target/bench/ratios.svg");
    Ok(())
}

/// A horizontal bar chart of each route's requests/s ratio to the JS Worker.
fn svg(figures: &[Figure]) -> String {
    let row = 28;
    let height = 40 + row * figures.len();
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"13\">\
         <text x=\"10\" y=\"20\">requests/s ratio to the JS hello-world Worker (1.0 = line)</text>\
         <line x1=\"380\" y1=\"28\" x2=\"380\" y2=\"{height}\" stroke=\"#888\"/>"
    );
    for (i, f) in figures.iter().enumerate() {
        let y = 32 + row * i;
        let r = ratio(f.rps, f.js_rps);
        let width = (r * 200.0).min(400.0);
        out.push_str(&format!(
            "<text x=\"10\" y=\"{}\">{}</text><rect x=\"180\" y=\"{y}\" width=\"{width:.0}\" height=\"18\" fill=\"#2b6cb0\"/>\
             <text x=\"{:.0}\" y=\"{}\">{r:.2}</text>",
            y + 14,
            f.name,
            185.0 + width,
            y + 14
        ));
    }
    out.push_str("</svg>\n");
    out
}

fn print_table(size: &worker::Size, cold: Cold, figures: &[Figure], ingest: &Ingest) {
    eprintln!(
        "\n{:<28} {:>12} {:>12} {:>8} {:>9} {:>9}",
        "figure", "ours", "js", "ratio", "p50 ms", "p99 ms"
    );
    eprintln!(
        "{:<28} {:>12.0} {:>12.0} {:>8.2}",
        "cold start ms",
        cold.0,
        cold.1,
        ratio(cold.0, cold.1)
    );
    eprintln!(
        "{:<28} {:>12.0} {:>12.0} {:>8.2}",
        "workers-rs hello cold ms",
        cold.2,
        cold.1,
        ratio(cold.2, cold.1)
    );
    for f in figures {
        eprintln!(
            "{:<28} {:>12.0} {:>12.0} {:>8.2} {:>9.1} {:>9.1}",
            format!("{} req/s", f.name),
            f.rps,
            f.js_rps,
            ratio(f.rps, f.js_rps),
            f.p50_ms,
            f.p99_ms
        );
    }
    print_ingest(ingest);
    eprintln!(
        "{:<28} {:>12.1}",
        "worker gzip KiB",
        size.gzip as f64 / 1024.0
    );
    eprintln!(
        "{:<28} {:>12.1}",
        "worker wasm KiB",
        size.wasm as f64 / 1024.0
    );
}

fn print_ingest(ingest: &Ingest) {
    eprintln!(
        "{:<28} {:>12.0} {:>12.0} {:>8.2}",
        "webhook unique events/s",
        ingest.unique_per_s,
        ingest.js_d1_writes_per_s,
        ratio(ingest.unique_per_s, ingest.js_d1_writes_per_s)
    );
    eprintln!(
        "{:<28} {:>12.0} {:>12.0} {:>8.2}",
        "  same bodies, same client",
        ingest.unique_per_s,
        ingest.js_same_client_per_s,
        ratio(ingest.unique_per_s, ingest.js_same_client_per_s)
    );
    let (our_batch, same_client) = (ingest.js_our_batch_per_s, ingest.js_same_client_per_s);
    eprintln!(
        "{:<28} {our_batch:>12.0} {same_client:>12.0} {:>8.2}",
        "  js committing our batch/s",
        ratio(our_batch, same_client)
    );
    if let Some(q) = &ingest.queue {
        let same_client = ingest.js_same_client_per_s;
        for (name, ours) in [
            ("webhook queue applied/s", q.applied_per_s),
            ("webhook queue accepted/s", q.accepted_per_s),
            ("  js one queue send/s", ingest.js_queue_send_per_s),
        ] {
            let ratio = ratio(ours, same_client);
            eprintln!("{name:<28} {ours:>12.0} {same_client:>12.0} {ratio:>8.2}");
        }
        eprintln!(
            "{:<28} {:>12}",
            "webhook queue sent/recorded",
            format!("{}/{}", q.sent, q.recorded)
        );
    }
    eprintln!(
        "  (js column of the webhook rows: one D1 INSERT per request, 16 connections; autocannon \
         GETs on the first row, the webhook's own signed bodies and client on the others)"
    );
    eprintln!(
        "{:<28} {:>12.0}",
        "webhook duplicates/s", ingest.duplicate_per_s
    );
    eprintln!(
        "{:<28} {:>12}",
        "webhook sent / recorded",
        format!("{}/{}", ingest.sent, ingest.recorded)
    );
}

/// One webhook request, stage by stage (mean ms, one request at a time, timing build).
fn print_stages(request: &str, stages: &[(&str, f64)]) {
    let total: f64 = stages.iter().map(|(_, ms)| ms).sum();
    let title = format!("{request} stage (timing build, 1 connection)");
    eprintln!("\n{title:<44}  mean ms   share");
    for (stage, ms) in stages {
        let share = if total > 0.0 { ms / total * 100.0 } else { 0.0 };
        eprintln!("{stage:<44} {ms:>8.3}  {share:>5.1}%");
    }
    eprintln!("{:<44} {total:>8.3}", "total inside the Worker");
}

fn figure<'a>(figures: &'a [Figure], name: &str) -> Option<&'a Figure> {
    figures.iter().find(|f| f.name == name)
}

fn budgets(size: &worker::Size, cold: Cold, figures: &[Figure], ingest: &Ingest) -> Result<()> {
    let rps_ratio = |name: &str| {
        figure(figures, name)
            .map(|f| ratio(f.rps, f.js_rps))
            .unwrap_or(0.0)
    };
    let size_check = format!("worker gzip <= {} KiB", worker::GZIP_BUDGET_KIB);
    let checks = [
        (size_check.as_str(), size.within_budget()),
        ("cold start <= 1.05x js", ratio(cold.0, cold.1) <= 1.05),
        (
            "/health >= 0.95x js req/s (16 conns)",
            rps_ratio("health@c16") >= 0.95,
        ),
        (
            "license refresh >= 0.6x js req/s (16 conns, same client)",
            rps_ratio("license_refresh@c16") >= 0.6,
        ),
        (
            "webhook ingest >= 0.9x the js one-INSERT worker (direct; same bodies, same client)",
            ratio(ingest.unique_per_s, ingest.js_same_client_per_s) >= 0.9,
        ),
        (
            "webhook ingest through the queue >= 2x the js one-INSERT worker (applied)",
            ingest
                .queue
                .as_ref()
                .is_some_and(|q| ratio(q.applied_per_s, ingest.js_same_client_per_s) >= 2.0),
        ),
        (
            "webhook ingest lost nothing",
            ingest.recorded == ingest.sent,
        ),
        (
            "webhook queue mode lost nothing",
            ingest.queue.as_ref().is_some_and(|q| q.recorded == q.sent),
        ),
    ];
    step("budgets");
    let mut failed = Vec::new();
    for (name, ok) in checks {
        eprintln!("    {} - {name}", if ok { "ok" } else { "FAIL" });
        if !ok {
            failed.push(name);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("budgets not met: {}", failed.join("; ")))
    }
}
