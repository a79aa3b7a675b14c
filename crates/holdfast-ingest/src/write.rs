//! Writing records as neutral files.
use crate::fp::{fp128, FpMap};
use crate::schema::{self, customer as cu};
use crate::{Format, SourceKind};
use holdfast_core::money::{format_minor, Currency};
use holdfast_core::records::*;
use holdfast_core::time::{day_to_date, format_instant, Ts};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// One field's value, before encoding as a CSV cell or a JSON member.
enum V<'a> {
    Absent,
    Str(&'a str),
    Text(String),
    Int(i64),
    Bool(bool),
    List(&'a [String]),
    Discounts(&'a [LineDiscount], Currency),
}

fn opt<'a>(o: &'a Option<String>) -> V<'a> {
    o.as_deref().map_or(V::Absent, V::Str)
}
fn ts(t: Ts) -> V<'static> {
    V::Text(format_instant(t))
}
fn opt_ts(t: Option<Ts>) -> V<'static> {
    t.map_or(V::Absent, ts)
}
fn money(v: i64, c: Currency) -> V<'static> {
    V::Text(c.format_minor(v))
}
fn cur(c: Option<Currency>) -> V<'static> {
    // Currency codes are 'static in spirit but borrowed from the value; copy them.
    c.map_or(V::Absent, |c| V::Text(c.code().to_string()))
}
/// A fixed-point decimal without trailing zeros: `12500, 3 → "12.5"`.
fn decimal(v: i64, scale: u8) -> String {
    let s = format_minor(v, scale);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The fields of `r` in schema order (customers: without attributes). `line_currency`: the currency of an
/// invoice line's invoice.
fn fields(r: &Record, line_currency: Option<Currency>) -> Vec<V<'_>> {
    match r {
        Record::Customer(c) => vec![
            V::Str(&c.id),
            if c.external_ids.is_empty() { V::Absent } else { V::List(&c.external_ids) },
            opt(&c.name),
            opt(&c.email),
            opt(&c.domain),
            opt_ts(c.created_at),
            opt_ts(c.valid_from),
        ],
        Record::Plan(p) => vec![
            V::Str(&p.id),
            opt(&p.name),
            opt(&p.product),
            cur(Some(p.currency)),
            money(p.amount, p.currency),
            V::Str(p.price_type.as_str()),
            p.interval.map_or(V::Absent, |i| V::Str(i.as_str())),
            V::Int(p.interval_count as i64),
            V::Str(p.usage_type.as_str()),
        ],
        Record::Discount(d) => vec![
            V::Str(&d.id),
            opt(&d.name),
            V::Str(d.duration.as_str()),
            d.duration_in_months.map_or(V::Absent, |m| V::Int(m as i64)),
            d.percent_off_milli.map_or(V::Absent, |p| V::Text(decimal(p, 3))),
            match (d.amount_off, d.currency) {
                (Some(a), Some(c)) => money(a, c),
                (Some(a), None) => V::Int(a), // unreadable without a currency; the reader will say so
                (None, _) => V::Absent,
            },
            cur(d.currency),
            opt(&d.customer_id),
            opt(&d.subscription_id),
            opt_ts(d.start),
            opt_ts(d.end),
        ],
        Record::FxRate(x) => vec![
            V::Text(day_to_date(x.day).to_string()),
            cur(Some(x.base)),
            cur(Some(x.quote)),
            V::Text(decimal(x.rate.0, 9)),
        ],
        Record::Subscription(s) => vec![
            V::Str(&s.id),
            V::Str(&s.customer_id),
            V::Str(s.status.as_str()),
            cur(s.currency),
            opt_ts(s.created_at),
            opt_ts(s.started_at),
            opt_ts(s.trial_start),
            opt_ts(s.trial_end),
            V::Bool(s.cancel_at_period_end),
            opt_ts(s.cancel_at),
            opt_ts(s.canceled_at),
            opt_ts(s.ended_at),
            opt_ts(s.unpaid_since),
            opt_ts(s.pause_start),
            opt_ts(s.pause_end),
            opt(&s.cancellation_reason),
        ],
        Record::SubscriptionItem(i) => vec![
            V::Str(&i.id),
            V::Str(&i.subscription_id),
            V::Str(&i.plan_id),
            V::Int(i.quantity),
            ts(i.valid_from),
            opt_ts(i.valid_to),
        ],
        Record::ScheduledItem(x) => vec![
            V::Str(&x.id),
            V::Str(&x.subscription_id),
            V::Str(&x.plan_id),
            V::Int(x.quantity),
            ts(x.valid_from),
            opt_ts(x.valid_to),
            ts(x.scheduled_at),
            opt_ts(x.withdrawn_at),
        ],
        Record::Invoice(i) => vec![
            V::Str(&i.id),
            V::Str(&i.customer_id),
            cur(Some(i.currency)),
            V::Str(i.status.as_str()),
            ts(i.issued_at),
            opt_ts(i.due_at),
            opt_ts(i.paid_at),
            money(i.total, i.currency),
            money(i.amount_paid, i.currency),
            money(i.amount_refunded, i.currency),
        ],
        Record::InvoiceLine(l) => {
            let c = line_currency.unwrap_or(Currency::USD);
            vec![
                V::Str(&l.id),
                V::Str(&l.invoice_id),
                cur(Some(c)),
                opt(&l.subscription_id),
                opt(&l.item_id),
                opt(&l.plan_id),
                V::Str(l.price_type.as_str()),
                opt_ts(l.period_start),
                opt_ts(l.period_end),
                money(l.amount, c),
                if l.discounts.is_empty() { V::Absent } else { V::Discounts(&l.discounts, c) },
                money(l.tax_inclusive, c),
                V::Int(l.quantity),
                V::Bool(l.prorated),
            ]
        }
    }
}

