//! The paid journey: checkout, payment in the emulator, activation, refresh, portal, cancel.
