//! The Stripe port: form-encoded POSTs and object reads over `worker::Fetch`, pinned `Stripe-Version`, idempotency keys, a 10 s timeout.
//!
//! Every call sends `Authorization: Bearer STRIPE_SECRET_KEY`, `Stripe-Version` (the var
//! `STRIPE_API_VERSION`, else the pinned [`STRIPE_API_VERSION`]) and an `Idempotency-Key`. A
//! checkout's key is unique to its request (derived by the caller from the request's fresh
//! activation code, `nyra_domain::activation::idempotency_key`), so two requesters never share a
//! session and only a retry within that request replays Stripe's answer; a portal key is derived
//! from the exact form body and a time bucket. The base URL is the
//! var `STRIPE_API_BASE` (default `https://api.stripe.com`). A call that has not answered within
//! [`TIMEOUT`] is aborted. Failures carry Stripe's `Request-Id` for the logs; callers answer
//! `502 stripe_error` with a fixed, sanitised detail and never Stripe's message or the key.

use std::time::Duration;

use futures_util::future::{Either, select};
use nyra_domain::config::{DEFAULT_STRIPE_API_BASE, STRIPE_API_VERSION};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use wasm_bindgen::JsValue;
use worker::web_sys::{self, RequestRedirect};
use worker::{AbortController, Delay, Fetch, Headers, Request};

/// The longest a Stripe call may take, body included, before it is aborted.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Portal retries inside one bucket of this many seconds reuse the same session.
pub const PORTAL_IDEMPOTENCY_WINDOW: i64 = 60;

/// Why a Stripe call failed.
#[derive(Debug)]
pub enum StripeError {
    /// No answer within [`TIMEOUT`].
    Timeout,
    /// The fetch itself failed (DNS, connection, TLS).
    Network,
    /// Stripe answered with a non-2xx status.
    Rejected {
        /// The HTTP status.
        status: u16,
        /// Stripe's `Request-Id`.
        request_id: Option<String>,
        /// Stripe's `error.code`.
        code: Option<String>,
        /// Stripe's `error.param`.
        param: Option<String>,
    },
    /// A 2xx answer lacked a field the Worker needs.
    Malformed {
        /// Stripe's `Request-Id`.
        request_id: Option<String>,
    },
}

impl StripeError {
    /// Logs the failure with Stripe's request id; never the key, never Stripe's message.
    pub fn log(&self, operation: &str) {
        match self {
            StripeError::Timeout => worker::console_error!("stripe {operation}: timed out"),
            StripeError::Network => worker::console_error!("stripe {operation}: network error"),
            StripeError::Rejected {
                status,
                request_id,
                code,
                param,
            } => worker::console_error!(
                "stripe {operation}: status {status}, request id {}, code {}, param {}",
                request_id.as_deref().unwrap_or("-"),
                code.as_deref().unwrap_or("-"),
                param.as_deref().unwrap_or("-"),
            ),
            StripeError::Malformed { request_id } => worker::console_error!(
                "stripe {operation}: unexpected answer, request id {}",
                request_id.as_deref().unwrap_or("-"),
            ),
        }
    }

    /// The parameter Stripe rejected with a 400, if any.
    pub fn rejected_param(&self) -> Option<&str> {
        match self {
            StripeError::Rejected {
                status: 400, param, ..
            } => param.as_deref(),
            _ => None,
        }
    }

    /// The sanitised text for the `502 stripe_error` body.
    pub fn detail(&self) -> &'static str {
        match self {
            StripeError::Timeout => "stripe did not answer in time; try again later",
            StripeError::Network => "stripe could not be reached; try again later",
            StripeError::Rejected { .. } | StripeError::Malformed { .. } => {
                "stripe did not accept the request; try again later"
            }
        }
    }
}

/// What a checkout session is created from.
pub struct CheckoutParams<'a> {
    /// `NYRA_STRIPE_PRICE_PRO_MONTHLY`.
    pub price: &'a str,
    /// `NYRA_BILLING_SUCCESS_URL` (may carry `{CHECKOUT_SESSION_ID}`; the id is not a secret).
    pub success_url: &'a str,
    /// `NYRA_BILLING_CANCEL_URL`.
    pub cancel_url: &'a str,
    /// The buying device.
    pub device_id: &'a str,
    /// Prefills the Checkout page when given.
    pub email: Option<&'a str>,
}

