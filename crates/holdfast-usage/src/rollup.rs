//! Rollups built at ingest, streaming: memory grows with distinct (user, day, event) keys and sessions,
//! not with events.
//!
//! [`Rollup`] is both what one import adds (the delta [`Ingest::finish`] returns) and what a store loads back
//! (every import merged). Its tables are keyed by **user**, not account: the account of an event is resolved
//! when metrics are computed ([`crate::model`]), from `context.groupId` kept in the key or the user's group
//! calls, so a group call arriving in a later import re-attributes earlier events, and every table merges by
//! a plain sum, min or union — the shape of a ClickHouse `SummingMergeTree` / `AggregatingMergeTree`:
//!
//! | table | key | value | merge |
//! |---|---|---|---|
//! | [`CountRow`] | user, account hint, day, event | count | sum |
//! | [`SumRow`] | user, account hint, day, event, property | Σ value (millionths) | sum |
//! | [`SessionRow`] | user, start | end, events | interval union with gaps ≤ `session_gap` |
//! | [`FirstRow`] | user, account hint, event | first instant | min |
//! | [`GroupRow`] | user, account, instant | — | set |
//! | account links | account | billing customer id | last wins |
//! | message ids | 64-bit hash of `messageId` | — | set (dedupe across imports) |
use crate::message::{parse_line, Message, MessageKind, UsageError};
use crate::settings::IngestSettings;
use holdfast_core::snapshot::{Interner, NONE};
use holdfast_core::time::{day_of, Ts};
use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};
use std::collections::HashMap;

/// The event name page and screen views are counted under (they are not track events, so never active).
pub const PAGE_EVENT: &str = "$page";

/// Events of one user, account hint (`context.groupId`, or [`NONE`]), UTC day and event name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CountRow {
    pub user: u32,
    pub account: u32,
    pub day: i32,
    pub event: u32,
    pub count: u64,
}

/// Sum of one numeric property over the events of a [`CountRow`] key, in millionths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SumRow {
    pub user: u32,
    pub account: u32,
    pub day: i32,
    pub event: u32,
    pub prop: u32,
    pub sum: i64,
}

/// A session: `[start, end]` spans a user's active events whose gaps are ≤ `session_gap` (an event with
/// `duration_ms` spans `[t, t + duration]`). `account` is the hint of its first event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SessionRow {
    pub user: u32,
    pub start: Ts,
    pub end: Ts,
    pub events: u32,
    pub account: u32,
}

/// The first instant a user sent an event (under an account hint).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FirstRow {
    pub user: u32,
    pub account: u32,
    pub event: u32,
    pub t: Ts,
}

/// A group call: from `t` on, `user` belongs to `account`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupRow {
    pub user: u32,
    pub t: Ts,
    pub account: u32,
}

/// A kept raw track event: 32 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RawEvent {
    pub t: Ts,
    pub message: u64,
    pub user: u32,
    pub account: u32,
    pub event: u32,
    _pad: u32,
}

impl RawEvent {
    pub fn new(t: Ts, message: u64, user: u32, account: u32, event: u32) -> RawEvent {
        RawEvent { t, message, user, account, event, _pad: 0 }
    }
}

/// Rolled-up usage: dense ids into the interners, every table sorted by its key.
#[derive(Clone, Debug, Default)]
pub struct Rollup {
    pub users: Interner,
    /// Account (group) ids, as sent in `groupId` / `context.groupId`.
    pub accounts: Interner,
    pub events: Interner,
    pub props: Interner,
    pub counts: Vec<CountRow>,
    pub sums: Vec<SumRow>,
    pub sessions: Vec<SessionRow>,
    pub firsts: Vec<FirstRow>,
    pub groups: Vec<GroupRow>,
    /// Account → billing customer id (`group` traits), sorted by account.
    pub links: Vec<(u32, Box<str>)>,
    /// Hashes of the messages this rollup counted (a delta's new messages).
    pub message_ids: Vec<u64>,
    pub raw: Vec<RawEvent>,
    pub stats: IngestStats,
}

/// What an import saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IngestStats {
    pub messages: u64,
    pub tracks: u64,
    pub pages: u64,
    pub identifies: u64,
    pub groups: u64,
    pub ignored: u64,
    /// Messages whose `messageId` was seen before (in this import or an earlier one): not counted again.
    pub duplicates: u64,
}

