//! Every kind of bad input gives one precise error: file, 1-based line, field, value, expectation.
mod common;
use common::*;
use holdfast_ingest::Reader;

const LINE_HDR: &str = "line_id,invoice_id,currency,price_type,amount,period_start,period_end\n";

#[test]
fn missing_required_column_is_reported_on_the_header_line() {
    assert_eq!(
        err("plans.csv", "plan_id,amount,price_type\np1,1,recurring\n"),
        "plans.csv:1: field `currency`: expected a column named `currency` (required in plans.csv)"
    );
    // A typo is both a missing and an unknown column: the message says both.
    assert_eq!(
        err("plans.csv", "plan_id,curency,amount,price_type\np1,USD,1,recurring\n"),
        "plans.csv:1: field `currency`: expected a column named `currency` (required in plans.csv); the header has unknown columns: curency"
    );
}

#[test]
fn unknown_columns_are_an_error_except_in_customers() {
    assert_eq!(
        err("plans.csv", "plan_id,currency,amount,price_type,colour\np1,USD,1,recurring,red\n"),
        "plans.csv:1: field `colour`: expected only known columns in plans.csv: plan_id (or id), name, product, currency, amount, price_type, interval, interval_count, usage_type"
    );
    assert_eq!(
        err("plans.csv", "id,plan_id,currency,amount,price_type\n"),
        "plans.csv:1: field `plan_id`: expected only one of the columns `plan_id` and `id` (they are the same field)"
    );
    assert_eq!(
        err("plans.jsonl", "{\"plan_id\":\"p\",\"currency\":\"USD\",\"amount\":1,\"price_type\":\"one_time\",\"colour\":\"red\"}\n"),
        "plans.jsonl:1: field `colour`: expected only known fields of plans records: plan_id (or id), name, product, currency, amount, price_type, interval, interval_count, usage_type"
    );
}

#[test]
fn unparseable_date_and_instant() {
    assert_eq!(
        err("subscriptions.csv", "subscription_id,customer_id,status,created_at\ns1,c1,active,2025-13-01\n"),
        "subscriptions.csv:2: field `created_at`: \"2025-13-01\" — expected an ISO-8601 instant with Z or an offset (e.g. 2025-04-01T12:00:00Z) or a date (2025-04-01)"
    );
    // Naive date-times are ambiguous.
    assert!(err("subscriptions.csv", "subscription_id,customer_id,status,created_at\ns1,c1,active,2025-01-01T10:00:00\n")
        .starts_with("subscriptions.csv:2: field `created_at`: \"2025-01-01T10:00:00\" — expected an ISO-8601 instant"));
    assert_eq!(
        err("fx_rates.csv", "date,base,quote,rate\n2025-02-03,EUR,USD,1.1\n2025-02-30,EUR,USD,1.1\n"),
        "fx_rates.csv:3: field `date`: \"2025-02-30\" — expected a date YYYY-MM-DD"
    );
}

#[test]
fn negative_quantity() {
    assert_eq!(
        err("subscription_items.csv", "item_id,subscription_id,plan_id,quantity,valid_from\nsi,s,p,-2,2025-01-01\n"),
        "subscription_items.csv:2: field `quantity`: \"-2\" — expected a whole number, 0 or more"
    );
    assert_eq!(
        err("invoice_lines.csv", "line_id,invoice_id,currency,price_type,amount,quantity\nl,i,USD,recurring,1,-1\n"),
        "invoice_lines.csv:2: field `quantity`: \"-1\" — expected a whole number, 0 or more"
    );
}

#[test]
fn unknown_currency() {
    assert_eq!(
        err("plans.csv", "plan_id,currency,amount,price_type,interval\np1,XYZ,1,recurring,month\n"),
        "plans.csv:2: field `currency`: \"XYZ\" — expected an ISO-4217 currency code with a minor unit (e.g. USD, EUR, JPY)"
    );
    // Funds codes have no minor unit.
    assert!(err("fx_rates.csv", "date,base,quote,rate\n2025-01-01,XAU,USD,2000\n").starts_with("fx_rates.csv:2: field `base`: \"XAU\""));
}