/// The parts of a created Checkout Session the API answers with.
#[derive(Debug, Deserialize)]
pub struct CheckoutSession {
    /// `cs_...`.
    pub id: String,
    /// The hosted Checkout page.
    pub url: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The part of a portal session the API answers with.
#[derive(Debug, Deserialize)]
struct PortalSession {
    url: String,
}

/// The form body of `POST /v1/checkout/sessions`: DESIGN §3's parameters, nothing else.
pub fn checkout_form(p: &CheckoutParams) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("mode", "subscription")
        .append_pair("line_items[0][price]", p.price)
        .append_pair("line_items[0][quantity]", "1")
        .append_pair("success_url", p.success_url)
        .append_pair("cancel_url", p.cancel_url)
        .append_pair("client_reference_id", p.device_id)
        .append_pair("metadata[deviceId]", p.device_id)
        .append_pair("subscription_data[metadata][deviceId]", p.device_id);
    if let Some(email) = p.email {
        form.append_pair("customer_email", email);
    }
    form.finish()
}

/// The form body of `POST /v1/billing_portal/sessions`.
pub fn portal_form(customer: &str, return_url: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("customer", customer)
        .append_pair("return_url", return_url)
        .finish()
}

/// `nyra-<scope>-<sha256(body, bucket)>`: equal for the same body inside one `window` of seconds.
pub fn idempotency_key(scope: &str, body: &str, now_unix: i64, window: i64) -> String {
    let bucket = now_unix.div_euclid(window.max(1));
    let digest = Sha256::new()
        .chain_update(scope.as_bytes())
        .chain_update(b"\n")
        .chain_update(body.as_bytes())
        .chain_update(b"\n")
        .chain_update(bucket.to_string().as_bytes())
        .finalize();
    format!("nyra-{scope}-{}", hex::encode(&digest[..16]))
}

/// The objects the Worker reads back from Stripe.
#[derive(Debug, Clone, Copy)]
pub enum Retrieve {
    /// `GET /v1/subscriptions/{id}`.
    Subscription,
    /// `GET /v1/invoices/{id}`.
    Invoice,
}

impl Retrieve {
    fn path(self) -> &'static str {
        match self {
            Retrieve::Subscription => "/v1/subscriptions",
            Retrieve::Invoice => "/v1/invoices",
        }
    }
}

/// A Stripe API client for one request.
pub struct Stripe {
    base: String,
    key: String,
    version: String,
}

impl Stripe {
    /// A client for `base` (default api.stripe.com) with the secret key and API version (default pinned).
    pub fn new(base: Option<String>, key: String, version: Option<String>) -> Stripe {
        let base = base.unwrap_or_else(|| DEFAULT_STRIPE_API_BASE.to_owned());
        Stripe {
            base: base.trim_end_matches('/').to_owned(),
            key,
            version: version.unwrap_or_else(|| STRIPE_API_VERSION.to_owned()),
        }
    }

    /// Creates a subscription-mode Checkout Session under this request's own `idempotency_key`.
    pub async fn create_checkout(
        &self,
        params: &CheckoutParams<'_>,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, StripeError> {
        let form = checkout_form(params);
        let answer = self
            .post("/v1/checkout/sessions", form, idempotency_key)
            .await?;
        answer.decode()
    }

    /// Creates a Customer Portal session and returns its URL.
    pub async fn create_portal(
        &self,
        customer: &str,
        return_url: &str,
        now_unix: i64,
    ) -> Result<String, StripeError> {
        let form = portal_form(customer, return_url);
        let key = idempotency_key("portal", &form, now_unix, PORTAL_IDEMPOTENCY_WINDOW);
        let answer = self.post("/v1/billing_portal/sessions", form, &key).await?;
        answer.decode::<PortalSession>().map(|s| s.url)
    }

    /// Reads an object back (`GET /v1/subscriptions/{id}`, `/v1/invoices/{id}`) as raw JSON.
    pub async fn retrieve(&self, kind: Retrieve, id: &str) -> Result<Vec<u8>, StripeError> {
        let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
        let request = self.request("GET", &format!("{}/{id}", kind.path()), None)?;
        Ok(self.send(request).await?.body.into_bytes())
    }

