//! The one table from errors (the domain's and the Worker's own) to API error codes and details.
//!
//! Handlers return `Result<_, ApiError>`; the generated `From<Problem>` of each response enum
//! picks the variant, and `nyra_api::rt::status_of(code)` alone decides the HTTP status. Each
//! detail is the variant's `Display`: lower case, never a secret, a key or Stripe's message.

use crate::stripe::StripeError;
use nyra_api::models::{ErrorCode, Problem};
use nyra_api::rt::{RETRY_AFTER_SECONDS, problem_of};
use nyra_domain::license::{KeyError, TokenError};
use nyra_domain::webhook::verify::VerifyError;

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Required secrets are not set (names only).
    #[error("not configured: {}", .0.join(", "))]
    ConfigMissing(Vec<&'static str>),
    /// Secrets holding a published fake or placeholder value outside the local env (names only).
    #[error(
        "not configured safely: {} holds a published fake or placeholder value",
        .0.join(", ")
    )]
    ConfigInsecure(Vec<&'static str>),
    /// `STRIPE_WEBHOOK_SECRET` is not set.
    #[error("the webhook secret is not configured")]
    WebhookSecretMissing,
    /// `NYRA_LICENSE_SIGNING_SECRET` cannot derive keys.
    #[error("not configured: NYRA_LICENSE_SIGNING_SECRET is unusable")]
    SigningSecret(#[from] KeyError),
    /// `BILLING_CHECKOUT` is `disabled` or unset.
    #[error("checkout is switched off for now (BILLING_CHECKOUT is disabled); try again later")]
    CheckoutDisabled,
    /// A live Stripe key while `BILLING_CHECKOUT` is not `live`.
    #[error("the stripe key is a live key and BILLING_CHECKOUT is not live")]
    LiveModeNotEnabled,
    /// The D1 binding is missing.
    #[error("the billing database is not bound; try again later")]
    StorageUnbound,
    /// A D1 read or write failed.
    #[error("the billing database did not answer; try again later")]
    StorageFailed,
    /// The webhook's D1 batch failed and the event is not recorded.
    #[error("the billing database did not record the event; try again later")]
    EventNotRecorded,
    /// No bearer, or a bearer that is no credential of this API.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A device access token that does not verify.
    #[error("{}", token_detail(*.0))]
    Token(#[from] TokenError),
    /// First activation without the checkout's activation code, or with another one.
    #[error("the activation code is missing or does not match this checkout session")]
    ActivationCodeInvalid,
    /// Another device took this device's seat.
    #[error("another device took this device's seat; activate again with the activation code")]
    DeviceReplaced,
    /// A genuine token of this device, older than the newest one issued to it.
    #[error("a newer device access token was issued to this device; use the newest one")]
    TokenSuperseded,
    /// Checkout for a device whose subscription is still entitled.
    #[error(
        "this device already has an active subscription; manage it in the customer portal \
         (POST /api/billing/portal with the device access token)"
    )]
    AlreadySubscribed,
    /// Over a rate limit: the route, and what the limit counts per (e.g. `checkout`, `device`).
    #[error("too many {0} requests for this {1}; retry after {RETRY_AFTER_SECONDS} seconds")]
    RateLimited(&'static str, &'static str),
    /// The runtime's random number generator failed.
    #[error("the worker could not generate an activation code; try again later")]
    RandomUnavailable,
    /// First activation (the app token) without the checkout session to activate.
    #[error(
        "checkoutSessionId: first activation with the app token needs the checkout session id \
         and its activation code"
    )]
    ActivationSessionMissing,
    /// No completed checkout matches the device.
    #[error("no completed checkout session matches this device yet")]
    CheckoutNotFound,
    /// No customer row matches the device.
    #[error("no billing customer matches this device")]
    CustomerNotFound,
    /// The webhook signature does not verify.
    #[error("{0}")]
    Signature(#[from] VerifyError),
    /// Stripe refused the checkout's email address.
    #[error("email: stripe does not accept this email address")]
    StripeEmail,
    /// Stripe failed or did not answer.
    #[error("{}", .0.detail())]
    Stripe(StripeError),
}

impl ApiError {
    /// A failed Stripe call, logged with Stripe's request id; a refused email is the caller's input.
    pub fn stripe(operation: &str, error: StripeError) -> ApiError {
        error.log(operation);
        if error.rejected_param() == Some("customer_email") {
            return ApiError::StripeEmail;
        }
        ApiError::Stripe(error)
    }

    /// The stable API code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::ConfigMissing(_) | Self::WebhookSecretMissing | Self::SigningSecret(_) => {
                ErrorCode::ConfigMissing
            }
            Self::CheckoutDisabled => ErrorCode::CheckoutDisabled,
            Self::ConfigInsecure(_) => ErrorCode::ConfigInsecure,
            Self::LiveModeNotEnabled => ErrorCode::LiveModeNotEnabled,
            Self::ActivationCodeInvalid | Self::ActivationSessionMissing => {
                ErrorCode::ActivationCodeInvalid
            }
            Self::DeviceReplaced => ErrorCode::DeviceReplaced,
            Self::TokenSuperseded => ErrorCode::TokenSuperseded,
            Self::AlreadySubscribed => ErrorCode::AlreadySubscribed,
            Self::RateLimited(..) => ErrorCode::RateLimited,
            Self::RandomUnavailable => ErrorCode::InternalError,
            Self::StorageUnbound | Self::StorageFailed | Self::EventNotRecorded => {
                ErrorCode::StorageUnavailable
            }
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::Token(TokenError::Invalid) => ErrorCode::TokenInvalid,
            Self::Token(TokenError::Expired) => ErrorCode::TokenExpired,
            Self::Token(TokenError::DeviceMismatch) => ErrorCode::DeviceMismatch,
            Self::CheckoutNotFound => ErrorCode::CheckoutNotFound,
            Self::CustomerNotFound => ErrorCode::CustomerNotFound,
            Self::Signature(VerifyError::Missing) => ErrorCode::SignatureMissing,
            Self::Signature(VerifyError::Malformed) => ErrorCode::SignatureMalformed,
            Self::Signature(VerifyError::Mismatch) => ErrorCode::SignatureMismatch,
            Self::Signature(VerifyError::TimestampOutOfTolerance) => {
                ErrorCode::TimestampOutOfTolerance
            }
            Self::StripeEmail => ErrorCode::InvalidBody,
            Self::Stripe(_) => ErrorCode::StripeError,
        }
    }
}

impl From<ApiError> for Problem {
    fn from(error: ApiError) -> Problem {
        problem_of(error.code(), error.to_string())
    }
}

fn token_detail(error: TokenError) -> &'static str {
    match error {
        TokenError::Invalid => "the device access token is invalid; activate again",
        TokenError::Expired => "the device access token has expired; activate again",
        TokenError::DeviceMismatch => "the device access token belongs to another device",
    }
}
