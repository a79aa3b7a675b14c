//! Who a customer is: static firmographics drawn once at sign-up.
use crate::rng::Draw;
use holdfast_core::money::Currency;
use holdfast_core::Ts;
use rand_pcg::Pcg64Mcg;
use std::fmt;

/// Company size segment (`size` attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Size {
    Smb,
    Mid,
    Enterprise,
}

impl Size {
    pub fn as_str(self) -> &'static str {
        match self {
            Size::Smb => "smb",
            Size::Mid => "mid",
            Size::Enterprise => "enterprise",
        }
    }
    pub fn up(self) -> Option<Size> {
        match self {
            Size::Smb => Some(Size::Mid),
            Size::Mid => Some(Size::Enterprise),
            Size::Enterprise => None,
        }
    }
}
impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// First-touch acquisition channel (`acquisition_channel` attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Organic,
    PaidSearch,
    Partner,
    Outbound,
    Referral,
}

impl Channel {
    pub const ALL: [Channel; 5] =
        [Channel::Organic, Channel::PaidSearch, Channel::Partner, Channel::Outbound, Channel::Referral];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Organic => "organic",
            Channel::PaidSearch => "paid_search",
            Channel::Partner => "partner",
            Channel::Outbound => "outbound",
            Channel::Referral => "referral",
        }
    }
}
impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `(country, currency index into catalog::CURRENCIES, weight, legal suffix)`.
const COUNTRIES: [(&str, usize, f64, &str); 13] = [
    ("US", 0, 0.48, "Inc."),
    ("CA", 0, 0.06, "Inc."),
    ("AU", 0, 0.04, "Pty Ltd"),
    ("IN", 0, 0.03, "Pvt Ltd"),
    ("BR", 0, 0.02, "Ltda."),
    ("SG", 0, 0.02, "Pte. Ltd."),
    ("DE", 1, 0.08, "GmbH"),
    ("FR", 1, 0.06, "SAS"),
    ("NL", 1, 0.04, "B.V."),
    ("ES", 1, 0.03, "S.L."),
    ("IT", 1, 0.02, "S.r.l."),
    ("IE", 1, 0.02, "Ltd"),
    ("GB", 2, 0.10, "Ltd"),
];

pub const INDUSTRIES: [&str; 8] =
    ["software", "fintech", "healthcare", "ecommerce", "education", "media", "manufacturing", "professional_services"];
const INDUSTRY_W: [f64; 8] = [0.26, 0.12, 0.10, 0.14, 0.08, 0.09, 0.09, 0.12];

pub const CSM_OWNERS: [&str; 8] =
    ["csm_amelia", "csm_bruno", "csm_chen", "csm_dara", "csm_emeka", "csm_freya", "csm_gabriel", "csm_hana"];

const ADJ: [&str; 32] = [
    "Amber",
    "Bright",
    "Cedar",
    "Delta",
    "Ember",
    "Fable",
    "Granite",
    "Harbor",
    "Indigo",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Maple",
    "Nimbus",
    "Onyx",
    "Pioneer",
    "Quartz",
    "Ridge",
    "Summit",
    "Tidal",
    "Umber",
    "Vector",
    "Willow",
    "Xenon",
    "Yarrow",
    "Zephyr",
    "Atlas",
    "Beacon",
    "Cobalt",
    "Drift",
    "Evergreen",
    "Falcon",
];
const NOUN: [&str; 32] = [
    "Analytics",
    "Works",
    "Labs",
    "Systems",
    "Logistics",
    "Health",
    "Studio",
    "Capital",
    "Foods",
    "Robotics",
    "Media",
    "Learning",
    "Energy",
    "Retail",
    "Security",
    "Cloud",
    "Partners",
    "Dynamics",
    "Networks",
    "Payments",
    "Bio",
    "Mobility",
    "Design",
    "Data",
    "Travel",
    "Supply",
    "Legal",
    "Motors",
    "Games",
    "Insights",
    "Markets",
    "Textiles",
];

