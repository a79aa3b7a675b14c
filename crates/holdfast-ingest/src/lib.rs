//! Holdfast's *neutral billing format*: reading and writing CSV and JSONL files of billing records.
//!
//! An import is a directory (or a single file) holding one file per record kind, named after the kind:
//! `customers`, `plans`, `discounts`, `fx_rates`, `subscriptions`, `subscription_items`, `scheduled_items`, `invoices`,
//! `invoice_lines`, each `.csv` or `.jsonl`. Columns are the fields of the records in
//! [`holdfast_core::records`]; `docs/formats.md` documents every column.
//!
//! * [`discover`] lists the files of an import in dependency order.
//! * [`Reader`] streams them into parsed [`Record`]s ("parse, don't validate"): every bad value is an
//!   [`ImportError`] naming the file, the 1-based line, the field, the value and what was expected.
//!   Money is read in major units and converted exactly into minor units with the row's currency (invoice
//!   lines use their invoice's); a key repeated in one import must have identical content.
//! * [`read_dataset`] reads a whole import into a [`Dataset`].
//! * [`write_dataset`] and the streaming [`DatasetWriter`] write records back as neutral files;
//!   `read_dataset(write_dataset(ds))` gives back `ds`.
//!
//! Nothing here panics on any input: malformed bytes, truncated files, invalid UTF-8 and absurd values
//! are all errors.
mod error;
mod fp;
mod parse;
mod read;
mod schema;
mod src;
mod write;

pub use error::ImportError;
pub use read::Reader;
pub use write::DatasetWriter;

use holdfast_core::records::{Dataset, Record};
use std::fmt;
use std::path::{Path, PathBuf};

/// The kinds of neutral files, in dependency order (what a kind refers to comes before it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    Customers,
    Plans,
    Discounts,
    FxRates,
    Subscriptions,
    SubscriptionItems,
    ScheduledItems,
    Invoices,
    InvoiceLines,
}

impl SourceKind {
    /// Every kind, in dependency order.
    pub const ALL: [SourceKind; 9] = [
        SourceKind::Customers,
        SourceKind::Plans,
        SourceKind::Discounts,
        SourceKind::FxRates,
        SourceKind::Subscriptions,
        SourceKind::SubscriptionItems,
        SourceKind::ScheduledItems,
        SourceKind::Invoices,
        SourceKind::InvoiceLines,
    ];

