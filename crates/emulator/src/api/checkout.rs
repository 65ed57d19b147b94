//! `POST /v1/checkout/sessions` (validated like Stripe) and `GET /v1/checkout/sessions/{id}`.
//!
//! Two modes: `subscription` (a recurring price; what the Worker creates) and `payment` (a
//! one-time price, like a Payment Link for another product: no subscription, and a customer
//! only with `customer_creation=always`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;

use super::{Answer, only_expand, reported_name};
use crate::errors::ApiError;
use crate::form::{Params, split_key};
use crate::ids::new_id;
use crate::objects::{self, price_exists};
use crate::state::{CheckoutSession, Metadata, Shared};

/// A session lives 24 hours unless `expires_at` says otherwise (30 min to 24 h).
const DEFAULT_LIFETIME: i64 = 24 * 3600;
const MIN_LIFETIME: i64 = 30 * 60;

const TOP_LEVEL: &[&str] = &[
    "cancel_url",
    "client_reference_id",
    "customer_creation",
    "customer_email",
    "expand",
    "expires_at",
    "line_items",
    "metadata",
    "mode",
    "subscription_data",
    "success_url",
];

/// Creates a Checkout Session.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    Extension(params): Extension<Params>,
) -> Answer {
    let now = shared.lock().now();
    let session = validate(&params, now)?;
    let body = objects::checkout_session(&session, &shared.public_base());
    shared.lock().sessions.insert(session.id.clone(), session);
    Ok(Json(body))
}

/// Retrieves a Checkout Session.
pub async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Extension(params): Extension<Params>,
) -> Answer {
    only_expand(&params)?;
    let base = shared.public_base();
    let store = shared.lock();
    let session = store.sessions.get(&id).ok_or_else(|| {
        ApiError::no_such(StatusCode::NOT_FOUND, "checkout.session", &id, "session")
    })?;
    Ok(Json(objects::checkout_session(session, &base)))
}

fn known(segments: &[&str]) -> bool {
    match segments {
        ["mode" | "success_url" | "cancel_url" | "client_reference_id" | "customer_email"] => true,
        ["customer_creation"] => true,
        ["expires_at"] => true,
        ["metadata", key] | ["subscription_data", "metadata", key] => !key.is_empty(),
        ["line_items", index, "price" | "quantity"] => index.parse::<usize>().is_ok(),
        ["expand", _] => true,
        _ => false,
    }
}

fn validate(params: &Params, now: i64) -> Result<CheckoutSession, ApiError> {
    for key in params.keys() {
        if !split_key(key).is_some_and(|segments| known(&segments)) {
            return Err(ApiError::unknown(&reported_name(key, TOP_LEVEL)));
        }
    }
    let mode = required(params, "mode")?;
    if !params.keys().any(|k| k.starts_with("line_items[")) {
        return Err(ApiError::missing("line_items"));
    }
    check_single_item(params)?;
    let price = required(params, "line_items[0][price]")?;
    let quantity = quantity(required(params, "line_items[0][quantity]")?)?;
    let success_url = url(params, "success_url")?;
    let cancel_url = url(params, "cancel_url")?;
    if !price_exists(price) {
        let param = "line_items[0][price]";
        return Err(ApiError::no_such(
            StatusCode::BAD_REQUEST,
            "price",
            price,
            param,
        ));
    }
    let (mode, customer_creation) = mode_rules(params, mode, price)?;
    Ok(CheckoutSession {
        id: new_id("cs_test_", 58),
        created: now,
        mode,
        payment_status: "unpaid",
        async_pending: false,
        customer_creation,
        expires_at: expires_at(params, now)?,
        price: price.to_owned(),
        quantity,
        success_url,
        cancel_url,
        client_reference_id: client_reference_id(params)?,
        customer_email: customer_email(params)?,
        metadata: metadata(params, "metadata")?,
        subscription_metadata: metadata(params, "subscription_data[metadata]")?,
        complete: false,
        customer: None,
        subscription: None,
        invoice: None,
        payment_intent: None,
        paid_email: None,
    })
}

/// What each mode allows, in Stripe's words: the mode, and payment mode's `customer_creation`.
fn mode_rules(
    params: &Params,
    mode: &str,
    price: &str,
) -> Result<(&'static str, Option<&'static str>), ApiError> {
    let price_param = "line_items[0][price]";
    match mode {
        "subscription" if objects::is_one_time(price) => Err(ApiError::bad(
            price_param,
            None,
            "You must provide at least one recurring price in `subscription` mode when using prices.",
        )),
        "subscription" if params.get("customer_creation").is_some() => Err(ApiError::bad(
            "customer_creation",
            None,
            "`customer_creation` can only be used in `payment` mode.",
        )),
        "subscription" => Ok(("subscription", None)),
        "payment" if !objects::is_one_time(price) => Err(ApiError::bad(
            price_param,
            None,
            "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
        )),
        "payment" if params.keys().any(|k| k.starts_with("subscription_data[")) => {
            Err(ApiError::bad(
                "subscription_data",
                None,
                "You can not pass `subscription_data` in `payment` mode.",
            ))
        }
        "payment" => Ok(("payment", Some(customer_creation(params)?))),
        other => Err(ApiError::bad(
            "mode",
            None,
            format!(
                "Invalid mode: '{other}'. The Stripe emulator supports subscription and payment."
            ),
        )),
    }
}

