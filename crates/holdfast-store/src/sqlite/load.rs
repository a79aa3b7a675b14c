//! Loading the snapshot: every table scanned in source-key order and fed to the snapshot builder.
//!
//! The work is split over two threads, because both halves cost about the same: the calling thread steps
//! SQLite through each table (in one read transaction, on the store's own connection) and copies the
//! column values into reusable batches (integers inline, strings appended to one byte arena per batch);
//! a scoped worker thread decodes the batches and feeds the [`SnapshotBuilder`] with `&str`s borrowed from
//! the arena. Tables are sent in builder order and rows in key order, so the result is exactly that of a
//! sequential scan. No per-row allocation happens on either side once the batch buffers have grown.
//!
//! The same machinery fills a [`Dataset`] instead of a builder ([`load_dataset`]): a full-fidelity read of
//! every stored record, for exports, backend-to-backend copies and tests.
use super::KEYS;
use crate::codec::{decode_discounts, CurrencyCache, WireEnum, NO_VALID_FROM};
use crate::{StoreError, TABLES};
use holdfast_core::fx::Rate;
use holdfast_core::records::*;
use holdfast_core::snapshot::{InvoiceRow, LineRow, Snapshot, SnapshotBuilder};
use super::raw::{Cell, Kind, RawScan};
use rusqlite::Connection;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

/// Rows per batch handed from the reading to the building thread.
const BATCH_ROWS: usize = 2048;
/// Full batches in flight. Generous on purpose: while the builder digests invoices (its slowest rows) the
/// reader runs ahead into the lines (its slowest rows), so the two phases overlap. Bounds the extra memory
/// to roughly 64 × 0.6 MiB.
const BATCHES_IN_FLIGHT: usize = 64;

use Kind::{Int, IntNotNull as IntNN, Text, TextNotNull as TextNN};

/// Columns read from each table with their declared kinds, in [`TABLES`] order. The decoders below index
/// into these; they must match the schema (a `NOT NULL` kind for a nullable column would read NULL as 0).
const SELECT: [&[(&str, Kind)]; 9] = [
    &[
        ("id", TextNN),
        ("valid_from", IntNN),
        ("name", Text),
        ("email", Text),
        ("domain", Text),
        ("created_at", Int),
        ("external_ids", Text),
        ("attributes", Text),
    ],
    &[
        ("id", TextNN),
        ("name", Text),
        ("product", Text),
        ("currency", TextNN),
        ("amount", IntNN),
        ("price_type", TextNN),
        ("interval", Text),
        ("interval_count", IntNN),
        ("usage_type", TextNN),
    ],
    &[
        ("id", TextNN),
        ("name", Text),
        ("duration", TextNN),
        ("duration_in_months", Int),
        ("percent_off_milli", Int),
        ("amount_off", Int),
        ("currency", Text),
        ("customer_id", Text),
        ("subscription_id", Text),
        ("starts_at", Int),
        ("ends_at", Int),
    ],
    &[
        ("id", TextNN),
        ("customer_id", TextNN),
        ("status", TextNN),
        ("currency", Text),
        ("created_at", Int),
        ("started_at", Int),
        ("trial_start", Int),
        ("trial_end", Int),
        ("cancel_at_period_end", IntNN),
        ("cancel_at", Int),
        ("canceled_at", Int),
        ("ended_at", Int),
        ("unpaid_since", Int),
        ("pause_start", Int),
        ("pause_end", Int),
        ("cancellation_reason", Text),
    ],
    &[
        ("id", TextNN),
        ("valid_from", IntNN),
        ("subscription_id", TextNN),
        ("plan_id", TextNN),
        ("quantity", IntNN),
        ("valid_to", Int),
    ],
    &[
        ("id", TextNN),
        ("customer_id", TextNN),
        ("currency", TextNN),
        ("status", TextNN),
        ("issued_at", IntNN),
        ("due_at", Int),
        ("paid_at", Int),
        ("total", IntNN),
        ("amount_paid", IntNN),
        ("amount_refunded", IntNN),
    ],
    &[
        ("invoice_id", TextNN),
        ("subscription_id", Text),
        ("item_id", Text),
        ("plan_id", Text),
        ("price_type", TextNN),
        ("period_start", Int),
        ("period_end", Int),
        ("amount", IntNN),
        ("tax_inclusive", IntNN),
        ("quantity", IntNN),
        ("prorated", IntNN),
        ("discounts", Text),
        // Only read for sinks that want line ids (column 12); the snapshot identifies lines by index.
        ("id", TextNN),
    ],
    &[("day", IntNN), ("base", TextNN), ("quote", TextNN), ("rate", IntNN)],
    &[
        ("id", TextNN),
        ("subscription_id", TextNN),
        ("plan_id", TextNN),
        ("quantity", IntNN),
        ("valid_from", IntNN),
        ("valid_to", Int),
        ("scheduled_at", IntNN),
        ("withdrawn_at", Int),
    ],
];

