//! The never-rules of docs/architecture.md, checked against the code and the dependency graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The crate names in `cargo tree` of a package (normal dependencies, one target).
fn dependency_names(package: &str, target: Option<&str>) -> BTreeSet<String> {
    let mut command = Command::new(env!("CARGO"));
    command
        .current_dir(root())
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}", "-p", package]);
    if let Some(target) = target {
        command.args(["--target", target]);
    }
    let output = command.output().expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_domain_never_depends_on_the_worker_runtime() {
    let deps = dependency_names("nyra-domain", None);
    for banned in [
        "worker",
        "wasm-bindgen",
        "web-sys",
        "js-sys",
        "reqwest",
        "tokio",
    ] {
        assert!(!deps.contains(banned), "nyra-domain depends on {banned}");
    }
}

/// workers-rs itself depends on `tokio` without features (no runtime, no I/O); what must never
/// reach the wasm Worker is an HTTP client or tokio's runtime and sockets (`mio`, `socket2`).
#[test]
fn the_wasm_worker_never_links_reqwest_or_a_runtime() {
    let deps = dependency_names("nyra-billing-worker", Some("wasm32-unknown-unknown"));
    assert!(deps.contains("worker"), "the tree was read: {deps:?}");
    for banned in ["reqwest", "hyper", "progenitor-client", "mio", "socket2"] {
        assert!(!deps.contains(banned), "the wasm Worker links {banned}");
    }
}

/// `crate::a::b` imports of each module file of the Worker, as module paths (`routes::license`).
fn worker_imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("crates/worker/src");
    let mut graph = BTreeMap::new();
    for file in rust_files(&src) {
        let module = module_of(&src, &file);
        let text = std::fs::read_to_string(&file).expect("readable source");
        let imports = text
            .lines()
            .filter_map(|line| line.trim().strip_prefix("use crate::"))
            .flat_map(imported_modules)
            .filter(|target| *target != module)
            .collect();
        graph.insert(module, imports);
    }
    graph
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// `routes/license.rs` -> `routes::license`, `store/mod.rs` -> `store`, `lib.rs` -> `crate`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("file under src");
    let text = relative
        .with_extension("")
        .to_string_lossy()
        .replace('/', "::");
    let text = text.strip_suffix("::mod").unwrap_or(&text).to_owned();
    if text == "lib" {
        "crate".to_owned()
    } else {
        text
    }
}

/// `store::customers::{self, Row};` -> `store::customers`; `{ctx::Ctx, store}` -> `ctx`, `store`.
fn imported_modules(path: &str) -> Vec<String> {
    let path = path.trim_end_matches(';');
    let (prefix, group) = match path.split_once('{') {
        Some((prefix, group)) => (prefix, group.trim_end_matches('}')),
        None => ("", path),
    };
    group
        .split(',')
        .map(|item| format!("{prefix}{}", item.trim()))
        .map(|full| {
            let parts: Vec<&str> = full.split("::").filter(|p| !p.is_empty()).collect();
            module_prefix(&parts)
        })
        .collect()
}

/// The longest leading run of a path that names a module: lower-case segments, at most two.
fn module_prefix(parts: &[&str]) -> String {
    parts
        .iter()
        .take(2)
        .take_while(|p| p.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .filter(|p| **p != "self")
        .copied()
        .collect::<Vec<_>>()
        .join("::")
}

/// Whether `to` is reachable from `from` through imports (modules match by prefix).
fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_owned()];
    while let Some(module) = stack.pop() {
        for (name, imports) in graph.iter().filter(|(name, _)| owns(name, &module)) {
            for next in imports.iter().filter(|next| !owns(name, next)) {
                if owns(to, next) || owns(next, to) {
                    return true;
                }
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
    }
    false
}

/// `a` names `b` or a module inside it.
fn owns(a: &str, b: &str) -> bool {
    b == a || b.starts_with(&format!("{a}::"))
}

#[test]
fn the_worker_has_no_import_circle_and_no_route_imports_another() {
    let graph = worker_imports();
    assert!(graph.contains_key("routes::license"), "{graph:?}");
    for (module, imports) in &graph {
        if module == "crate" {
            continue;
        }
        for target in imports {
            assert!(
                !reaches(&graph, target, module),
                "import circle: {module} -> {target} -> ... -> {module}"
            );
            if module.starts_with("routes::") {
                assert!(!target.starts_with("routes"), "{module} imports {target}");
            }
        }
    }
}

#[test]
fn the_circle_check_sees_a_circle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("routes::a", "ctx"),
        ("ctx", "store"),
        ("store", "routes::a"),
    ]
    .into_iter()
    .map(|(m, i)| (m.to_owned(), BTreeSet::from([i.to_owned()])))
    .collect();
    assert!(reaches(&graph, "ctx", "routes::a"));
    assert_eq!(
        imported_modules("store::customers::{self, Row};"),
        ["store::customers", "store::customers"]
    );
    assert_eq!(imported_modules("{ctx::Ctx, store};"), ["ctx", "store"]);
}