/// The 64-bit dedupe key of a message: XXH3 of its `messageId`, else of its raw bytes (so re-importing a
/// file without message ids is still idempotent).
pub fn message_hash(msg: &Message<'_>, raw: &[u8]) -> u64 {
    match &msg.message_id {
        Some(id) => xxhash_rust::xxh3::xxh3_64_with_seed(id.as_bytes(), 0x6d73_6749),
        None => xxhash_rust::xxh3::xxh3_64_with_seed(raw, 0x7261_7721),
    }
}

/// A user's sessions of this import, sorted by start, disjoint with gaps > `session_gap`.
type Sessions = Vec<SessionRow>;

/// Adds the interval `[s, e]` (one event, `n` events) to sorted, gap-separated sessions.
pub fn add_interval(sessions: &mut Sessions, user: u32, s: Ts, e: Ts, n: u32, account: u32, gap: Ts) {
    // Events mostly arrive in time order: the interval then touches only the last session.
    let i = sessions.partition_point(|x| x.end + gap < s);
    if i == sessions.len() || sessions[i].start > e + gap {
        sessions.insert(i, SessionRow { user, start: s, end: e, events: n, account });
        return;
    }
    let first = &mut sessions[i];
    if s < first.start {
        first.account = account;
    }
    first.start = first.start.min(s);
    first.end = first.end.max(e);
    first.events += n;
    // the grown session may now reach the following ones
    let mut j = i + 1;
    while j < sessions.len() && sessions[j].start <= sessions[i].end + gap {
        let next = sessions[j];
        let cur = &mut sessions[i];
        cur.end = cur.end.max(next.end);
        cur.events += next.events;
        j += 1;
    }
    sessions.drain(i + 1..j);
}

/// Builds the rollup of one import, message by message.
pub struct Ingest {
    settings: IngestSettings,
    out: Rollup,
    passive: FxHashSet<u32>,
    page_event: u32,
    seen: FxHashSet<u64>,
    counts: FxHashMap<(u32, u32, i32, u32), u64>,
    sums: FxHashMap<(u32, u32, i32, u32, u32), i64>,
    firsts: FxHashMap<(u32, u32, u32), Ts>,
    sessions: Vec<Sessions>,
    groups: FxHashSet<GroupRow>,
    links: FxHashMap<u32, Box<str>>,
    hints: [u32; 4],
}

impl Ingest {
    /// `seen`: message hashes already stored (from earlier imports), so they are not counted again.
    pub fn new(settings: IngestSettings, seen: impl IntoIterator<Item = u64>) -> Ingest {
        let mut out = Rollup::default();
        let page_event = out.events.intern(PAGE_EVENT);
        let passive = settings.passive_events.iter().map(|e| out.events.intern(e)).collect();
        Ingest {
            settings,
            out,
            passive,
            page_event,
            seen: seen.into_iter().collect(),
            counts: HashMap::with_hasher(FxBuildHasher),
            sums: HashMap::with_hasher(FxBuildHasher),
            firsts: HashMap::with_hasher(FxBuildHasher),
            sessions: Vec::new(),
            groups: Default::default(),
            links: HashMap::with_hasher(FxBuildHasher),
            hints: [0; 4],
        }
    }

    pub fn stats(&self) -> IngestStats {
        self.out.stats
    }

    /// Reads one JSONL line (a message or a batch envelope).
    pub fn line(&mut self, line: &[u8]) -> Result<(), UsageError> {
        parse_line(line, &mut |raw, msg| {
            self.message(raw, &msg);
            Ok(())
        })
    }

