//! The engine's input: every billing record in columnar arrays with dense integer ids.
//!
//! A store (or a test, or the simulator) feeds a [`SnapshotBuilder`] row by row with borrowed strings; the
//! builder interns ids into dense `u32`s and appends to columns, so loading millions of lines allocates only
//! once per distinct id. Order of feeding: customers, plans, discounts, subscriptions, items, invoices, lines
//! (lines refer to invoices). Row order within a table must be deterministic (stores load by source key), so
//! results are identical whatever order the data was imported in.
use crate::fx::Rate;
use crate::money::Currency;
use crate::records::*;
use crate::time::Ts;

/// Absent reference.
pub const NONE: u32 = u32::MAX;

/// An optional instant in 8 bytes (`Option<i64>` takes 16, which matters over tens of millions of rows).
/// `i64::MIN` stands for "absent"; no parsed instant is that far in the past.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct OptTs(i64);

impl OptTs {
    pub const NONE: OptTs = OptTs(i64::MIN);
    #[inline]
    pub fn new(o: Option<Ts>) -> OptTs {
        OptTs(o.unwrap_or(i64::MIN))
    }
    #[inline]
    pub fn get(self) -> Option<Ts> {
        (self.0 != i64::MIN).then_some(self.0)
    }
}

impl Default for OptTs {
    fn default() -> Self {
        OptTs::NONE
    }
}

impl From<Option<Ts>> for OptTs {
    fn from(o: Option<Ts>) -> Self {
        OptTs::new(o)
    }
}

impl std::fmt::Debug for OptTs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

// SAFETY: `OptTs` is `repr(transparent)` over `i64`, so every bit pattern is valid and it has no padding.
unsafe impl bytemuck::Zeroable for OptTs {}
unsafe impl bytemuck::Pod for OptTs {}

/// String ↔ dense id. Names live in one arena (one allocation per growth, not per name); the hash table
/// holds only ids. Names pushed in ascending order ([`Interner::push_sorted`], as stores load by key) are
/// indexed lazily: lookups that the caller's hint answers never pay for hashing, and an unindexed sorted
/// interner answers [`Interner::get`] by binary search.
#[derive(Clone, Default)]
pub struct Interner {
    arena: String,
    /// `ends[i]` = end of name `i` in `arena` (start = previous end).
    ends: Vec<u32>,
    table: hashbrown::HashTable<u32>,
    /// names `0..indexed` are in `table`
    indexed: usize,
    /// every name was pushed in strictly ascending order
    unsorted: bool,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries((0..self.len() as u32).map(|i| self.name(i))).finish()
    }
}

#[inline]
fn hash_str(s: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(s.as_bytes());
    h.finish()
}

impl Interner {
    pub fn with_capacity(names: usize, bytes: usize) -> Interner {
        Interner { arena: String::with_capacity(bytes), ends: Vec::with_capacity(names), ..Interner::default() }
    }

