//! The desktop app's client of the NyrA Billing API, generated from `openapi.yaml` by progenitor,
//! plus the offline license check (rotating keys, clock high-water mark) and a typed helper for
//! activation and refresh.

mod desktop;
mod offline;

#[allow(clippy::all, missing_docs, unused_imports)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/client.rs"));
}

pub use desktop::{Desktop, DesktopError};
pub use generated::*;
pub use nyra_domain::license::{Clock, LicenseClaims, LicenseError, MAX_CLOCK_ROLLBACK_SECONDS};
pub use offline::{HighWaterError, HighWaterMark, PublicKeys, verify_license};
