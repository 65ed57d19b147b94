//! `checkout_sessions`: the SHA-256 of each checkout's activation code, written after Stripe answers, read on first activation.

use crate::store::customers::{self, CustomerRow};
use worker::D1Database;

/// The stored hash of a session's activation code.
#[derive(serde::Deserialize)]
struct CodeRow {
    code_hash: String,
}

/// Records the session's code hash (a session id is never reused by Stripe).
pub async fn insert(
    db: &D1Database,
    checkout_session_id: &str,
    device_id: &str,
    code_hash: &str,
    now_iso: &str,
) -> worker::Result<()> {
    db.prepare(
        "INSERT INTO checkout_sessions (checkout_session_id, device_id, code_hash, created_at) \
         VALUES (?1, ?2, ?3, ?4)",
    )
    .bind(&[
        checkout_session_id.into(),
        device_id.into(),
        code_hash.into(),
        now_iso.into(),
    ])?
    .run()
    .await?;
    Ok(())
}

/// A first activation's reads in one D1 batch: the session's activation code hash (`None` when
/// the Worker created no such session) and the customer row its checkout wrote, with
/// `device_id`'s activation (`None` before the checkout webhook arrived).
pub async fn activation(
    db: &D1Database,
    checkout_session_id: &str,
    device_id: &str,
) -> worker::Result<(Option<String>, Option<CustomerRow>)> {
    let code = db
        .prepare("SELECT code_hash FROM checkout_sessions WHERE checkout_session_id = ?1")
        .bind(&[checkout_session_id.into()])?;
    let row = customers::by_checkout(db, checkout_session_id, device_id)?;
    let results = db.batch(vec![code, row]).await?;
    let mut results = results.iter();
    let mut next = || {
        results
            .next()
            .ok_or_else(|| worker::Error::from("d1 batch short"))
    };
    let code = next()?.results::<CodeRow>()?.into_iter().next();
    let row = next()?.results::<CustomerRow>()?.into_iter().next();
    Ok((code.map(|r| r.code_hash), row))
}
