-- Entitlement follows payment (crates/domain/src/webhook/state.rs, license/entitlement.rs):
-- paid_through  end of the service period covered by the last paid invoice line of our price
--               (unix seconds; only ever grows); access ends at min(current_period_end,
--               paid_through) + NYRA_OFFLINE_GRACE_HOURS.
-- livemode      1 when the events that wrote the row came from live mode; a row only grants
--               while it matches the Stripe key's mode.
-- checkout_completed_at  `created` of the paid checkout event; bounds the 24-hour fallback
--               while Stripe's subscription data is not in yet (72 hours at most).
ALTER TABLE billing_customers ADD COLUMN paid_through INTEGER;
ALTER TABLE billing_customers ADD COLUMN livemode INTEGER;
ALTER TABLE billing_customers ADD COLUMN checkout_completed_at INTEGER;
