-- Activation codes and device seats (issue 14). Checkout writes one row per Checkout Session with
-- the SHA-256 (hex) of the activation code it answered; the code itself is never stored.
CREATE TABLE IF NOT EXISTS checkout_sessions (
  checkout_session_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, code_hash TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;
-- token_generation: the generation of the newest device access token issued to the device; older
-- tokens are refused online. replaced_at: set when another device took this device's seat.
ALTER TABLE device_activations ADD COLUMN token_generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE device_activations ADD COLUMN replaced_at TEXT;
CREATE INDEX IF NOT EXISTS idx_device_activations_seats ON device_activations (customer_id, replaced_at, last_checked_at);
-- Checkout refuses a device whose subscription is still entitled: look customers up by device.
CREATE INDEX IF NOT EXISTS idx_billing_customers_device ON billing_customers (device_id);