#[test]
fn line_periods() {
    assert_eq!(
        err("invoice_lines.csv", &format!("{LINE_HDR}l1,i1,USD,recurring,1,2025-02-01,2025-01-01\n")),
        "invoice_lines.csv:2: field `period_end`: \"2025-01-01\" — expected an instant not before period_start (2025-02-01T00:00:00Z)"
    );
    assert_eq!(
        err("invoice_lines.csv", &format!("{LINE_HDR}l1,i1,USD,recurring,1,2025-02-01,\n")),
        "invoice_lines.csv:2: field `period_end`: expected a value, because period_start is set (give both or neither)"
    );
    assert_eq!(
        err("invoice_lines.csv", &format!("{LINE_HDR}l1,i1,USD,recurring,1,,2025-02-01\n")),
        "invoice_lines.csv:2: field `period_start`: expected a value, because period_end is set (give both or neither)"
    );
}

#[test]
fn duplicate_keys_with_different_content_name_both_lines() {
    let text = format!("{LINE_HDR}l1,i1,USD,recurring,1.00,,\nl2,i1,USD,recurring,1,,\nl1,i1,USD,recurring,2,,\n");
    assert_eq!(
        err("invoice_lines.csv", &text),
        "invoice_lines.csv:4: field `line_id`: \"l1\" — expected the same content as the earlier row with this key (line 2): within one import a key may repeat only with identical content"
    );
    // Identical duplicates (same parsed content, even spelled differently) are skipped.
    let mut reader = Reader::new();
    let text = format!("{LINE_HDR}l1,i1,USD,recurring,1.00,,\nl2,i1,USD,recurring,1,,\nl1,i1,usd,recurring,1,,\n");
    let recs = read_with(&mut reader, "invoice_lines.csv", text.as_bytes()).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(reader.duplicates_skipped(), 1);
    // Across files of one import, the earlier file is named.
    let e = read_with(&mut reader, "invoice_lines.jsonl", b"{\"line_id\":\"l2\",\"invoice_id\":\"i1\",\"currency\":\"USD\",\"price_type\":\"recurring\",\"amount\":\"3\"}\n")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invoice_lines.jsonl:1: field `line_id`: \"l2\" — expected the same content as the earlier row with this key (invoice_lines.csv:3): within one import a key may repeat only with identical content"
    );
    // Customers are keyed by (id, valid_from): versions are not duplicates.
    let recs = read("customers.csv", "customer_id,valid_from,country\nc1,,DE\nc1,2025-01-01,FR\n").unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(
        err("customers.csv", "customer_id,valid_from,country\nc1,2025-01-01,DE\nc1,2025-01-01,FR\n"),
        "customers.csv:3: field `customer_id`: \"c1 (valid_from 2025-01-01T00:00:00Z)\" — expected the same content as the earlier row with this key (line 2): within one import a key may repeat only with identical content"
    );
}

#[test]
fn truncated_files() {
    assert_eq!(
        err("invoice_lines.csv", &format!("{LINE_HDR}l1,i1,USD,recurring,1,,\nl2,i1,USD")),
        "invoice_lines.csv:3: field `price_type`: expected 7 fields as in the header, found 3 (truncated row or file?)"
    );
    assert_eq!(
        err("invoice_lines.csv", &format!("{LINE_HDR}l1,i1,USD,recurring,1,,,\n")),
        "invoice_lines.csv:2: expected 7 fields as in the header, found 8 (unquoted comma or extra column?)"
    );
    // A file cut inside a quoted field swallows the rest: still a short row, not a panic.
    assert!(err("customers.csv", "customer_id,name,email\nc1,\"Acme\nInc,x\n").starts_with("customers.csv:2: field `email`: expected 3 fields"));
    assert_eq!(
        err(
            "invoice_lines.jsonl",
            "{\"line_id\":\"l1\",\"invoice_id\":\"i1\",\"currency\":\"USD\",\"price_type\":\"recurring\",\"amount\":\"1\"}\n{\"line_id\":\"l2\",\"invoice_id\":\"i1\",\"curr"
        ),
        "invoice_lines.jsonl:2: \"{\\\"line_id\\\":\\\"l2\\\",\\\"invoice_id\\\":\\\"i1\\\",\\\"curr\" — expected a complete JSON object (the last line is cut off: truncated file?; EOF while parsing a string at line 1 column 39)"
    );
    assert_eq!(
        err("plans.jsonl", "{nope}\n"),
        "plans.jsonl:1: \"{nope}\" — expected one JSON object per line (key must be a string at line 1 column 2)"
    );
    assert_eq!(err("plans.jsonl", "[1,2]\n"), "plans.jsonl:1: \"[1,2]\" — expected a JSON object ({…}) on each line");
    assert_eq!(err("plans.csv", ""), "plans.csv:1: expected a header row naming the columns (the file is empty)");
}

