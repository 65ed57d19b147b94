//! Device access tokens, the signed offline license and entitlement rules.

mod blob;
mod entitlement;
mod envelope;
mod keys;
mod token;

pub use blob::{
    Clock, LICENSE_PREFIX, LicenseClaims, LicenseError, MAX_CLOCK_ROLLBACK_SECONDS,
    MAX_CLOCK_SKEW_SECONDS, MAX_LICENSE_BYTES, UnsignedLicense, sign, verify_license,
    verify_license_among,
};
pub use entitlement::{
    DEFAULT_OFFLINE_GRACE_HOURS, Decision, ENTITLED_STATUSES, Entitlement, EntitlementInput,
    MAX_OFFLINE_GRACE_HOURS, TOKEN_HARD_CAP_SECONDS, UNSETTLED_TOKEN_SECONDS,
    UNSETTLED_WINDOW_SECONDS, evaluate, grace_boundary, grace_hours, is_entitled_status,
    is_unsettled,
};
pub use keys::{KeyError, KeyRing, Keys, MIN_SECRET_BYTES, kid_of};
pub use token::{
    MAX_TOKEN_BYTES, TOKEN_PREFIX, TokenClaims, TokenError, VerifiedToken, issue, issue_generation,
    verify, verify_any_device, verify_in_ring,
};
