//! D1 access through prepared statements, one submodule per table family.

pub mod checkouts;
pub mod customers;
pub mod events;

use worker::D1Database;

pub use nyra_domain::config::TABLES;

/// A table name row of `sqlite_master`.
#[derive(serde::Deserialize)]
struct TableRow {
    name: String,
}

/// The billing tables D1 lacks, or an error when D1 does not answer.
pub async fn missing_tables(db: &D1Database) -> worker::Result<Vec<String>> {
    let placeholders: Vec<String> = (1..=TABLES.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({})",
        placeholders.join(", ")
    );
    let rows = db
        .prepare(sql)
        .bind(&TABLES.map(Into::into))?
        .all()
        .await?
        .results::<TableRow>()?;
    Ok(TABLES
        .iter()
        .filter(|t| !rows.iter().any(|r| r.name == **t))
        .map(|t| (*t).to_owned())
        .collect())
}