    #[inline]
    fn name_of<'a>(arena: &'a str, ends: &[u32], i: u32) -> &'a str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { ends[i - 1] as usize };
        &arena[start..ends[i] as usize]
    }

    fn ensure_indexed(&mut self) {
        if self.indexed == self.ends.len() {
            return;
        }
        self.table.reserve(self.ends.len() - self.indexed, |_| 0);
        for i in self.indexed..self.ends.len() {
            let h = hash_str(Self::name_of(&self.arena, &self.ends, i as u32));
            let (arena, ends) = (&self.arena, &self.ends);
            self.table.insert_unique(h, i as u32, |&j| hash_str(Self::name_of(arena, ends, j)));
        }
        self.indexed = self.ends.len();
    }

    fn push(&mut self, s: &str) -> u32 {
        let i = self.ends.len() as u32;
        self.arena.push_str(s);
        assert!(self.arena.len() <= u32::MAX as usize, "interner arena over 4 GiB");
        self.ends.push(self.arena.len() as u32);
        i
    }

    pub fn intern(&mut self, s: &str) -> u32 {
        self.ensure_indexed();
        let h = hash_str(s);
        let (arena, ends) = (&self.arena, &self.ends);
        if let Some(&i) = self.table.find(h, |&i| Self::name_of(arena, ends, i) == s) {
            return i;
        }
        if self.ends.last().is_some() && s <= self.name(self.ends.len() as u32 - 1) {
            self.unsorted = true;
        }
        let i = self.push(s);
        let (arena, ends) = (&self.arena, &self.ends);
        self.table.insert_unique(h, i, |&j| hash_str(Self::name_of(arena, ends, j)));
        self.indexed = self.ends.len();
        i
    }

    /// Interns a name that is greater than or equal to every name so far (rows read in key order) without
    /// hashing it; returns `(id, new)`. Out-of-order names fall back to [`Interner::intern`].
    pub fn push_sorted(&mut self, s: &str) -> (u32, bool) {
        let n = self.ends.len() as u32;
        if n > 0 {
            let last = self.name(n - 1);
            if s == last {
                return (n - 1, false);
            }
            if s < last || self.unsorted {
                let before = self.ends.len();
                let i = self.intern(s);
                return (i, self.ends.len() > before);
            }
        }
        (self.push(s), true)
    }

    pub fn get(&self, s: &str) -> Option<u32> {
        if self.indexed == self.ends.len() {
            return self.table.find(hash_str(s), |&i| Self::name_of(&self.arena, &self.ends, i) == s).copied();
        }
        // not (fully) indexed: only ever the case for sorted names
        let (mut lo, mut hi) = (0u32, self.ends.len() as u32);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.name(mid).cmp(s) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// `hint` or the id after it, when it names `s`: rows loaded in key order usually refer to the same or
    /// the next entity as the row before, and a string compare is far cheaper than a hash probe.
    #[inline]
    fn near(&self, s: &str, hint: u32) -> Option<u32> {
        let n = self.ends.len() as u32;
        [hint, hint.wrapping_add(1)].into_iter().find(|&h| h < n && Self::name_of(&self.arena, &self.ends, h) == s)
    }

    /// Looks `s` up trying `*hint` and its successor first (indexing lazily on a miss); updates the hint.
    #[inline]
    pub fn get_near(&mut self, s: &str, hint: &mut u32) -> Option<u32> {
        let r = match self.near(s, *hint) {
            Some(i) => Some(i),
            None => {
                self.ensure_indexed();
                self.get(s)
            }
        };
        if let Some(i) = r {
            *hint = i;
        }
        r
    }

    /// [`Interner::intern`] trying `*hint` and its successor first; updates the hint.
    #[inline]
    pub fn intern_near(&mut self, s: &str, hint: &mut u32) -> u32 {
        let i = match self.near(s, *hint) {
            Some(i) => i,
            None => self.intern(s),
        };
        *hint = i;
        i
    }

    pub fn name(&self, i: u32) -> &str {
        Self::name_of(&self.arena, &self.ends, i)
    }

    pub(crate) fn parts(&self) -> (&str, &[u32], bool) {
        (&self.arena, &self.ends, self.unsorted)
    }

    /// Rebuilds an interner from its arena; an unsorted one is indexed at once (it cannot binary-search).
    pub(crate) fn from_parts(arena: String, ends: Vec<u32>, unsorted: bool) -> Result<Interner, String> {
        if ends.last().map(|&e| e as usize != arena.len()).unwrap_or(!arena.is_empty()) || ends.windows(2).any(|w| w[0] > w[1]) || ends.iter().any(|&e| !arena.is_char_boundary(e as usize)) {
            return Err("corrupt interner".into());
        }
        let mut i = Interner { arena, ends, unsorted, ..Interner::default() };
        if unsorted {
            i.ensure_indexed();
        }
        Ok(i)
    }
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// One version of one customer attribute (the attribute is the index of its list in `Customers::attrs`).
/// 16 bytes: a million customers carry several million of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AttrVersion {
    pub customer: u32,
    pub valid_from: Ts,
    pub value: u32,
}

#[derive(Clone, Debug, Default)]
pub struct Customers {
    pub ids: Interner,
    pub created_at: Vec<OptTs>,
    pub name: Vec<Option<Box<str>>>,
    /// Attribute names and the dictionary of attribute values.
    pub attr_keys: Interner,
    pub attr_values: Interner,
    /// Per attribute key, its versions sorted by `(customer, valid_from)` after [`SnapshotBuilder::finish`].
    pub attrs: Vec<Vec<AttrVersion>>,
    /// Keys that identify one account across records, for merging duplicates: `(customer, key)` with keys
    /// `id:<other id>` (external ids, e.g. the id in a previous billing system) and `domain:<domain>`
    /// (the customer's domain, else its email's), sorted and deduplicated by `finish`.
    pub merge_keys: Vec<(u32, u32)>,
    pub merge_key_names: Interner,
}

impl Customers {
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
    /// Attribute `key` of `customer` as of `t` (the latest version with `valid_from ≤ t`, else the first).
    pub fn attr_at(&self, customer: u32, key: u32, t: Ts) -> Option<u32> {
        let vs = self.attr_versions(customer, key);
        if vs.is_empty() {
            return None;
        }
        let i = vs.partition_point(|a| a.valid_from <= t);
        Some(if i == 0 { vs[0].value } else { vs[i - 1].value })
    }
    /// All versions of attribute `key` of `customer`, oldest first.
    pub fn attr_versions(&self, customer: u32, key: u32) -> &[AttrVersion] {
        let Some(all) = self.attrs.get(key as usize) else { return &[] };
        let lo = all.partition_point(|a| a.customer < customer);
        let hi = all.partition_point(|a| a.customer <= customer);
        &all[lo..hi]
    }
}

