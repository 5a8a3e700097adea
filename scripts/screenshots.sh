#!/usr/bin/env bash
# Refreshes the pictures of docs/seed-walk.md and docs/producer-walk.md: runs the
# browser walks (the tests browser_walk::seed_document_in_a_real_browser::sqlite and
# producer_walk::the_producer_side_in_a_real_browser::sqlite, which write their
# screenshots to target/screenshots/ and target/screenshots-erogazione/, or under
# $CARGO_TARGET_DIR), then copies them to docs/screenshots/ and
# docs/screenshots/erogazione/. The tests never touch docs/, so this is the one way
# the tracked pictures change. Run from anywhere:
#
#     bash scripts/screenshots.sh
#
# Needs what the test needs: `npm ci --prefix tests/node` done, and Chromium at
# /usr/bin/chromium or $VARCO_CHROMIUM.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

target="${CARGO_TARGET_DIR:-target}"
case "$target" in
    /*) ;;
    *) target="$root/$target" ;;
esac

# Nothing stale: what is copied is what this run took.
rm -rf "$target/screenshots" "$target/screenshots-erogazione"
cargo test -p varco --test it -- --exact \
    browser_walk::seed_document_in_a_real_browser::sqlite \
    producer_walk::the_producer_side_in_a_real_browser::sqlite

shopt -s nullglob
copy() {
    local shots="$1" dest="$2"
    local pngs=("$shots"/*.png)
    if [ "${#pngs[@]}" -eq 0 ]; then
        echo "no screenshots in $shots" >&2
        exit 1
    fi
    mkdir -p "$dest"
    cp "${pngs[@]}" "$dest/"
    echo "copied ${#pngs[@]} screenshots from $shots to $dest/"
}
copy "$target/screenshots" docs/screenshots
copy "$target/screenshots-erogazione" docs/screenshots/erogazione
git status --short -- docs/screenshots
