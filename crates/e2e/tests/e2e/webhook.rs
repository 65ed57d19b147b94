//! Webhook ingest against the real Worker and local D1.
