//! Every accepted seed configuration plans, and the outcomes their headers describe
//! hold.

use std::path::PathBuf;

use ferrolb_api::config::{Config, Options};
use ferrolb_api::load::{LoadReport, Resources};
use ferrolb_api::service::{ClusterIpDefaulting, LbService};
use ferrolb_controller::plan::{Plan, plan};

fn plan_seed(name: &str) -> Option<Plan> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/seeds")
        .join(name);
    let mut r = Resources::default();
    r.load_file(&path, &mut LoadReport::default()).ok()?;
    let cfg = Config::from_resources(&r, &Options::default()).ok()?;
    let svcs: Vec<LbService> = r
        .services
        .iter()
        .map(|s| LbService::from_k8s(s, ClusterIpDefaulting::LikeApiServer))
        .collect();
    Some(plan(cfg, &svcs, None))
}

#[test]
fn every_accepted_seed_plans_every_service() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/seeds");
    let mut planned = 0;
    for entry in std::fs::read_dir(&dir).expect("seed directory beside the repository") {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.starts_with("# expect: accept") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap();
        let p = plan_seed(name).unwrap_or_else(|| panic!("{name} did not plan"));
        for s in &p.services {
            assert!(!s.events.is_empty(), "{name}: {} has no event", s.name);
        }
        planned += 1;
    }
    assert!(planned >= 10);
}

#[test]
fn sharing_conflict_seed_leaves_the_third_service_without_an_address() {
    let p = plan_seed("001-sharing-conflict.yaml").unwrap();
    let ips: Vec<(String, Vec<String>)> = p
        .services
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.ips.iter().map(ToString::to_string).collect(),
            )
        })
        .collect();
    assert_eq!(
        ips[0],
        ("service-a".to_owned(), vec!["203.0.113.15".to_owned()])
    );
    assert_eq!(
        ips[1],
        ("service-b".to_owned(), vec!["203.0.113.15".to_owned()])
    );
    assert_eq!(ips[2].1, Vec::<String>::new());
    assert!(
        p.services[2]
            .events
            .iter()
            .any(|e| e.reason == "AllocationFailed")
    );
}

#[test]
fn dual_stack_seed_gets_both_families() {
    let p = plan_seed("001-dual-stack.yaml").unwrap();
    let ips: Vec<String> = p.services[0].ips.iter().map(ToString::to_string).collect();
    assert_eq!(ips, ["198.51.100.240", "fd00::1"]);
}
