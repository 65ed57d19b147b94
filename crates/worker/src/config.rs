//! The Worker's configuration: required secrets and vars, read only from bindings and never logged.

use worker::Env;

pub use nyra_domain::config::{REQUIRED_SECRETS, REQUIRED_VARS};

/// A secret's value, if set and not empty.
pub fn secret(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .ok()
        .map(|s| s.to_string())
        .filter(|v| !v.trim().is_empty())
}

/// A var's value, if set and not empty.
pub fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|v| !v.trim().is_empty())
}
