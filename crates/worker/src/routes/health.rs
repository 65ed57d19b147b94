//! `GET /health`: required secrets and vars present, D1 reachable with every billing table.

use crate::app::App;
use crate::{clock, config, store};
use nyra_api::models::{D1Health, HealthReport, StripeMode};
use nyra_api::server::HealthResponse;
use std::cell::Cell;

/// Builds the health report; 503 when anything required is missing.
pub async fn handle(app: &App) -> HealthResponse {
    let missing = |names: &[&str], get: &dyn Fn(&str) -> Option<String>| -> Vec<String> {
        names
            .iter()
            .filter(|n| get(n).is_none())
            .map(|n| (*n).to_owned())
            .collect()
    };
    let missing_secrets = missing(&config::REQUIRED_SECRETS, &|n| config::secret(&app.env, n));
    let missing_vars = missing(&config::REQUIRED_VARS, &|n| config::var(&app.env, n));
    let d1 = d1_health(app).await;
    let report = HealthReport {
        ok: missing_secrets.is_empty() && missing_vars.is_empty() && d1.ok,
        service: "nyra-billing-api".to_owned(),
        stripe_api_version: config::var(&app.env, "STRIPE_API_VERSION").unwrap_or_default(),
        stripe_mode: stripe_mode(config::secret(&app.env, "STRIPE_SECRET_KEY").as_deref()),
        missing_secrets,
        missing_vars,
        d1,
    };
    if report.ok {
        HealthResponse::Ok(report)
    } else {
        HealthResponse::ServiceUnavailable(report)
    }
}

/// Test or live, from the key prefix (secret and restricted keys alike).
pub fn stripe_mode(key: Option<&str>) -> StripeMode {
    match key {
        Some(k) if k.starts_with("sk_live_") || k.starts_with("rk_live_") => StripeMode::Live,
        Some(k) if k.starts_with("sk_test_") || k.starts_with("rk_test_") => StripeMode::Test,
        _ => StripeMode::Unknown,
    }
}

/// A successful table check is trusted for this many seconds per isolate; failures never are,
/// so an outage shows at most this late while /health stays cheap under load.
const D1_OK_SECONDS: i64 = 5;

thread_local! {
    static D1_OK_AT: Cell<Option<i64>> = const { Cell::new(None) };
}

async fn d1_health(app: &App) -> D1Health {
    let now = clock::now();
    if D1_OK_AT
        .get()
        .is_some_and(|at| (0..D1_OK_SECONDS).contains(&(now - at)))
    {
        return D1Health {
            ok: true,
            missing_tables: Vec::new(),
            error: None,
        };
    }
    let result = match app.env.d1("DB") {
        Ok(db) => store::missing_tables(&db).await,
        Err(e) => Err(e),
    };
    let ok = matches!(&result, Ok(missing) if missing.is_empty());
    D1_OK_AT.set(ok.then_some(now));
    match result {
        Ok(missing_tables) => D1Health {
            ok: missing_tables.is_empty(),
            missing_tables,
            error: None,
        },
        Err(_) => D1Health {
            ok: false,
            missing_tables: store::TABLES.map(str::to_owned).to_vec(),
            error: Some("d1 did not answer".to_owned()),
        },
    }
}
