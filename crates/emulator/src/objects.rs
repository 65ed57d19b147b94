//! Stripe objects as API-version 2026-02-25.clover JSON, rendered from the store's records.

use serde_json::{Value, json};

use crate::state::{CheckoutSession, Customer, Invoice, PortalSession, Subscription};

/// The price the emulator seeds.
pub const SEEDED_PRICE: &str = "price_test_local_pro_monthly";
/// Monthly amount of every emulated price, in cents.
pub const AMOUNT: i64 = 900;
/// Currency of every emulated price.
pub const CURRENCY: &str = "usd";
/// The product behind every emulated price.
pub const PRODUCT: &str = "prod_test_local_pro";
/// Length of one billing period (30 days).
pub const PERIOD: i64 = 30 * 24 * 60 * 60;
/// When the emulated catalogue was created (a fixed past instant).
const CATALOGUE_CREATED: i64 = 1_767_225_600;

/// Whether the emulator knows this price: the seeded one or any `price_...` id.
pub fn price_exists(id: &str) -> bool {
    id == SEEDED_PRICE || (id.starts_with("price_") && id.len() > "price_".len())
}

/// Whether a known price is one-time (its id contains `one_time`); every other price is
/// recurring monthly.
pub fn is_one_time(id: &str) -> bool {
    id.contains("one_time")
}

/// A Price (900 usd cents; recurring monthly unless [`is_one_time`]).
pub fn price(id: &str) -> Value {
    let (kind, recurring) = if is_one_time(id) {
        ("one_time", Value::Null)
    } else {
        let recurring = json!({ "interval": "month", "interval_count": 1, "meter": null,
                                "trial_period_days": null, "usage_type": "licensed" });
        ("recurring", recurring)
    };
    json!({
        "id": id, "object": "price", "active": true, "billing_scheme": "per_unit",
        "created": CATALOGUE_CREATED, "currency": CURRENCY, "custom_unit_amount": null,
        "livemode": false, "lookup_key": null, "metadata": {}, "nickname": null,
        "product": PRODUCT, "recurring": recurring,
        "tax_behavior": "unspecified", "tiers_mode": null, "transform_quantity": null,
        "type": kind, "unit_amount": AMOUNT, "unit_amount_decimal": AMOUNT.to_string()
    })
}

/// The legacy Plan mirror of a price, still present on subscription items.
fn plan(id: &str) -> Value {
    json!({
        "id": id, "object": "plan", "active": true, "amount": AMOUNT,
        "amount_decimal": AMOUNT.to_string(), "billing_scheme": "per_unit",
        "created": CATALOGUE_CREATED, "currency": CURRENCY, "interval": "month",
        "interval_count": 1, "livemode": false, "metadata": {}, "meter": null,
        "nickname": null, "product": PRODUCT, "tiers_mode": null, "transform_usage": null,
        "trial_period_days": null, "usage_type": "licensed"
    })
}

/// Payment mode's `invoice_creation` (no invoice after payment); `null` in subscription mode.
fn invoice_creation(s: &CheckoutSession) -> Value {
    if s.mode != "payment" {
        return Value::Null;
    }
    json!({ "enabled": false,
            "invoice_data": { "account_tax_ids": null, "custom_fields": null,
                              "description": null, "footer": null, "issuer": null,
                              "metadata": {}, "rendering_options": null } })
}

