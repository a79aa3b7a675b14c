//! Feedback themes (spec §6 `qualitative_feedback`): rule themes from configuration (keywords / regex) and
//! automatically discovered phrases (TF-IDF over word 1–3-grams without stop words), with their share of
//! comments overall and per NPS group, and `theme_churn_lift`.
//!
//! Comments are survey comments and cancellation comments. The churn lift uses survey comments only: a
//! cancellation comment is written when the customer has already decided to leave, so counting it would make
//! every reason look predictive. Churn is counted within `theme_churn_window` (180 days) after the account's
//! first mention (first comment for the others), and only for accounts whose window has passed at `as_of`:
//! "ever churned afterwards" would favour accounts that commented late in a long life.
use crate::context::Ctx;
use crate::voice::NpsGroup;
use crate::records::Survey;
use holdfast_core::snapshot::NONE;
use holdfast_engine::timeline::Kind;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

/// English stop words (articles, pronouns, auxiliaries, prepositions, fillers).
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "before", "being", "but", "by", "can",
    "could", "did", "do", "does", "doing", "don", "for", "from", "get", "got", "had", "has", "have", "having", "he", "her", "here", "him", "his", "how",
    "i", "if", "in", "into", "is", "it", "its", "just", "me", "more", "most", "my", "no", "not", "now", "of", "on", "once", "only", "or", "other", "our",
    "out", "over", "own", "same", "she", "so", "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "under", "until", "up", "us", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "why", "will",
    "with", "would", "you", "your", "really", "still", "much", "many", "well", "even", "lot", "use", "using", "used", "s", "t", "ve", "ll", "re", "d", "m",
];

/// Lower-case words of letters and digits separated by single spaces.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for w in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(w.chars().flat_map(char::to_lowercase));
    }
    out
}

/// One comment with what the themes need.
#[derive(Clone, Debug)]
pub struct Comment {
    /// Engine customer id or [`NONE`].
    pub customer: u32,
    pub at: i64,
    pub nps: Option<NpsGroup>,
    pub from_survey: bool,
    /// The normalised text.
    pub text: String,
    /// The normalised text between two spaces, for whole-word phrase matching without allocating.
    pub padded: String,
}

/// Survey and cancellation comments known at `as_of`.
pub fn comments(ctx: &Ctx) -> Vec<Comment> {
    let s = &ctx.sig.surveys;
    let mut out = Vec::new();
    for i in 0..s.score.len() {
        if let Some(c) = &s.comment[i] {
            if s.responded_at[i] <= ctx.bill.as_of {
                let nps = (s.survey[i] == Survey::Nps).then(|| NpsGroup::of(s.score[i]));
                let text = normalise(c);
                out.push(Comment { customer: ctx.billing_id(s.customer[i]), at: s.responded_at[i], nps, from_survey: true, padded: format!(" {text} "), text });
            }
        }
    }
    let c = &ctx.sig.cancellations;
    for i in 0..c.at.len() {
        if let Some(t) = &c.comment[i] {
            if c.at[i] <= ctx.bill.as_of {
                let text = normalise(t);
                out.push(Comment { customer: ctx.billing_id(c.customer[i]), at: c.at[i], nps: None, from_survey: false, padded: format!(" {text} "), text });
            }
        }
    }
    out
}

fn is_stop(w: &str) -> bool {
    STOP_WORDS.contains(&w) || w.chars().all(|c| c.is_ascii_digit())
}

/// The word 1–3-grams of a normalised text that neither start nor end with a stop word (nor contain a
/// one-letter word), each once.
fn grams(text: &str, out: &mut FxHashSet<String>) {
    out.clear();
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    for len in 1..=3 {
        for win in words.windows(len) {
            if is_stop(win[0]) || is_stop(win[len - 1]) || win.iter().any(|w| w.len() < 2) {
                continue;
            }
            out.insert(win.join(" "));
        }
    }
}

