//! The offline license: `nyra_lic.v1.<payload>.<Ed25519 signature>`, signed by the Worker, checked by the desktop.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::entitlement::Entitlement;
use super::envelope;
use super::keys::{Keys, kid_of};
use crate::time::{iso, parse_iso};

/// Prefix of every license; also part of the signed message.
pub const LICENSE_PREFIX: &str = "nyra_lic.v1.";

/// Longest accepted license, in bytes; longer input is rejected before decoding.
pub const MAX_LICENSE_BYTES: usize = 4096;

/// How far `issuedAt` may lie ahead of the verifier's clock before the clock counts as wound back.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

/// What a license asserts (the payload's `kid` is the signing key's and is checked on verify).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseClaims {
    /// Stripe customer id.
    pub customer_id: String,
    /// The device the license was issued to.
    pub device_id: String,
    /// What the device may use.
    pub entitlement: Entitlement,
    /// Stripe subscription status at issue time; `None` before Stripe reported one.
    pub status: Option<String>,
    /// Issue time, unix seconds.
    pub issued_at: i64,
    /// The offline-grace boundary, unix seconds; invalid from this instant on.
    pub expires_at: i64,
}

/// Why a license is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LicenseError {
    /// Malformed, too long, bad signature, or signed by a key other than the pinned one.
    #[error("license is invalid")]
    Invalid,
    /// The pinned public key is not 32 bytes of URL-safe base64 naming a valid Ed25519 point.
    #[error("license public key is invalid")]
    PublicKey,
    /// The license is genuine but was issued to another device.
    #[error("license belongs to another device")]
    DeviceMismatch,
    /// The license's `expiresAt` (the offline-grace boundary) has passed.
    #[error("license has expired")]
    Expired,
    /// `issuedAt` is more than [`MAX_CLOCK_SKEW_SECONDS`] ahead of the local clock.
    #[error("license was issued in the future; the clock looks wound back")]
    IssuedInFuture,
}

/// The JSON payload as signed; unknown fields are tolerated so v1 can grow.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    kid: String,
    customer_id: String,
    device_id: String,
    entitlement: Entitlement,
    status: Option<String>,
    issued_at: String,
    expires_at: String,
}

/// Signs `claims` with the license key; the payload's `kid` is `keys.kid()`.
pub fn sign(keys: &Keys, claims: &LicenseClaims) -> String {
    let payload = Payload {
        kid: keys.kid().to_owned(),
        customer_id: claims.customer_id.clone(),
        device_id: claims.device_id.clone(),
        entitlement: claims.entitlement,
        status: claims.status.clone(),
        issued_at: iso(claims.issued_at),
        expires_at: iso(claims.expires_at),
    };
    let signed = envelope::signed_text(LICENSE_PREFIX, &payload);
    let signature = keys.sign(signed.as_bytes());
    envelope::seal(signed, &signature.to_bytes())
}

/// Verifies a license offline against the pinned public key, for `device_id` at `now_unix`.
///
/// Checks, in order: the envelope and the Ed25519 signature (strict verification), that the
/// payload's `kid` names `public_key_b64`, the device, that `issuedAt` is at most
/// [`MAX_CLOCK_SKEW_SECONDS`] ahead of `now_unix` (a wound-back clock), and that `now_unix` is
/// before `expiresAt`. Needs no network, clock, or RNG. The caller still reads `entitlement`.
///
/// # Examples
///
/// ```
/// use nyra_domain::license::{Entitlement, Keys, LicenseClaims, LicenseError, sign, verify_license};
///
/// let keys = Keys::from_secret("nyra_local_license_signing_secret_0123456789abcdef")?;
/// let claims = LicenseClaims {
///     customer_id: "cus_123".into(),
///     device_id: "device-abc".into(),
///     entitlement: Entitlement::Pro,
///     status: Some("active".into()),
///     issued_at: 1_764_300_000,
///     expires_at: 1_764_300_000 + 30 * 86_400,
/// };
/// let blob = sign(&keys, &claims);
/// let public_key = keys.public_key_b64();
///
/// assert_eq!(verify_license(&blob, &public_key, "device-abc", 1_764_300_100), Ok(claims));
/// assert_eq!(
///     verify_license(&blob, &public_key, "other-device", 1_764_300_100),
///     Err(LicenseError::DeviceMismatch)
/// );
/// assert_eq!(
///     verify_license(&blob, &public_key, "device-abc", 1_764_300_000 + 30 * 86_400),
///     Err(LicenseError::Expired)
/// );
/// assert_eq!(
///     verify_license(&blob, &public_key, "device-abc", 1_764_300_000 - 3_600),
///     Err(LicenseError::IssuedInFuture)
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_license(
    blob: &str,
    public_key_b64: &str,
    device_id: &str,
    now_unix: i64,
) -> Result<LicenseClaims, LicenseError> {
    let public_key = decode_public_key(public_key_b64).ok_or(LicenseError::PublicKey)?;
    let claims = authentic_claims(blob, &public_key).ok_or(LicenseError::Invalid)?;
    if claims.device_id != device_id {
        return Err(LicenseError::DeviceMismatch);
    }
    if claims.issued_at > now_unix.saturating_add(MAX_CLOCK_SKEW_SECONDS) {
        return Err(LicenseError::IssuedInFuture);
    }
    if now_unix >= claims.expires_at {
        return Err(LicenseError::Expired);
    }
    Ok(claims)
}

/// Decodes a URL-safe base64 (no padding) Ed25519 public key.
fn decode_public_key(public_key_b64: &str) -> Option<VerifyingKey> {
    let bytes = URL_SAFE_NO_PAD.decode(public_key_b64.trim()).ok()?;
    VerifyingKey::from_bytes(&bytes.try_into().ok()?).ok()
}

/// The claims of a license whose signature and `kid` check out, or `None`.
fn authentic_claims(blob: &str, public_key: &VerifyingKey) -> Option<LicenseClaims> {
    let parts = envelope::open(blob, LICENSE_PREFIX, MAX_LICENSE_BYTES)?;
    let signature = Signature::from_slice(&parts.tag).ok()?;
    public_key
        .verify_strict(parts.signed.as_bytes(), &signature)
        .ok()?;
    let payload: Payload = serde_json::from_slice(&parts.payload).ok()?;
    if payload.kid != kid_of(&public_key.to_bytes()) {
        return None;
    }
    Some(LicenseClaims {
        customer_id: payload.customer_id,
        device_id: payload.device_id,
        entitlement: payload.entitlement,
        status: payload.status,
        issued_at: parse_iso(&payload.issued_at)?,
        expires_at: parse_iso(&payload.expires_at)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_public_keys_are_reported_as_such() {
        for key in ["", "not base64!", "AAAA", &"A".repeat(44)] {
            assert_eq!(
                verify_license("x", key, "d", 0),
                Err(LicenseError::PublicKey),
                "{key}"
            );
        }
    }
}
