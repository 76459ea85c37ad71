"""ONNX Runtime's telemetry client looks up a remote host a few seconds after import unless
ORT_DISABLE_TELEMETRY is set first; a process that exports and scores through modelfab makes no
lookup. Checked with strace against a control that turns telemetry on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

CHILD = """
import time, numpy as np, lightgbm as lgb
{before}
from modelfab.export.runtime import session
from modelfab.export.trees import lightgbm_graph
X = np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32)
booster = lgb.train({{"objective": "regression", "verbose": -1}}, lgb.Dataset(X, X[:, 0]), 5)
graph = lightgbm_graph(booster, 3, "regression")
session(graph.SerializeToString()).run(["scores"], {{"features": X}})
time.sleep(12)  # the client's first lookup comes some seconds after import
"""
NETWORK = re.compile(r"(connect|sendto|sendmsg)\(\d+, \{sa_family=AF_INET6?, sin6?_port=htons\((\d+)\), "
                     r"(?:sin_addr=inet_addr\(\"([^\"]+)\"\)|[^}]*inet_pton\(AF_INET6, \"([^\"]+)\")")


def lookups(tmp_path, name: str, before: str) -> tuple:
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    trace = tmp_path / f"{name}.trace"
    return trace, subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=network", "-o", str(trace), sys.executable,
                                    "-c", CHILD.format(before=before)], env=env)


def outward(trace) -> list[str]:
    """Every address the process sent to, but loopback's own services (a DNS query is outward)."""
    found = []
    for m in NETWORK.finditer(trace.read_text()):
        port, address = int(m.group(2)), m.group(3) or m.group(4)
        if port == 53 or address not in ("127.0.0.1", "::1"):
            found.append(f"{address}:{port}")
    return found


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_a_process_that_exports_and_scores_makes_no_lookup(tmp_path):
    quiet = lookups(tmp_path, "modelfab", "import modelfab")
    control = lookups(tmp_path, "control", "import os; os.environ['ORT_DISABLE_TELEMETRY'] = '0'; import onnxruntime")
    for trace, process in (quiet, control):
        if process.wait(timeout=120) != 0:
            pytest.skip(f"strace could not trace here ({trace.read_text()[:200]})")
    assert outward(quiet[0]) == []
    if not outward(control[0]):
        pytest.skip("this machine's onnxruntime made no lookup even with telemetry on: nothing to compare")
