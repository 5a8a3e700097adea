//! Running the Node scripts of `tests/node/` (headless Chromium through
//! playwright-core, a reference OIDC provider) from the Rust tests. Their
//! dependencies come from `npm ci --prefix tests/node`, which `.ci/run` does.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long one `run_node` may take before it is killed and the test fails.
pub const NODE_TIMEOUT: Duration = Duration::from_secs(240);

/// The repository's root (this crate is `crates/varco`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// `tests/node/`, after checking that its `node_modules` is installed.
pub fn node_modules_ready() -> PathBuf {
    let dir = repo_root().join("tests/node");
    if !dir.join("node_modules/playwright-core").is_dir() {
        panic!(
            "{} is missing: run `npm ci --prefix tests/node` from the repository root first \
             (and have Chromium at /usr/bin/chromium or $VARCO_CHROMIUM; `.ci/run` does both)",
            dir.join("node_modules/playwright-core").display()
        );
    }
    dir
}

fn command(script: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let dir = node_modules_ready();
    let script = if script.is_absolute() { script.to_path_buf() } else { dir.join(script) };
    let mut cmd = Command::new("node");
    cmd.arg(script).args(args).current_dir(&dir).stdin(Stdio::null()).kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `node script args…` (a relative `script` is taken from `tests/node/`) with
/// the extra environment `envs`, to the end, and returns its output; on a non-zero
/// exit its stdout and stderr are printed (the test harness shows them). Panics if
/// node cannot start or runs longer than [`NODE_TIMEOUT`] (then it is killed).
pub async fn run_node(script: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = command(script, args, envs);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = match tokio::time::timeout(NODE_TIMEOUT, cmd.output()).await {
        Ok(out) => out.unwrap_or_else(|e| panic!("cannot run node {}: {e}", script.display())),
        Err(_) => panic!("node {} did not finish within {NODE_TIMEOUT:?}", script.display()),
    };
    if !out.status.success() {
        eprintln!(
            "node {} {args:?} failed: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Starts `node script args…` in the background (a server, say): killed when the
/// returned `Child` is dropped. Its stdout is piped, so read it (see
/// [`wait_for_line`]) or it may block once the pipe is full; stderr goes to the
/// test's own.
pub fn spawn_node(script: &Path, args: &[&str], envs: &[(&str, &str)]) -> Child {
    let mut cmd = command(script, args, envs);
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    cmd.spawn().unwrap_or_else(|e| panic!("cannot start node {}: {e}", script.display()))
}

/// Reads the stdout of a [`spawn_node`] child until a line starting with `prefix`
/// (e.g. `"listening "`), returns that line, and from then on copies the rest of
/// stdout to the test's output in the background. Panics after `timeout`, or if the
/// child's stdout ends first.
pub async fn wait_for_line(child: &mut Child, prefix: &str, timeout: Duration) -> String {
    let stdout = child.stdout.take().expect("stdout of a spawn_node child, not read before");
    let mut lines = BufReader::new(stdout).lines();
    let found = tokio::time::timeout(timeout, async {
        while let Some(line) = lines.next_line().await.expect("reading node's stdout") {
            if line.starts_with(prefix) {
                return Some(line);
            }
            println!("[node] {line}");
        }
        None
    })
    .await;
    match found {
        Ok(Some(line)) => {
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    println!("[node] {line}");
                }
            });
            line
        }
        Ok(None) => panic!("node exited before printing a line starting with {prefix:?}"),
        Err(_) => panic!("node printed no line starting with {prefix:?} within {timeout:?}"),
    }
}
