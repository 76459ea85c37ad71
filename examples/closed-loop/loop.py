"""The closed loop on real data (AI4I 2020), end to end:

1. train on the L-grade rows and early M-grade rows (the plant made nothing else), register
   version 1;
2. serve it (`modelfab serve`, a real HTTP server) and replay the later M rows and the H-grade
   rows (a grade it never saw) as production traffic, sending each batch's true labels back
   (POST /labels);
3. monitor: the product type drifted and accuracy on labelled rows fell;
4. retrain on the original data plus the labelled traffic, gate the challenger against the
   champion on the newest labelled rows, promote it; the server switches without a restart;
5. replay the rest of the traffic: accuracy recovered. A plot shows it.

    python examples/closed-loop/loop.py     # about 15 s on 2 cores

With fewer rows the newest 30% held out for the gate holds only a few failures, and the gate
(rightly) refuses a challenger it cannot judge; so the demonstration always uses all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

import modelfab
from modelfab.monitor.retrain import retrain
from modelfab.monitor.run import monitor
from modelfab.package.predictor import Predictor
from modelfab.registry import client as registry

HERE = Path(__file__).resolve().parent
AI4I = HERE.parent / "predictive-maintenance" / "data" / "ai4i2020.csv"
TARGET = "Machine failure"
INPUTS = ["Type", "Air temperature [K]", "Process temperature [K]", "Rotational speed [rpm]", "Torque [Nm]",
          "Tool wear [min]"]
BATCH = 100


def prepare() -> tuple[pd.DataFrame, pd.DataFrame]:
    """data/early.csv: the L-grade rows and the first half of the M-grade ones. Traffic: the
    other M rows and every H row (a grade the model never saw), in the order they were made."""
    rows = pd.read_csv(AI4I, encoding="utf-8-sig").sort_values("UDI")
    medium = rows[rows["Type"] == "M"]
    early_m = medium.iloc[: len(medium) // 2]
    early = rows[(rows["Type"] == "L") | rows["UDI"].isin(early_m["UDI"])]
    (HERE / "data").mkdir(exist_ok=True)
    tmp = HERE / "data" / ".early.csv.tmp"
    early.to_csv(tmp, index=False)
    tmp.replace(HERE / "data" / "early.csv")
    traffic = rows[~rows["UDI"].isin(early["UDI"])]
    cut = int(len(traffic) * 0.6)
    return traffic.iloc[:cut], traffic.iloc[cut:]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "modelfab.cli", "serve", "--model", "closed-loop@champion",
                               "--spec", str(HERE), "--port", str(port)], stderr=subprocess.PIPE)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1)
            return server
        except httpx.TransportError:
            if server.poll() is not None:
                raise SystemExit(server.stderr.read().decode()) from None
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def replay(http: httpx.Client, wave: pd.DataFrame) -> pd.DataFrame:
    """Send the rows as production traffic in batches; the true labels follow each batch."""
    answers = []
    for start in range(0, len(wave), BATCH):
        part = wave.iloc[start:start + BATCH]
        records = json.loads(part[INPUTS].to_json(orient="records"))
        reply = http.post("/predict/batch", json={"records": records})
        reply.raise_for_status()
        body = reply.json()
        ids = [p["prediction_id"] for p in body["predictions"]]
        labels = [{"prediction_id": i, "label": int(v)} for i, v in zip(ids, part[TARGET], strict=True)]
        http.post("/labels", json={"labels": labels}).raise_for_status()
        answers += [{"UDI": u, "version": body["version"], "predicted": p["prediction"], "true": int(t)}
                    for u, p, t in zip(part["UDI"], body["predictions"], part[TARGET], strict=True)]
    return pd.DataFrame(answers)


def wait_for_version(http: httpx.Client, version: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while http.get("/v2/models/closed-loop").json()["versions"] != [str(version)]:
        if time.monotonic() > deadline:
            raise SystemExit(f"the server did not switch to version {version}")
        time.sleep(0.2)


def plot(results: dict, second: pd.DataFrame, old_pred: np.ndarray, after: pd.DataFrame, path: Path) -> None:
    """F1 of each version on the same rows, and its false alarms and missed failures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truth = second[TARGET].to_numpy()
    new_pred = after["predicted"].to_numpy()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    names = ["v1 on wave 1\n(served)", "v1 on wave 2\n(had it stayed)", f"v{results['retrain']['version']} on wave 2\n(served)"]
    values = [results["f1_served_before"], results["f1_version1_on_second"], results["f1_served_after"]]
    left.bar(names, values, color=["#90a4ae", "#ef9a9a", "#66bb6a"])
    for i, v in enumerate(values):
        left.text(i, v + 0.02, f"{v:.2f}", ha="center")
    left.set_ylim(0, 1)
    left.set_ylabel("F1 of Machine failure")
    left.set_title("F1 on production traffic")
    counts = {"false alarms": [int(((old_pred == 1) & (truth == 0)).sum()), int(((new_pred == 1) & (truth == 0)).sum())],
              "missed failures": [int(((old_pred == 0) & (truth == 1)).sum()), int(((new_pred == 0) & (truth == 1)).sum())]}
    x = np.arange(2)
    right.bar(x - 0.2, counts["false alarms"], 0.4, label="false alarms", color="#ffb74d")
    right.bar(x + 0.2, counts["missed failures"], 0.4, label="missed failures", color="#e57373")
    right.set_xticks(x, ["version 1", f"version {results['retrain']['version']}"])
    right.set_title(f"wave 2: {len(second)} rows, {int(truth.sum())} failures")
    right.legend()
    fig.suptitle("AI4I closed loop: L/M-grade model meets H-grade production, is retrained, gated and promoted")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    shutil.rmtree(HERE / ".fab", ignore_errors=True)  # every demonstration starts from an empty store
    first, second = prepare()
    project = modelfab.load_spec(HERE)
    print("1. train on L-grade and early M-grade products")
    run = modelfab.run(project, hooks=[])
    print(f"   version 1 registered; F1 on held-out L rows {run.load('blessing').data['candidate']['f1']:.3f}")

    port = free_port()
    server = start_server(port)
    results: dict = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            print(f"2. serve version 1 and replay {len(first)} rows of later M and new H products, labels following")
            before = replay(http, first)
            results["f1_served_before"] = f1_score(before["true"], before["predicted"])

            print("3. monitor (modelfab monitor)")
            report = monitor(project, "closed-loop@champion", HERE / ".fab" / "monitor" / "before", last=len(first))
            results["status_before"] = report["status"]
            for line in report["reasons"] + report["warnings"]:
                print(f"   - {line}")

            print("4. retrain on the original data plus the labelled traffic (modelfab retrain)")
            outcome = retrain(project, hooks=[])
            results["retrain"] = {k: outcome[k] for k in ("blessed", "registered", "version", "reason")}
            print(f"   {'promoted version ' + str(outcome['version']) if outcome['registered'] else 'kept'}: "
                  f"{outcome['reason']}")
            if outcome["registered"]:
                wait_for_version(http, outcome["version"])

            print(f"5. replay the remaining {len(second)} rows")
            after = replay(http, second)
    finally:
        server.terminate()
        server.wait(timeout=30)

    c = registry.client(project.tracking_uri)
    old = Predictor(registry.find(c, "closed-loop", version=1).package)
    old_on_second = old.predict_frame(second[INPUTS])["prediction"].to_numpy()
    results |= {
        "served_versions_after": sorted(after["version"].unique().tolist()),
        "f1_version1_on_second": f1_score(second[TARGET], old_on_second),
        "f1_served_after": f1_score(after["true"], after["predicted"]),
        "status_after": monitor(project, "closed-loop@champion", HERE / ".fab" / "monitor" / "after",
                                last=len(second))["status"],
    }
    print(f"\n   F1 on the second wave: version 1 would score {results['f1_version1_on_second']:.3f}, "
          f"the served version {results['served_versions_after']} scored {results['f1_served_after']:.3f}")
    plots = HERE / "plots"
    plot(results, second, old_on_second, after, plots / "loop.png")
    shutil.copy(HERE / ".fab" / "monitor" / "before" / "plots" / "columns.png", plots / "monitor-before.png")
    (HERE / ".fab" / "results.json").write_text(json.dumps(results, indent=2, default=float))
    print(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    np.seterr(all="ignore")
    main()
