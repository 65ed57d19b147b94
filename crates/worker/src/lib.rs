//! The nyra-billing-api Cloudflare Worker: reads the request, runs the generated dispatch, writes the answer.

mod app;
mod clock;
mod config;
mod http;
mod routes;
mod store;
mod stripe;

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(request: Request, env: Env, _ctx: Context) -> Result<Response> {
    let app = app::App::new(env);
    let request = http::read(request).await?;
    let response = nyra_api::server::dispatch(&app, &app.dispatch_config(), request).await;
    http::write(response)
}
