//! The application state and its `BillingApi` implementation, delegating to one module per resource.

use crate::{config, routes};
use nyra_api::rt::DispatchConfig;
use nyra_api::server::*;
use worker::Env;

/// Everything a handler may touch: the Worker's bindings.
pub struct App {
    /// The Worker's environment (secrets, vars, D1).
    pub env: Env,
}

impl App {
    /// Wraps the environment of one request.
    pub fn new(env: Env) -> Self {
        App { env }
    }

    /// The dispatch layer's settings, from vars.
    pub fn dispatch_config(&self) -> DispatchConfig {
        DispatchConfig {
            allowed_origin: config::var(&self.env, "ALLOWED_ORIGIN"),
        }
    }
}

impl BillingApi for App {
    async fn health(&self, _request: HealthRequest) -> HealthResponse {
        routes::health::handle(self).await
    }

    async fn create_checkout(&self, request: CreateCheckoutRequest) -> CreateCheckoutResponse {
        routes::checkout::handle(self, request).await
    }

    async fn create_portal(&self, request: CreatePortalRequest) -> CreatePortalResponse {
        routes::portal::handle(self, request).await
    }

    async fn stripe_webhook(&self, request: StripeWebhookRequest) -> StripeWebhookResponse {
        routes::webhook::handle(self, request).await
    }

    async fn license_status(&self, request: LicenseStatusRequest) -> LicenseStatusResponse {
        routes::license::handle(self, request).await
    }
}
