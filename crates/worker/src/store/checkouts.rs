//! `checkout_sessions`: the SHA-256 of each checkout's activation code, written after Stripe answers, read on first activation.

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

/// The activation code hash of a session, `None` when the Worker created no such session.
pub async fn code_hash(
    db: &D1Database,
    checkout_session_id: &str,
) -> worker::Result<Option<String>> {
    let row = db
        .prepare("SELECT code_hash FROM checkout_sessions WHERE checkout_session_id = ?1")
        .bind(&[checkout_session_id.into()])?
        .first::<CodeRow>(None)
        .await?;
    Ok(row.map(|r| r.code_hash))
}
