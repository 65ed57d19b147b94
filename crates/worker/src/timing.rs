//! Bench-only stage timing (feature `timing`): `performance.now()` marks, one log line per request.
//!
//! `cargo xtask bench` builds a second Worker with this feature and reads the lines from
//! wrangler's log to break a webhook request and a license refresh into stages; the production build compiles every
//! call to nothing. Locally workerd advances `performance.now()` during CPU work too (deployed
//! Workers advance it only at I/O), so the spans measure CPU and I/O alike.

#[cfg(feature = "timing")]
mod marks {
    use std::cell::RefCell;
    use wasm_bindgen::JsValue;
    use worker::js_sys::{Function, Reflect, global};

    thread_local! {
        static MARKS: RefCell<Vec<(&'static str, f64)>> = const { RefCell::new(Vec::new()) };
    }

    fn now() -> f64 {
        let performance = Reflect::get(&global(), &JsValue::from_str("performance"));
        let call = |p: JsValue| {
            let now = Reflect::get(&p, &JsValue::from_str("now")).ok()?;
            Function::from(now).call0(&p).ok()?.as_f64()
        };
        performance.ok().and_then(call).unwrap_or(0.0)
    }

    /// Starts a request's marks.
    pub fn start() {
        MARKS.with_borrow_mut(|m| {
            m.clear();
            m.push(("start", now()));
        });
    }

    /// Marks the end of `stage`.
    pub fn mark(stage: &'static str) {
        MARKS.with_borrow_mut(|m| m.push((stage, now())));
    }

    /// Logs `timing stage=ms ...` (each stage since the previous mark) and clears.
    pub fn report() {
        let marks = MARKS.with_borrow_mut(std::mem::take);
        let spans: Vec<String> = marks
            .windows(2)
            .map(|w| format!("{}={:.3}", w[1].0, w[1].1 - w[0].1))
            .collect();
        worker::console_log!("timing {}", spans.join(" "));
    }
}

#[cfg(feature = "timing")]
pub use marks::{mark, report, start};

/// Starts a request's marks (no-op without the `timing` feature).
#[cfg(not(feature = "timing"))]
pub fn start() {}

/// Marks the end of a stage (no-op without the `timing` feature).
#[cfg(not(feature = "timing"))]
pub fn mark(_stage: &'static str) {}

/// Logs the request's stages (no-op without the `timing` feature).
#[cfg(not(feature = "timing"))]
pub fn report() {}
