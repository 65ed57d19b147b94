//! Migrations applied in order to an empty in-memory SQLite database.
//!
//! A stand-in for `wrangler d1 migrations apply --local`: D1 is SQLite, so SQL that fails here fails there.

use rusqlite::Connection;

use crate::OpsError;
use crate::repo::{MIGRATIONS, Repo};

/// The result of applying every migration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Migration file names, in the order applied.
    pub files: Vec<String>,
    /// Tables that exist afterwards, in creation order.
    pub tables: Vec<String>,
}

/// Applies `migrations/*.sql` (by name) to an empty database and lists the tables.
pub fn apply(repo: &Repo) -> Result<Applied, OpsError> {
    let files = migration_files(repo)?;
    let db = Connection::open_in_memory().map_err(|e| failure("(empty database)", &e))?;
    for file in &files {
        let sql = repo.read(&repo.path(MIGRATIONS).join(file))?;
        db.execute_batch(&sql).map_err(|e| failure(file, &e))?;
    }
    let tables = tables(&db).map_err(|e| failure("(listing tables)", &e))?;
    Ok(Applied { files, tables })
}

/// The `.sql` file names in the migrations directory, sorted.
fn migration_files(repo: &Repo) -> Result<Vec<String>, OpsError> {
    let dir = repo.path(MIGRATIONS);
    let entries = std::fs::read_dir(&dir).map_err(|source| OpsError::Read {
        path: repo.show(&dir),
        source,
    })?;
    let mut files: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(OpsError::Migration {
            file: MIGRATIONS.into(),
            detail: "no .sql files".into(),
        });
    }
    Ok(files)
}

/// User tables in creation order.
fn tables(db: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")?;
    let names = stmt.query_map([], |row| row.get::<_, String>(0))?;
    names.collect()
}

/// A migration error.
fn failure(file: &str, error: &rusqlite::Error) -> OpsError {
    OpsError::Migration {
        file: file.to_string(),
        detail: error.to_string(),
    }
}