#[derive(Clone, Debug, Default)]
pub struct Plans {
    pub ids: Interner,
    pub name: Vec<Option<Box<str>>>,
    pub currency: Vec<Currency>,
    pub amount: Vec<i64>,
    pub price_type: Vec<PriceType>,
    pub interval: Vec<Option<Interval>>,
    pub interval_count: Vec<u32>,
    pub usage_type: Vec<UsageType>,
}

#[derive(Clone, Debug, Default)]
pub struct Discounts {
    pub ids: Interner,
    pub duration: Vec<DiscountDuration>,
    pub percent_off_milli: Vec<Option<i64>>,
    pub amount_off: Vec<Option<i64>>,
    pub end: Vec<OptTs>,
    /// When the discount began to apply (subscription-state MRR applies it from then).
    pub start: Vec<OptTs>,
    /// The subscription it is attached to, else `NONE`.
    pub subscription: Vec<u32>,
    /// The customer it is attached to, else `NONE` (with `subscription = NONE`: all their subscriptions).
    pub customer: Vec<u32>,
}

/// Subscriptions, including implicit ones that only lines refer to (their `status` is `None`: the source
/// has no lifecycle facts, so the subscription ends with its last service period).
#[derive(Clone, Debug, Default)]
pub struct Subscriptions {
    pub ids: Interner,
    pub customer: Vec<u32>,
    pub status: Vec<Option<SubscriptionStatus>>,
    pub created_at: Vec<OptTs>,
    pub started_at: Vec<OptTs>,
    pub trial_start: Vec<OptTs>,
    pub trial_end: Vec<OptTs>,
    pub cancel_at_period_end: Vec<bool>,
    pub cancel_at: Vec<OptTs>,
    pub canceled_at: Vec<OptTs>,
    pub ended_at: Vec<OptTs>,
    pub unpaid_since: Vec<OptTs>,
    pub pause_start: Vec<OptTs>,
    pub pause_end: Vec<OptTs>,
}

impl Subscriptions {
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
    fn push_implicit(&mut self, customer: u32) {
        self.customer.push(customer);
        self.status.push(None);
        for v in [
            &mut self.created_at,
            &mut self.started_at,
            &mut self.trial_start,
            &mut self.trial_end,
            &mut self.cancel_at,
            &mut self.canceled_at,
            &mut self.ended_at,
            &mut self.unpaid_since,
            &mut self.pause_start,
            &mut self.pause_end,
        ] {
            v.push(OptTs::NONE);
        }
        self.cancel_at_period_end.push(false);
    }
}

/// Versions of subscription items (price × quantity over time).
#[derive(Clone, Debug, Default)]
pub struct Items {
    pub ids: Interner,
    pub subscription: Vec<u32>,
    pub item: Vec<u32>,
    pub plan: Vec<u32>,
    pub quantity: Vec<i64>,
    pub valid_from: Vec<Ts>,
    pub valid_to: Vec<OptTs>,
}

/// Scheduled future phases' items (CMRR), in source-key order; rows of unknown subscriptions are dropped.
#[derive(Clone, Debug, Default)]
pub struct ScheduledItems {
    pub subscription: Vec<u32>,
    pub plan: Vec<u32>,
    pub quantity: Vec<i64>,
    pub valid_from: Vec<Ts>,
    pub valid_to: Vec<OptTs>,
    pub scheduled_at: Vec<Ts>,
    pub withdrawn_at: Vec<OptTs>,
}

impl ScheduledItems {
    pub fn len(&self) -> usize {
        self.subscription.len()
    }
    pub fn is_empty(&self) -> bool {
        self.subscription.is_empty()
    }
}

/// Invoices in source-key order. Their ids are used while building (to join lines) and dropped by
/// [`SnapshotBuilder::finish`], so `ids` is empty in a finished snapshot.
#[derive(Clone, Debug, Default)]
pub struct Invoices {
    pub ids: Interner,
    pub customer: Vec<u32>,
    pub currency: Vec<Currency>,
    pub status: Vec<InvoiceStatus>,
    pub issued_at: Vec<Ts>,
    pub due_at: Vec<OptTs>,
    pub paid_at: Vec<OptTs>,
    pub total: Vec<i64>,
    /// `INVOICE_*` flags.
    pub flags: Vec<u8>,
    /// Sparse `(invoice, amount_paid, amount_refunded)` for invoices whose payment differs from the usual
    /// (paid in full when `paid`, nothing otherwise, no refund); read through the accessors.
    pub payments: Vec<(u32, i64, i64)>,
}

