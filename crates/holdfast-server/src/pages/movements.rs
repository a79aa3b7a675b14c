//! Movements: the ledger rows behind a number — filtered by period, type and customer — with their sum,
//! pages of 100 and a CSV export. Tiles, table cells and chart points link here.
use super::{money, pager, PageCtx, Section};
use crate::api::MovementFilter;
use crate::error::ApiError;
use holdfast_core::time::format_instant;
use maud::{html, Markup};

pub const SECTION: Section = Section { path: "/movements", title: "Movements", nav: true, params: &["customer", "type", "include_fx", "offset"], render };

const PAGE: usize = 100;

fn render(ctx: &PageCtx) -> Result<Markup, ApiError> {
    let c = ctx.c;
    let cur = ctx.cur();
    let f = MovementFilter::from_params(c, ctx.sel, ctx.params)?;
    let rows = f.apply(c);
    let offset: usize = ctx.params.get("offset").map(|o| o.parse().map_err(|_| ApiError::bad("offset", format!("{o:?} is not a number")))).transpose()?.unwrap_or(0);
    let sum: i64 = rows.iter().map(|x| x.amount).sum();
    let fx: i64 = rows.iter().map(|x| x.fx).sum();
    let types = ctx.params.all("type").join(", ");
    Ok(html! {
        h1 { "Movements" }
        p.muted {
            @if let Some(p) = &ctx.sel.period { "period " (p) " · " }
            @if !types.is_empty() { "types " (types) " · " }
            @let custs = ctx.params.all("customer");
            @if !custs.is_empty() { "customer " (custs.join(", ")) " · " }
            (rows.len()) " rows · "
            a href=(format!("/api/movements?{}&format=csv&limit=10000", ctx.params.to_query(&["offset"]))) { "CSV" }
        }
        table.data #movements-table {
            thead { tr { th { "Customer" } th { "Effective" } th { "Type" } th.num { "Amount" } th.num { "FX" } th.num { "MRR after" } } }
            tbody {
                tr.total { td { "Total" } td {} td {} td.num #movements-sum { (money(sum, cur)) } td.num { (money(fx, cur)) } td {} }
                @for x in rows.iter().skip(offset).take(PAGE) {
                    @let id = c.customer_name(x.customer);
                    tr {
                        td { a href=(format!("/customers/{}", serde_urlencoded::to_string([("c", id)]).unwrap_or_default().trim_start_matches("c="))) { (id) } }
                        td { (format_instant(x.t)) }
                        td { (x.kind.as_str()) }
                        td.num { (money(x.amount, cur)) }
                        td.num { (money(x.fx, cur)) }
                        td.num { (money(x.mrr, cur)) }
                    }
                }
            }
        }
        (pager(ctx, "/movements", rows.len(), offset, PAGE))
    })
}
