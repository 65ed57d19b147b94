//! ISO-8601 UTC formatting and parsing of unix-second timestamps.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Formats unix seconds as `YYYY-MM-DDTHH:MM:SSZ`; out-of-range values clamp to the epoch.
pub fn iso(unix_seconds: i64) -> String {
    let at =
        OffsetDateTime::from_unix_timestamp(unix_seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    at.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// Parses an RFC 3339 timestamp into unix seconds.
pub fn parse_iso(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_whole_seconds() {
        assert_eq!(iso(1_764_300_000), "2025-11-28T03:20:00Z");
        assert_eq!(parse_iso("2025-11-28T03:20:00Z"), Some(1_764_300_000));
        assert_eq!(parse_iso("not a time"), None);
    }
}