/// The invoice has an entry in `Invoices::payments`.
pub const INVOICE_PAYMENT_EXCEPTION: u8 = 1;

impl Invoices {
    pub fn len(&self) -> usize {
        self.customer.len()
    }
    /// The distinct currencies invoiced, sorted (a handful: a linear check per invoice beats sorting them).
    pub fn currencies(&self) -> Vec<Currency> {
        let mut out: Vec<Currency> = Vec::new();
        for &c in &self.currency {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out.sort_unstable();
        out
    }
    #[inline]
    fn payment(&self, i: usize) -> (i64, i64) {
        if self.flags[i] & INVOICE_PAYMENT_EXCEPTION != 0 {
            if let Ok(k) = self.payments.binary_search_by_key(&(i as u32), |p| p.0) {
                return (self.payments[k].1, self.payments[k].2);
            }
        }
        (if self.status[i] == InvoiceStatus::Paid { self.total[i] } else { 0 }, 0)
    }
    pub fn amount_paid(&self, i: usize) -> i64 {
        self.payment(i).0
    }
    pub fn amount_refunded(&self, i: usize) -> i64 {
        self.payment(i).1
    }
    pub fn is_empty(&self) -> bool {
        self.customer.is_empty()
    }
}

/// Line flags.
pub const LINE_RECURRING: u8 = 1;
pub const LINE_PRORATED: u8 = 2;
pub const LINE_HAS_PERIOD: u8 = 4;
/// The line has entries in `Lines::discounts`.
pub const LINE_DISCOUNTED: u8 = 8;
/// The line has an entry in `Lines::taxes`.
pub const LINE_TAXED: u8 = 16;

/// Invoice lines, one column per field. Lines carry no string id: the engine identifies them by index.
/// Instants of lines without a service period are 0 and the flag `LINE_HAS_PERIOD` is unset.
#[derive(Clone, Debug, Default)]
pub struct Lines {
    pub invoice: Vec<u32>,
    pub subscription: Vec<u32>,
    /// Item key (interned in `Snapshot::item_keys`); lines of one item supersede each other.
    pub item: Vec<u32>,
    pub plan: Vec<u32>,
    pub flags: Vec<u8>,
    pub period_start: Vec<Ts>,
    /// Service period length in seconds (`period_end − period_start`; 4 bytes instead of another instant).
    pub period_len: Vec<u32>,
    pub amount: Vec<i64>,
    /// Sparse `(line, inclusive tax)`, in line order; read through [`Lines::tax_inclusive`].
    pub taxes: Vec<(u32, i64)>,
    pub quantity: Vec<i64>,
    /// Sparse: `(line, discount, amount)`, in line order.
    pub discounts: Vec<(u32, u32, i64)>,
}

impl Lines {
    pub fn len(&self) -> usize {
        self.invoice.len()
    }
    /// End of the line's service period.
    #[inline]
    pub fn period_end(&self, i: usize) -> Ts {
        self.period_start[i] + self.period_len[i] as Ts
    }

    /// Inclusive tax contained in the line's amount.
    #[inline]
    pub fn tax_inclusive(&self, i: usize) -> i64 {
        if self.flags[i] & LINE_TAXED == 0 {
            return 0;
        }
        self.taxes.binary_search_by_key(&(i as u32), |t| t.0).map(|k| self.taxes[k].1).unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.invoice.is_empty()
    }
}

/// Everything the engine needs, columnar.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub customers: Customers,
    pub plans: Plans,
    pub discounts: Discounts,
    pub subscriptions: Subscriptions,
    pub items: Items,
    pub item_keys: Interner,
    pub scheduled: ScheduledItems,
    pub invoices: Invoices,
    pub lines: Lines,
    /// `(UTC day, base, quote, rate)`.
    pub fx_rates: Vec<(i32, Currency, Currency, Rate)>,
}

/// A line as a store reads it, with borrowed ids.
#[derive(Clone, Copy, Debug)]
pub struct LineRow<'a> {
    pub invoice_id: &'a str,
    pub subscription_id: Option<&'a str>,
    pub item_id: Option<&'a str>,
    pub plan_id: Option<&'a str>,
    pub price_type: PriceType,
    pub period_start: Option<Ts>,
    pub period_end: Option<Ts>,
    pub amount: i64,
    pub tax_inclusive: i64,
    pub quantity: i64,
    pub prorated: bool,
}

