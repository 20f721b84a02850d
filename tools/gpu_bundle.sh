#!/usr/bin/env bash
# What tools/gpu_check.py needs on a lent GPU machine (the `device` tool) that it cannot fetch there: wheels of this
# project's pins its python3 lacks (Python 3.12 with torch and transformers 5.17 but no nnsight, fastcore, execnb or
# nbdev) into .whl/, and a copy of the benchmark data into .gpu_data/; both git-ignored (.gitignore), both carried.
# Run here (PyPI only), once, in the checkout the device tool sends; then one call with carry [".whl", ".gpu_data"]:
#   python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl &&
#     export PYTHONPATH=/tmp/site:$PWD ARITH_INTERP_DATA=$PWD/.gpu_data PYTHONUNBUFFERED=1 &&
#     python3 tools/gpu_check.py --out $OUT/gpu.json
# SmolLM2's weights (0.5 GB) are over the 64 MiB a call carries: its tests are skipped there and --quick uses the tiny model.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
DEFAULT="nnsight==0.8.1 transformers==5.24.0 fastcore==1.14.5 execnb==0.1.18 nbdev==2.4.14
  greenlet pydantic pydantic-core annotated-types typing-inspection websocket-client zstandard
  ipython ipython-pygments-lexers jedi parso matplotlib-inline pexpect ptyprocess prompt-toolkit wcwidth stack-data
  asttokens executing pure-eval traitlets decorator astunparse ghapi fastgit watchdog"
PIN='import sys, importlib.metadata as m
n = sys.argv[1]
try: print(n if "==" in n else n + "==" + m.version(n))   # unpinned: the version this environment runs
except m.PackageNotFoundError: print(n)'
mkdir -p .whl
for w in ${GPU_WHEELS:-$DEFAULT}; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d .whl "$(python3 -c "$PIN" "$w")"
done
rm -rf .gpu_data && cp -r "${ARITH_INTERP_DATA:-../shared/data}" .gpu_data
du -sh .whl .gpu_data
