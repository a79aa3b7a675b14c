//! Idempotent upserts inside one SQLite transaction.
//!
//! Per table the import holds three prepared statements (taken from the connection's statement cache, so
//! they are compiled once per connection): `INSERT … ON CONFLICT DO NOTHING`, `SELECT content_hash` by key
//! and an `INSERT … ON CONFLICT DO UPDATE` upsert. A put takes one of two paths, chosen per table by what
//! the previous put on that table found:
//!
//! * insert-first (fresh data): try the plain insert; one write, and only on a key conflict fall back to
//!   comparing hashes (and upserting if they differ);
//! * lookup-first (re-imports): read the stored hash; equal means `Unchanged` with no write at all.
use super::KEYS;
use crate::codec::{display_key, encode_discounts, NO_VALID_FROM};
use crate::hash::content_hash_with;
use crate::{table_index, ImportSummary, ImportTx, PutOutcome, StoreError, TableSummary, MAX_REPORTED_UPDATES, TABLES};
use holdfast_core::records::*;
use rusqlite::{CachedStatement, Connection, ToSql};

/// Non-key and key columns of each table, in [`TABLES`] order; the bind order of [`bind_record`].
const COLUMNS: [&[&str]; 9] = [
    &["id", "valid_from", "name", "email", "domain", "created_at", "external_ids", "attributes"],
    &["id", "name", "product", "currency", "amount", "price_type", "interval", "interval_count", "usage_type"],
    &[
        "id",
        "name",
        "duration",
        "duration_in_months",
        "percent_off_milli",
        "amount_off",
        "currency",
        "customer_id",
        "subscription_id",
        "starts_at",
        "ends_at",
    ],
    &[
        "id",
        "customer_id",
        "status",
        "currency",
        "created_at",
        "started_at",
        "trial_start",
        "trial_end",
        "cancel_at_period_end",
        "cancel_at",
        "canceled_at",
        "ended_at",
        "unpaid_since",
        "pause_start",
        "pause_end",
        "cancellation_reason",
    ],
    &["id", "valid_from", "subscription_id", "plan_id", "quantity", "valid_to"],
    &["id", "customer_id", "currency", "status", "issued_at", "due_at", "paid_at", "total", "amount_paid", "amount_refunded"],
    &[
        "id",
        "invoice_id",
        "subscription_id",
        "item_id",
        "plan_id",
        "price_type",
        "period_start",
        "period_end",
        "amount",
        "tax_inclusive",
        "quantity",
        "prorated",
        "discounts",
    ],
    &["day", "base", "quote", "rate"],
    &["id", "subscription_id", "plan_id", "quantity", "valid_from", "valid_to", "scheduled_at", "withdrawn_at"],
];

