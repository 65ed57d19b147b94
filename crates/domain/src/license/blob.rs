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

/// How far the device clock may lie behind the highest time the app has seen before it counts
/// as rolled back.
pub const MAX_CLOCK_ROLLBACK_SECONDS: i64 = 300;

/// The verifier's clock: now, and the highest time the app has seen (its persisted high-water
/// mark, see `nyra_client::HighWaterMark`). `Clock::from(now)` is a clock with no history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// The device clock, unix seconds.
    pub now: i64,
    /// The highest unix time the app has seen.
    pub high_water: i64,
}

impl From<i64> for Clock {
    fn from(now: i64) -> Clock {
        Clock {
            now,
            high_water: now,
        }
    }
}

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
    /// The clock is more than [`MAX_CLOCK_ROLLBACK_SECONDS`] behind the highest time seen.
    #[error("the clock is earlier than a time this device has already seen; it looks wound back")]
    ClockRolledBack,
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
    let unsigned = UnsignedLicense::new(keys, claims);
    let signature = keys.sign(unsigned.text());
    unsigned.seal(&signature.to_bytes())
}

/// A license before its signature: the exact text [`sign`] signs, for a signer outside this
/// crate (the Worker hands it to the runtime's WebCrypto Ed25519 under [`Keys::license_pkcs8`]).
/// Ed25519 signatures are deterministic, so either signer seals the same license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedLicense {
    signed: String,
}

impl UnsignedLicense {
    /// The text to sign for `claims` under `keys` (its payload's `kid` is `keys.kid()`).
    pub fn new(keys: &Keys, claims: &LicenseClaims) -> UnsignedLicense {
        let payload = Payload {
            kid: keys.kid().to_owned(),
            customer_id: claims.customer_id.clone(),
            device_id: claims.device_id.clone(),
            entitlement: claims.entitlement,
            status: claims.status.clone(),
            issued_at: iso(claims.issued_at),
            expires_at: iso(claims.expires_at),
        };
        UnsignedLicense {
            signed: envelope::signed_text(LICENSE_PREFIX, &payload),
        }
    }

    /// The bytes the Ed25519 signature covers.
    pub fn text(&self) -> &[u8] {
        self.signed.as_bytes()
    }

    /// The license: the text with its 64-byte Ed25519 signature appended.
    pub fn seal(self, signature: &[u8; 64]) -> String {
        envelope::seal(self.signed, signature)
    }
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
    verify_license_among(blob, &[public_key_b64], device_id, Clock::from(now_unix))
}

/// Verifies a license offline against any of the pinned public keys (the payload's `kid` picks
/// one: keys rotate), for `device_id` at `clock`.
///
/// Like [`verify_license`], and also refuses a clock more than [`MAX_CLOCK_ROLLBACK_SECONDS`]
/// behind `clock.high_water` ([`LicenseError::ClockRolledBack`]).
pub fn verify_license_among(
    blob: &str,
    public_keys_b64: &[&str],
    device_id: &str,
    clock: Clock,
) -> Result<LicenseClaims, LicenseError> {
    let keys = public_keys_b64
        .iter()
        .map(|key| decode_public_key(key))
        .collect::<Option<Vec<_>>>()
        .filter(|keys| !keys.is_empty())
        .ok_or(LicenseError::PublicKey)?;
    let claims = authentic_claims(blob, &keys).ok_or(LicenseError::Invalid)?;
    if claims.device_id != device_id {
        return Err(LicenseError::DeviceMismatch);
    }
    if clock.now < clock.high_water.saturating_sub(MAX_CLOCK_ROLLBACK_SECONDS) {
        return Err(LicenseError::ClockRolledBack);
    }
    if claims.issued_at > clock.now.saturating_add(MAX_CLOCK_SKEW_SECONDS) {
        return Err(LicenseError::IssuedInFuture);
    }
    if clock.now >= claims.expires_at {
        return Err(LicenseError::Expired);
    }
    Ok(claims)
}

/// Decodes a URL-safe base64 (no padding) Ed25519 public key.
fn decode_public_key(public_key_b64: &str) -> Option<VerifyingKey> {
    let bytes = URL_SAFE_NO_PAD.decode(public_key_b64.trim()).ok()?;
    VerifyingKey::from_bytes(&bytes.try_into().ok()?).ok()
}

