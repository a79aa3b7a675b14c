//! Black-box tests of the signal parts of the `holdfast` binary over real SQLite files.
mod common;
use common::{holdfast, ok};

fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    ok(&holdfast(d.path(), &["generate", "--out", "data", "--customers", "150", "--months", "14", "--seed", "5"]));
    for f in ["tickets.csv", "survey_responses.csv", "cancellations.csv", "funnel.csv", "spend.csv", "referrals.csv"] {
        assert!(d.path().join("data").join(f).exists(), "generate writes {f}");
    }
    d
}

#[test]
fn signal_import_is_idempotent_and_all_or_nothing() {
    let d = setup();
    let first = holdfast(d.path(), &["import", "data"]);
    ok(&first);
    let summary = String::from_utf8_lossy(&first.stderr).into_owned();
    assert!(summary.contains("tickets") && summary.contains("survey_responses"), "{summary}");
    let status = ok(&holdfast(d.path(), &["status"]));
    assert!(status.lines().any(|l| l.trim_start().starts_with("tickets") && !l.trim_end().ends_with(" 0")), "{status}");
    let report = ok(&holdfast(d.path(), &["report", "--section", "all", "--format", "csv"]));

    // re-import: nothing changes
    let again = holdfast(d.path(), &["import", "data"]);
    ok(&again);
    let text = String::from_utf8_lossy(&again.stderr).into_owned();
    for line in text.lines().filter(|l| l.contains(" new ")) {
        // record tables say "N new, M updated"; the usage line says "N new, M duplicate"
        assert!(line.contains(" 0 new") && (line.contains(" 0 updated") || !line.contains("updated")), "re-import changed something: {line}");
    }
    assert_eq!(ok(&holdfast(d.path(), &["report", "--section", "all", "--format", "csv"])), report);

    // a changed ticket then a bad row: the import fails and nothing is written
    let tickets = std::fs::read_to_string(d.path().join("data/tickets.csv")).unwrap();
    let mut lines: Vec<String> = tickets.lines().map(str::to_string).collect();
    lines[1] = lines[1].replacen(",question,", ",complaint,", 1).replacen(",bug,", ",complaint,", 1);
    let bad_line = lines.len() + 1;
    lines.push("tk_bad,cus_000001,,,,,,open,email,normal,question,,0,0,false,".into());
    std::fs::write(d.path().join("data/tickets.csv"), lines.join("\n") + "\n").unwrap();
    let failed = holdfast(d.path(), &["import", "data"]);
    assert_eq!(failed.status.code(), Some(65));
    let err = String::from_utf8_lossy(&failed.stderr).into_owned();
    assert!(err.contains(&format!("tickets.csv:{bad_line}: field `created_at`")), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(ok(&holdfast(d.path(), &["status"])), status);
    assert_eq!(ok(&holdfast(d.path(), &["report", "--section", "all", "--format", "csv"])), report);
}

#[test]
fn sections_and_themes_report_on_simulated_data() {
    let d = setup();
    ok(&holdfast(d.path(), &["import", "data"]));
    let json = ok(&holdfast(d.path(), &["report", "--section", "voice", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let results = v["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["kpi"] == "nps" && r["value"].is_object()));
    assert!(results.iter().all(|r| r["value"].is_null() == r["flags"].as_array().unwrap().iter().any(|f| f == "empty_denominator") || r["kpi"].as_str().unwrap().starts_with("cancellation_lost_mrr")));
    let table = ok(&holdfast(d.path(), &["report", "--section", "support", "--period", "2023-06..2023-08"]));
    assert!(table.contains("first_response_time") && table.contains("2023-07"), "{table}");
    let funnel = ok(&holdfast(d.path(), &["report", "--section", "funnel", "--kpi", "cac", "--format", "csv"]));
    assert!(funnel.lines().count() > 10, "{funnel}");
    let themes = ok(&holdfast(d.path(), &["themes", "--format", "csv"]));
    assert!(themes.starts_with("theme,source,comments"), "{themes}");
    assert!(themes.lines().count() > 3, "{themes}");
    let bad = holdfast(d.path(), &["report", "--section", "usage-ish"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn theme_rules_come_from_the_config() {
    let d = setup();
    ok(&holdfast(d.path(), &["import", "data"]));
    std::fs::write(d.path().join("holdfast.toml"), "[signals]\nmin_theme_comments = 5\n\n[themes]\nexports = { keywords = [\"export\"], regex = \"fail(s|ing|ed)?\" }\n").unwrap();
    let themes = ok(&holdfast(d.path(), &["themes", "--format", "csv"]));
    assert!(themes.lines().any(|l| l.starts_with("exports,rule,")), "{themes}");
    std::fs::write(d.path().join("holdfast.toml"), "[themes]\nbroken = { regex = \"(unclosed\" }\n").unwrap();
    let bad = holdfast(d.path(), &["themes"]);
    assert_eq!(bad.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid regex"));
}
