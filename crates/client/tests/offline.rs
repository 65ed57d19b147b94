//! Offline licence checks: rotating keys, the clock high-water mark, byte flips.

use nyra_client::{Clock, HighWaterMark, LicenseError, verify_license};
use nyra_domain::license::{Entitlement, Keys, LicenseClaims, sign};
use proptest::prelude::*;

const ISSUED: i64 = 1_764_300_000;
const DEVICE: &str = "device-offline-01";

fn keys(secret: &str) -> Keys {
    Keys::from_secret(secret).unwrap_or_else(|e| panic!("{e}"))
}

fn current() -> Keys {
    keys("current_license_signing_secret_for_client_tests")
}

fn licence(keys: &Keys) -> String {
    sign(
        keys,
        &LicenseClaims {
            customer_id: "cus_offline".into(),
            device_id: DEVICE.into(),
            entitlement: Entitlement::Pro,
            status: Some("active".into()),
            issued_at: ISSUED,
            expires_at: ISSUED + 30 * 86_400,
        },
    )
}

#[test]
fn a_clock_rolled_back_below_the_high_water_mark_is_rejected_and_forward_accepted() {
    let keys = current();
    let blob = licence(&keys);
    let key = keys.public_key_b64();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mark = HighWaterMark::new(dir.path().join("clock"));
    let late = ISSUED + 40 * 86_400;
    let expired = mark.observe(late, late).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        verify_license(&blob, &key, DEVICE, expired),
        Err(LicenseError::Expired)
    );
    let rolled_back = ISSUED + 86_400;
    let clock = mark
        .observe(rolled_back, rolled_back)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(clock.high_water, late, "the mark never moves back");
    assert_eq!(
        verify_license(&blob, &key, DEVICE, clock),
        Err(LicenseError::ClockRolledBack)
    );
    let fresh = HighWaterMark::new(dir.path().join("other"));
    let forward = fresh
        .observe(ISSUED + 60, ISSUED + 60)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(verify_license(&blob, &key, DEVICE, forward).is_ok());
    let later = fresh
        .observe(ISSUED + 3_600, ISSUED + 3_600)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(verify_license(&blob, &key, DEVICE, later).is_ok());
}

#[test]
fn a_licence_issued_after_the_device_clock_is_rejected() {
    let keys = current();
    let blob = licence(&keys);
    let key = keys.public_key_b64();
    let behind = Clock {
        now: ISSUED - 301,
        high_water: ISSUED - 301,
    };
    assert_eq!(
        verify_license(&blob, &key, DEVICE, behind),
        Err(LicenseError::IssuedInFuture)
    );
    assert!(verify_license(&blob, &key, DEVICE, ISSUED - 300).is_ok());
}

#[test]
fn a_list_of_keys_verifies_licences_of_either_and_the_kid_selects() {
    let (new, old) = (
        current(),
        keys("previous_license_signing_secret_for_client_tests"),
    );
    let both = [new.public_key_b64(), old.public_key_b64()];
    let at = Clock::from(ISSUED + 60);
    assert!(verify_license(&licence(&old), &both, DEVICE, at).is_ok());
    assert!(verify_license(&licence(&new), &both, DEVICE, at).is_ok());
    let removed = vec![new.public_key_b64()];
    assert_eq!(
        verify_license(&licence(&old), &removed, DEVICE, at),
        Err(LicenseError::Invalid)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_byte_flip_is_rejected(index in 0usize..400, bit in 0u8..8) {
        let signer = current();
        let blob = licence(&signer);
        let mut bytes = blob.clone().into_bytes();
        let index = index % bytes.len();
        bytes[index] ^= 1 << bit;
        let flipped = String::from_utf8_lossy(&bytes).into_owned();
        prop_assume!(flipped != blob);
        let previous = keys("previous_license_signing_secret_for_client_tests");
        let both = [signer.public_key_b64(), previous.public_key_b64()];
        let clock = Clock { now: ISSUED + 60, high_water: ISSUED + 60 };
        prop_assert!(verify_license(&flipped, &both, DEVICE, clock).is_err());
    }
}
