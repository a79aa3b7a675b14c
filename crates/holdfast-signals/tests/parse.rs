//! Parsing: precise errors (file, line, field, value, expectation), JSONL, round trip through the writer,
//! and theme discovery.
use holdfast_signals::read::{discover, read_all, SignalReader};
use holdfast_signals::records::*;
use holdfast_signals::themes::{discover as discover_phrases, normalise};
use holdfast_signals::write::SignalWriter;

fn error_of(name: &str, text: &str) -> holdfast_ingest::ImportError {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join(name), text).unwrap();
    let e = read_all(d.path()).expect_err("should be rejected");
    assert_eq!(e.file, d.path().join(name));
    e
}

#[test]
fn bad_values_name_file_line_field_value_and_expectation() {
    let e = error_of("tickets.csv", "ticket_id,created_at,first_response_at\nt1,2025-01-01T00:00:00Z,\nt2,2025-01-02T00:00:00Z,2025-01-01T00:00:00Z\n");
    assert_eq!((e.line, e.field.as_deref(), e.value.as_deref()), (Some(3), Some("first_response_at"), Some("2025-01-01T00:00:00Z")));
    assert!(e.expected.contains("not before created_at"), "{e}");

    let e = error_of("survey_responses.csv", "response_id,survey,score,responded_at\nn1,nps,11,2025-01-01\n");
    assert_eq!((e.line, e.field.as_deref(), e.value.as_deref()), (Some(2), Some("score"), Some("11")));
    assert!(e.expected.contains("from 0 to 10"), "{e}");

    let e = error_of("survey_responses.csv", "response_id,survey,score,responded_at\nn1,nsp,9,2025-01-01\n");
    assert_eq!((e.field.as_deref(), e.value.as_deref()), (Some("survey"), Some("nsp")));

    let e = error_of("spend.csv", "date,channel,category,amount,currency\n2025-01-01,ads,marketing,10.005,USD\n");
    assert_eq!((e.line, e.field.as_deref(), e.value.as_deref()), (Some(2), Some("amount"), Some("10.005")));
    assert!(e.expected.contains("at most 2 decimals"), "{e}");

    let e = error_of("funnel.csv", "person_id,stage,stage_at\np1,prospect,2025-01-01\n");
    assert_eq!((e.field.as_deref(), e.value.as_deref()), (Some("stage"), Some("prospect")));

    let e = error_of("referrals.csv", "referral_id,inviter_customer_id,invited_at,invitee_signed_up_at\nr1,cus_1,2025-01-02,2025-01-01\n");
    assert_eq!(e.field.as_deref(), Some("invitee_signed_up_at"));

    let e = error_of("cancellations.csv", "customer_id,cancelled_at,reason_code\ncus_1,yesterday,unused\n");
    assert_eq!((e.line, e.field.as_deref(), e.value.as_deref()), (Some(2), Some("cancelled_at"), Some("yesterday")));
}

#[test]
fn headers_are_checked() {
    let e = error_of("tickets.csv", "ticket_id,created_at,priorty\n");
    assert_eq!((e.line, e.field.as_deref()), (Some(1), Some("priorty")));
    assert!(e.expected.contains("priority"), "lists the known columns: {e}");
    let e = error_of("tickets.csv", "ticket_id,customer_id\n");
    assert_eq!((e.line, e.field.as_deref()), (Some(1), Some("created_at")));
    let e = error_of("visits.csv", "date,visitor_id\n2025-01-01,v1,extra\n");
    assert_eq!(e.line, Some(2));
}

#[test]
fn a_key_repeated_with_other_content_is_an_error_and_identical_repeats_are_kept_once() {
    let e = error_of("visits.csv", "date,visitor_id,source\n2025-01-01,v1,google\n2025-01-01,v1,bing\n");
    assert_eq!(e.line, Some(3));
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("visits.csv"), "date,visitor_id,source\n2025-01-01,v1,google\n2025-01-01,v1,google\n").unwrap();
    assert_eq!(read_all(d.path()).unwrap().len(), 1);
}

