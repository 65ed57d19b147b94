//! The bench's workers-rs hello-world: any request answers `{"ok":true}`, nothing else.
//!
//! `cargo xtask bench` runs it beside the JS hello-world on the same workerd: the gap between
//! the two is what workers-rs itself costs per request and at start, the floor under every
//! route of the billing Worker.

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(_request: Request, _env: Env, _ctx: Context) -> Result<Response> {
    let response = Response::from_bytes(br#"{"ok":true}"#.to_vec())?;
    response.headers().set("content-type", "application/json")?;
    Ok(response)
}
