//! Bad scenario files get errors that name the file, the path in the document and the
//! reason — never a panic.

use ferrolb_sim::scenario::{self, ScenarioError};

const GOOD: &str = r#"
seed: 1
duration: 10s
topology:
  switches: [{ name: sw1 }]
  hosts:
    - { name: client, addresses: [198.51.100.100/24] }
    - { name: n1, addresses: [198.51.100.11/24] }
  links:
    - { a: client, b: sw1 }
    - { a: n1, b: sw1 }
traffic:
  flows:
    - { name: f, from: client, to: 198.51.100.200, rate: 10 }
timeline:
  - at: 1s
    own: { host: n1, address: 198.51.100.200 }
"#;

fn error_of(text: &str) -> String {
    match scenario::parse("bad.yaml", text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn assert_mentions(err: &str, parts: &[&str]) {
    for p in parts {
        assert!(err.contains(p), "error does not mention `{p}`:\n{err}");
    }
}

#[test]
fn the_reference_document_is_valid() {
    let plan = scenario::parse("good.yaml", GOOD).unwrap();
    assert_eq!(plan.name, "good");
    assert_eq!(plan.hosts.len(), 2);
}

#[test]
fn unknown_key_is_named_with_its_path() {
    let err = error_of(&GOOD.replace("{ a: n1, b: sw1 }", "{ a: n1, b: sw1, latncy: 1ms }"));
    assert_mentions(
        &err,
        &[
            "bad.yaml",
            "topology.links[1].latncy",
            "unknown field `latncy`",
        ],
    );
}

#[test]
fn dangling_link_reference_is_named_with_its_path() {
    let err = error_of(&GOOD.replace("{ a: n1, b: sw1 }", "{ a: n1, b: sw9 }"));
    assert_mentions(
        &err,
        &[
            "bad.yaml",
            "topology.links[1].b",
            "dangling reference",
            "sw9",
        ],
    );
}

#[test]
fn address_outside_its_subnet_is_rejected() {
    let err = error_of(&GOOD.replace("address: 198.51.100.200", "address: 203.0.113.5"));
    assert_mentions(
        &err,
        &[
            "timeline[0].own.address",
            "address outside its subnet",
            "n1",
        ],
    );
}

#[test]
fn time_in_the_past_is_rejected() {
    let text = format!("{GOOD}  - at: 0.5s\n    crash: n1\n");
    let err = error_of(&text);
    assert_mentions(&err, &["timeline[1].at", "out of order", "in the past"]);
}

#[test]
fn time_after_the_end_is_rejected() {
    let text = format!("{GOOD}  - at: 11s\n    crash: n1\n");
    assert_mentions(
        &error_of(&text),
        &["timeline[1].at", "after the end of the run"],
    );
}

#[test]
fn duplicate_names_are_rejected() {
    let err = error_of(&GOOD.replace("name: n1,", "name: client,"));
    assert_mentions(&err, &["topology.hosts[1].name", "duplicate name `client`"]);
}

#[test]
fn reserved_keys_are_rejected_as_not_implemented_yet() {
    let err = error_of(&format!("{GOOD}routers:\n  path: x.yaml\n"));
    assert_mentions(&err, &["routers", "not implemented yet"]);
}

#[test]
fn cluster_keys_are_checked() {
    // MetalLB YAML without nodes to run it.
    let err = error_of(&format!(
        "{GOOD}metallb: |\n  apiVersion: v1\n  kind: Namespace\n  metadata: {{name: x}}\n"
    ));
    assert_mentions(&err, &["metallb", "needs `nodes`"]);
    // A node on a host that does not exist, and an invalid configuration.
    let err = error_of(&format!(
        "{GOOD}nodes:\n  - {{ name: ghost }}\nmetallb: |\n  apiVersion: metallb.io/v1beta1\n  kind: IPAddressPool\n  metadata: {{name: p}}\n  spec:\n    addresses: [nope]\n"
    ));
    assert_mentions(&err, &["IPAddressPool/p: spec.addresses[0]: invalid CIDR"]);
    let err = error_of(&format!(
        "{GOOD}nodes:\n  - {{ name: ghost, endpoints: [default/none] }}\nmetallb: |\n  apiVersion: metallb.io/v1beta1\n  kind: IPAddressPool\n  metadata: {{name: p}}\n  spec:\n    addresses: [198.51.100.200/32]\n"
    ));
    assert_mentions(&err, &["nodes[0].host", "no host `ghost`"]);
    // An unknown field inside the MetalLB YAML is refused with its object and field.
    let err = error_of(&format!(
        "{GOOD}nodes:\n  - {{ name: n1 }}\nmetallb: |\n  apiVersion: metallb.io/v1beta1\n  kind: L2Advertisement\n  metadata: {{name: l2}}\n  spec:\n    interface: [eth0]\n"
    ));
    assert_mentions(&err, &["L2Advertisement/l2: spec.interface: unknown field"]);
    // A membership address the node's host does not have, and one that is no address.
    let pool = "metallb: |\n  apiVersion: metallb.io/v1beta1\n  kind: IPAddressPool\n  metadata: {name: p}\n  spec:\n    addresses: [198.51.100.200/32]\n";
    let err = error_of(&format!(
        "{GOOD}nodes:\n  - {{ name: n1, internal_ip: 10.0.0.1 }}\n{pool}"
    ));
    assert_mentions(
        &err,
        &[
            "nodes[0].internal_ip",
            "10.0.0.1 is not an address of host `n1`",
        ],
    );
    let err = error_of(&format!(
        "{GOOD}nodes:\n  - {{ name: n1, internal_ip: eth0 }}\n{pool}"
    ));
    assert_mentions(
        &err,
        &["nodes[0].internal_ip", "`eth0` is not an IP address"],
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = GOOD
        .replace("{ a: n1, b: sw1 }", "{ a: n1, b: sw9 }")
        .replace(
            "to: 198.51.100.200, rate: 10",
            "to: 198.51.100.200, rate: -1",
        );
    match scenario::parse("bad.yaml", &text) {
        Err(ScenarioError::Invalid { problems, .. }) => {
            let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
            assert!(paths.contains(&"topology.links[1].b"), "{paths:?}");
            assert!(paths.contains(&"traffic.flows[0].rate"), "{paths:?}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn more_bad_inputs_each_get_a_reason_not_a_panic() {
    let cases: &[(&str, &str, &str)] = &[
        ("duration: 10s", "duration: 10 parsecs", "unknown unit"),
        (
            "addresses: [198.51.100.11/24]",
            "addresses: [198.51.100.0/24]",
            "network or broadcast",
        ),
        (
            "addresses: [198.51.100.11/24]",
            "addresses: [198.51.100.100/24]",
            "also configured on host",
        ),
        ("kind: x", "kind: x", ""),
        ("own: { host: n1,", "own: { host: n7,", "no host named `n7`"),
        ("rate: 10", "rate: 0", "not a rate"),
        (
            "{ a: client, b: sw1 }",
            "{ a: client, b: client }",
            "two different ends",
        ),
        ("seed: 1", "seed: one", "invalid type"),
        ("at: 1s", "at: -1", "cannot be negative"),
    ];
    for (from, to, want) in cases {
        if want.is_empty() {
            continue;
        }
        let err = error_of(&GOOD.replace(from, to));
        assert!(err.contains(want), "`{to}`: wanted `{want}` in:\n{err}");
        assert!(err.starts_with("bad.yaml"), "{err}");
    }
}

#[test]
fn syntax_errors_and_missing_files_name_the_file() {
    assert_mentions(
        &error_of("seed: [1, 2\nduration: 3s\n"),
        &["bad.yaml", "not valid YAML"],
    );
    let e = scenario::load(std::path::Path::new("/nonexistent/x.yaml")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/x.yaml"));
}

#[test]
fn a_switching_loop_is_rejected() {
    let text = r#"
seed: 1
duration: 1s
topology:
  switches: [{ name: a }, { name: b }, { name: c }]
  links:
    - { a: a, b: b }
    - { a: b, b: c }
    - { a: c, b: a }
"#;
    assert_mentions(&error_of(text), &["topology.links[2]", "switching loop"]);
}

#[test]
fn an_absurd_probe_count_is_rejected_before_it_eats_the_memory() {
    let text = GOOD
        .replace("duration: 10s", "duration: 30d")
        .replace("rate: 10", "rate: 1000000");
    // `30d` is not a unit; use hours instead.
    let text = text.replace("30d", "700h");
    assert_mentions(&error_of(&text), &["traffic.flows", "probes in all"]);
}

/// Thousands of small corruptions of a valid file: each either parses or gets an
/// error, and whatever parses also runs — nothing panics.
#[test]
fn random_corruptions_never_panic() {
    let mut rng = ferrolb_sim::rng::RngTree::new(99).stream("mutations");
    let lines: Vec<&str> = GOOD.lines().collect();
    let mut parsed = 0;
    for _ in 0..1500 {
        let mut text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(text.len() as u64) as usize;
            match rng.below(5) {
                0 => {
                    text.remove(i);
                }
                1 => {
                    let l = text[i].clone();
                    text.insert(i, l);
                }
                2 => {
                    let l = &mut text[i];
                    if !l.is_empty() {
                        let at = rng.below(l.len() as u64) as usize;
                        if l.is_char_boundary(at) {
                            l.remove(at);
                        }
                    }
                }
                3 => {
                    let junk = [
                        "0",
                        "-1",
                        "1e99",
                        "::",
                        "[]",
                        "{}",
                        "x",
                        "ff:ff:ff:ff:ff:ff",
                        "999999999h",
                        ": :",
                    ];
                    let l = &mut text[i];
                    l.push_str(junk[rng.below(junk.len() as u64) as usize]);
                }
                _ => {
                    let j = rng.below(text.len() as u64) as usize;
                    text.swap(i, j);
                }
            }
        }
        let doc = text.join("\n");
        if let Ok(plan) = scenario::parse("fuzz.yaml", &doc) {
            parsed += 1;
            if plan.duration <= ferrolb_sim::time::Duration::from_secs(20) {
                let _ = ferrolb_sim::run::run(&plan, None, false);
            }
        }
    }
    assert!(parsed > 10, "some mutations stay valid ({parsed})");
}

#[test]
fn clock_settings_are_checked() {
    let bad = GOOD.replace(
        "{ name: n1, addresses: [198.51.100.11/24] }",
        "{ name: n1, addresses: [198.51.100.11/24], clock: { offset: -2 parsecs } }",
    );
    assert_mentions(
        &error_of(&bad),
        &["topology.hosts[1].clock.offset", "unknown unit"],
    );
    let bad = GOOD.replace(
        "{ name: n1, addresses: [198.51.100.11/24] }",
        "{ name: n1, addresses: [198.51.100.11/24], clock: { drift_ppm: 2000000 } }",
    );
    assert_mentions(&error_of(&bad), &["topology.hosts[1].clock.drift_ppm"]);
    let ok = GOOD.replace(
        "{ name: n1, addresses: [198.51.100.11/24] }",
        "{ name: n1, addresses: [198.51.100.11/24], clock: { offset: -1.5s, drift_ppm: 20 } }",
    );
    let plan = scenario::parse("ok.yaml", &ok).unwrap();
    assert_eq!(plan.hosts[1].clock.offset_ns, -1_500_000_000);
}

/// A scenario whose `metallb`/`kubernetes` name files, written in a fresh directory
/// under the target dir; returns the parse result of `scenario.yaml` there.
fn parse_with_files(
    case: &str,
    files: &[(&str, &str)],
    keys: &str,
) -> Result<scenario::Plan, ScenarioError> {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("files-{case}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let text = format!("{GOOD}nodes:\n  - {{ name: n1, endpoints: [default/web] }}\n{keys}");
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).unwrap();
    scenario::load(&path)
}

const POOL: &str = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p, namespace: metallb-system}\nspec:\n  addresses: [198.51.100.200/32]\n";
const L2: &str = "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l2, namespace: metallb-system}\n";
const WEB: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec:\n  type: LoadBalancer\n  ports: [{port: 80}]\n";

#[test]
fn metallb_and_services_load_from_files_and_directories() {
    let plan = parse_with_files(
        "ok",
        &[
            ("cfg/10-pool.yaml", POOL),
            ("cfg/20-l2.yml", L2),
            ("cfg/notes.txt", "not yaml, not loaded"),
            ("svc.yaml", WEB),
        ],
        "metallb:\n  files: [cfg]\nkubernetes:\n  files: [svc.yaml]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // The controller gave web the pool's only address and n1's speaker announces it.
    let (outcome, _) = ferrolb_sim::run::run(&plan, None, false);
    let report = ferrolb_sim::report::render(&outcome, false);
    assert!(
        report.contains("n1: speaker announces 198.51.100.200"),
        "{report}"
    );
}

#[test]
fn file_problems_name_the_key_the_index_and_the_path() {
    let err = parse_with_files("missing", &[], "metallb:\n  files: [nope.yaml]\n")
        .unwrap_err()
        .to_string();
    assert_mentions(&err, &["metallb.files[0]", "nope.yaml"]);

    let err = parse_with_files(
        "empty-dir",
        &[("cfg/readme.txt", "x"), ("pool.yaml", POOL)],
        "metallb:\n  files: [pool.yaml, cfg]\n",
    )
    .unwrap_err()
    .to_string();
    assert_mentions(&err, &["metallb.files[1]", "no .yaml or .yml file"]);

    let err = parse_with_files("none", &[], "metallb:\n  files: []\n")
        .unwrap_err()
        .to_string();
    assert_mentions(&err, &["metallb.files", "names no file"]);

    // A syntax error inside a named file points at that file, line and column.
    let err = parse_with_files(
        "syntax",
        &[
            ("pool.yaml", POOL),
            ("svc.yaml", "apiVersion: v1\nkind: [\n"),
        ],
        "metallb:\n  files: [pool.yaml]\nkubernetes:\n  files: [svc.yaml]\n",
    )
    .unwrap_err()
    .to_string();
    assert_mentions(&err, &["kubernetes.files[0]", "svc.yaml:"]);

    // A validation error in a file is reported with the object and field.
    let err = parse_with_files(
        "invalid",
        &[("pool.yaml", &POOL.replace("198.51.100.200/32", "nope"))],
        "metallb:\n  files: [pool.yaml]\n",
    )
    .unwrap_err()
    .to_string();
    assert_mentions(&err, &["IPAddressPool/p", "spec.addresses"]);
}
