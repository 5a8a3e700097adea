//! Checks the machine API's answers against PDND's own OpenAPI files, read where they
//! are (`../shared/spec/pdnd-openapi/` from the project root), with an independent
//! JSON Schema validator (Python's jsonschema, see tests/openapi/check_responses.py).
#![allow(dead_code)]
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub const V2: &str = "m2mGatewayApi.yml";
pub const V3: &str = "m2mGatewayApiV3.yml";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Answers recorded during a test, each with the operation's path template.
#[derive(Default)]
pub struct Recorder {
    records: Vec<Value>,
}

impl Recorder {
    pub fn record(&mut self, method: &str, template: &str, status: u16, body: &Value) {
        self.records.push(json!({ "method": method, "path": template, "status": status, "body": body }));
    }

    /// Fails the test with every violation found.
    pub fn check(&self, file: &str) {
        let spec = root().join("../shared/spec/pdnd-openapi").join(file);
        assert!(spec.exists(), "PDND's OpenAPI file is expected at {}", spec.display());
        let script = root().join("tests/openapi/check_responses.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(&spec)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        {
            let mut stdin = child.stdin.take().unwrap();
            for r in &self.records {
                writeln!(stdin, "{r}").unwrap();
            }
        }
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("ModuleNotFoundError"),
            "Python test dependencies missing: python3 -m pip install -r tests/independent/requirements.txt\n{stderr}"
        );
        assert!(out.status.success(), "answers violate {file}:\n{stdout}\n{stderr}");
        assert!(stdout.contains(&format!("\"checked\": {}", self.records.len())), "{stdout}");
    }
}
