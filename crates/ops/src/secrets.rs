//! Secret-looking strings: the rule for committed files (`check`) and the stricter one for dashboard answers.
//!
//! Committed files may hold obviously fake local values (`sk_test_local_...`, `whsec_local_...`);
//! the dashboard file may hold no Stripe key, webhook secret, long random token or email at all.

use serde::Serialize;

/// Stripe secret and restricted key prefixes.
const STRIPE_KEY_PREFIXES: [&str; 4] = ["sk_live_", "sk_test_", "rk_live_", "rk_test_"];
/// Stripe webhook signing secret prefix.
const WEBHOOK_PREFIX: &str = "whsec_";
/// The marker that makes a Stripe-shaped value an obviously fake local one.
const LOCAL_MARKER: &str = "local_";
/// Shortest random tail after a prefix that counts as a real key.
const MIN_KEY_TAIL: usize = 24;
/// Shortest run of token characters that counts as a long random token.
const MIN_TOKEN_LEN: usize = 32;
/// A long token needs this many digits and this many letters to look random.
const MIN_TOKEN_CLASS: usize = 6;
/// Five dashes: PEM armour, split so this file never holds a whole PEM header.
const PEM_DASHES: &str = "-----";

/// What kind of secret a string looks like (never the string itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SecretKind {
    /// A Stripe secret or restricted API key.
    StripeKey,
    /// A Stripe webhook signing secret.
    WebhookSecret,
    /// A PEM private key.
    PrivateKey,
    /// A long random token (API token, signing secret, hash).
    LongToken,
    /// An email address (customer data).
    Email,
}

impl SecretKind {
    /// A short phrase for reports.
    pub fn describe(self) -> &'static str {
        match self {
            SecretKind::StripeKey => "a Stripe secret or restricted key",
            SecretKind::WebhookSecret => "a Stripe webhook signing secret",
            SecretKind::PrivateKey => "a private key",
            SecretKind::LongToken => "a long random token",
            SecretKind::Email => "an email address",
        }
    }
}

/// The committed-file rule: real-looking Stripe keys, webhook secrets and PEM private keys.
pub fn find_committed(line: &str) -> Option<SecretKind> {
    if STRIPE_KEY_PREFIXES
        .iter()
        .any(|p| has_real_tail(line, p, |c| c.is_ascii_alphanumeric()))
    {
        return Some(SecretKind::StripeKey);
    }
    if has_real_tail(line, WEBHOOK_PREFIX, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')
    }) {
        return Some(SecretKind::WebhookSecret);
    }
    is_pem_private_key(line).then_some(SecretKind::PrivateKey)
}

/// The dashboard rule: anything key-, token- or email-shaped, fake or not.
pub fn find_in_answer(text: &str) -> Option<SecretKind> {
    if let Some(kind) = find_committed(text) {
        return Some(kind);
    }
    let lower = text.to_ascii_lowercase();
    let trimmed = lower.trim_start();
    if STRIPE_KEY_PREFIXES.iter().any(|p| lower.contains(p))
        || trimmed.starts_with("sk_")
        || trimmed.starts_with("rk_")
    {
        return Some(SecretKind::StripeKey);
    }
    if lower.contains(WEBHOOK_PREFIX) {
        return Some(SecretKind::WebhookSecret);
    }
    if token_runs(text).any(looks_random) {
        return Some(SecretKind::LongToken);
    }
    has_email(text).then_some(SecretKind::Email)
}

/// `prefix` followed by at least [`MIN_KEY_TAIL`] characters of `class`, unless marked local.
fn has_real_tail(line: &str, prefix: &str, class: impl Fn(char) -> bool) -> bool {
    line.match_indices(prefix).any(|(at, _)| {
        let tail = &line[at + prefix.len()..];
        !tail.starts_with(LOCAL_MARKER)
            && tail.chars().take_while(|&c| class(c)).count() >= MIN_KEY_TAIL
    })
}

