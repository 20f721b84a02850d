#!/usr/bin/env bash
# Render pages of the built site (_docs/) with headless Chromium from Debian's packages (apt-get install -y chromium) to PNGs.
# Not part of CI. Usage: bash tools/screenshot.sh [OUT_DIR] [PAGE ...]   (default: /tmp/arith_interp_shots, index + one figure page)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-/tmp/arith_interp_shots}"; shift || true
PAGES=("${@:-index.html 90_fig_head_heatmap.html}")
[ -d _docs ] || { echo "no site: python tools/site.py first" >&2; exit 1; }
command -v chromium >/dev/null || { echo "chromium missing: apt-get install -y chromium" >&2; exit 1; }
mkdir -p "$OUT"
for page in ${PAGES[*]}; do
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync \
           --no-first-run --hide-scrollbars --window-size=1280,1600 --screenshot="$OUT/${page%.html}.png" "file://$PWD/_docs/$page" 2>/dev/null
  echo "$OUT/${page%.html}.png"
done
