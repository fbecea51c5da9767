use std::net::IpAddr;

use ferrolb_api::load::{LoadReport, Resources};

use super::*;

const METALLB: &str = r#"
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lan, namespace: metallb-system}
spec:
  addresses: [192.0.2.240-192.0.2.250]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: lan, namespace: metallb-system}
spec:
  ipAddressPools: [lan]
"#;

const NODES: &str = r#"
apiVersion: v1
kind: Node
metadata:
  name: n2
  labels: {rack: b}
status:
  addresses:
  - {type: Hostname, address: n2}
  - {type: InternalIP, address: 198.51.100.12}
  - {type: InternalIP, address: "2001:db8::12"}
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {rack: a}}
status:
  addresses: [{type: InternalIP, address: 198.51.100.11}]
  conditions:
  - {type: NetworkUnavailable, status: "True"}
  - {type: Ready, status: "True"}
---
apiVersion: v1
kind: Node
metadata: {name: n3}
status:
  addresses: [{type: ExternalIP, address: 203.0.113.3}]
  conditions: [{type: NetworkUnavailable, status: "False"}]
"#;

const SERVICES: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: held, namespace: default}
spec:
  type: LoadBalancer
  ports: [{port: 53, protocol: UDP}]
status:
  loadBalancer:
    ingress: [{ip: 192.0.2.240}]
---
apiVersion: v1
kind: Service
metadata: {name: internal, namespace: default}
spec:
  type: ClusterIP
  ports: [{port: 80}]
"#;

fn resources(docs: &[&str]) -> Resources {
    let mut res = Resources::default();
    let mut report = LoadReport::default();
    for (i, d) in docs.iter().enumerate() {
        res.load_str(&format!("doc{i}.yaml"), d, &mut report)
            .unwrap_or_else(|e| panic!("doc{i}: {e}"));
    }
    res
}

fn view(docs: &[&str], node: &str) -> View {
    View::build(&resources(docs), node).unwrap_or_else(|e| panic!("{e}"))
}

fn build_err(docs: &[&str], node: &str) -> StandaloneError {
    View::build(&resources(docs), node).expect_err("the view should be refused")
}

fn ingress(v: &View, name: &str) -> Vec<String> {
    v.services
        .iter()
        .find(|s| s.service.name == name)
        .unwrap()
        .service
        .ingress_ips
        .clone()
}

#[test]
fn services_without_status_get_the_controllers_address_and_held_ones_keep_theirs() {
    let v = view(&[METALLB, NODES, SERVICES], "n1");
    // `held` already owns .240 (re-learned first), so `web` gets the next one.
    assert_eq!(ingress(&v, "held"), ["192.0.2.240"]);
    assert_eq!(ingress(&v, "web"), ["192.0.2.241"]);
    assert!(ingress(&v, "internal").is_empty());
    // Every node computes the same addresses.
    let v2 = view(&[METALLB, NODES, SERVICES], "n2");
    assert_eq!(v.services, v2.services);
}

#[test]
fn nodes_carry_labels_and_network_unavailable() {
    let v = view(&[METALLB, NODES, SERVICES], "n2");
    assert_eq!(v.nodes.keys().collect::<Vec<_>>(), ["n1", "n2", "n3"]);
    assert!(v.nodes["n1"].network_unavailable);
    assert!(!v.nodes["n2"].network_unavailable);
    assert!(!v.nodes["n3"].network_unavailable);
    assert_eq!(
        v.nodes["n2"].labels.get("rack").map(String::as_str),
        Some("b")
    );
    assert_eq!(v.nodes["n1"].up_interfaces, None);
}

#[test]
fn membership_binds_to_the_first_internal_ip_and_seeds_are_the_others() {
    let v = view(&[METALLB, NODES, SERVICES], "n2");
    assert_eq!(v.membership_addr, "198.51.100.12:7946".parse().unwrap());
    assert_eq!(v.seeds, vec!["198.51.100.11:7946".parse().unwrap()]);
    // n3 has only an ExternalIP: it cannot be a seed, and says so.
    assert!(
        v.warnings.iter().any(|w| w.starts_with("Node/n3:")),
        "{:?}",
        v.warnings
    );
    let err = build_err(&[METALLB, NODES], "n3");
    assert!(matches!(err, StandaloneError::NoInternalIp(ref n) if n == "n3"));
    assert!(
        err.to_string().contains("Node/n3: status.addresses"),
        "{err}"
    );
}

#[test]
fn without_endpoint_slices_every_node_serves_every_service() {
    let v = view(&[METALLB, NODES, SERVICES], "n1");
    for s in &v.services {
        let nodes: Vec<_> = s.endpoints.iter().filter_map(|e| e.node.clone()).collect();
        assert_eq!(nodes, ["n1", "n2", "n3"], "{}", s.service.name);
        assert!(s.endpoints.iter().all(|e| e.can_serve()));
    }
}

const SLICES: &str = r#"
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: default
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints:
- addresses: [10.244.1.5]
  nodeName: n2
  conditions: {ready: false, serving: true, terminating: true}
