//! Generates the models and the server side from the workspace's openapi.yaml into OUT_DIR.

use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let spec = root.join("openapi.yaml");
    println!("cargo:rerun-if-changed={}", spec.display());
    let spec_doc = nyra_codegen::spec::load(&spec).unwrap_or_else(|e| panic!("{e}"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let models = nyra_codegen::models::generate(&spec_doc).and_then(nyra_codegen::render);
    let server = nyra_codegen::server::generate(&spec_doc).and_then(nyra_codegen::render);
    for (name, text) in [("models.rs", models), ("server.rs", server)] {
        let text = text.unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(out.join(name), text).expect("OUT_DIR is writable");
    }
}
