//! The desktop app's client of the NyrA Billing API, generated from `openapi.yaml` by progenitor,
//! plus the offline license check and a typed helper for activation and refresh.

mod desktop;

#[allow(clippy::all, missing_docs, unused_imports)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/client.rs"));
}

pub use desktop::{Desktop, DesktopError};
pub use generated::*;
pub use nyra_domain::license::{LicenseClaims, LicenseError, verify_license};
