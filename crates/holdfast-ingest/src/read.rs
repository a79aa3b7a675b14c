//! The streaming reader: CSV and JSONL files → records, with per-import state.
use crate::error::{clip, io_error, ImportError};
use crate::fp::{fp128, key_display, kind_of, Canon, DupTable};
use crate::parse::{self, parse_record, ParseState};
use crate::src::{CsvHeader, CsvSrc, JsonSrc};
use crate::{Format, SourceFile, SourceKind};
use holdfast_core::records::Record;
use serde_json::Value;
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::xxh3_64;

/// Rows parsed before their keys are checked, so that the key slots can be prefetched meanwhile.
const BATCH: usize = 16;
/// Progress is reported at least every this many bytes.
const PROGRESS_EVERY: u64 = 64 * 1024;
const LINE_BITS: u32 = 40;
const LINE_MASK: u64 = (1 << LINE_BITS) - 1;

/// Streaming reader over all files of one import.
///
/// Per import it remembers each invoice's currency (to parse the amounts of its lines) and a fingerprint
/// of every record's source key with a hash of its content: a key seen again with identical content is
/// skipped (not passed to the sink again), with different content it is an error naming both rows.
/// Reading stops at the first error.
pub struct Reader {
    files: Vec<PathBuf>,
    /// Per kind: key fingerprint → (content hash, file index << 40 | line).
    seen: [DupTable; SourceKind::ALL.len()],
    st: ParseState,
    canon: Canon,
    duplicates: u64,
    /// Reused single-record batch of [`Reader::emit`].
    one: Vec<Pending>,
}

impl Default for Reader {
    fn default() -> Self {
        Reader::new()
    }
}

impl Reader {
    pub fn new() -> Self {
        Reader {
            files: Vec::new(),
            seen: Default::default(),
            st: ParseState::default(),
            canon: Canon::default(),
            duplicates: 0,
            one: Vec::new(),
        }
    }

    /// Identical duplicate rows skipped so far in this import.
    pub fn duplicates_skipped(&self) -> u64 {
        self.duplicates
    }

    /// Reads one file, calling `sink` for every record (skipping identical duplicates) and `progress` with
    /// the bytes of this file read so far (every ~64 KiB and once at the end). Returns the number of records
    /// passed to `sink`.
    pub fn read_file(
        &mut self,
        f: &SourceFile,
        sink: &mut dyn FnMut(Record) -> Result<(), ImportError>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, ImportError> {
        let file = std::fs::File::open(&f.path).map_err(|e| io_error(&f.path, &e))?;
        // Size the duplicate table up front (a CSV row is ~150 bytes, a JSON line ~350): growing it
        // rehashes every key. Underestimating costs one more rehash, overestimating memory.
        let per_row = match f.format {
            Format::Csv => 150,
            Format::Jsonl => 350,
        };
        let expect_rows = (f.bytes / per_row).min(1 << 28) as usize;
        self.seen[f.kind as usize].reserve(expect_rows);
        self.read_stream(f.kind, f.format, &f.path, file, sink, progress)
    }

    /// Like [`Reader::read_file`] for any byte stream (stdin, a decompressor, a test buffer); `name` is
    /// used in errors.
    pub fn read_stream<R: Read>(
        &mut self,
        kind: SourceKind,
        format: Format,
        name: &Path,
        input: R,
        sink: &mut dyn FnMut(Record) -> Result<(), ImportError>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, ImportError> {
        let idx = self.files.len();
        self.files.push(name.to_path_buf());
        match format {
            Format::Csv => self.read_csv(kind, name, idx, input, sink, progress),
            Format::Jsonl => self.read_jsonl(kind, name, idx, input, sink, progress),
        }
    }

    /// Fingerprints a parsed record and prefetches its key's slot; [`Reader::flush`] checks it later.
    fn pend(&mut self, rec: Record, line: u64, batch: &mut Vec<Pending>) {
        let key_len = self.canon.content(&rec);
        let key = fp128(&self.canon.buf[..key_len]);
        let content = xxh3_64(&self.canon.buf);
        self.seen[kind_of(&rec) as usize].prefetch(key);
        batch.push(Pending { rec, line, key, content });
    }

    /// Checks the keys of `batch` in order and passes new records to `sink`: an identical duplicate is
    /// skipped, a conflicting one is an error naming both rows. Returns the records passed on.
    fn flush(
        &mut self,
        batch: &mut Vec<Pending>,
        file_idx: usize,
        sink: &mut dyn FnMut(Record) -> Result<(), ImportError>,
    ) -> Result<u64, ImportError> {
        let mut n = 0;
        for p in batch.drain(..) {
            let loc = ((file_idx as u64) << LINE_BITS) | (p.line & LINE_MASK);
            match self.seen[kind_of(&p.rec) as usize].insert(p.key, p.content, loc) {
                None => {
                    sink(p.rec)?;
                    n += 1;
                }
                Some((c0, _)) if c0 == p.content => self.duplicates += 1,
                Some((_, loc0)) => {
                    let (f0, l0) = ((loc0 >> LINE_BITS) as usize, loc0 & LINE_MASK);
                    let at = if f0 == file_idx {
                        format!("line {l0}")
                    } else {
                        format!("{}:{l0}", self.files.get(f0).map(|p| p.display().to_string()).unwrap_or_default())
                    };
                    let (field, value) = key_display(&p.rec);
                    return Err(ImportError::at(
                        &self.files[file_idx],
                        p.line,
                        format!(
                            "the same content as the earlier row with this key ({at}): within one import a key may repeat only with identical content"
                        ),
                    )
                    .with_field(field)
                    .with_value(&value));
                }
            }
        }
        Ok(n)
    }

    fn read_csv<R: Read>(
        &mut self,
        kind: SourceKind,
        name: &Path,
        idx: usize,
        input: R,
        sink: &mut dyn FnMut(Record) -> Result<(), ImportError>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, ImportError> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 17)
            .from_reader(LineTracker::new(input));
        let mut rec = csv::ByteRecord::new();
        let csv_err = |e: csv::Error| {
            let line = e.position().map(|p| p.line());
            let mut err = ImportError::new(name, format!("a readable CSV file ({e})"));
            err.line = line;
            err
        };
        if !rdr.read_byte_record(&mut rec).map_err(csv_err)? {
            return Err(ImportError::at(name, 1, "a header row naming the columns (the file is empty)"));
        }
        let h = CsvHeader::build(kind, &rec, name)?;
        let mut rows = 0u64;
        let mut reported = 0u64;
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            let step = self.csv_row(kind, &h, name, &mut rdr, &mut rec, &mut batch);
            match step {
                Ok(true) if batch.len() < BATCH => continue,
                Ok(more) => {
                    rows += self.flush(&mut batch, idx, sink)?;
                    if !more {
                        break;
                    }
                }
                Err(e) => {
                    // Rows before the bad one come first: they may hold an earlier error.
                    self.flush(&mut batch, idx, sink)?;
                    return Err(e);
                }
            }
            let pos = rdr.position().byte();
            if pos - reported >= PROGRESS_EVERY {
                progress(pos);
                reported = pos;
            }
        }
        progress(rdr.position().byte());
        Ok(rows)
    }