/// The claims of a license signed by the key its `kid` names among `keys`, or `None`.
fn authentic_claims(blob: &str, keys: &[VerifyingKey]) -> Option<LicenseClaims> {
    let parts = envelope::open(blob, LICENSE_PREFIX, MAX_LICENSE_BYTES)?;
    let signature = Signature::from_slice(&parts.tag).ok()?;
    let payload: Payload = serde_json::from_slice(&parts.payload).ok()?;
    let public_key = keys
        .iter()
        .find(|key| kid_of(&key.to_bytes()) == payload.kid)?;
    public_key
        .verify_strict(parts.signed.as_bytes(), &signature)
        .ok()?;
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

    fn claims(issued_at: i64) -> LicenseClaims {
        LicenseClaims {
            customer_id: "cus_1".into(),
            device_id: "device-a".into(),
            entitlement: Entitlement::Pro,
            status: Some("active".into()),
            issued_at,
            expires_at: issued_at + 86_400,
        }
    }

    #[test]
    fn a_license_sealed_by_an_outside_signer_of_the_pkcs8_key_is_the_same_license()
    -> Result<(), super::super::KeyError> {
        use ed25519_dalek::{Signer, SigningKey};
        let keys = Keys::from_secret("current_license_signing_secret_0123456789abcd")?;
        let der = keys.license_pkcs8();
        let seed: [u8; 32] = der[16..]
            .try_into()
            .map_err(|_| super::super::KeyError::Derivation)?;
        let outside = SigningKey::from_bytes(&seed);
        let unsigned = UnsignedLicense::new(&keys, &claims(1_000));
        let signature = outside.sign(unsigned.text()).to_bytes();
        let sealed = unsigned.seal(&signature);
        assert_eq!(sealed, sign(&keys, &claims(1_000)));
        let clock = Clock::from(1_100);
        let key = keys.public_key_b64();
        assert_eq!(
            verify_license_among(&sealed, &[key.as_str()], "device-a", clock),
            Ok(claims(1_000))
        );
        let mut forged = signature;
        forged[0] ^= 1;
        let unsigned = UnsignedLicense::new(&keys, &claims(1_000));
        let forged = unsigned.seal(&forged);
        assert_eq!(
            verify_license_among(&forged, &[key.as_str()], "device-a", clock),
            Err(LicenseError::Invalid)
        );
        Ok(())
    }

    #[test]
    fn the_kid_picks_the_key_among_several() -> Result<(), super::super::KeyError> {
        let current = Keys::from_secret("current_license_signing_secret_0123456789abcd")?;
        let previous = Keys::from_secret("previous_license_signing_secret_0123456789abc")?;
        let old = sign(&previous, &claims(1_000));
        let both = [current.public_key_b64(), previous.public_key_b64()];
        let both: Vec<&str> = both.iter().map(String::as_str).collect();
        let clock = Clock::from(1_100);
        assert_eq!(
            verify_license_among(&old, &both, "device-a", clock),
            Ok(claims(1_000))
        );
        let only_current = [both[0]];
        assert_eq!(
            verify_license_among(&old, &only_current, "device-a", clock),
            Err(LicenseError::Invalid)
        );
        assert_eq!(
            verify_license_among(&old, &[], "device-a", clock),
            Err(LicenseError::PublicKey)
        );
        Ok(())
    }

    #[test]
    fn a_clock_behind_the_high_water_mark_is_rolled_back() -> Result<(), super::super::KeyError> {
        let keys = Keys::from_secret("current_license_signing_secret_0123456789abcd")?;
        let blob = sign(&keys, &claims(1_000));
        let key = keys.public_key_b64();
        let at = |now, high_water| {
            verify_license_among(
                &blob,
                &[key.as_str()],
                "device-a",
                Clock { now, high_water },
            )
        };
        assert_eq!(at(5_000, 5_301), Err(LicenseError::ClockRolledBack));
        assert_eq!(at(5_000, 5_300), Ok(claims(1_000)));
        assert_eq!(at(9_000, 5_300), Ok(claims(1_000)));
        Ok(())
    }

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
