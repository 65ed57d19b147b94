//! Parses a verified Stripe event body (API version 2026-02-25.clover) into the facts we store.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::Digest;

/// A parsed event: the envelope plus the typed facts of a handled type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Stripe event id (`evt_...`).
    pub id: String,
    /// Stripe event type, parsed once.
    pub event_type: EventType,
    /// Unix seconds at which Stripe created the event.
    pub created: i64,
    /// Whether the event comes from live mode.
    pub livemode: bool,
    /// What the event tells us, or [`Facts::Unhandled`].
    pub facts: Facts,
}

/// The event types the Worker acts on; every other type is [`EventType::Other`] (recorded only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventType {
    /// `checkout.session.completed`.
    CheckoutSessionCompleted,
    /// `checkout.session.async_payment_succeeded`.
    CheckoutAsyncPaymentSucceeded,
    /// `checkout.session.async_payment_failed`.
    CheckoutAsyncPaymentFailed,
    /// `customer.subscription.created`.
    SubscriptionCreated,
    /// `customer.subscription.updated`.
    SubscriptionUpdated,
    /// `customer.subscription.deleted`.
    SubscriptionDeleted,
    /// `invoice.paid`.
    InvoicePaid,
    /// `invoice.payment_failed`.
    InvoicePaymentFailed,
    /// `entitlements.active_entitlement_summary.updated`.
    EntitlementSummaryUpdated,
    /// Any other type, as Stripe named it.
    Other(String),
}

impl EventType {
    /// Every handled type (all but [`EventType::Other`]).
    pub const HANDLED: [EventType; 9] = [
        EventType::CheckoutSessionCompleted,
        EventType::CheckoutAsyncPaymentSucceeded,
        EventType::CheckoutAsyncPaymentFailed,
        EventType::SubscriptionCreated,
        EventType::SubscriptionUpdated,
        EventType::SubscriptionDeleted,
        EventType::InvoicePaid,
        EventType::InvoicePaymentFailed,
        EventType::EntitlementSummaryUpdated,
    ];

    /// Parses Stripe's `type` string.
    pub fn parse(name: &str) -> EventType {
        Self::HANDLED
            .into_iter()
            .find(|t| t.as_str() == name)
            .unwrap_or_else(|| EventType::Other(name.to_owned()))
    }

    /// Stripe's name of the type.
    pub fn as_str(&self) -> &str {
        match self {
            Self::CheckoutSessionCompleted => "checkout.session.completed",
            Self::CheckoutAsyncPaymentSucceeded => "checkout.session.async_payment_succeeded",
            Self::CheckoutAsyncPaymentFailed => "checkout.session.async_payment_failed",
            Self::SubscriptionCreated => "customer.subscription.created",
            Self::SubscriptionUpdated => "customer.subscription.updated",
            Self::SubscriptionDeleted => "customer.subscription.deleted",
            Self::InvoicePaid => "invoice.paid",
            Self::InvoicePaymentFailed => "invoice.payment_failed",
            Self::EntitlementSummaryUpdated => "entitlements.active_entitlement_summary.updated",
            Self::Other(name) => name,
        }
    }