/// An invoice as a store reads it, with borrowed ids.
#[derive(Clone, Copy, Debug)]
pub struct InvoiceRow<'a> {
    pub id: &'a str,
    pub customer_id: &'a str,
    pub currency: Currency,
    pub status: InvoiceStatus,
    pub issued_at: Ts,
    pub due_at: Option<Ts>,
    pub paid_at: Option<Ts>,
    pub total: i64,
    pub amount_paid: i64,
    pub amount_refunded: i64,
}

impl<'a> From<&'a InvoiceRecord> for InvoiceRow<'a> {
    fn from(r: &'a InvoiceRecord) -> Self {
        InvoiceRow {
            id: &r.id,
            customer_id: &r.customer_id,
            currency: r.currency,
            status: r.status,
            issued_at: r.issued_at,
            due_at: r.due_at,
            paid_at: r.paid_at,
            total: r.total,
            amount_paid: r.amount_paid,
            amount_refunded: r.amount_refunded,
        }
    }
}

impl InvoiceRow<'_> {
    pub fn to_record(&self) -> InvoiceRecord {
        InvoiceRecord {
            id: self.id.into(),
            customer_id: self.customer_id.into(),
            currency: self.currency,
            status: self.status,
            issued_at: self.issued_at,
            due_at: self.due_at,
            paid_at: self.paid_at,
            total: self.total,
            amount_paid: self.amount_paid,
            amount_refunded: self.amount_refunded,
        }
    }
}

impl<'a> From<&'a InvoiceLineRecord> for LineRow<'a> {
    fn from(r: &'a InvoiceLineRecord) -> Self {
        LineRow {
            invoice_id: &r.invoice_id,
            subscription_id: r.subscription_id.as_deref(),
            item_id: r.item_id.as_deref(),
            plan_id: r.plan_id.as_deref(),
            price_type: r.price_type,
            period_start: r.period_start,
            period_end: r.period_end,
            amount: r.amount,
            tax_inclusive: r.tax_inclusive,
            quantity: r.quantity,
            prorated: r.prorated,
        }
    }
}

impl LineRow<'_> {
    /// The record of this row, given its id and discounts.
    pub fn to_record(&self, id: &str, discounts: Vec<LineDiscount>) -> InvoiceLineRecord {
        InvoiceLineRecord {
            id: id.into(),
            invoice_id: self.invoice_id.into(),
            subscription_id: self.subscription_id.map(Into::into),
            item_id: self.item_id.map(Into::into),
            plan_id: self.plan_id.map(Into::into),
            price_type: self.price_type,
            period_start: self.period_start,
            period_end: self.period_end,
            amount: self.amount,
            discounts,
            tax_inclusive: self.tax_inclusive,
            quantity: self.quantity,
            prorated: self.prorated,
        }
    }
}

/// Builds a [`Snapshot`] from rows. References to unknown ids create the referenced entity implicitly
/// (a customer known only from invoices still counts), so the engine never sees a dangling id.
#[derive(Default)]
pub struct SnapshotBuilder {
    s: Snapshot,
    scratch: String,
    hints: Hints,
    /// (discount, subscription id) pairs to resolve once subscriptions are known.
    discount_subs: Vec<(u32, String)>,
}

/// Last ids looked up per table (see [`Interner::get_near`]).
#[derive(Default)]
struct Hints {
    customer: u32,
    subscription: u32,
    item: u32,
    plan: u32,
    invoice: u32,
}