fn sql_for(t: usize) -> (String, String, String) {
    let table = TABLES[t];
    let key = KEYS[t];
    let cols = COLUMNS[t];
    let all = cols.iter().copied().chain(["content_hash"]).collect::<Vec<_>>();
    let placeholders = (1..=all.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    let insert = format!("INSERT INTO {table} ({}) VALUES ({placeholders}) ON CONFLICT ({key}) DO NOTHING", all.join(", "));
    let key_cols: Vec<&str> = key.split(", ").collect();
    let sets = all
        .iter()
        .filter(|c| !key_cols.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let upsert = format!("INSERT INTO {table} ({}) VALUES ({placeholders}) ON CONFLICT ({key}) DO UPDATE SET {sets}", all.join(", "));
    let where_ = key_cols.iter().enumerate().map(|(i, c)| format!("{c} = ?{}", i + 1)).collect::<Vec<_>>().join(" AND ");
    let select = format!("SELECT content_hash FROM {table} WHERE {where_}");
    (insert, upsert, select)
}

struct TableStmts<'c> {
    insert: CachedStatement<'c>,
    upsert: CachedStatement<'c>,
    select: CachedStatement<'c>,
    /// Whether the previous put on this table inserted (then try the insert first).
    insert_first: bool,
}

/// Reusable buffers, so a put does not allocate in the steady state.
#[derive(Default)]
struct Scratch {
    canon: Vec<u8>,
    text: String,
    text2: String,
}

pub(crate) struct SqliteImport<'c> {
    conn: &'c Connection,
    stmts: [Option<TableStmts<'c>>; 9],
    counts: [TableSummary; 9],
    updated_keys: Vec<(&'static str, String)>,
    scratch: Scratch,
    signals: super::signals::SignalPuts,
    finished: bool,
}

impl<'c> SqliteImport<'c> {
    pub(crate) fn begin(conn: &'c Connection) -> Result<Self, StoreError> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(SqliteImport {
            conn,
            stmts: Default::default(),
            counts: std::array::from_fn(|t| TableSummary { table: TABLES[t], ..Default::default() }),
            updated_keys: Vec::new(),
            scratch: Scratch::default(),
            signals: super::signals::SignalPuts::new(),
            finished: false,
        })
    }

    fn stmts(&mut self, t: usize) -> Result<&mut TableStmts<'c>, StoreError> {
        if self.stmts[t].is_none() {
            let (insert, upsert, select) = sql_for(t);
            self.stmts[t] = Some(TableStmts {
                insert: self.conn.prepare_cached(&insert)?,
                upsert: self.conn.prepare_cached(&upsert)?,
                select: self.conn.prepare_cached(&select)?,
                insert_first: true,
            });
        }
        Ok(self.stmts[t].as_mut().expect("prepared above"))
    }
}

/// Binds parameters `?1, ?2, …` in order.
struct Binder<'s, 'c> {
    st: &'s mut CachedStatement<'c>,
    i: usize,
}

impl Binder<'_, '_> {
    #[inline]
    fn v<T: ToSql>(&mut self, v: T) -> rusqlite::Result<&mut Self> {
        self.i += 1;
        self.st.raw_bind_parameter(self.i, v)?;
        Ok(self)
    }
}

fn nonempty(s: &str) -> Option<&str> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

