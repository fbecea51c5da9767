//! The command line, run as a user runs it: exit codes, stderr lines, JSON shape.

use std::io::Write;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferrolb-controller"))
}

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrolb-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    p
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

const GOOD: &str = "\
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: first-pool
  namespace: metallb-system
spec:
  addresses: [192.0.2.10-192.0.2.99]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  ports: [{port: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: unrelated
";

#[test]
fn validate_accepts_a_good_file() {
    let f = write("good.yaml", GOOD);
    let out = run(&["validate", "-f", f.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn validate_prints_one_error_per_line_and_exits_1() {
    let f = write(
        "bad.yaml",
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: p\nspec:\n  addresses: [nope, 10.0.0.0/33]\n",
    );
    let out = run(&["validate", "-f", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "IPAddressPool/p: spec.addresses[0]: invalid CIDR \"nope\"",
            "IPAddressPool/p: spec.addresses[1]: invalid CIDR \"10.0.0.0/33\"",
        ]
    );
}

#[test]
fn malformed_yaml_reports_file_line_and_column() {
    let f = write(
        "broken.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: [x\n",
    );
    let out = run(&["validate", "-f", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("broken.yaml:") && err.contains("YAML syntax error"),
        "{err}"
    );
}

#[test]
fn unknown_field_names_the_object_and_field() {
    let f = write(
        "typo.yaml",
        "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: l2\nspec:\n  ipAddressPool: [a]\n",
    );
    let out = run(&["validate", "-f", f.to_str().unwrap()]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("L2Advertisement/l2: spec.ipAddressPool: unknown field"),
        "{err}"
    );
}

#[test]
fn plan_json_has_the_documented_shape() {
    let f = write("plan.yaml", GOOD);
    let out = run(&["plan", "-f", f.to_str().unwrap(), "-o", "json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "services": [{
                "namespace": "default",
                "name": "web",
                "ips": ["192.0.2.10"],
                "pool": "first-pool",
                "events": [{"type": "Normal", "reason": "IPAllocated", "message": "Assigned IP [\"192.0.2.10\"]"}]
            }],
            "pools": [{"name": "first-pool", "assignedIPv4": 1, "assignedIPv6": 0, "availableIPv4": 89, "availableIPv6": 0}]
        })
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("skipping ConfigMap/unrelated"), "{err}");
}

#[test]
fn plan_of_an_invalid_configuration_exits_1_with_the_validate_errors() {
    let f = write(
        "overlap.yaml",
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: a\nspec:\n  addresses: [10.0.0.0/24]\n---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: b\nspec:\n  addresses: [10.0.0.0/25]\n",
    );
    let out = run(&["plan", "-f", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("IPAddressPool/b: spec.addresses[0]: \"10.0.0.0/25\" overlaps"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn plan_reads_several_files_in_order_and_honours_lb_class() {
    let cfg = write(
        "cfg.yaml",
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: p\nspec:\n  addresses: [10.0.0.0/30]\n",
    );
    let svcs = write(
        "svcs.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  type: LoadBalancer\n  loadBalancerClass: gold\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\nspec:\n  type: LoadBalancer\n",
    );
    let out = run(&[
        "plan",
        "-f",
        cfg.to_str().unwrap(),
        "-f",
        svcs.to_str().unwrap(),
        "--lb-class",
        "gold",
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["services"].as_array().unwrap().len(), 1);
    assert_eq!(v["services"][0]["name"], "a");
    let table = run(&[
        "plan",
        "-f",
        cfg.to_str().unwrap(),
        "-f",
        svcs.to_str().unwrap(),
    ]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.starts_with("SERVICE"), "{text}");
    assert!(text.contains("default/b  10.0.0.0"), "{text}");
}
