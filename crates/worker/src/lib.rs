//! The nyra-billing-api Cloudflare Worker: routes the request once, reads its body, runs the generated dispatch.
//!
//! Every request reaches the Worker first (wrangler `run_worker_first: true`), so the API's
//! routes skip the assets layer's lookup; GET and HEAD of the static documents (`/docs`,
//! `/openapi.json`, `/openapi.yaml`) are handed to the `ASSETS` binding unchanged, and their
//! other methods get the router's 405 with `Allow`.
//!
//! The queue handler applies batches of webhook events enqueued in `WEBHOOK_MODE=queue`
//! (see [`queue`]); it acknowledges or retries every message itself and never fails.

mod api;
mod ctx;
mod http;
mod license_sign;
mod problems;
mod queue;
mod routes;
mod settle;
mod store;
mod stripe;
mod timing;

use nyra_api::server;
use wasm_bindgen::JsValue;
use worker::{Context, Env, MessageBatch, Result, event, web_sys};

#[event(fetch)]
async fn fetch(request: web_sys::Request, env: Env, _ctx: Context) -> Result<web_sys::Response> {
    timing::start();
    let mut head = http::head(&request);
    let client_ip = nyra_api::rt::header(&head, "cf-connecting-ip");
    let ctx = ctx::Ctx::new(env, client_ip);
    let config = ctx.dispatch_config();
    let response = match server::route(&config, &head) {
        Ok(operation) if operation.static_asset => return ctx.asset(request).await,
        Ok(operation) => {
            timing::mark("route");
            head.body = http::read_body(&request, &head, operation.max_body_bytes + 1).await?;
            timing::mark("read");
            server::dispatch(&ctx, &config, operation, head).await
        }
        Err(response) => {
            http::read_body(&request, &head, 0).await?;
            response
        }
    };
    let written = http::write(response);
    timing::mark("respond");
    timing::report();
    written
}

#[event(queue)]
async fn webhook_batch(batch: MessageBatch<JsValue>, env: Env, _ctx: Context) -> Result<()> {
    queue::consume(batch, env).await;
    Ok(())
}
