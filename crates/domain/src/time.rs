//! RFC 3339 UTC formatting and parsing of unix-second timestamps, by plain calendar arithmetic.
//!
//! [`iso`] writes `YYYY-MM-DDTHH:MM:SSZ` for years 0000 to 9999; [`parse_iso`] reads the whole
//! RFC 3339 grammar (any one-byte date/time separator, optional fraction, `Z`, `z` or `±HH:MM`,
//! and a leap second `:60` only where one can occur: 23:59:60 UTC on the last day of a month).

const SECONDS_PER_DAY: i64 = 86_400;
/// `0000-01-01T00:00:00Z`, the first instant [`iso`] writes.
const FIRST: i64 = -62_167_219_200;
/// `9999-12-31T23:59:59Z`, the last instant [`iso`] writes.
const LAST: i64 = 253_402_300_799;
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// Formats unix seconds as `YYYY-MM-DDTHH:MM:SSZ`; values outside years 0000 to 9999 give the epoch.
pub fn iso(unix_seconds: i64) -> String {
    if !(FIRST..=LAST).contains(&unix_seconds) {
        return EPOCH.to_owned();
    }
    let (year, month, day) = civil_from_days(unix_seconds.div_euclid(SECONDS_PER_DAY));
    let second_of_day = unix_seconds.rem_euclid(SECONDS_PER_DAY);
    let mut out = String::with_capacity(EPOCH.len());
    push_digits(&mut out, year, 4);
    out.push('-');
    push_digits(&mut out, month, 2);
    out.push('-');
    push_digits(&mut out, day, 2);
    out.push('T');
    push_digits(&mut out, second_of_day / 3600, 2);
    out.push(':');
    push_digits(&mut out, second_of_day / 60 % 60, 2);
    out.push(':');
    push_digits(&mut out, second_of_day % 60, 2);
    out.push('Z');
    out
}

/// Parses an RFC 3339 timestamp into unix seconds (a fraction is dropped, toward the past).
pub fn parse_iso(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let year = digits(b, 0, 4)?;
    let month = literal(b, 4, b'-').and_then(|()| digits(b, 5, 2))?;
    let day = literal(b, 7, b'-').and_then(|()| digits(b, 8, 2))?;
    // Any one byte separates the date from the time (`T`, `t`, a space...).
    let hour = b.get(10).and_then(|_| digits(b, 11, 2))?;
    let minute = literal(b, 13, b':').and_then(|()| digits(b, 14, 2))?;
    let second = literal(b, 16, b':').and_then(|()| digits(b, 17, 2))?;
    let offset = offset(skip_fraction(b.get(19..)?)?)?;
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour <= 23
        && minute <= 59
        && second <= 60;
    if !valid {
        return None;
    }
    let leap = second == 60;
    let local = days_from_civil(year, month, day) * SECONDS_PER_DAY
        + hour * 3600
        + minute * 60
        + second.min(59);
    let unix = local - offset;
    (!leap || is_leap_second_stand_in(unix)).then_some(unix)
}

/// A leap second reads as 23:59:59 UTC, and only on the last day of a month of years ±9999.
fn is_leap_second_stand_in(unix: i64) -> bool {
    let (year, month, day) = civil_from_days(unix.div_euclid(SECONDS_PER_DAY));
    unix.rem_euclid(SECONDS_PER_DAY) == SECONDS_PER_DAY - 1
        && (-9999..=9999).contains(&year)
        && day == days_in_month(year, month)
}

/// Skips an optional `.` and one or more digits.
fn skip_fraction(rest: &[u8]) -> Option<&[u8]> {
    let Some(fraction) = rest.strip_prefix(b".") else {
        return Some(rest);
    };
    let count = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
    (count > 0).then(|| &fraction[count..])
}

/// The UTC offset in seconds of a complete suffix: `Z`, `z` or `±HH:MM` (hours at most 23).
fn offset(rest: &[u8]) -> Option<i64> {
    match rest {
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hours = digits(rest, 1, 2).filter(|h| *h <= 23)?;
            let minutes = digits(rest, 4, 2).filter(|m| *m <= 59)?;
            let seconds = hours * 3600 + minutes * 60;
            Some(if *sign == b'-' { -seconds } else { seconds })
        }
        _ => None,
    }
}

/// The byte at `at` is `expected`.
fn literal(b: &[u8], at: usize, expected: u8) -> Option<()> {
    (b.get(at) == Some(&expected)).then_some(())
}

