//! Key material derived from `NYRA_LICENSE_SIGNING_SECRET`: the token MAC key and the license key pair.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Shortest accepted `NYRA_LICENSE_SIGNING_SECRET`, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// HKDF info string of the device access token MAC key; changing it invalidates every token.
const TOKEN_MAC_INFO: &[u8] = b"nyra-billing/device-access-token/v1";

/// HKDF info string of the license Ed25519 seed; changing it changes the public key.
const LICENSE_SEED_INFO: &[u8] = b"nyra-billing/license-ed25519/v1";

/// The DER of an Ed25519 `OneAsymmetricKey` (RFC 8410, section 7) up to its 32-byte seed:
/// version 0, algorithm id-Ed25519 (1.3.101.112), then the seed as an OCTET STRING in an OCTET
/// STRING.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Why a signing secret cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The secret is empty or shorter than [`MIN_SECRET_BYTES`].
    #[error("license signing secret must be at least 32 bytes")]
    SecretTooShort,
    /// Key derivation failed (never expected for 32-byte outputs).
    #[error("license key derivation failed")]
    Derivation,
}

/// Purpose-separated keys derived from one secret; `Debug` shows only the `kid`.
#[derive(Clone)]
pub struct Keys {
    mac: Hmac<Sha256>,
    signing: SigningKey,
    kid: String,
}

impl Keys {
    /// Derives the token MAC key and the Ed25519 key pair with HKDF-SHA256 (no RNG).
    pub fn from_secret(secret: &str) -> Result<Keys, KeyError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::SecretTooShort);
        }
        let hkdf = Hkdf::<Sha256>::new(None, secret.as_bytes());
        let mac_key = expand(&hkdf, TOKEN_MAC_INFO)?;
        let seed = expand(&hkdf, LICENSE_SEED_INFO)?;
        let mac = Hmac::<Sha256>::new_from_slice(&mac_key).map_err(|_| KeyError::Derivation)?;
        let signing = SigningKey::from_bytes(&seed);
        let kid = kid_of(&signing.verifying_key().to_bytes());
        Ok(Keys { mac, signing, kid })
    }

    /// The license public key as URL-safe base64 without padding (what the desktop pins).
    pub fn public_key_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public_key_bytes())
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.verifying_key().to_bytes()
    }

    /// The Ed25519 verifying key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The license private key as PKCS #8 DER (RFC 8410: the 32-byte Ed25519 seed), for
    /// importing into a platform signer such as WebCrypto; never logged or stored.
    pub fn license_pkcs8(&self) -> Vec<u8> {
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(&self.signing.to_bytes());
        der
    }

    /// Key id: hex of the first 8 bytes of SHA-256 of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// HMAC-SHA256 of `message` under the token key.
    pub(crate) fn token_mac(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Ed25519 signature of `message` under the license key.
    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        self.signing.sign(message)
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The current signing keys and, during a rotation, the previous ones (`NYRA_LICENSE_SIGNING_SECRET_PREVIOUS`).
///
/// Everything is issued with the current keys; a token or licence names its keys by `kid`, and
/// one signed with the previous keys verifies until its own expiry (or until the previous
/// secret is removed).
#[derive(Debug, Clone)]
pub struct KeyRing {
    current: Keys,
    previous: Option<Keys>,
}

impl KeyRing {
    /// A ring of the current keys and, optionally, the previous ones.
    pub fn new(current: Keys, previous: Option<Keys>) -> KeyRing {
        KeyRing { current, previous }
    }

    /// Derives the ring from the current secret and the optional previous one.
    pub fn from_secrets(current: &str, previous: Option<&str>) -> Result<KeyRing, KeyError> {
        let previous = previous.map(Keys::from_secret).transpose()?;
        Ok(KeyRing::new(Keys::from_secret(current)?, previous))
    }

    /// The keys everything is issued with.
    pub fn current(&self) -> &Keys {
        &self.current
    }

    /// The keys named by `kid`; no `kid` (tokens issued before rotation existed) means the current keys.
    pub fn by_kid(&self, kid: Option<&str>) -> Option<&Keys> {
        let Some(kid) = kid else {
            return Some(&self.current);
        };
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|keys| keys.kid() == kid)
    }

    /// Every public key, current first (what `nyra-ops license-public-key` prints).
    pub fn public_keys_b64(&self) -> Vec<String> {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .map(Keys::public_key_b64)
            .collect()
    }
}