/// Rows of one table, `ncols` cells per row.
struct Batch {
    table: usize,
    ncols: usize,
    cells: Vec<Cell>,
    text: Vec<u8>,
}

fn corrupt(table: &str, col: usize, what: &str) -> StoreError {
    StoreError::Corrupt(format!("{table}: column {col} {what}"))
}

/// Typed access to one batched row, with errors that name the table.
struct Cols<'b> {
    cells: &'b [Cell],
    text: &'b str,
    table: &'static str,
}

impl<'b> Cols<'b> {
    #[inline]
    fn opt_text(&self, i: usize) -> Result<Option<&'b str>, StoreError> {
        match self.cells[i] {
            Cell::Null => Ok(None),
            Cell::Text(a, b) => {
                self.text.get(a as usize..b as usize).map(Some).ok_or_else(|| corrupt(self.table, i, "is not UTF-8"))
            }
            Cell::Int(_) => Err(corrupt(self.table, i, "is not TEXT")),
        }
    }
    #[inline]
    fn text(&self, i: usize) -> Result<&'b str, StoreError> {
        self.opt_text(i)?.ok_or_else(|| corrupt(self.table, i, "is NULL"))
    }
    #[inline]
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.cells[i] {
            Cell::Null => Ok(None),
            Cell::Int(v) => Ok(Some(v)),
            Cell::Text(..) => Err(corrupt(self.table, i, "is not INTEGER")),
        }
    }
    #[inline]
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_int(i)?.ok_or_else(|| corrupt(self.table, i, "is NULL"))
    }
    #[inline]
    fn bool(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.int(i)? != 0)
    }
    fn u32(&self, i: usize) -> Result<u32, StoreError> {
        u32::try_from(self.int(i)?).map_err(|_| corrupt(self.table, i, "is out of range"))
    }
    fn opt_u32(&self, i: usize) -> Result<Option<u32>, StoreError> {
        self.opt_int(i)?.map(|v| u32::try_from(v).map_err(|_| corrupt(self.table, i, "is out of range"))).transpose()
    }
    #[inline]
    fn enm<E: WireEnum>(&self, i: usize) -> Result<E, StoreError> {
        E::decode(self.text(i)?)
    }
    fn opt_enm<E: WireEnum>(&self, i: usize) -> Result<Option<E>, StoreError> {
        self.opt_text(i)?.map(E::decode).transpose()
    }
}

/// Overwrites `dst` with `src`, reusing its allocation.
#[inline]
fn set(dst: &mut String, src: &str) {
    dst.clear();
    dst.push_str(src);
}

#[inline]
fn set_opt(dst: &mut Option<String>, src: Option<&str>) {
    match (dst.as_mut(), src) {
        (Some(d), Some(s)) => set(d, s),
        (_, s) => *dst = s.map(str::to_owned),
    }
}

fn count(conn: &Connection, table: &str) -> Result<usize, StoreError> {
    Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get::<_, i64>(0))? as usize)
}

pub(crate) fn load_snapshot(conn: &Connection) -> Result<Snapshot, StoreError> {
    in_read_tx(conn, || {
        let builder = SnapshotBuilder::with_capacity(
            count(conn, "customers")?,
            count(conn, "invoices")?,
            count(conn, "invoice_lines")?,
        );
        Ok(run(conn, builder)?.finish())
    })
}

