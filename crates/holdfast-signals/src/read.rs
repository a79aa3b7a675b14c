//! Header-driven, streaming CSV and JSONL readers for signal files. Every bad value is an
//! [`ImportError`] naming the file, the 1-based line, the field, the value and what was expected.
use crate::records::*;
use holdfast_core::money::Currency;
use holdfast_core::time::{day_of, format_instant, parse_instant, Ts};
use holdfast_ingest::{Format, ImportError};
use rustc_hash::FxHashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

const EXPECT_INSTANT: &str = "an ISO-8601 instant with Z or an offset (e.g. 2025-04-01T12:00:00Z) or a date (2025-04-01)";
const EXPECT_COUNT: &str = "a whole number, 0 or more";

/// One signal file of an import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalFile {
    pub kind: SignalKind,
    pub format: Format,
    pub path: PathBuf,
    pub bytes: u64,
}

/// The signal files of `path`: a directory (non-recursive; only `.csv`/`.jsonl` files whose stem is a
/// signal kind — billing files are `holdfast-ingest`'s) or a single signal file (else an empty list).
/// Sorted by kind, then CSV before JSONL.
pub fn discover(path: &Path) -> Result<Vec<SignalFile>, ImportError> {
    let md = std::fs::metadata(path).map_err(|e| ImportError::new(path, format!("an existing file or directory ({e})")))?;
    let classify = |p: &Path| -> Option<(SignalKind, Format)> {
        let format = Format::from_extension(p.extension()?.to_str()?)?;
        let kind = SignalKind::from_stem(p.file_stem()?.to_str()?)?;
        Some((kind, format))
    };
    let mut out = Vec::new();
    if md.is_dir() {
        for (p, bytes) in holdfast_ingest::visible_files(path)? {
            if let Some((kind, format)) = classify(&p) {
                out.push(SignalFile { kind, format, path: p, bytes });
            }
        }
    } else if let Some((kind, format)) = classify(path) {
        out.push(SignalFile { kind, format, path: path.to_path_buf(), bytes: md.len() });
    }
    out.sort_by(|a, b| (a.kind, a.format, &a.path).cmp(&(b.kind, b.format, &b.path)));
    Ok(out)
}

/// Whether `stem` names a signal file (so billing discovery can leave it alone).
pub fn is_signal_stem(stem: &str) -> bool {
    SignalKind::from_stem(stem).is_some()
}

/// The fields of one row, by column index of the kind, with where they came from.
struct Row<'a> {
    file: &'a Path,
    line: u64,
    kind: SignalKind,
    vals: &'a [Option<String>],
}

type Res<T> = Result<T, Box<ImportError>>;

impl Row<'_> {
    fn name(&self, i: usize) -> &'static str {
        self.kind.columns()[i].name
    }
    fn err(&self, i: usize, value: Option<&str>, expected: impl Into<String>) -> Box<ImportError> {
        let mut e = ImportError::at(self.file, self.line, expected).with_field(self.name(i));
        if let Some(v) = value {
            e = e.with_value(v);
        }
        Box::new(e)
    }
    /// The raw text; blank means absent.
    fn get(&self, i: usize) -> Option<&str> {
        self.vals[i].as_deref().filter(|s| !s.trim().is_empty())
    }
    fn req(&self, i: usize) -> Res<&str> {
        self.get(i).ok_or_else(|| self.err(i, None, "a value (this field is required)"))
    }
    fn string(&self, i: usize) -> Res<String> {
        self.req(i).map(str::to_string)
    }
    fn opt_string(&self, i: usize) -> Option<String> {
        self.get(i).map(str::to_string)
    }
    fn ts(&self, i: usize) -> Res<Ts> {
        let v = self.req(i)?;
        parse_instant(v).map_err(|_| self.err(i, Some(v), EXPECT_INSTANT))
    }
    fn opt_ts(&self, i: usize) -> Res<Option<Ts>> {
        match self.get(i) {
            None => Ok(None),
            Some(_) => self.ts(i).map(Some),
        }
    }
    fn day(&self, i: usize) -> Res<i32> {
        self.ts(i).map(day_of)
    }
    fn opt_count(&self, i: usize) -> Res<Option<u32>> {
        match self.get(i) {
            None => Ok(None),
            Some(v) => v.trim().parse::<u32>().map(Some).map_err(|_| self.err(i, Some(v), EXPECT_COUNT)),
        }
    }
    fn opt_int(&self, i: usize) -> Res<Option<i32>> {
        match self.get(i) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i32>().map(Some).map_err(|_| self.err(i, Some(v), "a whole number, e.g. 9")),
        }
    }
    fn bool(&self, i: usize) -> Res<bool> {
        match self.get(i) {
            None => Ok(false),
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(self.err(i, Some(v), "a boolean: true/false, 1/0 or yes/no")),
            },
        }
    }
    fn list(&self, i: usize) -> Vec<String> {
        self.get(i).map(|v| v.split('|').map(|s| s.trim()).filter(|s| !s.is_empty()).map(str::to_string).collect()).unwrap_or_default()
    }
    /// `later` must not be before `earlier` (column `j`).
    fn not_before(&self, later_col: usize, later: Option<Ts>, earlier_col: usize, earlier: Option<Ts>) -> Res<()> {
        if let (Some(a), Some(b)) = (earlier, later) {
            if b < a {
                return Err(self.err(later_col, self.get(later_col), format!("an instant not before {} ({})", self.name(earlier_col), format_instant(a))));
            }
        }
        Ok(())
    }
}

