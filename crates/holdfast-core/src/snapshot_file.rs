//! A binary image of a [`Snapshot`]: every column written as raw little-endian arrays, so a store can keep
//! a cache of its snapshot and load millions of rows with a few sequential reads instead of re-deriving
//! them from its tables. The image carries a caller-chosen `stamp` (e.g. the store's last import) so a
//! stale cache is never used; any mismatch or damage reads as "no cache".
use crate::fx::Rate;
use crate::money::Currency;
use crate::records::*;
use crate::snapshot::*;
use std::io::{self, Read, Write};

const MAGIC: &[u8; 8] = b"HFSNAP07";
/// Written natively; a machine of the other endianness sees a different number and rejects the file.
const ENDIAN: u64 = 0x0102_0304_0506_0708;

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("snapshot image: {what}"))
}

struct W<'a, T: Write>(&'a mut T);

impl<T: Write> W<'_, T> {
    fn pod<P: bytemuck::Pod>(&mut self, v: &[P]) -> io::Result<()> {
        self.0.write_all(&(v.len() as u64).to_le_bytes())?;
        self.0.write_all(bytemuck::cast_slice(v))
    }
    fn u64(&mut self, v: u64) -> io::Result<()> {
        self.0.write_all(&v.to_le_bytes())
    }
    fn opt_ts(&mut self, v: &[OptTs]) -> io::Result<()> {
        self.pod(v)
    }
    fn opt_i64(&mut self, v: &[Option<i64>]) -> io::Result<()> {
        let x: Vec<i64> = v.iter().map(|o| o.unwrap_or(i64::MIN)).collect();
        self.pod(&x)
    }
    fn codes<E: Copy>(&mut self, v: &[E], code: impl Fn(E) -> u8) -> io::Result<()> {
        let x: Vec<u8> = v.iter().map(|&e| code(e)).collect();
        self.pod(&x)
    }
    fn interner(&mut self, i: &Interner) -> io::Result<()> {
        let (arena, ends, unsorted) = i.parts();
        self.pod(arena.as_bytes())?;
        self.pod(ends)?;
        self.u64(unsorted as u64)
    }
    fn opt_names(&mut self, v: &[Option<Box<str>>]) -> io::Result<()> {
        let mut arena = String::new();
        let mut ends = Vec::with_capacity(v.len());
        let mut present = Vec::with_capacity(v.len());
        for n in v {
            present.push(n.is_some() as u8);
            arena.push_str(n.as_deref().unwrap_or(""));
            ends.push(arena.len() as u64);
        }
        self.pod(&present)?;
        self.pod(arena.as_bytes())?;
        self.pod(&ends)
    }
    fn currencies(&mut self, v: &[Currency]) -> io::Result<()> {
        let mut dict: Vec<Currency> = Vec::new();
        let mut idx = Vec::with_capacity(v.len());
        for c in v {
            let i = match dict.iter().position(|d| d == c) {
                Some(i) => i,
                None => {
                    dict.push(*c);
                    dict.len() - 1
                }
            };
            idx.push(i as u16);
        }
        let codes: Vec<u8> = dict.iter().flat_map(|c| c.code().as_bytes().to_vec()).collect();
        self.pod(&codes)?;
        self.pod(&idx)
    }
}

struct R<'a, T: Read>(&'a mut T);

