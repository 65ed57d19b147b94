//! Keeps the wasm `target_features` section when the release profile strips the Worker's
//! symbols: wasm-bindgen reads it to keep the multivalue and reference-types glue.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo::rustc-link-arg-cdylib=--keep-section=target_features");
    }
}
