//! Conversion between the runtime's `Request`/`Response` and the framework-free HTTP types of `nyra_api::rt`.
//!
//! The Worker takes the raw `web_sys::Request` and answers a raw `web_sys::Response`: the head
//! crosses from JavaScript in one call and the answer in one call, instead of the several per
//! request that workers-rs' own `Request` and `Response` conversions make.

use futures_util::StreamExt;
use nyra_api::rt::{HttpRequest, HttpResponse, header, request_of};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;
use worker::js_sys::Uint8Array;
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys;
use worker::{Error, Result};

#[wasm_bindgen(inline_js = "export function request_head(request) { \
    let text = request.method + '\\n' + request.url + '\\n'; \
    for (const [name, value] of request.headers) { text += name + '\\n' + value + '\\n'; } \
    return text; \
} \
export function respond(status, head, body) { \
    const headers = new Headers(); \
    const lines = head.split('\\n'); \
    for (let i = 0; i + 1 < lines.length; i += 2) { headers.append(lines[i], lines[i + 1]); } \
    return new Response(body.length === 0 ? null : body.slice(), { status, headers }); \
}")]
extern "C" {
    /// `method\nurl\n` then every header as `name\nvalue\n`, in one string: one crossing into
    /// JavaScript. `Headers` yields lower-case names, and neither a URL nor a header value holds
    /// a line break (WHATWG URL serialisation percent-encodes it; the Fetch standard refuses CR
    /// and LF in values).
    fn request_head(request: &web_sys::Request) -> String;

    /// A `Response` with `status`, the `name\nvalue\n` pairs of `head` and a copy of `body`
    /// (no body when empty).
    #[wasm_bindgen(catch)]
    fn respond(
        status: u16,
        head: &str,
        body: &[u8],
    ) -> std::result::Result<web_sys::Response, JsValue>;
}

/// The request's method, path, query and headers; the body is read once the route is known.
///
/// Path and query are cut out of the URL string workerd serialised (WHATWG) instead of
/// reparsing it: that linked the `url` crate and its IDNA tables (about 17 KiB gzip,
/// docs/capacity.md).
pub fn head(request: &web_sys::Request) -> HttpRequest {
    request_of(&request_head(request))
}

/// Bytes of an oversized body read and discarded so the client sees the 413 instead of a reset.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// Keeps at most `cap` bytes; drains (up to a bound) whatever follows, so the client sees the
/// answer instead of a reset. A body that declares a length within the cap is read in one call.
pub async fn read_body(
    request: &web_sys::Request,
    head: &HttpRequest,
    cap: usize,
) -> Result<Vec<u8>> {
    let Some(body) = request.body() else {
        return Ok(Vec::new());
    };
    if declared_length(head).is_some_and(|length| length <= cap) {
        let buffer = JsFuture::from(request.array_buffer()?).await?;
        return Ok(Uint8Array::new(&buffer).to_vec());
    }
    let mut stream = worker::ByteStream::from(body);
    let mut kept = Vec::new();
    let mut seen = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        seen += chunk.len();
        if kept.len() < cap {
            let room = cap - kept.len();
            kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        if seen > DRAIN_LIMIT {
            break;
        }
    }
    Ok(kept)
}

/// The `Content-Length` the client sent, if any (workerd delivers exactly that many bytes).
fn declared_length(head: &HttpRequest) -> Option<usize> {
    header(head, "content-length")?.trim().parse().ok()
}

/// Writes a response.
pub fn write(response: HttpResponse) -> Result<web_sys::Response> {
    let mut head = String::new();
    for (name, value) in &response.headers {
        head.extend([name.as_str(), "\n", value.as_str(), "\n"]);
    }
    respond(response.status, &head, &response.body).map_err(Error::from)
}
