//! `ferrolb-controller`: validate a MetalLB configuration, or plan the addresses its
//! Services get, from files. (The Kubernetes controller itself comes later.)

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use ferrolb_api::config::{Config, Options};
use ferrolb_api::load::{LoadReport, Resources};
use ferrolb_api::service::{ClusterIpDefaulting, LbService};
use ferrolb_controller::plan::{Plan, plan};

#[derive(Parser)]
#[command(
    name = "ferrolb-controller",
    version,
    about = "ferrolb controller: MetalLB-compatible address assignment"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate metallb.io objects; exit 1 with one `Kind/name: field: reason` per line.
    Validate {
        /// YAML files (multi-document) holding metallb.io objects and core objects.
        #[arg(short = 'f', long = "file", required = true)]
        files: Vec<PathBuf>,
        /// Namespace the configuration objects live in.
        #[arg(long, default_value = ferrolb_api::DEFAULT_NAMESPACE)]
        namespace: String,
    },
    /// Show the addresses, pool annotation and events each LoadBalancer Service gets.
    Plan {
        /// YAML files holding metallb.io objects, Services and Namespaces.
        #[arg(short = 'f', long = "file", required = true)]
        files: Vec<PathBuf>,
        /// Only handle Services of this loadBalancerClass (default: Services without one).
        #[arg(long = "lb-class")]
        lb_class: Option<String>,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
        output: Format,
        /// Namespace the configuration objects live in.
        #[arg(long, default_value = ferrolb_api::DEFAULT_NAMESPACE)]
        namespace: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Loads every file; a load error is printed and ends the run with exit 1.
fn load(files: &[PathBuf]) -> Result<Resources, ExitCode> {
    let mut res = Resources::default();
    let mut report = LoadReport::default();
    for f in files {
        if let Err(e) = res.load_file(f, &mut report) {
            eprintln!("{e}");
            return Err(ExitCode::FAILURE);
        }
    }
    for s in &report.skipped {
        eprintln!(
            "note: {}:{}: skipping {}/{} ({}): not used by the controller",
            s.file, s.line, s.kind, s.name, s.api_version
        );
    }
    Ok(res)
}

fn validated(res: &Resources, namespace: String) -> Result<Config, ExitCode> {
    Config::from_resources(res, &Options { namespace }).map_err(|errs| {
        for e in errs.iter() {
            eprintln!("{e}");
        }
        ExitCode::FAILURE
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate { files, namespace } => {
            let res = match load(&files) {
                Ok(r) => r,
                Err(code) => return Ok(code),
            };
            Ok(match validated(&res, namespace) {
                Ok(_) => ExitCode::SUCCESS,
                Err(code) => code,
            })
        }
        Command::Plan {
            files,
            lb_class,
            output,
            namespace,
        } => {
            let res = match load(&files) {
                Ok(r) => r,
                Err(code) => return Ok(code),
            };
            let cfg = match validated(&res, namespace) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let services: Vec<LbService> = res
                .services
                .iter()
                .map(|s| LbService::from_k8s(s, ClusterIpDefaulting::LikeApiServer))
                .collect();
            let p = plan(cfg, &services, lb_class);
            let mut out = std::io::stdout().lock();
            match output {
                Format::Json => {
                    serde_json::to_writer(&mut out, &p).context("writing JSON")?;
                    writeln!(out)?;
                }
                Format::Table => write_table(&mut out, &p)?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn write_table(out: &mut impl Write, p: &Plan) -> std::io::Result<()> {
    let rows: Vec<[String; 3]> = p
        .services
        .iter()
        .map(|s| {
            let ips = if s.ips.is_empty() {
                "<none>".to_owned()
            } else {
                s.ips
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            };
            [
                format!("{}/{}", s.namespace, s.name),
                ips,
                s.pool.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = [
        "SERVICE".to_owned(),
        "ADDRESSES".to_owned(),
        "POOL".to_owned(),
    ];
    let w: Vec<usize> = (0..3)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    writeln!(
        out,
        "{:<w0$}  {:<w1$}  {}",
        header[0],
        header[1],
        header[2],
        w0 = w[0],
        w1 = w[1]
    )?;
    for (row, s) in rows.iter().zip(&p.services) {
        writeln!(
            out,
            "{:<w0$}  {:<w1$}  {}",
            row[0],
            row[1],
            row[2],
            w0 = w[0],
            w1 = w[1]
        )?;
        for e in &s.events {
            writeln!(out, "    {:?} {}: {}", e.type_, e.reason, e.message)?;
        }
    }
    writeln!(out)?;
    let pw = p
        .pools
        .iter()
        .map(|x| x.name.len())
        .chain([4])
        .max()
        .unwrap_or(4);
    writeln!(
        out,
        "{:<pw$}  {:>12}  {:>12}  {:>13}  {:>20}",
        "POOL", "ASSIGNED-V4", "ASSIGNED-V6", "AVAILABLE-V4", "AVAILABLE-V6"
    )?;
    for x in &p.pools {
        let c = &x.counters;
        writeln!(
            out,
            "{:<pw$}  {:>12}  {:>12}  {:>13}  {:>20}",
            x.name, c.assigned_ipv4, c.assigned_ipv6, c.available_ipv4, c.available_ipv6
        )?;
    }
    Ok(())
}
