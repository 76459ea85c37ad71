#!/usr/bin/env bash
# BentoML, the serving peer, in a virtual environment of its own (never a modelfab dependency):
# benchmarks/.work/peer-bentoml. modelfab goes in without its dependencies, only the few that
# loading a model package needs, so BentoML's own pins decide the serving stack.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=benchmarks/.work/peer-bentoml
PYTHON=${PYTHON:-python3.11}
if [ ! -x "$VENV/bin/bentoml" ]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "bentoml==1.4.39" "numpy==2.4.6" "pandas==2.3.3" "pyarrow==25.0.1" \
    "scikit-learn==1.9.1" "skops==0.16.0" "lightgbm==4.7.0" "PyYAML==6.0.3"
  "$VENV/bin/pip" install --quiet --no-deps -e .
fi
"$VENV/bin/bentoml" --version