/// Static attributes of one customer, drawn at sign-up from its own random stream.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerProfile {
    /// Position in the generated population (0-based); ids derive from it.
    pub index: usize,
    /// `cus_000123`.
    pub id: String,
    pub name: String,
    /// Unique per customer (`…-000123.example`), so merging on e-mail domain never joins two customers.
    pub domain: String,
    /// ISO 3166 alpha-2; consistent with `currency` (US/CA/AU/IN/BR/SG → USD, euro area → EUR, GB → GBP).
    pub country: &'static str,
    pub currency: Currency,
    /// Index of `currency` in [`crate::catalog::CURRENCIES`].
    pub currency_index: usize,
    /// Size at sign-up; later versions of the customer record may move it up.
    pub size: Size,
    pub channel: Channel,
    pub industry: &'static str,
    /// Assigned customer-success manager (mid-market and enterprise only).
    pub csm_owner: Option<&'static str>,
    /// Instant of the first subscription (and of the customer record).
    pub signup: Ts,
    /// Month index (since the simulation start) of `signup`.
    pub signup_month: u32,
    /// Sales-led accounts pay invoices on net-30 terms (`due_at = issued_at + 30 d`); self-serve accounts pay by
    /// card (`due_at = issued_at + 1 d`, charged within minutes).
    pub sales_led: bool,
    /// Self-serve accounts that start with a 14-day trial.
    pub trial: bool,
    /// EU/UK accounts without a VAT id: prices include 20 % VAT (`tax_inclusive` on every line).
    pub tax_inclusive: bool,
}

/// Trial length of self-serve sign-ups.
pub const TRIAL_DAYS: i64 = 14;

impl CustomerProfile {
    pub(crate) fn draw(
        rng: &mut Pcg64Mcg,
        index: usize,
        num: &str,
        month_starts: &[Ts],
        signup_cdf: &[f64],
    ) -> CustomerProfile {
        let ci = rng.pick(&COUNTRIES.map(|c| c.2));
        let (country, cur, _, suffix) = COUNTRIES[ci];
        let size = [Size::Smb, Size::Mid, Size::Enterprise][rng.pick(&[0.65, 0.27, 0.08])];
        let channel_w: [f64; 5] = match size {
            // organic, paid_search, partner, outbound, referral
            Size::Smb => [0.35, 0.30, 0.10, 0.10, 0.15],
            Size::Mid => [0.25, 0.20, 0.15, 0.25, 0.15],
            Size::Enterprise => [0.10, 0.05, 0.25, 0.50, 0.10],
        };
        let channel = Channel::ALL[rng.pick(&channel_w)];
        let industry = INDUSTRIES[rng.pick(&INDUSTRY_W)];
        let csm_owner = (size != Size::Smb).then(|| CSM_OWNERS[rng.between(0, CSM_OWNERS.len() as i64) as usize]);
        let sales_led = match size {
            Size::Enterprise => true,
            Size::Mid => matches!(channel, Channel::Outbound | Channel::Partner) && rng.chance(0.6),
            Size::Smb => false,
        };
        let trial = !sales_led && rng.chance(0.75);
        let tax_inclusive = cur != 0 && rng.chance(0.15);
        // Sign-up month from the growth curve, then a uniform instant inside that month.
        let u = rng.unit() * signup_cdf.last().copied().unwrap_or(0.0);
        let m = signup_cdf.partition_point(|c| *c <= u).min(signup_cdf.len().saturating_sub(1));
        let (ms, me) = (month_starts[m], month_starts[m + 1]);
        let signup = rng.between(ms, me);
        let adj = ADJ[rng.between(0, 32) as usize];
        let noun = NOUN[rng.between(0, 32) as usize];
        let mut name = String::with_capacity(adj.len() + noun.len() + suffix.len() + 2);
        for (i, part) in [adj, noun, suffix].into_iter().enumerate() {
            if i > 0 {
                name.push(' ');
            }
            name.push_str(part);
        }
        let mut domain = String::with_capacity(32);
        domain.push_str(&adj.to_ascii_lowercase());
        domain.push_str(&noun.to_ascii_lowercase());
        domain.push('-');
        domain.push_str(num);
        domain.push_str(".example");
        CustomerProfile {
            index,
            id: ["cus_", num].concat(),
            name,
            domain,
            country,
            currency: crate::catalog::CURRENCIES[cur],
            currency_index: cur,
            size,
            channel,
            industry,
            csm_owner,
            signup,
            signup_month: m as u32,
            sales_led,
            trial,
            tax_inclusive,
        }
    }
}
