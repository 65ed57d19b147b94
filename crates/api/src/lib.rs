//! The API contract in Rust: models and server side generated from `openapi.yaml`, plus their runtime.

pub mod rt;

/// Serde models of the spec's schemas, with `validate`.
#[allow(clippy::all)]
pub mod models {
    include!(concat!(env!("OUT_DIR"), "/models.rs"));
}

/// Typed requests and responses per operation, the `BillingApi` trait and `dispatch`.
#[allow(clippy::all)]
pub mod server {
    include!(concat!(env!("OUT_DIR"), "/server.rs"));
}

/// The spec this crate was generated from, as committed.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");