impl<T: Read> R<'_, T> {
    fn u64(&mut self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        self.0.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn pod<P: bytemuck::Pod + Default>(&mut self) -> io::Result<Vec<P>> {
        let n = self.u64()? as usize;
        if n > (1 << 40) / std::mem::size_of::<P>().max(1) {
            return Err(bad("implausible length"));
        }
        let mut v = vec![P::default(); n];
        self.0.read_exact(bytemuck::cast_slice_mut(&mut v))?;
        Ok(v)
    }
    fn opt_ts(&mut self) -> io::Result<Vec<OptTs>> {
        self.pod::<OptTs>()
    }
    fn opt_i64(&mut self) -> io::Result<Vec<Option<i64>>> {
        Ok(self.pod::<i64>()?.into_iter().map(|x| (x != i64::MIN).then_some(x)).collect())
    }
    fn codes<E: Copy>(&mut self, all: &[E]) -> io::Result<Vec<E>> {
        self.pod::<u8>()?.into_iter().map(|c| all.get(c as usize).copied().ok_or_else(|| bad("enum code"))).collect()
    }
    fn opt_codes<E: Copy>(&mut self, all: &[E]) -> io::Result<Vec<Option<E>>> {
        self.pod::<u8>()?.into_iter().map(|c| if c == u8::MAX { Ok(None) } else { all.get(c as usize).copied().map(Some).ok_or_else(|| bad("enum code")) }).collect()
    }
    fn string(&mut self) -> io::Result<String> {
        String::from_utf8(self.pod::<u8>()?).map_err(|_| bad("utf-8"))
    }
    fn interner(&mut self) -> io::Result<Interner> {
        let arena = self.string()?;
        let ends = self.pod::<u32>()?;
        let unsorted = self.u64()? != 0;
        Interner::from_parts(arena, ends, unsorted).map_err(|e| bad(&e))
    }
    fn opt_names(&mut self) -> io::Result<Vec<Option<Box<str>>>> {
        let present = self.pod::<u8>()?;
        let arena = self.string()?;
        let ends = self.pod::<u64>()?;
        if ends.len() != present.len() {
            return Err(bad("names"));
        }
        let mut start = 0usize;
        let mut out = Vec::with_capacity(ends.len());
        for (p, &e) in present.iter().zip(&ends) {
            let e = e as usize;
            let s = arena.get(start..e).ok_or_else(|| bad("names"))?;
            out.push((*p != 0).then(|| s.into()));
            start = e;
        }
        Ok(out)
    }
    fn currencies(&mut self) -> io::Result<Vec<Currency>> {
        let codes = self.pod::<u8>()?;
        let dict: Vec<Currency> = codes
            .chunks(3)
            .map(|c| std::str::from_utf8(c).ok().and_then(|s| Currency::parse(s).ok()).ok_or_else(|| bad("currency")))
            .collect::<io::Result<_>>()?;
        self.pod::<u16>()?.into_iter().map(|i| dict.get(i as usize).copied().ok_or_else(|| bad("currency index"))).collect()
    }
}

fn code_of<E: PartialEq + Copy>(all: &[E], e: E) -> u8 {
    all.iter().position(|x| *x == e).unwrap_or(0) as u8
}
fn opt_code_of<E: PartialEq + Copy>(all: &[E], e: Option<E>) -> u8 {
    e.map(|e| code_of(all, e)).unwrap_or(u8::MAX)
}

const INTERVALS: [Interval; 4] = [Interval::Day, Interval::Week, Interval::Month, Interval::Year];

