//! End-to-end harness: start the real built Worker on workerd with a fresh local D1 and check answers against the spec.

pub mod http;
pub mod paths;
pub mod secrets;
pub mod spec;
pub mod stack;
pub mod worker;

pub use worker::{RateLimits, Worker, WorkerOptions};