fn ticket(r: &Row) -> Res<Ticket> {
    let created_at = r.ts(3)?;
    let first_response_at = r.opt_ts(4)?;
    let first_resolved_at = r.opt_ts(5)?;
    let last_resolved_at = r.opt_ts(6)?;
    r.not_before(4, first_response_at, 3, Some(created_at))?;
    r.not_before(5, first_resolved_at, 3, Some(created_at))?;
    r.not_before(6, last_resolved_at, 5, first_resolved_at.or(Some(created_at)))?;
    let replies = r.opt_count(12)?;
    if replies == Some(0) && first_response_at.is_some() {
        return Err(r.err(12, r.get(12), "at least 1: the ticket has a first_response_at, so an agent replied publicly"));
    }
    Ok(Ticket {
        ticket_id: r.string(0)?,
        customer_id: r.opt_string(1),
        requester_id: r.opt_string(2),
        created_at,
        first_response_at,
        first_resolved_at,
        last_resolved_at: last_resolved_at.or(first_resolved_at),
        status: r.opt_string(7),
        channel: r.opt_string(8),
        priority: r.opt_string(9),
        ticket_type: r.opt_string(10),
        tags: r.list(11),
        // an unknown reply count is at least the first response
        agent_public_replies: replies.unwrap_or(first_response_at.is_some() as u32),
        reopen_count: r.opt_count(13)?.unwrap_or(0),
        is_spam: r.bool(14)?,
        merged_into: r.opt_string(15),
    })
}

fn survey(r: &Row) -> Res<SurveyResponse> {
    let kind_text = r.req(1)?;
    let survey = Survey::parse(kind_text).ok_or_else(|| r.err(1, Some(kind_text), "one of nps, csat, ces, custom"))?;
    let (dmin, dmax) = match survey {
        Survey::Nps => (Some(0), Some(10)),
        Survey::Csat => (Some(1), Some(5)),
        Survey::Ces => (Some(1), Some(7)),
        Survey::Custom => (None, None),
    };
    let scale_min = r.opt_int(6)?.or(dmin).ok_or_else(|| r.err(6, None, "a value (custom surveys must give their scale)"))?;
    let scale_max = r.opt_int(7)?.or(dmax).ok_or_else(|| r.err(7, None, "a value (custom surveys must give their scale)"))?;
    if scale_max <= scale_min {
        return Err(r.err(7, r.get(7), format!("a scale maximum above scale_min ({scale_min})")));
    }
    match survey {
        Survey::Nps if (scale_min, scale_max) != (0, 10) => return Err(r.err(7, r.get(7), "the NPS scale 0–10 (scale_min 0, scale_max 10)")),
        Survey::Ces if !matches!((scale_min, scale_max), (1, 7) | (1, 5)) => {
            return Err(r.err(7, r.get(7), "a CES scale of 1–7 (CES 2.0 agreement) or 1–5 (effort, lower is better)"))
        }
        _ => {}
    }
    let score_text = r.req(5)?;
    let score: i32 = score_text.trim().parse().map_err(|_| r.err(5, Some(score_text), format!("a whole number from {scale_min} to {scale_max}")))?;
    if score < scale_min || score > scale_max {
        return Err(r.err(5, Some(score_text), format!("a whole number from {scale_min} to {scale_max} (the {} scale)", survey.as_str())));
    }
    Ok(SurveyResponse {
        response_id: r.string(0)?,
        survey,
        question_id: r.opt_string(2),
        respondent_id: r.opt_string(3),
        customer_id: r.opt_string(4),
        score,
        scale_min,
        scale_max,
        comment: r.opt_string(8),
        responded_at: r.ts(9)?,
        ticket_id: r.opt_string(10),
    })
}

