#!/usr/bin/env bash
# The test command: install, then the nbdev CI triad (clean, export, test) and pytest. Ends with pytest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
. ./install.sh
export ARITH_INTERP_DATA="${ARITH_INTERP_DATA:-$(cd .. && pwd)/shared/data}"
echo "== nbdev_clean leaves notebooks unchanged"
nbdev_clean && git diff --exit-code --stat -- nbs
echo "== nbdev_export leaves arith_interp/ unchanged"
nbdev_export && git diff --exit-code --stat -- arith_interp && test -z "$(git status --porcelain -- arith_interp)"
echo "== nbdev_test (slow cells skipped; experiment and figure notebooks read a copy of the committed paper/data)"
export ARITH_INTERP_PAPER="$(mktemp -d)/paper" && mkdir -p "$ARITH_INTERP_PAPER" && cp -r paper/data "$ARITH_INTERP_PAPER/"
nbdev_test --n_workers 2 --timing
echo "== documentation site: built (pandoc from Debian; Quarto where installed) and checked (pages, figures, internal links)"
command -v pandoc >/dev/null || { apt-get update -qq && apt-get install -y -qq pandoc >/dev/null; }
python tools/site.py          # fails if nbdev cannot process a notebook
python tools/check_site.py
echo "== pytest"
python -m pytest -q -p no:cacheprovider tests
