//! Customer merge (spec §1: `merge_customers_on`): duplicate records of one account — after a billing-system
//! migration, or several billing customers of one company — become one customer, so a migration is not
//! churn plus new business.
//!
//! Records are joined when they share a merge key allowed by the rules: an external id that is another
//! record's id or another record's external id (`external_id`), or a company domain (`email_domain`; free-mail
//! domains never join). Explicit pairs from `merge_map` always join. The surviving id is the explicit target
//! when there is one, else the earliest-created record (then the smallest id).
use crate::settings::{MergeRule, Settings};
use holdfast_core::snapshot::Snapshot;

/// Domains shared by unrelated people: never a reason to merge.
const FREE_MAIL: &[&str] = &[
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "hotmail.com", "hotmail.co.uk", "hotmail.fr", "outlook.com",
    "live.com", "msn.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net", "gmx.com",
    "web.de", "mail.ru", "yandex.ru", "qq.com", "163.com", "126.com", "zoho.com", "fastmail.com", "hey.com", "example.com",
];

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        parent[x as usize] = parent[parent[x as usize] as usize];
        x = parent[x as usize];
    }
    x
}

/// `canonical[c]` = the customer whose history `c`'s belongs to. Errors name an unknown id of `merge_map`.
pub fn canonical_customers(snap: &Snapshot, s: &Settings) -> Result<Vec<u32>, String> {
    let c = &snap.customers;
    let n = c.len();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let by_ext = s.merge_customers_on.contains(&MergeRule::ExternalId);
    let by_domain = s.merge_customers_on.contains(&MergeRule::EmailDomain);
    // preference of a record as the survivor: explicit targets first, then earliest created, then smallest id
    let mut forced = vec![false; n];
    let mut merged = false;
    let mut union = |parent: &mut Vec<u32>, a: u32, b: u32| {
        let (ra, rb) = (find(parent, a), find(parent, b));
        if ra != rb {
            parent[rb as usize] = ra;
            merged = true;
        }
    };
    if by_ext || by_domain {
        // records sharing a key join; an `id:` key naming another record joins it too
        let mut first_with_key: Vec<u32> = vec![u32::MAX; c.merge_key_names.len()];
        for &(cust, key) in &c.merge_keys {
            let name = c.merge_key_names.name(key);
            let allowed = match name.split_once(':') {
                Some(("id", other)) => {
                    if !by_ext {
                        continue;
                    }
                    if let Some(o) = c.ids.get(other) {
                        union(&mut parent, o, cust);
                    }
                    true
                }
                Some(("domain", d)) => by_domain && !FREE_MAIL.contains(&d),
                _ => false,
            };
            if !allowed {
                continue;
            }
            // the snapshot keeps only keys that can join records, so this loop is over few entries
            let slot = &mut first_with_key[key as usize];
            if *slot == u32::MAX {
                *slot = cust;
            } else {
                union(&mut parent, *slot, cust);
            }
        }
    }
    for (from, to) in &s.merge_map {
        let a = c.ids.get(from).ok_or_else(|| format!("merge map: no customer {from:?}"))?;
        let b = c.ids.get(to).ok_or_else(|| format!("merge map: no customer {to:?}"))?;
        union(&mut parent, b, a);
        forced[b as usize] = true;
    }
    if !merged {
        return Ok((0..n as u32).collect());
    }
    // choose each group's survivor
    let rank = |i: u32| (!forced[i as usize], c.created_at[i as usize].get().unwrap_or(i64::MAX), c.ids.name(i));
    let mut best: Vec<u32> = vec![u32::MAX; n];
    for i in 0..n as u32 {
        let r = find(&mut parent, i) as usize;
        if best[r] == u32::MAX || rank(i) < rank(best[r]) {
            best[r] = i;
        }
    }
    Ok((0..n as u32).map(|i| best[find(&mut parent, i) as usize]).collect())
}
