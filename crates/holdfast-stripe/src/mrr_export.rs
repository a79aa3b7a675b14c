//! Stripe Billing's "MRR per subscriber per month" CSV export (Dashboard → Billing → Analytics →
//! Download), the other side of `holdfast reconcile stripe`.
//!
//! Two layouts are read, told apart by the header:
//! * **wide** (the Dashboard download): a customer column and one column per month whose header is a date
//!   (`2024-01`, `2024-01-31`, `2024-01-01T00:00:00Z`);
//! * **long** (Sigma or a hand-made file): columns for the customer, the month and the MRR.
//!
//! The customer column is the first of `customer_id`, `customer`, `customer.id`, `subscriber_id`,
//! `subscriber`, `id`. Amounts are decimal major units of `currency` (a `currency` column, when present,
//! must agree); currency symbols, spaces and thousands separators are ignored; an empty cell is no MRR.
use crate::StripeError;
use holdfast_core::money::Currency;
use std::path::Path;

/// One customer's MRR at the end of one month, in minor units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MrrExportRow {
    pub customer: String,
    /// `YYYY-MM`.
    pub month: String,
    pub mrr: i64,
}

const CUSTOMER: [&str; 6] = ["customer_id", "customer", "customer.id", "subscriber_id", "subscriber", "id"];
const MONTH: [&str; 5] = ["month", "date", "period", "month_start", "month_end"];
const MRR: [&str; 4] = ["mrr", "mrr_amount", "monthly_recurring_revenue", "amount"];

fn err(path: &Path, line: Option<usize>, field: Option<&str>, value: Option<&str>, expected: impl Into<String>) -> StripeError {
    let mut e = StripeError::file(path, expected);
    e.line = line;
    e.field = field.map(str::to_string);
    e.value = value.map(|v| format!("{v:?}"));
    e
}

/// `2024-01`, `2024-01-31`, `2024-01-31T00:00:00Z` → `2024-01`.
fn month_of(h: &str) -> Option<String> {
    let h = h.trim();
    let b = h.as_bytes();
    let ok = b.len() >= 7 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[5..7].iter().all(u8::is_ascii_digit) && (b.len() == 7 || b[7] == b'-');
    let m: u32 = h.get(5..7)?.parse().ok()?;
    (ok && (1..=12).contains(&m)).then(|| h[..7].to_string())
}

fn amount(cur: Currency, s: &str) -> Result<i64, String> {
    let cleaned: String = s.chars().filter(|c| !matches!(c, ',' | ' ' | '\u{a0}' | '$' | '€' | '£' | '¥')).collect();
    if cleaned.is_empty() {
        return Ok(0);
    }
    cur.parse_major(&cleaned).map_err(|e| format!("a decimal amount in {} ({e})", cur.code()))
}

/// Reads the export; amounts are in `currency` (the account's reporting currency).
pub fn read_mrr_export(path: &Path, currency: Currency) -> Result<Vec<MrrExportRow>, StripeError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_path(path).map_err(|e| err(path, None, None, None, format!("a readable CSV file ({e})")))?;
    let header: Vec<String> = rdr.headers().map_err(|e| err(path, Some(1), None, None, format!("a CSV header row ({e})")))?.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_string()).collect();
    let find = |names: &[&str]| names.iter().find_map(|n| header.iter().position(|h| h.eq_ignore_ascii_case(n)));
    let Some(ci) = find(&CUSTOMER) else {
        return Err(err(path, Some(1), None, None, format!("a customer column (one of {})", CUSTOMER.join(", "))));
    };
    let cur_col = find(&["currency"]);
    let month_cols: Vec<(usize, String)> = header.iter().enumerate().filter_map(|(i, h)| month_of(h).map(|m| (i, m))).collect();
    let long = match (find(&MONTH), find(&MRR)) {
        (Some(m), Some(v)) => Some((m, v)),
        _ => None,
    };
    if long.is_none() && month_cols.is_empty() {
        return Err(err(path, Some(1), None, None, format!("month columns named by date (e.g. 2024-01) or a month column ({}) and an MRR column ({})", MONTH.join(", "), MRR.join(", "))));
    }
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| err(path, Some(line), None, None, format!("a CSV row with {} fields ({e})", header.len())))?;
        let customer = rec.get(ci).unwrap_or("").trim();
        if customer.is_empty() {
            return Err(err(path, Some(line), Some(&header[ci]), Some(""), "a customer id"));
        }
        if let Some(cc) = cur_col {
            let c = rec.get(cc).unwrap_or("").trim();
            if !c.is_empty() && !c.eq_ignore_ascii_case(currency.code()) {
                return Err(err(path, Some(line), Some("currency"), Some(c), format!("{} (the reporting currency; re-run with --currency {c} or export in {})", currency.code(), currency.code())));
            }
        }
        let mut push = |col: usize, month: String| -> Result<(), StripeError> {
            let raw = rec.get(col).unwrap_or("");
            let mrr = amount(currency, raw).map_err(|e| err(path, Some(line), Some(&header[col]), Some(raw), e))?;
            if mrr != 0 {
                out.push(MrrExportRow { customer: customer.to_string(), month, mrr });
            }
            Ok(())
        };
        match long {
            Some((mc, vc)) => {
                let raw = rec.get(mc).unwrap_or("");
                let month = month_of(raw).ok_or_else(|| err(path, Some(line), Some(&header[mc]), Some(raw), "a month (YYYY-MM or YYYY-MM-DD)"))?;
                push(vc, month)?;
            }
            None => {
                for (col, m) in &month_cols {
                    push(*col, m.clone())?;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn wide_and_long_layouts_give_the_same_rows() {
        let wide = file("customer_id,customer_email,2024-01-31,2024-02-29\ncus_A,a@x.example,\"1,166.67\",$50.00\ncus_B,,,0\n");
        let long = file("customer,month,mrr,currency\ncus_A,2024-01,1166.67,usd\ncus_A,2024-02-01,50,USD\ncus_B,2024-02,0,usd\n");
        let a = read_mrr_export(wide.path(), Currency::USD).unwrap();
        let b = read_mrr_export(long.path(), Currency::USD).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, vec![MrrExportRow { customer: "cus_A".into(), month: "2024-01".into(), mrr: 116_667 }, MrrExportRow { customer: "cus_A".into(), month: "2024-02".into(), mrr: 5_000 }]);
    }

    #[test]
    fn bad_files_name_line_and_column() {
        let e = read_mrr_export(file("name,2024-01\nx,1\n").path(), Currency::USD).unwrap_err().to_string();
        assert!(e.contains(":1:") && e.contains("customer column"), "{e}");
        let e = read_mrr_export(file("customer_id,2024-01\ncus_A,12.x5\n").path(), Currency::USD).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("`2024-01`"), "{e}");
        let e = read_mrr_export(file("customer,month,mrr,currency\ncus_A,2024-01,1,eur\n").path(), Currency::USD).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("USD"), "{e}");
        let e = read_mrr_export(file("customer,month,mrr\ncus_A,January,1\n").path(), Currency::USD).unwrap_err().to_string();
        assert!(e.contains("YYYY-MM"), "{e}");
    }
}
