//! Refreshes or checks `generated/`: the Rust models, server and client, and the frontend's TypeScript types.

use crate::run::{self, Result, root, step};

/// Writes (or with `check`, compares) every generated file.
pub fn run(check: bool) -> Result<()> {
    step(if check {
        "codegen drift check"
    } else {
        "codegen: refreshing generated/"
    });
    let outputs =
        nyra_codegen::generate(&root().join("openapi.yaml")).map_err(|e| e.to_string())?;
    let mut files: Vec<(String, String)> = outputs
        .files()
        .iter()
        .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
        .collect();
    files.push(("api.d.ts".to_owned(), typescript()?));
    let mut stale = Vec::new();
    for (name, text) in files {
        let path = root().join("generated").join(&name);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == text {
            continue;
        }
        if check {
            stale.push(name);
        } else {
            std::fs::create_dir_all(root().join("generated")).map_err(|e| e.to_string())?;
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("    wrote generated/{name}");
        }
    }
    if stale.is_empty() {
        eprintln!("    generated/ is current");
        Ok(())
    } else {
        Err(format!(
            "generated/ is stale ({}): openapi.yaml or the generator changed; run `cargo xtask codegen` and commit generated/",
            stale.join(", ")
        ))
    }
}

/// The frontend's TypeScript types from openapi-typescript.
fn typescript() -> Result<String> {
    let mut command = run::node_tool("openapi-typescript");
    command.arg("openapi.yaml");
    run::output(command, "openapi-typescript")
}
