//! Pure billing domain logic: no `worker` import, so it compiles and is tested natively.

pub mod activation;
pub mod config;
pub mod license;
pub mod time;
pub mod webhook;
