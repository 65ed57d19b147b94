//! Webhook event writes: the processed_events claim and the billing state change, in one D1 batch.
