//! `GET /health`: required secrets and vars present (and, outside the local env, none a published fake), D1 reachable with every billing table.

use crate::ctx::{Ctx, stripe_mode};
use crate::store;
use nyra_api::models::{D1Health, HealthReport};
use nyra_api::server::HealthResponse;
use nyra_domain::config::{PREVIOUS_SIGNING_SECRET, REQUIRED_SECRETS, REQUIRED_VARS};

/// Builds the health report; 503 when anything required is missing.
pub async fn handle(ctx: &Ctx) -> HealthResponse {
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
    let report = HealthReport {
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
    };
    if report.ok {
        HealthResponse::Ok(report)
    } else {
        HealthResponse::ServiceUnavailable(report)
    }
}

/// D1's answer to the table check, trusted for a few seconds per isolate when it succeeded.
async fn d1_health(ctx: &Ctx) -> D1Health {
    let now = ctx.now();
    if ctx.d1_recently_ok(now) {
        return D1Health {
            ok: true,
            missing_tables: Vec::new(),
            error: None,
        };
    }
    let result = match ctx.db() {
        Ok(db) => store::missing_tables(&db).await.ok(),
        Err(_) => None,
    };
    ctx.record_d1_check(result.as_ref().is_some_and(Vec::is_empty), now);
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
