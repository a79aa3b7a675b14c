//! Fingerprints for duplicate detection: a 128-bit hash of each record's source key and a 64-bit hash of
//! its whole content, both over a canonical byte form (strings length-prefixed, options tagged).
//!
//! Keeping fingerprints instead of the keys themselves keeps the per-import memory at ~32 bytes per record
//! (9 M invoice lines ≈ 0.5 GiB at worst); a false key match needs a 128-bit collision.
use crate::SourceKind;
use holdfast_core::money::Currency;
use holdfast_core::records::*;
use holdfast_core::time::{day_to_date, format_instant};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64};

/// The keys are already uniformly distributed hashes: pass them through.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxh3_64(bytes) ^ self.0.rotate_left(5);
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = (v as u64) ^ ((v >> 64) as u64);
    }
}

pub(crate) type FpMap<V> = HashMap<u128, V, BuildHasherDefault<PassThrough>>;

#[inline]
pub(crate) fn fp128(b: &[u8]) -> u128 {
    xxh3_128(b)
}

/// Canonical bytes builder.
#[derive(Default)]
pub(crate) struct Canon {
    pub buf: Vec<u8>,
}

impl Canon {
    #[inline]
    fn s(&mut self, s: &str) {
        self.buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
        self.buf.extend_from_slice(s.as_bytes());
    }
    #[inline]
    fn os(&mut self, o: &Option<String>) {
        match o {
            None => self.buf.push(0),
            Some(s) => {
                self.buf.push(1);
                self.s(s);
            }
        }
    }
    #[inline]
    fn i(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    fn oi(&mut self, o: Option<i64>) {
        match o {
            None => self.buf.push(0),
            Some(v) => {
                self.buf.push(1);
                self.i(v);
            }
        }
    }

    /// Writes every field of `r`, its source key first; returns the length of the key's bytes.
    pub fn content(&mut self, r: &Record) -> usize {
        self.buf.clear();
        let key_len;
        match r {
            Record::Customer(c) => {
                self.s(&c.id);
                self.oi(c.valid_from);
                key_len = self.buf.len();
                self.os(&c.name);
                self.os(&c.email);
                self.os(&c.domain);
                self.oi(c.created_at);
                self.i(c.external_ids.len() as i64);
                for e in &c.external_ids {
                    self.s(e);
                }
                self.i(c.attributes.len() as i64);
                for (k, v) in &c.attributes {
                    self.s(k);
                    self.s(v);
                }
            }
            Record::Plan(p) => {
                self.s(&p.id);
                key_len = self.buf.len();
                self.os(&p.name);
                self.os(&p.product);
                self.s(p.currency.code());
                self.i(p.amount);
                self.s(p.price_type.as_str());
                self.s(p.interval.map(|i| i.as_str()).unwrap_or(""));
                self.i(p.interval_count as i64);
                self.s(p.usage_type.as_str());
            }
            Record::Subscription(x) => {
                self.s(&x.id);
                key_len = self.buf.len();
                self.s(&x.customer_id);
                self.s(x.status.as_str());
                self.s(x.currency.as_ref().map(|c| c.code()).unwrap_or(""));
                for t in [
                    x.created_at,
                    x.started_at,
                    x.trial_start,
                    x.trial_end,
                    x.cancel_at,
                    x.canceled_at,
                    x.ended_at,
                    x.unpaid_since,
                    x.pause_start,
                    x.pause_end,
                ] {
                    self.oi(t);
                }
                self.i(x.cancel_at_period_end as i64);
                self.os(&x.cancellation_reason);
            }
            Record::ScheduledItem(x) => {
                self.s(&x.id);
                key_len = self.buf.len();
                self.s(&x.subscription_id);
                self.s(&x.plan_id);
                self.i(x.quantity);
                self.i(x.valid_from);
                self.oi(x.valid_to);
                self.i(x.scheduled_at);
                self.oi(x.withdrawn_at);
            }
            Record::SubscriptionItem(x) => {
                self.s(&x.id);
                self.i(x.valid_from);
                key_len = self.buf.len();
                self.s(&x.subscription_id);
                self.s(&x.plan_id);
                self.i(x.quantity);
                self.oi(x.valid_to);
            }
            Record::Invoice(x) => {
                self.s(&x.id);
                key_len = self.buf.len();
                self.s(&x.customer_id);
                self.s(x.currency.code());
                self.s(x.status.as_str());
                self.i(x.issued_at);
                self.oi(x.due_at);
                self.oi(x.paid_at);
                self.i(x.total);
                self.i(x.amount_paid);
                self.i(x.amount_refunded);
            }
            Record::InvoiceLine(x) => {
                self.s(&x.id);
                key_len = self.buf.len();
                self.s(&x.invoice_id);
                self.os(&x.subscription_id);
                self.os(&x.item_id);
                self.os(&x.plan_id);
                self.s(x.price_type.as_str());
                self.oi(x.period_start);
                self.oi(x.period_end);
                self.i(x.amount);
                self.i(x.discounts.len() as i64);
                for d in &x.discounts {
                    self.s(&d.discount_id);
                    self.i(d.amount);
                }
                self.i(x.tax_inclusive);
                self.i(x.quantity);
                self.i(x.prorated as i64);
            }
            Record::Discount(x) => {
                self.s(&x.id);
                key_len = self.buf.len();
                self.os(&x.name);
                self.s(x.duration.as_str());
                self.oi(x.duration_in_months.map(i64::from));
                self.oi(x.percent_off_milli);
                self.oi(x.amount_off);
                self.s(x.currency.as_ref().map(|c| c.code()).unwrap_or(""));
                self.os(&x.customer_id);
                self.os(&x.subscription_id);
                self.oi(x.start);
                self.oi(x.end);
            }
            Record::FxRate(x) => {
                self.i(x.day as i64);
                self.s(x.base.code());
                self.s(x.quote.code());
                key_len = self.buf.len();
                self.i(x.rate.0);
            }
        }
        key_len
    }
}

pub(crate) fn kind_of(r: &Record) -> SourceKind {
    match r {
        Record::Customer(_) => SourceKind::Customers,
        Record::Plan(_) => SourceKind::Plans,
        Record::Discount(_) => SourceKind::Discounts,
        Record::FxRate(_) => SourceKind::FxRates,
        Record::Subscription(_) => SourceKind::Subscriptions,
        Record::SubscriptionItem(_) => SourceKind::SubscriptionItems,
        Record::ScheduledItem(_) => SourceKind::ScheduledItems,
        Record::Invoice(_) => SourceKind::Invoices,
        Record::InvoiceLine(_) => SourceKind::InvoiceLines,
    }
}

/// The key field's name and the key as text, for duplicate errors.
pub(crate) fn key_display(r: &Record) -> (&'static str, String) {
    match r {
        Record::Customer(c) => match c.valid_from {
            None => ("customer_id", c.id.clone()),
            Some(v) => ("customer_id", format!("{} (valid_from {})", c.id, format_instant(v))),
        },
        Record::Plan(x) => ("plan_id", x.id.clone()),
        Record::Subscription(x) => ("subscription_id", x.id.clone()),
        Record::SubscriptionItem(x) => ("item_id", format!("{} (valid_from {})", x.id, format_instant(x.valid_from))),
        Record::ScheduledItem(x) => ("scheduled_item_id", x.id.clone()),
        Record::Invoice(x) => ("invoice_id", x.id.clone()),
        Record::InvoiceLine(x) => ("line_id", x.id.clone()),
        Record::Discount(x) => ("discount_id", x.id.clone()),
        Record::FxRate(x) => ("date", format!("{} {}/{}", day_to_date(x.day), x.base, x.quote)),
    }
}

/// Open-addressing set of key fingerprints → (content hash, location), for duplicate detection.
///
/// Hand-rolled instead of a `HashMap` so that the slot of an upcoming key can be prefetched while other
/// rows are parsed: with millions of keys every probe is a cache miss, which otherwise dominates the
/// cost of reading an invoice line. 32 bytes per slot, load factor ≤ 3/4.
#[derive(Default)]
pub(crate) struct DupTable {
    slots: Vec<Slot>,
    len: usize,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    /// 0 = empty (a real fingerprint of 0 is stored as 1).
    key: u128,
    content: u64,
    loc: u64,
}

impl DupTable {
    #[inline]
    fn home(&self, key: u128) -> usize {
        (key as u64 as usize) & (self.slots.len() - 1)
    }

