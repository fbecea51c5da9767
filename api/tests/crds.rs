//! The custom resource definitions derived from the Rust types carry MetalLB's names,
//! versions, scopes and field names (full schema compatibility is checked when the
//! CRDs are shipped).

use ferrolb_api::{v1beta1, v1beta2};
use kube::CustomResourceExt;

fn crd_json<T: CustomResourceExt>() -> serde_json::Value {
    serde_json::to_value(T::crd()).unwrap()
}

#[test]
fn every_kind_has_metallbs_crd_name_and_scope() {
    let expect = [
        (
            crd_json::<v1beta1::IPAddressPool>(),
            "ipaddresspools.metallb.io",
            "v1beta1",
        ),
        (
            crd_json::<v1beta1::L2Advertisement>(),
            "l2advertisements.metallb.io",
            "v1beta1",
        ),
        (
            crd_json::<v1beta1::BGPAdvertisement>(),
            "bgpadvertisements.metallb.io",
            "v1beta1",
        ),
        (
            crd_json::<v1beta1::BGPPeer>(),
            "bgppeers.metallb.io",
            "v1beta1",
        ),
        (
            crd_json::<v1beta2::BGPPeer>(),
            "bgppeers.metallb.io",
            "v1beta2",
        ),
        (
            crd_json::<v1beta1::BFDProfile>(),
            "bfdprofiles.metallb.io",
            "v1beta1",
        ),
        (
            crd_json::<v1beta1::Community>(),
            "communities.metallb.io",
            "v1beta1",
        ),
        (
            crd_json::<v1beta1::ServiceL2Status>(),
            "servicel2statuses.metallb.io",
            "v1beta1",
        ),
        (
            crd_json::<v1beta1::ServiceBGPStatus>(),
            "servicebgpstatuses.metallb.io",
            "v1beta1",
        ),
        (
            crd_json::<v1beta1::ConfigurationState>(),
            "configurationstates.metallb.io",
            "v1beta1",
        ),
    ];
    for (crd, name, version) in expect {
        assert_eq!(crd["metadata"]["name"], name);
        assert_eq!(crd["spec"]["scope"], "Namespaced", "{name}");
        assert_eq!(crd["spec"]["versions"][0]["name"], version, "{name}");
    }
}

#[test]
fn schemas_use_metallbs_field_names() {
    let pool = crd_json::<v1beta1::IPAddressPool>();
    let spec = &pool["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    for field in [
        "addresses",
        "autoAssign",
        "avoidBuggyIPs",
        "serviceAllocation",
    ] {
        assert!(
            spec.get(field).is_some(),
            "IPAddressPool spec lacks {field}: {spec}"
        );
    }
    let status = &pool["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
        ["properties"];
    for field in [
        "assignedIPv4",
        "assignedIPv6",
        "availableIPv4",
        "availableIPv6",
    ] {
        assert!(
            status.get(field).is_some(),
            "IPAddressPool status lacks {field}"
        );
    }
    let peer = crd_json::<v1beta2::BGPPeer>();
    let spec = &peer["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    for field in [
        "myASN",
        "peerASN",
        "localASN",
        "dynamicASN",
        "peerAddress",
        "interface",
        "sourceAddress",
        "peerPort",
        "holdTime",
        "keepaliveTime",
        "connectTime",
        "routerID",
        "nodeSelectors",
        "password",
        "passwordSecret",
        "bfdProfile",
        "enableGracefulRestart",
        "ebgpMultiHop",
        "vrf",
        "disableMP",
        "dualStackAddressFamily",
    ] {
        assert!(
            spec.get(field).is_some(),
            "BGPPeer v1beta2 spec lacks {field}"
        );
    }
    let columns = &pool["spec"]["versions"][0]["additionalPrinterColumns"];
    let names: Vec<&str> = columns
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Auto Assign", "Avoid Buggy IPs", "Addresses"]);
}
