//! Customers: everyone with status, MRR and plan at `as_of`; sort, filter by status and plan, search by
//! id or name, pages of 50. Ids open the Customer 360, MRR opens the customer's ledger rows.
use super::{money, pager, PageCtx, Section};
use crate::api::customer_list;
use crate::error::ApiError;
use maud::{html, Markup};

pub const SECTION: Section = Section { path: "/customers", title: "Customers", nav: true, params: &["status", "plan", "q", "sort", "offset"], render };

const PAGE: usize = 50;

fn render(ctx: &PageCtx) -> Result<Markup, ApiError> {
    let c = ctx.c;
    let cur = ctx.cur();
    let all = customer_list(c, ctx.params)?;
    let offset: usize = ctx.params.get("offset").map(|o| o.parse().map_err(|_| ApiError::bad("offset", format!("{o:?} is not a number")))).transpose()?.unwrap_or(0);
    let sort = ctx.params.get("sort").unwrap_or("-mrr");
    let sort_link = |col: &str| {
        let next = if sort == col { format!("-{col}") } else { col.to_string() };
        format!("/customers?{}&sort={next}", ctx.params.to_query(&["sort", "offset"]))
    };
    let status = ctx.params.get("status").unwrap_or("");
    Ok(html! {
        h1 { "Customers" }
        form.picker method="get" action="/customers" {
            label { "Status" select name="status" { option value="" { "any" } @for s in ["active", "past_due", "churned", "lead", "merged"] { option value=(s) selected[s == status] { (s) } } } }
            label { "Search id or name" input name="q" value=(ctx.params.get("q").unwrap_or("")); }
            label { "Plan id" input name="plan" value=(ctx.params.get("plan").unwrap_or("")); }
            input type="hidden" name="sort" value=(sort);
            button type="submit" { "Filter" }
            a href=(format!("/api/customers?{}&format=csv&limit=10000", ctx.params.to_query(&["offset", "grain", "period", "segment_by"]))) { "CSV" }
        }
        table.data #customers-table {
            thead { tr {
                th { a href=(sort_link("id")) { "Customer" } }
                th { a href=(sort_link("name")) { "Name" } }
                th { a href=(sort_link("status")) { "Status" } }
                th.num { a href=(sort_link("mrr")) { "MRR (" (cur.code()) ")" } }
                th { a href=(sort_link("plan")) { "Plan" } }
            } }
            tbody {
                @for &i in all.iter().skip(offset).take(PAGE) {
                    @let now = &c.run.customers[i as usize];
                    @let id = c.customer_name(i);
                    @let enc = serde_urlencoded::to_string([("customer", id)]).unwrap_or_default();
                    tr {
                        td { a href=(format!("/customers/{}", enc.trim_start_matches("customer="))) { (id) } }
                        td { (c.snap.customers.name[i as usize].as_deref().unwrap_or("")) }
                        td { (now.status.as_str()) }
                        td.num { a href=(format!("/movements?{enc}")) { (money(now.mrr, cur)) } }
                        td { (c.plan_name(now.plan)) }
                    }
                }
            }
        }
        (pager(ctx, "/customers", all.len(), offset, PAGE))
    })
}