fn customer_creation(params: &Params) -> Result<&'static str, ApiError> {
    match params.get("customer_creation") {
        None | Some("if_required") => Ok("if_required"),
        Some("always") => Ok("always"),
        Some(other) => Err(ApiError::bad(
            "customer_creation",
            None,
            format!(
                "Invalid customer_creation: must be one of always, if_required (got '{other}')"
            ),
        )),
    }
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, ApiError> {
    match params.get(name) {
        None => Err(ApiError::missing(name)),
        Some("") => Err(ApiError::empty(name)),
        Some(value) => Ok(value),
    }
}

/// The emulator sells one thing: exactly one line item, index 0.
fn check_single_item(params: &Params) -> Result<(), ApiError> {
    let other = params
        .keys()
        .filter_map(split_key)
        .find(|s| s.len() == 3 && s[0] == "line_items" && s[1] != "0");
    match other {
        Some(s) => Err(ApiError::bad(
            &format!("line_items[{}]", s[1]),
            None,
            "The Stripe emulator supports exactly one line item, line_items[0].",
        )),
        None => Ok(()),
    }
}

fn quantity(raw: &str) -> Result<u32, ApiError> {
    let param = "line_items[0][quantity]";
    match raw.parse::<u32>() {
        Ok(q) if (1..=999_999).contains(&q) => Ok(q),
        Ok(_) => Err(ApiError::bad(
            param,
            None,
            "Quantity must be between 1 and 999999.",
        )),
        Err(_) => Err(ApiError::bad(
            param,
            Some("parameter_invalid_integer"),
            format!("Invalid integer: {raw}"),
        )),
    }
}

fn url(params: &Params, name: &str) -> Result<String, ApiError> {
    let value = required(params, name)?;
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !value.contains(char::is_whitespace) => {
            Ok(value.to_owned())
        }
        _ => Err(ApiError::bad(name, Some("url_invalid"), "Not a valid URL")),
    }
}

fn client_reference_id(params: &Params) -> Result<Option<String>, ApiError> {
    match params.get("client_reference_id") {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > 200 => Err(ApiError::bad(
            "client_reference_id",
            None,
            "Invalid string: must be at most 200 characters",
        )),
        Some(v) => Ok(Some(v.to_owned())),
    }
}

fn customer_email(params: &Params) -> Result<Option<String>, ApiError> {
    let Some(email) = params.get("customer_email") else {
        return Ok(None);
    };
    let valid = email
        .split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !host.contains('@'))
        && !email.contains(char::is_whitespace)
        && email.len() <= 512;
    if email.is_empty() {
        return Err(ApiError::empty("customer_email"));
    }
    if !valid {
        let msg = format!("Invalid email address: {email}");
        return Err(ApiError::bad("customer_email", Some("email_invalid"), msg));
    }
    Ok(Some(email.to_owned()))
}

/// Stripe's metadata rules: at most 50 keys, keys up to 40 and values up to 500 characters;
/// an empty value unsets the key.
fn metadata(params: &Params, prefix: &str) -> Result<Metadata, ApiError> {
    let mut out = Metadata::new();
    for (key, value) in params.children(prefix) {
        let param = format!("{prefix}[{key}]");
        if key.chars().count() > 40 {
            let msg = "Metadata keys can have up to 40 characters.";
            return Err(ApiError::bad(&param, None, msg));
        }
        if value.chars().count() > 500 {
            let msg = "Metadata values can have up to 500 characters.";
            return Err(ApiError::bad(&param, None, msg));
        }
        if value.is_empty() {
            out.remove(&key);
        } else {
            out.insert(key, value);
        }
    }
    if out.len() > 50 {
        return Err(ApiError::bad(
            prefix,
            None,
            "Metadata can have up to 50 keys.",
        ));
    }
    Ok(out)
}

fn expires_at(params: &Params, now: i64) -> Result<i64, ApiError> {
    let Some(raw) = params.get("expires_at") else {
        return Ok(now + DEFAULT_LIFETIME);
    };
    let Ok(at) = raw.parse::<i64>() else {
        let msg = format!("Invalid integer: {raw}");
        return Err(ApiError::bad(
            "expires_at",
            Some("parameter_invalid_integer"),
            msg,
        ));
    };
    if at < now + MIN_LIFETIME || at > now + DEFAULT_LIFETIME {
        let msg = "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.";
        return Err(ApiError::bad("expires_at", None, msg));
    }
    Ok(at)
}
