CREATE TABLE IF NOT EXISTS billing_customers (
  customer_id TEXT PRIMARY KEY, checkout_session_id TEXT, subscription_id TEXT, device_id TEXT,
  email TEXT, status TEXT, entitlement TEXT, price_id TEXT, current_period_end INTEGER,
  cancel_at_period_end INTEGER NOT NULL DEFAULT 0, last_invoice_id TEXT, last_invoice_status TEXT,
  stripe_entitlements_json TEXT, updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS idx_billing_customers_checkout_device ON billing_customers (checkout_session_id, device_id);
CREATE INDEX IF NOT EXISTS idx_billing_customers_subscription ON billing_customers (subscription_id);
CREATE TABLE IF NOT EXISTS processed_events (
  event_id TEXT PRIMARY KEY, type TEXT NOT NULL, processed_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS device_activations (
  customer_id TEXT NOT NULL, device_id TEXT NOT NULL, activated_at TEXT NOT NULL,
  last_checked_at TEXT NOT NULL, last_active INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (customer_id, device_id)
) STRICT;
