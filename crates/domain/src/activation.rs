//! Activation codes (generation from random bytes, formatting, normalisation, hashing, constant-time matching) and device seats.
//!
//! A code is [`CODE_BYTES`] random bytes written as Crockford base32 (32 symbols, 160 bits) in
//! groups of four: `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`. Input is normalised the Crockford
//! way (case, `-` and spaces ignored; `I`/`L` read as `1`, `O` as `0`). The Worker stores only
//! [`hash_hex`] of the normalised code; the random bytes come from the caller (the Worker's RNG).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Random bytes per activation code (160 bits, at least 128 as DESIGN §3 asks).
pub const CODE_BYTES: usize = 20;

/// Symbols of a normalised code.
pub const CODE_SYMBOLS: usize = CODE_BYTES * 8 / 5;

/// Symbols per group in the displayed code.
const GROUP: usize = 4;

/// Crockford's base32 alphabet (no I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Domain separation of the Stripe idempotency key from the stored hash.
const IDEMPOTENCY_INFO: &[u8] = b"nyra-billing/checkout-idempotency/v1\n";

/// Default of `NYRA_MAX_DEVICES`: devices one subscription licenses at once.
pub const DEFAULT_MAX_DEVICES: u32 = 2;

/// Largest accepted `NYRA_MAX_DEVICES`.
pub const MAX_MAX_DEVICES: u32 = 10;

/// The displayed code of `bytes`: Crockford base32 in dash-separated groups of four.
pub fn format_code(bytes: &[u8; CODE_BYTES]) -> String {
    let symbols = encode(bytes);
    let groups: Vec<&str> = symbols
        .as_bytes()
        .chunks(GROUP)
        .filter_map(|chunk| std::str::from_utf8(chunk).ok())
        .collect();
    groups.join("-")
}

/// The canonical symbols of a code as typed, or `None` when it is not a well-formed code.
pub fn normalize(input: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_SYMBOLS);
    for c in input.chars().filter(|c| *c != '-' && *c != ' ') {
        let c = match c.to_ascii_uppercase() {
            'I' | 'L' => '1',
            'O' => '0',
            other => other,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_SYMBOLS).then_some(out)
}

/// Hex SHA-256 of the normalised code: what D1 keeps. `None` for input that is not a code.
pub fn hash_hex(input: &str) -> Option<String> {
    normalize(input).map(|code| hex::encode(Sha256::digest(code.as_bytes())))
}

/// Whether `input` is the code whose [`hash_hex`] is `stored_hex` (constant-time comparison).
pub fn matches(input: &str, stored_hex: &str) -> bool {
    let Some(given) = hash_hex(input) else {
        return false;
    };
    bool::from(given.as_bytes().ct_eq(stored_hex.as_bytes()))
}

/// The Stripe `Idempotency-Key` of the checkout that answered `code`: unique per request,
/// unrelated to the stored hash, and the same for every retry of that request.
pub fn idempotency_key(code: &str) -> String {
    let canonical = normalize(code).unwrap_or_default();
    let digest = Sha256::new()
        .chain_update(IDEMPOTENCY_INFO)
        .chain_update(canonical.as_bytes())
        .finalize();
    format!(
        "nyra-checkout-{}",
        hex::encode(digest.get(..16).unwrap_or_default())
    )
}

/// `NYRA_MAX_DEVICES`: [`DEFAULT_MAX_DEVICES`] when unset or unreadable, clamped to 1..=10.
pub fn max_devices(var: Option<&str>) -> u32 {
    var.and_then(|v| v.trim().parse::<u32>().ok())
        .map_or(DEFAULT_MAX_DEVICES, |n| n.clamp(1, MAX_MAX_DEVICES))
}

/// Base32 of `bytes`, most significant bit first (160 bits make exactly 32 symbols).
fn encode(bytes: &[u8; CODE_BYTES]) -> String {
    let mut out = String::with_capacity(CODE_SYMBOLS);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            let index = (buffer >> bits) & 31;
            out.push(char::from(ALPHABET[index as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_groups_of_four_and_round_trips() {
        let code = format_code(&[0u8; CODE_BYTES]);
        assert_eq!(code, "0000-0000-0000-0000-0000-0000-0000-0000");
        let code = format_code(&[0xff; CODE_BYTES]);
        assert_eq!(code, "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ");
        let bytes: [u8; CODE_BYTES] = std::array::from_fn(|i| i as u8 * 13);
        let code = format_code(&bytes);
        assert_eq!(normalize(&code).map(|c| c.len()), Some(CODE_SYMBOLS));
        assert_eq!(normalize(&code.to_lowercase()), normalize(&code));
    }

    #[test]
    fn normalisation_forgives_case_dashes_and_look_alikes() {
        let code = "0000-1111-0000-1111-0000-1111-0000-1111";
        assert_eq!(
            normalize("oooo illl OOOO LLLL oooo 1111 0000 1111"),
            normalize(code)
        );
        assert_eq!(normalize("0000"), None);
        assert_eq!(normalize(&"U".repeat(CODE_SYMBOLS)), None);
        assert_eq!(normalize(&"é".repeat(CODE_SYMBOLS)), None);
    }

    #[test]
    fn matching_uses_the_hash_of_the_normalised_code() {
        let code = format_code(&[7; CODE_BYTES]);
        let stored = hash_hex(&code).unwrap_or_default();
        assert!(matches(&code.to_lowercase().replace('-', ""), &stored));
        assert!(!matches(&format_code(&[8; CODE_BYTES]), &stored));
        assert!(!matches("", &stored));
        assert!(!stored.contains(&normalize(&code).unwrap_or_default()));
    }

    #[test]
    fn idempotency_keys_differ_per_code_and_from_the_hash() {
        let (a, b) = (format_code(&[1; CODE_BYTES]), format_code(&[2; CODE_BYTES]));
        assert_ne!(idempotency_key(&a), idempotency_key(&b));
        assert_eq!(idempotency_key(&a), idempotency_key(&a.to_lowercase()));
        let hash = hash_hex(&a).unwrap_or_default();
        assert!(!hash.contains(idempotency_key(&a).trim_start_matches("nyra-checkout-")));
    }

    #[test]
    fn max_devices_defaults_and_clamps() {
        assert_eq!(max_devices(None), 2);
        assert_eq!(max_devices(Some("x")), 2);
        assert_eq!(max_devices(Some("0")), 1);
        assert_eq!(max_devices(Some(" 5 ")), 5);
        assert_eq!(max_devices(Some("99")), 10);
    }
}