    /// Tie-break rank at equal `created` (higher wins; see `state`'s module doc).
    pub fn rank(&self) -> u8 {
        match self {
            Self::Other(_) => 0,
            Self::InvoicePaymentFailed => 1,
            Self::InvoicePaid => 2,
            Self::CheckoutSessionCompleted | Self::CheckoutAsyncPaymentFailed => 3,
            Self::CheckoutAsyncPaymentSucceeded => 4,
            Self::SubscriptionCreated => 5,
            Self::SubscriptionUpdated => 6,
            Self::SubscriptionDeleted => 7,
            Self::EntitlementSummaryUpdated => 8,
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The typed content of an event, per handled type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Facts {
    /// `checkout.session.completed` and its `async_payment_*` follow-ups.
    CheckoutCompleted(Checkout),
    /// `customer.subscription.created`, `.updated` or `.deleted`.
    Subscription(Subscription),
    /// `invoice.paid` or `invoice.payment_failed`.
    Invoice(Invoice),
    /// `entitlements.active_entitlement_summary.updated`.
    EntitlementSummary(EntitlementSummary),
    /// Any other event type: recorded, nothing else.
    Unhandled,
}

/// Facts of a completed Checkout Session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// Checkout Session id (`cs_...`).
    pub session_id: String,
    /// Customer id (`cus_...`); `None` for sessions that made no customer (payment mode).
    pub customer_id: Option<String>,
    /// `subscription` or `payment` (or `setup`).
    pub mode: Option<String>,
    /// `paid`, `unpaid` (an async payment still pending) or `no_payment_required`.
    pub payment_status: Option<String>,
    /// Subscription created by the session, if any.
    pub subscription_id: Option<String>,
    /// `metadata.deviceId`: only sessions this Worker created carry it (a Payment Link's
    /// `client_reference_id` is set by whoever opens the link, so it is not trusted).
    pub device_id: Option<String>,
    /// `customer_details.email`, else `customer_email`.
    pub email: Option<String>,
}

/// Facts of a subscription snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Subscription id (`sub_...`).
    pub subscription_id: String,
    /// Customer id (`cus_...`).
    pub customer_id: String,
    /// Stripe subscription status (`active`, `canceled`, ...).
    pub status: String,
    /// Whether the subscription ends at the current period end.
    pub cancel_at_period_end: bool,
    /// `metadata.deviceId`, if set.
    pub device_id: Option<String>,
    /// Price of the first item.
    pub price_id: Option<String>,
    /// Prices of every item, in Stripe's order.
    pub price_ids: Vec<String>,
    /// Latest `current_period_end` over the items (the period lives on items since basil).
    pub current_period_end: Option<i64>,
    /// The subscription's latest invoice (`in_...`), if any.
    pub latest_invoice: Option<String>,
}

/// Facts of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// Invoice id (`in_...`).
    pub invoice_id: String,
    /// Customer id (`cus_...`).
    pub customer_id: String,
    /// Invoice status (`paid`, `open`, ...); there is no `paid` boolean in clover.
    pub status: Option<String>,
    /// `parent.subscription_details.subscription`, when a subscription generated the invoice.
    pub subscription_id: Option<String>,
    /// The invoice's lines: price and service period end of each.
    pub lines: Vec<InvoiceLine>,
}

/// One invoice line: what it charged for, and the service period it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    /// `pricing.price_details.price` (clover; `price.id` before basil).
    pub price_id: Option<String>,
    /// `period.end`: the end of the service period this line pays for.
    pub period_end: Option<i64>,
}

/// Facts of an active-entitlement summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementSummary {
    /// Customer id (`cus_...`).
    pub customer_id: String,
    /// The active entitlements, in Stripe's order.
    pub entitlements: Vec<ActiveEntitlement>,
    /// `entitlements` as compact JSON: `[{"id":..,"feature":..,"lookup_key":..}]`.
    pub entitlements_json: String,
}

/// One active entitlement as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveEntitlement {
    /// Active entitlement id (`ent_...`).
    pub id: String,
    /// Feature id (`feat_...`).
    pub feature: String,
    /// Feature lookup key.
    pub lookup_key: String,
}

/// A body that is not a well-formed event of its declared type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Bad JSON, or a required field is missing or has the wrong type.
    #[error("malformed event: {0}")]
    Malformed(String),
}

