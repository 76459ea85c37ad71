"""Monitoring benchmark: a 1,000,000-row prediction log against a 100,000-row training reference.

    python benchmarks/bench_monitor.py [rows]

Trains the sensor-style model on 150,000 generated rows (so the package's reference sample is
the full 100,000 rows), fills the prediction log with `rows` logged predictions (a tenth of them
drifted, 5% labelled) through PredictionLog itself, then times `modelfab monitor` in a child
process and reads its peak memory.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"
SPEC = """\
version: 1
name: sensors
task: binary
data: {source: sensors.csv, target: fault, drop: [machine]}
split: {method: random}
train: {type: lightgbm, n_estimators: 50}
evaluate: {importance_repeats: 0, plots: false}
gate: {rules: [{metric: roc_auc, min: 0.5}]}
"""
CHILD = r'''
import json, resource, sys, time
from pathlib import Path
import modelfab
from modelfab.monitor.run import monitor
project = modelfab.load_spec(sys.argv[1])
started = time.perf_counter()
report = monitor(project, "sensors@champion", Path(sys.argv[1]) / "report")
print(json.dumps({"seconds": time.perf_counter() - started, "status": report["status"], "rows": report["rows"],
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def sensor_frame(n: int, seed: int, shift: float = 0.0):  # noqa: ANN201
    import pandas as pd

    rng = np.random.default_rng(seed)
    data = {"machine": rng.integers(0, 100, n), "line": rng.choice(["A", "B", "C"], n)}
    for i in range(8):
        data[f"s{i}"] = rng.normal(50 + (shift if i == 0 else 0), 10, n).round(3)
    frame = pd.DataFrame(data)
    frame["fault"] = ((frame["s0"] > 70) | (rng.random(n) < 0.01)).astype(int)
    return frame


def main(rows: int = 1_000_000) -> None:
    import modelfab
    from modelfab.predlog.log import PredictionLog

    WORK.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=WORK))
    try:
        sensor_frame(150_000, 0).to_csv(folder / "sensors.csv", index=False)
        (folder / "fab.yaml").write_text(SPEC)
        modelfab.run(modelfab.load_spec(folder), hooks=[])
        log = PredictionLog(folder / ".fab" / "predictions.db")
        started = time.perf_counter()
        chunk = 100_000
        for start in range(0, rows, chunk):
            frame = sensor_frame(chunk, start + 1, shift=5.0 if start >= rows * 0.9 else 0.0)
            records = json.loads(frame.drop(columns=["machine", "fault"]).to_json(orient="records"))
            now = time.time()
            p = np.clip(frame["s0"].to_numpy() / 100, 0, 1)
            batch = [(uuid.uuid4().hex, now, "sensors", 1, r, {"prediction": int(q > 0.5),
                      "probabilities": {"0": 1 - q, "1": q}}, 1.0) for r, q in zip(records, p.tolist(), strict=True)]
            log.add_predictions(batch)
            log.add_labels([(b[0], int(f)) for b, f in zip(batch[::20], frame["fault"].to_numpy()[::20], strict=False)])
        log.close()
        fill = time.perf_counter() - started
        done = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(done.stderr[-3000:])
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print("\n### Monitoring a prediction log\n")
        print("| logged rows | reference rows | log fill s | monitor s | peak RSS MB | status |")
        print("|---|---|---|---|---|---|")
        print(f"| {result['rows']:,} | 100,000 | {fill:.0f} | {result['seconds']:.1f} | {result['peak_mb']:.0f} "
              f"| {result['status']} |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
