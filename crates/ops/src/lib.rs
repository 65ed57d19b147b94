//! The billing ops tool: config sync, repo check, deployment manifest and live preflight (docs/ops.md).

pub mod check;
pub mod dashboard;
pub mod error;
pub mod gate;
pub mod manifest;
pub mod migrations;
pub mod preflight;
pub mod repo;
pub mod secrets;
pub mod snapshot;
pub mod spec;
pub mod sync;
pub mod validate;
pub mod verify;
pub mod wrangler;

pub use error::OpsError;
