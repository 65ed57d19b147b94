//! Runtime of the generated server: HTTP types, routing, CORS, body limits, parsing and problems.

use crate::models::{ErrorCode, Problem};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An HTTP request, independent of any framework.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpRequest {
    /// Upper-case method.
    pub method: String,
    /// The URL path, without the query.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Headers with lower-case names.
    pub headers: Vec<(String, String)>,
    /// The body bytes (the adapter reads at most the route's limit plus one byte).
    pub body: Vec<u8>,
}

/// An HTTP response, independent of any framework.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers with lower-case names.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header with this lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Settings of the dispatch layer.
#[derive(Debug, Clone, Default)]
pub struct DispatchConfig {
    /// The one origin CORS answers for (`ALLOWED_ORIGIN`).
    pub allowed_origin: Option<String>,
}

/// One operation of the spec, as the router sees it; `Id` is the generated `OperationId`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Operation<Id: 'static> {
    /// The operation.
    pub id: Id,
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// The path.
    pub path: &'static str,
    /// `x-max-body-bytes`, or the generator's default; enforced (413) where the spec documents 413,
    /// otherwise the body is ignored.
    pub max_body_bytes: usize,
    /// The body is JSON parsed into a model.
    pub json_body: bool,
    /// The body is handed over as raw bytes (`x-raw-body`).
    pub raw_body: bool,
    /// CORS is answered for this operation (false with `x-cors: false`).
    pub cors: bool,
    /// Served as a static asset, not by the Worker (`x-static-asset`).
    pub static_asset: bool,
    /// Every documented status.
    pub statuses: &'static [u16],
}

/// A field that failed validation, named by its JSON path.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Dotted path of the field.
    pub field: String,
    /// What is wrong, lower case.
    pub message: String,
}

impl FieldError {
    /// Prefixes the field path with the containing field.
    pub fn within(self, parent: &str) -> Self {
        FieldError {
            field: format!("{parent}.{}", self.field),
            message: self.message,
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Spec constraints that serde cannot check.
pub trait Validate {
    /// Checks lengths and patterns of every field.
    fn validate(&self) -> Result<(), FieldError>;
}

/// A spec `pattern`, compiled by the generator (`nyra_codegen::pattern`) into anchored pieces
/// that match greedily; the generator refuses every pattern where that would differ from the
/// regular expression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pattern {
    /// The pattern as the spec writes it.
    pub source: &'static str,
    /// The pieces, in order; together they must take the whole value.
    pub pieces: &'static [Piece],
}

/// One piece of a [`Pattern`]: a set of ASCII characters repeated `min` to `max` times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    /// Inclusive byte ranges of the set.
    pub ranges: &'static [(u8, u8)],
    /// Fewest repetitions.
    pub min: usize,
    /// Most repetitions (`usize::MAX` when unbounded).
    pub max: usize,
}

impl Piece {
    fn admits(&self, c: char) -> bool {
        u8::try_from(c).is_ok_and(|c| self.ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)))
    }
}

impl Pattern {
    /// True when the whole value matches.
    pub fn is_match(&self, value: &str) -> bool {
        let mut rest = value.chars().peekable();
        for piece in self.pieces {
            let mut count = 0;
            while count < piece.max && rest.next_if(|c| piece.admits(*c)).is_some() {
                count += 1;
            }
            if count < piece.min {
                return false;
            }
        }
        rest.next().is_none()
    }
}

/// Checks a string against `minLength`, `maxLength` (in characters) and `pattern`.
pub fn check_str(
    field: &str,
    value: &str,
    min: Option<usize>,
    max: Option<usize>,
    pattern: Option<&Pattern>,
) -> Result<(), FieldError> {
    let fail = |message: String| FieldError {
        field: field.to_owned(),
        message,
    };
    let len = value.chars().count();
    if let Some(min) = min.filter(|min| len < *min) {
        return Err(fail(format!("must be at least {min} characters")));
    }
    if let Some(max) = max.filter(|max| len > *max) {
        return Err(fail(format!("must be at most {max} characters")));
    }
    if let Some(pattern) = pattern.filter(|p| !p.is_match(value)) {
        return Err(fail(format!("must match {}", pattern.source)));
    }
    Ok(())
}

