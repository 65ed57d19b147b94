//! The client crate's generated code matches its checked-in copy in generated/.

#[test]
fn generated_copy_matches_build_output() {
    let built = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/client.rs")).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../generated/client.rs");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        built == committed,
        "generated/client.rs differs from what build.rs makes from openapi.yaml; run `cargo xtask codegen` and commit generated/"
    );
}