#[test]
fn invalid_utf8_is_an_error_with_its_line() {
    let mut bytes = b"customer_id,name\nc0,ok\nc1,Caf".to_vec();
    bytes.extend_from_slice(&[0xE9, b'\n']);
    let e = read_with(&mut Reader::new(), "customers.csv", &bytes).unwrap_err();
    assert_eq!(
        e.to_string(),
        "customers.csv:3: field `name`: \"Caf\u{FFFD}\" — expected UTF-8 text (byte 0xE9 at offset 3 is not valid UTF-8; re-save the file as UTF-8)"
    );
    assert_eq!((e.line, e.field.as_deref()), (Some(3), Some("name")));
    let mut bytes = b"{\"customer_id\":\"c1\",\"name\":\"Caf".to_vec();
    bytes.extend_from_slice(&[0xE9, b'"', b'}', b'\n']);
    assert_eq!(
        read_with(&mut Reader::new(), "customers.jsonl", &bytes).unwrap_err().to_string(),
        "customers.jsonl:1: \"{\\\"customer_id\\\":\\\"c1\\\",\\\"name\\\":\\\"Caf\u{FFFD}\\\"}\" — expected UTF-8 text (byte 0xE9 at offset 31 of the line is not valid UTF-8; re-save the file as UTF-8)"
    );
    // In the header.
    let bytes = b"customer_id,n\xFFme\n";
    assert!(read_with(&mut Reader::new(), "customers.csv", bytes).unwrap_err().to_string().starts_with("customers.csv:1: \"n\u{FFFD}me\" — expected UTF-8 text"));
}

#[test]
fn too_many_decimals_for_the_currency() {
    assert_eq!(
        err("plans.csv", "plan_id,currency,amount,price_type,interval\np1,USD,1.999,recurring,month\n"),
        "plans.csv:2: field `amount`: \"1.999\" — expected an amount in major units of USD with at most 2 decimals, e.g. 49.99"
    );
    assert_eq!(
        err("plans.csv", "plan_id,currency,amount,price_type\np1,JPY,100.5,one_time\n"),
        "plans.csv:2: field `amount`: \"100.5\" — expected a whole amount of JPY (it has no minor unit), e.g. 1500"
    );
    // Trailing zeros are fine; 3 decimals are fine in KWD.
    assert!(read("plans.csv", "plan_id,currency,amount,price_type\np1,JPY,100.000,one_time\np2,KWD,1.005,one_time\n").is_ok());
}

#[test]
fn unknown_enum_values_list_the_expected_ones() {
    assert_eq!(
        err("plans.csv", "plan_id,currency,amount,price_type,interval\np1,USD,1,monthly,month\n"),
        "plans.csv:2: field `price_type`: \"monthly\" — expected one of recurring, one_time"
    );
    assert_eq!(
        err("subscriptions.csv", "subscription_id,customer_id,status\ns,c,actve\n"),
        "subscriptions.csv:2: field `status`: \"actve\" — expected one of incomplete, incomplete_expired, trialing, active, past_due, canceled, unpaid, paused"
    );
    assert_eq!(
        err("subscriptions.csv", "subscription_id,customer_id,status,cancel_at_period_end\ns,c,active,maybe\n"),
        "subscriptions.csv:2: field `cancel_at_period_end`: \"maybe\" — expected a boolean: true/false, 1/0 or yes/no"
    );
}

#[test]
fn plan_rules() {
    assert_eq!(
        err("plans.csv", "plan_id,currency,amount,price_type,interval,interval_count\np1,USD,1,recurring,month,0\n"),
        "plans.csv:2: field `interval_count`: \"0\" — expected a positive whole number (1 or more)"
    );
    assert_eq!(
        err("plans.csv", "plan_id,currency,amount,price_type,interval\np1,USD,1,recurring,\n"),
        "plans.csv:2: field `interval`: expected one of day, week, month, year (required when price_type is recurring)"
    );
    assert_eq!(
        err("plans.csv", "plan_id,currency,amount,price_type,interval\np1,USD,1,one_time,month\n"),
        "plans.csv:2: field `interval`: \"month\" — expected no interval: one_time prices do not recur"
    );
}

