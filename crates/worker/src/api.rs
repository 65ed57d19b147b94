//! The `BillingApi` implementation: one method per operation, each delegating to its route module.

use crate::ctx::Ctx;
use crate::routes;
use nyra_api::server::*;

impl BillingApi for Ctx {
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
