//! `ferrolb-sim`: run scenario files, sweep seeds, measure the simulator.
//!
//! Threads exist only here (the sweep runs one seed per thread); the simulator core
//! stays single-threaded and deterministic.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant as WallClock;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use ferrolb_sim::run::RunOutcome;
use ferrolb_sim::scenario::Plan;
use ferrolb_sim::synthetic::{self, Shape};
use ferrolb_sim::time::Duration;
use ferrolb_sim::{report, run, scenario, svg};

#[derive(Parser)]
#[command(
    name = "ferrolb-sim",
    version,
    about = "Deterministic network simulator for ferrolb"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario and print what the clients saw.
    Run {
        file: PathBuf,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Write every event as JSON lines.
        #[arg(long, value_name = "OUT.jsonl")]
        trace: Option<PathBuf>,
        /// Draw the timeline picture.
        #[arg(long, value_name = "OUT.svg")]
        timeline: Option<PathBuf>,
        /// Write every delivered frame as a pcap file (Wireshark, tcpdump -r).
        #[arg(long, value_name = "OUT.pcap")]
        pcap: Option<PathBuf>,
        /// Report wall time and the simulated/wall ratio.
        #[arg(long)]
        timing: bool,
    },
    /// Run many seeds of one or more scenarios in parallel.
    Sweep {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// How many seeds per file.
        #[arg(long, default_value_t = 50)]
        seeds: u64,
        /// The first seed (seeds are first, first+1, …).
        #[arg(long, default_value_t = 1)]
        first_seed: u64,
        /// Worker threads (default: available cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Measure the simulator on a generated topology.
    Bench {
        #[arg(long, default_value_t = 3)]
        hosts: usize,
        #[arg(long, default_value_t = 10)]
        flows: usize,
        /// Probes per second per flow.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        /// Simulated time, e.g. 60s.
        #[arg(long, default_value = "60s")]
        duration: String,
        /// Link jitter, e.g. 10us (spreads events over distinct instants).
        #[arg(long, default_value = "0s")]
        jitter: String,
        /// Also time a sweep of this many seeds of the same topology.
        #[arg(long)]
        sweep: Option<u64>,
        #[arg(long)]
        jobs: Option<usize>,
    },
}

/// Errors are the user's (a bad scenario, failed expectations), so they are printed as
/// their message chain, never as a backtrace, whatever `RUST_BACKTRACE` says.
fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match dispatch(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run {
            file,
            seed,
            trace,
            timeline,
            pcap,
            timing,
        } => cmd_run(
            &file,
            seed,
            trace.as_deref(),
            timeline.as_deref(),
            pcap.as_deref(),
            timing,
        ),
        Command::Sweep {
            files,
            seeds,
            first_seed,
            jobs,
        } => cmd_sweep(&files, first_seed, seeds, jobs),
        Command::Bench {
            hosts,
            flows,
            rate,
            duration,
            jitter,
            sweep,
            jobs,
        } => cmd_bench(hosts, flows, rate, &duration, &jitter, sweep, jobs),
    }
}

fn cmd_run(
    file: &Path,
    seed: Option<u64>,
    trace: Option<&Path>,
    timeline: Option<&Path>,
    pcap: Option<&Path>,
    timing: bool,
) -> Result<()> {
    let plan = scenario::load(file)?;
    let wall = WallClock::now();
    let opts = run::RunOptions {
        trace: trace.is_some(),
        capture: pcap.is_some(),
    };
    let (outcome, recording) = run::run_with(&plan, seed, opts);
    let records = recording.trace;
    let elapsed = wall.elapsed().as_secs_f64();
    print!("{}", report::render(&outcome, true));
    if timing {
        print_timing(&outcome, elapsed);
    }
    if let Some(path) = trace {
        let mut out = String::new();
        for r in &records {
            out.push_str(&serde_json::to_string(r)?);
            out.push('\n');
        }
        std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))?;
        println!("trace: {} records in {}", records.len(), path.display());
    }
    if let Some(path) = pcap {
        std::fs::write(path, ferrolb_sim::pcap::encode(&recording.frames))
            .with_context(|| format!("writing {}", path.display()))?;
        println!(
            "pcap: {} frames in {}",
            recording.frames.len(),
            path.display()
        );
    }
    if let Some(path) = timeline {
        std::fs::write(path, svg::render(&outcome))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("timeline: {}", path.display());
    }
    if !outcome.passed() {
        bail!("expectations failed: {}", report::one_line(&outcome));
    }
    Ok(())
}

