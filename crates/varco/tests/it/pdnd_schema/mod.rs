//! Checks the machine API's answers against PDND's own OpenAPI files, read where they
//! are (`../shared/spec/pdnd-openapi/` from the project root), with an independent
//! JSON Schema validator (Python's jsonschema, see tests/openapi/check_responses.py).
//!
//! The checker is given each answer's Content-Type and body as received: the helpers
//! that read the machine API's answers note them with [`seen`], and
//! [`Recorder::record`] takes the noted answer whose status and body it is given.
#![allow(dead_code)]
use crate::common::Reply;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

mod checker_tests;

pub const V2: &str = "m2mGatewayApi.yml";
pub const V3: &str = "m2mGatewayApiV3.yml";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An answer as received, noted by [`seen`].
struct Seen {
    status: u16,
    content_type: Option<String>,
    text: String,
    body: Value,
}

thread_local! {
    /// The answers noted on this thread (a test's runtime is its thread's), newest last.
    static SEEN: RefCell<Vec<Seen>> = const { RefCell::new(Vec::new()) };
}

/// How the tests' helpers turn an answer's text into the body they return: nothing is
/// null, JSON is parsed, anything else is kept as a string.
pub fn body_of(text: &str) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
    }
}

/// Notes an answer of the machine API as received (status, Content-Type, raw body), so
/// that recording it hands the checker what was on the wire, not only the parsed body.
pub fn seen(r: &Reply) {
    SEEN.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() >= 512 {
            s.remove(0);
        }
        s.push(Seen {
            status: r.status.as_u16(),
            content_type: r.content_type().map(str::to_string),
            text: r.text.clone(),
            body: body_of(&r.text),
        });
    });
}

/// Answers recorded during a test, each with the operation's path template.
#[derive(Default)]
pub struct Recorder {
    records: Vec<Value>,
}

impl Recorder {
    /// Records the newest answer noted by [`seen`] with this status and body, with its
    /// Content-Type and raw text. An answer never noted is recorded with its body only,
    /// which the checker refuses for a JSON operation (it cannot see the Content-Type).
    pub fn record(&mut self, method: &str, template: &str, status: u16, body: &Value) {
        let noted = SEEN.with(|s| {
            let mut s = s.borrow_mut();
            let i = s.iter().rposition(|a| a.status == status && a.body == *body)?;
            Some(s.remove(i))
        });
        self.records.push(match noted {
            Some(a) => json!({
                "method": method, "path": template, "status": status,
                "contentType": a.content_type, "text": a.text,
            }),
            None => json!({ "method": method, "path": template, "status": status, "body": body }),
        });
    }

    /// Fails the test with every violation found.
    pub fn check(&self, file: &str) {
        let (out, stdout, stderr) = run_checker(file, &self.records);
        assert!(out.status.success(), "answers violate {file}:\n{stdout}\n{stderr}");
        assert!(stdout.contains(&format!("\"checked\": {}", self.records.len())), "{stdout}");
    }
}

/// Runs tests/openapi/check_responses.py on `records` against PDND's `file`; fails the
/// test when Python's dependencies are missing (never skips).
pub fn run_checker(file: &str, records: &[Value]) -> (Output, String, String) {
    run_checker_with(file, records, &[])
}

/// [`run_checker`] with extra environment variables for python3.
pub fn run_checker_with(file: &str, records: &[Value], env: &[(&str, &str)]) -> (Output, String, String) {
    let spec = root().join("../shared/spec/pdnd-openapi").join(file);
    assert!(spec.exists(), "PDND's OpenAPI file is expected at {}", spec.display());
    let script = root().join("tests/openapi/check_responses.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(&spec)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    {
        let mut stdin = child.stdin.take().unwrap();
        for r in records {
            writeln!(stdin, "{r}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "Python test dependencies missing: python3 -m pip install -r tests/independent/requirements.txt\n{stderr}"
    );
    (out, stdout, stderr)
}
