//! `GET /health`: required secrets and vars present (and, outside the local env, none a published fake), D1 reachable with every billing table.

use crate::ctx::{Ctx, stripe_mode};
use crate::store;
use nyra_api::models::{D1Health, HealthReport};
use nyra_api::server::HealthResponse;
use nyra_domain::config::{PREVIOUS_SIGNING_SECRET, REQUIRED_SECRETS, REQUIRED_VARS};

/// Builds the health report; 503 when anything required is missing. A healthy report is reused
/// for [`crate::ctx::D1_OK_SECONDS`] (the bindings it reads are fixed for the isolate's life).
pub async fn handle(ctx: &Ctx) -> HealthResponse {
    let now = ctx.now();
    if let Some(report) = ctx.recent_health(now) {
        return HealthResponse::Ok(report);
    }
    let report = report(ctx).await;
    ctx.remember_health(&report, now);
    if report.ok {
        HealthResponse::Ok(report)
    } else {
        HealthResponse::ServiceUnavailable(report)
    }
}

/// Checks every required binding, then D1.
async fn report(ctx: &Ctx) -> HealthReport {
    let missing = |names: &[&str], get: &dyn Fn(&str) -> Option<String>| -> Vec<String> {
        names
            .iter()
            .filter(|n| get(n).is_none())
            .map(|n| (*n).to_owned())
            .collect()
    };
    let missing_secrets = missing(&REQUIRED_SECRETS, &|n| ctx.secret(n));
    let checked: Vec<&str> = REQUIRED_SECRETS
        .into_iter()
        .chain([PREVIOUS_SIGNING_SECRET])
        .collect();
    let insecure_secrets: Vec<String> = ctx
        .insecure_secrets(&checked)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let missing_vars = missing(&REQUIRED_VARS, &|n| ctx.var(n));
    let d1 = d1_health(ctx).await;
    HealthReport {
        ok: missing_secrets.is_empty()
            && insecure_secrets.is_empty()
            && missing_vars.is_empty()
            && d1.ok,
        service: "nyra-billing-api".to_owned(),
        stripe_api_version: ctx.var("STRIPE_API_VERSION").unwrap_or_default(),
        stripe_mode: stripe_mode(ctx.secret("STRIPE_SECRET_KEY").as_deref()),
        missing_secrets,
        insecure_secrets,
        missing_vars,
        d1,
    }
}

/// D1's answer to the table check.
async fn d1_health(ctx: &Ctx) -> D1Health {
    let result = match ctx.db() {
        Ok(db) => store::missing_tables(&db).await.ok(),
        Err(_) => None,
    };
    match result {
        Some(missing_tables) => D1Health {
            ok: missing_tables.is_empty(),
            missing_tables,
            error: None,
        },
        None => D1Health {
            ok: false,
            missing_tables: store::TABLES.map(str::to_owned).to_vec(),
            error: Some("d1 did not answer".to_owned()),
        },
    }
}
