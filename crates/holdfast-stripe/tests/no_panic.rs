//! No input makes the reader panic: every field of realistic objects replaced by values of other types.
use holdfast_stripe::read_values;
use serde_json::{json, Value};
use std::path::Path;

fn paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                prefix.push(k.clone());
                out.push(prefix.clone());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                prefix.push(i.to_string());
                out.push(prefix.clone());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, p: &[String]) -> &'a mut Value {
    p.iter().fold(v, |v, k| match v {
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        v => &mut v[k.as_str()],
    })
}

#[test]
fn mutated_objects_give_errors_not_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let replacements = [json!(null), json!("x"), json!(-1), json!(i64::MAX), json!(1.5), json!([]), json!({}), json!(true)];
    for f in ["basil_invoice/01_objects.json", "basil_invoice/02_in_b1_lines.json", "proration/objects.json", "events/backfill.json", "cm_basil/subscriptions.json"] {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap();
        let mut ps = Vec::new();
        paths(&doc, &mut Vec::new(), &mut ps);
        for p in &ps {
            for r in &replacements {
                let mut d = doc.clone();
                *at(&mut d, p) = r.clone();
                let _ = read_values(vec![("a.json".into(), d)]);
            }
        }
    }
}