    /// Checks and passes on one record at once.
    fn emit(
        &mut self,
        rec: Record,
        file_idx: usize,
        line: u64,
        sink: &mut dyn FnMut(Record) -> Result<(), ImportError>,
    ) -> Result<u64, ImportError> {
        let mut one = std::mem::take(&mut self.one);
        self.pend(rec, line, &mut one);
        let res = self.flush(&mut one, file_idx, sink);
        self.one = one;
        res
    }

    /// Reads and parses one CSV row into `batch`; `Ok(false)` at the end of the file.
    fn csv_row<R: Read>(
        &mut self,
        kind: SourceKind,
        h: &CsvHeader,
        name: &Path,
        rdr: &mut csv::Reader<LineTracker<R>>,
        rec: &mut csv::ByteRecord,
        batch: &mut Vec<Pending>,
    ) -> Result<bool, ImportError> {
        loop {
            let more = rdr.read_byte_record(rec).map_err(|e| {
                let mut err = ImportError::new(name, format!("a readable CSV file ({e})"));
                err.line = e.position().map(|p| p.line());
                err
            })?;
            if !more {
                return Ok(false);
            }
            let line = rdr.get_mut().line_at(rec.position().map(|p| p.byte()).unwrap_or(0));
            if rec.len() == 1 && h.width > 1 && crate::src::is_blank(&rec[0]) {
                continue; // a whitespace-only line
            }
            if rec.len() != h.width {
                let mut e = ImportError::at(
                    name,
                    line,
                    format!(
                        "{} fields as in the header, found {}{}",
                        h.width,
                        rec.len(),
                        if rec.len() < h.width { " (truncated row or file?)" } else { " (unquoted comma or extra column?)" }
                    ),
                );
                if rec.len() < h.width {
                    e = e.with_field(h.names[rec.len()].clone());
                }
                return Err(e);
            }
            let r = parse_record(kind, &CsvSrc::new(rec, h, name, line), &mut self.st).map_err(|e| *e)?;
            self.pend(r, line, batch);
            return Ok(true);
        }
    }

