//! Random Stripe-style object ids (`cus_test_...`), good enough for a test double.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `prefix` followed by `len` random alphanumeric characters.
pub fn new_id(prefix: &str, len: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state = RandomState::new();
    let mut out = String::with_capacity(prefix.len() + len);
    out.push_str(prefix);
    let mut word = 0u64;
    for i in 0..len {
        if i % 8 == 0 {
            let mut hasher = state.build_hasher();
            hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
            word = hasher.finish();
        }
        out.push(ALNUM[(word % ALNUM.len() as u64) as usize] as char);
        word /= ALNUM.len() as u64;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_prefix_length_and_differ() {
        let a = super::new_id("cus_test_", 14);
        let b = super::new_id("cus_test_", 14);
        assert!(a.starts_with("cus_test_"));
        assert_eq!(a.len(), 9 + 14);
        assert_ne!(a, b);
        assert!(a[9..].chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
