//! Billing customer rows and device activations for checkout, portal and license status.
