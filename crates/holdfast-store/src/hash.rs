//! Stable content hashes of records.
//!
//! A record's content hash is XXH64 (seed 0, the published xxHash64 algorithm, implemented here) over a
//! canonical byte serialization that this module defines
//! and owns: every field in declaration order, strings length-prefixed, options tagged, integers
//! little-endian, enums by their wire name (not their discriminant), currencies by ISO code. Neither the
//! hash nor the serialization depend on the Rust version, the platform, or on serde, so hashes written by
//! one build compare equal in any other. Changing the serialization changes every hash (a re-import would
//! then report every row as updated): bump [`CANON_VERSION`] and add a store migration that rehashes.
use holdfast_core::records::*;
use holdfast_core::Currency;

/// Version of the canonical serialization; it is the first byte hashed.
pub const CANON_VERSION: u8 = 1;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a, 64-bit.
#[cfg(test)]
fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a64_with(FNV_OFFSET, bytes)
}

/// FNV-1a continuing from state `h` (folds content hashes into fingerprints).
#[inline]
pub(crate) fn fnv1a64_with(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

#[inline(always)]
fn read_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

#[inline(always)]
fn read_u32(b: &[u8]) -> u64 {
    u32::from_le_bytes(b[..4].try_into().expect("4 bytes")) as u64
}

#[inline(always)]
fn round(acc: u64, lane: u64) -> u64 {
    acc.wrapping_add(lane.wrapping_mul(P2)).rotate_left(31).wrapping_mul(P1)
}

#[inline(always)]
fn merge(acc: u64, v: u64) -> u64 {
    (acc ^ round(0, v)).wrapping_mul(P1).wrapping_add(P4)
}

/// XXH64 of `input` with `seed` (the reference algorithm of xxHash 0.8, output identical to `XXH64()`).
pub fn xxh64(input: &[u8], seed: u64) -> u64 {
    let len = input.len();
    let mut p = input;
    let mut h = if len >= 32 {
        let mut v1 = seed.wrapping_add(P1).wrapping_add(P2);
        let mut v2 = seed.wrapping_add(P2);
        let mut v3 = seed;
        let mut v4 = seed.wrapping_sub(P1);
        while p.len() >= 32 {
            v1 = round(v1, read_u64(p));
            v2 = round(v2, read_u64(&p[8..]));
            v3 = round(v3, read_u64(&p[16..]));
            v4 = round(v4, read_u64(&p[24..]));
            p = &p[32..];
        }
        let mut h = v1.rotate_left(1).wrapping_add(v2.rotate_left(7)).wrapping_add(v3.rotate_left(12)).wrapping_add(v4.rotate_left(18));
        h = merge(h, v1);
        h = merge(h, v2);
        h = merge(h, v3);
        merge(h, v4)
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(len as u64);
    while p.len() >= 8 {
        h ^= round(0, read_u64(p));
        h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
        p = &p[8..];
    }
    if p.len() >= 4 {
        h ^= read_u32(p).wrapping_mul(P1);
        h = h.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        p = &p[4..];
    }
    for &b in p {
        h ^= (b as u64).wrapping_mul(P5);
        h = h.rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

/// Streaming FNV-1a state, for fingerprints.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(FNV_OFFSET)
    }
}

impl Fnv {
    #[inline]
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        self.0 = fnv1a64_with(self.0, bytes);
    }
    #[inline]
    pub(crate) fn write_u64(&mut self, v: u64) {
        self.write(&v.to_le_bytes());
    }
    pub(crate) fn finish(self) -> u64 {
        self.0
    }
}

/// Canonical serializer writing into a reusable buffer.
pub(crate) struct Canon<'b> {
    buf: &'b mut Vec<u8>,
}