/// Appends `v` as a CSV cell's text. Errors for values the CSV form cannot carry.
fn csv_cell(v: &V<'_>, out: &mut String, col: &str) -> io::Result<()> {
    use std::fmt::Write as _;
    out.clear();
    match v {
        V::Absent => {}
        V::Str(s) => out.push_str(s),
        V::Text(s) => out.push_str(s),
        V::Int(i) => {
            let _ = write!(out, "{i}");
        }
        V::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        V::List(items) => {
            for (k, s) in items.iter().enumerate() {
                if s.contains('|') || s.trim().is_empty() || s.trim() != s {
                    return Err(invalid(format!("{col}: {s:?} cannot be written in a `|`-separated CSV list")));
                }
                if k > 0 {
                    out.push('|');
                }
                out.push_str(s);
            }
        }
        V::Discounts(ds, c) => {
            for (k, d) in ds.iter().enumerate() {
                if d.discount_id.contains('|') || d.discount_id.trim().is_empty() || d.discount_id.trim() != d.discount_id {
                    return Err(invalid(format!("{col}: discount id {:?} cannot be written in CSV", d.discount_id)));
                }
                if k > 0 {
                    out.push('|');
                }
                let _ = write!(out, "{}:{}", d.discount_id, c.format_minor(d.amount));
            }
        }
    }
    Ok(())
}

/// Appends `"name":value` (with a leading comma unless first) to a JSON object being built.
fn json_member(out: &mut Vec<u8>, first: &mut bool, name: &str, v: &V<'_>) {
    if matches!(v, V::Absent) {
        return;
    }
    if !*first {
        out.push(b',');
    }
    *first = false;
    json_str(out, name);
    out.push(b':');
    match v {
        V::Absent => {}
        V::Str(s) => json_str(out, s),
        V::Text(s) => json_str(out, s),
        V::Int(i) => {
            let _ = write!(out, "{i}");
        }
        V::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        V::List(items) => {
            out.push(b'[');
            for (k, s) in items.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                json_str(out, s);
            }
            out.push(b']');
        }
        V::Discounts(ds, c) => {
            out.push(b'[');
            for (k, d) in ds.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"discount_id\":");
                json_str(out, &d.discount_id);
                out.extend_from_slice(b",\"amount\":");
                json_str(out, &c.format_minor(d.amount));
                out.push(b'}');
            }
            out.push(b']');
        }
    }
}

