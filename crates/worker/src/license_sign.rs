//! License signatures through the runtime's WebCrypto Ed25519 (native code), the key imported once per isolate.
//!
//! Ed25519 in wasm (curve25519-dalek, 32-bit arithmetic) cost about 0.12 ms of a refresh's
//! 0.3 ms of Worker CPU (docs/capacity.md); WebCrypto signs the same text with the same key in
//! native code. Ed25519 is deterministic, so the license is byte for byte what
//! `nyra_domain::license::sign` makes, and that stays the fallback if the runtime refuses the
//! key or the signature (logged once per isolate).

use nyra_domain::license::{self, Keys, LicenseClaims, UnsignedLicense};
use std::cell::{Cell, RefCell};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;
use worker::js_sys::{Promise, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = "export function import_ed25519(pkcs8) { \
    return crypto.subtle.importKey('pkcs8', pkcs8.slice(), { name: 'Ed25519' }, false, ['sign']); \
} \
export function sign_ed25519(key, data) { \
    return crypto.subtle.sign({ name: 'Ed25519' }, key, data.slice()); \
}")]
extern "C" {
    /// `crypto.subtle.importKey` of a PKCS #8 Ed25519 private key, not extractable.
    #[wasm_bindgen(catch)]
    fn import_ed25519(pkcs8: &[u8]) -> Result<Promise, JsValue>;

    /// `crypto.subtle.sign` with Ed25519: resolves to the 64-byte signature.
    #[wasm_bindgen(catch)]
    fn sign_ed25519(key: &JsValue, data: &[u8]) -> Result<Promise, JsValue>;
}

thread_local! {
    /// The imported `CryptoKey` and the `kid` of the keys it was imported from.
    static KEY: RefCell<Option<(String, JsValue)>> = const { RefCell::new(None) };
    /// Whether the fallback has been logged in this isolate.
    static FELL_BACK: Cell<bool> = const { Cell::new(false) };
}

/// The license for `claims`, signed with `keys`.
pub async fn sign(keys: &Keys, claims: &LicenseClaims) -> String {
    let unsigned = UnsignedLicense::new(keys, claims);
    match webcrypto_signature(keys, unsigned.text()).await {
        Ok(signature) => unsigned.seal(&signature),
        Err(_) => {
            if !FELL_BACK.replace(true) {
                worker::console_error!("license: webcrypto ed25519 refused, signing in wasm");
            }
            license::sign(keys, claims)
        }
    }
}

async fn webcrypto_signature(keys: &Keys, text: &[u8]) -> Result<[u8; 64], JsValue> {
    let key = crypto_key(keys).await?;
    let signature = JsFuture::from(sign_ed25519(&key, text)?).await?;
    let bytes = Uint8Array::new(&signature).to_vec();
    bytes
        .try_into()
        .map_err(|_| JsValue::from_str("not a 64-byte signature"))
}

/// The `CryptoKey` of `keys`' license key, imported on first use (and again after a rotation).
async fn crypto_key(keys: &Keys) -> Result<JsValue, JsValue> {
    let cached = KEY.with_borrow(|key| {
        key.as_ref()
            .filter(|(kid, _)| kid == keys.kid())
            .map(|(_, key)| key.clone())
    });
    if let Some(key) = cached {
        return Ok(key);
    }
    let key = JsFuture::from(import_ed25519(&keys.license_pkcs8())?).await?;
    KEY.set(Some((keys.kid().to_owned(), key.clone())));
    Ok(key)
}