/// Writes `snap` with `stamp`.
pub fn write(snap: &Snapshot, stamp: u64, out: &mut impl Write) -> io::Result<()> {
    out.write_all(MAGIC)?;
    let mut w = W(out);
    w.0.write_all(&ENDIAN.to_ne_bytes())?;
    w.u64(stamp)?;
    let c = &snap.customers;
    w.interner(&c.ids)?;
    w.opt_ts(&c.created_at)?;
    w.opt_names(&c.name)?;
    w.interner(&c.attr_keys)?;
    w.interner(&c.attr_values)?;
    w.u64(c.attrs.len() as u64)?;
    for list in &c.attrs {
        let attrs: Vec<[i64; 3]> = list.iter().map(|a| [a.customer as i64, a.valid_from, a.value as i64]).collect();
        w.pod(&attrs)?;
    }
    let mk: Vec<[u32; 2]> = c.merge_keys.iter().map(|&(a, b)| [a, b]).collect();
    w.pod(&mk)?;
    w.interner(&c.merge_key_names)?;
    let p = &snap.plans;
    w.interner(&p.ids)?;
    w.opt_names(&p.name)?;
    w.currencies(&p.currency)?;
    w.pod(&p.amount)?;
    w.codes(&p.price_type, |e| code_of(PriceType::ALL, e))?;
    w.codes(&p.interval, |e| opt_code_of(&INTERVALS, e))?;
    w.pod(&p.interval_count)?;
    w.codes(&p.usage_type, |e| code_of(UsageType::ALL, e))?;
    let d = &snap.discounts;
    w.interner(&d.ids)?;
    w.codes(&d.duration, |e| code_of(DiscountDuration::ALL, e))?;
    w.opt_i64(&d.percent_off_milli)?;
    w.opt_i64(&d.amount_off)?;
    w.opt_ts(&d.end)?;
    w.opt_ts(&d.start)?;
    w.pod(&d.subscription)?;
    w.pod(&d.customer)?;
    let s = &snap.subscriptions;
    w.interner(&s.ids)?;
    w.pod(&s.customer)?;
    w.codes(&s.status, |e| opt_code_of(SubscriptionStatus::ALL, e))?;
    for col in [&s.created_at, &s.started_at, &s.trial_start, &s.trial_end, &s.cancel_at, &s.canceled_at, &s.ended_at, &s.unpaid_since, &s.pause_start, &s.pause_end] {
        w.opt_ts(col)?;
    }
    w.codes(&s.cancel_at_period_end, |b| b as u8)?;
    let it = &snap.items;
    w.interner(&it.ids)?;
    w.pod(&it.subscription)?;
    w.pod(&it.item)?;
    w.pod(&it.plan)?;
    w.pod(&it.quantity)?;
    w.pod(&it.valid_from)?;
    w.opt_ts(&it.valid_to)?;
    w.interner(&snap.item_keys)?;
    let x = &snap.scheduled;
    w.pod(&x.subscription)?;
    w.pod(&x.plan)?;
    w.pod(&x.quantity)?;
    w.pod(&x.valid_from)?;
    w.opt_ts(&x.valid_to)?;
    w.pod(&x.scheduled_at)?;
    w.opt_ts(&x.withdrawn_at)?;
    let inv = &snap.invoices;
    w.interner(&inv.ids)?;
    w.pod(&inv.customer)?;
    w.currencies(&inv.currency)?;
    w.codes(&inv.status, |e| code_of(InvoiceStatus::ALL, e))?;
    w.pod(&inv.issued_at)?;
    w.opt_ts(&inv.due_at)?;
    w.opt_ts(&inv.paid_at)?;
    w.pod(&inv.total)?;
    w.pod(&inv.flags)?;
    let pay: Vec<[i64; 3]> = inv.payments.iter().map(|&(i, p, r)| [i as i64, p, r]).collect();
    w.pod(&pay)?;
    let l = &snap.lines;
    w.pod(&l.invoice)?;
    w.pod(&l.subscription)?;
    w.pod(&l.item)?;
    w.pod(&l.plan)?;
    w.pod(&l.flags)?;
    w.pod(&l.period_start)?;
    w.pod(&l.period_len)?;
    w.pod(&l.amount)?;
    let tax: Vec<[i64; 2]> = l.taxes.iter().map(|&(i, t)| [i as i64, t]).collect();
    w.pod(&tax)?;
    w.pod(&l.quantity)?;
    let disc: Vec<[i64; 3]> = l.discounts.iter().map(|&(a, b, c)| [a as i64, b as i64, c]).collect();
    w.pod(&disc)?;
    let fx: Vec<[i64; 2]> = snap.fx_rates.iter().map(|&(day, _, _, r)| [day as i64, r.0]).collect();
    w.pod(&fx)?;
    w.currencies(&snap.fx_rates.iter().map(|x| x.1).collect::<Vec<_>>())?;
    w.currencies(&snap.fx_rates.iter().map(|x| x.2).collect::<Vec<_>>())?;
    w.0.write_all(MAGIC)
}