/// A Checkout Session.
pub fn checkout_session(s: &CheckoutSession, base: &str) -> Value {
    let details = s.paid_email.as_ref().map(|email| {
        json!({ "address": null, "email": email, "name": null, "phone": null,
                "tax_exempt": "none", "tax_ids": [] })
    });
    let url = (!s.complete).then(|| format!("{base}/c/pay/{}", s.id));
    let amount = AMOUNT * i64::from(s.quantity);
    json!({
        "id": s.id, "object": "checkout.session", "adaptive_pricing": null,
        "after_expiration": null, "allow_promotion_codes": null,
        "amount_subtotal": amount, "amount_total": amount,
        "automatic_tax": { "enabled": false, "liability": null, "provider": null, "status": null },
        "billing_address_collection": null, "cancel_url": s.cancel_url,
        "client_reference_id": s.client_reference_id, "client_secret": null,
        "collected_information": null, "consent": null, "consent_collection": null,
        "created": s.created, "currency": CURRENCY, "currency_conversion": null,
        "custom_fields": [],
        "custom_text": { "after_submit": null, "shipping_address": null, "submit": null,
                         "terms_of_service_acceptance": null },
        "customer": s.customer, "customer_creation": s.customer_creation,
        "customer_details": details,
        "customer_email": s.customer_email, "discounts": [], "expires_at": s.expires_at,
        "invoice": s.invoice, "invoice_creation": invoice_creation(s), "livemode": false,
        "locale": null, "metadata": s.metadata, "mode": s.mode, "origin_context": null,
        "payment_intent": s.payment_intent, "payment_link": null, "payment_method_collection": "always",
        "payment_method_configuration_details": null, "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": s.payment_status,
        "permissions": null, "phone_number_collection": { "enabled": false },
        "recovered_from": null, "saved_payment_method_options": null, "setup_intent": null,
        "shipping_address_collection": null, "shipping_cost": null, "shipping_options": [],
        "status": if s.complete { "complete" } else { "open" },
        "submit_type": null, "subscription": s.subscription, "success_url": s.success_url,
        "total_details": { "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 },
        "ui_mode": "hosted", "url": url, "wallet_options": null
    })
}

/// A Customer.
pub fn customer(c: &Customer) -> Value {
    json!({
        "id": c.id, "object": "customer", "address": null, "balance": 0, "created": c.created,
        "currency": CURRENCY, "default_source": null, "delinquent": false, "description": null,
        "discount": null, "email": c.email, "invoice_prefix": "EMU",
        "invoice_settings": { "custom_fields": null, "default_payment_method": null,
                              "footer": null, "rendering_options": null },
        "livemode": false, "metadata": {}, "name": null, "next_invoice_sequence": 1,
        "phone": null, "preferred_locales": [], "shipping": null, "tax_exempt": "none",
        "test_clock": null
    })
}

/// A Subscription Item: since 2025-03-31.basil the billing period lives here.
pub fn subscription_item(s: &Subscription) -> Value {
    json!({
        "id": s.item_id, "object": "subscription_item", "billing_thresholds": null,
        "created": s.created, "current_period_end": s.period_end,
        "current_period_start": s.period_start, "discounts": [], "metadata": {},
        "plan": plan(&s.price), "price": price(&s.price), "quantity": s.quantity,
        "subscription": s.id, "tax_rates": []
    })
}

/// A Subscription (clover: no top-level `current_period_*`).
pub fn subscription(s: &Subscription) -> Value {
    let reason = s.canceled_at.map(|_| "cancellation_requested");
    json!({
        "id": s.id, "object": "subscription", "application": null,
        "application_fee_percent": null,
        "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null },
        "billing_cycle_anchor": s.created, "billing_cycle_anchor_config": null,
        "billing_mode": { "flexible": null, "type": "classic" },
        "billing_thresholds": null, "cancel_at": s.cancel_at,
        "cancel_at_period_end": s.cancel_at_period_end, "canceled_at": s.canceled_at,
        "cancellation_details": { "comment": null, "feedback": null, "reason": reason },
        "collection_method": "charge_automatically", "created": s.created,
        "currency": CURRENCY, "customer": s.customer, "days_until_due": null,
        "default_payment_method": null, "default_source": null, "default_tax_rates": [],
        "description": null, "discounts": [], "ended_at": s.ended_at,
        "invoice_settings": { "account_tax_ids": null, "issuer": { "type": "self" } },
        "items": {
            "object": "list", "data": [subscription_item(s)], "has_more": false,
            "total_count": 1, "url": format!("/v1/subscription_items?subscription={}", s.id)
        },
        "latest_invoice": s.latest_invoice, "livemode": false, "metadata": s.metadata,
        "next_pending_invoice_item_invoice": null, "on_behalf_of": null,
        "pause_collection": null,
        "payment_settings": { "payment_method_options": null, "payment_method_types": null,
                              "save_default_payment_method": "off" },
        "pending_invoice_item_interval": null, "pending_setup_intent": null,
        "pending_update": null, "plan": plan(&s.price), "quantity": s.quantity,
        "schedule": null, "start_date": s.created, "status": s.status, "test_clock": null,
        "transfer_data": null, "trial_end": null,
        "trial_settings": { "end_behavior": { "missing_payment_method": "create_invoice" } },
        "trial_start": null
    })
}

/// One invoice line for the subscription item (clover `parent` + `pricing` shape).
fn invoice_line(i: &Invoice) -> Value {
    let description = if i.proration {
        format!(
            "Remaining time on {} × Pro until cancellation (no charge)",
            i.quantity
        )
    } else {
        format!("{} × Pro (at $9.00 / month)", i.quantity)
    };
    json!({
        "id": format!("il_{}", &i.id[3..]), "object": "line_item", "amount": i.amount,
        "currency": CURRENCY, "description": description,
        "discount_amounts": [], "discountable": true, "discounts": [], "invoice": i.id,
        "livemode": false, "metadata": i.subscription_metadata,
        "parent": {
            "invoice_item_details": null, "type": "subscription_item_details",
            "subscription_item_details": {
                "invoice_item": null, "proration": i.proration,
                "proration_details": { "credited_items": null },
                "subscription": i.subscription, "subscription_item": i.item_id
            }
        },
        "period": { "end": i.line_end, "start": i.line_start },
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": { "price": i.price, "product": PRODUCT },
            "type": "price_details",
            "unit_amount_decimal": (i.amount / i64::from(i.quantity.max(1))).to_string()
        },
        "quantity": i.quantity, "taxes": []
    })
}

