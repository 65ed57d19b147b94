//! Offline licence checks for the desktop: verification against a list of pinned public keys and the persisted clock high-water mark.

use nyra_domain::license::{Clock, LicenseClaims, LicenseError, verify_license_among};
use std::path::{Path, PathBuf};

/// The pinned licence public keys (URL-safe base64), current first: one key, or several while
/// the signing secret rotates.
pub trait PublicKeys {
    /// The keys as text.
    fn public_keys(&self) -> Vec<&str>;
}

impl PublicKeys for str {
    fn public_keys(&self) -> Vec<&str> {
        vec![self]
    }
}

impl PublicKeys for String {
    fn public_keys(&self) -> Vec<&str> {
        vec![self.as_str()]
    }
}

impl<S: AsRef<str>> PublicKeys for [S] {
    fn public_keys(&self) -> Vec<&str> {
        self.iter().map(AsRef::as_ref).collect()
    }
}

impl<S: AsRef<str>, const N: usize> PublicKeys for [S; N] {
    fn public_keys(&self) -> Vec<&str> {
        self.iter().map(AsRef::as_ref).collect()
    }
}

impl<S: AsRef<str>> PublicKeys for Vec<S> {
    fn public_keys(&self) -> Vec<&str> {
        self.iter().map(AsRef::as_ref).collect()
    }
}

/// Verifies a licence offline for `device_id`.
///
/// The payload's `kid` picks the key among `public_keys`. `clock` is the device clock and the
/// highest time the app has seen ([`HighWaterMark::observe`]); a clock more than five minutes
/// behind that mark is [`LicenseError::ClockRolledBack`], a licence issued more than five minutes
/// after the clock is [`LicenseError::IssuedInFuture`]. `Clock::from(now)` has no history and
/// only suits one-off checks (ops tooling), never the desktop.
pub fn verify_license<K: PublicKeys + ?Sized>(
    blob: &str,
    public_keys: &K,
    device_id: &str,
    clock: impl Into<Clock>,
) -> Result<LicenseClaims, LicenseError> {
    verify_license_among(blob, &public_keys.public_keys(), device_id, clock.into())
}

/// Why the high-water mark could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HighWaterError {
    /// The file could not be read or written.
    #[error("cannot persist the clock high-water mark: {0}")]
    Io(#[from] std::io::Error),
    /// The file does not hold a unix time.
    #[error("the clock high-water mark file is corrupt")]
    Corrupt,
}

/// The highest unix time the app has seen, persisted in one small file so that winding the
/// clock back cannot revive an expired licence.
#[derive(Debug, Clone)]
pub struct HighWaterMark {
    path: PathBuf,
}

impl HighWaterMark {
    /// A mark stored at `path` (created on the first [`observe`](Self::observe)).
    pub fn new(path: impl Into<PathBuf>) -> HighWaterMark {
        HighWaterMark { path: path.into() }
    }

    /// The stored mark; 0 when none has been stored yet.
    pub fn load(&self) -> Result<i64, HighWaterError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => text.trim().parse().map_err(|_| HighWaterError::Corrupt),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Records `seen` (the clock now, or a verified licence's `issuedAt`) and returns the clock to
    /// verify with: `now` and the mark, which only ever moves forward. A clock more than five
    /// minutes behind the mark does not lower it.
    pub fn observe(&self, now: i64, seen: i64) -> Result<Clock, HighWaterError> {
        let stored = self.load()?;
        let high_water = stored.max(seen);
        if high_water > stored {
            write_atomically(&self.path, &high_water.to_string())?;
        }
        Ok(Clock { now, high_water })
    }
}

/// Writes through a sibling temporary file and a rename, so a crash never leaves half a number.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}
