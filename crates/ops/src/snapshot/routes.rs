//! Route readiness: each openapi.yaml operation, Ready only when served and not answering 501.

use serde::Serialize;
use yaml_serde::Value;

use crate::check::CheckLine;
use crate::repo::{Repo, SPEC};
use crate::spec::{self, Route};

/// The reason shown for a route whose operation still documents `501 not_implemented`.
pub const NOT_IMPLEMENTED: &str = "answers 501 not_implemented until its issue lands";

/// How a route is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Served {
    /// By the Worker's code.
    Worker,
    /// As a static asset built from openapi.yaml.
    StaticAsset,
}

/// One route and whether it is ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteStatus {
    /// Upper-case HTTP method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The operationId.
    pub operation_id: String,
    /// Who serves it.
    pub served: Served,
    /// Served and not answering 501.
    pub ready: bool,
    /// Why it is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Every route of the spec, in spec order (Worker routes first, then static assets).
pub fn statuses(repo: &Repo, spec: &spec::Spec, checks: &[CheckLine]) -> Vec<RouteStatus> {
    let not_implemented = documented_501(repo);
    let served = spec::served_routes();
    let routes_check = checks
        .iter()
        .find(|c| c.id == "routes-agree")
        .and_then(|c| c.failure.clone());
    let worker = spec.worker_routes.iter().map(|route| {
        let reason = worker_reason(route, &served, routes_check.as_deref(), &not_implemented);
        status(route, Served::Worker, reason)
    });
    let assets = spec
        .static_routes
        .iter()
        .map(|route| status(route, Served::StaticAsset, None));
    worker.chain(assets).collect()
}

/// Builds one status.
fn status(route: &Route, served: Served, reason: Option<String>) -> RouteStatus {
    RouteStatus {
        method: route.method.clone(),
        path: route.path.clone(),
        operation_id: route.operation_id.clone(),
        served,
        ready: reason.is_none(),
        reason,
    }
}

/// Why a Worker route is not ready, or `None`.
fn worker_reason(
    route: &Route,
    served: &[Route],
    routes_check: Option<&str>,
    not_implemented: &[String],
) -> Option<String> {
    if !served.contains(route) {
        return Some(
            "not served by the Worker: missing from nyra_api::server::OPERATIONS (regenerate the route table)"
                .into(),
        );
    }
    let shown = format!("{} {} ({})", route.method, route.path, route.operation_id);
    if let Some(failure) = routes_check.filter(|f| f.contains(&shown)) {
        return Some(format!("the routes-agree check fails: {failure}"));
    }
    not_implemented
        .contains(&route.operation_id)
        .then(|| NOT_IMPLEMENTED.to_string())
}

/// operationIds whose responses still document a 501 (`not_implemented`).
pub fn documented_501(repo: &Repo) -> Vec<String> {
    repo.read(&repo.path(SPEC))
        .map(|text| not_implemented_in(&text))
        .unwrap_or_default()
}

/// operationIds of a spec text whose responses list a 501.
fn not_implemented_in(text: &str) -> Vec<String> {
    let Ok(doc) = yaml_serde::from_str::<Value>(text) else {
        return Vec::new();
    };
    let Some(paths) = doc.get("paths").and_then(Value::as_mapping) else {
        return Vec::new();
    };
    paths
        .values()
        .filter_map(Value::as_mapping)
        .flat_map(|item| item.values())
        .filter(|op| has_501(op))
        .filter_map(|op| op.get("operationId").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// The operation lists a `501` response (key written as a string or a number).
fn has_501(op: &Value) -> bool {
    op.get("responses")
        .and_then(Value::as_mapping)
        .is_some_and(|responses| {
            responses
                .keys()
                .any(|k| k.as_str() == Some("501") || k.as_u64() == Some(501))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_documented_501s() {
        let spec = "paths:\n  /a:\n    post:\n      operationId: a\n      responses:\n        '200': {description: ok}\n        '501': {description: later}\n  /b:\n    get:\n      operationId: b\n      responses:\n        501: {description: later}\n  /c:\n    get:\n      operationId: c\n      responses:\n        '200': {description: ok}\n";
        assert_eq!(not_implemented_in(spec), ["a", "b"]);
    }
}
