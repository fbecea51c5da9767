//! Scenario files: parse (YAML, unknown keys rejected), check and resolve into a
//! [`Plan`], build a [`World`](crate::world::World) from it.

mod build;
mod checks;
mod cluster;
pub mod plan;
pub mod spec;
mod timeline;

use std::path::Path;

use thiserror::Error;

pub use build::build;
pub use plan::{Plan, Problem};

/// Why a scenario file cannot be run. Every variant names the file.
#[derive(Debug, Error)]
pub enum ScenarioError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not valid YAML: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}: {path}: {message}")]
    Schema {
        file: String,
        path: String,
        message: String,
    },
    #[error("{file}: {} problem(s):\n{}", problems.len(), problems.iter().map(|p| format!("  {}: {}", p.path, p.message)).collect::<Vec<_>>().join("\n"))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
}

/// Parses and checks scenario text. `file` names it in errors, gives the default
/// scenario name (its stem) and the directory that `files:` paths are relative to.
pub fn parse(file: &str, text: &str) -> Result<Plan, ScenarioError> {
    let mut opts = serde_saphyr::Options::default();
    opts.strict_booleans = true;
    let value: serde_json::Value =
        serde_saphyr::from_str_with_options(text, opts).map_err(|e| ScenarioError::Syntax {
            file: file.to_string(),
            message: e.to_string(),
        })?;
    let parsed: spec::ScenarioFile = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ScenarioError::Schema {
            file: file.to_string(),
            path: if path == "." {
                "(top level)".to_string()
            } else {
                path
            },
            message: e.into_inner().to_string(),
        }
    })?;
    let stem = Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(file);
    let base = Path::new(file).parent().unwrap_or_else(|| Path::new(""));
    plan::plan(&parsed, stem, base).map_err(|problems| ScenarioError::Invalid {
        file: file.to_string(),
        problems,
    })
}

/// Reads and parses a scenario file.
pub fn load(path: &Path) -> Result<Plan, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        file: file.clone(),
        source,
    })?;
    parse(&file, &text)
}
