//! The checkout switch gate: which `BILLING_CHECKOUT` value the live preflight allows in production.

use serde::Serialize;
use serde_json::Value;

use crate::dashboard::{CheckoutState, Loaded, StripeMode};
use crate::preflight::{self, PreflightReport, Status};
use crate::wrangler;

/// The Worker var holding the checkout switch.
pub const CHECKOUT_VAR: &str = "BILLING_CHECKOUT";

/// The var `BILLING_CHECKOUT` replaced; its presence in wrangler.jsonc is an error.
pub const RETIRED_VAR: &str = "BILLING_LIVE_MODE";

/// Both preflights, and the most checkout they allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gate {
    /// The most the preflights allow: `live` on GO_LIVE, `test` on GO_TEST_MODE, else `disabled`.
    pub allowed: CheckoutState,
    /// `deployability.status` of the test-mode preflight.
    pub test_status: Status,
    /// `deployability.status` of the live preflight.
    pub live_status: Status,
    /// Open conditions blocking test mode.
    pub test_blockers: Vec<&'static str>,
    /// Open conditions blocking live mode.
    pub live_blockers: Vec<&'static str>,
}

impl Gate {
    /// Runs both preflights against the dashboard answers and a parsed wrangler.jsonc.
    pub fn evaluate(loaded: &Loaded, config: &Result<Value, String>) -> Gate {
        let test = preflight::evaluate(loaded, StripeMode::Test, config);
        let live = preflight::evaluate(loaded, StripeMode::Live, config);
        Gate::from_reports(&test, &live)
    }

    /// The gate of two preflight reports (test mode, live mode).
    pub fn from_reports(test: &PreflightReport, live: &PreflightReport) -> Gate {
        let allowed = match (test.deployability.status, live.deployability.status) {
            (_, Status::GoLive) => CheckoutState::Live,
            (Status::GoTestMode, _) => CheckoutState::Test,
            _ => CheckoutState::Disabled,
        };
        Gate {
            allowed,
            test_status: test.deployability.status,
            live_status: live.deployability.status,
            test_blockers: test.blocking_titles(),
            live_blockers: live.blocking_titles(),
        }
    }

    /// `Ok` when `state` is allowed, else why, naming the blockers.
    pub fn permits(&self, state: CheckoutState) -> Result<(), String> {
        if state <= self.allowed {
            return Ok(());
        }
        let (mode, status, blockers) = match state {
            CheckoutState::Live => ("live", self.live_status, &self.live_blockers),
            _ => ("test-mode", self.test_status, &self.test_blockers),
        };
        Err(format!(
            "the {mode} preflight answers {} (open blockers: {}); BILLING_CHECKOUT={} needs {}",
            preflight::status_name(status),
            blockers.join("; "),
            state.as_str(),
            match state {
                CheckoutState::Live => "GO_LIVE",
                _ => "at least GO_TEST_MODE",
            }
        ))
    }
}

/// `env.production.vars.BILLING_CHECKOUT` as written (`None` when absent or not a string).
pub fn production_value(config: &Value) -> Option<&str> {
    wrangler::env_var(config, "production", CHECKOUT_VAR)
}

/// The switch in production: unset means disabled (the Worker's default); an unknown value is an error.
pub fn production_state(config: &Value) -> Result<CheckoutState, String> {
    match production_value(config) {
        None => Ok(CheckoutState::Disabled),
        Some(value) => CheckoutState::parse(value).ok_or_else(|| {
            format!("env.production.vars.{CHECKOUT_VAR} is {value:?}, not disabled, test or live")
        }),
    }
}

/// Where wrangler.jsonc still names the retired `BILLING_LIVE_MODE`.
pub fn retired_var_locations(config: &Value) -> Vec<String> {
    let mut found = Vec::new();
    if config.pointer(&format!("/vars/{RETIRED_VAR}")).is_some() {
        found.push(format!("vars.{RETIRED_VAR}"));
    }
    let envs = config.get("env").and_then(Value::as_object);
    for (name, env) in envs.into_iter().flatten() {
        if env.pointer(&format!("/vars/{RETIRED_VAR}")).is_some() {
            found.push(format!("env.{name}.vars.{RETIRED_VAR}"));
        }
    }
    found
}

/// The check: production enables no more than the preflight allows, and the retired var is gone.
pub fn check(gate: &Gate, config: &Value) -> Result<(), String> {
    let retired = retired_var_locations(config);
    if !retired.is_empty() {
        return Err(format!(
            "{} is replaced by {CHECKOUT_VAR}; remove {}",
            RETIRED_VAR,
            retired.join(", ")
        ));
    }
    let state = production_state(config)?;
    gate.permits(state).map_err(|why| {
        format!(
            "env.production.vars.{CHECKOUT_VAR} is {} but {why}; run `npm run cloud:billing:checkout:disable` or clear the blockers",
            state.as_str()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unset_is_disabled_and_unknown_values_fail() {
        let config = json!({"env": {"production": {"vars": {}}}});
        assert_eq!(production_state(&config), Ok(CheckoutState::Disabled));
        let config = json!({"env": {"production": {"vars": {"BILLING_CHECKOUT": "on"}}}});
        assert!(production_state(&config).is_err());
    }

    #[test]
    fn the_retired_var_is_found_everywhere() {
        let config = json!({
            "vars": {"BILLING_LIVE_MODE": "disabled"},
            "env": {"local": {"vars": {"BILLING_LIVE_MODE": "disabled"}}, "production": {"vars": {}}}
        });
        assert_eq!(
            retired_var_locations(&config),
            ["vars.BILLING_LIVE_MODE", "env.local.vars.BILLING_LIVE_MODE"]
        );
    }

    #[test]
    fn a_blocked_gate_allows_only_disabled() {
        let gate = Gate::evaluate(&Loaded::default(), &Ok(json!({})));
        assert_eq!(gate.allowed, CheckoutState::Disabled);
        assert!(gate.permits(CheckoutState::Disabled).is_ok());
        let why = gate.permits(CheckoutState::Live).expect_err("blocked");
        assert!(
            why.contains("NO_GO_LIVE_MONEY") && why.contains("Hosted AI cap"),
            "{why}"
        );
        let why = gate.permits(CheckoutState::Test).expect_err("blocked");
        assert!(
            !why.contains("Hosted AI cap"),
            "live-only conditions do not block test: {why}"
        );
    }
}
