"""The deep-learning examples end to end: each one's metric, stage times and peak memory.

    python benchmarks/bench_deep.py [--only digits,steel-defects,...]

Each example is copied beside the others (examples/.bench-<name>, so its ../shared paths still
resolve), its `prepare.py` writes the data, and `modelfab run <spec>` runs in a child process
with a fresh store, which reports its own peak RSS. For classification the majority-class
baseline is scored on the same test rows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
RUNS = [  # (example, spec file, metric)
    ("steel-defects", "fab.yaml", "accuracy"),
    ("steel-defects", "fab.frozen.yaml", "accuracy"),
    ("digits", "fab.yaml", "accuracy"),
    ("work-orders", "fab.tfidf.yaml", "f1_macro"),
    ("work-orders", "fab.lstm.yaml", "f1_macro"),
    ("work-orders", "fab.embedding.yaml", "f1_macro"),
    ("work-orders", "fab.yaml", "f1_macro"),
    ("turbofan-rul", "fab.lstm.yaml", "rmse"),
    ("turbofan-rul", "fab.transformer.yaml", "rmse"),
    ("turbofan-rul", "fab.cnn.yaml", "rmse"),
]
CHILD = r'''
import json, resource, sys, time
import numpy as np
import modelfab
from modelfab.artifacts import read_json
from modelfab.features.featurize import encode_target
started = time.perf_counter()
run = modelfab.run(modelfab.load_spec(sys.argv[1]), hooks=[])
seconds = time.perf_counter() - started
evaluation = read_json(run.store.path(run.refs["evaluation"]) / "metrics.json")
out = {"seconds": seconds, "stages": {r.name: r.seconds for r in run.records}, "metrics": evaluation["metrics"],
       "per_class": {c: v["f1"] for c, v in evaluation.get("per_class", {}).items()},
       "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}
report = run.load("report").data
if report["task"] != "regression":
    from sklearn.metrics import accuracy_score, f1_score
    splits = run.load("splits")
    train_y = encode_target(splits.train[report["target"]], report)
    test_y = encode_target(splits.test[report["target"]], report)
    majority = np.full(len(test_y), np.bincount(train_y).argmax())
    out["majority"] = {"accuracy": accuracy_score(test_y, majority), "f1_macro": f1_score(test_y, majority, average="macro")}
print(json.dumps(out))
'''


def run_one(example: str, spec: str) -> dict:
    folder = EXAMPLES / f".bench-{example}"
    new = not folder.exists()
    # The specs are copied afresh every time (a copy kept from an earlier run would measure an
    # old spec); prepared data is kept, as preparing it is slow.
    shutil.copytree(EXAMPLES / example, folder, ignore=shutil.ignore_patterns(".fab", "data"), dirs_exist_ok=True)
    if new and (folder / "prepare.py").is_file():
        subprocess.run([sys.executable, str(folder / "prepare.py")], check=True, capture_output=True)
    shutil.rmtree(folder / ".fab", ignore_errors=True)
    done = subprocess.run([sys.executable, "-c", CHILD, str(folder / spec)], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{example}/{spec} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="", help="comma-separated example names")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    rows = []
    for example, spec, metric in RUNS:
        if only and example not in only:
            continue
        result = run_one(example, spec)
        rows.append((example, spec, metric, result))
        print(f"{example}/{spec}: {metric} {result['metrics'][metric]:.4f} in {result['seconds']:.0f} s", file=sys.stderr)
    print("| example | spec | metric | value | majority baseline | featurize s | train s | whole run s | peak RSS GB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for example, spec, metric, r in rows:
        base = r.get("majority", {}).get(metric)
        print(f"| {example} | {spec} | {metric} | {r['metrics'][metric]:.4f} | {'' if base is None else f'{base:.4f}'} | "
              f"{r['stages'].get('featurize', 0):.1f} | {r['stages'].get('train', 0):.1f} | {r['seconds']:.0f} | "
              f"{r['peak_rss_gb']:.2f} |")
    per_class = [(f"{e}/{s}", r["per_class"]) for e, s, _, r in rows if e == "work-orders"]
    if per_class:
        classes = list(per_class[0][1])
        print("\nPer-class F1 (work orders):\n")
        print("| class | " + " | ".join(name for name, _ in per_class) + " |")
        print("|---|" + "---|" * len(per_class))
        for c in classes:
            print(f"| {c} | " + " | ".join(f"{pc.get(c, 0):.3f}" for _, pc in per_class) + " |")


if __name__ == "__main__":
    main()
