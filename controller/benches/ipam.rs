//! Allocation at scale: 100,000 Services over 10 dual-stack pools (an IPv4 /16 and an
//! IPv6 /112 each), with sharing keys and requested addresses; then a restart that
//! re-learns all 100,000 assignments. Run: `cargo bench -p ferrolb-controller --bench ipam`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group};
use ferrolb_api::annotations as ann;
use ferrolb_api::config::{Config, Family, Options};
use ferrolb_api::load::{LoadReport, Resources};
use ferrolb_api::service::{IpFamilyPolicy, LbService, PortKey, Protocol};
use ferrolb_controller::converge::Controller;
use ferrolb_controller::plan::plan;

const SERVICES: usize = 100_000;

fn config() -> Config {
    let mut yaml = String::new();
    for i in 0..10 {
        yaml.push_str(&format!(
            "---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: pool-{i}\nspec:\n  addresses: [10.{i}.0.0/16, 'fd00:{i}::/112']\n"
        ));
    }
    let mut r = Resources::default();
    r.load_str("bench.yaml", &yaml, &mut LoadReport::default())
        .unwrap();
    Config::from_resources(&r, &Options::default()).unwrap()
}

/// 60 % IPv4, 25 % IPv6, 15 % RequireDualStack; every 10th Service in a sharing group
/// of four with distinct ports; every 20th asks for a specific address.
fn services() -> Vec<LbService> {
    (0..SERVICES)
        .map(|i| {
            let mut s = LbService {
                namespace: format!("ns{}", i % 50),
                name: format!("svc{i}"),
                is_load_balancer: true,
                cluster_families: vec![Family::V4],
                ports: vec![PortKey {
                    protocol: Protocol::Tcp,
                    port: 80,
                }],
                ..Default::default()
            };
            match i % 20 {
                0..12 => {}
                12..17 => {
                    s.cluster_families = vec![Family::V6];
                    s.ip_families = vec![Family::V6];
                }
                _ => {
                    s.cluster_families = vec![Family::V4, Family::V6];
                    s.ip_families = vec![Family::V4, Family::V6];
                    s.ip_family_policy = IpFamilyPolicy::RequireDualStack;
                }
            }
            if i % 10 == 1 {
                s.annotations
                    .insert(ann::ALLOW_SHARED_IP.into(), format!("group{}", i / 40));
                s.ports = vec![PortKey {
                    protocol: Protocol::Tcp,
                    port: 8000 + (i / 10 % 4) as i32,
                }];
            }
            if i % 20 == 5 {
                // Far into pool-9's /16, away from where automatic allocation starts.
                s.load_balancer_ip = format!("10.9.{}.{}", 128 + i / 20 / 250, 1 + i / 20 % 250);
            }
            s
        })
        .collect()
}

fn relearned(cfg: &Config, svcs: &[LbService]) -> Vec<LbService> {
    let p = plan(cfg.clone(), svcs, None);
    svcs.iter()
        .zip(&p.services)
        .map(|(s, planned)| {
            let mut s = s.clone();
            s.ingress_ips = planned.ips.iter().map(ToString::to_string).collect();
            s
        })
        .collect()
}

/// Peak resident set size of this process, from the kernel.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Peak memory of the controller state itself: RSS growth while 100,000 Services
/// are reconciled one by one into a `Controller` (inputs built beforehand, outcomes
/// dropped as they come).
fn report_memory(cfg: &Config, svcs: &[LbService]) {
    let before = peak_rss_kib();
    let mut ctl = Controller::new(None);
    ctl.set_config(cfg.clone());
    let assigned = svcs
        .iter()
        .filter(|s| !ctl.reconcile(s).ips.is_empty())
        .count();
    let after = peak_rss_kib();
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "controller state for {assigned}/{SERVICES} Services: peak RSS +{} KiB ({:.0} bytes per Service); process peak {a} KiB",
            a - b,
            (a - b) as f64 * 1024.0 / assigned as f64
        );
    }
    black_box(ctl);
}

fn bench(c: &mut Criterion) {
    let cfg = config();
    let svcs = services();
    report_memory(&cfg, &svcs);
    let existing = relearned(&cfg, &svcs);
    let mut g = c.benchmark_group("ipam");
    g.sample_size(10);
    g.bench_function("allocate_100k", |b| {
        b.iter_batched(
            || (cfg.clone(), svcs.clone()),
            |(cfg, svcs)| black_box(plan(cfg, &svcs, None)),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("relearn_100k", |b| {
        b.iter_batched(
            || (cfg.clone(), existing.clone()),
            |(cfg, svcs)| black_box(plan(cfg, &svcs, None)),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
