//! Device access tokens, the signed offline license and entitlement rules.