#[test]
fn required_values_and_line_currency() {
    assert_eq!(
        err("invoices.csv", "invoice_id,customer_id,currency,status,issued_at,total\ni1,,USD,paid,2025-01-01,1\n"),
        "invoices.csv:2: field `customer_id`: expected a value (this field is required)"
    );
    assert_eq!(
        err("invoice_lines.csv", "line_id,invoice_id,price_type,amount\nl1,i1,recurring,1\n"),
        "invoice_lines.csv:2: field `invoice_id`: \"i1\" — expected an invoice read earlier in this import, or a `currency` on the line (amounts are parsed in the invoice's currency)"
    );
    // With the invoice read first, lines need no currency column, and a conflicting one is an error.
    let mut reader = Reader::new();
    read_with(&mut reader, "invoices.csv", b"invoice_id,customer_id,currency,status,issued_at,total\ni1,c,JPY,paid,2025-01-01,1500\n").unwrap();
    let recs = read_with(&mut reader, "invoice_lines.csv", b"line_id,invoice_id,price_type,amount\nl1,i1,one_time,1500\n").unwrap();
    assert_eq!(recs.len(), 1);
    let e = read_with(&mut reader, "invoice_lines.csv", b"line_id,invoice_id,currency,price_type,amount\nl2,i1,USD,one_time,1\n").unwrap_err();
    assert_eq!(e.to_string(), "invoice_lines.csv:2: field `currency`: \"USD\" — expected JPY, the currency of invoice \"i1\" (or no value)");
}

#[test]
fn discount_rules() {
    assert_eq!(
        err("discounts.csv", "discount_id,duration,amount_off\nd,once,5\n"),
        "discounts.csv:2: field `currency`: expected an ISO-4217 currency code with a minor unit (e.g. USD, EUR, JPY), because amount_off is set"
    );
    assert_eq!(
        err("discounts.csv", "discount_id,duration\nd,repeating\n"),
        "discounts.csv:2: field `duration_in_months`: expected a positive whole number (required when duration is repeating)"
    );
    assert_eq!(
        err("discounts.csv", "discount_id,duration,percent_off\nd,once,120\n"),
        "discounts.csv:2: field `percent_off`: \"120\" — expected a percentage from 0 to 100 with at most 3 decimals, e.g. 12.5"
    );
    assert_eq!(
        err("invoice_lines.csv", "line_id,invoice_id,currency,price_type,amount,discounts\nl,i,USD,recurring,10,co_a:1.001\n"),
        "invoice_lines.csv:2: field `discounts`: \"co_a:1.001\" — expected discount_id:amount pairs separated by `|`, amounts in major units of USD with at most 2 decimals (e.g. coupon_a:5.00|coupon_b:1.50)"
    );
}

#[test]
fn line_numbers_are_physical_lines() {
    // A quoted newline makes row 2 span lines 2-3; blank lines count too.
    let text = "customer_id,name,created_at\nc1,\"two\nlines\",2025-01-01\n\nc2,x,yesterday\n";
    assert_eq!(
        err("customers.csv", text),
        "customers.csv:5: field `created_at`: \"yesterday\" — expected an ISO-8601 instant with Z or an offset (e.g. 2025-04-01T12:00:00Z) or a date (2025-04-01)"
    );
    let text = "\n{\"customer_id\":\"c1\"}\n\n{\"customer_id\":\"c2\",\"created_at\":\"x\"}\n";
    assert!(err("customers.jsonl", text).starts_with("customers.jsonl:4: field `created_at`: \"x\""));
}

#[test]
fn error_display_leaves_out_absent_parts() {
    let e = holdfast_ingest::ImportError::new("x/plans.csv", "something");
    assert_eq!(e.to_string(), "x/plans.csv: expected something");
    let e = e.with_line(3).with_value("v");
    assert_eq!(e.to_string(), "x/plans.csv:3: \"v\" — expected something");
    let long = "x".repeat(500);
    let e = holdfast_ingest::ImportError::at("f.csv", 2, "short").with_field("name").with_value(&long);
    assert!(e.to_string().len() < 200);
}