- addresses: [10.244.2.5]
  nodeName: n3
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: stray
  namespace: default
addressType: IPv4
endpoints: []
"#;

#[test]
fn endpoint_slices_give_endpoints_and_services_without_one_have_none() {
    let v = view(&[METALLB, NODES, SERVICES, SLICES], "n1");
    let web = v.services.iter().find(|s| s.service.name == "web").unwrap();
    assert_eq!(web.endpoints.len(), 2);
    let e0 = &web.endpoints[0];
    assert_eq!(e0.node.as_deref(), Some("n2"));
    assert_eq!((e0.ready, e0.serving), (Some(false), Some(true)));
    assert!(e0.can_serve());
    assert_eq!(e0.addresses, vec!["10.244.1.5".parse::<IpAddr>().unwrap()]);
    assert_eq!(
        (web.endpoints[1].ready, web.endpoints[1].serving),
        (None, None)
    );
    let held = v
        .services
        .iter()
        .find(|s| s.service.name == "held")
        .unwrap();
    assert!(held.endpoints.is_empty());
    let w = v.warnings.join("\n");
    assert!(w.contains("Service/default/held: no EndpointSlice"), "{w}");
    assert!(
        w.contains("EndpointSlice/default/stray: metadata.labels"),
        "{w}"
    );
}

#[test]
fn a_bad_endpoint_address_names_the_slice_and_field() {
    let bad = SLICES.replace("10.244.2.5", "10.244.2.500");
    let err = build_err(&[METALLB, NODES, SERVICES, &bad], "n1");
    assert_eq!(
        err.to_string(),
        "EndpointSlice/default/web-abc: endpoints[1].addresses[0]: \"10.244.2.500\" is not an IP address"
    );
}

#[test]
fn errors_name_the_node_object_and_field() {
    let err = build_err(&[METALLB, NODES], "n9");
    assert_eq!(
        err.to_string(),
        "Node/n9: not among the Nodes in the files (they are: n1, n2, n3)"
    );
    let err = build_err(&[METALLB], "n1");
    assert!(matches!(err, StandaloneError::NoNodes), "{err}");
    let bad = NODES.replace("198.51.100.11", "198.51.100.x");
    let err = build_err(&[METALLB, &bad], "n2");
    assert_eq!(
        err.to_string(),
        "Node/n1: status.addresses[0].address: \"198.51.100.x\" is not an IP address"
    );
    let dup = format!(
        "{NODES}\n---\n{}",
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"
    );
    let err = build_err(&[METALLB, &dup], "n2");
    assert_eq!(err.to_string(), "Node/n1: metadata.name: defined twice");
}

#[test]
fn an_invalid_configuration_lists_each_object_and_field() {
    let bad = METALLB.replace("192.0.2.240-192.0.2.250", "192.0.2.250-192.0.2.240");
    let err = build_err(&[&bad, NODES], "n1");
    let text = err.to_string();
    assert!(matches!(err, StandaloneError::Config(_)));
    assert!(
        text.contains("IPAddressPool/lan: spec.addresses[0]"),
        "{text}"
    );
}

#[test]
fn an_exhausted_pool_is_a_warning_naming_the_service() {
    let tiny = METALLB.replace("192.0.2.240-192.0.2.250", "192.0.2.240/32");
    let v = view(&[&tiny, NODES, SERVICES], "n1");
    assert!(ingress(&v, "web").is_empty());
    assert!(
        v.warnings
            .iter()
            .any(|w| w.starts_with("Service/default/web: no address")),
        "{:?}",
        v.warnings
    );
}

#[test]
fn load_reads_files_and_directories_in_name_order_and_names_missing_paths() {
    let dir = std::env::temp_dir().join(format!("ferrolb-standalone-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("cfg")).unwrap();
    std::fs::write(dir.join("cfg/b-nodes.yaml"), NODES).unwrap();
    std::fs::write(dir.join("cfg/a-metallb.yml"), METALLB).unwrap();
    std::fs::write(dir.join("cfg/notes.txt"), "not yaml: [").unwrap();
    std::fs::write(dir.join("services.yaml"), SERVICES).unwrap();
    let (res, _) = load(&[dir.join("cfg"), dir.join("services.yaml")]).unwrap();
    assert_eq!(res.ip_address_pools.len(), 1);
    assert_eq!(res.nodes.len(), 3);
    assert_eq!(res.services.len(), 3);
    let missing = dir.join("nope.yaml");
    let err = load(std::slice::from_ref(&missing)).unwrap_err();
    assert!(
        err.to_string().starts_with(&missing.display().to_string()),
        "{err}"
    );
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let err = load(&[dir.join("empty")]).unwrap_err();
    assert!(
        matches!(err, StandaloneError::EmptyDirectory { .. }),
        "{err}"
    );
    assert!(matches!(load(&[]).unwrap_err(), StandaloneError::NoFiles));
    std::fs::remove_dir_all(&dir).unwrap();
}