#[test]
fn jsonl_reads_like_csv_and_reports_lines() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("tickets.jsonl"),
        "{\"ticket_id\":\"t1\",\"created_at\":\"2025-01-01T00:00:00Z\",\"tags\":[\"complaint\",\"billing\"],\"agent_public_replies\":2,\"is_spam\":false}\n\n{\"ticket_id\":\"t2\",\"created_at\":\"2025-01-01\",\"reopen_count\":-1}\n",
    )
    .unwrap();
    let e = read_all(d.path()).unwrap_err();
    assert_eq!((e.line, e.field.as_deref(), e.value.as_deref()), (Some(3), Some("reopen_count"), Some("-1")));
    std::fs::write(d.path().join("tickets.jsonl"), "{\"ticket_id\":\"t1\",\"created_at\":\"2025-01-01T00:00:00Z\",\"tags\":[\"complaint\",\"billing\"],\"agent_public_replies\":2}\n").unwrap();
    let r = read_all(d.path()).unwrap();
    match &r[0] {
        SignalRecord::Ticket(t) => {
            assert_eq!(t.tags, vec!["complaint", "billing"]);
            assert_eq!(t.agent_public_replies, 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn writer_output_reads_back_identically_and_cells_round_trip() {
    let recs = vec![
        SignalRecord::Ticket(Ticket {
            ticket_id: "t,1".into(),
            customer_id: Some("cus_1".into()),
            requester_id: None,
            created_at: 1_700_000_000,
            first_response_at: Some(1_700_000_100),
            first_resolved_at: None,
            last_resolved_at: None,
            status: Some("open".into()),
            channel: None,
            priority: None,
            ticket_type: Some("complaint".into()),
            tags: vec!["a".into(), "b".into()],
            agent_public_replies: 1,
            reopen_count: 0,
            is_spam: false,
            merged_into: None,
        }),
        SignalRecord::Survey(SurveyResponse {
            response_id: "r1".into(),
            survey: Survey::Ces,
            question_id: None,
            respondent_id: Some("u1".into()),
            customer_id: Some("cus_1".into()),
            score: 2,
            scale_min: 1,
            scale_max: 5,
            comment: Some("Too \"hard\", sadly".into()),
            responded_at: 1_700_000_000,
            ticket_id: Some("t,1".into()),
        }),
        SignalRecord::Spend(Spend { day: 19_700, channel: "ads".into(), category: SpendCategory::Sales, amount: 12_345, currency: holdfast_core::Currency::EUR, campaign: None }),
        SignalRecord::Referral(Referral {
            referral_id: "r1".into(),
            inviter_user_id: None,
            inviter_customer_id: Some("cus_1".into()),
            invitee_ref: Some("x@y".into()),
            channel: None,
            invited_at: 1_700_000_000,
            invitee_signed_up_at: Some(1_700_100_000),
            invitee_customer_id: None,
            invitee_converted_at: None,
        }),
    ];
    let d = tempfile::tempdir().unwrap();
    let mut w = SignalWriter::create(d.path()).unwrap();
    for r in &recs {
        w.write(r).unwrap();
    }
    w.finish().unwrap();
    let back = read_all(d.path()).unwrap();
    assert_eq!(back, recs);
    for r in &recs {
        assert_eq!(&SignalRecord::from_cells(r.kind(), &mut r.cells()).unwrap(), r);
    }
    assert_eq!(discover(d.path()).unwrap().len(), 4);
}

#[test]
fn reasons_map_into_the_taxonomy() {
    assert_eq!(Reason::map("Too Expensive"), Reason::TooExpensive);
    assert_eq!(Reason::map("payment_failed"), Reason::InvoluntaryPaymentFailed);
    assert_eq!(Reason::map("switched-service"), Reason::SwitchedService);
    assert_eq!(Reason::map("we hate it"), Reason::Other);
}

#[test]
fn reader_state_spans_files_of_one_import() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("visits.csv"), "date,visitor_id,source\n2025-01-01,v1,google\n").unwrap();
    std::fs::write(d.path().join("visits.jsonl"), "{\"date\":\"2025-01-01\",\"visitor_id\":\"v1\",\"source\":\"bing\"}\n").unwrap();
    let mut r = SignalReader::new();
    let files = discover(d.path()).unwrap();
    r.read_file(&files[0], &mut |_| Ok(())).unwrap();
    let e = r.read_file(&files[1], &mut |_| Ok(())).unwrap_err();
    assert_eq!(e.line, Some(1));
    assert!(e.expected.contains("visits.csv:2"), "{e}");
}

#[test]
fn discovery_finds_the_frequent_distinctive_phrases() {
    let mut texts = Vec::new();
    for i in 0..30 {
        texts.push(format!("The export is broken again, ticket {i}"));
    }
    for i in 0..25 {
        texts.push(format!("Great support team, thanks {i}"));
    }
    for i in 0..45 {
        texts.push(format!("fine overall {i} {}", ["ok", "nice", "good", "meh", "solid"][i % 5]));
    }
    let norm: Vec<String> = texts.iter().map(|t| normalise(t)).collect();
    let refs: Vec<&str> = norm.iter().map(|s| s.as_str()).collect();
    let found = discover_phrases(&refs, 20, 5);
    let phrases: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert!(phrases.contains(&"export is broken") || phrases.contains(&"broken again ticket"), "{phrases:?}");
    // one phrase per theme: the export comments give one phrase, the support comments one
    assert_eq!(phrases.iter().filter(|p| p.contains("broken") || p.contains("export")).count(), 1, "{phrases:?}");
    assert_eq!(phrases.iter().filter(|p| p.contains("support")).count(), 1, "{phrases:?}");
    assert!(phrases.contains(&"great support team"), "{phrases:?}");
    assert!(found.iter().any(|(p, df)| p == "great support team" && *df == 25));
    assert!(phrases.contains(&"fine overall"), "45 of 100 comments is frequent and still under half: {phrases:?}");
    assert!(phrases.iter().all(|p| !p.starts_with("the ") && !p.starts_with("is ")), "no phrase starts with a stop word: {phrases:?}");
    assert!(found.iter().all(|(_, df)| *df >= 20));
}

#[test]
fn billing_discovery_leaves_exactly_the_signal_files_alone() {
    let mut ours: Vec<&str> = SignalKind::ALL.iter().map(|k| k.as_str()).collect();
    let mut theirs = holdfast_ingest::OTHER_SOURCE_STEMS.to_vec();
    ours.sort_unstable();
    theirs.sort_unstable();
    assert_eq!(ours, theirs);
}
