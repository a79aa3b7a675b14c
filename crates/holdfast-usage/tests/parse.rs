//! Message parsing and ingest: accepted shapes, precise errors, dedupe, sessions.
mod common;
use common::*;
use holdfast_usage::rollup::{add_interval, SessionRow};
use holdfast_usage::{parse_message, Ingest, IngestSettings, MessageKind};
use holdfast_core::snapshot::NONE;

#[test]
fn the_spec_examples_parse() {
    let m = parse_message(br#"{"type":"track","event":"Report Shared","userId":"u_42","timestamp":"2025-04-01T12:00:00Z","messageId":"m-1","properties":{"report_id":"r9","pages":3,"size":1.5},"context":{"groupId":"acct_7"}}"#).unwrap();
    assert_eq!(m.kind, MessageKind::Track);
    assert_eq!(m.event.as_deref(), Some("Report Shared"));
    assert_eq!(m.context_group_id.as_deref(), Some("acct_7"));
    assert_eq!(m.timestamp, t("2025-04-01T12:00:00Z"));
    assert_eq!(m.numeric.iter().map(|(k, v)| (k.as_ref(), *v)).collect::<Vec<_>>(), vec![("pages", 3_000_000), ("size", 1_500_000)]);
    let g = parse_message(br#"{"type":"group","userId":"u_42","groupId":"acct_7","traits":{"employees":120,"plan":"pro","stripe_customer_id":"cus_1"},"timestamp":"2025-04-01T12:00:00Z"}"#).unwrap();
    assert_eq!((g.group_id.as_deref(), g.billing_customer.as_deref()), (Some("acct_7"), Some("cus_1")));
    let p = parse_message(br#"{"type":"page","anonymousId":"a_9","name":"Pricing","properties":{"url":"x"},"context":{"campaign":{"source":"google"}},"originalTimestamp":"2025-04-01T12:00:00+02:00"}"#).unwrap();
    assert_eq!((p.kind, p.user_key().as_deref()), (MessageKind::Page, Some("anon:a_9")));
    assert_eq!(p.timestamp, t("2025-04-01T10:00:00Z"));
    // numeric ids and escaped strings
    let i = parse_message(br#"{"type":"identify","userId":42,"receivedAt":"2025-04-01","traits":{"email":"a\"b@x.io"}}"#).unwrap();
    assert_eq!(i.user_id.as_deref(), Some("42"));
}

#[test]
fn errors_name_the_field_the_value_and_what_was_expected() {
    let e = |s: &str| parse_message(s.as_bytes()).unwrap_err().to_string();
    assert_eq!(e(r#"{"type":"trak","userId":"u","timestamp":"2025-01-01T00:00:00Z"}"#), r#"field `type`: "trak": expected one of track, identify, group, page, screen, alias"#);
    assert_eq!(e(r#"{"type":"track","userId":"u","event":"x","timestamp":"2025-13-01T00:00:00Z"}"#), r#"field `timestamp`: "2025-13-01T00:00:00Z": expected an ISO-8601 instant with a UTC offset, e.g. 2025-04-01T12:00:00Z"#);
    assert_eq!(e(r#"{"type":"track","userId":"u","timestamp":"2025-01-01T00:00:00Z"}"#), "field `event`: expected the event name of a track message");
    assert_eq!(e(r#"{"type":"track","event":"x","timestamp":"2025-01-01T00:00:00Z"}"#), "field `userId`: expected a `userId` or an `anonymousId`");
    assert_eq!(e(r#"{"type":"group","userId":"u","timestamp":"2025-01-01T00:00:00Z"}"#), "field `groupId`: expected the account id of a group message");
    assert_eq!(e(r#"{"type":"track","userId":"u","event":"x"}"#), "field `timestamp`: expected an instant in `timestamp`, `originalTimestamp` or `receivedAt`");
    assert_eq!(e(r#"{"type":"track","userId":"u","event":"x","timestamp":"2025-01-01T00:00:00Z","properties":[1]}"#), r#"field `properties`: "an array": expected an object"#);
    assert_eq!(e(r#"{"type":"track","userId":"u","event":"x","timestamp":"2025-01-01T00:00:00Z","properties":{"duration_ms":-5}}"#), r#"field `properties.duration_ms`: "-5": expected a duration ≥ 0 in milliseconds"#);
    assert!(e(r#"{"type":"track","#).starts_with("expected one JSON object per line"));
    // errors inside a batch name the message
    let mut ing = Ingest::new(IngestSettings::default(), []);
    let err = ing.line(br#"{"batch":[{"type":"track","userId":"u","event":"x","timestamp":"2025-01-01T00:00:00Z"},{"type":"track","userId":"u","timestamp":"2025-01-01T00:00:00Z"}]}"#).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("batch[1].event"));
}

#[test]
fn the_file_reader_reports_file_and_line() {
    let dir = std::env::temp_dir().join(format!("holdfast-usage-parse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("events.jsonl");
    std::fs::write(&f, format!("{}\n\n{}\n", track("a", "u", "x", "2025-01-01T00:00:00Z", None), r#"{"type":"track","userId":"u","event":"x","timestamp":"yesterday"}"#)).unwrap();
    let mut ing = Ingest::new(IngestSettings::default(), []);
    let e = holdfast_usage::read_file(&f, &mut ing, &mut |_| {}).unwrap_err();
    assert_eq!(e.line, Some(3));
    assert_eq!(e.to_string(), format!(r#"{}:3: field `timestamp`: "yesterday": expected an ISO-8601 instant with a UTC offset, e.g. 2025-04-01T12:00:00Z"#, f.display()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn duplicates_count_once_within_and_across_ingests() {
    let lines = fixture_messages();
    let first = ingest(&lines);
    assert_eq!(first.stats.duplicates, 0);
    // the same messages again, in a batch, plus one new one; seeded with the first ingest's ids
    let mut ing = Ingest::new(IngestSettings::default(), first.message_ids.iter().copied());
    let batch = format!("{{\"batch\":[{}]}}", lines.join(","));
    ing.line(batch.as_bytes()).unwrap();
    ing.line(track("new", "u1", "Signed In", "2025-04-20T10:00:00Z", None).as_bytes()).unwrap();
    ing.line(track("new", "u1", "Signed In", "2025-04-20T10:00:00Z", None).as_bytes()).unwrap();
    let second = ing.finish();
    assert_eq!(second.stats.duplicates, lines.len() as u64 + 1);
    assert_eq!(second.message_ids.len(), 1);
    assert_eq!(second.counts.iter().map(|c| c.count).sum::<u64>(), 1);
    // messages without messageId dedupe on their bytes
    let anon = r#"{"type":"track","userId":"u","event":"x","timestamp":"2025-01-01T00:00:00Z"}"#;
    let mut ing = Ingest::new(IngestSettings::default(), []);
    ing.line(anon.as_bytes()).unwrap();
    ing.line(anon.as_bytes()).unwrap();
    assert_eq!(ing.stats().duplicates, 1);
}

#[test]
fn rollups_count_sum_and_sessionise() {
    let mut ing = Ingest::new(IngestSettings::default(), []);
    for (i, (ts, pages)) in [("2025-01-01T10:00:00Z", 2.5), ("2025-01-01T10:29:00Z", 1.0), ("2025-01-01T11:30:00Z", 0.25)].iter().enumerate() {
        let l = format!(r#"{{"type":"track","messageId":"{i}","userId":"u","event":"Export","timestamp":"{ts}","properties":{{"pages":{pages}}}}}"#);
        ing.line(l.as_bytes()).unwrap();
    }
    let r = ing.finish();
    assert_eq!(r.counts.len(), 1);
    assert_eq!(r.counts[0].count, 3);
    assert_eq!(r.sums[0].sum, 3_750_000);
    // 10:00–10:29 and 11:30 alone
    assert_eq!(r.sessions.iter().map(|s| (s.end - s.start, s.events)).collect::<Vec<_>>(), vec![(29 * 60, 2), (0, 1)]);
}

#[test]
fn out_of_order_events_merge_sessions() {
    let gap = 1800;
    let mut s: Vec<SessionRow> = Vec::new();
    add_interval(&mut s, 0, 0, 0, 1, NONE, gap);
    add_interval(&mut s, 0, 3600, 3600, 1, NONE, gap);
    assert_eq!(s.len(), 2);
    // an event in between bridges both
    add_interval(&mut s, 0, 1800, 1800, 1, NONE, gap);
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].start, s[0].end, s[0].events), (0, 3600, 3));
    // duration_ms extends an event into an interval
    add_interval(&mut s, 0, 10_000, 12_000, 1, NONE, gap);
    add_interval(&mut s, 0, 13_000, 13_000, 1, NONE, gap);
    assert_eq!(s.len(), 2);
    assert_eq!((s[1].start, s[1].end), (10_000, 13_000));
}

#[test]
fn raw_events_are_kept_only_when_asked_and_take_32_bytes() {
    assert_eq!(std::mem::size_of::<holdfast_usage::rollup::RawEvent>(), 32);
    let lines = fixture_messages();
    assert!(ingest(&lines).raw.is_empty());
    let mut ing = Ingest::new(IngestSettings { keep_raw_events: true, ..IngestSettings::default() }, []);
    for l in &lines {
        ing.line(l.as_bytes()).unwrap();
    }
    let r = ing.finish();
    // every track except the passive email
    assert_eq!(r.raw.len(), 12);
    assert!(r.raw.windows(2).all(|w| w[0].t <= w[1].t));
}
