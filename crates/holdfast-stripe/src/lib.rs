//! Reads what Stripe's API returns — list pages, single objects, arrays of objects, JSONL exports and
//! events — and maps it onto Holdfast's neutral records ([`holdfast_core::records`]).
//!
//! * Input: a directory of `.json` files (one JSON document each: a list page
//!   `{"object":"list","data":[…]}`, a single object, or an array of objects) and `.jsonl`/`.ndjson` files
//!   (one object per line). Other files and hidden files are ignored; files are read in name order.
//! * Objects: `customer`, `product`, `price` and legacy `plan`, `subscription` (with `items.data`),
//!   `invoice` (with `lines.data`; truncated lines must come as a separate page whose `url` is
//!   `/v1/invoices/{id}/lines`, or as `line_item` objects naming their `invoice`), `coupon`, `discount`,
//!   `charge`/`refund` (refunded amounts), `credit_note` (credits as negative lines over the credited line's
//!   period) and `event` (its `data.object`, applied as the latest state in
//!   `created` order). Truncated subscription items (`items.has_more`) must come as `subscription_item`
//!   objects (they name their `subscription`). Billing objects the records cannot hold (
//!   `subscription_schedule`, `dispute`, `invoiceitem`, …) and Stripe objects without billing facts that a
//!   full events export contains (`payment_method`, `checkout.session`, …) are known but skipped (counted in
//!   [`Report`]). Any other `object` is an error (the message lists the known types).
//! * Both API shapes are read: before 2025-03-31 (periods on the subscription, line `price`/`proration`/
//!   `subscription_item`/`tax_amounts`, invoice `subscription`) and from 2025-03-31 "basil" on (periods on
//!   the items, line `parent.subscription_item_details`, `pricing.price_details.price`, `taxes[]`, invoice
//!   `parent.subscription_details`). The shape is detected per object from the fields present; an object
//!   whose shape cannot be told, or one file mixing both shapes, is an error — a wrong guess would give
//!   silently wrong MRR.
//!
//! [`sync`] fetches the same objects live from Stripe's REST API into a store (all or nothing, resumable
//! from a cursor kept in the store).
//!
//! [`webhook`] holds the logic of Stripe webhooks (signature verification, apply-once, out-of-order
//! delivery) for the server's endpoint.
//!
//! Reading stops at the first error ([`StripeError`] names the file, the line when known, the object,
//! the field, the value and what was expected). Nothing here panics on input.
// An error ends the import, once: its size on the error path does not matter.
#![allow(clippy::result_large_err)]
mod error;
mod map;
pub mod mrr_export;
pub mod sync;
pub mod webhook;

pub use error::StripeError;

use holdfast_core::records::Dataset;
use holdfast_core::time::Ts;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What was read besides the records: skipped objects and facts the records cannot hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Objects read, by Stripe `object` type (events counted as `event`).
    pub objects: BTreeMap<String, usize>,
    /// Objects known but not mapped, by type (e.g. `subscription_schedule`).
    pub skipped: BTreeMap<String, usize>,
    /// Facts that were present but could not be represented (one line each, with the object id).
    pub notes: Vec<String>,
}

/// Reads every Stripe file of a directory (or a single file) into a [`Dataset`].
pub fn read_dir(path: &Path) -> Result<Dataset, StripeError> {
    read_dir_report(path).map(|(d, _)| d)
}

/// Like [`read_dir`], also returning what was skipped.
pub fn read_dir_report(path: &Path) -> Result<(Dataset, Report), StripeError> {
    let files = discover(path)?;
    let mut objs = Vec::new();
    for (i, f) in files.iter().enumerate() {
        read_file(f, i, &mut objs)?;
    }
    map::map(&files, objs)
}

/// Reads already-parsed JSON documents (each a list page, an object or an array), as if each were a file
/// with the given name. Useful for tests and for callers fetching pages from the API.
pub fn read_values(docs: Vec<(String, Value)>) -> Result<(Dataset, Report), StripeError> {
    let mut files = Vec::new();
    let mut objs = Vec::new();
    for (i, (name, v)) in docs.into_iter().enumerate() {
        files.push(PathBuf::from(name));
        push_doc(v, Origin { file: i, line: None }, &mut objs);
    }
    map::map(&files, objs)
}

