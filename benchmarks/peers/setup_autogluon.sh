#!/usr/bin/env bash
# AutoGluon 1.6.3, the AutoML peer of bench_auto.py, in a virtual environment of its own (never a
# modelfab dependency): benchmarks/.work/peer-autogluon. torch is pinned to the CPU build
# (anything else pulls a multi-GB CUDA one); AutoGluon's FastAI model is left out.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=benchmarks/.work/peer-autogluon
PYTHON=${PYTHON:-python3.11}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import autogluon.tabular" 2>/dev/null; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "torch==2.13.0" "autogluon.tabular[lightgbm,catboost,xgboost]==1.6.3"
fi
"$VENV/bin/python" -c "import autogluon.tabular as t; print('autogluon.tabular', t.__version__)"