impl<'b> Canon<'b> {
    pub(crate) fn new(buf: &'b mut Vec<u8>, kind: u8) -> Self {
        buf.clear();
        buf.push(CANON_VERSION);
        buf.push(kind);
        Canon { buf }
    }
    #[inline]
    fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    #[inline]
    fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    #[inline]
    fn bool(&mut self, v: bool) -> &mut Self {
        self.buf.push(v as u8);
        self
    }
    #[inline]
    fn str(&mut self, s: &str) -> &mut Self {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self
    }
    #[inline]
    fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            None => self.bool(false),
            Some(s) => self.bool(true).str(s),
        }
    }
    #[inline]
    fn opt_i64(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            None => self.bool(false),
            Some(v) => self.bool(true).i64(v),
        }
    }
    #[inline]
    fn cur(&mut self, c: Currency) -> &mut Self {
        self.buf.extend_from_slice(c.code().as_bytes());
        self
    }
    #[inline]
    fn opt_cur(&mut self, c: Option<Currency>) -> &mut Self {
        match c {
            None => self.bool(false),
            Some(c) => self.bool(true).cur(c),
        }
    }
    fn finish(&self) -> u64 {
        xxh64(self.buf, 0)
    }
}

/// Kind tags of the canonical serialization (stable; never reuse a number).
pub(crate) mod kind {
    pub const CUSTOMER: u8 = 1;
    pub const PLAN: u8 = 2;
    pub const SUBSCRIPTION: u8 = 3;
    pub const SUBSCRIPTION_ITEM: u8 = 4;
    pub const INVOICE: u8 = 5;
    pub const INVOICE_LINE: u8 = 6;
    pub const DISCOUNT: u8 = 7;
    pub const FX_RATE: u8 = 8;
    pub const SCHEDULED_ITEM: u8 = 9;
}

/// The stable 64-bit content hash of a record (see the module docs).
pub fn content_hash(r: &Record) -> u64 {
    let mut buf = Vec::with_capacity(256);
    content_hash_with(r, &mut buf)
}

