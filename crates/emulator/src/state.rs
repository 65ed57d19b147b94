//! The in-memory store behind a mutex: sessions, customers, subscriptions, invoices, events, logs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use crate::Config;
use crate::clock::Clock;

/// String metadata, serialised as a JSON object.
pub type Metadata = BTreeMap<String, String>;

/// What every handler shares: the config, the bound address, the store and an HTTP client.
pub struct Shared {
    pub config: Config,
    pub base_url: String,
    pub http: reqwest::Client,
    store: Mutex<Store>,
}

impl Shared {
    /// A fresh, empty emulator state.
    pub fn new(config: Config, base_url: String) -> Shared {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let store = Mutex::new(Store::new(config.api_version.clone()));
        Shared {
            config,
            base_url,
            http,
            store,
        }
    }

    /// Locks the store; a poisoned lock is recovered, never a panic.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Base of hosted pages (checkout, portal): `public_base` or the bound address.
    pub fn public_base(&self) -> String {
        let base = self.config.public_base.as_deref().unwrap_or(&self.base_url);
        base.trim_end_matches('/').to_owned()
    }
}

/// A Checkout Session.
#[derive(Clone, Debug)]
pub struct CheckoutSession {
    pub id: String,
    pub created: i64,
    /// `subscription` or `payment`.
    pub mode: &'static str,
    /// `unpaid` until paid; stays `unpaid` while an async payment is pending or after it failed.
    pub payment_status: &'static str,
    /// An async payment (bank debit) is processing: `/async` settles it.
    pub async_pending: bool,
    /// Payment mode only: `if_required` (no customer) or `always`.
    pub customer_creation: Option<&'static str>,
    pub expires_at: i64,
    pub price: String,
    pub quantity: u32,
    pub success_url: String,
    pub cancel_url: String,
    pub client_reference_id: Option<String>,
    pub customer_email: Option<String>,
    pub metadata: Metadata,
    pub subscription_metadata: Metadata,
    pub complete: bool,
    pub customer: Option<String>,
    pub subscription: Option<String>,
    pub invoice: Option<String>,
    pub payment_intent: Option<String>,
    pub paid_email: Option<String>,
}

/// A Customer.
#[derive(Clone, Debug)]
pub struct Customer {
    pub id: String,
    pub created: i64,
    pub email: String,
}

/// A Subscription with its single item.
#[derive(Clone, Debug)]
pub struct Subscription {
    pub id: String,
    pub customer: String,
    pub created: i64,
    pub status: &'static str,
    pub metadata: Metadata,
    pub item_id: String,
    pub price: String,
    pub quantity: u32,
    pub period_start: i64,
    pub period_end: i64,
    pub cancel_at_period_end: bool,
    pub cancel_at: Option<i64>,
    pub canceled_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub latest_invoice: Option<String>,
}

impl Subscription {
    /// Stripe never leaves these statuses: nothing renews, fails or cancels any more.
    pub fn has_ended(&self) -> bool {
        matches!(self.status, "canceled" | "incomplete_expired")
    }
}

/// An Invoice for one subscription period.
#[derive(Clone, Debug)]
pub struct Invoice {
    pub id: String,
    pub number: String,
    pub customer: String,
    pub customer_email: String,
    pub subscription: String,
    pub subscription_metadata: Metadata,
    pub item_id: String,
    pub price: String,
    pub quantity: u32,
    /// Total in cents: the price times the quantity, or 0 for a final invoice.
    pub amount: i64,
    /// The line is a proration (a final invoice at cancellation).
    pub proration: bool,
    pub billing_reason: &'static str,
    pub status: &'static str,
    pub created: i64,
    pub period_start: i64,
    pub period_end: i64,
    pub line_start: i64,
    pub line_end: i64,
    pub finalized_at: Option<i64>,
    pub paid_at: Option<i64>,
    pub attempt_count: u32,
}

/// A Customer Portal session.
#[derive(Clone, Debug)]
pub struct PortalSession {
    pub id: String,
    pub customer: String,
    pub return_url: String,
    pub created: i64,
}

/// One webhook delivery attempt.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub at: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// One emitted event: its exact JSON body and every delivery attempt.
#[derive(Clone, Debug)]
pub struct EventRecord {
    pub id: String,
    pub kind: String,
    pub created: i64,
    pub body: String,
    pub deliveries: Vec<Delivery>,
}

/// A stored answer for an `Idempotency-Key`.
#[derive(Clone, Debug)]
pub struct Replay {
    pub fingerprint: String,
    pub status: u16,
    pub body: Vec<u8>,
    pub request_id: String,
}

/// Injected failure for `/v1` requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FaultMode {
    #[default]
    None,
    Error500,
    Timeout,
}

/// The active fault and how many more requests it hits (`None` = all).
#[derive(Clone, Copy, Debug, Default)]
pub struct Fault {
    pub mode: FaultMode,
    pub remaining: Option<u32>,
}

/// Everything the emulator remembers.
#[derive(Debug)]
pub struct Store {
    pub api_version: String,
    pub clock: Clock,
    pub sessions: HashMap<String, CheckoutSession>,
    pub portal_sessions: HashMap<String, PortalSession>,
    pub customers: HashMap<String, Customer>,
    pub subscriptions: HashMap<String, Subscription>,
    pub invoices: HashMap<String, Invoice>,
    pub events: Vec<EventRecord>,
    pub requests: Vec<Value>,
    pub idempotency: HashMap<String, Replay>,
    pub fault: Fault,
    invoice_counter: u32,
    last_event_created: i64,
}

impl Store {
    fn new(api_version: String) -> Store {
        Store {
            api_version,
            clock: Clock::default(),
            sessions: HashMap::new(),
            portal_sessions: HashMap::new(),
            customers: HashMap::new(),
            subscriptions: HashMap::new(),
            invoices: HashMap::new(),
            events: Vec::new(),
            requests: Vec::new(),
            idempotency: HashMap::new(),
            fault: Fault::default(),
            invoice_counter: 0,
            last_event_created: 0,
        }
    }

    /// Virtual now.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The `created` of the next event: virtual now, but strictly after the previous event.
    pub fn next_event_created(&mut self) -> i64 {
        let created = self.now().max(self.last_event_created + 1);
        self.last_event_created = created;
        created
    }

    /// The next human-readable invoice number.
    pub fn next_invoice_number(&mut self) -> String {
        self.invoice_counter += 1;
        format!("EMU-{:04}", self.invoice_counter)
    }

    /// Takes one hit of the active fault, if any.
    pub fn take_fault(&mut self) -> FaultMode {
        match self.fault.remaining {
            _ if self.fault.mode == FaultMode::None => FaultMode::None,
            None => self.fault.mode,
            Some(0) => {
                self.fault = Fault::default();
                FaultMode::None
            }
            Some(n) => {
                let mode = self.fault.mode;
                self.fault.remaining = Some(n - 1);
                if n == 1 {
                    self.fault = Fault::default();
                }
                mode
            }
        }
    }
}
