//! Conversion between workers-rs requests/responses and the framework-free HTTP types of `nyra_api::rt`.

use futures_util::StreamExt;
use nyra_api::rt::{HttpRequest, HttpResponse, query_of};
use wasm_bindgen::prelude::wasm_bindgen;
use worker::web_sys;
use worker::{Headers, Request, Response, Result};

/// The request's method, path, query and headers; the body is read once the route is known.
///
/// Path and query are cut out of the URL string workerd serialised (WHATWG), as workers-rs
/// cuts its `path()`, instead of reparsing it with `Request::url()`: that linked the `url`
/// crate and its IDNA tables (about 17 KiB gzip, docs/capacity.md).
pub fn head(request: &Request) -> Result<HttpRequest> {
    // The raw method: workers-rs maps methods it does not know (PROPFIND, PURGE, ...) to GET.
    let method = request.inner().method().to_ascii_uppercase();
    let headers = header_pairs(&header_text(&request.inner().headers()));
    Ok(HttpRequest {
        method,
        path: request.path(),
        query: query_of(&request.inner().url()).to_owned(),
        headers,
        body: Vec::new(),
    })
}

#[wasm_bindgen(inline_js = "export function header_text(headers) { \
    let text = ''; \
    for (const [name, value] of headers) { text += name + '\\n' + value + '\\n'; } \
    return text; \
}")]
extern "C" {
    /// Every header as `name\nvalue\n` in one string: one crossing into JavaScript instead of
    /// several per header. `Headers` yields lower-case names, and a value never holds a line
    /// break (the Fetch standard refuses CR and LF in values).
    fn header_text(headers: &web_sys::Headers) -> String;
}

/// The `(name, value)` pairs of [`header_text`]'s answer.
fn header_pairs(text: &str) -> Vec<(String, String)> {
    let mut lines = text.split('\n');
    let mut pairs = Vec::new();
    while let (Some(name), Some(value)) = (lines.next(), lines.next()) {
        pairs.push((name.to_ascii_lowercase(), value.to_owned()));
    }
    pairs
}

/// Bytes of an oversized body read and discarded so the client sees the 413 instead of a reset.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// Keeps at most `cap` bytes; drains (up to a bound) whatever follows, so the client sees the
/// answer instead of a reset. A body that declares a length within the cap is read in one call.
pub async fn read_body(request: &mut Request, cap: usize) -> Result<Vec<u8>> {
    if declared_length(request).is_some_and(|length| length <= cap) {
        return request.bytes().await;
    }
    let Ok(mut stream) = request.stream() else {
        return Ok(Vec::new());
    };
    let mut body = Vec::new();
    let mut seen = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        seen += chunk.len();
        if body.len() < cap {
            let room = cap - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        if seen > DRAIN_LIMIT {
            break;
        }
    }
    Ok(body)
}

/// The `Content-Length` the client sent, if any (workerd delivers exactly that many bytes).
fn declared_length(request: &Request) -> Option<usize> {
    let value = request.headers().get("content-length").ok()??;
    value.trim().parse().ok()
}

/// Writes a response.
pub fn write(response: HttpResponse) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    let answer = if response.body.is_empty() {
        Response::empty()?
    } else {
        Response::from_bytes(response.body)?
    };
    Ok(answer.with_status(response.status).with_headers(headers))
}
