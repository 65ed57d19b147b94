//! Where the repo's files live, given its root (`--root`, or found from the current directory).

use std::path::{Path, PathBuf};

use crate::OpsError;

/// The Wrangler config, relative to the root.
pub const WRANGLER: &str = "wrangler.jsonc";
/// The API spec, relative to the root.
pub const SPEC: &str = "openapi.yaml";
/// The D1 migrations directory, relative to the root.
pub const MIGRATIONS: &str = "migrations";
/// The generated deployment manifest, relative to the root.
pub const MANIFEST: &str = "deploy/manifest.json";
/// The generated JSON Schema of the dashboard answers file, relative to the root.
pub const DASHBOARD_SCHEMA: &str = "deploy/dashboard.schema.json";
/// The npm package file whose scripts the manifest's `checks` name, relative to the root.
pub const PACKAGE: &str = "package.json";
/// The default dashboard answers file (git-ignored), relative to the root.
pub const DASHBOARD: &str = "deploy/dashboard.json";

/// A checkout of the repo (the real one or a temp copy in tests).
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
}

impl Repo {
    /// The repo rooted at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Repo {
        Repo { root: root.into() }
    }

    /// The nearest ancestor of the current directory holding wrangler.jsonc and openapi.yaml,
    /// else the workspace this tool was built from.
    pub fn discover() -> Repo {
        let cwd = std::env::current_dir().unwrap_or_default();
        let found = cwd
            .ancestors()
            .find(|dir| dir.join(WRANGLER).is_file() && dir.join(SPEC).is_file())
            .map(Path::to_path_buf);
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        Repo::at(found.unwrap_or(built_from))
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path below the root.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// How a path is shown: relative to the root when below it.
    pub fn show(&self, path: &Path) -> String {
        let shown = path.strip_prefix(&self.root).unwrap_or(path);
        shown.display().to_string()
    }

    /// Reads a text file below (or given relative to) the root.
    pub fn read(&self, path: &Path) -> Result<String, OpsError> {
        std::fs::read_to_string(path).map_err(|source| OpsError::Read {
            path: self.show(path),
            source,
        })
    }

    /// Writes a file through a temp file and a rename, so a reader never sees half of it.
    pub fn write(&self, path: &Path, text: &str) -> Result<(), OpsError> {
        let error = |source| OpsError::Write {
            path: self.show(path),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(error)?;
        }
        let mut temp = path.as_os_str().to_owned();
        temp.push(".nyra-ops-tmp");
        let temp = PathBuf::from(temp);
        std::fs::write(&temp, text).map_err(error)?;
        std::fs::rename(&temp, path).map_err(error)
    }
}
