//! The nyra-domain integration tests: one binary, one module per area.

#[path = "domain/batch.rs"]
mod batch;
#[path = "domain/license.rs"]
mod license;
#[path = "domain/scenarios.rs"]
mod scenarios;
#[path = "domain/webhook.rs"]
mod webhook;