fn discover(path: &Path) -> Result<Vec<PathBuf>, StripeError> {
    let meta = std::fs::metadata(path).map_err(|e| StripeError::file(path, format!("a readable file or directory ({e})")))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let rd = std::fs::read_dir(path).map_err(|e| StripeError::file(path, format!("a readable directory ({e})")))?;
    let mut files = Vec::new();
    for e in rd {
        let e = e.map_err(|e| StripeError::file(path, format!("a readable directory ({e})")))?;
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || !p.is_file() {
            continue;
        }
        if kind_of(&p).is_some() {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Json,
    Jsonl,
}

fn kind_of(p: &Path) -> Option<FileKind> {
    let ext = p.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "json" => Some(FileKind::Json),
        "jsonl" | "ndjson" => Some(FileKind::Jsonl),
        _ => None,
    }
}

/// Where an object came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    pub file: usize,
    pub line: Option<usize>,
}

/// One top-level object as read, before mapping.
#[derive(Clone, Debug)]
pub(crate) struct Raw {
    pub origin: Origin,
    pub v: Value,
    /// For a line item read from a separate lines page: the invoice it belongs to.
    pub lines_of: Option<String>,
}

fn read_file(p: &Path, fi: usize, out: &mut Vec<Raw>) -> Result<(), StripeError> {
    let bytes = std::fs::read(p).map_err(|e| StripeError::file(p, format!("a readable file ({e})")))?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let off = e.valid_up_to();
            let line = bytes[..off].iter().filter(|&&b| b == b'\n').count() + 1;
            let mut err = StripeError::file(p, format!("UTF-8 text (invalid byte at offset {off})"));
            err.line = Some(line);
            return Err(err);
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match kind_of(p).unwrap_or(FileKind::Json) {
        FileKind::Json => {
            let v: Value = serde_json::from_str(text).map_err(|e| syntax(p, &e, 0))?;
            push_doc(v, Origin { file: fi, line: None }, out);
        }
        FileKind::Jsonl => {
            for (i, l) in text.lines().enumerate() {
                if l.trim().is_empty() {
                    continue;
                }
                let v: Value = serde_json::from_str(l).map_err(|e| syntax(p, &e, i))?;
                push_doc(v, Origin { file: fi, line: Some(i + 1) }, out);
            }
        }
    }
    Ok(())
}

fn syntax(p: &Path, e: &serde_json::Error, line0: usize) -> StripeError {
    let mut err = StripeError::file(p, format!("valid JSON ({e})"));
    err.line = Some(line0 + e.line().max(1));
    err.column = Some(e.column());
    if e.classify() == serde_json::error::Category::Eof {
        err.expected = format!("a complete JSON document (truncated file?; {e})");
    }
    err
}

/// Flattens list pages and arrays into objects.
fn push_doc(v: Value, origin: Origin, out: &mut Vec<Raw>) {
    match v {
        Value::Array(a) => {
            for x in a {
                push_doc(x, origin, out);
            }
        }
        Value::Object(mut m) if matches!(m.get("object").and_then(Value::as_str), Some("list" | "search_result")) => {
            let lines_of = m.get("url").and_then(Value::as_str).and_then(invoice_of_lines_url);
            if let Some(Value::Array(a)) = m.remove("data") {
                for x in a {
                    match &lines_of {
                        Some(inv) => out.push(Raw { origin, v: x, lines_of: Some(inv.clone()) }),
                        None => push_doc(x, origin, out),
                    }
                }
            }
        }
        v => out.push(Raw { origin, v, lines_of: None }),
    }
}

/// `/v1/invoices/in_123/lines` → `in_123`.
fn invoice_of_lines_url(url: &str) -> Option<String> {
    let rest = url.strip_prefix("/v1/invoices/")?;
    let (id, tail) = rest.split_once('/')?;
    (tail.starts_with("lines") && !id.is_empty()).then(|| id.to_string())
}

pub(crate) fn ts(v: &Value) -> Option<Ts> {
    v.as_i64()
}
