#!/usr/bin/env bash
# Runs one fuzz target for SECONDS with libFuzzer (cargo-fuzz) on the stable
# toolchain, then prints how many inputs it executed. See docs/fuzzing.md.
#
#   scripts/fuzz.sh TARGET SECONDS      targets: token_form client_assertion
#                                       public_key dpop_proof codice_fiscale
#
# Stable rustc has no -Zsanitizer, so the build has no AddressSanitizer
# (--sanitizer none; Varco forbids unsafe code, so ASan would find little).
# Everything else cargo-fuzz passes is stable: SanitizerCoverage through
# -Cpasses=sancov-module and -Cllvm-args, so no nightly and no RUSTC_BOOTSTRAP.
# The build has its own target directory, fuzz/target (aws-lc is compiled
# again there, once).
#
# New inputs that add coverage land in fuzz/corpus/TARGET/. Before committing,
# minimise it (and keep it around 300 files, under 1 MiB); -use_counters=0 keeps
# one input per code edge instead of one per hit count, about a third as many:
#   cargo fuzz cmin --sanitizer none TARGET -- -use_counters=0
# A crash is written to fuzz/artifacts/TARGET/crash-*; reproduce it with
#   cargo fuzz run --sanitizer none TARGET fuzz/artifacts/TARGET/crash-…
# (or `cargo fuzz tmin` to shrink it), fix the code, then copy the input to
# fuzz/regressions/TARGET/ under a name that says what it was: the corpus
# tests (crates/varco-fuzzing/tests/corpus.rs) replay it in every CI run.
set -euo pipefail

target=${1:?usage: scripts/fuzz.sh TARGET SECONDS}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS}
cd "$(dirname "$0")/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
if [ ! -d "fuzz/corpus/$target" ]; then
    echo "unknown target $target (no fuzz/corpus/$target)" >&2
    exit 2
fi

dict=()
if [ -f "fuzz/dicts/$target.dict" ]; then
    dict=("-dict=fuzz/dicts/$target.dict")
fi

# The seeds (crates/varco-fuzzing/src/seeds.rs) go in as a second, read-only
# corpus: new inputs are written only to the first, fuzz/corpus/TARGET.
seeds=fuzz/target/seeds
rm -rf "$seeds"
cargo run -q -p varco-fuzzing --example seeds -- "$seeds"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" "$seeds/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 "${dict[@]}" 2>&1 | tee "$log" || status=$?

# libFuzzer's final statistics (also printed when it stops on a crash).
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
if [ "$status" -eq 0 ]; then
    echo "fuzz $target: ${execs:-?} executions in ${seconds} s, no crash"
else
    echo "fuzz $target: stopped (exit $status) after ${execs:-?} executions; the input is in fuzz/artifacts/$target/"
fi
exit "$status"