/// [`content_hash`] with a caller-provided scratch buffer (no allocation once the buffer has grown).
pub fn content_hash_with(r: &Record, buf: &mut Vec<u8>) -> u64 {
    match r {
        Record::Customer(c) => {
            let mut w = Canon::new(buf, kind::CUSTOMER);
            w.str(&c.id)
                .opt_i64(c.valid_from)
                .opt_str(c.name.as_deref())
                .opt_str(c.email.as_deref())
                .opt_str(c.domain.as_deref())
                .opt_i64(c.created_at)
                .u32(c.external_ids.len() as u32);
            for x in &c.external_ids {
                w.str(x);
            }
            w.u32(c.attributes.len() as u32);
            for (k, v) in &c.attributes {
                w.str(k).str(v);
            }
            w.finish()
        }
        Record::Plan(p) => Canon::new(buf, kind::PLAN)
            .str(&p.id)
            .opt_str(p.name.as_deref())
            .opt_str(p.product.as_deref())
            .cur(p.currency)
            .i64(p.amount)
            .str(p.price_type.as_str())
            .opt_str(p.interval.as_ref().map(|i| i.as_str()))
            .u32(p.interval_count)
            .str(p.usage_type.as_str())
            .finish(),
        Record::Subscription(s) => Canon::new(buf, kind::SUBSCRIPTION)
            .str(&s.id)
            .str(&s.customer_id)
            .str(s.status.as_str())
            .opt_cur(s.currency)
            .opt_i64(s.created_at)
            .opt_i64(s.started_at)
            .opt_i64(s.trial_start)
            .opt_i64(s.trial_end)
            .bool(s.cancel_at_period_end)
            .opt_i64(s.cancel_at)
            .opt_i64(s.canceled_at)
            .opt_i64(s.ended_at)
            .opt_i64(s.unpaid_since)
            .opt_i64(s.pause_start)
            .opt_i64(s.pause_end)
            .opt_str(s.cancellation_reason.as_deref())
            .finish(),
        Record::SubscriptionItem(i) => Canon::new(buf, kind::SUBSCRIPTION_ITEM)
            .str(&i.id)
            .str(&i.subscription_id)
            .str(&i.plan_id)
            .i64(i.quantity)
            .i64(i.valid_from)
            .opt_i64(i.valid_to)
            .finish(),
        Record::Invoice(i) => Canon::new(buf, kind::INVOICE)
            .str(&i.id)
            .str(&i.customer_id)
            .cur(i.currency)
            .str(i.status.as_str())
            .i64(i.issued_at)
            .opt_i64(i.due_at)
            .opt_i64(i.paid_at)
            .i64(i.total)
            .i64(i.amount_paid)
            .i64(i.amount_refunded)
            .finish(),
        Record::InvoiceLine(l) => {
            let mut w = Canon::new(buf, kind::INVOICE_LINE);
            w.str(&l.id)
                .str(&l.invoice_id)
                .opt_str(l.subscription_id.as_deref())
                .opt_str(l.item_id.as_deref())
                .opt_str(l.plan_id.as_deref())
                .str(l.price_type.as_str())
                .opt_i64(l.period_start)
                .opt_i64(l.period_end)
                .i64(l.amount)
                .u32(l.discounts.len() as u32);
            for d in &l.discounts {
                w.str(&d.discount_id).i64(d.amount);
            }
            w.i64(l.tax_inclusive).i64(l.quantity).bool(l.prorated).finish()
        }
        Record::Discount(d) => Canon::new(buf, kind::DISCOUNT)
            .str(&d.id)
            .opt_str(d.name.as_deref())
            .str(d.duration.as_str())
            .opt_i64(d.duration_in_months.map(i64::from))
            .opt_i64(d.percent_off_milli)
            .opt_i64(d.amount_off)
            .opt_cur(d.currency)
            .opt_str(d.customer_id.as_deref())
            .opt_str(d.subscription_id.as_deref())
            .opt_i64(d.start)
            .opt_i64(d.end)
            .finish(),
        Record::ScheduledItem(x) => Canon::new(buf, kind::SCHEDULED_ITEM)
            .str(&x.id)
            .str(&x.subscription_id)
            .str(&x.plan_id)
            .i64(x.quantity)
            .i64(x.valid_from)
            .opt_i64(x.valid_to)
            .i64(x.scheduled_at)
            .opt_i64(x.withdrawn_at)
            .finish(),
        Record::FxRate(f) => Canon::new(buf, kind::FX_RATE)
            .i64(f.day as i64)
            .cur(f.base)
            .cur(f.quote)
            .i64(f.rate.0)
            .finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use holdfast_core::fx::Rate;

    #[test]
    fn fnv_reference_vectors() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn xxh64_reference_vectors() {
        // Outputs of the reference implementation (xxhsum -H64 / XXH64(input, len, 0)).
        assert_eq!(xxh64(b"", 0), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64(b"a", 0), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(xxh64(b"abc", 0), 0x44BC_2CF5_AD77_0999);
        assert_eq!(xxh64(b"Nobody inspects the spammish repetition", 0), 0xFBCE_A83C_8A37_8BF1);
    }

    #[test]
    fn hash_is_pinned() {
        // Pinned so an accidental change of the canonical form fails loudly (it would mark every stored row
        // as updated on the next import).
        let r = Record::FxRate(FxRateRecord { day: 20_000, base: Currency::EUR, quote: Currency::USD, rate: Rate(1_100_000_000) });
        assert_eq!(content_hash(&r), 0x345e_27c6_b2fb_cd7a, "{:#x}", content_hash(&r));
    }

    #[test]
    fn option_and_string_boundaries_are_unambiguous() {
        let a = Record::Plan(PlanRecord {
            id: "ab".into(),
            name: Some("c".into()),
            product: None,
            currency: Currency::USD,
            amount: 1,
            price_type: PriceType::Recurring,
            interval: Some(Interval::Month),
            interval_count: 1,
            usage_type: UsageType::Licensed,
        });
        let mut b = a.clone();
        if let Record::Plan(p) = &mut b {
            p.id = "a".into();
            p.name = Some("bc".into());
        }
        let mut c = a.clone();
        if let Record::Plan(p) = &mut c {
            p.name = None;
            p.product = Some("c".into());
        }
        assert_ne!(content_hash(&a), content_hash(&b));
        assert_ne!(content_hash(&a), content_hash(&c));
    }
}
