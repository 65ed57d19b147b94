//! Stripe webhooks: signature verification, event parsing and the D1 state changes they cause.

pub mod batch;
pub mod event;
pub mod state;
pub mod verify;
