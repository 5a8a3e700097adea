//! Replays the kept corpus (fuzz/corpus/<target>/) and every crash the fuzzer ever
//! found (fuzz/regressions/<target>/) through the same functions the fuzzer runs,
//! so CI keeps the invariants without a fuzz build.
use std::path::{Path, PathBuf};

use varco_fuzzing::world::{world, AUDIENCE, NOW};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut out: Vec<PathBuf> = entries.map(|e| e.expect("readable directory entry").path()).collect();
    out.retain(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"));
    out.sort();
    out
}

fn replay(target: &str) {
    let f = varco_fuzzing::TARGETS.iter().find(|(n, _)| *n == target).expect("a known target").1;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let corpus = files(&root.join("corpus").join(target));
    // A corpus lost (or never committed) must fail, not pass on nothing.
    assert!(corpus.len() >= 5, "fuzz/corpus/{target} has {} files", corpus.len());
    for path in corpus.iter().chain(&files(&root.join("regressions").join(target))) {
        let data = std::fs::read(path).expect("readable corpus file");
        if let Err(panic) = std::panic::catch_unwind(|| f(&data)) {
            let msg =
                panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
            panic!("{target}: {} broke an invariant: {}", path.display(), msg.unwrap_or_default());
        }
    }
}

#[test]
fn token_form() {
    replay("token_form");
}

#[test]
fn client_assertion() {
    replay("client_assertion");
}

#[test]
fn public_key() {
    replay("public_key");
}

#[test]
fn dpop_proof() {
    replay("dpop_proof");
}

#[test]
fn codice_fiscale() {
    replay("codice_fiscale");
}

/// The seeds (valid requests and near misses with one defect each) hold the
/// invariants too: a check that lets a defect through is caught here even when the
/// minimised corpus happens to have no input for it.
#[test]
fn seeds() {
    let seeds = varco_fuzzing::seeds::all();
    for (target, _) in varco_fuzzing::TARGETS {
        assert!(seeds.iter().filter(|s| s.target == *target).count() >= 5, "{target} has few seeds");
    }
    for s in seeds {
        let f = varco_fuzzing::TARGETS.iter().find(|(n, _)| *n == s.target).expect("a known target").1;
        if let Err(panic) = std::panic::catch_unwind(|| f(&s.data)) {
            let msg =
                panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
            panic!("{}: seed {} broke an invariant: {}", s.target, s.name, msg.unwrap_or_default());
        }
    }
}

/// The fuzzer only reaches deep code if the fixed world and the signed modes work:
/// the seeds of valid requests must be accepted, each by the step it is meant for.
#[test]
fn the_harness_reaches_acceptance() {
    use varco_token::checks::{check_steps, Request};
    let w = world();
    let ok = varco_fuzzing::seeds::signed_assertion(&varco_fuzzing::seeds::claims(
        varco_fuzzing::world::CONSUMER_CLIENT,
        Some(varco_fuzzing::world::PURPOSE_OK),
    ));
    let req = Request { client_assertion: &ok, client_id: None };
    let steps = check_steps(&req, AUDIENCE, &w.view, NOW, None, None, false);
    assert!(steps.accepted.is_some(), "the consumer's good assertion is refused: {:?}", steps.first());
    let api =
        varco_fuzzing::seeds::signed_assertion(&varco_fuzzing::seeds::claims(varco_fuzzing::world::API_CLIENT, None));
    let req = Request { client_assertion: &api, client_id: None };
    let steps = check_steps(&req, AUDIENCE, &w.view, NOW, None, None, false);
    assert!(steps.accepted.is_some(), "the API client's good assertion is refused: {:?}", steps.first());
}
