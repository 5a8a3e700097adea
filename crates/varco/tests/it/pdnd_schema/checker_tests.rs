//! The schema checker itself (tests/openapi/check_responses.py): what it must refuse,
//! on records made by hand for one JSON operation of PDND's v2 file
//! (`GET /declaredAttributes/{attributeId}`, a DeclaredAttribute with a `date-time`).
use super::{run_checker, run_checker_with, V2};
use serde_json::{json, Value};

const OP: &str = "/declaredAttributes/{attributeId}";

fn attribute(created_at: &str) -> String {
    json!({
        "id": "0f8d5f4e-6c1a-4b7e-9a57-3f4f1f2a9b10",
        "name": "Attributo dichiarato di prova",
        "description": "Un attributo per provare il controllo",
        "createdAt": created_at,
    })
    .to_string()
}

fn answer(content_type: Option<&str>, text: &str) -> Value {
    json!({ "method": "get", "path": OP, "status": 200, "contentType": content_type, "text": text })
}

/// The summary line's violation count.
fn violations(stdout: &str) -> u64 {
    let last = stdout.lines().last().unwrap_or_default();
    let summary: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("no summary line ({e}):\n{stdout}"));
    summary["violations"].as_u64().unwrap_or_else(|| panic!("{summary}"))
}

#[test]
fn accepts_a_json_answer_with_valid_date_times() {
    let records = [
        answer(Some("application/json"), &attribute("2025-03-01T10:20:30Z")),
        answer(Some("application/json; charset=utf-8"), &attribute("2025-03-01T10:20:30.123+01:00")),
    ];
    let (out, stdout, stderr) = run_checker(V2, &records);
    assert!(out.status.success(), "valid answers refused:\n{stdout}\n{stderr}");
    assert_eq!(violations(&stdout), 0, "{stdout}");
}

#[test]
fn refuses_a_non_json_answer_of_a_json_operation_and_malformed_date_times() {
    let good = attribute("2025-03-01T10:20:30Z");
    // (record, what the checker must say about it)
    let cases = [
        (answer(Some("text/plain; charset=utf-8"), &good), "answered with Content-Type 'text/plain; charset=utf-8'"),
        (answer(None, &good), "answered with Content-Type None"),
        (answer(Some("application/json"), "Internal Server Error"), "the body is not JSON"),
        (answer(Some("application/json"), ""), "a JSON operation answered without a body"),
        (
            json!({ "method": "get", "path": OP, "status": 200, "body": serde_json::from_str::<Value>(&good).unwrap() }),
            "recorded without the answer's Content-Type",
        ),
        (
            answer(Some("application/json"), &attribute("2025-03-01 10:20:30")),
            "'2025-03-01 10:20:30' is not a 'date-time'",
        ),
        (
            answer(Some("application/json"), &attribute("2025-13-01T10:20:30Z")),
            "'2025-13-01T10:20:30Z' is not a 'date-time'",
        ),
        (answer(Some("application/json"), &attribute("ieri")), "'ieri' is not a 'date-time'"),
    ];
    let records: Vec<Value> = cases.iter().map(|(r, _)| r.clone()).collect();
    let (out, stdout, stderr) = run_checker(V2, &records);
    assert_eq!(out.status.code(), Some(1), "the checker must refuse these answers:\n{stdout}\n{stderr}");
    for (record, expected) in &cases {
        let hits = stdout.lines().filter(|l| l.starts_with("VIOLATION") && l.contains(expected)).count();
        assert_eq!(hits, 1, "expected one violation saying {expected:?} for {record}:\n{stdout}");
    }
    assert_eq!(violations(&stdout), cases.len() as u64, "one violation per bad answer:\n{stdout}");
}

#[test]
fn refuses_to_run_when_its_date_time_check_is_not_active() {
    // jsonschema checks date-time only if it can import rfc3339_validator: hide it.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("rfc3339_validator.py"), "raise ImportError('hidden by the test')\n").unwrap();
    let path = dir.path().to_str().unwrap();
    let records = [answer(Some("application/json"), &attribute("ieri"))];
    let (out, stdout, stderr) = run_checker_with(V2, &records, &[("PYTHONPATH", path)]);
    assert_eq!(out.status.code(), Some(2), "the checker ran without its date-time check:\n{stdout}\n{stderr}");
    assert!(stderr.contains("date-time format checker is not active"), "{stderr}");
}