/// Frequent distinctive phrases: word 1–3-grams that neither start nor end with a stop word, occurring in at
/// least `min_df` comments and in at most half of them, ranked by summed TF-IDF (`df · ln(N/df)` with binary
/// term frequency). A phrase inside a longer candidate that occurs almost as often (≥ 80 %) gives way to the
/// longer one, and a phrase whose comments are mostly those of an already chosen phrase (Jaccard ≥ 0.5) is
/// the same theme and skipped. Returns `(phrase, df)`, best first.
pub fn discover(texts: &[&str], min_df: u64, top: usize) -> Vec<(String, u64)> {
    let n = texts.len() as f64;
    let mut df: FxHashMap<String, u64> = FxHashMap::default();
    let mut set: FxHashSet<String> = FxHashSet::default();
    for t in texts {
        grams(t, &mut set);
        for g in set.drain() {
            *df.entry(g).or_default() += 1;
        }
    }
    df.retain(|_, d| *d >= min_df.max(1) && (*d as f64) <= n / 2.0);
    // the comments of each candidate, for the same-theme test
    let mut docs: FxHashMap<&str, Vec<u32>> = df.keys().map(|k| (k.as_str(), Vec::new())).collect();
    for (i, t) in texts.iter().enumerate() {
        grams(t, &mut set);
        for g in &set {
            if let Some(v) = docs.get_mut(g.as_str()) {
                v.push(i as u32);
            }
        }
    }
    let mut cands: Vec<(&str, u64, f64)> = df.iter().map(|(g, d)| (g.as_str(), *d, *d as f64 * (n / *d as f64).ln())).collect();
    cands.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| b.0.split(' ').count().cmp(&a.0.split(' ').count())).then_with(|| a.0.cmp(b.0)));
    let contains = |long: &str, short: &str| format!(" {long} ").contains(&format!(" {short} "));
    let jaccard = |a: &[u32], b: &[u32]| {
        let (mut i, mut j, mut both) = (0, 0, 0usize);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    both += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        both as f64 / (a.len() + b.len() - both) as f64
    };
    let mut chosen: Vec<(&str, u64)> = Vec::new();
    for &(g, d, _) in &cands {
        if chosen.len() >= top {
            break;
        }
        // the longest phrase containing this one that occurs nearly as often
        let best = cands
            .iter()
            .filter(|(h, e, _)| h.len() > g.len() && contains(h, g) && (*e as f64) >= 0.8 * d as f64)
            .max_by(|a, b| a.0.split(' ').count().cmp(&b.0.split(' ').count()).then(b.2.total_cmp(&a.2)).then(b.0.cmp(a.0)))
            .map(|(h, e, _)| (*h, *e))
            .unwrap_or((g, d));
        if chosen.iter().any(|(c, _)| jaccard(&docs[c], &docs[best.0]) >= 0.5) {
            continue;
        }
        chosen.push(best);
    }
    chosen.into_iter().map(|(g, d)| (g.to_string(), d)).collect()
}

/// A theme and how to recognise it.
#[derive(Clone, Debug)]
pub struct Theme {
    pub name: String,
    pub source: &'static str,
    /// Normalised phrases (whole words), each between two spaces.
    padded: Vec<String>,
    pub regex: Option<regex::Regex>,
}

impl Theme {
    pub fn new(name: &str, source: &'static str, phrases: &[String], regex: Option<regex::Regex>) -> Theme {
        Theme { name: name.to_string(), source, padded: phrases.iter().map(|p| format!(" {p} ")).collect(), regex }
    }

    /// Whether a normalised text mentions the theme.
    pub fn matches(&self, normalised: &str) -> bool {
        self.matches_comment(&format!(" {normalised} "), normalised)
    }

    fn matches_comment(&self, padded: &str, normalised: &str) -> bool {
        self.padded.iter().any(|p| padded.contains(p.as_str())) || self.regex.as_ref().map(|r| r.is_match(normalised)).unwrap_or(false)
    }
}

/// One theme's statistics over every comment known at `as_of`.
#[derive(Clone, Debug, Serialize)]
pub struct ThemeStat {
    pub theme: String,
    /// `rule` (configuration) or `discovered`.
    pub source: &'static str,
    /// Comments mentioning the theme and all comments.
    pub comments: u64,
    pub total_comments: u64,
    pub share: Option<f64>,
    /// Share of the comments of promoters, passives and detractors that mention the theme.
    pub share_promoters: Option<f64>,
    pub share_passives: Option<f64>,
    pub share_detractors: Option<f64>,
    /// Customers whose first survey comment mentioning the theme is at least `theme_churn_window` before
    /// `as_of`, and how many of them churned within that window after it.
    pub mentioning_customers: u64,
    pub mentioning_churned: u64,
    /// Customers with survey comments, none mentioning the theme (first comment a window before `as_of`), and
    /// how many churned within the window after their first comment.
    pub other_customers: u64,
    pub other_churned: u64,
    /// `theme_churn_lift` = churn rate of mentioning customers ÷ churn rate of the others.
    pub churn_lift: Option<f64>,
    pub flags: Vec<&'static str>,
}