fn print_timing(o: &RunOutcome, wall: f64) {
    let sim = o.duration.as_secs_f64();
    println!(
        "\ntiming: {sim:.1} s simulated in {wall:.3} s wall = {:.0}x real time; {} events, {:.0} ns/event",
        sim / wall.max(1e-9),
        o.events,
        wall * 1e9 / o.events.max(1) as f64
    );
}

fn jobs_or_default(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Runs `seeds` of `plan` on `jobs` threads; results in seed order.
fn sweep_plan(plan: &Plan, seeds: &[u64], jobs: usize, bar: &ProgressBar) -> Vec<RunOutcome> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<RunOutcome>>> = Mutex::new(vec![None; seeds.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(seeds.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else { break };
                    let (o, _) = run::run(plan, Some(seed), false);
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(o);
                    }
                    bar.inc(1);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn cmd_sweep(files: &[PathBuf], first: u64, count: u64, jobs: Option<usize>) -> Result<()> {
    let jobs = jobs_or_default(jobs);
    let plans: Vec<(PathBuf, Plan)> = files
        .iter()
        .map(|f| scenario::load(f).map(|p| (f.clone(), p)))
        .collect::<Result<_, _>>()?;
    let seeds: Vec<u64> = (first..first.saturating_add(count)).collect();
    let bar = ProgressBar::new(seeds.len() as u64 * plans.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} runs  {elapsed} elapsed, {eta} left  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let wall = WallClock::now();
    let mut any_failed = false;
    let mut summaries = vec![];
    for (file, plan) in &plans {
        bar.set_message(plan.name.clone());
        let outcomes = sweep_plan(plan, &seeds, jobs, &bar);
        summaries.push((file.clone(), plan.name.clone(), outcomes));
    }
    bar.finish_and_clear();
    let elapsed = wall.elapsed().as_secs_f64();
    for (file, name, outcomes) in &summaries {
        let mut outages: Vec<Duration> = outcomes.iter().map(RunOutcome::max_outage).collect();
        outages.sort();
        let failed: Vec<&RunOutcome> = outcomes.iter().filter(|o| !o.passed()).collect();
        println!(
            "{name}: {} seeds ({}..={}), {} passed, {} failed",
            outcomes.len(),
            first,
            first + count.saturating_sub(1),
            outcomes.len() - failed.len(),
            failed.len()
        );
        println!(
            "  worst outage per seed: min {}  p50 {}  p99 {}  max {}",
            percentile(&outages, 0.0),
            percentile(&outages, 0.5),
            percentile(&outages, 0.99),
            percentile(&outages, 1.0)
        );
        for o in &failed {
            any_failed = true;
            println!("  FAILED seed {}: {}", o.seed, report::one_line(o));
            println!(
                "    replay: ferrolb-sim run {} --seed {}",
                file.display(),
                o.seed
            );
        }
    }
    let runs: usize = summaries.iter().map(|s| s.2.len()).sum();
    println!(
        "{runs} runs in {elapsed:.2} s on {jobs} thread(s): {:.1} seeds/s",
        runs as f64 / elapsed.max(1e-9)
    );
    if any_failed {
        bail!("some seeds failed their expectations");
    }
    Ok(())
}

fn cmd_bench(
    hosts: usize,
    flows: usize,
    rate: f64,
    duration: &str,
    jitter: &str,
    sweep: Option<u64>,
    jobs: Option<usize>,
) -> Result<()> {
    let duration = Duration::parse(duration).map_err(anyhow::Error::msg)?;
    let jitter = Duration::parse(jitter).map_err(anyhow::Error::msg)?;
    let shape = Shape {
        hosts,
        flows,
        rate,
        duration,
        jitter,
    };
    let text = synthetic::scenario_text(shape, 1);
    let plan = scenario::parse("bench", &text)?;
    let wall = WallClock::now();
    let (outcome, _) = run::run(&plan, None, false);
    let elapsed = wall.elapsed().as_secs_f64();
    let sent: u64 = outcome.flows.iter().map(|f| f.stats.sent).sum();
    let lost: u64 = outcome.flows.iter().map(|f| f.stats.lost).sum();
    println!(
        "bench: {hosts} hosts, {flows} flows at {rate}/s for {duration}: {sent} probes, {lost} lost"
    );
    print_timing(&outcome, elapsed);
    if let Some(n) = sweep {
        let jobs = jobs_or_default(jobs);
        let seeds: Vec<u64> = (1..=n).collect();
        let bar = ProgressBar::hidden();
        let wall = WallClock::now();
        let outs = sweep_plan(&plan, &seeds, jobs, &bar);
        let el = wall.elapsed().as_secs_f64();
        println!(
            "sweep: {} seeds in {el:.2} s on {jobs} thread(s) = {:.1} seeds/s",
            outs.len(),
            outs.len() as f64 / el.max(1e-9)
        );
    }
    Ok(())
}
