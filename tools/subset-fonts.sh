#!/usr/bin/env sh
# Re-create theme/assets/fonts/*.woff2 from the npm package @fontsource/ibm-plex-sans-arabic.
# The subsets keep the Arabic letters, marks, Arabic-Indic and Persian digits and
# punctuation (with every OpenType layout feature, so shaping stays right), and
# basic Latin. Needs fonttools with brotli: pip install fonttools brotli
set -eu
out="$(cd "$(dirname "$0")/.." && pwd)/theme/assets/fonts"
tmp=$(mktemp -d)
(cd "$tmp" && npm pack -s @fontsource/ibm-plex-sans-arabic@5.3.0 >/dev/null && tar xzf ./*.tgz)
src="$tmp/package/files"
for w in 400 700; do
  pyftsubset "$src/ibm-plex-sans-arabic-arabic-$w-normal.woff2" \
    --unicodes="U+0600-0605,U+060C,U+061B,U+061F,U+0621-065F,U+0660-066D,U+0670,U+06CC,U+06F0-06F9,U+200C-200F,U+0640" \
    --layout-features='*' --flavor=woff2 --output-file="$out/plex-arabic-$w.woff2"
  pyftsubset "$src/ibm-plex-sans-arabic-latin-$w-normal.woff2" \
    --unicodes="U+0020-007E,U+00A0,U+00A9,U+00D7,U+2013,U+2014,U+2018,U+2019,U+201C,U+201D,U+2022,U+2026,U+2190,U+2192" \
    --layout-features='kern,liga' --flavor=woff2 --output-file="$out/plex-latin-$w.woff2"
done
cp "$tmp/package/LICENSE" "$out/OFL.txt"
rm -rf "$tmp"