/// Reads an image, returning `None` (not an error) when its stamp differs from `stamp`.
pub fn read(input: &mut impl Read, stamp: u64) -> io::Result<Option<Snapshot>> {
    let mut magic = [0u8; 8];
    input.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(bad("not a snapshot image"));
    }
    let mut r = R(input);
    let mut e = [0u8; 8];
    r.0.read_exact(&mut e)?;
    if u64::from_ne_bytes(e) != ENDIAN {
        return Err(bad("written on a machine of other endianness"));
    }
    if r.u64()? != stamp {
        return Ok(None);
    }
    let mut s = Snapshot::default();
    let c = &mut s.customers;
    c.ids = r.interner()?;
    c.created_at = r.opt_ts()?;
    c.name = r.opt_names()?;
    c.attr_keys = r.interner()?;
    c.attr_values = r.interner()?;
    let keys = r.u64()? as usize;
    if keys > c.attr_keys.len() {
        return Err(bad("attribute lists"));
    }
    c.attrs = (0..keys)
        .map(|_| Ok(r.pod::<[i64; 3]>()?.into_iter().map(|a| AttrVersion { customer: a[0] as u32, valid_from: a[1], value: a[2] as u32 }).collect()))
        .collect::<io::Result<_>>()?;
    c.merge_keys = r.pod::<[u32; 2]>()?.into_iter().map(|x| (x[0], x[1])).collect();
    c.merge_key_names = r.interner()?;
    let p = &mut s.plans;
    p.ids = r.interner()?;
    p.name = r.opt_names()?;
    p.currency = r.currencies()?;
    p.amount = r.pod()?;
    p.price_type = r.codes(PriceType::ALL)?;
    p.interval = r.opt_codes(&INTERVALS)?;
    p.interval_count = r.pod()?;
    p.usage_type = r.codes(UsageType::ALL)?;
    let d = &mut s.discounts;
    d.ids = r.interner()?;
    d.duration = r.codes(DiscountDuration::ALL)?;
    d.percent_off_milli = r.opt_i64()?;
    d.amount_off = r.opt_i64()?;
    d.end = r.opt_ts()?;
    d.start = r.opt_ts()?;
    d.subscription = r.pod()?;
    d.customer = r.pod()?;
    let sb = &mut s.subscriptions;
    sb.ids = r.interner()?;
    sb.customer = r.pod()?;
    sb.status = r.opt_codes(SubscriptionStatus::ALL)?;
    for col in [&mut sb.created_at, &mut sb.started_at, &mut sb.trial_start, &mut sb.trial_end, &mut sb.cancel_at, &mut sb.canceled_at, &mut sb.ended_at, &mut sb.unpaid_since, &mut sb.pause_start, &mut sb.pause_end] {
        *col = r.opt_ts()?;
    }
    sb.cancel_at_period_end = r.pod::<u8>()?.into_iter().map(|b| b != 0).collect();
    let it = &mut s.items;
    it.ids = r.interner()?;
    it.subscription = r.pod()?;
    it.item = r.pod()?;
    it.plan = r.pod()?;
    it.quantity = r.pod()?;
    it.valid_from = r.pod()?;
    it.valid_to = r.opt_ts()?;
    s.item_keys = r.interner()?;
    let x = &mut s.scheduled;
    x.subscription = r.pod()?;
    x.plan = r.pod()?;
    x.quantity = r.pod()?;
    x.valid_from = r.pod()?;
    x.valid_to = r.opt_ts()?;
    x.scheduled_at = r.pod()?;
    x.withdrawn_at = r.opt_ts()?;
    let inv = &mut s.invoices;
    inv.ids = r.interner()?;
    inv.customer = r.pod()?;
    inv.currency = r.currencies()?;
    inv.status = r.codes(InvoiceStatus::ALL)?;
    inv.issued_at = r.pod()?;
    inv.due_at = r.opt_ts()?;
    inv.paid_at = r.opt_ts()?;
    inv.total = r.pod()?;
    inv.flags = r.pod()?;
    inv.payments = r.pod::<[i64; 3]>()?.into_iter().map(|x| (x[0] as u32, x[1], x[2])).collect();
    let l = &mut s.lines;
    l.invoice = r.pod()?;
    l.subscription = r.pod()?;
    l.item = r.pod()?;
    l.plan = r.pod()?;
    l.flags = r.pod()?;
    l.period_start = r.pod()?;
    l.period_len = r.pod()?;
    l.amount = r.pod()?;
    l.taxes = r.pod::<[i64; 2]>()?.into_iter().map(|x| (x[0] as u32, x[1])).collect();
    l.quantity = r.pod()?;
    l.discounts = r.pod::<[i64; 3]>()?.into_iter().map(|x| (x[0] as u32, x[1] as u32, x[2])).collect();
    let fx = r.pod::<[i64; 2]>()?;
    let bases = r.currencies()?;
    let quotes = r.currencies()?;
    if bases.len() != fx.len() || quotes.len() != fx.len() {
        return Err(bad("fx"));
    }
    s.fx_rates = fx.iter().zip(bases).zip(quotes).map(|((f, b), q)| (f[0] as i32, b, q, Rate(f[1]))).collect();
    r.0.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(bad("truncated"));
    }
    validate(&s)?;
    Ok(Some(s))
}

