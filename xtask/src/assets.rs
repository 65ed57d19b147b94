//! The static assets served beside the Worker: the docs page, openapi.json and openapi.yaml.

use crate::run::{self, Result, root, step};

/// Builds `dist/assets` from openapi.yaml.
pub fn build() -> Result<()> {
    step("static assets (docs page, openapi.json, openapi.yaml)");
    let dir = nyra_e2e::paths::assets();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let yaml = std::fs::read_to_string(root().join("openapi.yaml"))
        .map_err(|e| format!("openapi.yaml: {e}"))?;
    let value: serde_json::Value =
        yaml_serde::from_str(&yaml).map_err(|e| format!("openapi.yaml: {e}"))?;
    let json = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
    write(&dir.join("openapi.yaml"), &yaml)?;
    write(&dir.join("openapi.json"), &json)?;
    // The assets layer would answer `text/yaml`; the spec documents `application/yaml`.
    write(&dir.join("_headers"), HEADERS)?;
    let mut docs = run::node_tool("redocly");
    docs.args([
        "build-docs",
        "openapi.yaml",
        "--inlineBundle",
        "--title",
        "NyrA Billing API",
    ])
    .arg("--output")
    .arg(dir.join("docs.html"));
    run::output(docs, "redocly build-docs").map(|_| eprintln!("    dist/assets: ok"))
}

/// Workers static-assets `_headers`: the media type the spec documents for each document.
const HEADERS: &str = "/openapi.yaml\n  Content-Type: application/yaml; charset=utf-8\n";

fn write(path: &std::path::Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}
