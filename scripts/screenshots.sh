#!/usr/bin/env bash
# Refreshes the pictures of docs/seed-walk.md: runs the browser walk (the test
# browser_walk::seed_document_in_a_real_browser::sqlite, which writes its screenshots to
# target/screenshots/, or $CARGO_TARGET_DIR/screenshots/), then copies them to
# docs/screenshots/. The test itself never touches docs/, so this is the one way
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
shots="$target/screenshots"

# Nothing stale: what is copied is what this run took.
rm -rf "$shots"
cargo test -p varco --test it -- --exact browser_walk::seed_document_in_a_real_browser::sqlite

shopt -s nullglob
pngs=("$shots"/*.png)
if [ "${#pngs[@]}" -eq 0 ]; then
    echo "no screenshots in $shots" >&2
    exit 1
fi
mkdir -p docs/screenshots
cp "${pngs[@]}" docs/screenshots/
echo "copied ${#pngs[@]} screenshots from $shots to docs/screenshots/"
git status --short -- docs/screenshots
