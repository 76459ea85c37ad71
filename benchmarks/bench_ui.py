"""The dashboard at plant scale (issue #24): 10,000 runs in the run history, 200 registered
versions in MLflow on SQLite, 1,000,000 logged predictions in SQLite. Each page's server time
(in process, the median of 5 requests after one warm-up) and the server's peak memory (a fresh
process that only serves the pages).

    python benchmarks/bench_ui.py [--runs 10000] [--versions 200] [--predictions 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "ui"
SPEC = """version: 1
name: machines
data: {source: data.csv, target: Machine failure}
"""
PAGES = ["/", "/?offset=9950", "/runs/{run}", "/compare?a={run}&b={other}", "/models", "/predictions",
         "/predictions?offset=500000", "/predictions?version=7", "/predictions?predicted=True",
         "/predictions?score_min=0.9", "/predictions?labelled=true"]


def build(runs: int, versions: int, predictions: int) -> None:
    import shutil

    from modelfab.hooks.history import connect
    from modelfab.predlog.log import SCHEMA

    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / ".fab").mkdir(parents=True)
    (WORK / "fab.yaml").write_text(SPEC)
    rng = random.Random(0)
    now = time.time()
    stages = {s: {"seconds": 1.0, "cached": rng.random() < 0.5} for s in ("ingest", "validate", "split", "featurize",
                                                                        "train", "evaluate", "gate", "register")}
    spec = {"name": "machines", "train": {"type": "lightgbm", "n_estimators": 100}}
    with connect(WORK / ".fab", write=True) as conn:
        conn.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (f"{i:012x}", "machines", now - i * 60, 30.0, 1, "machines", None,
             json.dumps({"run_id": f"{i:012x}", "seconds": 30.0, "stages": stages,
                         "metrics": {"roc_auc": 0.9 + rng.random() / 20, "f1": 0.7 + rng.random() / 10}}),
             json.dumps({**spec, "train": {**spec["train"], "n_estimators": 100 + i % 7}})) for i in range(runs)])
    with sqlite3.connect(WORK / ".fab" / "predictions.db") as conn:
        conn.executescript(SCHEMA)
        for start in range(0, predictions, 100_000):
            rows = []
            for i in range(start, min(start + 100_000, predictions)):
                p = rng.random()
                rows.append((f"{i:016x}", now - i, "machines", 1 + i % 200,
                             json.dumps({"Type": "LMH"[i % 3], "Torque [Nm]": 40 + p * 10, "Speed [rpm]": 1500 + i % 300}),
                             json.dumps({"prediction": p > 0.8, "probabilities": {"False": 1 - p, "True": p}}), 1.0))
            conn.executemany("INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("INSERT INTO labels VALUES (?, ?, ?)", [(f"{i:016x}", "false", now) for i in range(0, predictions, 97)])
    register(versions)


def register(versions: int) -> None:
    import modelfab
    from modelfab.registry import client as registry

    project = modelfab.load_spec(WORK / "fab.yaml")
    c = registry.client(project.tracking_uri)
    c.create_registered_model("machines")
    for v in range(versions):
        mv = c.create_model_version("machines", f"file://{WORK}/nothing/{v}", run_id=None,
                                    tags={"modelfab.blessed": "true", "modelfab.reason": "roc_auc passes",
                                          "modelfab.metric.roc_auc": "0.95"})
        if v == versions - 1:
            c.set_registered_model_alias("machines", "champion", mv.version)


def measure() -> None:
    """Run in a fresh process: the pages' server times, then its peak memory, as JSON."""
    from fastapi.testclient import TestClient

    import modelfab
    from modelfab.ui.app import create_ui

    client = TestClient(create_ui(modelfab.load_spec(WORK / "fab.yaml"), "key"))
    run, other = f"{5:012x}", f"{9:012x}"
    out = {}
    for page in PAGES:
        url = page.format(run=run, other=other)
        assert client.get(url).status_code == 200, url
        times = []
        for _ in range(5):
            started = time.perf_counter()
            client.get(url)
            times.append(1000 * (time.perf_counter() - started))
        out[url] = statistics.median(times)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--predictions", type=int, default=1_000_000)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure()
    started = time.perf_counter()
    build(args.runs, args.versions, args.predictions)
    print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    done = subprocess.run([sys.executable, __file__, "--measure"], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    peak = result.pop("peak_mb")
    print(f"\n### modelfab ui: {args.runs:,} runs, {args.versions} versions, {args.predictions:,} predictions (SQLite)\n")
    print("| page | server ms (median of 5) | goal |")
    print("|---|---|---|")
    for url, ms in result.items():
        goal = "≤ 1000" if url == "/" else "≤ 200"
        print(f"| `{url}` | {ms:.0f} | {goal} |")
    print(f"\nserver peak memory: {peak:.0f} MB (goal ≤ 200)")


if __name__ == "__main__":
    main()