pub(crate) fn load_dataset(conn: &Connection) -> Result<Dataset, StoreError> {
    in_read_tx(conn, || run(conn, Dataset::default()))
}

/// Runs `f` in one read transaction, so every table it reads comes from the same committed state.
pub(crate) fn in_read_tx<T>(conn: &Connection, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    conn.execute_batch("BEGIN DEFERRED")?;
    let r = f();
    let end = conn.execute_batch("COMMIT");
    let v = r?;
    end?;
    Ok(v)
}

/// Reads every table into `sink`: this thread reads, a scoped worker decodes and feeds the sink.
fn run<S: Sink + Send>(conn: &Connection, sink: S) -> Result<S, StoreError> {
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);
        let (empty_tx, empty_rx) = channel::<Batch>();
        let worker = std::thread::Builder::new()
            .name("holdfast-load".into())
            .spawn_scoped(scope, move || decode_all(sink, full_rx, empty_tx))
            .map_err(|e| StoreError::Unsupported(format!("cannot start the loading thread: {e}")))?;
        let read = read_tables(conn, S::LINE_IDS, &full_tx, &empty_rx);
        drop(full_tx);
        let built = match worker.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        // A read error is the cause when both fail (the worker then only saw a truncated stream).
        read?;
        built
    })
}

/// Scans every table in builder order and sends its rows in key order. Stops early (without error) when
/// the worker has hung up, which it only does after an error of its own.
fn read_tables(
    conn: &Connection,
    line_ids: bool,
    full: &SyncSender<Batch>,
    empty: &Receiver<Batch>,
) -> Result<(), StoreError> {
    for t in 0..TABLES.len() {
        let cols = if t == LINES && !line_ids { &SELECT[t][..SELECT[t].len() - 1] } else { SELECT[t] };
        let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
        let sql = format!("SELECT {} FROM {} ORDER BY {}", names.join(", "), TABLES[t], KEYS[t]);
        let mut scan = RawScan::new(conn, &sql)?;
        let ncols = cols.len();
        debug_assert_eq!(scan.column_count(), ncols);
        let fresh = || {
            let mut b = empty.try_recv().unwrap_or_else(|_| Batch {
                table: t,
                ncols,
                cells: Vec::with_capacity(BATCH_ROWS * ncols),
                text: Vec::with_capacity(BATCH_ROWS * 64),
            });
            b.table = t;
            b.ncols = ncols;
            b.cells.clear();
            b.text.clear();
            b
        };
        let mut batch = fresh();
        while scan.step()? {
            for (i, &(_, kind)) in cols.iter().enumerate() {
                let cell = scan.cell(i, kind, &mut batch.text)?;
                batch.cells.push(cell);
            }
            let batch_full = batch.cells.len() >= BATCH_ROWS * ncols || batch.text.len() > u32::MAX as usize / 4;
            if batch_full && full.send(std::mem::replace(&mut batch, fresh())).is_err() {
                return Ok(());
            }
        }
        if !batch.cells.is_empty() && full.send(batch).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// The worker: decodes batches into the sink and hands the emptied batches back for reuse.
fn decode_all<S: Sink>(sink: S, full: Receiver<Batch>, empty: Sender<Batch>) -> Result<S, StoreError> {
    let mut d = Decoder::new(sink);
    for batch in full {
        let text = std::str::from_utf8(&batch.text)
            .map_err(|_| StoreError::Corrupt(format!("{}: text that is not UTF-8", TABLES[batch.table])))?;
        let table = TABLES[batch.table];
        for cells in batch.cells.chunks_exact(batch.ncols) {
            let r = Cols { cells, text, table };
            match batch.table {
                0 => d.customer(&r)?,
                1 => d.plan(&r)?,
                2 => d.discount(&r)?,
                3 => d.subscription(&r)?,
                4 => d.item(&r)?,
                5 => d.invoice(&r)?,
                LINES => d.line(&r)?,
                7 => d.fx_rate(&r)?,
                _ => d.scheduled(&r)?,
            }
        }
        let _ = empty.send(batch);
    }
    Ok(d.sink)
}

/// Index of `invoice_lines` in [`TABLES`].
const LINES: usize = 6;

/// Where decoded rows go: the snapshot builder, or a [`Dataset`] (full-fidelity export).
trait Sink {
    /// Whether line rows carry their id (column 12).
    const LINE_IDS: bool;
    fn customer(&mut self, r: &CustomerRecord);
    fn plan(&mut self, r: &PlanRecord);
    fn discount(&mut self, r: &DiscountRecord);
    fn subscription(&mut self, r: &SubscriptionRecord);
    fn item(&mut self, r: &SubscriptionItemRecord);
    fn invoice(&mut self, r: InvoiceRow<'_>);
    fn line<'a>(
        &mut self,
        id: Option<&'a str>,
        r: LineRow<'a>,
        discounts: impl Iterator<Item = (&'a str, i64)>,
    ) -> Result<(), StoreError>;
    fn fx_rate(&mut self, r: FxRateRecord);
    fn scheduled(&mut self, r: ScheduledItemRecord);
}

impl Sink for SnapshotBuilder {
    const LINE_IDS: bool = false;
    fn customer(&mut self, r: &CustomerRecord) {
        SnapshotBuilder::customer(self, r)
    }
    fn plan(&mut self, r: &PlanRecord) {
        SnapshotBuilder::plan(self, r)
    }
    fn discount(&mut self, r: &DiscountRecord) {
        SnapshotBuilder::discount(self, r)
    }
    fn subscription(&mut self, r: &SubscriptionRecord) {
        SnapshotBuilder::subscription(self, r)
    }
    fn item(&mut self, r: &SubscriptionItemRecord) {
        SnapshotBuilder::subscription_item(self, r)
    }
    #[inline]
    fn invoice(&mut self, r: InvoiceRow<'_>) {
        SnapshotBuilder::invoice(self, r)
    }
    #[inline]
    fn line<'a>(
        &mut self,
        _id: Option<&'a str>,
        r: LineRow<'a>,
        discounts: impl Iterator<Item = (&'a str, i64)>,
    ) -> Result<(), StoreError> {
        SnapshotBuilder::line(self, r, discounts).map(|_| ()).map_err(StoreError::Inconsistent)
    }
    fn fx_rate(&mut self, r: FxRateRecord) {
        SnapshotBuilder::fx_rate(self, r.day, r.base, r.quote, r.rate)
    }
    fn scheduled(&mut self, r: ScheduledItemRecord) {
        SnapshotBuilder::scheduled_item(self, &r)
    }
}

impl Sink for Dataset {
    const LINE_IDS: bool = true;
    fn customer(&mut self, r: &CustomerRecord) {
        self.customers.push(r.clone())
    }
    fn plan(&mut self, r: &PlanRecord) {
        self.plans.push(r.clone())
    }
    fn discount(&mut self, r: &DiscountRecord) {
        self.discounts.push(r.clone())
    }
    fn subscription(&mut self, r: &SubscriptionRecord) {
        self.subscriptions.push(r.clone())
    }
    fn item(&mut self, r: &SubscriptionItemRecord) {
        self.subscription_items.push(r.clone())
    }
    fn invoice(&mut self, r: InvoiceRow<'_>) {
        self.invoices.push(r.to_record())
    }
    fn line<'a>(
        &mut self,
        id: Option<&'a str>,
        r: LineRow<'a>,
        discounts: impl Iterator<Item = (&'a str, i64)>,
    ) -> Result<(), StoreError> {
        let id = id.ok_or_else(|| StoreError::Corrupt("invoice_lines: id not read".into()))?;
        self.invoice_lines.push(r.to_record(id, discounts.map(|(d, amount)| LineDiscount { discount_id: d.into(), amount }).collect()));
        Ok(())
    }
    fn fx_rate(&mut self, r: FxRateRecord) {
        self.fx_rates.push(r)
    }
    fn scheduled(&mut self, r: ScheduledItemRecord) {
        self.scheduled_items.push(r)
    }
}

/// The sink plus the reusable records that its owned-record entry points need.
struct Decoder<S> {
    sink: S,
    cur: CurrencyCache,
    c: CustomerRecord,
    p: PlanRecord,
    d: DiscountRecord,
    s: SubscriptionRecord,
    it: SubscriptionItemRecord,
    scratch: Vec<(String, i64)>,
}

impl<S: Sink> Decoder<S> {
    fn new(sink: S) -> Self {
        Decoder {
            sink,
            cur: CurrencyCache::default(),
            c: CustomerRecord::default(),
            p: PlanRecord {
                id: String::new(),
                name: None,
                product: None,
                currency: holdfast_core::Currency::USD,
                amount: 0,
                price_type: PriceType::Recurring,
                interval: None,
                interval_count: 1,
                usage_type: UsageType::Licensed,
            },
            d: DiscountRecord {
                id: String::new(),
                name: None,
                duration: DiscountDuration::Once,
                duration_in_months: None,
                percent_off_milli: None,
                amount_off: None,
                currency: None,
                customer_id: None,
                subscription_id: None,
                start: None,
                end: None,
            },
            s: SubscriptionRecord {
                id: String::new(),
                customer_id: String::new(),
                status: SubscriptionStatus::Active,
                currency: None,
                created_at: None,
                started_at: None,
                trial_start: None,
                trial_end: None,
                cancel_at_period_end: false,
                cancel_at: None,
                canceled_at: None,
                ended_at: None,
                unpaid_since: None,
                pause_start: None,
                pause_end: None,
                cancellation_reason: None,
            },
            it: SubscriptionItemRecord {
                id: String::new(),
                subscription_id: String::new(),
                plan_id: String::new(),
                quantity: 0,
                valid_from: 0,
                valid_to: None,
            },
            scratch: Vec::new(),
        }
    }

    fn customer(&mut self, r: &Cols<'_>) -> Result<(), StoreError> {
        let c = &mut self.c;
        set(&mut c.id, r.text(0)?);
        c.valid_from = Some(r.int(1)?).filter(|&v| v != NO_VALID_FROM);
        set_opt(&mut c.name, r.opt_text(2)?);
        set_opt(&mut c.email, r.opt_text(3)?);
        set_opt(&mut c.domain, r.opt_text(4)?);
        c.created_at = r.opt_int(5)?;
        c.external_ids.clear();
        if let Some(j) = r.opt_text(6)? {
            c.external_ids =
                serde_json::from_str(j).map_err(|e| StoreError::Corrupt(format!("customers.external_ids: {e}")))?;
        }
        c.attributes.clear();
        if let Some(j) = r.opt_text(7)? {
            c.attributes =
                serde_json::from_str(j).map_err(|e| StoreError::Corrupt(format!("customers.attributes: {e}")))?;
        }
        self.sink.customer(c);
        Ok(())
    }

    fn plan(&mut self, r: &Cols<'_>) -> Result<(), StoreError> {
        let p = &mut self.p;
        set(&mut p.id, r.text(0)?);
        set_opt(&mut p.name, r.opt_text(1)?);
        set_opt(&mut p.product, r.opt_text(2)?);
        p.currency = self.cur.get(r.text(3)?)?;
        p.amount = r.int(4)?;
        p.price_type = r.enm(5)?;
        p.interval = r.opt_enm(6)?;
        p.interval_count = r.u32(7)?;
        p.usage_type = r.enm(8)?;
        self.sink.plan(p);
        Ok(())
    }

    fn discount(&mut self, r: &Cols<'_>) -> Result<(), StoreError> {
        let d = &mut self.d;
        set(&mut d.id, r.text(0)?);
        set_opt(&mut d.name, r.opt_text(1)?);
        d.duration = r.enm(2)?;
        d.duration_in_months = r.opt_u32(3)?;
        d.percent_off_milli = r.opt_int(4)?;
        d.amount_off = r.opt_int(5)?;
        d.currency = r.opt_text(6)?.map(|c| self.cur.get(c)).transpose()?;
        set_opt(&mut d.customer_id, r.opt_text(7)?);
        set_opt(&mut d.subscription_id, r.opt_text(8)?);
        d.start = r.opt_int(9)?;
        d.end = r.opt_int(10)?;
        self.sink.discount(d);
        Ok(())
    }

    fn subscription(&mut self, r: &Cols<'_>) -> Result<(), StoreError> {
        let s = &mut self.s;
        set(&mut s.id, r.text(0)?);
        set(&mut s.customer_id, r.text(1)?);
        s.status = r.enm(2)?;
        s.currency = r.opt_text(3)?.map(|c| self.cur.get(c)).transpose()?;
        s.created_at = r.opt_int(4)?;
        s.started_at = r.opt_int(5)?;
        s.trial_start = r.opt_int(6)?;
        s.trial_end = r.opt_int(7)?;
        s.cancel_at_period_end = r.bool(8)?;
        s.cancel_at = r.opt_int(9)?;
        s.canceled_at = r.opt_int(10)?;
        s.ended_at = r.opt_int(11)?;
        s.unpaid_since = r.opt_int(12)?;
        s.pause_start = r.opt_int(13)?;
        s.pause_end = r.opt_int(14)?;
        set_opt(&mut s.cancellation_reason, r.opt_text(15)?);
        self.sink.subscription(s);
        Ok(())
    }

    fn item(&mut self, r: &Cols<'_>) -> Result<(), StoreError> {
        let it = &mut self.it;
        set(&mut it.id, r.text(0)?);
        it.valid_from = r.int(1)?;
        set(&mut it.subscription_id, r.text(2)?);
        set(&mut it.plan_id, r.text(3)?);
        it.quantity = r.int(4)?;
        it.valid_to = r.opt_int(5)?;
        self.sink.item(it);
        Ok(())
    }

    fn invoice(&mut self, r: &Cols<'_>) -> Result<(), StoreError> {
        self.sink.invoice(InvoiceRow {
            id: r.text(0)?,
            customer_id: r.text(1)?,
            currency: self.cur.get(r.text(2)?)?,
            status: r.enm(3)?,
            issued_at: r.int(4)?,
            due_at: r.opt_int(5)?,
            paid_at: r.opt_int(6)?,
            total: r.int(7)?,
            amount_paid: r.int(8)?,
            amount_refunded: r.int(9)?,
        });
        Ok(())
    }

    fn line(&mut self, r: &Cols<'_>) -> Result<(), StoreError> {
        let row = LineRow {
            invoice_id: r.text(0)?,
            subscription_id: r.opt_text(1)?,
            item_id: r.opt_text(2)?,
            plan_id: r.opt_text(3)?,
            price_type: r.enm(4)?,
            period_start: r.opt_int(5)?,
            period_end: r.opt_int(6)?,
            amount: r.int(7)?,
            tax_inclusive: r.int(8)?,
            quantity: r.int(9)?,
            prorated: r.bool(10)?,
        };
        let id = if S::LINE_IDS { Some(r.text(12)?) } else { None };
        match r.opt_text(11)? {
            None => self.sink.line(id, row, std::iter::empty()),
            Some(text) => {
                let ds = decode_discounts(text, &mut self.scratch)?;
                self.sink.line(id, row, ds)
            }
        }
    }

    fn fx_rate(&mut self, r: &Cols<'_>) -> Result<(), StoreError> {
        let day = i32::try_from(r.int(0)?).map_err(|_| corrupt("fx_rates", 0, "is out of range"))?;
        let base = self.cur.get(r.text(1)?)?;
        let quote = self.cur.get(r.text(2)?)?;
        self.sink.fx_rate(FxRateRecord { day, base, quote, rate: Rate(r.int(3)?) });
        Ok(())
    }

    fn scheduled(&mut self, r: &Cols<'_>) -> Result<(), StoreError> {
        self.sink.scheduled(ScheduledItemRecord {
            id: r.text(0)?.to_string(),
            subscription_id: r.text(1)?.to_string(),
            plan_id: r.text(2)?.to_string(),
            quantity: r.int(3)?,
            valid_from: r.int(4)?,
            valid_to: r.opt_int(5)?,
            scheduled_at: r.int(6)?,
            withdrawn_at: r.opt_int(7)?,
        });
        Ok(())
    }
}
