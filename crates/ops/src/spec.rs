//! openapi.yaml read with yaml_serde: its routes (Worker-served and static) and its one-line scope.

use serde::{Deserialize, Serialize};
use yaml_serde::Value;

use crate::OpsError;
use crate::repo::{Repo, SPEC};

/// HTTP methods an OpenAPI path item may hold, lower-case as in the spec.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation: method, path and operationId.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Route {
    /// Upper-case HTTP method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The operationId.
    #[serde(rename = "operationId")]
    pub operation_id: String,
}

impl Route {
    /// `GET /health`: the seed manifest's form of a route.
    pub fn seed_form(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// What the tool needs from the spec.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// Operations the Worker serves, in spec order.
    pub worker_routes: Vec<Route>,
    /// Operations served as static assets (`x-static-asset: true`).
    pub static_routes: Vec<Route>,
    /// The first sentence of `info.description`.
    pub scope: String,
}

/// Reads and parses openapi.yaml below the root.
pub fn load(repo: &Repo) -> Result<Spec, OpsError> {
    let path = repo.path(SPEC);
    let shown = repo.show(&path);
    let error = |detail: String| OpsError::Spec {
        path: shown.clone(),
        detail,
    };
    let doc: Value = yaml_serde::from_str(&repo.read(&path)?)
        .map_err(|e| error(format!("not valid YAML ({e})")))?;
    let paths = doc
        .get("paths")
        .and_then(Value::as_mapping)
        .ok_or_else(|| error("has no paths".into()))?;
    let mut spec = Spec {
        scope: scope(&doc),
        ..Spec::default()
    };
    for (path, item) in paths {
        let path = path
            .as_str()
            .ok_or_else(|| error("has a path that is not a string".into()))?;
        for (route, is_static) in operations(path, item).map_err(error)? {
            let list = if is_static {
                &mut spec.static_routes
            } else {
                &mut spec.worker_routes
            };
            list.push(route);
        }
    }
    Ok(spec)
}

/// The operations of one path item, each with its static-asset flag.
fn operations(path: &str, item: &Value) -> Result<Vec<(Route, bool)>, String> {
    let mut found = Vec::new();
    for method in METHODS {
        let Some(op) = item.get(method) else { continue };
        let id = op
            .get("operationId")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{} {path} has no operationId", method.to_uppercase()))?;
        let is_static = op
            .get("x-static-asset")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let route = Route {
            method: method.to_uppercase(),
            path: path.to_string(),
            operation_id: id.to_string(),
        };
        found.push((route, is_static));
    }
    Ok(found)
}

/// The first sentence of `info.description`, on one line.
fn scope(doc: &Value) -> String {
    let text = doc
        .get("info")
        .and_then(|i| i.get("description"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match words.find(". ") {
        Some(end) => words[..=end].to_string(),
        None => words,
    }
}

/// The routes the Worker serves, from the generated route table.
pub fn served_routes() -> Vec<Route> {
    nyra_api::server::OPERATIONS
        .iter()
        .filter(|op| !op.static_asset)
        .map(|op| Route {
            method: op.method.to_string(),
            path: op.path.to_string(),
            operation_id: op.id.to_string(),
        })
        .collect()
}
