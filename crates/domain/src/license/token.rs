//! Device access tokens: `nyra_dat.v1.<payload>.<HMAC-SHA256>`, issued and verified by the Worker only.
//!
//! The payload names the MAC key (`kid`, the licence key id of the same secret) and the token's
//! generation (`gen`): the Worker records the newest generation of each device and refuses older
//! tokens online. Tokens issued before either field existed read as the current key and generation 0.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::envelope;
use super::keys::{KeyRing, Keys};
use crate::time::{iso, parse_iso};

/// Prefix of every device access token; also part of the MAC input.
pub const TOKEN_PREFIX: &str = "nyra_dat.v1.";

/// Longest accepted token, in bytes; longer input is rejected before decoding.
pub const MAX_TOKEN_BYTES: usize = 2048;

/// What a device access token asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// Stripe customer id the token acts for.
    pub customer_id: String,
    /// The device the token was issued to.
    pub device_id: String,
    /// Issue time, unix seconds.
    pub issued_at: i64,
    /// Expiry, unix seconds; the token is invalid from this instant on.
    pub expires_at: i64,
}

impl TokenClaims {
    /// The signed `expiresAt` text: what `deviceAccessTokenExpiresAtIso` must equal.
    pub fn expires_at_iso(&self) -> String {
        iso(self.expires_at)
    }
}

/// A token whose MAC verified: its claims and its generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// What the token asserts.
    pub claims: TokenClaims,
    /// The generation the Worker recorded when it issued the token.
    pub generation: u64,
}

/// Why a device access token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Malformed, too long, bad base64 or JSON, or the MAC does not match.
    #[error("device access token is invalid")]
    Invalid,
    /// The token's `expiresAt` has passed.
    #[error("device access token has expired")]
    Expired,
    /// The token is genuine but was issued to another device.
    #[error("device access token belongs to another device")]
    DeviceMismatch,
}

/// The JSON payload as signed.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Payload {
    customer_id: String,
    device_id: String,
    issued_at: String,
    expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(default)]
    generation: u64,
}

/// Issues a generation-0 token for `claims`; times are written with [`crate::time::iso`].
pub fn issue(keys: &Keys, claims: &TokenClaims) -> String {
    issue_generation(keys, claims, 0)
}

/// Issues a token for `claims` carrying `generation` and the key's `kid`.
pub fn issue_generation(keys: &Keys, claims: &TokenClaims, generation: u64) -> String {
    let payload = Payload {
        customer_id: claims.customer_id.clone(),
        device_id: claims.device_id.clone(),
        issued_at: iso(claims.issued_at),
        expires_at: claims.expires_at_iso(),
        kid: Some(keys.kid().to_owned()),
        generation,
    };
    let signed = envelope::signed_text(TOKEN_PREFIX, &payload);
    let mac = keys.token_mac(signed.as_bytes());
    envelope::seal(signed, &mac)
}

/// Verifies the MAC (constant time), then the device, then the expiry at `now_unix`.
pub fn verify(
    keys: &Keys,
    token: &str,
    device_id: &str,
    now_unix: i64,
) -> Result<TokenClaims, TokenError> {
    let ring = KeyRing::new(keys.clone(), None);
    verify_in_ring(&ring, token, Some(device_id), now_unix).map(|v| v.claims)
}

/// Verifies the MAC (constant time) and the expiry, for whatever device the token names
/// (for requests that carry no device id of their own, such as the portal).
pub fn verify_any_device(
    keys: &Keys,
    token: &str,
    now_unix: i64,
) -> Result<TokenClaims, TokenError> {
    let ring = KeyRing::new(keys.clone(), None);
    verify_in_ring(&ring, token, None, now_unix).map(|v| v.claims)
}

