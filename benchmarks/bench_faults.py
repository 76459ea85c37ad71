"""Integrity (issue #18): the fault matrix and what the checks cost; prints tables recorded in
docs/benchmarks.md.

    python benchmarks/bench_faults.py            # everything (about 4 minutes on 2 cores)
    python benchmarks/bench_faults.py faults     # or one part: faults, cost, probe

`faults` injects every fault of the fault suite (tests/faults) and counts, per kind: detected
(an error or notice naming the damaged thing), crashes (a traceback, a signal, an unexpected
exit), silent wrong results (a run that ends with other metrics and says nothing), and whether
one more run repaired it. `cost` times an unchanged re-run with the checks and without them
(in process, medians), and the CLI against the code before the checks (git worktree of
b89a935). `probe` times loading a package in a child process.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the fault suite's own injections, so both inject the same faults

from bench_tables import table  # noqa: E402
from tests.conftest import BINARY_SPEC, machine_table, write_project  # noqa: E402
from tests.faults.test_kill import KILLER, POINTS  # noqa: E402
from tests.faults.test_store_faults import FAULTS, OUTPUTS, first_reader, inject  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import modelfab  # noqa: E402
from modelfab.artifacts import integrity  # noqa: E402
from modelfab.artifacts.store import ArtifactStore  # noqa: E402
from modelfab.cli import app  # noqa: E402

BEFORE_CHECKS = "b89a935"


def cli(*args: str):  # noqa: ANN201
    return CliRunner().invoke(app, [str(a) for a in args])


def summary(result) -> dict | None:  # noqa: ANN001
    lines = result.stdout.strip().splitlines()
    return json.loads(lines[-1]) if result.exit_code == 0 and lines and lines[-1].startswith("{") else None


def crashed(result) -> bool:  # noqa: ANN001
    return "Traceback" in result.output or result.exit_code not in (0, 1, 2, 3, 4)


def project(folder: Path) -> tuple[Path, dict]:
    path = write_project(folder, machine_table(400), BINARY_SPEC)
    return path, summary(cli("run", path, "--json"))


def bench_faults() -> None:
    rows = []
    base = Path(tempfile.mkdtemp())
    path, expected = project(base / "store")
    counts = {f: [0, 0, 0, 0, 0] for f in FAULTS}  # cases, detected, crashes, silent, repaired
    for name in OUTPUTS:
        for fault in FAULTS:
            ref = modelfab.run(modelfab.load_spec(path), hooks=[]).refs[name]
            integrity._HASHED.clear()  # as a new process: what it hashed is hashed again
            inject(ArtifactStore(path.parent / ".fab").path(ref), fault)
            reader = first_reader(name) if fault == "flip_keep_mtime" else None
            first = cli("run", path, "--json", *(["--from", reader] if reader else []))
            c = counts[fault]
            c[0] += 1
            detected = "damaged" in first.output and str(ref) in first.output
            c[1] += detected
            c[2] += crashed(first)
            done = summary(first)
            c[3] += bool(done and not detected and done["metrics"] != expected["metrics"])
            again = summary(cli("run", path, "--json")) if first.exit_code else done
            c[4] += bool(again and again["metrics"] == expected["metrics"])
    rows += [[f"store: {fault}, in each of {len(OUTPUTS)} artifacts", *c] for fault, c in counts.items()]
    rows.append(kills(base))
    rows += databases(base)
    rows += registered(base)
    table("Fault matrix: each fault injected, then one `modelfab run` (and one more where the first stopped)",
          ["fault", "cases", "detected", "crashes", "silent wrong", "repaired by one more run"], rows)


def kills(base: Path) -> list:
    cases = detected = crashes = repaired = 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for point in POINTS:
        path = write_project(base / f"kill-{point.replace(':', '-')}", machine_table(400), BINARY_SPEC)
        done = subprocess.run([sys.executable, "-c", KILLER, str(path), point], env=env, capture_output=True, timeout=300)
        cases += 1
        detected += done.returncode == -signal.SIGKILL  # the kill happened where it was meant to
        after = cli("run", path, "--json")
        crashes += crashed(after)
        result = summary(after)
        repaired += bool(result and result["blessed"] and result["model_version"] == 1)
    return [f"kill -9 in each stage and inside register ({len(POINTS)} points)", cases, f"{detected} (killed)",
            crashes, 0, repaired]


def databases(base: Path) -> list:
    rows = []
    for how in ("garbage", "truncated"):
        path, _ = project(base / f"db-{how}")
        db = path.parent / ".fab" / "mlflow.db"
        data = db.read_bytes()
        db.write_bytes(os.urandom(8192) if how == "garbage" else data[: len(data) // 2])
        started = time.perf_counter()
        result = cli("run", path)
        seconds = time.perf_counter() - started
        said = "registry database" in result.output and "damaged" in result.output
        db.unlink()
        again = summary(cli("run", path, "--json"))
        rows.append([f"registry database {how} (named in {seconds:.2f} s)", 1, int(said), int(crashed(result)), 0,
                     int(bool(again and again["model_version"] == 1))])
    return rows


def registered(base: Path) -> list:
    """A registered version damaged three ways, then `predict` on the champion: refused by
    name (the digest, or the probe); repaired by promoting another version (not a re-run)."""
    from tests.faults.test_probe import registered_broken

    from modelfab.registry import client as registry

    rows = []
    for how in ("model file truncated", "threshold edited in package.json", "broken but its digest recorded"):
        path, _ = project(base / f"registered-{len(rows)}")
        c = registry.client(modelfab.load_spec(path).tracking_uri)
        package = registry.find(c, "machines", version=1).package
        if how.startswith("model"):
            model = package / "model" / "model.txt"
            model.write_bytes(model.read_bytes()[:200])
        elif how.startswith("threshold"):
            meta = package / "package.json"
            meta.write_text(json.dumps(json.loads(meta.read_text()) | {"threshold": 0.0001}))
        else:
            registered_broken(c, 1)
        integrity._HASHED.clear()
        registry._VERIFIED.clear()
        rows_file = path.parent / "rows.csv"
        machine_table(20, seed=4).drop(columns=["Machine failure"]).to_csv(rows_file, index=False)
        result = cli("predict", rows_file, "-m", "machines@champion", "-o", path.parent / "out.csv", "--spec", path)
        said = result.exit_code != 0 and "machines version 1" in result.output
        rows.append([f"registered version: {how}", 1, int(said), int(crashed(result)),
                     int(result.exit_code == 0), "n/a: promote or roll back"])
    return rows


def rerun_in_process(path: Path, checks: bool, repeats: int) -> float:
    from modelfab.artifacts import store as store_module

    real = store_module.ArtifactStore.check
    if not checks:
        store_module.ArtifactStore.check = lambda self, ref, deep=False: None
    try:
        times = []
        for _ in range(repeats):
            integrity._HASHED.clear()
            started = time.perf_counter()
            modelfab.run(modelfab.load_spec(path), hooks=[])
            times.append(time.perf_counter() - started)
        return statistics.median(times)
    finally:
        store_module.ArtifactStore.check = real


def cli_wall(path: Path, pythonpath: str | None, repeats: int) -> float:
    env = {**os.environ, **({"PYTHONPATH": pythonpath} if pythonpath else {})}
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "modelfab.cli", "run", str(path), "--json"], env=env,
                       capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_cost(repeats: int = 15) -> None:
    base = Path(tempfile.mkdtemp())
    path, _ = project(base / "cost")
    with_checks, without = rerun_in_process(path, True, repeats), rerun_in_process(path, False, repeats)
    old_tree = base / "before"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old_tree), BEFORE_CHECKS], check=True)
    try:
        old_path, _ = project(base / "cost-old")  # a store the old code made, re-run by the old code
        subprocess.run([sys.executable, "-m", "modelfab.cli", "run", str(old_path)], check=True, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(old_tree / "src")})
        old = cli_wall(old_path, str(old_tree / "src"), 7)
        new = cli_wall(path, None, 7)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old_tree)], check=False)
    table("An unchanged re-run (all 11 stages cached) with and without the checks, medians", ["what", "s", "ratio"], [
        [f"in process, checks off (median of {repeats})", f"{without:.4f}", "1.00"],
        [f"in process, checks on: manifests read, names and sizes (median of {repeats})", f"{with_checks:.4f}",
         f"{with_checks / without:.2f}"],
        [f"`modelfab run`, code before the checks ({BEFORE_CHECKS}, median of 7)", f"{old:.3f}", "1.00"],
        ["`modelfab run`, this code (median of 7)", f"{new:.3f}", f"{new / old:.2f}"],
    ])


def bench_probe(repeats: int = 3) -> None:
    import shutil

    from modelfab.package.probe import probe
    from modelfab.registry import client as registry

    base = Path(tempfile.mkdtemp())
    path, _ = project(base / "probe")
    spec = modelfab.load_spec(path)
    package = registry.find(registry.client(spec.tracking_uri), "machines", version=1).package
    from modelfab.package.predictor import Predictor

    loads, probes, remembered = [], [], []
    for i in range(repeats):
        copy = base / f"copy-{i}"
        shutil.copytree(package, copy)
        started = time.perf_counter()
        Predictor(copy).warm()
        loads.append(time.perf_counter() - started)
        started = time.perf_counter()
        probe(copy, "bench", memo_dir=base)
        probes.append(time.perf_counter() - started)
        started = time.perf_counter()
        probe(copy, "bench", memo_dir=base)
        remembered.append(time.perf_counter() - started)
    load = statistics.median(loads)
    table(f"Loading a package in process against probing it in a child process (median of {repeats})",
          ["what", "s", "ratio to loading"], [
              ["load in this process (transform, model, record path)", f"{load:.3f}", "1.00"],
              ["probe: a child loads it and scores 64 reference rows", f"{statistics.median(probes):.3f}",
               f"{statistics.median(probes) / load:.1f}"],
              ["probe of a version probed before (the store's memo)", f"{statistics.median(remembered):.4f}",
               f"{statistics.median(remembered) / load:.2f}"],
          ])


PARTS = {"faults": bench_faults, "cost": bench_cost, "probe": bench_probe}

if __name__ == "__main__":
    for part in sys.argv[1:] or list(PARTS):
        PARTS[part]()