fn cancellation(r: &Row) -> Res<Cancellation> {
    Ok(Cancellation {
        customer_id: r.string(0)?,
        subscription_id: r.opt_string(1),
        cancelled_at: r.ts(2)?,
        reason_code: r.string(3)?,
        comment: r.opt_string(4),
    })
}

fn funnel(r: &Row) -> Res<FunnelEvent> {
    let stage_text = r.req(3)?;
    let stage = Stage::parse(stage_text).ok_or_else(|| r.err(3, Some(stage_text), "one of visitor, lead, mql, sql, opportunity, trial, customer"))?;
    let f = FunnelEvent {
        person_id: r.opt_string(0),
        anonymous_id: r.opt_string(1),
        customer_id: r.opt_string(2),
        stage,
        stage_at: r.ts(4)?,
        source: r.opt_string(5),
        medium: r.opt_string(6),
        campaign: r.opt_string(7),
        channel: r.opt_string(8),
    };
    if f.person().is_empty() {
        return Err(r.err(0, None, "a person: at least one of person_id, anonymous_id or customer_id"));
    }
    Ok(f)
}

fn visit(r: &Row) -> Res<Visit> {
    Ok(Visit { day: r.day(0)?, visitor_id: r.string(1)?, source: r.opt_string(2) })
}

fn spend(r: &Row) -> Res<Spend> {
    let cur_text = r.req(4)?;
    let currency = Currency::parse(cur_text.trim()).map_err(|_| r.err(4, Some(cur_text), "an ISO-4217 currency code (e.g. USD, EUR, JPY)"))?;
    let amount_text = r.req(3)?;
    let amount = currency
        .parse_major(amount_text.trim())
        .ok()
        .filter(|a| *a >= 0)
        .ok_or_else(|| r.err(3, Some(amount_text), format!("an amount of 0 or more in major units of {currency} with at most {} decimals", currency.exponent())))?;
    let cat_text = r.req(2)?;
    Ok(Spend {
        day: r.day(0)?,
        channel: r.string(1)?,
        category: SpendCategory::parse(cat_text).ok_or_else(|| r.err(2, Some(cat_text), "one of marketing, sales, other"))?,
        amount,
        currency,
        campaign: r.opt_string(5),
    })
}

fn referral(r: &Row) -> Res<Referral> {
    let invited_at = r.ts(5)?;
    let signed_up = r.opt_ts(6)?;
    let converted = r.opt_ts(8)?;
    r.not_before(6, signed_up, 5, Some(invited_at))?;
    if converted.is_some() && signed_up.is_none() {
        return Err(r.err(6, None, "a sign-up instant (the invitee has invitee_converted_at)"));
    }
    r.not_before(8, converted, 6, signed_up)?;
    let x = Referral {
        referral_id: r.string(0)?,
        inviter_user_id: r.opt_string(1),
        inviter_customer_id: r.opt_string(2),
        invitee_ref: r.opt_string(3),
        channel: r.opt_string(4),
        invited_at,
        invitee_signed_up_at: signed_up,
        invitee_customer_id: r.opt_string(7),
        invitee_converted_at: converted,
    };
    if x.inviter_user_id.is_none() && x.inviter_customer_id.is_none() {
        return Err(r.err(2, None, "an inviter: inviter_customer_id or inviter_user_id"));
    }
    if signed_up.is_some() && x.invitee().is_none() {
        return Err(r.err(3, None, "an invitee (invitee_ref or invitee_customer_id) for a referral with a sign-up"));
    }
    Ok(x)
}