/// A PEM header of a private key.
fn is_pem_private_key(line: &str) -> bool {
    let begin = format!("{PEM_DASHES}BEGIN ");
    let end = format!("PRIVATE KEY{PEM_DASHES}");
    line.find(&begin)
        .is_some_and(|at| line[at..].contains(&end))
}

/// Maximal runs of characters that random tokens are made of.
fn token_runs(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/' | '=')))
        .filter(|run| run.len() >= MIN_TOKEN_LEN)
}

/// Long, with many digits and many letters, and not a UUID.
fn looks_random(run: &str) -> bool {
    let digits = run.chars().filter(char::is_ascii_digit).count();
    let letters = run.chars().filter(char::is_ascii_alphabetic).count();
    digits >= MIN_TOKEN_CLASS && letters >= MIN_TOKEN_CLASS && !is_uuid(run)
}

/// `8-4-4-4-12` hex digits.
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    lengths == [8, 4, 4, 4, 12]
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `local@domain.tld` anywhere in the text.
fn has_email(text: &str) -> bool {
    text.match_indices('@').any(|(at, _)| {
        let local_ok = text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-'));
        let domain: String = text[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
            .collect();
        let tld = domain
            .trim_end_matches('.')
            .rsplit('.')
            .next()
            .unwrap_or_default();
        local_ok
            && domain.contains('.')
            && tld.len() >= 2
            && tld.chars().all(|c| c.is_ascii_alphabetic())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake key built at run time so this file never holds a real-looking one.
    fn fake(prefix: &str) -> String {
        format!("{prefix}{}", "Fake0Fake1Fake2Fake3Fake4Fake5")
    }

    #[test]
    fn committed_rule_flags_real_looking_keys_only() {
        assert_eq!(
            find_committed(&fake("sk_live_")),
            Some(SecretKind::StripeKey)
        );
        assert_eq!(
            find_committed(&fake("rk_test_")),
            Some(SecretKind::StripeKey)
        );
        assert_eq!(
            find_committed(&fake("whsec_")),
            Some(SecretKind::WebhookSecret)
        );
        assert_eq!(
            find_committed("sk_test_local_emulator_key_0123456789"),
            None
        );
        assert_eq!(find_committed(&fake("sk_test_local_")), None);
        assert_eq!(find_committed("whsec_local_test_vector_secret_a"), None);
        assert_eq!(find_committed("k.starts_with(\"sk_live_\")"), None);
    }

    #[test]
    fn committed_rule_flags_pem_private_keys() {
        let header = format!("{PEM_DASHES}BEGIN RSA PRIVATE KEY{PEM_DASHES}");
        assert_eq!(find_committed(&header), Some(SecretKind::PrivateKey));
        assert_eq!(
            find_committed(&format!("{PEM_DASHES}BEGIN PUBLIC KEY{PEM_DASHES}")),
            None
        );
    }

    #[test]
    fn answer_rule_flags_any_key_token_or_email() {
        assert_eq!(
            find_in_answer("sk_test_local_x"),
            Some(SecretKind::StripeKey)
        );
        assert_eq!(
            find_in_answer("whsec_local_x"),
            Some(SecretKind::WebhookSecret)
        );
        let token = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8";
        assert_eq!(find_in_answer(token), Some(SecretKind::LongToken));
        assert_eq!(find_in_answer("buyer@example.com"), Some(SecretKind::Email));
    }

    #[test]
    fn answer_rule_passes_config_values() {
        for ok in [
            "0b3c2f4e-8a1d-4c6e-9f2a-5d7e8b9c0a1f",
            "https://porterlabz.com",
            "https://nyra-billing-api.porterlabz.workers.dev",
            "2026-02-25.clover",
            "NYRA_LICENSE_SIGNING_SECRET",
            "./dashboard.schema.json",
        ] {
            assert_eq!(find_in_answer(ok), None, "{ok}");
        }
    }
}