/// The event id and type of a body [`parse`] refused, for recording it: the body's own `id` and
/// `type` when present, else `unparsed_<sha256 prefix>` and `unparsed`.
pub fn identify(body: &[u8]) -> (String, String) {
    #[derive(Deserialize)]
    struct Ids {
        id: Option<String>,
        #[serde(rename = "type")]
        event_type: Option<String>,
    }
    let ids = serde_json::from_slice::<Ids>(body).ok();
    let (id, event_type) = ids.map_or((None, None), |i| (i.id, i.event_type));
    let id = non_empty(id).unwrap_or_else(|| {
        let digest = sha2::Sha256::digest(body);
        format!("unparsed_{}", hex::encode(&digest[..16]))
    });
    (
        id,
        non_empty(event_type).unwrap_or_else(|| "unparsed".to_owned()),
    )
}

/// Parses a verified event body; unknown types become [`Facts::Unhandled`].
///
/// Uses small hand-written serde structs rather than async-stripe types: async-stripe's
/// `Subscription` (1.0.0-rc.10, generated for 2026-09-30.endive) requires a `billing_schedules`
/// field that clover never sends, so every `customer.subscription.*` clover event would fail to
/// parse there. Only the fields read here are modelled; every other field, and `null` wherever
/// Stripe documents a field as nullable, is tolerated. `data.object` is kept as raw JSON until
/// `type` (which may follow it) says which struct to read it into.
pub fn parse(body: &[u8]) -> Result<Event, EventError> {
    let raw: RawEnvelope = serde_json::from_slice(body).map_err(|e| malformed("body", &e))?;
    let object = raw
        .data
        .and_then(|d| d.object)
        .ok_or_else(|| missing("data.object"))?;
    let id = required(raw.id, "id")?;
    let event_type = EventType::parse(&required(raw.event_type, "type")?);
    let created = required(raw.created, "created")?;
    let facts = facts(&event_type, object.get().as_bytes())?;
    let livemode = raw.livemode.unwrap_or(false);
    Ok(Event {
        id,
        event_type,
        created,
        livemode,
        facts,
    })
}

/// A subscription or invoice object read back from Stripe, as an event-shaped snapshot dated
/// `created` (the reading instant), so it goes through the same guarded upsert as webhooks.
/// Its id is `settle_<object id>`; it is never claimed in `processed_events`.
pub fn snapshot(event_type: EventType, body: &[u8], created: i64) -> Result<Event, EventError> {
    #[derive(Deserialize)]
    struct Head {
        id: Option<String>,
        livemode: Option<bool>,
    }
    let head: Head = object_of(body)?;
    let facts = facts(&event_type, body)?;
    Ok(Event {
        id: format!("settle_{}", required_text(head.id, "data.object.id")?),
        event_type,
        created,
        livemode: head.livemode.unwrap_or(false),
        facts,
    })
}

/// The first object of a Stripe list (`{"object": "list", "data": [...]}`) as raw JSON, for
/// [`snapshot`]; `None` when the list is empty.
pub fn first_in_list(list: &[u8]) -> Result<Option<String>, EventError> {
    #[derive(Deserialize)]
    struct List<'a> {
        #[serde(borrow)]
        data: Vec<&'a RawValue>,
    }
    let list: List<'_> = serde_json::from_slice(list).map_err(|e| malformed("list", &e))?;
    Ok(list.data.first().map(|object| object.get().to_owned()))
}

fn facts(event_type: &EventType, object: &[u8]) -> Result<Facts, EventError> {
    use EventType::*;
    Ok(match event_type {
        CheckoutSessionCompleted | CheckoutAsyncPaymentSucceeded | CheckoutAsyncPaymentFailed => {
            Facts::CheckoutCompleted(object_of::<RawCheckout>(object)?.facts()?)
        }
        SubscriptionCreated | SubscriptionUpdated | SubscriptionDeleted => {
            Facts::Subscription(object_of::<RawSubscription>(object)?.facts()?)
        }
        InvoicePaid | InvoicePaymentFailed => {
            Facts::Invoice(object_of::<RawInvoice>(object)?.facts()?)
        }
        EntitlementSummaryUpdated => {
            Facts::EntitlementSummary(object_of::<RawSummary>(object)?.facts()?)
        }
        Other(_) => Facts::Unhandled,
    })
}

