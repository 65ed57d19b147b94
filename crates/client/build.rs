//! Generates the progenitor client from the workspace's openapi.yaml into OUT_DIR.

use std::path::PathBuf;

fn main() {
    let spec = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi.yaml");
    println!("cargo:rerun-if-changed={}", spec.display());
    let doc = nyra_codegen::spec::load(&spec).unwrap_or_else(|e| panic!("{e}"));
    let text = nyra_codegen::client::generate(&doc)
        .and_then(nyra_codegen::render)
        .unwrap_or_else(|e| panic!("{e}"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("client.rs"), text).expect("OUT_DIR is writable");
}
