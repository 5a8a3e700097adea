#!/usr/bin/env bash
# Vendors the bootstrap-italia assets (the Italian PA design kit) into
# crates/varco-pages/assets/bootstrap-italia/, where varco-pages embeds them with
# include_bytes! (a clone builds without npm). Run from anywhere:
#
#     bash scripts/vendor-bootstrap-italia.sh
#
# To update: change VERSION, set INTEGRITY to the output of
#     npm view bootstrap-italia@<VERSION> dist.integrity
# run this script, then check that `cargo test -p varco-pages assets` passes (the
# woff2 file names and the @font-face rules in assets/varco.css must agree).
#
# Needs npm (to fetch the tarball from the npm registry), node (to hash it) and tar.
set -euo pipefail

PACKAGE=bootstrap-italia
VERSION=2.18.3
INTEGRITY='sha512-dz4kNtcAYJF4OsWABT9m3CAT3NH5y6OzGG+v/VUGH1LjumIUmlP3GaQ+aHgtv5Vw3B5dS0jbHZiHGSfdu+DffA=='

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/crates/varco-pages/assets/bootstrap-italia"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "fetching $PACKAGE@$VERSION"
(cd "$tmp" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
tarball="$tmp/$PACKAGE-$VERSION.tgz"
[ -f "$tarball" ] || { echo "npm pack did not produce $tarball" >&2; exit 1; }

actual="sha512-$(node -e '
const fs = require("fs"), crypto = require("crypto");
process.stdout.write(crypto.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));
' "$tarball")"
if [ "$actual" != "$INTEGRITY" ]; then
    echo "integrity mismatch for $PACKAGE@$VERSION:" >&2
    echo "  expected $INTEGRITY" >&2
    echo "  got      $actual" >&2
    exit 1
fi
echo "integrity ok: $INTEGRITY"

tar -xzf "$tarball" -C "$tmp"
src="$tmp/package"

rm -rf "$dest"
mkdir -p "$dest/css" "$dest/js" "$dest/svg" "$dest/fonts"

# The stylesheet, without its trailing source-map comment (the map is not shipped,
# and browsers' developer tools would ask for it and get a 404).
sed '/^\/\*# sourceMappingURL=.*\*\/$/d' "$src/dist/css/bootstrap-italia.min.css" \
    >"$dest/css/bootstrap-italia.min.css"
cp "$src/dist/js/bootstrap-italia.bundle.min.js" "$dest/js/"
cp "$src/dist/svg/sprites.svg" "$dest/svg/"

# Fonts: bootstrap-italia 2.x's CSS has no @font-face of its own (its loadFonts()
# JavaScript injects them); assets/varco.css declares them instead, woff2 only (every
# browser we target reads it). Same layout as upstream's dist/fonts, plus each
# family's licence file.
for dir in "$src"/dist/fonts/*/; do
    family="$(basename "$dir")"
    mkdir -p "$dest/fonts/$family"
    cp "$dir"*.woff2 "$dest/fonts/$family/"
    for lic in OFL.txt LICENSE.txt; do
        if [ -f "$dir$lic" ]; then cp "$dir$lic" "$dest/fonts/$family/"; fi
    done
done

cp "$src/LICENSE" "$dest/LICENSE"
cat >"$dest/VERSION" <<EOF
package: $PACKAGE
version: $VERSION
integrity: $INTEGRITY
EOF

echo "vendored into ${dest#"$root"/}:"
(cd "$dest" && find . -type f | sort | sed 's|^\./|  |')
du -sh "$dest"