/// An Invoice (clover: `parent.subscription_details`, no `paid` boolean, no `subscription`).
pub fn invoice(i: &Invoice) -> Value {
    let total = i.amount;
    let paid = if i.status == "paid" { total } else { 0 };
    let due = if i.status == "draft" {
        total
    } else {
        total - paid
    };
    json!({
        "id": i.id, "object": "invoice", "account_country": "US",
        "account_name": "NyrA (Stripe emulator)", "account_tax_ids": null,
        "amount_due": total, "amount_overpaid": 0, "amount_paid": paid,
        "amount_remaining": due, "amount_shipping": 0, "application": null,
        "attempt_count": i.attempt_count, "attempted": i.attempt_count > 0,
        "auto_advance": i.status != "paid",
        "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null,
                           "provider": null, "status": null },
        "automatically_finalizes_at": null, "billing_reason": i.billing_reason,
        "collection_method": "charge_automatically", "created": i.created,
        "currency": CURRENCY, "custom_fields": null, "customer": i.customer,
        "customer_address": null, "customer_email": i.customer_email, "customer_name": null,
        "customer_phone": null, "customer_shipping": null, "customer_tax_exempt": "none",
        "customer_tax_ids": [], "default_payment_method": null, "default_source": null,
        "default_tax_rates": [], "description": null, "discounts": [], "due_date": null,
        "effective_at": i.finalized_at, "ending_balance": i.finalized_at.map(|_| 0),
        "footer": null, "from_invoice": null, "hosted_invoice_url": null,
        "invoice_pdf": null, "issuer": { "type": "self" }, "last_finalization_error": null,
        "latest_revision": null,
        "lines": {
            "object": "list", "data": [invoice_line(i)], "has_more": false,
            "total_count": 1, "url": format!("/v1/invoices/{}/lines", i.id)
        },
        "livemode": false, "metadata": {}, "next_payment_attempt": null,
        "number": i.finalized_at.map(|_| i.number.clone()), "on_behalf_of": null,
        "parent": {
            "quote_details": null,
            "subscription_details": { "metadata": i.subscription_metadata,
                                      "subscription": i.subscription },
            "type": "subscription_details"
        },
        "payment_settings": { "default_mandate": null, "payment_method_options": null,
                              "payment_method_types": null },
        "period_end": i.period_end, "period_start": i.period_start,
        "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
        "receipt_number": null, "rendering": null, "shipping_cost": null,
        "shipping_details": null, "starting_balance": 0, "statement_descriptor": null,
        "status": i.status,
        "status_transitions": { "finalized_at": i.finalized_at,
                                "marked_uncollectible_at": null, "paid_at": i.paid_at,
                                "voided_at": null },
        "subtotal": total, "subtotal_excluding_tax": total, "test_clock": null,
        "total": total, "total_discount_amounts": [], "total_excluding_tax": total,
        "total_pretax_credit_amounts": [], "total_taxes": [], "webhooks_delivered_at": null
    })
}

/// A Customer Portal session.
pub fn portal_session(p: &PortalSession, base: &str) -> Value {
    json!({
        "id": p.id, "object": "billing_portal.session",
        "configuration": "bpc_test_emulator_default", "created": p.created,
        "customer": p.customer, "flow": null, "livemode": false, "locale": null,
        "on_behalf_of": null, "return_url": p.return_url,
        "url": format!("{base}/p/session/{}", p.id)
    })
}

/// The customer's active entitlements: `pro` while entitled, otherwise an empty list.
pub fn entitlement_summary(customer: &str, entitlement_ids: &[String]) -> Value {
    let data: Vec<Value> = entitlement_ids
        .iter()
        .map(|id| {
            json!({ "id": id, "object": "entitlements.active_entitlement",
                    "feature": "feat_test_pro", "livemode": false, "lookup_key": "pro" })
        })
        .collect();
    json!({
        "object": "entitlements.active_entitlement_summary", "customer": customer,
        "entitlements": {
            "object": "list", "data": data, "has_more": false,
            "url": format!("/v1/customer/{customer}/entitlements")
        },
        "livemode": false
    })
}