    /// The subscription's newest paid invoice list (`GET /v1/invoices?subscription=&status=paid
    /// &limit=1`) as raw JSON.
    pub async fn last_paid_invoice(&self, subscription_id: &str) -> Result<Vec<u8>, StripeError> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("subscription", subscription_id)
            .append_pair("status", "paid")
            .append_pair("limit", "1")
            .finish();
        let request = self.request("GET", &format!("/v1/invoices?{query}"), None)?;
        Ok(self.send(request).await?.body.into_bytes())
    }

    /// POSTs a form with an idempotency key.
    async fn post(&self, path: &str, form: String, key: &str) -> Result<Answer, StripeError> {
        let request = self.request("POST", path, Some((form, key)))?;
        self.send(request).await
    }

    /// Sends a request, racing the call (body included) against [`TIMEOUT`].
    async fn send(&self, request: Request) -> Result<Answer, StripeError> {
        let controller = AbortController::default();
        let signal = controller.signal();
        let call = std::pin::pin!(async {
            let mut response = Fetch::Request(request)
                .send_with_signal(&signal)
                .await
                .map_err(|_| StripeError::Network)?;
            let body = response.text().await.map_err(|_| StripeError::Network)?;
            Ok::<_, StripeError>(Answer::new(&response, body))
        });
        let deadline = std::pin::pin!(Delay::from(TIMEOUT));
        match select(call, deadline).await {
            Either::Left((answer, _)) => answer?.check(),
            Either::Right(_) => {
                controller.abort();
                Err(StripeError::Timeout)
            }
        }
    }

    /// A request with the key and version; a POST carries its form and idempotency key.
    ///
    /// Built as a `web_sys::RequestInit` (what `worker::RequestInit` would produce: method,
    /// headers, body, `redirect: follow`, no `cf`): converting a `worker::RequestInit` links the
    /// serialisers of every `cf` property (image resizing and the rest) that we never set.
    fn request(
        &self,
        method: &str,
        path: &str,
        form: Option<(String, &str)>,
    ) -> Result<Request, StripeError> {
        let headers = Headers::new();
        let set = |name: &str, value: &str| headers.set(name, value);
        set("authorization", &format!("Bearer {}", self.key))
            .and_then(|_| set("stripe-version", &self.version))
            .map_err(|_| StripeError::Network)?;
        let init = web_sys::RequestInit::new();
        if let Some((form, key)) = form {
            set("idempotency-key", key)
                .and_then(|_| set("content-type", "application/x-www-form-urlencoded"))
                .map_err(|_| StripeError::Network)?;
            init.set_body(&JsValue::from_str(&form));
        }
        init.set_method(method);
        init.set_headers(headers.as_ref());
        init.set_redirect(RequestRedirect::Follow);
        web_sys::Request::new_with_str_and_init(&format!("{}{path}", self.base), &init)
            .map(Request::from)
            .map_err(|_| StripeError::Network)
    }
}

/// A Stripe answer read in full.
struct Answer {
    status: u16,
    request_id: Option<String>,
    body: String,
}

/// Stripe's error envelope, the fields that are safe to log.
#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorFields,
}

#[derive(Deserialize)]
struct ErrorFields {
    code: Option<String>,
    param: Option<String>,
}

impl Answer {
    fn new(response: &worker::Response, body: String) -> Answer {
        Answer {
            status: response.status_code(),
            request_id: response.headers().get("request-id").ok().flatten(),
            body,
        }
    }

    /// Turns a non-2xx answer into [`StripeError::Rejected`].
    fn check(self) -> Result<Answer, StripeError> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        let fields = serde_json::from_str::<ErrorEnvelope>(&self.body).ok();
        let (code, param) = fields.map_or((None, None), |f| (f.error.code, f.error.param));
        Err(StripeError::Rejected {
            status: self.status,
            request_id: self.request_id,
            code,
            param,
        })
    }

    fn decode<T: serde::de::DeserializeOwned>(self) -> Result<T, StripeError> {
        serde_json::from_str(&self.body).map_err(|_| StripeError::Malformed {
            request_id: self.request_id,
        })
    }
}
