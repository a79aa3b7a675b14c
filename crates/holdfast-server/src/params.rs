//! Query strings as ordered `(name, value)` pairs: repeated parameters (`segment_by=plan&segment_by=country`,
//! `set=k=v`) keep every value, and a parameter an endpoint does not know is an error naming it, so a typo
//! never silently changes a number.
use crate::error::ApiError;

pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses `raw` and checks every name is in `known`.
    pub fn parse(raw: Option<&str>, known: &[&str]) -> Result<Params, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|e| ApiError::bad("query", format!("not a valid query string ({e})")))?;
        for (k, _) in &pairs {
            if !known.contains(&k.as_str()) {
                return Err(ApiError::bad(k, format!("unknown parameter; known: {}", known.join(", "))));
            }
        }
        Ok(Params { pairs })
    }

    /// The last non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`; comma-separated values are split (except for `set`, whose values may hold commas).
    pub fn all(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in &self.pairs {
            if k != name || v.is_empty() {
                continue;
            }
            if name == "set" {
                out.push(v.clone());
            } else {
                out.extend(v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from));
            }
        }
        out
    }

    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(x) => Err(ApiError::bad(name, format!("{x:?} is not a boolean; expected true or false"))),
        }
    }

    /// The query string to reach the same selection again, without `drop` (for links).
    pub fn to_query(&self, drop: &[&str]) -> String {
        let keep: Vec<&(String, String)> = self.pairs.iter().filter(|(k, _)| !drop.contains(&k.as_str())).collect();
        serde_urlencoded::to_string(keep).unwrap_or_default()
    }
}
