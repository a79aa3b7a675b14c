//! `holdfast`: the command-line shell over the Holdfast libraries. It parses flags, loads configuration,
//! opens the store, calls the engine and renders; it computes no metric itself.
//!
//! Exit codes: 0 success, 1 internal error, 2 usage error, 65 bad input data, 66 input not found,
//! 70 an invariant check failed, 74 I/O error, 78 configuration error.
mod bench;
mod commands;
mod config;
mod reconcile;
mod lifetime;
mod forecast;
mod predict;
mod render;
mod sync;
mod signals;
mod usage;
mod usage_bench;
mod serve;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "holdfast", version, about = "Customer-success analytics: MRR, movements and revenue KPIs from your billing data.", long_about = None)]
pub struct Cli {
    /// Config file (default: $HOLDFAST_CONFIG, else ./holdfast.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// SQLite store file (overrides config and $HOLDFAST_DB).
    #[arg(long, global = true, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Log filter, e.g. `info` or `holdfast=debug` (also $RUST_LOG). Logs go to stderr.
    #[arg(long, global = true, default_value = "warn")]
    pub log: String,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate a simulated company, import it into a fresh store and print the revenue report.
    Demo(commands::DemoArgs),
    /// Import neutral CSV/JSONL billing files (a directory or one file), all or nothing.
    Import(commands::ImportArgs),
    /// Revenue KPIs by period and segment.
    Report(commands::ReportArgs),
    /// The MRR movement ledger, filterable by customer, type and period.
    Movements(commands::MovementsArgs),
    /// Customers with their status (lead, active, past_due, churned), MRR and plan at as_of.
    Customers(commands::CustomersArgs),
    /// Write the simulator's output as neutral files.
    Generate(commands::GenerateArgs),
    /// Live sync from a billing system's API (`holdfast sync stripe`), all or nothing, resumable.
    Sync(sync::SyncArgs),
    /// Row counts of the store.
    Status,
    /// Measure import, snapshot load and engine speed on simulated data.
    Bench(bench::BenchArgs),
    /// Compare Holdfast's per-customer monthly MRR with another system's export, each difference with its reason.
    Reconcile {
        #[command(subcommand)]
        source: reconcile::ReconcileSource,
    },
    /// Logo and revenue retention by first-paid cohort (heatmap data), pooled across cohorts.
    Cohorts(lifetime::CohortsArgs),
    /// Lifetime models per billing interval: Kaplan–Meier, sBG, DEL/DERL, CLV and customer equity.
    Ltv(lifetime::LtvArgs),
    /// MRR 12 months ahead with 80 % and 95 % bands, and whether the latest month's movements are in their normal range.
    Forecast(forecast::ForecastArgs),
    /// Feedback themes (configured rules and discovered phrases): share of comments, by NPS group, churn lift.
    Themes(signals::ThemesArgs),
    /// Measure usage ingest (JSONL → rollups → SQLite) and usage KPI speed on simulated events.
    BenchUsage(usage_bench::UsageBenchArgs),
    /// Churn probability of each active customer with its top drivers, from a model validated over time.
    Predict(predict::PredictArgs),
    /// Serve the dashboard, the JSON API and the Stripe webhook endpoint.
    Serve(serve::ServeArgs),
    /// Create, list and revoke API keys (scopes read, ingest, admin).
    Keys(serve::KeysArgs),
    /// Create dashboard users (argon2-hashed passwords; admin or read-only).
    Users(serve::UsersArgs),
}

/// Engine settings flags shared by report, movements and demo.
#[derive(Args, Debug, Clone, Default)]
pub struct PolicyArgs {
    /// Policy preset: holdfast, chartmogul, baremetrics, profitwell, stripe.
    #[arg(long)]
    pub preset: Option<String>,
    /// Override any policy setting, e.g. `--set grouping_window_minutes=0` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Knowledge time (ISO-8601); default: the latest instant in the data.
    #[arg(long, value_name = "INSTANT")]
    pub as_of: Option<String>,
    /// CSV of explicit customer merges (`from_customer_id,to_customer_id`), beside the merge rules.
    #[arg(long, value_name = "FILE")]
    pub merge_map: Option<PathBuf>,
}

/// An error with the exit code it deserves.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure { code, message: message.into() }
    }
    pub fn config(e: impl std::fmt::Display) -> Failure {
        Failure::new(78, format!("{e:#}"))
    }
    pub fn data(e: impl std::fmt::Display) -> Failure {
        Failure::new(65, e.to_string())
    }
    pub fn io(e: impl std::fmt::Display) -> Failure {
        Failure::new(74, e.to_string())
    }
}

fn init_logs(cli: &Cli) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cli.log));
    // ureq logs whole requests at TRACE, Authorization header (the Stripe API key) included: never below DEBUG.
    let filter = ["ureq=debug", "ureq_proto=debug"].iter().fold(filter, |f, d| f.add_directive(d.parse().expect("a valid directive")));
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if cli.log_json {
        b.json().init();
    } else {
        b.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(&cli);
    match commands::dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
