//! One module per resource, each turning a typed request into a typed response.

pub mod checkout;
pub mod health;
pub mod license;
pub mod portal;
pub mod webhook;