    fn read_jsonl<R: Read>(
        &mut self,
        kind: SourceKind,
        name: &Path,
        idx: usize,
        input: R,
        sink: &mut dyn FnMut(Record) -> Result<(), ImportError>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, ImportError> {
        let mut r = BufReader::with_capacity(1 << 17, input);
        let mut buf: Vec<u8> = Vec::new();
        let (mut line, mut pos, mut reported, mut rows) = (0u64, 0u64, 0u64, 0u64);
        loop {
            buf.clear();
            let n = r.read_until(b'\n', &mut buf).map_err(|e| io_error(name, &e).with_line(line + 1))?;
            if n == 0 {
                break;
            }
            line += 1;
            pos += n as u64;
            let complete = buf.last() == Some(&b'\n');
            let text = match std::str::from_utf8(&buf) {
                Ok(t) => t,
                Err(e) => {
                    let lossy = String::from_utf8_lossy(&buf);
                    let expected = if e.error_len().is_none() && !complete {
                        "a complete last line (it ends inside a UTF-8 character: truncated file?)".to_string()
                    } else {
                        let at = e.valid_up_to();
                        format!(
                            "UTF-8 text (byte 0x{:02X} at offset {at} of the line is not valid UTF-8; re-save the file as UTF-8)",
                            buf.get(at).copied().unwrap_or(0)
                        )
                    };
                    return Err(ImportError::at(name, line, expected).with_value(lossy.trim_end()));
                }
            };
            let t = text.trim();
            if t.is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(t).map_err(|e| {
                let expected = if !complete && e.is_eof() {
                    format!("a complete JSON object (the last line is cut off: truncated file?; {e})")
                } else {
                    format!("one JSON object per line ({e})")
                };
                ImportError::at(name, line, expected).with_value(&clip(t))
            })?;
            let Value::Object(obj) = v else {
                return Err(ImportError::at(name, line, "a JSON object ({…}) on each line").with_value(t));
            };
            if kind == SourceKind::Invoices {
                rows += self.invoice_with_lines(&obj, name, idx, line, sink)?;
            } else {
                let src = JsonSrc::new(kind, &obj, &[], "", name, line)?;
                let rec = parse_record(kind, &src, &mut self.st).map_err(|e| *e)?;
                rows += self.emit(rec, idx, line, sink)?;
            }
            if pos - reported >= PROGRESS_EVERY {
                progress(pos);
                reported = pos;
            }
        }
        progress(pos);
        Ok(rows)
    }

    /// An invoice object, possibly with a `lines` array of line objects (their `invoice_id` is implied).
    fn invoice_with_lines(
        &mut self,
        obj: &serde_json::Map<String, Value>,
        name: &Path,
        idx: usize,
        line: u64,
        sink: &mut dyn FnMut(Record) -> Result<(), ImportError>,
    ) -> Result<u64, ImportError> {
        let src = JsonSrc::new(SourceKind::Invoices, obj, &["lines"], "", name, line)?;
        let inv = parse::invoice(&src, &mut self.st).map_err(|e| *e)?;
        let (id, currency) = (inv.id.clone(), inv.currency);
        let mut rows = self.emit(Record::Invoice(inv), idx, line, sink)?;
        match obj.get("lines") {
            None | Some(Value::Null) => {}
            Some(Value::Array(lines)) => {
                for (i, lv) in lines.iter().enumerate() {
                    let prefix = format!("lines[{i}].");
                    let Value::Object(lo) = lv else {
                        return Err(ImportError::at(name, line, "an invoice line object")
                            .with_field(format!("lines[{i}]"))
                            .with_value(&lv.to_string()));
                    };
                    let ls = JsonSrc::new(SourceKind::InvoiceLines, lo, &[], &prefix, name, line)?;
                    let l = parse::line(&ls, &mut self.st, Some((&id, currency))).map_err(|e| *e)?;
                    rows += self.emit(Record::InvoiceLine(l), idx, line, sink)?;
                }
            }
            Some(other) => {
                return Err(ImportError::at(name, line, "an array of invoice line objects")
                    .with_field("lines")
                    .with_value(&other.to_string()))
            }
        }
        Ok(rows)
    }
}

/// A parsed record whose key is not checked yet.
struct Pending {
    rec: Record,
    line: u64,
    key: u128,
    content: u64,
}

/// Counts physical lines for the CSV reader, whose own line numbers go wrong around blank lines and CRLF.
///
/// Remembers the offsets of the `\r`/`\n` bytes read ahead by the CSV parser (at most a buffer's worth),
/// so that the line of a record can be computed from the byte offset where the parser says it starts:
/// that offset is the end of the previous record, before any blank lines the parser skipped.
struct LineTracker<R> {
    inner: R,
    offset: u64,
    /// `offset << 1 | is_newline` of every `\r` and `\n` at or after the last queried offset.
    marks: VecDeque<u64>,
    /// Newlines before the first mark.
    newlines_before: u64,
}

impl<R: Read> LineTracker<R> {
    fn new(inner: R) -> Self {
        LineTracker { inner, offset: 0, marks: VecDeque::new(), newlines_before: 0 }
    }

    /// The 1-based line of the first byte at or after `at` that is not a line terminator. Calls must
    /// come with non-decreasing `at`.
    fn line_at(&mut self, at: u64) -> u64 {
        while let Some(&m) = self.marks.front() {
            if m >> 1 >= at {
                break;
            }
            self.newlines_before += m & 1;
            self.marks.pop_front();
        }
        let mut line = 1 + self.newlines_before;
        for (next, &m) in (at..).zip(self.marks.iter()) {
            if m >> 1 != next {
                break;
            }
            line += m & 1;
        }
        line
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        for i in memchr::memchr2_iter(b'\n', b'\r', chunk) {
            self.marks.push_back(((self.offset + i as u64) << 1) | (chunk[i] == b'\n') as u64);
        }
        self.offset += n as u64;
        Ok(n)
    }
}