/// The themes in force: configured rules, then discovered phrases not already covered by a rule.
pub fn themes(ctx: &Ctx, comments: &[Comment]) -> Vec<Theme> {
    let mut out: Vec<Theme> = ctx.cfg.theme_rules.iter().map(|r| Theme::new(&r.name, "rule", &r.keywords, r.regex.clone())).collect();
    let texts: Vec<&str> = comments.iter().map(|c| c.text.as_str()).collect();
    for (phrase, _) in discover(&texts, ctx.cfg.min_theme_comments, ctx.cfg.discovered_themes) {
        if out.iter().any(|t| t.matches(&phrase)) {
            continue;
        }
        out.push(Theme::new(&phrase, "discovered", std::slice::from_ref(&phrase), None));
    }
    out
}

/// Statistics of every theme (see [`ThemeStat`]).
pub fn theme_stats(ctx: &Ctx) -> Vec<ThemeStat> {
    let comments = comments(ctx);
    let themes = themes(ctx, &comments);
    // churned within the window after an instant; accounts whose window is not over at `as_of` are left out
    let w = ctx.cfg.theme_churn_window;
    let observed = |t: i64| t + w <= ctx.bill.as_of;
    let churned_after = |c: u32, t: i64| ctx.bill.moves_of(c).iter().any(|m| m.kind == Kind::Churn && m.t >= t && m.t < t + w);
    let mut first_comment: FxHashMap<u32, i64> = FxHashMap::default();
    for c in comments.iter().filter(|c| c.from_survey && c.customer != NONE) {
        let e = first_comment.entry(c.customer).or_insert(c.at);
        *e = (*e).min(c.at);
    }
    let total = comments.len() as u64;
    let mut group_total = [0u64; 3];
    for c in &comments {
        if let Some(g) = c.nps {
            group_total[g as usize] += 1;
        }
    }
    let mut out = Vec::new();
    for th in &themes {
        let mut n = 0u64;
        let mut by_group = [0u64; 3];
        let mut first_mention: FxHashMap<u32, i64> = FxHashMap::default();
        for c in &comments {
            if !th.matches_comment(&c.padded, &c.text) {
                continue;
            }
            n += 1;
            if let Some(g) = c.nps {
                by_group[g as usize] += 1;
            }
            if c.from_survey && c.customer != NONE {
                let e = first_mention.entry(c.customer).or_insert(c.at);
                *e = (*e).min(c.at);
            }
        }
        first_mention.retain(|_, t| observed(*t));
        let m_churned = first_mention.iter().filter(|(c, t)| churned_after(**c, **t)).count() as u64;
        let others: Vec<(u32, i64)> = first_comment.iter().filter(|(c, t)| !first_mention.contains_key(c) && observed(**t)).map(|(c, t)| (*c, *t)).collect();
        let o_churned = others.iter().filter(|(c, t)| churned_after(*c, *t)).count() as u64;
        let rate = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        let lift = match (rate(m_churned, first_mention.len() as u64), rate(o_churned, others.len() as u64)) {
            (Some(m), Some(o)) if o > 0.0 => Some(m / o),
            _ => None,
        };
        let mut flags = Vec::new();
        if n < ctx.cfg.min_theme_comments {
            flags.push(crate::voice::FLAG_LOW_N);
        }
        if lift.is_none() {
            flags.push(holdfast_engine::result::FLAG_EMPTY_DENOMINATOR);
        }
        out.push(ThemeStat {
            theme: th.name.clone(),
            source: th.source,
            comments: n,
            total_comments: total,
            share: rate(n, total),
            share_promoters: rate(by_group[NpsGroup::Promoter as usize], group_total[NpsGroup::Promoter as usize]),
            share_passives: rate(by_group[NpsGroup::Passive as usize], group_total[NpsGroup::Passive as usize]),
            share_detractors: rate(by_group[NpsGroup::Detractor as usize], group_total[NpsGroup::Detractor as usize]),
            mentioning_customers: first_mention.len() as u64,
            mentioning_churned: m_churned,
            other_customers: others.len() as u64,
            other_churned: o_churned,
            churn_lift: lift,
            flags,
        });
    }
    out
}
