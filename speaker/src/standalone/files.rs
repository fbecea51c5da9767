//! `-f FILE`: files and directories, as `kubectl apply -f` takes them.

use std::path::{Path, PathBuf};

use ferrolb_api::load::{LoadReport, Resources};

use super::StandaloneError;

/// Loads every file, a directory meaning its `.yaml`, `.yml` and `.json` files in name
/// order (not recursive). Kinds ferrolb does not read are skipped, as the loader does.
pub fn load(paths: &[PathBuf]) -> Result<(Resources, LoadReport), StandaloneError> {
    if paths.is_empty() {
        return Err(StandaloneError::NoFiles);
    }
    let mut res = Resources::default();
    let mut report = LoadReport::default();
    for p in paths {
        for f in expand(p)? {
            res.load_file(&f, &mut report)?;
        }
    }
    Ok((res, report))
}

fn expand(p: &Path) -> Result<Vec<PathBuf>, StandaloneError> {
    let err = |source| StandaloneError::Path {
        path: p.display().to_string(),
        source,
    };
    if !p.metadata().map_err(err)?.is_dir() {
        return Ok(vec![p.to_path_buf()]);
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(p).map_err(err)? {
        let path = entry.map_err(err)?.path();
        let yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        if yaml && path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(StandaloneError::EmptyDirectory {
            path: p.display().to_string(),
        });
    }
    Ok(out)
}
