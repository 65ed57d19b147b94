//! Stripe webhooks: signature verification, event parsing and the D1 state changes they cause.
