-- Ordering guards for webhook state (DESIGN §4, crates/domain/src/webhook/state.rs): each column
-- holds the sort key ("{created:012}:{rank}:{event_id}", device/subscription-id keys tier-prefixed)
-- of the event that last wrote its field group, so any delivery order ends in the same row.
ALTER TABLE billing_customers ADD COLUMN checkout_key TEXT;
ALTER TABLE billing_customers ADD COLUMN device_key TEXT;
ALTER TABLE billing_customers ADD COLUMN subscription_id_key TEXT;
ALTER TABLE billing_customers ADD COLUMN subscription_key TEXT;
ALTER TABLE billing_customers ADD COLUMN status_key TEXT;
ALTER TABLE billing_customers ADD COLUMN invoice_key TEXT;
ALTER TABLE billing_customers ADD COLUMN entitlements_key TEXT;
