//! The hosted pages a person uses in a browser: Checkout (`/c/pay/{id}`) and the Customer Portal
//! (`/p/session/{id}`), each acting through the same lifecycle as the control routes.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::control::perform;
use crate::lifecycle;
use crate::objects::AMOUNT;
use crate::payment::{self, Method};
use crate::state::Shared;

/// The hosted-pages router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/c/pay/{id}", get(checkout_page).post(checkout_pay))
        .route("/p/session/{id}", get(portal_page))
        .route("/p/session/{id}/{action}", post(portal_action))
        .with_state(shared)
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body style=\"font-family:sans-serif;max-width:36rem;margin:3rem auto\">\n<p><small>Stripe emulator (test double, no real money)</small></p>\n{body}\n</body></html>\n"
    ))
}

fn not_found(what: &str) -> Response {
    let body = format!("<h1>Not found</h1><p>No such {}.</p>", escape(what));
    (StatusCode::NOT_FOUND, page("Not found", &body)).into_response()
}

/// Escapes text for HTML bodies and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

async fn checkout_page(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Some(session) = shared.lock().sessions.get(&id).cloned() else {
        return not_found("checkout session");
    };
    let email = session
        .customer_email
        .as_deref()
        .unwrap_or(lifecycle::DEFAULT_EMAIL);
    let amount = AMOUNT * i64::from(session.quantity);
    let (per, buying) = if session.mode == "payment" {
        ("", "Paying")
    } else {
        (" per month", "Subscribing")
    };
    let body = if session.complete {
        "<h1>Already paid</h1><p>This checkout session is complete.</p>".to_owned()
    } else {
        format!(
            "<h1>Pay ${}.{:02}{per}</h1><p>{buying} as {}.</p>\n<form method=\"post\" action=\"/c/pay/{}\"><button type=\"submit\">Pay</button></form>",
            amount / 100,
            amount % 100,
            escape(email),
            escape(&session.id),
        )
    };
    page("Checkout", &body).into_response()
}

async fn checkout_pay(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    if let Err(err) = perform(&shared, |s| payment::pay(s, &id, Method::Card)).await {
        return err.into_response();
    }
    let success = shared
        .lock()
        .sessions
        .get(&id)
        .map(|s| s.success_url.clone());
    match success {
        Some(url) => Redirect::to(&url.replace("{CHECKOUT_SESSION_ID}", &id)).into_response(),
        None => not_found("checkout session"),
    }
}

async fn portal_page(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let store = shared.lock();
    let Some(session) = store.portal_sessions.get(&id) else {
        return not_found("portal session");
    };
    let mut subs: Vec<String> = store
        .subscriptions
        .values()
        .filter(|s| s.customer == session.customer)
        .map(|s| {
            format!(
                "<li>{}: {}{}</li>",
                escape(&s.id),
                s.status,
                if s.cancel_at_period_end {
                    " (cancels at period end)"
                } else {
                    ""
                }
            )
        })
        .collect();
    subs.sort();
    let sid = escape(&session.id);
    let body = format!(
        "<h1>Customer Portal (emulated)</h1><p>This is the emulated Stripe Customer Portal for {}.</p>\n<ul>{}</ul>\n<form method=\"post\" action=\"/p/session/{sid}/cancel_at_period_end\"><button type=\"submit\">Cancel at period end</button></form>\n<form method=\"post\" action=\"/p/session/{sid}/cancel\"><button type=\"submit\">Cancel now</button></form>\n<p><a href=\"{}\">Return</a></p>",
        escape(&session.customer),
        subs.join(""),
        escape(&session.return_url),
    );
    page("Customer Portal", &body).into_response()
}

async fn portal_action(
    State(shared): State<Arc<Shared>>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let found = {
        let store = shared.lock();
        store.portal_sessions.get(&id).map(|p| {
            let live = store
                .subscriptions
                .values()
                .filter(|s| s.customer == p.customer && !s.has_ended())
                .map(|s| s.id.clone())
                .next();
            (p.return_url.clone(), live)
        })
    };
    let Some((return_url, live)) = found else {
        return not_found("portal session");
    };
    let Some(sub) = live else {
        return not_found("live subscription for this customer");
    };
    let result = match action.as_str() {
        "cancel_at_period_end" => {
            perform(&shared, |s| lifecycle::cancel_at_period_end(s, &sub)).await
        }
        "cancel" => perform(&shared, |s| lifecycle::cancel(s, &sub, None)).await,
        _ => return not_found("portal action"),
    };
    match result {
        Ok(_) => Redirect::to(&return_url).into_response(),
        Err(err) => err.into_response(),
    }
}