    /// Makes room for `additional` more keys without growing.
    pub fn reserve(&mut self, additional: usize) {
        let need = ((self.len + additional) * 4 / 3 + 1).next_power_of_two().max(16);
        if need > self.slots.len() {
            self.resize(need);
        }
    }

    fn resize(&mut self, cap: usize) {
        let mut v: Vec<Slot> = Vec::with_capacity(cap);
        advise_huge_pages(&v);
        v.resize(cap, Slot::default());
        let old = std::mem::replace(&mut self.slots, v);
        for s in old.into_iter().filter(|s| s.key != 0) {
            let mut i = self.home(s.key);
            while self.slots[i].key != 0 {
                i = (i + 1) & (cap - 1);
            }
            self.slots[i] = s;
        }
    }

    /// Hints the CPU to load `key`'s slot.
    #[inline]
    pub fn prefetch(&self, key: u128) {
        #[cfg(target_arch = "x86_64")]
        if !self.slots.is_empty() {
            let p = &self.slots[self.home(key)] as *const Slot as *const i8;
            // SAFETY: prefetching has no architectural effect and cannot fault; `p` points into `slots`.
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = key;
    }

    /// Inserts `key`; if it is already present, returns its (content, loc) and changes nothing.
    pub fn insert(&mut self, key: u128, content: u64, loc: u64) -> Option<(u64, u64)> {
        let key = key.max(1);
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.resize((self.slots.len() * 2).max(16));
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let s = &mut self.slots[i];
            if s.key == 0 {
                *s = Slot { key, content, loc };
                self.len += 1;
                return None;
            }
            if s.key == key {
                return Some((s.content, s.loc));
            }
            i = (i + 1) & mask;
        }
    }
}

/// Asks Linux to back the (still untouched) allocation of `v` with transparent huge pages: probes of a
/// table of millions of keys are random, and with 4 KiB pages nearly every probe also misses the TLB
/// (measured: ~20% of the time to read an invoice line). Small tables are left alone.
#[cfg(target_os = "linux")]
fn advise_huge_pages<T>(v: &Vec<T>) {
    const HUGE: usize = 2 << 20;
    let start = v.as_ptr() as usize;
    let end = start + v.capacity() * std::mem::size_of::<T>();
    let from = start.next_multiple_of(HUGE);
    let to = end / HUGE * HUGE;
    if to >= from + 2 * HUGE {
        // SAFETY: the range lies inside `v`'s allocation; MADV_HUGEPAGE only changes how the kernel backs
        // those pages, never their contents, and failure (e.g. THP disabled) is harmless.
        unsafe {
            libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages<T>(_: &Vec<T>) {}

/// Invoice id fingerprint → currency, tuned for lines that come in the order of their invoices.
///
/// Invoices are appended to a list; a lookup first tries the invoice at the cursor and the next one (lines
/// of one invoice, then of the next), which needs no random memory access. Only when that fails is a hash
/// index built (once) and used, and the cursor moves to where the index found the invoice.
#[derive(Default)]
pub(crate) struct InvoiceCurrencies {
    order: Vec<(u128, Currency)>,
    cursor: usize,
    index: Option<FpMap<usize>>,
}

impl InvoiceCurrencies {
    pub fn insert(&mut self, key: u128, c: Currency) {
        if let Some(ix) = &mut self.index {
            ix.insert(key, self.order.len());
        }
        self.order.push((key, c));
    }

    pub fn get(&mut self, key: u128) -> Option<Currency> {
        for i in [self.cursor, self.cursor + 1] {
            if let Some(&(k, c)) = self.order.get(i) {
                if k == key {
                    self.cursor = i;
                    return Some(c);
                }
            }
        }
        let order = &self.order;
        let ix = self.index.get_or_insert_with(|| order.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect());
        let i = *ix.get(&key)?;
        self.cursor = i;
        Some(self.order[i].1)
    }
}
