//! The ops tool's error type: every failure that stops a command before it writes anything.

/// Why a command could not run; no variant ever carries a secret value.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file, as shown to the user.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file, as shown to the user.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The dashboard answers file is not JSON.
    #[error("{path} is not valid JSON ({detail}); nothing was written")]
    DashboardJson {
        /// The file, as shown to the user.
        path: String,
        /// Where parsing stopped.
        detail: String,
    },
    /// The dashboard answers file is JSON but not in the documented format.
    #[error(
        "{path} does not match deploy/dashboard.schema.json at {at}: {detail}; nothing was written"
    )]
    DashboardShape {
        /// The file, as shown to the user.
        path: String,
        /// The key path of the problem.
        at: String,
        /// What is wrong, without the value.
        detail: String,
    },
    /// wrangler.jsonc is not valid JSONC.
    #[error("{path} cannot be parsed as JSONC ({detail}); nothing was written")]
    WranglerParse {
        /// The file, as shown to the user.
        path: String,
        /// Where parsing stopped.
        detail: String,
    },
    /// wrangler.jsonc lacks a section the tool needs.
    #[error("{path} has no {what}")]
    WranglerShape {
        /// The file, as shown to the user.
        path: String,
        /// The missing section.
        what: String,
    },
    /// openapi.yaml cannot be read as the tool expects.
    #[error("{path}: {detail}")]
    Spec {
        /// The file, as shown to the user.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// package.json cannot be read as the tool expects.
    #[error("{path} {detail}")]
    Package {
        /// The file, as shown to the user.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A migration failed on an empty database.
    #[error("migration {file} fails on an empty database: {detail}")]
    Migration {
        /// The migration file name.
        file: String,
        /// The SQLite error.
        detail: String,
    },
    /// The deployment manifest cannot be rendered.
    #[error("cannot render the manifest: {0}")]
    Render(#[from] serde_json::Error),
    /// `NYRA_LICENSE_SIGNING_SECRET` is not in the environment.
    #[error("NYRA_LICENSE_SIGNING_SECRET is not set in the environment")]
    MissingSigningSecret,
    /// The signing secret cannot derive keys.
    #[error(transparent)]
    Key(#[from] nyra_domain::license::KeyError),
}
