//! Where the repository, its node tools and the built Worker live.

use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")))
}

/// The repo-local node tools (`npm ci` puts them there).
pub fn node_bin() -> PathBuf {
    root().join("node_modules/.bin")
}

/// schemathesis' command, in the venv `cargo xtask setup` makes.
pub fn schemathesis() -> PathBuf {
    root().join(".tools/schemathesis/bin/st")
}

/// The wrangler entry of the built Worker.
pub fn worker_main() -> PathBuf {
    root().join("crates/worker/build/worker/shim.mjs")
}

/// The static assets (docs page and spec) built by `cargo xtask assets`.
pub fn assets() -> PathBuf {
    root().join("dist/assets")
}

/// `PATH` with the repo's node tools first, so wrangler runs on the pinned Node.
pub fn path_with_node() -> String {
    let current = std::env::var("PATH").unwrap_or_default();
    format!("{}:{current}", node_bin().display())
}