    /// Adds one parsed message; `raw` is its JSON text (the dedupe key when it has no `messageId`).
    pub fn message(&mut self, raw: &[u8], msg: &Message<'_>) {
        let st = &mut self.out.stats;
        st.messages += 1;
        if msg.kind == MessageKind::Alias {
            st.ignored += 1;
            return;
        }
        let h = message_hash(msg, raw);
        if !self.seen.insert(h) {
            st.duplicates += 1;
            return;
        }
        self.out.message_ids.push(h);
        let Some(user_key) = msg.user_key() else { return };
        let [hu, ha, he, hp] = &mut self.hints;
        let user = self.out.users.intern_near(&user_key, hu);
        let hint = match &msg.context_group_id {
            Some(g) => self.out.accounts.intern_near(g, ha),
            None => NONE,
        };
        let t = msg.timestamp;
        match msg.kind {
            MessageKind::Track | MessageKind::Page => {
                let event = match (msg.kind, &msg.event) {
                    (MessageKind::Track, Some(e)) => self.out.events.intern_near(e, he),
                    _ => self.page_event,
                };
                if msg.kind == MessageKind::Track {
                    self.out.stats.tracks += 1;
                } else {
                    self.out.stats.pages += 1;
                }
                let day = day_of(t);
                *self.counts.entry((user, hint, day, event)).or_insert(0) += 1;
                for (k, v) in &msg.numeric {
                    let prop = self.out.props.intern_near(k, hp);
                    *self.sums.entry((user, hint, day, event, prop)).or_insert(0) += v;
                }
                self.firsts.entry((user, hint, event)).and_modify(|f| *f = (*f).min(t)).or_insert(t);
                if msg.kind == MessageKind::Track && !self.passive.contains(&event) {
                    if self.sessions.len() <= user as usize {
                        self.sessions.resize_with(user as usize + 1, Vec::new);
                    }
                    let end = t + msg.duration_ms.map(|d| d / 1000).unwrap_or(0);
                    add_interval(&mut self.sessions[user as usize], user, t, end, 1, hint, self.settings.session_gap_secs);
                    if self.settings.keep_raw_events {
                        self.out.raw.push(RawEvent::new(t, h, user, hint, event));
                    }
                }
            }
            MessageKind::Group => {
                self.out.stats.groups += 1;
                let Some(g) = &msg.group_id else { return };
                let account = self.out.accounts.intern_near(g, ha);
                self.groups.insert(GroupRow { user, t, account });
                if let Some(b) = &msg.billing_customer {
                    // the latest group call's link wins
                    self.links.insert(account, b.as_ref().into());
                }
            }
            MessageKind::Identify => self.out.stats.identifies += 1,
            MessageKind::Alias => {}
        }
    }

    /// The rollup of everything added, every table sorted by key.
    pub fn finish(self) -> Rollup {
        let mut out = self.out;
        out.counts = self.counts.into_iter().map(|((user, account, day, event), count)| CountRow { user, account, day, event, count }).collect();
        out.counts.sort_unstable();
        out.sums = self.sums.into_iter().map(|((user, account, day, event, prop), sum)| SumRow { user, account, day, event, prop, sum }).collect();
        out.sums.sort_unstable();
        out.firsts = self.firsts.into_iter().map(|((user, account, event), t)| FirstRow { user, account, event, t }).collect();
        out.firsts.sort_unstable();
        out.sessions = self.sessions.into_iter().flatten().collect();
        out.groups = self.groups.into_iter().collect();
        out.groups.sort_unstable();
        out.links = self.links.into_iter().collect();
        out.links.sort_unstable();
        out.message_ids.sort_unstable();
        out.raw.sort_unstable();
        out
    }
}

/// Reads a JSONL file of messages into `ingest`, streaming; errors carry the file and line.
pub fn read_file(path: &std::path::Path, ingest: &mut Ingest, progress: &mut dyn FnMut(u64)) -> Result<u64, UsageError> {
    use std::io::BufRead;
    let f = std::fs::File::open(path).map_err(|e| UsageError::new(None, None, format!("a readable file ({e})")).at(path, 0))?;
    let mut r = std::io::BufReader::with_capacity(1 << 20, f);
    let mut buf = Vec::with_capacity(4096);
    let (mut line, mut bytes, mut n) = (0u64, 0u64, 0u64);
    loop {
        buf.clear();
        let k = r.read_until(b'\n', &mut buf).map_err(|e| UsageError::new(None, None, format!("a readable file ({e})")).at(path, line + 1))?;
        if k == 0 {
            break;
        }
        line += 1;
        bytes += k as u64;
        let body = buf.trim_ascii();
        if body.is_empty() {
            continue;
        }
        let body = if line == 1 { body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body) } else { body };
        ingest.line(body).map_err(|e| e.at(path, line))?;
        n += 1;
        if line % 65_536 == 0 {
            progress(bytes);
        }
    }
    progress(bytes);
    Ok(n)
}