/// Deserializes an optional, non-nullable field: present means a value (`null` is refused).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Decodes a query string into pairs.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of a query parameter.
pub fn query_value(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// The request described by `text`: `method\nurl\n`, then every header as `name\nvalue\n` (what
/// the Worker's one crossing from JavaScript hands over; neither a serialised URL nor a header
/// value holds a line break). The method is upper-cased, header names lower-cased; no body.
pub fn request_of(text: &str) -> HttpRequest {
    let mut lines = text.split('\n');
    let method = lines.next().unwrap_or_default().to_ascii_uppercase();
    let url = lines.next().unwrap_or_default();
    let mut headers = Vec::new();
    while let (Some(name), Some(value)) = (lines.next(), lines.next()) {
        headers.push((name.to_ascii_lowercase(), value.to_owned()));
    }
    HttpRequest {
        method,
        path: path_of(url).to_owned(),
        query: query_of(url).to_owned(),
        headers,
        body: Vec::new(),
    }
}

/// The path of a serialised WHATWG URL (workerd's `request.url`), as workers-rs cuts it: a
/// special scheme's serialisation always has a path after the host (`/` at least), within which
/// `?` and `#` are percent-encoded, and its user info percent-encodes `/`.
pub fn path_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(url, |i| &url[i + 3..]);
    let Some(start) = after_scheme.find('/') else {
        return "/";
    };
    let path = &after_scheme[start..];
    &path[..path.find(['?', '#']).unwrap_or(path.len())]
}

/// The query of a serialised WHATWG URL (workerd's `request.url`), without its `?`; empty when
/// there is none. The serialisation percent-encodes `#` everywhere before the fragment and `?`
/// before the query, so the first `?` before the first `#` starts it.
pub fn query_of(url: &str) -> &str {
    let before_fragment = url.split_once('#').map_or(url, |(before, _)| before);
    before_fragment
        .split_once('?')
        .map_or("", |(_, query)| query)
}

/// The first value of a header, by lower-case name.
pub fn header(request: &HttpRequest, name: &str) -> Option<String> {
    request
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(request: &HttpRequest) -> Option<String> {
    let value = header(request, "authorization")?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Validates a query or header parameter, answering 400 naming it.
pub fn check_param(
    location: &str,
    name: &str,
    value: Option<&str>,
    min: Option<usize>,
    max: Option<usize>,
    pattern: Option<&Pattern>,
) -> Result<(), HttpResponse> {
    match value {
        Some(value) => {
            check_str(name, value, min, max, pattern).map_err(|e| param_error(location, e))
        }
        None => Ok(()),
    }
}

/// Unwraps a required parameter, answering 400 naming it when absent.
pub fn require_param(
    location: &str,
    name: &str,
    value: Option<String>,
) -> Result<String, HttpResponse> {
    value.ok_or_else(|| {
        param_error(
            location,
            FieldError {
                field: name.to_owned(),
                message: "is required".to_owned(),
            },
        )
    })
}

fn param_error(location: &str, error: FieldError) -> HttpResponse {
    let code = if location == "header" {
        ErrorCode::InvalidHeader
    } else {
        ErrorCode::InvalidQuery
    };
    error_response(code, error.to_string())
}

/// Parses and validates a JSON body, answering 400 `invalid_body` naming the field.
///
/// Every request body is an object (the generator accepts only a `$ref` to an object schema),
/// and anything else is refused first: serde would read a struct from an array of its fields
/// too.
pub fn json_body<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, HttpResponse> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => {
            return Err(error_response(
                ErrorCode::InvalidBody,
                "request body is required",
            ));
        }
        Some(b'{') => {}
        Some(_) => {
            return Err(error_response(
                ErrorCode::InvalidBody,
                "request body must be a JSON object",
            ));
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let detail = if path == "." {
            message
        } else {
            format!("{path}: {message}")
        };
        error_response(ErrorCode::InvalidBody, detail)
    })?;
    de.end()
        .map_err(|e| error_response(ErrorCode::InvalidBody, e.to_string()))?;
    value
        .validate()
        .map_err(|e| error_response(ErrorCode::InvalidBody, e.to_string()))?;
    Ok(value)
}