impl SnapshotBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(customers: usize, invoices: usize, lines: usize) -> Self {
        let mut b = Self::default();
        b.s.customers.created_at.reserve(customers);
        b.s.customers.ids = Interner::with_capacity(customers, customers * 12);
        b.s.invoices.ids = Interner::with_capacity(invoices, invoices * 16);
        let inv = &mut b.s.invoices;
        inv.customer.reserve(invoices);
        inv.currency.reserve(invoices);
        inv.status.reserve(invoices);
        inv.issued_at.reserve(invoices);
        inv.due_at.reserve(invoices);
        inv.paid_at.reserve(invoices);
        inv.total.reserve(invoices);
        inv.flags.reserve(invoices);
        let l = &mut b.s.lines;
        l.invoice.reserve(lines);
        l.subscription.reserve(lines);
        l.item.reserve(lines);
        l.plan.reserve(lines);
        l.flags.reserve(lines);
        l.period_start.reserve(lines);
        l.period_len.reserve(lines);
        l.amount.reserve(lines);
        l.quantity.reserve(lines);
        b
    }

    fn customer_idx(&mut self, id: &str) -> u32 {
        let c = &mut self.s.customers;
        let i = c.ids.intern_near(id, &mut self.hints.customer);
        if i as usize == c.created_at.len() {
            c.created_at.push(OptTs::NONE);
            c.name.push(None);
        }
        i
    }

    pub fn customer(&mut self, r: &CustomerRecord) {
        let i = self.customer_idx(&r.id);
        let c = &mut self.s.customers;
        if r.valid_from.is_none() || c.created_at[i as usize].get().is_none() {
            if r.created_at.is_some() {
                c.created_at[i as usize] = r.created_at.into();
            }
            if let Some(n) = &r.name {
                c.name[i as usize] = Some(n.as_str().into());
            }
        }
        for ext in &r.external_ids {
            let k = c.merge_key_names.intern(&format!("id:{}", ext.trim()));
            c.merge_keys.push((i, k));
        }
        let domain = r.domain.as_deref().or_else(|| r.email.as_deref().and_then(|e| e.rsplit_once('@').map(|x| x.1)));
        if let Some(d) = domain.map(|d| d.trim().to_ascii_lowercase()).filter(|d| !d.is_empty()) {
            let k = c.merge_key_names.intern(&format!("domain:{d}"));
            c.merge_keys.push((i, k));
        }
        let from = r.valid_from.unwrap_or(i64::MIN);
        for (k, v) in &r.attributes {
            let key = c.attr_keys.intern(k);
            let value = c.attr_values.intern(v);
            if c.attrs.len() <= key as usize {
                c.attrs.resize_with(key as usize + 1, Vec::new);
            }
            c.attrs[key as usize].push(AttrVersion { customer: i, valid_from: from, value });
        }
    }

    pub fn plan(&mut self, r: &PlanRecord) {
        let p = &mut self.s.plans;
        let i = p.ids.intern(&r.id) as usize;
        if i < p.currency.len() {
            return; // duplicate id: the first (by key order) wins; stores never produce duplicates
        }
        p.name.push(r.name.as_deref().map(Into::into));
        p.currency.push(r.currency);
        p.amount.push(r.amount);
        p.price_type.push(r.price_type);
        p.interval.push(r.interval);
        p.interval_count.push(r.interval_count.max(1));
        p.usage_type.push(r.usage_type);
    }

    pub fn discount(&mut self, r: &DiscountRecord) {
        let d = &mut self.s.discounts;
        let i = d.ids.intern(&r.id) as usize;
        if i < d.duration.len() {
            return;
        }
        d.duration.push(r.duration);
        d.percent_off_milli.push(r.percent_off_milli);
        d.amount_off.push(r.amount_off);
        d.end.push(r.end.into());
        d.start.push(r.start.into());
        d.customer.push(r.customer_id.as_deref().and_then(|c| self.s.customers.ids.get(c)).unwrap_or(NONE));
        d.subscription.push(NONE);
        if let Some(sub) = &r.subscription_id {
            // Subscriptions are fed after discounts: resolved in `finish`.
            self.discount_subs.push((i as u32, sub.clone()));
        }
    }

    fn discount_idx(&mut self, id: &str) -> u32 {
        let d = &mut self.s.discounts;
        let i = d.ids.intern(id);
        if i as usize == d.duration.len() {
            // Unknown discount: treat as applying forever (the conservative reading of "a discount").
            d.duration.push(DiscountDuration::Forever);
            d.percent_off_milli.push(None);
            d.amount_off.push(None);
            d.end.push(OptTs::NONE);
            d.start.push(OptTs::NONE);
            d.subscription.push(NONE);
            d.customer.push(NONE);
        }
        i
    }

    fn subscription_idx(&mut self, id: &str, customer: u32) -> u32 {
        let s = &mut self.s.subscriptions;
        let i = s.ids.intern_near(id, &mut self.hints.subscription);
        if i as usize == s.customer.len() {
            s.push_implicit(customer);
        }
        i
    }

    pub fn subscription(&mut self, r: &SubscriptionRecord) {
        let c = self.customer_idx(&r.customer_id);
        let i = self.subscription_idx(&r.id, c) as usize;
        let s = &mut self.s.subscriptions;
        s.customer[i] = c;
        s.status[i] = Some(r.status);
        s.created_at[i] = r.created_at.into();
        s.started_at[i] = r.started_at.into();
        s.trial_start[i] = r.trial_start.into();
        s.trial_end[i] = r.trial_end.into();
        s.cancel_at_period_end[i] = r.cancel_at_period_end;
        s.cancel_at[i] = r.cancel_at.into();
        s.canceled_at[i] = r.canceled_at.into();
        s.ended_at[i] = r.ended_at.into();
        s.unpaid_since[i] = r.unpaid_since.into();
        s.pause_start[i] = r.pause_start.into();
        s.pause_end[i] = r.pause_end.into();
    }

    fn plan_idx(&mut self, id: &str) -> u32 {
        // Lines may name prices the source never listed; they are then treated as of unknown interval.
        self.s.plans.ids.get_near(id, &mut self.hints.plan).unwrap_or(NONE)
    }

    pub fn subscription_item(&mut self, r: &SubscriptionItemRecord) {
        let sub = match self.s.subscriptions.ids.get(&r.subscription_id) {
            Some(s) => s,
            None => return, // items of unknown subscriptions carry no customer; importers reject them
        };
        let plan = self.plan_idx(&r.plan_id);
        let item = self.s.item_keys.intern(&r.id);
        let it = &mut self.s.items;
        it.ids.intern(&r.id);
        it.subscription.push(sub);
        it.item.push(item);
        it.plan.push(plan);
        it.quantity.push(r.quantity);
        it.valid_from.push(r.valid_from);
        it.valid_to.push(r.valid_to.into());
    }

    pub fn scheduled_item(&mut self, r: &ScheduledItemRecord) {
        let Some(sub) = self.s.subscriptions.ids.get(&r.subscription_id) else {
            return; // a schedule of a subscription not in the data commits nothing we can attribute
        };
        let plan = self.plan_idx(&r.plan_id);
        let x = &mut self.s.scheduled;
        x.subscription.push(sub);
        x.plan.push(plan);
        x.quantity.push(r.quantity);
        x.valid_from.push(r.valid_from);
        x.valid_to.push(r.valid_to.into());
        x.scheduled_at.push(r.scheduled_at);
        x.withdrawn_at.push(r.withdrawn_at.into());
    }

    pub fn invoice(&mut self, r: InvoiceRow<'_>) {
        let c = self.customer_idx(r.customer_id);
        let inv = &mut self.s.invoices;
        let (i, new) = inv.ids.push_sorted(r.id);
        if !new || (i as usize) < inv.customer.len() {
            return;
        }
        inv.customer.push(c);
        inv.currency.push(r.currency);
        inv.status.push(r.status);
        inv.issued_at.push(r.issued_at);
        inv.due_at.push(r.due_at.into());
        inv.paid_at.push(r.paid_at.into());
        inv.total.push(r.total);
        let usual = (if r.status == InvoiceStatus::Paid { r.total } else { 0 }, 0);
        if (r.amount_paid, r.amount_refunded) != usual {
            inv.payments.push((i, r.amount_paid, r.amount_refunded));
            inv.flags.push(INVOICE_PAYMENT_EXCEPTION);
        } else {
            inv.flags.push(0);
        }
    }

    pub fn invoice_record(&mut self, r: &InvoiceRecord) {
        self.invoice(r.into());
    }

    /// Adds a line; returns `Err` naming the invoice if it is unknown (lines must follow their invoices).
    pub fn line<'a>(&mut self, r: LineRow<'a>, discounts: impl IntoIterator<Item = (&'a str, i64)>) -> Result<u32, String> {
        let inv = self.s.invoices.ids.get_near(r.invoice_id, &mut self.hints.invoice).ok_or_else(|| format!("line refers to unknown invoice {:?}", r.invoice_id))?;
        let customer = self.s.invoices.customer[inv as usize];
        let plan = r.plan_id.map(|p| self.plan_idx(p)).unwrap_or(NONE);
        let sub = match r.subscription_id {
            Some(s) => self.subscription_idx(s, customer),
            None if r.price_type == PriceType::Recurring => {
                // A recurring charge without a subscription: one implicit subscription per customer and price.
                self.scratch.clear();
                self.scratch.push_str("\u{1}");
                self.scratch.push_str(self.s.customers.ids.name(customer));
                self.scratch.push('\u{1}');
                self.scratch.push_str(r.plan_id.unwrap_or(""));
                let key = std::mem::take(&mut self.scratch);
                let i = self.subscription_idx(&key, customer);
                self.scratch = key;
                i
            }
            None => NONE,
        };
        let item = match (r.item_id, sub) {
            (Some(it), _) => self.s.item_keys.intern_near(it, &mut self.hints.item),
            (None, NONE) => NONE,
            (None, s) => {
                // Without an item id the subscription is the item.
                self.scratch.clear();
                self.scratch.push_str("\u{2}");
                self.scratch.push_str(self.s.subscriptions.ids.name(s));
                let key = std::mem::take(&mut self.scratch);
                let i = self.s.item_keys.intern(&key);
                self.scratch = key;
                i
            }
        };
        let mut flags = 0u8;
        if r.price_type == PriceType::Recurring {
            flags |= LINE_RECURRING;
        }
        if r.prorated {
            flags |= LINE_PRORATED;
        }
        let (a, b) = match (r.period_start, r.period_end) {
            (Some(a), Some(b)) => {
                flags |= LINE_HAS_PERIOD;
                (a, b)
            }
            _ => (0, 0),
        };
        let l = &mut self.s.lines;
        let idx = l.invoice.len() as u32;
        if r.tax_inclusive != 0 {
            l.taxes.push((idx, r.tax_inclusive));
            flags |= LINE_TAXED;
        }
        l.invoice.push(inv);
        l.subscription.push(sub);
        l.item.push(item);
        l.plan.push(plan);
        l.flags.push(flags);
        l.period_start.push(a);
        l.period_len.push((b - a).clamp(0, u32::MAX as i64) as u32);
        l.amount.push(r.amount);
        l.quantity.push(r.quantity);
        for (d, amt) in discounts {
            let di = self.discount_idx(d);
            self.s.lines.discounts.push((idx, di, amt));
            self.s.lines.flags[idx as usize] |= LINE_DISCOUNTED;
        }
        Ok(idx)
    }

    pub fn line_record(&mut self, r: &InvoiceLineRecord) -> Result<u32, String> {
        self.line(r.into(), r.discounts.iter().map(|d| (d.discount_id.as_str(), d.amount)))
    }

    pub fn fx_rate(&mut self, day: i32, base: Currency, quote: Currency, rate: Rate) {
        self.s.fx_rates.push((day, base, quote, rate));
    }

    pub fn finish(mut self) -> Snapshot {
        for (d, sub) in std::mem::take(&mut self.discount_subs) {
            self.s.discounts.subscription[d as usize] = self.s.subscriptions.ids.get(&sub).unwrap_or(NONE);
        }
        for v in &mut self.s.customers.attrs {
            v.sort_unstable();
        }
        // Only keys that can join records are kept: `id:` keys, and domains shared by several records.
        let c = &mut self.s.customers;
        c.merge_keys.sort_unstable();
        c.merge_keys.dedup();
        let mut count = vec![0u32; c.merge_key_names.len()];
        for &(_, k) in &c.merge_keys {
            count[k as usize] += 1;
        }
        let mut kept = Interner::default();
        let mut remap = vec![NONE; count.len()];
        for (k, &n) in count.iter().enumerate() {
            let name = c.merge_key_names.name(k as u32);
            if n > 1 || name.starts_with("id:") {
                remap[k] = kept.intern(name);
            }
        }
        c.merge_keys.retain_mut(|(_, k)| {
            *k = remap[*k as usize];
            *k != NONE
        });
        c.merge_keys.sort_unstable();
        c.merge_key_names = kept;
        // Invoice ids only join lines to invoices while building; the engine never needs them, and at
        // millions of invoices they are the largest string table (the store answers drill-downs).
        self.s.invoices.ids = Interner::default();
        self.s.fx_rates.sort_unstable_by_key(|r| (r.0, r.1, r.2));
        self.s
    }
}