/// Verifies the MAC with the ring's key named by the token's `kid` (constant time), then the
/// device when one is given, then the expiry at `now_unix`.
pub fn verify_in_ring(
    ring: &KeyRing,
    token: &str,
    device_id: Option<&str>,
    now_unix: i64,
) -> Result<VerifiedToken, TokenError> {
    let verified = authentic(ring, token).ok_or(TokenError::Invalid)?;
    if device_id.is_some_and(|d| d != verified.claims.device_id) {
        return Err(TokenError::DeviceMismatch);
    }
    if now_unix >= verified.claims.expires_at {
        return Err(TokenError::Expired);
    }
    Ok(verified)
}

/// The claims of a token whose MAC checks out under the key its `kid` names, or `None`.
fn authentic(ring: &KeyRing, token: &str) -> Option<VerifiedToken> {
    let parts = envelope::open(token, TOKEN_PREFIX, MAX_TOKEN_BYTES)?;
    let payload: Payload = serde_json::from_slice(&parts.payload).ok()?;
    let keys = ring.by_kid(payload.kid.as_deref())?;
    let expected = keys.token_mac(parts.signed.as_bytes());
    if !bool::from(expected.as_slice().ct_eq(&parts.tag)) {
        return None;
    }
    let claims = TokenClaims {
        customer_id: payload.customer_id,
        device_id: payload.device_id,
        issued_at: parse_iso(&payload.issued_at)?,
        expires_at: parse_iso(&payload.expires_at)?,
    };
    Some(VerifiedToken {
        claims,
        generation: payload.generation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_secret("nyra_local_license_signing_secret_0123456789abcdef")
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn any_device_checks_mac_and_expiry_only() {
        let keys = keys();
        let claims = TokenClaims {
            customer_id: "cus_1".into(),
            device_id: "device-a".into(),
            issued_at: 100,
            expires_at: 200,
        };
        let token = issue(&keys, &claims);
        assert_eq!(verify_any_device(&keys, &token, 150), Ok(claims));
        assert_eq!(
            verify_any_device(&keys, &token, 200),
            Err(TokenError::Expired)
        );
        let tampered = format!("{token}x");
        assert_eq!(
            verify_any_device(&keys, &tampered, 150),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn ring_verifies_the_previous_key_until_it_is_removed() -> Result<(), super::super::KeyError> {
        let previous = Keys::from_secret("previous_license_signing_secret_0123456789abc")?;
        let claims = TokenClaims {
            customer_id: "cus_1".into(),
            device_id: "device-a".into(),
            issued_at: 100,
            expires_at: 200,
        };
        let old = issue_generation(&previous, &claims, 3);
        let rotated = KeyRing::new(keys(), Some(previous.clone()));
        let verified = verify_in_ring(&rotated, &old, Some("device-a"), 150);
        assert_eq!(verified.map(|v| v.generation), Ok(3));
        let removed = KeyRing::new(keys(), None);
        assert_eq!(
            verify_in_ring(&removed, &old, Some("device-a"), 150),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            verify_in_ring(&rotated, &old, Some("device-a"), 200),
            Err(TokenError::Expired)
        );
        Ok(())
    }

    #[test]
    fn overlong_token_is_invalid() {
        let token = format!("{TOKEN_PREFIX}{}", "A".repeat(MAX_TOKEN_BYTES));
        assert_eq!(verify(&keys(), &token, "d", 0), Err(TokenError::Invalid));
    }

    #[test]
    fn token_of_another_secret_is_invalid() {
        let claims = TokenClaims {
            customer_id: "cus_1".into(),
            device_id: "device-1".into(),
            issued_at: 0,
            expires_at: 100,
        };
        let other = Keys::from_secret("another_secret_that_is_long_enough_0123456789")
            .unwrap_or_else(|e| panic!("{e}"));
        let token = issue(&other, &claims);
        assert_eq!(
            verify(&keys(), &token, "device-1", 0),
            Err(TokenError::Invalid)
        );
        assert_eq!(verify(&other, &token, "device-1", 0), Ok(claims));
    }
}
