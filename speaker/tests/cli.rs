//! `ferrolb-speaker standalone` refuses bad input with a clear message and exit 1,
//! before it opens any socket (so these run unprivileged and send nothing).

use std::fs;
use std::path::PathBuf;
use std::process::Command;

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("ferrolb-cli-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        Self(d)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const CONFIG: &str = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p, namespace: metallb-system}\nspec: {addresses: [192.0.2.0/28]}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {addresses: [{type: InternalIP, address: 192.0.2.1}]}\n";

/// Runs the speaker; its exit code and stderr.
fn speaker(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrolb-speaker"))
        .arg("standalone")
        .args(args)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_missing_file_an_unknown_node_and_a_bad_key_are_named() {
    let d = Dir::new("errors");
    let cfg = d.file("cluster.yaml", CONFIG);
    let key = d.file("key", "0123456789abcdef0123\n");
    let short = d.file("short", "abc\n");
    let missing = d.0.join("nope.yaml").to_str().unwrap().to_owned();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--node", "n1", "-f", &missing, "--key-file", &key],
            "nope.yaml: No such file or directory",
        ),
        (
            &["--node", "n9", "-f", &cfg, "--key-file", &key],
            "Node/n9: not among the Nodes in the files (they are: n1)",
        ),
        (
            &["--node", "n1", "-f", &cfg, "--key-file", &short],
            "the key is 3 bytes; at least 16 are needed",
        ),
        (
            &["--node", "n1", "-f", &cfg, "--key-file", &missing],
            "--key-file",
        ),
        (
            &[
                "--node",
                "n1",
                "-f",
                &cfg,
                "--key-file",
                &key,
                "--exclude-interface",
                "^eth(",
            ],
            "interface exclude pattern \"^eth(\"",
        ),
    ];
    for (args, want) in cases {
        let (code, err) = speaker(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: want {want:?} in {err}");
        // No backtrace, and each cause once (the regex parser's own message shows the
        // pattern with a caret on extra lines).
        assert!(!err.contains("backtrace"), "{err}");
        assert_eq!(err.matches(want).count(), 1, "{err}");
        assert!(!err.contains("\x1b["), "no colour codes into a pipe: {err}");
    }
}

#[test]
fn an_invalid_configuration_lists_object_field_and_reason() {
    let d = Dir::new("config");
    let cfg = d.file(
        "cluster.yaml",
        &CONFIG.replace("192.0.2.0/28", "192.0.2.300/28"),
    );
    let key = d.file("key", "0123456789abcdef0123\n");
    let (code, err) = speaker(&["--node", "n1", "-f", &cfg, "--key-file", &key]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("IPAddressPool/p: spec.addresses[0]"), "{err}");
}

#[test]
fn a_bad_metrics_address_is_refused_by_the_parser() {
    let (code, err) = speaker(&[
        "--node",
        "n1",
        "-f",
        "x.yaml",
        "--key-file",
        "k",
        "--metrics-addr",
        "7472",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not an address:port"), "{err}");
}