/// Binds every column of `r` followed by `hash`, in [`COLUMNS`] order.
fn bind_record(st: &mut CachedStatement<'_>, r: &Record, hash: i64, sc: &mut Scratch) -> Result<(), StoreError> {
    let mut b = Binder { st, i: 0 };
    match r {
        Record::Customer(c) => {
            sc.text.clear();
            if !c.external_ids.is_empty() {
                sc.text = serde_json::to_string(&c.external_ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            }
            sc.text2.clear();
            if !c.attributes.is_empty() {
                sc.text2 = serde_json::to_string(&c.attributes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            }
            b.v(&c.id)?
                .v(c.valid_from.unwrap_or(NO_VALID_FROM))?
                .v(&c.name)?
                .v(&c.email)?
                .v(&c.domain)?
                .v(c.created_at)?
                .v(nonempty(&sc.text))?
                .v(nonempty(&sc.text2))?;
        }
        Record::Plan(p) => {
            b.v(&p.id)?
                .v(&p.name)?
                .v(&p.product)?
                .v(p.currency.code())?
                .v(p.amount)?
                .v(p.price_type.as_str())?
                .v(p.interval.map(|i| i.as_str()))?
                .v(p.interval_count)?
                .v(p.usage_type.as_str())?;
        }
        Record::Discount(d) => {
            b.v(&d.id)?
                .v(&d.name)?
                .v(d.duration.as_str())?
                .v(d.duration_in_months)?
                .v(d.percent_off_milli)?
                .v(d.amount_off)?
                .v(d.currency.as_ref().map(|c| c.code()))?
                .v(&d.customer_id)?
                .v(&d.subscription_id)?
                .v(d.start)?
                .v(d.end)?;
        }
        Record::Subscription(s) => {
            b.v(&s.id)?
                .v(&s.customer_id)?
                .v(s.status.as_str())?
                .v(s.currency.as_ref().map(|c| c.code()))?
                .v(s.created_at)?
                .v(s.started_at)?
                .v(s.trial_start)?
                .v(s.trial_end)?
                .v(s.cancel_at_period_end)?
                .v(s.cancel_at)?
                .v(s.canceled_at)?
                .v(s.ended_at)?
                .v(s.unpaid_since)?
                .v(s.pause_start)?
                .v(s.pause_end)?
                .v(&s.cancellation_reason)?;
        }
        Record::SubscriptionItem(i) => {
            b.v(&i.id)?.v(i.valid_from)?.v(&i.subscription_id)?.v(&i.plan_id)?.v(i.quantity)?.v(i.valid_to)?;
        }
        Record::Invoice(i) => {
            b.v(&i.id)?
                .v(&i.customer_id)?
                .v(i.currency.code())?
                .v(i.status.as_str())?
                .v(i.issued_at)?
                .v(i.due_at)?
                .v(i.paid_at)?
                .v(i.total)?
                .v(i.amount_paid)?
                .v(i.amount_refunded)?;
        }
        Record::InvoiceLine(l) => {
            encode_discounts(&l.discounts, &mut sc.text);
            b.v(&l.id)?
                .v(&l.invoice_id)?
                .v(&l.subscription_id)?
                .v(&l.item_id)?
                .v(&l.plan_id)?
                .v(l.price_type.as_str())?
                .v(l.period_start)?
                .v(l.period_end)?
                .v(l.amount)?
                .v(l.tax_inclusive)?
                .v(l.quantity)?
                .v(l.prorated)?
                .v(nonempty(&sc.text))?;
        }
        Record::FxRate(f) => {
            b.v(f.day)?.v(f.base.code())?.v(f.quote.code())?.v(f.rate.0)?;
        }
        Record::ScheduledItem(x) => {
            b.v(&x.id)?.v(&x.subscription_id)?.v(&x.plan_id)?.v(x.quantity)?.v(x.valid_from)?.v(x.valid_to)?.v(x.scheduled_at)?.v(x.withdrawn_at)?;
        }
    }
    b.v(hash)?;
    Ok(())
}

/// Binds the source key of `r` as `?1, ?2, …`.
fn bind_key(st: &mut CachedStatement<'_>, r: &Record) -> rusqlite::Result<()> {
    let mut b = Binder { st, i: 0 };
    match r {
        Record::Customer(c) => b.v(&c.id)?.v(c.valid_from.unwrap_or(NO_VALID_FROM))?,
        Record::Plan(x) => b.v(&x.id)?,
        Record::Discount(x) => b.v(&x.id)?,
        Record::Subscription(x) => b.v(&x.id)?,
        Record::SubscriptionItem(x) => b.v(&x.id)?.v(x.valid_from)?,
        Record::Invoice(x) => b.v(&x.id)?,
        Record::InvoiceLine(x) => b.v(&x.id)?,
        Record::FxRate(f) => b.v(f.day)?.v(f.base.code())?.v(f.quote.code())?,
        Record::ScheduledItem(x) => b.v(&x.id)?,
    };
    Ok(())
}

fn stored_hash(st: &mut CachedStatement<'_>, r: &Record) -> Result<Option<i64>, StoreError> {
    bind_key(st, r)?;
    let mut rows = st.raw_query();
    Ok(rows.next()?.map(|row| row.get::<_, i64>(0)).transpose()?)
}

impl ImportTx for SqliteImport<'_> {
    fn put(&mut self, r: &Record) -> Result<PutOutcome, StoreError> {
        let t = table_index(r);
        let hash = content_hash_with(r, &mut self.scratch.canon) as i64;
        self.stmts(t)?;
        let SqliteImport { stmts, scratch, .. } = self;
        let st = stmts[t].as_mut().expect("prepared");
        let outcome = if st.insert_first {
            bind_record(&mut st.insert, r, hash, scratch)?;
            if st.insert.raw_execute()? == 1 {
                PutOutcome::Inserted
            } else {
                match stored_hash(&mut st.select, r)? {
                    Some(old) if old == hash => PutOutcome::Unchanged,
                    _ => {
                        bind_record(&mut st.upsert, r, hash, scratch)?;
                        st.upsert.raw_execute()?;
                        PutOutcome::Updated
                    }
                }
            }
        } else {
            match stored_hash(&mut st.select, r)? {
                Some(old) if old == hash => PutOutcome::Unchanged,
                Some(_) => {
                    bind_record(&mut st.upsert, r, hash, scratch)?;
                    st.upsert.raw_execute()?;
                    PutOutcome::Updated
                }
                None => {
                    bind_record(&mut st.insert, r, hash, scratch)?;
                    st.insert.raw_execute()?;
                    PutOutcome::Inserted
                }
            }
        };
        st.insert_first = outcome == PutOutcome::Inserted;
        let c = &mut self.counts[t];
        match outcome {
            PutOutcome::Inserted => c.inserted += 1,
            PutOutcome::Unchanged => c.unchanged += 1,
            PutOutcome::Updated => {
                c.updated += 1;
                if self.updated_keys.len() < MAX_REPORTED_UPDATES {
                    self.updated_keys.push((TABLES[t], display_key(r)));
                }
            }
        }
        Ok(outcome)
    }

    fn put_signal(&mut self, r: &holdfast_signals::SignalRecord) -> Result<PutOutcome, StoreError> {
        let outcome = self.signals.put(self.conn, r)?;
        if outcome == PutOutcome::Updated && self.updated_keys.len() < MAX_REPORTED_UPDATES {
            self.updated_keys.push((super::signals::SIGNAL_TABLES[r.kind().index()], r.display_key()));
        }
        Ok(outcome)
    }

    fn usage_message_ids(&mut self) -> Result<Vec<u64>, StoreError> {
        super::usage::message_ids(self.conn)
    }

    fn usage_messages_stored(&mut self, hashes: &[u64]) -> Result<Vec<u64>, StoreError> {
        super::usage::messages_stored(self.conn, hashes)
    }

    fn put_usage(&mut self, rollup: &holdfast_usage::Rollup, settings: &holdfast_usage::IngestSettings) -> Result<super::usage::UsageStored, StoreError> {
        super::usage::put_usage(self.conn, rollup, &settings.fingerprint(), settings.session_gap_secs)
    }

    fn commit(mut self: Box<Self>) -> Result<ImportSummary, StoreError> {
        let per_table = self.counts.iter().chain(self.signals.counts.iter()).cloned().collect();
        let summary = ImportSummary { per_table, updated_keys: std::mem::take(&mut self.updated_keys) };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.conn
            .prepare_cached("INSERT INTO imports (committed_at, inserted, updated, unchanged) VALUES (?1, ?2, ?3, ?4)")?
            .execute([now, summary.inserted() as i64, summary.updated() as i64, summary.unchanged() as i64])?;
        // Statements go back to the cache before the transaction ends.
        self.stmts = Default::default();
        self.conn.execute_batch("COMMIT")?;
        self.finished = true;
        Ok(summary)
    }

    fn sync_state(&mut self, source: &str) -> Result<Option<String>, StoreError> {
        super::sync::state(self.conn, source)
    }

    fn set_sync_state(&mut self, source: &str, state: &str) -> Result<(), StoreError> {
        super::sync::set_state(self.conn, source, state)
    }

    fn put_sync_document(&mut self, source: &str, key: &str, body: &str) -> Result<bool, StoreError> {
        super::sync::put_document(self.conn, source, key, body)
    }

    fn delete_sync_documents(&mut self, source: &str, key_prefix: &str) -> Result<u64, StoreError> {
        super::sync::delete_documents(self.conn, source, key_prefix)
    }

    fn for_each_sync_document(&mut self, source: &str, visit: &mut dyn FnMut(&str, &str)) -> Result<(), StoreError> {
        super::sync::for_each_document(self.conn, source, visit)
    }
}

impl Drop for SqliteImport<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.stmts = Default::default();
            // Nothing useful can be done if the rollback itself fails: the connection then still holds the
            // open transaction and SQLite rolls it back when the connection closes.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