/// Exactly `len` ASCII digits at `at`, as a number.
fn digits(b: &[u8], at: usize, len: usize) -> Option<i64> {
    let field = b.get(at..at + len)?;
    field.iter().try_fold(0, |value, c| {
        c.is_ascii_digit().then(|| value * 10 + i64::from(c - b'0'))
    })
}

/// Appends `value` (not negative) zero-padded to `width` digits.
fn push_digits(out: &mut String, value: i64, width: u32) {
    for place in (0..width).rev() {
        let digit = value / 10_i64.pow(place) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day number since 1970-01-01 (`civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    /// The implementation this module replaced: the `time` crate's RFC 3339.
    fn oracle_iso(unix_seconds: i64) -> String {
        let at =
            OffsetDateTime::from_unix_timestamp(unix_seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        at.format(&Rfc3339).unwrap_or_else(|_| EPOCH.to_owned())
    }

    fn oracle_parse(text: &str) -> Option<i64> {
        OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .map(OffsetDateTime::unix_timestamp)
    }

    #[test]
    fn round_trips_whole_seconds() {
        assert_eq!(iso(1_764_300_000), "2025-11-28T03:20:00Z");
        assert_eq!(parse_iso("2025-11-28T03:20:00Z"), Some(1_764_300_000));
        assert_eq!(parse_iso("not a time"), None);
        assert_eq!(parse_iso("2016-12-31T23:59:60Z"), Some(1_483_228_799));
        assert_eq!(
            parse_iso("2025-11-28T04:20:00.9+01:00"),
            Some(1_764_300_000)
        );
    }

    #[test]
    fn formats_the_edges_like_the_time_crate() {
        let edges = [
            i64::MIN,
            FIRST - 1,
            FIRST,
            -1,
            0,
            951_782_400, // 2000-02-29
            LAST,
            LAST + 1,
            i64::MAX,
        ];
        for unix in edges {
            assert_eq!(iso(unix), oracle_iso(unix), "{unix}");
        }
    }

    #[test]
    fn parses_the_edges_like_the_time_crate() {
        let texts = [
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.5Z",
            "2016-12-30T23:59:60Z",
            "2017-01-01T00:59:60+01:00",
            "2016-12-31T22:59:60-01:00",
            "9999-12-31T23:59:60Z",
            "9999-12-31T23:59:60-00:01",
            "0000-01-01T00:00:00+23:59",
            "0000-01-01T00:00:00.Z",
            "2024-02-29 12:00:00z",
            "2023-02-29T12:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00+01:60",
            "2024-01-01T00:00:00.123456789012Z",
            "2024-01-01T00:00:00Z ",
            "2024-01-01T00:00:00",
            "2024-01-01é00:00:00Z",
            "+024-01-01T00:00:00Z",
            "",
        ];
        for text in texts {
            assert_eq!(parse_iso(text), oracle_parse(text), "{text}");
        }
    }

    /// Well-formed timestamps with every field slightly out of range now and then.
    fn timestamp() -> impl Strategy<Value = String> {
        let date = (0..=9999u32, 0..=13u32, 0..=32u32);
        let time = (0..=24u32, 0..=60u32, 0..=61u32);
        let fraction = prop_oneof![Just(String::new()), "\\.[0-9]{0,12}"];
        let offset = prop_oneof![
            Just("Z".to_owned()),
            Just("z".to_owned()),
            (prop_oneof![Just('+'), Just('-')], 0..=24u32, 0..=60u32)
                .prop_map(|(s, h, m)| format!("{s}{h:02}:{m:02}")),
        ];
        let separator = prop_oneof![Just('T'), Just('t'), Just(' '), Just('x')];
        (date, separator, time, fraction, offset).prop_map(
            |((y, mo, d), sep, (h, mi, s), fraction, offset)| {
                format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{fraction}{offset}")
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn formats_like_the_time_crate(unix in FIRST - 1_000_000..=LAST + 1_000_000) {
            prop_assert_eq!(iso(unix), oracle_iso(unix));
        }

        #[test]
        fn parses_like_the_time_crate(text in timestamp()) {
            prop_assert_eq!(parse_iso(&text), oracle_parse(&text));
        }

        #[test]
        fn parses_any_text_like_the_time_crate(text in "[0-9T:.+Zz -]{0,30}") {
            prop_assert_eq!(parse_iso(&text), oracle_parse(&text));
        }

        #[test]
        fn round_trips(unix in FIRST..=LAST) {
            prop_assert_eq!(parse_iso(&iso(unix)), Some(unix));
        }
    }
}