/// The HTTP status each error code is answered with.
pub fn status_of(code: ErrorCode) -> u16 {
    use ErrorCode::*;
    match code {
        InvalidBody | InvalidQuery | InvalidHeader => 400,
        SignatureMissing
        | SignatureMalformed
        | SignatureMismatch
        | TimestampOutOfTolerance
        | Unauthorized
        | TokenInvalid
        | TokenExpired
        | TokenSuperseded
        | DeviceMismatch
        | DeviceReplaced
        | ActivationCodeInvalid => 401,
        OriginNotAllowed => 403,
        RouteNotFound | CheckoutNotFound | CustomerNotFound => 404,
        MethodNotAllowed => 405,
        AlreadySubscribed => 409,
        PayloadTooLarge => 413,
        UnsupportedMediaType => 415,
        SubscriptionInactive => 403,
        RateLimited => 429,
        InternalError => 500,
        StripeError => 502,
        CheckoutDisabled | LiveModeNotEnabled | ConfigMissing | ConfigInsecure
        | StorageUnavailable => 503,
    }
}

/// A short human title for each error code.
pub fn title_of(code: ErrorCode) -> &'static str {
    use ErrorCode::*;
    match code {
        InvalidBody => "Invalid request body",
        InvalidQuery => "Invalid query parameter",
        InvalidHeader => "Invalid header",
        PayloadTooLarge => "Payload too large",
        UnsupportedMediaType => "Unsupported media type",
        RouteNotFound => "Route not found",
        MethodNotAllowed => "Method not allowed",
        OriginNotAllowed => "Origin not allowed",
        Unauthorized => "Unauthorized",
        TokenInvalid => "Token invalid",
        TokenExpired => "Token expired",
        DeviceMismatch => "Device mismatch",
        CheckoutNotFound => "Checkout not found",
        CustomerNotFound => "Customer not found",
        SubscriptionInactive => "Subscription inactive",
        SignatureMissing => "Signature missing",
        SignatureMalformed => "Signature malformed",
        SignatureMismatch => "Signature mismatch",
        TimestampOutOfTolerance => "Timestamp out of tolerance",
        StripeError => "Stripe error",
        CheckoutDisabled => "Checkout disabled",
        LiveModeNotEnabled => "Live mode not enabled",
        ConfigMissing => "Configuration missing",
        ConfigInsecure => "Configuration insecure",
        TokenSuperseded => "Token superseded",
        DeviceReplaced => "Device replaced",
        ActivationCodeInvalid => "Activation code invalid",
        AlreadySubscribed => "Already subscribed",
        RateLimited => "Rate limited",
        StorageUnavailable => "Storage unavailable",
        InternalError => "Internal error",
    }
}

/// Builds the problem body for an error code; the status is the code's own.
pub fn problem_of(code: ErrorCode, detail: impl Into<String>) -> Problem {
    Problem {
        r#type: format!("/docs#error-{code}"),
        title: title_of(code).to_owned(),
        status: i32::from(status_of(code)),
        code,
        detail: detail.into(),
    }
}

/// Seconds a client waits after a `rate_limited` answer: the rate limits' window.
pub const RETRY_AFTER_SECONDS: u32 = 60;

/// A problem response for an error code, at the code's own status.
pub fn error_response(code: ErrorCode, detail: impl Into<String>) -> HttpResponse {
    problem(problem_of(code, detail))
}

/// Encodes a problem at its code's status ([`status_of`], the only source of a problem's status).
pub fn problem(mut body: Problem) -> HttpResponse {
    let status = status_of(body.code);
    body.status = i32::from(status);
    let mut response = json(status, &body);
    if body.code == ErrorCode::RateLimited {
        let seconds = RETRY_AFTER_SECONDS.to_string();
        response.headers.push(("retry-after".into(), seconds));
    }
    response
}

/// Encodes a JSON body.
pub fn json<T: Serialize>(status: u16, body: &T) -> HttpResponse {
    let body = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body,
    }
}

/// Answers an unknown path.
pub fn route_not_found(path: &str) -> HttpResponse {
    let shown: String = path.chars().take(100).collect();
    error_response(ErrorCode::RouteNotFound, format!("no route for {shown}"))
}