/// Column lengths agree and references are in range, so a damaged image cannot make the engine panic.
fn validate(s: &Snapshot) -> io::Result<()> {
    let nc = s.customers.ids.len();
    let ok_ref = |v: &[u32], n: usize| v.iter().all(|&x| x == NONE || (x as usize) < n);
    let c = &s.customers;
    let p = &s.plans;
    let sb = &s.subscriptions;
    let inv = &s.invoices;
    let l = &s.lines;
    let it = &s.items;
    let same = |lens: &[usize]| lens.windows(2).all(|w| w[0] == w[1]);
    let fine = same(&[nc, c.created_at.len(), c.name.len()])
        && c.attrs.iter().flatten().all(|a| (a.customer as usize) < nc && (a.value as usize) < c.attr_values.len())
        && c.attrs.iter().all(|l| l.windows(2).all(|w| w[0] <= w[1]))
        && c.merge_keys.iter().all(|&(a, k)| (a as usize) < nc && (k as usize) < c.merge_key_names.len())
        && same(&[p.ids.len(), p.name.len(), p.currency.len(), p.amount.len(), p.price_type.len(), p.interval.len(), p.interval_count.len(), p.usage_type.len()])
        && same(&[s.discounts.ids.len(), s.discounts.duration.len(), s.discounts.percent_off_milli.len(), s.discounts.amount_off.len(), s.discounts.end.len(), s.discounts.start.len(), s.discounts.subscription.len(), s.discounts.customer.len()])
        && s.discounts.subscription.iter().all(|&x| x == NONE || (x as usize) < s.subscriptions.ids.len())
        && s.discounts.customer.iter().all(|&x| x == NONE || (x as usize) < s.customers.ids.len())
        && same(&[sb.ids.len(), sb.customer.len(), sb.status.len(), sb.created_at.len(), sb.pause_end.len(), sb.cancel_at_period_end.len()])
        && ok_ref(&sb.customer, nc)
        && same(&[it.subscription.len(), it.item.len(), it.plan.len(), it.quantity.len(), it.valid_from.len(), it.valid_to.len()])
        && ok_ref(&it.subscription, sb.ids.len())
        && ok_ref(&it.plan, p.ids.len())
        && ok_ref(&it.item, s.item_keys.len())
        && same(&[s.scheduled.subscription.len(), s.scheduled.plan.len(), s.scheduled.quantity.len(), s.scheduled.valid_from.len(), s.scheduled.valid_to.len(), s.scheduled.scheduled_at.len(), s.scheduled.withdrawn_at.len()])
        && s.scheduled.subscription.iter().all(|&x| (x as usize) < sb.ids.len())
        && s.scheduled.plan.iter().all(|&x| x == NONE || (x as usize) < p.ids.len())
        && same(&[inv.customer.len(), inv.currency.len(), inv.status.len(), inv.issued_at.len(), inv.due_at.len(), inv.paid_at.len(), inv.total.len(), inv.flags.len()])
        && inv.payments.iter().all(|p| (p.0 as usize) < inv.customer.len())
        && inv.payments.windows(2).all(|w| w[0].0 < w[1].0)
        && l.taxes.windows(2).all(|w| w[0].0 < w[1].0)
        && l.taxes.iter().all(|t| (t.0 as usize) < l.invoice.len())
        && ok_ref(&inv.customer, nc)
        && same(&[l.invoice.len(), l.subscription.len(), l.item.len(), l.plan.len(), l.flags.len(), l.period_start.len(), l.period_len.len(), l.amount.len(), l.quantity.len()])
        && l.invoice.iter().all(|&x| (x as usize) < inv.customer.len())
        && ok_ref(&l.subscription, sb.ids.len())
        && ok_ref(&l.plan, p.ids.len())
        && ok_ref(&l.item, s.item_keys.len())
        && l.discounts.iter().all(|d| (d.0 as usize) < l.invoice.len() && (d.1 as usize) < s.discounts.ids.len())
        && l.discounts.windows(2).all(|w| w[0].0 <= w[1].0);
    if fine {
        Ok(())
    } else {
        Err(bad("inconsistent columns"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    #[test]
    fn round_trips_and_rejects_stale_or_damaged_images() {
        let mut b = SnapshotBuilder::new();
        b.customer(&CustomerRecord { id: "c1".into(), name: Some("Ünïcode".into()), attributes: [("country".to_string(), "DE".to_string())].into(), ..Default::default() });
        b.plan(&PlanRecord { id: "p".into(), name: None, product: None, currency: Currency::EUR, amount: 100, price_type: PriceType::Recurring, interval: Some(Interval::Month), interval_count: 1, usage_type: UsageType::Licensed });
        b.invoice(InvoiceRow { id: "i1", customer_id: "c1", currency: Currency::EUR, status: InvoiceStatus::Paid, issued_at: 5, due_at: None, paid_at: Some(6), total: 100, amount_paid: 100, amount_refunded: 0 });
        let a = parse_instant("2025-01-01").unwrap();
        b.line(
            LineRow { invoice_id: "i1", subscription_id: Some("s"), item_id: None, plan_id: Some("p"), price_type: PriceType::Recurring, period_start: Some(a), period_end: Some(a + 86_400 * 31), amount: 100, tax_inclusive: 0, quantity: 1, prorated: false },
            [("d1", 10)],
        )
        .unwrap();
        b.fx_rate(1, Currency::EUR, Currency::USD, Rate(1_080_000_000));
        let snap = b.finish();
        let mut buf = Vec::new();
        write(&snap, 42, &mut buf).unwrap();
        let back = read(&mut buf.as_slice(), 42).unwrap().unwrap();
        assert_eq!(format!("{back:?}"), format!("{snap:?}"));
        assert!(read(&mut buf.as_slice(), 43).unwrap().is_none());
        assert!(read(&mut &buf[..buf.len() - 3], 42).is_err());
        let mut damaged = buf.clone();
        let n = damaged.len();
        damaged[n - 40] ^= 0xff;
        let _ = read(&mut damaged.as_slice(), 42); // must not panic
    }
}