impl Snapshot {
    /// Builds a snapshot from an in-memory data set. Records are ordered by source key first, so the result
    /// does not depend on the order of the vectors (import-order invariance, spec §11.9).
    pub fn from_dataset(d: &Dataset) -> Result<Snapshot, String> {
        fn sorted<T, K: Ord>(v: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
            let mut r: Vec<&T> = v.iter().collect();
            r.sort_by_key(|x| key(x));
            r
        }
        let mut b = SnapshotBuilder::with_capacity(d.customers.len(), d.invoices.len(), d.invoice_lines.len());
        for c in sorted(&d.customers, |c| (c.id.clone(), c.valid_from)) {
            b.customer(c);
        }
        for p in sorted(&d.plans, |p| p.id.clone()) {
            b.plan(p);
        }
        for x in sorted(&d.discounts, |x| x.id.clone()) {
            b.discount(x);
        }
        for s in sorted(&d.subscriptions, |s| s.id.clone()) {
            b.subscription(s);
        }
        for it in sorted(&d.subscription_items, |i| (i.id.clone(), i.valid_from)) {
            b.subscription_item(it);
        }
        for x in sorted(&d.scheduled_items, |x| x.id.clone()) {
            b.scheduled_item(x);
        }
        for inv in sorted(&d.invoices, |i| i.id.clone()) {
            b.invoice_record(inv);
        }
        for l in sorted(&d.invoice_lines, |l| l.id.clone()) {
            b.line_record(l)?;
        }
        for r in sorted(&d.fx_rates, |r| (r.day, r.base, r.quote)) {
            b.fx_rate(r.day, r.base, r.quote, r.rate);
        }
        Ok(b.finish())
    }
}