/// Reads `data.object` (or a snapshot's body) into `T`; bad JSON is the body's fault.
fn object_of<T: DeserializeOwned>(object: &[u8]) -> Result<T, EventError> {
    serde_json::from_slice(object).map_err(|e| {
        let place = if e.is_data() { "data.object" } else { "body" };
        malformed(place, &e)
    })
}

/// Says where (`body` or `data.object`) and what is wrong, e.g. `data.object: invalid type:
/// integer `7`, expected a string at line 1 column 40`.
fn malformed(place: &str, error: &serde_json::Error) -> EventError {
    EventError::Malformed(format!("{place}: {error}"))
}

fn missing(field: &str) -> EventError {
    EventError::Malformed(format!("missing field {field}"))
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, EventError> {
    value.ok_or_else(|| missing(field))
}

fn required_text(value: Option<String>, field: &str) -> Result<String, EventError> {
    non_empty(value).ok_or_else(|| missing(field))
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|s| !s.is_empty())
}

fn device_of(metadata: Option<&HashMap<String, Option<String>>>) -> Option<String> {
    non_empty(metadata?.get("deviceId").cloned().flatten())
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    id: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    created: Option<i64>,
    livemode: Option<bool>,
    #[serde(borrow)]
    data: Option<RawData<'a>>,
}

#[derive(Deserialize)]
struct RawData<'a> {
    #[serde(borrow)]
    object: Option<&'a RawValue>,
}

/// A reference Stripe sends as an id, or as the expanded object carrying that id.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdRef {
    Id(String),
    Object { id: String },
}

impl IdRef {
    fn into_id(self) -> String {
        match self {
            Self::Id(id) | Self::Object { id } => id,
        }
    }
}

fn id_of(value: Option<IdRef>) -> Option<String> {
    non_empty(value.map(IdRef::into_id))
}

#[derive(Deserialize)]
struct RawList<T> {
    data: Vec<T>,
}

#[derive(Deserialize)]
struct RawCheckout {
    id: Option<String>,
    customer: Option<IdRef>,
    subscription: Option<IdRef>,
    metadata: Option<HashMap<String, Option<String>>>,
    customer_details: Option<RawCustomerDetails>,
    customer_email: Option<String>,
    mode: Option<String>,
    payment_status: Option<String>,
}

#[derive(Deserialize)]
struct RawCustomerDetails {
    email: Option<String>,
}

impl RawCheckout {
    fn facts(self) -> Result<Checkout, EventError> {
        let device_id = device_of(self.metadata.as_ref());
        let email = non_empty(self.customer_details.and_then(|d| d.email))
            .or(non_empty(self.customer_email));
        Ok(Checkout {
            session_id: required_text(self.id, "data.object.id")?,
            customer_id: id_of(self.customer),
            mode: non_empty(self.mode),
            payment_status: non_empty(self.payment_status),
            subscription_id: id_of(self.subscription),
            device_id,
            email,
        })
    }
}

#[derive(Deserialize)]
struct RawSubscription {
    id: Option<String>,
    customer: Option<IdRef>,
    status: Option<String>,
    cancel_at_period_end: Option<bool>,
    metadata: Option<HashMap<String, Option<String>>>,
    items: Option<RawList<RawItem>>,
    latest_invoice: Option<IdRef>,
}

#[derive(Deserialize)]
struct RawItem {
    price: Option<RawPrice>,
    current_period_end: Option<i64>,
}

#[derive(Deserialize)]
struct RawPrice {
    id: Option<String>,
}

