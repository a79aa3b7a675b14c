//! `holdfast bench-usage`: usage ingest and KPI speed on simulated events at a stated scale.
//! Measured, not asserted: the figures go to `docs/benchmarks.md`.
use crate::Failure;
use clap::Args;
use holdfast_core::time::Calendar;
use holdfast_core::Grain;
use holdfast_engine::{SegmentBy, Settings};
use holdfast_store::Store;
use holdfast_usage::{BillingAccounts, Ingest, UsageInput, UsageModel, UsageSettings};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct UsageBenchArgs {
    #[arg(long, default_value_t = 10_000)]
    pub customers: usize,
    #[arg(long, default_value_t = 36)]
    pub months: u32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Directory for the events file and the store.
    #[arg(long, default_value = "target/bench/usage")]
    pub dir: PathBuf,
    /// Stream the simulator's messages straight into the rollups (no file, no store): for sizes whose
    /// JSONL would not fit the disk. Measures simulation + parsing + rollup together.
    #[arg(long)]
    pub in_memory: bool,
    /// Keep the existing events file (skip generation).
    #[arg(long)]
    pub reuse: bool,
    /// KPI repetitions (the minimum is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

fn rss(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// CPU seconds (user + system) this process has used: on a shared machine, wall time includes waiting for
/// the CPU, so both are reported.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // fields after the command name in parentheses; utime and stime are the 12th and 13th of those
    let rest = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

pub fn bench_usage(a: &UsageBenchArgs) -> Result<(), Failure> {
    std::fs::create_dir_all(&a.dir).map_err(Failure::io)?;
    let cfg = holdfast_sim::SimConfig::new(a.seed, a.customers, a.months);
    println!("holdfast bench-usage: {} customers × {} months, seed {}", a.customers, a.months, a.seed);
    let mut ds = holdfast_core::records::Dataset::default();
    let us = UsageSettings::default();
    let t = Instant::now();
    let (rollup, messages) = if a.in_memory {
        let mut ing = Ingest::new(us.ingest.clone(), []);
        let mut bad = None;
        let mut sink = |l: &str| {
            if let Err(e) = ing.line(l.as_bytes()) {
                bad.get_or_insert(e);
            }
        };
        let mut em = holdfast_sim::usage::UsageEmitter::new(cfg.seed, &mut sink);
        holdfast_sim::generate_observed(&cfg, &mut |r| ds.push(r), &mut em);
        let n = em.messages;
        drop(em);
        if let Some(e) = bad {
            return Err(Failure::data(e));
        }
        let el = t.elapsed().as_secs_f64();
        println!("simulate + parse + roll up {n} messages in memory: {el:.1} s ({:.0} k messages/s including the simulator)", n as f64 / el / 1e3);
        (ing.finish(), n)
    } else {
        let file = a.dir.join("events.jsonl");
        if !a.reuse || !file.exists() {
            let n = crate::usage::generate_with_events(&cfg, &a.dir, &mut |r| ds.push(r), &mut holdfast_sim::NoObserver)?;
            println!("generated {n} messages ({:.0} MB) in {:.1} s", std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) as f64 / 1e6, t.elapsed().as_secs_f64());
        } else {
            holdfast_sim::generate(&cfg, &mut |r| ds.push(r));
        }
        let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        let t = Instant::now();
        let cpu = cpu_secs();
        let mut ing = Ingest::new(us.ingest.clone(), []);
        let n = holdfast_usage::read_file(&file, &mut ing, &mut |_| {}).map_err(Failure::data)?;
        let parsed = t.elapsed().as_secs_f64();
        let r = ing.finish();
        let el = t.elapsed().as_secs_f64();
        let msgs = r.stats.messages;
        let cpu = cpu_secs() - cpu;
        println!(
            "ingest JSONL → rollups: {msgs} messages ({n} lines, {:.0} MB) in {el:.2} s wall = {:.0} k messages/s, {:.0} MB/s (parse + roll up {parsed:.2} s, sort {:.2} s); {cpu:.2} CPU s = {:.0} k messages per CPU second; peak RSS {:.0} MiB",
            bytes as f64 / 1e6,
            msgs as f64 / el / 1e3,
            bytes as f64 / el / 1e6,
            el - parsed,
            msgs as f64 / cpu / 1e3,
            rss("VmHWM:")
        );
        (r, msgs)
    };
    println!(
        "rollup rows: {} daily counts, {} property sums, {} sessions, {} first-seen, {} group calls; {} users, {} accounts ({:.1} messages per daily row)",
        rollup.counts.len(),
        rollup.sums.len(),
        rollup.sessions.len(),
        rollup.firsts.len(),
        rollup.groups.len(),
        rollup.users.len(),
        rollup.accounts.len(),
        messages as f64 / rollup.counts.len().max(1) as f64
    );
    let rollup = if a.in_memory {
        rollup
    } else {
        let db = a.dir.join("usage-bench.db");
        for suffix in ["", "-wal", "-shm", ".snapshot"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let mut store = holdfast_store::SqliteStore::open(&db).map_err(Failure::io)?;
        let t = Instant::now();
        let cpu = cpu_secs();
        let mut tx = store.begin_import().map_err(Failure::io)?;
        let stored = tx.put_usage(&rollup, &us.ingest).map_err(Failure::io)?;
        tx.commit().map_err(Failure::io)?;
        let el = t.elapsed().as_secs_f64();
        println!("SQLite: rollups written in one transaction in {el:.2} s wall, {:.2} CPU s; {} sessions", cpu_secs() - cpu, stored.sessions);
        let t = Instant::now();
        let loaded = store.load_usage().map_err(Failure::io)?;
        println!("SQLite: rollups loaded in {:.2} s", t.elapsed().as_secs_f64());
        loaded
    };
    let t = Instant::now();
    let model = UsageModel::build(&rollup, &us);
    println!("model (accounts resolved, user-day and account-day columns): {:.2} s; {} user-days, {} account-day-event rows; RSS {:.0} MiB", t.elapsed().as_secs_f64(), model.user_day.len(), model.account_rows.len(), rss("VmRSS:"));
    let snap = holdfast_core::snapshot::Snapshot::from_dataset(&ds).map_err(Failure::data)?;
    drop(ds);
    let s = Settings::default();
    let as_of = cfg.end() - 1;
    let (first, last) = model.days.unwrap_or((0, 0));
    let mut best = [f64::INFINITY; 3];
    let mut checksum = 0u64;
    let t = Instant::now();
    let billing = BillingAccounts::build(&snap, &s, as_of).map_err(Failure::config)?;
    let links = billing.link_accounts(&rollup);
    let billing_s = t.elapsed().as_secs_f64();
    let cal = Calendar::utc(Grain::Month);
    let from = holdfast_core::time::date_to_ts(cfg.start);
    for _ in 0..a.runs.max(1) {
        // the activity core: DAU/WAU/MAU of every day, stickiness of every day, per-account trailing-30-day
        // counts at every month end
        let t = Instant::now();
        let cpu = cpu_secs();
        let daily = model.daily_active(first, last);
        let mut stick = 0.0;
        for (i, d) in daily.iter().enumerate() {
            let lo = i.saturating_sub(29);
            let mean: f64 = daily[lo..=i].iter().map(|x| x[0] as f64).sum::<f64>() / (i - lo + 1) as f64;
            if d[2] > 0 {
                stick += mean / d[2] as f64;
            }
        }
        let mut trailing = 0u64;
        for p in cal.periods(from, as_of + 1) {
            let day = holdfast_core::time::day_of(p.end - 1).min(last);
            trailing += model.account_trailing_counts(day, 30).iter().sum::<u64>();
        }
        best[0] = best[0].min(t.elapsed().as_secs_f64());
        println!("  activity core: {:.3} s wall, {:.2} CPU s", t.elapsed().as_secs_f64(), cpu_secs() - cpu);
        checksum = checksum.wrapping_add(daily.len() as u64 + trailing + stick as u64);
        let t = Instant::now();
        let cpu = cpu_secs();
        let input = UsageInput { rollup: &rollup, model: &model, billing: &billing, links: &links, settings: &us, calendar: &cal, from, to: as_of, as_of };
        let total = holdfast_usage::compute(&input, None);
        best[1] = best[1].min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let seg = billing.segmenter(&SegmentBy::Plan, &s, from, as_of).map_err(Failure::config)?;
        let by_plan = holdfast_usage::compute(&input, Some(&seg));
        best[2] = best[2].min(t.elapsed().as_secs_f64());
        println!("  every usage KPI, total and by plan: {:.2} CPU s", cpu_secs() - cpu);
        checksum = checksum.wrapping_add((total.results.len() + by_plan.results.len()) as u64);
    }
    println!("DAU/WAU/MAU + stickiness of all {} days + per-account trailing-30-day counts at {} month ends: {:.3} s (best of {})", last - first + 1, a.months, best[0], a.runs.max(1));
    println!("every usage KPI, every month, total: {:.3} s; by plan: {:.3} s (billing timelines for segments and seats: {billing_s:.2} s once)", best[1], best[2]);
    println!("peak RSS {:.0} MiB (checksum {checksum})", rss("VmHWM:"));
    Ok(())
}
