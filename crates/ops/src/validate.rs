//! Format rules for the dashboard's config answers: D1 id, site origin, Stripe API version, Worker URL.
//!
//! Each rule returns why a value is invalid, never the value itself.

use nyra_domain::config::STRIPE_API_VERSION;

use crate::secrets::is_uuid;

/// The D1 database id: a UUID as `wrangler d1 create` prints it.
pub fn d1_database_id(value: &str) -> Result<(), String> {
    if is_uuid(value) {
        Ok(())
    } else {
        Err(
            "is not a UUID; copy the database_id that `wrangler d1 create nyra_billing` printed"
                .into(),
        )
    }
}

/// The site allowed to call the API from a browser: `https://host[:port]`, nothing after it.
pub fn allowed_origin(value: &str) -> Result<(), String> {
    let Some(rest) = value.strip_prefix("https://") else {
        return Err("must start with https:// (like https://porterlabz.com)".into());
    };
    if rest.contains(['/', '?', '#']) {
        return Err(
            "must be an origin with no path, query or trailing slash (like https://porterlabz.com)"
                .into(),
        );
    }
    authority(rest)
}

/// The Stripe API version: `YYYY-MM-DD.name`, and the one the Worker is built for.
pub fn stripe_api_version(value: &str) -> Result<(), String> {
    let Some((date, name)) = value.split_once('.') else {
        return Err("must look like YYYY-MM-DD.name (like 2026-02-25.clover)".into());
    };
    if !is_date(date) || name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase()) {
        return Err("must look like YYYY-MM-DD.name (like 2026-02-25.clover)".into());
    }
    if value != STRIPE_API_VERSION {
        return Err(format!(
            "differs from {STRIPE_API_VERSION}, the version the Worker's webhook parsing is built for"
        ));
    }
    Ok(())
}

/// Where the Worker answers: an https custom domain or workers.dev URL, at most a trailing slash.
pub fn worker_url(value: &str) -> Result<(), String> {
    let Some(rest) = value.strip_prefix("https://") else {
        return Err("must start with https://".into());
    };
    let (host, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    if !tail.is_empty() && tail != "/" {
        return Err("must be the Worker's base URL with no path, query or fragment".into());
    }
    authority(host)
}

/// `host[:port]` with a dotted DNS name.
fn authority(text: &str) -> Result<(), String> {
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit())) {
        return Err("has an invalid port".into());
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || !labels.iter().all(|l| is_dns_label(l)) {
        return Err("must name a public host (like porterlabz.com)".into());
    }
    Ok(())
}

/// One DNS label: 1-63 letters, digits or inner hyphens.
fn is_dns_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// `YYYY-MM-DD` with a plausible month and day.
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return false;
    };
    let number = |s: &str, len: usize| {
        (s.len() == len && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    number(year, 4).is_some()
        && number(month, 2).is_some_and(|m| (1..=12).contains(&m))
        && number(day, 2).is_some_and(|d| (1..=31).contains(&d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn d1_ids_are_uuids() {
        assert!(d1_database_id("0b3c2f4e-8a1d-4c6e-9f2a-5d7e8b9c0a1f").is_ok());
        assert!(d1_database_id("replace-with-cloudflare-d1-database-id").is_err());
    }

    #[test]
    fn origins_have_no_path() {
        assert!(allowed_origin("https://porterlabz.com").is_ok());
        assert!(allowed_origin("https://app.porterlabz.com:8443").is_ok());
        for bad in [
            "http://porterlabz.com",
            "https://porterlabz.com/",
            "https://porterlabz.com/app",
            "https://localhost",
            "https://a..b",
        ] {
            assert!(allowed_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stripe_versions_are_dated_and_pinned() {
        assert!(stripe_api_version(STRIPE_API_VERSION).is_ok());
        assert!(stripe_api_version("2026-13-25.clover").is_err());
        assert!(stripe_api_version("latest").is_err());
        assert!(stripe_api_version("2025-01-27.acacia").is_err());
    }

    #[test]
    fn worker_urls_are_https_base_urls() {
        assert!(worker_url("https://nyra-billing-api.porterlabz.workers.dev").is_ok());
        assert!(worker_url("https://billing.porterlabz.com/").is_ok());
        assert!(worker_url("http://billing.porterlabz.com").is_err());
        assert!(worker_url("https://billing.porterlabz.com/api").is_err());
    }
}
