//! Route readiness: each openapi.yaml operation, Ready when the Worker serves it and `nyra-ops check` agrees.

use serde::Serialize;

use crate::check::CheckLine;
use crate::spec::{self, Route};

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
    /// Served, and the routes check agrees.
    pub ready: bool,
    /// Why it is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Every route of the spec, in spec order (Worker routes first, then static assets).
pub fn statuses(spec: &spec::Spec, checks: &[CheckLine]) -> Vec<RouteStatus> {
    let served = spec::served_routes();
    let routes_check = checks
        .iter()
        .find(|c| c.id == "routes-agree")
        .and_then(|c| c.failure.clone());
    let worker = spec.worker_routes.iter().map(|route| {
        let reason = worker_reason(route, &served, routes_check.as_deref());
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
fn worker_reason(route: &Route, served: &[Route], routes_check: Option<&str>) -> Option<String> {
    if !served.contains(route) {
        return Some(
            "not served by the Worker: missing from nyra_api::server::OPERATIONS (regenerate the route table)"
                .into(),
        );
    }
    let shown = format!("{} {} ({})", route.method, route.path, route.operation_id);
    routes_check
        .filter(|f| f.contains(&shown) || f.contains(&format!("{} is in", route.seed_form())))
        .map(|failure| format!("the routes-agree check fails: {failure}"))
}