impl RawSubscription {
    fn facts(self) -> Result<Subscription, EventError> {
        let items = required(self.items, "data.object.items")?.data;
        let price_ids: Vec<String> = items
            .iter()
            .filter_map(|i| i.price.as_ref().and_then(|p| non_empty(p.id.clone())))
            .collect();
        Ok(Subscription {
            subscription_id: required_text(self.id, "data.object.id")?,
            customer_id: id_of(self.customer).ok_or_else(|| missing("data.object.customer"))?,
            status: required_text(self.status, "data.object.status")?,
            cancel_at_period_end: required(
                self.cancel_at_period_end,
                "data.object.cancel_at_period_end",
            )?,
            device_id: device_of(self.metadata.as_ref()),
            price_id: price_ids.first().cloned(),
            price_ids,
            current_period_end: items.iter().filter_map(|i| i.current_period_end).max(),
            latest_invoice: id_of(self.latest_invoice),
        })
    }
}

#[derive(Deserialize)]
struct RawInvoice {
    id: Option<String>,
    customer: Option<IdRef>,
    status: Option<String>,
    parent: Option<RawParent>,
    lines: Option<RawList<RawLine>>,
}

#[derive(Deserialize)]
struct RawLine {
    pricing: Option<RawPricing>,
    price: Option<IdRef>,
    period: Option<RawPeriod>,
}

#[derive(Deserialize)]
struct RawPricing {
    price_details: Option<RawPriceDetails>,
}

#[derive(Deserialize)]
struct RawPriceDetails {
    price: Option<IdRef>,
}

#[derive(Deserialize)]
struct RawPeriod {
    end: Option<i64>,
}

impl RawLine {
    fn facts(self) -> InvoiceLine {
        let priced = self
            .pricing
            .and_then(|p| p.price_details)
            .and_then(|d| d.price);
        InvoiceLine {
            price_id: id_of(priced.or(self.price)),
            period_end: self.period.and_then(|p| p.end),
        }
    }
}

#[derive(Deserialize)]
struct RawParent {
    subscription_details: Option<RawSubscriptionDetails>,
}

#[derive(Deserialize)]
struct RawSubscriptionDetails {
    subscription: Option<IdRef>,
}

impl RawInvoice {
    fn facts(self) -> Result<Invoice, EventError> {
        let details = self.parent.and_then(|p| p.subscription_details);
        Ok(Invoice {
            invoice_id: required_text(self.id, "data.object.id")?,
            customer_id: id_of(self.customer).ok_or_else(|| missing("data.object.customer"))?,
            status: non_empty(self.status),
            subscription_id: id_of(details.and_then(|d| d.subscription)),
            lines: self
                .lines
                .map(|l| l.data.into_iter().map(RawLine::facts).collect())
                .unwrap_or_default(),
        })
    }
}

#[derive(Deserialize)]
struct RawSummary {
    customer: Option<String>,
    entitlements: Option<RawList<RawEntitlement>>,
}

#[derive(Deserialize)]
struct RawEntitlement {
    id: Option<String>,
    feature: Option<IdRef>,
    lookup_key: Option<String>,
}

impl RawSummary {
    fn facts(self) -> Result<EntitlementSummary, EventError> {
        let raw = required(self.entitlements, "data.object.entitlements")?.data;
        let entitlements = raw
            .into_iter()
            .map(RawEntitlement::facts)
            .collect::<Result<Vec<_>, _>>()?;
        let entitlements_json = serde_json::to_string(&entitlements)
            .map_err(|e| EventError::Malformed(format!("data.object.entitlements: {e}")))?;
        Ok(EntitlementSummary {
            customer_id: required_text(self.customer, "data.object.customer")?,
            entitlements,
            entitlements_json,
        })
    }
}

impl RawEntitlement {
    fn facts(self) -> Result<ActiveEntitlement, EventError> {
        Ok(ActiveEntitlement {
            id: required_text(self.id, "data.object.entitlements.data[].id")?,
            feature: id_of(self.feature)
                .ok_or_else(|| missing("data.object.entitlements.data[].feature"))?,
            lookup_key: required_text(
                self.lookup_key,
                "data.object.entitlements.data[].lookup_key",
            )?,
        })
    }
}
