//! One shape for every table the API returns, so each can be exported as CSV (`format=csv`): named columns
//! and rows of JSON cells, with the total row count before pagination.
use crate::error::ApiError;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// Output format of a table endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    Csv,
}

impl Format {
    pub fn parse(s: Option<&str>) -> Result<Format, ApiError> {
        match s {
            None | Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            Some(x) => Err(ApiError::bad("format", format!("{x:?} is not a format; expected json or csv"))),
        }
    }
}

/// A page of a table.
pub struct Table {
    /// File name stem of the CSV download.
    pub name: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Value>>,
    /// Rows matching the filters, before `offset`/`limit`.
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    /// Fields of the JSON answer besides the rows (as_of, currency …).
    pub meta: Map<String, Value>,
}

impl Table {
    pub fn respond(self, format: Format) -> Response {
        match format {
            Format::Json => {
                // written directly (no map per row): tables reach 10 000 rows
                let mut out = Vec::with_capacity(128 + self.rows.len() * self.columns.len() * 24);
                out.push(b'{');
                for (k, v) in &self.meta {
                    let _ = serde_json::to_writer(&mut out, k);
                    out.push(b':');
                    let _ = serde_json::to_writer(&mut out, v);
                    out.push(b',');
                }
                out.extend_from_slice(format!("\"total\":{},\"offset\":{},\"limit\":{},\"rows\":[", self.total, self.offset, self.limit).as_bytes());
                for (i, row) in self.rows.iter().enumerate() {
                    out.extend_from_slice(if i == 0 { b"{" } else { b",{" });
                    for (j, (c, v)) in self.columns.iter().zip(row).enumerate() {
                        if j > 0 {
                            out.push(b',');
                        }
                        let _ = serde_json::to_writer(&mut out, c);
                        out.push(b':');
                        let _ = serde_json::to_writer(&mut out, v);
                    }
                    out.push(b'}');
                }
                out.extend_from_slice(b"]}");
                ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], out).into_response()
            }
            Format::Csv => {
                let mut w = csv::Writer::from_writer(Vec::with_capacity(64 * (self.rows.len() + 1)));
                let _ = w.write_record(&self.columns);
                for r in &self.rows {
                    let _ = w.write_record(r.iter().map(csv_cell));
                }
                let body = w.into_inner().unwrap_or_default();
                let mut resp = body.into_response();
                let h = resp.headers_mut();
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
                if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}.csv\"", self.name)) {
                    h.insert(header::CONTENT_DISPOSITION, v);
                }
                resp
            }
        }
    }
}

fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(csv_cell).collect::<Vec<_>>().join("|"),
        other => other.to_string(),
    }
}

/// `offset` and `limit` (default 100, at most 10 000).
pub fn page(offset: Option<&str>, limit: Option<&str>) -> Result<(usize, usize), ApiError> {
    let offset = match offset {
        None => 0,
        Some(s) => s.parse().map_err(|_| ApiError::bad("offset", format!("{s:?} is not a non-negative integer")))?,
    };
    let limit = match limit {
        None => 100,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=10_000).contains(&n) => n,
            _ => return Err(ApiError::bad("limit", format!("{s:?} is not an integer from 1 to 10000"))),
        },
    };
    Ok((offset, limit))
}
