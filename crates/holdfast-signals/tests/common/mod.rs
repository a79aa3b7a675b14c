//! A small hand-made company: billing (four customers) plus signal files, written as neutral files.
#![allow(dead_code)]
use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::parse_instant;
use holdfast_core::{Currency, Grain};
use holdfast_engine::{Run, RunSpec, Settings};
use holdfast_signals::{Billing, SignalSettings, Signals};
use std::path::Path;

pub fn t(s: &str) -> i64 {
    parse_instant(s).unwrap()
}

/// Monthly invoices of one subscription from `start` for `months` periods, paid at issue.
#[allow(clippy::too_many_arguments)]
fn monthly(customer: &str, sub: &str, plan: &str, start: (i32, u32, u32), months: u32, amount: &str, inv: &mut String, lines: &mut String) {
    let (y, m, d) = start;
    for k in 0..months {
        let mm = m + k;
        let (y0, m0) = (y + ((mm - 1) / 12) as i32, (mm - 1) % 12 + 1);
        let (y1, m1) = (y + (mm / 12) as i32, mm % 12 + 1);
        let a = format!("{y0:04}-{m0:02}-{d:02}T00:00:00Z");
        let b = format!("{y1:04}-{m1:02}-{d:02}T00:00:00Z");
        let id = format!("in_{sub}_{k}");
        inv.push_str(&format!("{id},{customer},USD,paid,{a},{a},{amount},{amount}\n"));
        lines.push_str(&format!("il_{sub}_{k},{id},{sub},{plan},recurring,{a},{b},{amount}\n"));
    }
}

/// Billing: cus_a $100/month from 2025-01-05 (active); cus_b $50 from 2025-01-10, ended 2025-03-10;
/// cus_c $200 from 2025-02-01, ended 2025-04-01; cus_d trial 2025-03-01..03-15 then $30/month.
pub fn write_billing(dir: &Path) {
    std::fs::write(
        dir.join("customers.csv"),
        "customer_id,created_at,plan_tier\ncus_a,2025-01-01T00:00:00Z,pro\ncus_b,2025-01-10T00:00:00Z,basic\ncus_c,2025-02-01T00:00:00Z,pro\ncus_d,2025-03-01T00:00:00Z,basic\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("plans.csv"),
        "plan_id,name,currency,amount,price_type,interval\np100,Pro,USD,100,recurring,month\np50,Basic,USD,50,recurring,month\np200,Max,USD,200,recurring,month\np30,Mini,USD,30,recurring,month\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("subscriptions.csv"),
        "subscription_id,customer_id,status,started_at,trial_start,trial_end,canceled_at,ended_at\n\
         sub_a,cus_a,active,2025-01-05T00:00:00Z,,,,\n\
         sub_b,cus_b,canceled,2025-01-10T00:00:00Z,,,2025-02-20T00:00:00Z,2025-03-10T00:00:00Z\n\
         sub_c,cus_c,canceled,2025-02-01T00:00:00Z,,,2025-03-15T00:00:00Z,2025-04-01T00:00:00Z\n\
         sub_d,cus_d,active,2025-03-01T00:00:00Z,2025-03-01T00:00:00Z,2025-03-15T00:00:00Z,,\n",
    )
    .unwrap();
    std::fs::write(dir.join("fx_rates.csv"), "date,base,quote,rate\n2025-02-01,EUR,USD,1.1\n").unwrap();
    let mut inv = String::from("invoice_id,customer_id,currency,status,issued_at,paid_at,total,amount_paid\n");
    let mut lines = String::from("line_id,invoice_id,subscription_id,plan_id,price_type,period_start,period_end,amount\n");
    monthly("cus_a", "sub_a", "p100", (2025, 1, 5), 6, "100", &mut inv, &mut lines);
    monthly("cus_b", "sub_b", "p50", (2025, 1, 10), 2, "50", &mut inv, &mut lines);
    monthly("cus_c", "sub_c", "p200", (2025, 2, 1), 2, "200", &mut inv, &mut lines);
    monthly("cus_d", "sub_d", "p30", (2025, 3, 15), 4, "30", &mut inv, &mut lines);
    std::fs::write(dir.join("invoices.csv"), inv).unwrap();
    std::fs::write(dir.join("invoice_lines.csv"), lines).unwrap();
}

pub fn snapshot(dir: &Path) -> Snapshot {
    let ds = holdfast_ingest::read_dataset(dir).unwrap();
    Snapshot::from_dataset(&ds).unwrap()
}

/// Months 2025-01 … 2025-06, as of 2025-07-01.
pub fn run(snap: &Snapshot) -> Run {
    let spec = RunSpec { as_of: Some(t("2025-07-01T00:00:00Z")), grain: Grain::Month, from: Some(t("2025-01-01T00:00:00Z")), to: Some(t("2025-06-30T23:59:59Z")), segment_by: vec![] };
    holdfast_engine::run(snap, &Settings::default(), &spec).unwrap()
}

pub fn billing(snap: &Snapshot, run: &Run, segment_by: Option<&str>) -> Billing {
    Billing::from_run(snap, run, Currency::USD, 1.0, segment_by).unwrap()
}

pub fn signals(dir: &Path) -> Signals {
    Signals::from_records(holdfast_signals::read::read_all(dir).unwrap())
}

pub fn settings() -> SignalSettings {
    SignalSettings::default()
}
