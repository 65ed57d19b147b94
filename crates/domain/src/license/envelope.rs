//! The shared `<prefix><base64url payload>.<base64url tag>` envelope of tokens and licenses.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

/// The parts of an envelope: the signed text, the decoded payload and the decoded tag.
pub(crate) struct Parts<'a> {
    /// `<prefix><payload_b64>`: the exact bytes the tag covers.
    pub signed: &'a str,
    /// The decoded payload (JSON bytes).
    pub payload: Vec<u8>,
    /// The decoded MAC or signature.
    pub tag: Vec<u8>,
}

/// Builds `<prefix><b64(payload)>` (the signed text) from a serialisable payload.
pub(crate) fn signed_text(prefix: &str, payload: &impl Serialize) -> String {
    // Plain strings and integers always serialise; an empty payload would never verify.
    let json = serde_json::to_vec(payload).unwrap_or_default();
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(json))
}

/// Appends `.<b64(tag)>` to the signed text.
pub(crate) fn seal(signed: String, tag: &[u8]) -> String {
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Splits and decodes an envelope; `None` on any length, prefix or base64 problem.
pub(crate) fn open<'a>(text: &'a str, prefix: &str, max_len: usize) -> Option<Parts<'a>> {
    if text.len() > max_len {
        return None;
    }
    let rest = text.strip_prefix(prefix)?;
    let (payload_b64, tag_b64) = rest.split_once('.')?;
    let signed = text.get(..prefix.len() + payload_b64.len())?;
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag_b64).ok()?;
    Some(Parts {
        signed,
        payload,
        tag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_reverses_seal() {
        let signed = signed_text("p.", &serde_json::json!({"a": 1}));
        let text = seal(signed.clone(), &[1, 2, 3]);
        let parts = open(&text, "p.", 100);
        assert!(parts.as_ref().is_some_and(|p| p.signed == signed));
        assert!(parts.as_ref().is_some_and(|p| p.payload == br#"{"a":1}"#));
        assert!(parts.is_some_and(|p| p.tag == [1, 2, 3]));
    }

    #[test]
    fn open_rejects_bad_envelopes() {
        assert!(open("q.e30.AQ", "p.", 100).is_none());
        assert!(open("p.e30", "p.", 100).is_none());
        assert!(open("p.e30.AQ.AQ", "p.", 100).is_none());
        assert!(
            open("p.e30.AR", "p.", 100).is_none(),
            "non-canonical trailing bits"
        );
        assert!(open("p.e30.AQ", "p.", 7).is_none());
        assert!(open("p.e30.AQ", "p.", 8).is_some());
    }
}