/// Matches a request's method and path to an operation, answering preflight, 404 and 405 itself.
/// A static asset's operation is returned too: the adapter hands it to the assets layer.
pub fn route<Id>(
    ops: &'static [Operation<Id>],
    config: &DispatchConfig,
    request: &HttpRequest,
) -> Result<&'static Operation<Id>, HttpResponse> {
    let on_path: Vec<&'static Operation<Id>> =
        ops.iter().filter(|op| op.path == request.path).collect();
    if on_path.is_empty() {
        return Err(route_not_found(&request.path));
    }
    if request.method == "OPTIONS" {
        return Err(preflight(&on_path, config, request));
    }
    let Some(op) = on_path
        .iter()
        .copied()
        .find(|op| serves(op, &request.method))
    else {
        return Err(method_not_allowed(&on_path, &request.method));
    };
    Ok(op)
}

/// Whether `op` answers `method`: its own, and HEAD too for a static asset served by GET.
fn serves<Id>(op: &Operation<Id>, method: &str) -> bool {
    op.method == method || (op.static_asset && op.method == "GET" && method == "HEAD")
}

/// Checks a routed request's body against its operation: 413 over the limit, 415 when not JSON.
pub fn admit<Id>(op: &Operation<Id>, request: &HttpRequest) -> Result<(), HttpResponse> {
    if op.statuses.contains(&413) && request.body.len() > op.max_body_bytes {
        let detail = format!("request body exceeds {} bytes", op.max_body_bytes);
        return Err(error_response(ErrorCode::PayloadTooLarge, detail));
    }
    if (op.json_body || op.raw_body) && !is_json(header(request, "content-type").as_deref()) {
        let detail = "send the body as application/json";
        return Err(error_response(ErrorCode::UnsupportedMediaType, detail));
    }
    Ok(())
}

fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

fn allow_list<Id>(on_path: &[&Operation<Id>]) -> String {
    let mut methods: Vec<&str> = on_path.iter().map(|op| op.method).collect();
    if on_path
        .iter()
        .any(|op| op.static_asset && op.method == "GET")
    {
        methods.push("HEAD");
    }
    if on_path.iter().any(|op| op.cors) {
        methods.push("OPTIONS");
    }
    methods.join(", ")
}

fn method_not_allowed<Id>(on_path: &[&Operation<Id>], method: &str) -> HttpResponse {
    let allow = allow_list(on_path);
    let shown: String = method.chars().take(20).collect();
    let mut response = error_response(
        ErrorCode::MethodNotAllowed,
        format!("{shown} is not allowed here; use {allow}"),
    );
    response.headers.push(("allow".into(), allow));
    response
}

fn preflight<Id>(
    on_path: &[&Operation<Id>],
    config: &DispatchConfig,
    request: &HttpRequest,
) -> HttpResponse {
    if !on_path.iter().any(|op| op.cors) {
        return method_not_allowed(on_path, "OPTIONS");
    }
    let origin = header(request, "origin");
    if !origin_allowed(config, origin.as_deref()) {
        return error_response(
            ErrorCode::OriginNotAllowed,
            "this origin may not call the api",
        );
    }
    let methods: Vec<&str> = on_path
        .iter()
        .filter(|op| op.cors)
        .map(|op| op.method)
        .collect();
    let mut headers = cors_headers(origin.unwrap_or_default());
    headers.extend([
        (
            "access-control-allow-methods".into(),
            format!("{}, OPTIONS", methods.join(", ")),
        ),
        (
            "access-control-allow-headers".into(),
            "Authorization, Content-Type".into(),
        ),
        ("access-control-max-age".into(), "600".into()),
    ]);
    HttpResponse {
        status: 204,
        headers,
        body: Vec::new(),
    }
}

fn origin_allowed(config: &DispatchConfig, origin: Option<&str>) -> bool {
    match (config.allowed_origin.as_deref(), origin) {
        (Some(allowed), Some(origin)) => !allowed.is_empty() && allowed == origin,
        _ => false,
    }
}

fn cors_headers(origin: String) -> Vec<(String, String)> {
    vec![
        ("access-control-allow-origin".into(), origin),
        ("vary".into(), "Origin".into()),
    ]
}

/// Adds CORS (for the allowed origin only) and the headers every answer carries.
pub fn finish<Id>(
    op: &Operation<Id>,
    config: &DispatchConfig,
    origin: Option<&str>,
    mut response: HttpResponse,
) -> HttpResponse {
    if op.cors && origin_allowed(config, origin) {
        response
            .headers
            .extend(cors_headers(origin.unwrap_or_default().to_owned()));
    }
    response.headers.extend([
        ("cache-control".into(), "no-store".into()),
        ("x-content-type-options".into(), "nosniff".into()),
    ]);
    response
}
