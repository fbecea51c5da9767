//! Runs every scenario in `scenarios/`, checks its expectations and snapshots its
//! summary into the top-level `snapshots/` folder.

use std::path::{Path, PathBuf};

use ferrolb_sim::{report, run, scenario};

fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_scenario_meets_its_expectations_and_matches_its_snapshot() {
    let files = scenario_files();
    assert!(
        files.len() >= 8,
        "expected the shipped scenarios, found {}",
        files.len()
    );
    let mut failures = vec![];
    for file in &files {
        let plan = scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
        let (outcome, _) = run::run(&plan, None, false);
        if !outcome.passed() {
            failures.push(format!(
                "{}\n{}",
                report::one_line(&outcome),
                report::render(&outcome, false)
            ));
        }
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name")
            .to_string();
        insta::with_settings!({
            snapshot_path => "../../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(stem, report::render(&outcome, false));
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn same_seed_twice_gives_an_identical_trace_hash() {
    for name in ["lossy-link.yaml", "garp-lost.yaml", "split-brain.yaml"] {
        let plan = scenario::load(&scenario_dir().join(name)).unwrap();
        let (a, _) = run::run(&plan, Some(7), false);
        let (b, _) = run::run(&plan, Some(7), false);
        assert_eq!(a.trace_hash, b.trace_hash, "{name}");
        assert_eq!(report::render(&a, true), report::render(&b, true), "{name}");
    }
}

#[test]
fn two_seeds_give_different_loss_patterns() {
    let plan = scenario::load(&scenario_dir().join("lossy-link.yaml")).unwrap();
    let (a, _) = run::run(&plan, Some(1), false);
    let (b, _) = run::run(&plan, Some(2), false);
    assert_ne!(a.trace_hash, b.trace_hash);
    let lost = |o: &run::RunOutcome| -> Vec<usize> {
        o.flows[0]
            .probes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.reply.is_none())
            .map(|(i, _)| i)
            .collect()
    };
    assert!(!lost(&a).is_empty() && !lost(&b).is_empty());
    assert_ne!(lost(&a), lost(&b));
}

#[test]
fn trace_records_describe_the_run_and_match_the_hash() {
    let plan = scenario::load(&scenario_dir().join("garp-received.yaml")).unwrap();
    let (with, records) = run::run(&plan, None, true);
    let (without, none) = run::run(&plan, None, false);
    assert!(none.is_empty());
    assert_eq!(
        with.trace_hash, without.trace_hash,
        "recording must not change the run"
    );
    assert!(
        records
            .iter()
            .any(|r| r.detail.contains("who-has 198.51.100.200")
                && r.detail.contains("[gratuitous]"))
    );
    assert!(
        records.windows(2).all(|w| w[0].t_ns <= w[1].t_ns),
        "records in time order"
    );
}

/// sim-anchors.md §4.6: holder dies, GARP lost, client keeps sending → outage of
/// reachable_time (15–45 s) + DELAY 5 s + PROBE 3 s ≈ 23–53 s, spread by the seed.
#[test]
fn garp_lost_outage_spans_the_23_to_53_second_band_across_seeds() {
    let plan = scenario::load(&scenario_dir().join("garp-lost.yaml")).unwrap();
    let outages: Vec<f64> = (1..=24)
        .map(|seed| {
            run::run(&plan, Some(seed), false)
                .0
                .max_outage()
                .as_secs_f64()
        })
        .collect();
    for o in &outages {
        assert!(
            (22.9..=53.1).contains(o),
            "outage {o} outside the band: {outages:?}"
        );
    }
    let min = outages.iter().copied().fold(f64::MAX, f64::min);
    let max = outages.iter().copied().fold(0.0, f64::max);
    assert!(
        max - min > 15.0,
        "seeds should spread the outage: {outages:?}"
    );
}

#[test]
fn split_brain_is_reported_as_two_concurrent_owners() {
    let plan = scenario::load(&scenario_dir().join("split-brain.yaml")).unwrap();
    let (o, _) = run::run(&plan, None, false);
    let a = &o.addresses[0];
    assert_eq!(a.max_owners, 2);
    assert!(report::render(&o, false).contains("split brain"));
    let plan = scenario::load(&scenario_dir().join("garp-received.yaml")).unwrap();
    let (o, _) = run::run(&plan, None, false);
    assert_eq!(o.addresses[0].max_owners, 1);
    let names: Vec<Vec<&str>> = o.addresses[0]
        .owners
        .iter()
        .map(|(_, hosts)| hosts.iter().map(|h| o.host_name(*h)).collect())
        .collect();
    assert_eq!(
        names,
        vec![vec!["n1"], vec![], vec!["n2"]],
        "n1, nobody after the crash, then n2"
    );
}

/// The cluster scenarios' expectations are properties of the speaker, not of one lucky
/// seed: they hold for every one of the first 20 (`ferrolb-sim sweep` runs more).
#[test]
fn speaker_scenarios_hold_across_seeds() {
    let files: Vec<PathBuf> = scenario_files()
        .into_iter()
        .filter(|f| {
            f.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("speaker-"))
        })
        .collect();
    assert!(files.len() >= 5, "{files:?}");
    let mut failures = vec![];
    for file in &files {
        let plan = scenario::load(file).unwrap();
        for seed in 1..=20 {
            let (o, _) = run::run(&plan, Some(seed), false);
            if !o.passed() {
                failures.push(report::one_line(&o));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The invariants judge what happened: the partition scenario's ten seconds of two
/// announcers pass because a partition was in force, and fail once it is not.
#[test]
fn two_announcers_without_a_partition_break_the_invariant() {
    let plan =
        scenario::load(&scenario_dir().join("speaker-membership-partition.yaml")).expect("loads");
    let (outcome, _) = run::run(&plan, None, false);
    let end = ferrolb_sim::time::Instant::ZERO + plan.duration;
    assert!(run::invariants(&plan, &outcome, end).iter().all(|c| c.ok));
    let mut unexcused = plan.clone();
    unexcused.actions.retain(|(_, a, _)| {
        !matches!(
            a,
            ferrolb_sim::world::WorldAction::Partition { .. }
                | ferrolb_sim::world::WorldAction::Heal { .. }
        )
    });
    let checks = run::invariants(&unexcused, &outcome, end);
    let broken: Vec<_> = checks.iter().filter(|c| !c.ok).collect();
    assert_eq!(broken.len(), 1, "{checks:?}");
    assert!(
        broken[0].actual.contains("198.51.100.200 from"),
        "{}",
        broken[0].actual
    );
    // And an address the controller did not assign is caught.
    let mut unassigned = plan.clone();
    if let Some(c) = &mut unassigned.cluster {
        for v in &mut c.services {
            v.service.ingress_ips.clear();
        }
    }
    let checks = run::invariants(&unassigned, &outcome, end);
    assert!(
        checks
            .iter()
            .any(|c| !c.ok && c.actual.contains("198.51.100.200")),
        "{checks:?}"
    );
}
