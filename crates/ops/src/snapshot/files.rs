//! The file views: deploy/manifest.json, env.production of wrangler.jsonc and the D1 migrations.

use serde::Serialize;
use serde_json::Value;

use crate::check::CheckLine;
use crate::repo::{MANIFEST, MIGRATIONS, Repo, WRANGLER};
use crate::snapshot::highlight::PLACEHOLDER_PREFIX;
use crate::wrangler;

/// One file as shown on the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileView {
    /// Path relative to the root.
    pub path: String,
    /// The text shown, or `None` when it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Why it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The deployment manifest and whether it is what the generator produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestView {
    /// The committed file.
    pub file: FileView,
    /// The `manifest-generated` check passed.
    pub up_to_date: bool,
    /// Why it is stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_reason: Option<String>,
}

/// A placeholder value still in the production config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placeholder {
    /// Dotted path in wrangler.jsonc.
    pub at: String,
    /// The placeholder text.
    pub value: String,
}

/// `env.production` of wrangler.jsonc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WranglerView {
    /// `env.production` as pretty JSON (comments are not kept).
    pub production: FileView,
    /// Placeholder ids still in it.
    pub placeholders: Vec<Placeholder>,
}

/// A text file below the root.
fn view(repo: &Repo, relative: &str) -> FileView {
    match repo.read(&repo.path(relative)) {
        Ok(text) => FileView {
            path: relative.to_string(),
            text: Some(text),
            error: None,
        },
        Err(e) => FileView {
            path: relative.to_string(),
            text: None,
            error: Some(e.to_string()),
        },
    }
}

/// The manifest file and the check that compares it with the generator.
pub fn manifest(repo: &Repo, checks: &[CheckLine]) -> ManifestView {
    let stale_reason = checks
        .iter()
        .find(|c| c.id == "manifest-generated")
        .and_then(|c| c.failure.clone());
    ManifestView {
        file: view(repo, MANIFEST),
        up_to_date: stale_reason.is_none(),
        stale_reason,
    }
}

/// `env.production` of wrangler.jsonc, with its placeholders.
pub fn wrangler_production(repo: &Repo) -> WranglerView {
    let path = repo.path(WRANGLER);
    let parsed = repo
        .read(&path)
        .and_then(|t| wrangler::parse_value(&t, &repo.show(&path)));
    let production = parsed.map(|c| c.pointer("/env/production").cloned());
    let shown = format!("{WRANGLER} (env.production)");
    match production {
        Ok(Some(value)) => WranglerView {
            placeholders: placeholders(&value, "env.production"),
            production: FileView {
                path: shown,
                text: serde_json::to_string_pretty(&value).ok(),
                error: None,
            },
        },
        Ok(None) => unreadable(shown, "env.production is missing".into()),
        Err(e) => unreadable(shown, e.to_string()),
    }
}

/// A wrangler view without text.
fn unreadable(path: String, error: String) -> WranglerView {
    WranglerView {
        production: FileView {
            path,
            text: None,
            error: Some(error),
        },
        placeholders: Vec::new(),
    }
}

/// Every string starting with `replace-with-` below `value`, with its dotted path.
fn placeholders(value: &Value, at: &str) -> Vec<Placeholder> {
    match value {
        Value::String(s) if s.starts_with(PLACEHOLDER_PREFIX) => vec![Placeholder {
            at: at.to_string(),
            value: s.clone(),
        }],
        Value::Array(items) => items
            .iter()
            .enumerate()
            .flat_map(|(i, v)| placeholders(v, &format!("{at}[{i}]")))
            .collect(),
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| placeholders(v, &format!("{at}.{k}")))
            .collect(),
        _ => Vec::new(),
    }
}

/// Every `migrations/*.sql`, by name.
pub fn migrations(repo: &Repo) -> Vec<FileView> {
    let Ok(entries) = std::fs::read_dir(repo.path(MIGRATIONS)) else {
        return vec![view(repo, MIGRATIONS)];
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| view(repo, &format!("{MIGRATIONS}/{n}")))
        .collect()
}