    /// The kind's name: `customers`, `fx_rates`, `invoice_lines`, …
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceKind::Customers => "customers",
            SourceKind::Plans => "plans",
            SourceKind::Discounts => "discounts",
            SourceKind::FxRates => "fx_rates",
            SourceKind::Subscriptions => "subscriptions",
            SourceKind::SubscriptionItems => "subscription_items",
            SourceKind::ScheduledItems => "scheduled_items",
            SourceKind::Invoices => "invoices",
            SourceKind::InvoiceLines => "invoice_lines",
        }
    }

    /// The file stem of the kind's files (the same as [`SourceKind::as_str`]).
    pub fn file_stem(&self) -> &'static str {
        self.as_str()
    }

    /// `invoice_lines.csv`, `customers.jsonl`, …
    pub fn file_name(&self, format: Format) -> String {
        format!("{}.{}", self.file_stem(), format.extension())
    }

    /// The kind whose file stem is `stem` (ASCII case-insensitive).
    pub fn from_stem(stem: &str) -> Option<SourceKind> {
        SourceKind::ALL.into_iter().find(|k| k.file_stem().eq_ignore_ascii_case(stem))
    }

    /// The column (field) names of the kind's files, in the order the writer emits them.
    pub fn columns(&self) -> Vec<&'static str> {
        schema::cols(*self).iter().map(|c| c.name).collect()
    }

    /// The kind's records in a [`Record`].
    pub fn of(r: &Record) -> SourceKind {
        fp::kind_of(r)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// File format of a neutral file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// UTF-8 CSV with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// `csv` or `jsonl`.
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    /// The format of a file extension (ASCII case-insensitive, without the dot).
    pub fn from_extension(ext: &str) -> Option<Format> {
        if ext.eq_ignore_ascii_case("csv") {
            Some(Format::Csv)
        } else if ext.eq_ignore_ascii_case("jsonl") {
            Some(Format::Jsonl)
        } else {
            None
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// One importable file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub kind: SourceKind,
    pub path: PathBuf,
    pub format: Format,
    /// Size in bytes, for progress bars.
    pub bytes: u64,
}

fn known_names() -> String {
    SourceKind::ALL.iter().map(|k| k.file_stem()).collect::<Vec<_>>().join(", ")
}

/// Stems of files that other importers read from the same directory (customer-success signals,
/// `holdfast-signals`): discovery leaves them alone instead of rejecting them as unknown kinds.
pub const OTHER_SOURCE_STEMS: [&str; 7] = ["tickets", "survey_responses", "cancellations", "funnel", "visits", "spend", "referrals"];

/// The kind and format of a `.csv`/`.jsonl` path; `Ok(None)` for other extensions and other importers' files.

/// Whether a file stem names product usage events (`events`, `events_2025-01`, `events-part1`): Segment
/// messages, read by `holdfast-usage`, not by this crate.
pub fn is_usage_events_stem(stem: &str) -> bool {
    let s = stem.to_ascii_lowercase();
    s == "events" || s.starts_with("events_") || s.starts_with("events-")
}

/// The kind and format of a `.csv`/`.jsonl` path; `Ok(None)` for other extensions and usage event files.
fn classify(path: &Path) -> Result<Option<(SourceKind, Format)>, ImportError> {
    let Some(format) = path.extension().and_then(|e| e.to_str()).and_then(Format::from_extension) else {
        return Ok(None);
    };
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if OTHER_SOURCE_STEMS.iter().any(|o| o.eq_ignore_ascii_case(&stem)) || is_usage_events_stem(&stem) {
        return Ok(None);
    }
    match SourceKind::from_stem(&stem) {
        Some(k) => Ok(Some((k, format))),
        None => Err(ImportError::new(
            path,
            format!("a file named after a known kind: {} (with extension .csv or .jsonl)", known_names()),
        )
        .with_value(&stem)),
    }
}

/// The regular, non-hidden files directly in the directory `dir`, with their sizes (unsorted). Every
/// importer's discovery starts here.
pub fn visible_files(dir: &Path) -> Result<Vec<(PathBuf, u64)>, ImportError> {
    let unreadable = |e: std::io::Error| ImportError::new(dir, format!("a readable directory ({e})"));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let p = entry.path();
        let md = std::fs::metadata(&p).map_err(|e| ImportError::new(&p, format!("a readable file ({e})")))?;
        if md.is_file() {
            out.push((p, md.len()));
        }
    }
    Ok(out)
}

/// Lists the importable files of `path`: a directory (non-recursive; files that are not `.csv`/`.jsonl`
/// and hidden files are ignored, but a `.csv`/`.jsonl` whose stem is not a known kind is an error listing
/// the known names) or a single file. Sorted in dependency order (customers, plans, discounts, fx_rates,
/// subscriptions, subscription_items, invoices, invoice_lines), then CSV before JSONL, then by path.
/// An empty directory gives an empty list.
pub fn discover(path: &Path) -> Result<Vec<SourceFile>, ImportError> {
    let md = std::fs::metadata(path).map_err(|e| ImportError::new(path, format!("an existing file or directory ({e})")))?;
    let mut out = Vec::new();
    if md.is_dir() {
        for (p, bytes) in visible_files(path)? {
            if let Some((kind, format)) = classify(&p)? {
                out.push(SourceFile { kind, path: p, format, bytes });
            }
        }
    } else {
        match classify(path)? {
            Some((kind, format)) => out.push(SourceFile { kind, path: path.to_path_buf(), format, bytes: md.len() }),
            None => {
                return Err(ImportError::new(
                    path,
                    format!("a .csv or .jsonl file named after a known kind ({}), or a directory of them", known_names()),
                ))
            }
        }
    }
    out.sort_by(|a, b| (a.kind, a.format, &a.path).cmp(&(b.kind, b.format, &b.path)));
    Ok(out)
}

/// Reads every importable file under `path` (see [`discover`]) into a [`Dataset`].
pub fn read_dataset(path: &Path) -> Result<Dataset, ImportError> {
    let mut ds = Dataset::default();
    let mut reader = Reader::new();
    for f in discover(path)? {
        reader.read_file(
            &f,
            &mut |r| {
                ds.push(r);
                Ok(())
            },
            &mut |_| {},
        )?;
    }
    Ok(ds)
}

/// Writes `ds` as neutral files in `dir` (created if missing), one file per non-empty kind, such that
/// [`read_dataset`]`(dir)` gives back `ds`. Existing neutral files in `dir` are replaced or removed.
/// Values the format cannot carry (a `|` inside a CSV list item, a line whose invoice is not in `ds`) are an
/// [`std::io::ErrorKind::InvalidInput`] error. Absent and empty strings are the same in the format, so
/// `Some("")` reads back as `None`.
pub fn write_dataset(ds: &Dataset, dir: &Path, format: Format) -> std::io::Result<()> {
    let mut w = DatasetWriter::create(dir, format)?;
    for r in ds.records() {
        w.write(&r)?;
    }
    w.finish()
}
