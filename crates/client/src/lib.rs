//! The desktop app's client of the NyrA Billing API, generated from `openapi.yaml` by progenitor.

#[allow(clippy::all, missing_docs, unused_imports)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/client.rs"));
}

pub use generated::*;
