//! `ferrolb-speaker`: announces load-balancer addresses from this node.
//!
//! `ferrolb-speaker standalone` runs from files (no Kubernetes API server): the
//! metallb.io objects, Services, Nodes, EndpointSlices and Secrets, as one would
//! `kubectl apply -f` them. SIGHUP reloads them; SIGTERM hands the addresses over.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use ferrolb_speaker::driver::{self, Options};
use ferrolb_speaker::interfaces::{DEFAULT_EXCLUDE, ExcludeList};

#[derive(Parser)]
#[command(
    name = "ferrolb-speaker",
    version,
    about = "ferrolb speaker: announces load-balancer addresses with MetalLB's semantics"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run from files instead of a Kubernetes API server.
    Standalone(Standalone),
}

#[derive(Parser)]
struct Standalone {
    /// This node's name: one of the Nodes in the files.
    #[arg(long)]
    node: String,
    /// A YAML file or a directory of them (metallb.io objects, Services, Nodes,
    /// EndpointSlices, Secrets); repeatable. Re-read on SIGHUP.
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,
    /// The membership key shared by every speaker (MetalLB's memberlist secret): the
    /// file's bytes, one trailing newline removed; at least 16 bytes.
    #[arg(long)]
    key_file: PathBuf,
    /// Where `/metrics` and `/healthz` are served.
    #[arg(long, default_value = "0.0.0.0:7472", value_parser = parse_addr)]
    metrics_addr: SocketAddr,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers.
    #[arg(long)]
    ignore_exclude_lb: bool,
    /// Interface-name regular expression never announced on; repeatable. Replaces
    /// MetalLB's default list (docker, cbr, dummy, virbr, lxcbr, veth, lo, cali, tunl,
    /// flannel, kube-ipvs, cni, nodelocaldns, lxc prefixes) when given.
    #[arg(long = "exclude-interface", value_name = "REGEX")]
    exclude: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// `:7472` means every address, as in Go.
fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    let full = if s.starts_with(':') {
        format!("0.0.0.0{s}")
    } else {
        s.to_owned()
    };
    full.parse()
        .map_err(|_| format!("{s:?} is not an address:port (e.g. 0.0.0.0:7472 or :7472)"))
}

/// Shortest key accepted: the HMAC is only as strong as the secret.
const MIN_KEY_LEN: usize = 16;

fn read_key(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    let mut key = std::fs::read(path).with_context(|| format!("--key-file {}", path.display()))?;
    if key.last() == Some(&b'\n') {
        key.pop();
        if key.last() == Some(&b'\r') {
            key.pop();
        }
    }
    if key.len() < MIN_KEY_LEN {
        bail!(
            "--key-file {}: the key is {} bytes; at least {MIN_KEY_LEN} are needed (e.g. `head -c 32 /dev/urandom | base64 > {}`)",
            path.display(),
            key.len(),
            path.display()
        );
    }
    Ok(key)
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn standalone(args: Standalone) -> anyhow::Result<()> {
    let key = read_key(&args.key_file)?;
    let exclude = if args.exclude.is_empty() {
        ExcludeList::new(DEFAULT_EXCLUDE.iter().copied())
    } else {
        ExcludeList::new(args.exclude.iter().map(String::as_str))
    }?;
    let opts = Options {
        node: args.node,
        files: args.files,
        key,
        metrics_addr: args.metrics_addr,
        ignore_exclude_lb: args.ignore_exclude_lb,
        exclude,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    rt.block_on(driver::run(opts))?;
    Ok(())
}

/// The error and its causes, each cause only if its text is not already part of the
/// message (library errors often print their source themselves).
fn message(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let t = cause.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Standalone(args) = cli.command;
    init_logs(args.log_format);
    match standalone(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{}", message(&e));
            ExitCode::FAILURE
        }
    }
}
