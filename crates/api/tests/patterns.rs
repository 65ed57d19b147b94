//! The generated pattern matchers agree with a regular-expression engine (regex-lite) on the
//! spec's own patterns and on every other form the generator accepts.

use nyra_api::models::{CheckoutRequest, CheckoutResponse};
use nyra_api::rt::{Pattern, Piece, Validate};
use proptest::prelude::*;
use proptest::string::string_regex;

/// Every `pattern` of a component schema in openapi.yaml.
fn spec_patterns() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml");
    let spec = nyra_codegen::spec::load(std::path::Path::new(path)).unwrap();
    let schemas = spec.components.unwrap().schemas;
    let patterns: Vec<String> = schemas
        .values()
        .filter_map(|schema| match &schema.as_item()?.schema_kind {
            openapiv3::SchemaKind::Type(openapiv3::Type::String(s)) => s.pattern.clone(),
            _ => None,
        })
        .collect();
    assert!(patterns.len() >= 3, "the spec's patterns: {patterns:?}");
    patterns
}

/// Forms the generator accepts beyond the spec's, to keep the runtime honest.
const EXTRA: &[&str] = &[
    r"^a?\.*[b-d]{2}x{3,}$",
    "^[a-z]+[0-9]?-[a-z]*$",
    "^ab{0,3}c$",
    "^$",
];

/// The runtime pattern the generator would emit for `source`.
fn runtime(source: &str) -> Pattern {
    let pieces: Vec<Piece> = nyra_codegen::pattern::compile(source)
        .unwrap()
        .into_iter()
        .map(|piece| Piece {
            ranges: piece.ranges.leak(),
            min: piece.min,
            max: piece.max,
        })
        .collect();
    Pattern {
        source: String::from(source).leak(),
        pieces: pieces.leak(),
    }
}

/// Candidates: values built from the pattern itself, lightly mutated, and plain noise.
fn candidates(source: &str) -> impl Strategy<Value = String> + use<> {
    let body = &source[1..source.len() - 1];
    let near = string_regex(body).unwrap();
    let mutated = (
        string_regex(body).unwrap(),
        any::<prop::sample::Index>(),
        "[a-z_.:é -]",
    )
        .prop_map(|(s, at, c)| {
            let chars: Vec<char> = s.chars().collect();
            let at = at.index(chars.len() + 1);
            let (before, after) = chars.split_at(at);
            before
                .iter()
                .copied()
                .chain(c.chars())
                .chain(after.iter().copied())
                .collect()
        });
    let noise = "[A-Za-z0-9._:cs é/-]{0,140}";
    prop_oneof![near, mutated, noise]
}

#[test]
fn every_accepted_form_matches_like_a_regex() {
    let sources: Vec<String> = spec_patterns()
        .into_iter()
        .chain(EXTRA.iter().map(|s| (*s).to_owned()))
        .collect();
    for source in sources {
        let pattern = runtime(&source);
        let regex = regex_lite::Regex::new(&source).unwrap();
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(2000));
        runner
            .run(&candidates(&source), |value| {
                prop_assert_eq!(
                    pattern.is_match(&value),
                    regex.is_match(&value),
                    "{}",
                    source
                );
                Ok(())
            })
            .unwrap();
    }
}

fn checks_like_the_spec(value: &str, min: usize, max: usize, regex: &str) -> bool {
    let len = value.chars().count();
    (min..=max).contains(&len) && regex_lite::Regex::new(regex).unwrap().is_match(value)
}

proptest! {
    #[test]
    fn generated_device_id_check_matches_the_spec(device_id in candidates("^[A-Za-z0-9._:-]{8,128}$")) {
        let request = CheckoutRequest { device_id: device_id.clone(), email: None };
        let expected = checks_like_the_spec(&device_id, 8, 128, "^[A-Za-z0-9._:-]{8,128}$");
        prop_assert_eq!(request.validate().is_ok(), expected);
    }

    #[test]
    fn generated_activation_code_check_matches_the_spec(code in candidates("^[A-Za-z0-9 -]{16,64}$")) {
        let response = CheckoutResponse {
            checkout_url: String::new(),
            checkout_session_id: String::new(),
            expires_at_iso: String::new(),
            activation_code: code.clone(),
        };
        let expected = checks_like_the_spec(&code, 16, 64, "^[A-Za-z0-9 -]{16,64}$");
        prop_assert_eq!(response.validate().is_ok(), expected);
    }
}

#[test]
fn a_failed_pattern_names_the_spec_pattern() {
    let request = CheckoutRequest {
        device_id: "device 123".into(),
        email: None,
    };
    assert_eq!(
        request.validate().unwrap_err().to_string(),
        "deviceId: must match ^[A-Za-z0-9._:-]{8,128}$"
    );
}