fn parse_row(r: &Row) -> Res<SignalRecord> {
    Ok(match r.kind {
        SignalKind::Tickets => SignalRecord::Ticket(ticket(r)?),
        SignalKind::SurveyResponses => SignalRecord::Survey(survey(r)?),
        SignalKind::Cancellations => SignalRecord::Cancellation(cancellation(r)?),
        SignalKind::Funnel => SignalRecord::Funnel(funnel(r)?),
        SignalKind::Visits => SignalRecord::Visit(visit(r)?),
        SignalKind::Spend => SignalRecord::Spend(spend(r)?),
        SignalKind::Referrals => SignalRecord::Referral(referral(r)?),
    })
}

fn hash64(s: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(s);
    h.finish()
}

/// Reads signal files of one import. Remembers every key it has seen, so a key repeated within the import
/// with different content is an error (repeated identical rows are kept once by the store).
#[derive(Default)]
pub struct SignalReader {
    /// (kind, hash of the source key) → (hash of the content, where it was first seen)
    seen: FxHashMap<(u8, u64), (u64, PathBuf, u64)>,
}

impl SignalReader {
    pub fn new() -> SignalReader {
        SignalReader::default()
    }

    /// Streams the records of `f` into `sink`; returns the number of rows read.
    pub fn read_file(&mut self, f: &SignalFile, sink: &mut dyn FnMut(SignalRecord) -> Result<(), ImportError>) -> Result<u64, ImportError> {
        let file = std::fs::File::open(&f.path).map_err(|e| ImportError::new(&f.path, format!("a readable file ({e})")))?;
        let reader = BufReader::with_capacity(1 << 16, file);
        match f.format {
            Format::Csv => self.read_csv(f, reader, sink),
            Format::Jsonl => self.read_jsonl(f, reader, sink),
        }
    }

    fn accept(&mut self, f: &SignalFile, line: u64, vals: &[Option<String>], sink: &mut dyn FnMut(SignalRecord) -> Result<(), ImportError>) -> Result<(), ImportError> {
        let row = Row { file: &f.path, line, kind: f.kind, vals };
        let rec = parse_row(&row).map_err(|e| *e)?;
        let key = hash64(rec.source_key().as_bytes());
        let content = {
            use std::hash::{Hash, Hasher};
            let mut h = rustc_hash::FxHasher::default();
            rec.cells().hash(&mut h);
            h.finish()
        };
        match self.seen.get(&(f.kind as u8, key)) {
            Some((c, _, _)) if *c == content => return Ok(()),
            Some((_, p, l)) => {
                return Err(ImportError::at(&f.path, line, format!("each {} key once per import with one content: {} was first given at {}:{l} with different values", f.kind, rec.display_key(), p.display()))
                    .with_value(&rec.display_key()))
            }
            None => {
                self.seen.insert((f.kind as u8, key), (content, f.path.clone(), line));
            }
        }
        sink(rec)
    }

