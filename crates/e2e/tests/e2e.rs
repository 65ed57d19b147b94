//! End-to-end tests: the real built Worker on workerd with a fresh local D1 (and the Stripe emulator where needed).

#[path = "e2e/activation.rs"]
mod activation;
#[path = "e2e/entitlement.rs"]
mod entitlement;
#[path = "e2e/foundation.rs"]
mod foundation;
#[path = "e2e/fuzz.rs"]
mod fuzz;
#[path = "e2e/hardening.rs"]
mod hardening;
#[path = "e2e/hosted.rs"]
mod hosted;
#[path = "e2e/journey.rs"]
mod journey;
#[path = "e2e/util.rs"]
mod util;
#[path = "e2e/webhook.rs"]
mod webhook;
