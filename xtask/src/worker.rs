//! Builds the release Worker with worker-build and reports its raw and gzip size.

use crate::run::{self, Result, root, step};
use crate::{assets, setup};
use std::io::Write;

/// The upload size budget, gzip KiB (issue 16's target, reached at 197.3 KiB; docs/capacity.md,
/// "Worker size", says what the Worker is made of). `cargo xtask bench` fails above it;
/// `cargo xtask build` only reports it.
pub const GZIP_BUDGET_KIB: u64 = 250;

/// The Worker's size as uploaded.
pub struct Size {
    /// The wasm module, bytes.
    pub wasm: u64,
    /// Every uploaded file, gzip-compressed, bytes.
    pub gzip: u64,
}

/// Builds the assets and the release Worker; prints the size.
pub fn build() -> Result<Size> {
    assets::build()?;
    step("release Worker (worker-build --release; about a minute cold)");
    run::status(worker_build("crates/worker", &[]), "worker-build")?;
    let size = size_of("crates/worker/build")?;
    eprintln!(
        "    Worker size: wasm {:.1} KiB, upload gzip {:.1} KiB ({} the {GZIP_BUDGET_KIB} KiB budget)",
        size.wasm as f64 / 1024.0,
        size.gzip as f64 / 1024.0,
        if size.within_budget() {
            "within"
        } else {
            "OVER"
        },
    );
    Ok(size)
}

impl Size {
    /// True when the upload is at most [`GZIP_BUDGET_KIB`].
    pub fn within_budget(&self) -> bool {
        self.gzip <= GZIP_BUDGET_KIB * 1024
    }
}

/// `worker-build --release` in the crate at `dir` (relative to the repo), with our tools.
pub fn worker_build(dir: &str, args: &[&str]) -> std::process::Command {
    let mut command = run::command(&setup::cargo_bin("worker-build").display().to_string());
    let node_bin = nyra_e2e::paths::node_bin();
    command
        .current_dir(root().join(dir))
        .arg("--release")
        .args(args)
        .env("WASM_BINDGEN_BIN", setup::cargo_bin("wasm-bindgen"))
        .env("WASM_OPT_BIN", node_bin.join("wasm-opt"))
        .env("ESBUILD_BIN", node_bin.join("esbuild"));
    command
}

/// Measures a worker-build output directory (relative to the repo).
pub fn size_of(dir: &str) -> Result<Size> {
    let build = root().join(dir);
    let files = ["index_bg.wasm", "index.js", "worker/shim.mjs"];
    let mut gzip = 0;
    for file in files {
        let bytes = std::fs::read(build.join(file)).map_err(|e| format!("{file}: {e}"))?;
        gzip += gzip_len(&bytes);
    }
    let wasm = std::fs::metadata(build.join("index_bg.wasm"))
        .map_err(|e| e.to_string())?
        .len();
    Ok(Size { wasm, gzip })
}

fn gzip_len(bytes: &[u8]) -> u64 {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = encoder.write_all(bytes);
    encoder.finish().map(|v| v.len() as u64).unwrap_or(0)
}