/// Key id of a raw Ed25519 public key: hex of the first 8 bytes of its SHA-256.
pub fn kid_of(public_key: &[u8; 32]) -> String {
    let digest = Sha256::digest(public_key);
    hex::encode(digest.get(..8).unwrap_or_default())
}

/// One 32-byte HKDF output for `info`.
fn expand(hkdf: &Hkdf<Sha256>, info: &[u8]) -> Result<[u8; 32], KeyError> {
    let mut out = [0u8; 32];
    hkdf.expand(info, &mut out)
        .map_err(|_| KeyError::Derivation)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "nyra_local_license_signing_secret_0123456789abcdef";

    #[test]
    fn short_secret_is_rejected() {
        assert_eq!(Keys::from_secret("").err(), Some(KeyError::SecretTooShort));
        assert_eq!(
            Keys::from_secret(&"x".repeat(31)).err(),
            Some(KeyError::SecretTooShort)
        );
        assert!(Keys::from_secret(&"x".repeat(32)).is_ok());
    }

    #[test]
    fn pkcs8_holds_the_license_seed_after_the_rfc_8410_prefix() -> Result<(), KeyError> {
        let keys = Keys::from_secret(SECRET)?;
        let der = keys.license_pkcs8();
        assert_eq!(der.len(), 48);
        assert_eq!(usize::from(der[1]) + 2, der.len(), "outer SEQUENCE length");
        assert_eq!(&der[7..12], &[0x06, 0x03, 0x2b, 0x65, 0x70], "id-Ed25519");
        let seed: [u8; 32] = der[16..].try_into().map_err(|_| KeyError::Derivation)?;
        let from_der = SigningKey::from_bytes(&seed).verifying_key();
        assert_eq!(from_der, keys.verifying_key());
        Ok(())
    }

    #[test]
    fn kid_is_sixteen_hex_chars_and_debug_hides_keys() -> Result<(), KeyError> {
        let keys = Keys::from_secret(SECRET)?;
        assert_eq!(keys.kid().len(), 16);
        assert!(keys.kid().chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(keys.kid(), kid_of(&keys.public_key_bytes()));
        assert_eq!(
            format!("{keys:?}"),
            format!("Keys {{ kid: {:?}, .. }}", keys.kid())
        );
        Ok(())
    }

    #[test]
    fn ring_selects_keys_by_kid() -> Result<(), KeyError> {
        let previous_secret = "previous_license_signing_secret_0123456789abc";
        let ring = KeyRing::from_secrets(SECRET, Some(previous_secret))?;
        let previous = Keys::from_secret(previous_secret)?;
        assert_eq!(ring.by_kid(None).map(Keys::kid), Some(ring.current().kid()));
        assert_eq!(
            ring.by_kid(Some(previous.kid())).map(Keys::kid),
            Some(previous.kid())
        );
        assert!(ring.by_kid(Some("0000000000000000")).is_none());
        let alone = KeyRing::from_secrets(SECRET, None)?;
        assert!(alone.by_kid(Some(previous.kid())).is_none());
        assert_eq!(ring.public_keys_b64().len(), 2);
        Ok(())
    }

    #[test]
    fn mac_and_signing_keys_are_separated() -> Result<(), KeyError> {
        let keys = Keys::from_secret(SECRET)?;
        assert_ne!(keys.token_mac(b""), keys.signing.to_bytes());
        Ok(())
    }
}