fn json_str(out: &mut Vec<u8>, s: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

enum Out {
    Csv(Box<csv::Writer<File>>),
    Jsonl(BufWriter<File>),
}

/// Streams records into neutral files in a directory: one file per kind, created at the first record of
/// that kind (so only non-empty kinds get a file).
///
/// * Invoices must be written before their lines: a line's amounts are formatted in its invoice's
///   currency (lines of unknown invoices are an `InvalidInput` error). Lines also get a `currency` column.
/// * In CSV, customers are buffered until [`DatasetWriter::finish`], because their attribute columns are the
///   union of all customers' attribute names.
/// * [`DatasetWriter::create`] deletes the directory's existing neutral files (the 16 names
///   `{kind}.csv`/`{kind}.jsonl`) so that the directory reads back as exactly what was written; other files
///   are left alone.
/// * Call [`DatasetWriter::finish`]: dropping the writer loses buffered customers and write errors.
pub struct DatasetWriter {
    dir: PathBuf,
    format: Format,
    outs: [Option<Out>; SourceKind::ALL.len()],
    customers: Vec<CustomerRecord>,
    invoice_currency: FpMap<Currency>,
    cell: String,
    line: Vec<u8>,
}

impl DatasetWriter {
    pub fn create(dir: &Path, format: Format) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        for k in SourceKind::ALL {
            for f in [Format::Csv, Format::Jsonl] {
                match std::fs::remove_file(dir.join(k.file_name(f))) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
        }
        Ok(DatasetWriter {
            dir: dir.to_path_buf(),
            format,
            outs: Default::default(),
            customers: Vec::new(),
            invoice_currency: FpMap::default(),
            cell: String::new(),
            line: Vec::new(),
        })
    }

    fn out(&mut self, kind: SourceKind, header: Option<&[&str]>) -> io::Result<&mut Out> {
        let slot = &mut self.outs[kind as usize];
        if slot.is_none() {
            let file = File::create(self.dir.join(kind.file_name(self.format)))?;
            *slot = Some(match self.format {
                Format::Csv => {
                    let mut w = csv::WriterBuilder::new().buffer_capacity(1 << 17).from_writer(file);
                    let names: Vec<&str> = match header {
                        Some(h) => h.to_vec(),
                        None => schema::cols(kind).iter().map(|c| c.name).collect(),
                    };
                    w.write_record(&names)?;
                    Out::Csv(Box::new(w))
                }
                Format::Jsonl => Out::Jsonl(BufWriter::with_capacity(1 << 17, file)),
            });
        }
        Ok(slot.as_mut().expect("just set"))
    }

    pub fn write(&mut self, r: &Record) -> io::Result<()> {
        let kind = crate::fp::kind_of(r);
        let line_currency = match r {
            Record::Invoice(i) => {
                self.invoice_currency.insert(fp128(i.id.as_bytes()), i.currency);
                None
            }
            Record::InvoiceLine(l) => Some(*self.invoice_currency.get(&fp128(l.invoice_id.as_bytes())).ok_or_else(|| {
                invalid(format!(
                    "invoice line {:?}: its invoice {:?} was not written before it (write invoices first: line amounts are formatted in the invoice's currency)",
                    l.id, l.invoice_id
                ))
            })?),
            Record::Customer(c) if self.format == Format::Csv => {
                self.customers.push(c.clone());
                return Ok(());
            }
            _ => None,
        };
        let vals = fields(r, line_currency);
        let cols = schema::cols(kind);
        match self.format {
            Format::Csv => {
                let mut cell = std::mem::take(&mut self.cell);
                let res = (|| {
                    let Out::Csv(w) = self.out(kind, None)? else { unreachable!() };
                    for (v, c) in vals.iter().zip(cols) {
                        csv_cell(v, &mut cell, c.name)?;
                        w.write_field(cell.as_bytes())?;
                    }
                    w.write_record(None::<&[u8]>)?;
                    Ok(())
                })();
                self.cell = cell;
                res
            }
            Format::Jsonl => {
                let mut line = std::mem::take(&mut self.line);
                line.clear();
                line.push(b'{');
                let mut first = true;
                for (v, c) in vals.iter().zip(cols) {
                    json_member(&mut line, &mut first, c.name, v);
                }
                if let Record::Customer(c) = r {
                    if !c.attributes.is_empty() {
                        if !first {
                            line.push(b',');
                        }
                        line.extend_from_slice(b"\"attributes\":");
                        let _ = serde_json::to_writer(&mut line, &c.attributes);
                    }
                }
                line.extend_from_slice(b"}\n");
                let res = match self.out(kind, None) {
                    Ok(Out::Jsonl(w)) => w.write_all(&line),
                    Ok(Out::Csv(_)) => unreachable!(),
                    Err(e) => Err(e),
                };
                self.line = line;
                res
            }
        }
    }

    /// Writes buffered customers and flushes every file.
    pub fn finish(mut self) -> io::Result<()> {
        if !self.customers.is_empty() {
            let customers = std::mem::take(&mut self.customers);
            let mut attrs: BTreeSet<&str> = BTreeSet::new();
            for c in &customers {
                attrs.extend(c.attributes.keys().map(String::as_str));
            }
            for a in &attrs {
                if a.trim().is_empty() || a.trim() != *a || cu::COLS.iter().any(|c| c.matches(a)) {
                    return Err(invalid(format!("customer attribute name {a:?} cannot be a CSV column")));
                }
            }
            let mut header: Vec<&str> = cu::COLS.iter().map(|c| c.name).collect();
            header.extend(attrs.iter().copied());
            let mut cell = String::new();
            let Out::Csv(w) = self.out(SourceKind::Customers, Some(&header))? else { unreachable!() };
            for c in &customers {
                let r = Record::Customer(c.clone());
                for (v, col) in fields(&r, None).iter().zip(cu::COLS) {
                    csv_cell(v, &mut cell, col.name)?;
                    w.write_field(cell.as_bytes())?;
                }
                for a in &attrs {
                    w.write_field(c.attributes.get(*a).map_or(&b""[..], |s| s.as_bytes()))?;
                }
                w.write_record(None::<&[u8]>)?;
            }
        }
        for o in self.outs.iter_mut().flatten() {
            match o {
                Out::Csv(w) => w.flush()?,
                Out::Jsonl(w) => w.flush()?,
            }
        }
        Ok(())
    }
}
