//! Every configuration from `../shared/fixtures/seeds/` (taken from real MetalLB
//! guides) loads and validates as its header says: `# expect: accept`, or
//! `# expect: reject: <why>` with an error on the field the reason is about.

use std::path::PathBuf;

use ferrolb_api::config::Options;
use ferrolb_api::load::LoadReport;
use ferrolb_api::{Config, Resources};

fn seeds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/seeds")
}

/// Loads and validates one file; `Err` carries every message.
fn check(path: &std::path::Path) -> Result<(), Vec<String>> {
    let mut res = Resources::default();
    let mut report = LoadReport::default();
    res.load_file(path, &mut report)
        .map_err(|e| vec![e.to_string()])?;
    Config::from_resources(&res, &Options::default())
        .map(|_| ())
        .map_err(|e| e.iter().map(ToString::to_string).collect())
}

/// The field each rejected seed must be refused on.
fn expected_field(file: &str) -> &'static str {
    match file {
        "000-bgp-opaque-secret.yaml" => "spec.passwordSecret.name",
        "000-bgp-secret-key.yaml" => "spec.passwordSecret.key",
        "000-guide-all-pools.yaml" => "spec.addresses[",
        "001-bgp-peer-both-passwords.yaml" => "spec.passwordSecret",
        other => panic!("no expectation recorded for rejected seed {other}; add one"),
    }
}

#[test]
fn every_seed_is_accepted_or_rejected_as_its_header_says() {
    let dir = seeds_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the seeds live in ../shared beside the repository)",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the seed corpus, found {} files",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let header = text.lines().next().unwrap_or_default();
        let result = check(path);
        if header.starts_with("# expect: accept") {
            if let Err(errs) = result {
                failures.push(format!(
                    "{file}: expected accept, got:\n  {}",
                    errs.join("\n  ")
                ));
            }
        } else if header.starts_with("# expect: reject") {
            match result {
                Ok(()) => failures.push(format!(
                    "{file}: expected reject ({header}), but it was accepted"
                )),
                Err(errs) => {
                    let field = expected_field(&file);
                    if !errs.iter().any(|e| e.contains(field)) {
                        failures.push(format!(
                            "{file}: rejected, but not on {field}:\n  {}",
                            errs.join("\n  ")
                        ));
                    }
                }
            }
        } else {
            failures.push(format!("{file}: no expect header"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