    fn read_csv(&mut self, f: &SignalFile, reader: impl std::io::Read, sink: &mut dyn FnMut(SignalRecord) -> Result<(), ImportError>) -> Result<u64, ImportError> {
        let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(reader);
        let cols = f.kind.columns();
        let headers = rdr.headers().map_err(|e| ImportError::at(&f.path, 1, format!("a UTF-8 CSV header row ({e})")))?.clone();
        // column of the kind → position in the file
        let mut pos: Vec<Option<usize>> = vec![None; cols.len()];
        for (i, h) in headers.iter().enumerate() {
            let h = h.trim().trim_start_matches('\u{feff}');
            let Some(ci) = cols.iter().position(|c| c.name == h) else {
                let known = cols.iter().map(|c| c.name).collect::<Vec<_>>().join(", ");
                return Err(ImportError::at(&f.path, 1, format!("only known columns of {}: {known}", f.kind)).with_field(h));
            };
            if pos[ci].is_some() {
                return Err(ImportError::at(&f.path, 1, "each column once in the header").with_field(h));
            }
            pos[ci] = Some(i);
        }
        for (ci, c) in cols.iter().enumerate() {
            if c.required && pos[ci].is_none() {
                return Err(ImportError::at(&f.path, 1, format!("a column named `{}` in the header", c.name)).with_field(c.name));
            }
        }
        let mut rec = csv::StringRecord::new();
        let mut vals: Vec<Option<String>> = vec![None; cols.len()];
        let mut n = 0u64;
        loop {
            let more = rdr.read_record(&mut rec).map_err(|e| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                ImportError::at(&f.path, line, format!("a UTF-8 CSV row ({e})"))
            })?;
            if !more {
                break;
            }
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            if rec.len() == 1 && rec.get(0).map(|s| s.trim().is_empty()).unwrap_or(true) {
                continue; // blank line
            }
            if rec.len() != headers.len() {
                return Err(ImportError::at(&f.path, line, format!("{} fields as in the header (found {})", headers.len(), rec.len())));
            }
            for (ci, p) in pos.iter().enumerate() {
                vals[ci] = p.and_then(|p| rec.get(p)).map(str::to_string);
            }
            self.accept(f, line, &vals, sink)?;
            n += 1;
        }
        Ok(n)
    }

    fn read_jsonl(&mut self, f: &SignalFile, mut reader: impl BufRead, sink: &mut dyn FnMut(SignalRecord) -> Result<(), ImportError>) -> Result<u64, ImportError> {
        let cols = f.kind.columns();
        let mut buf = String::new();
        let mut vals: Vec<Option<String>> = vec![None; cols.len()];
        let mut line = 0u64;
        let mut n = 0u64;
        loop {
            buf.clear();
            let read = reader.read_line(&mut buf).map_err(|e| ImportError::at(&f.path, line + 1, format!("UTF-8 text ({e})")))?;
            if read == 0 {
                break;
            }
            line += 1;
            if buf.trim().is_empty() {
                continue;
            }
            let obj: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&buf).map_err(|e| ImportError::at(&f.path, line, format!("one JSON object per line ({e})")).with_value(buf.trim_end()))?;
            vals.iter_mut().for_each(|v| *v = None);
            for (k, v) in &obj {
                let Some(ci) = cols.iter().position(|c| c.name == k) else {
                    let known = cols.iter().map(|c| c.name).collect::<Vec<_>>().join(", ");
                    return Err(ImportError::at(&f.path, line, format!("only known fields of {}: {known}", f.kind)).with_field(k.as_str()));
                };
                vals[ci] = match v {
                    serde_json::Value::Null => None,
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(x) => Some(x.to_string()),
                    serde_json::Value::Bool(b) => Some(b.to_string()),
                    serde_json::Value::Array(items) => {
                        let mut parts = Vec::with_capacity(items.len());
                        for it in items {
                            match it {
                                serde_json::Value::String(s) => parts.push(s.clone()),
                                other => return Err(ImportError::at(&f.path, line, "a list of strings").with_field(k.as_str()).with_value(&other.to_string())),
                            }
                        }
                        Some(parts.join("|"))
                    }
                    serde_json::Value::Object(_) => return Err(ImportError::at(&f.path, line, "a string, number or boolean, not an object").with_field(k.as_str())),
                };
            }
            self.accept(f, line, &vals, sink)?;
            n += 1;
        }
        Ok(n)
    }
}

/// Reads every signal file of `path` into a list (tests and small imports).
pub fn read_all(path: &Path) -> Result<Vec<SignalRecord>, ImportError> {
    let mut out = Vec::new();
    let mut r = SignalReader::new();
    for f in discover(path)? {
        r.read_file(&f, &mut |x| {
            out.push(x);
            Ok(())
        })?;
    }
    Ok(out)
}
