#!/usr/bin/env bash
# The main job: install, then run the whole study on the embedded SmolLM2-135M with the default budget
# (writes paper/data/, paper/figures/ and paper/REPORT.md; stages are cached, so a re-run resumes).
# Pass extra options through, e.g.  bash paper/reproduce.sh --quick   or   --force locate
# Any budget, model or seed other than the committed ones writes to runs/<budget>... (git-ignored), never to paper/,
# unless you pass --out paper --overwrite. --force STAGE recomputes the stage, its cached per-run results included.
set -euo pipefail
cd "$(dirname "$0")/.."
. ./install.sh
export ARITH_INTERP_DATA="${ARITH_INTERP_DATA:-$(cd .. && pwd)/shared/data}"
arith-interp reproduce --model smollm2-135m "$@"
