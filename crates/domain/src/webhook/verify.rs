//! `Stripe-Signature` verification exactly as Stripe's SDKs do it, with an injected clock.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Maximum age in seconds of a signed timestamp (Stripe's default tolerance); future timestamps pass.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a webhook request failed verification; nothing may be parsed or written after any of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No `Stripe-Signature` header, or an empty one.
    #[error("stripe-signature header is missing")]
    Missing,
    /// The header has no usable `t=` timestamp or no usable `v1=` signature.
    #[error("stripe-signature header is malformed")]
    Malformed,
    /// No `v1` signature matches any configured secret.
    #[error("no signature matches a configured webhook secret")]
    Mismatch,
    /// The signed timestamp is more than [`TOLERANCE_SECONDS`] in the past.
    #[error("signature timestamp is outside the tolerance window")]
    TimestampOutOfTolerance,
}

/// Verifies `header` over the raw `body` against every comma-separated secret in `secrets`.
///
/// Checks, in Stripe's order: header present, header parses (`t` is an integer, at least one
/// `v1` is 64 hex digits; other schemes such as `v0` and non-hex `v1` values are ignored),
/// some `v1` matches some secret (constant-time), then `now_unix - t <= 300`.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &str,
    now_unix: i64,
) -> Result<(), VerifyError> {
    let header = header.map(str::trim).filter(|h| !h.is_empty());
    let parsed = parse_header(header.ok_or(VerifyError::Missing)?)?;
    let matched = configured_secrets(secrets)
        .filter_map(|secret| mac(secret, parsed.timestamp, body))
        .any(|expected| {
            parsed
                .signatures
                .iter()
                .any(|sig| bool::from(sig.ct_eq(&expected)))
        });
    if !matched {
        return Err(VerifyError::Mismatch);
    }
    if now_unix.saturating_sub(parsed.timestamp) > TOLERANCE_SECONDS {
        return Err(VerifyError::TimestampOutOfTolerance);
    }
    Ok(())
}

/// Signs `body` the way Stripe does: `t=<t>,v1=<hex HMAC-SHA256("{t}.{body}")>` (tests and emulator).
pub fn signature_header(secret: &str, t: i64, body: &[u8]) -> String {
    let signature = mac(secret, t, body).map(hex::encode).unwrap_or_default();
    format!("t={t},v1={signature}")
}

/// The non-empty, trimmed secrets of a comma-separated configuration value.
pub fn configured_secrets(secrets: &str) -> impl Iterator<Item = &str> {
    secrets.split(',').map(str::trim).filter(|s| !s.is_empty())
}

struct ParsedHeader {
    timestamp: i64,
    signatures: Vec<[u8; 32]>,
}

fn parse_header(header: &str) -> Result<ParsedHeader, VerifyError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for (key, value) in header
        .split(',')
        .filter_map(|item| item.trim().split_once('='))
    {
        match key {
            "t" if timestamp.is_none() => timestamp = Some(parse_timestamp(value)?),
            "t" => return Err(VerifyError::Malformed),
            "v1" => signatures.extend(decode_signature(value)),
            _ => {}
        }
    }
    match timestamp {
        Some(timestamp) if !signatures.is_empty() => Ok(ParsedHeader {
            timestamp,
            signatures,
        }),
        _ => Err(VerifyError::Malformed),
    }
}

fn parse_timestamp(value: &str) -> Result<i64, VerifyError> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::Malformed);
    }
    value.parse().map_err(|_| VerifyError::Malformed)
}

fn decode_signature(value: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(value, &mut out).ok()?;
    Some(out)
}

/// HMAC-SHA256 over `"{t}.{body}"`; `None` only if the key were refused (HMAC takes any length).
fn mac(secret: &str, t: i64, body: &[u8]) -> Option<[u8; 32]> {
    let mut hmac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    hmac.update(t.to_string().as_bytes());
    hmac.update(b".");
    hmac.update(body);
    Some(hmac.finalize().into_bytes().into())
}
