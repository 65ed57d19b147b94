//! Golden tests of the generators on a small fixture spec, and their refusals.

use nyra_codegen::{CodegenError, models, render, server, spec};

fn fixture() -> openapiv3::OpenAPI {
    spec::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mini.yaml"
    )))
    .unwrap()
}

#[test]
fn models_golden() {
    insta::assert_snapshot!(
        "mini_models",
        render(models::generate(&fixture()).unwrap()).unwrap()
    );
}

#[test]
fn server_golden() {
    insta::assert_snapshot!(
        "mini_server",
        render(server::generate(&fixture()).unwrap()).unwrap()
    );
}

#[test]
fn refuses_inline_objects_with_properties() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mini.yaml"
    ))
    .unwrap()
    .replace(
        "        note: {type: string, maxLength: 10, description: A short note.}",
        "        note: {type: object, properties: {a: {type: string}}}",
    );
    let error = models::generate(&spec::parse(&text).unwrap()).unwrap_err();
    assert!(matches!(error, CodegenError::Unsupported { .. }), "{error}");
}

#[test]
fn refuses_operations_without_ids() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mini.yaml"
    ))
    .unwrap()
    .replace("      operationId: createItem\n", "");
    let error = server::generate(&spec::parse(&text).unwrap()).unwrap_err();
    assert!(error.to_string().contains("operationId"), "{error}");
}

#[test]
fn refuses_a_request_body_that_is_not_an_object() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mini.yaml"
    ))
    .unwrap()
    .replace(
        "              $ref: '#/components/schemas/NewItem'",
        "              $ref: '#/components/schemas/ErrorCode'",
    );
    let error = server::generate(&spec::parse(&text).unwrap()).unwrap_err();
    assert!(error.to_string().contains("object schema"), "{error}");
}

#[test]
fn unparsable_spec_is_a_clear_error() {
    let error = spec::parse("openapi: [").unwrap_err();
    assert!(matches!(error, CodegenError::Parse(_)));
}

#[test]
fn refuses_patterns_it_cannot_match_exactly() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mini.yaml"
    ))
    .unwrap()
    .replace("pattern: '^[a-z]+$'", r"pattern: '^[a-z]+\d$'");
    let error = models::generate(&spec::parse(&text).unwrap()).unwrap_err();
    assert!(matches!(error, CodegenError::Unsupported { .. }), "{error}");
    assert!(error.to_string().contains(r"^[a-z]+\d$"), "{error}");
}
