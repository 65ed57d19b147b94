//! The portal route; its implementation has not landed yet, so it answers `501 not_implemented`.

use crate::app::App;
use nyra_api::models::ErrorCode;
use nyra_api::rt::problem_of;
use nyra_api::server::{CreatePortalRequest, CreatePortalResponse};

/// Answers `501 not_implemented` until the route's issue lands.
pub async fn handle(_app: &App, _request: CreatePortalRequest) -> CreatePortalResponse {
    CreatePortalResponse::NotImplemented(problem_of(
        ErrorCode::NotImplemented,
        "this route is not implemented yet",
    ))
}
