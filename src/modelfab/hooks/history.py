"""The run history: one row a finished run in `<store>/runs.db` (SQLite, WAL), cached runs
included: its summary (metrics, stage seconds and cache hits, gate, the version registered, the
report) and its spec. `modelfab run --json` prints the same summary; the dashboard pages it.

MLflow records only runs that computed something, and searching its runs is slow at plant scale
(mlflow issue 2730); this table answers a page of runs with one indexed query."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from modelfab.artifacts import read_json
from modelfab.pipeline.run import Hook

FILE = "runs.db"
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, name TEXT NOT NULL, finished REAL NOT NULL, seconds REAL NOT NULL,
    blessed INTEGER, model TEXT, version INTEGER, summary TEXT NOT NULL, spec TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (finished DESC);
CREATE INDEX IF NOT EXISTS runs_by_model ON runs (model, version);
"""


def connect(store_dir: Path, write: bool = False) -> sqlite3.Connection:
    path = store_dir / FILE
    if not write:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")  # readers (the dashboard) never block the writer
    conn.executescript(SCHEMA)
    return conn


class HistoryHook(Hook):
    def after_pipeline(self, run) -> None:  # noqa: ANN001
        summary = summarize(run, time.perf_counter() - run.started)
        spec = run.project.spec.model_dump(mode="json", by_alias=True)
        record(run.project.store_dir, run.project.spec.name, summary, spec)


def record(store_dir: Path, name: str, summary: dict, spec: dict, finished: float | None = None) -> None:
    row = (summary["run_id"], name, finished or time.time(), summary["seconds"],
           None if summary.get("blessed") is None else int(bool(summary["blessed"])), summary.get("model"),
           summary.get("model_version") if summary.get("registered") else None,
           json.dumps(summary, default=str), json.dumps(spec, default=str))
    with closing(connect(store_dir, write=True)) as conn, conn:
        conn.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)


def summarize(run, seconds: float) -> dict:  # noqa: ANN001
    evaluation = run.refs.get("evaluation")
    metrics, validation, screening = {}, None, None
    if evaluation:
        result = read_json(run.get(evaluation).path / "metrics.json")
        metrics, validation = result["metrics"], result.get("validation")
        screening = result.get("importance_screening")
    report = run.load("report").data if "report" in run.refs else {}
    explained = explanation_summary(run)
    blessing = run.load("blessing").data if "blessing" in run.refs else {}
    registration = run.load("registration").data if "registration" in run.refs else {}
    earlier = any(r.name == "register" and r.cached for r in run.records)
    if earlier:  # an earlier run's registration: this run registered nothing
        registration = {**registration, "registered": False}
    return {
        "run_id": run.run_id,
        "mlflow_run_id": run.tracking_run_id,
        "seconds": round(seconds, 3),
        "stages": {r.name: {"seconds": round(r.seconds, 3), "cached": r.cached} for r in run.records},
        "metrics": metrics,
        **({"validation": validation} if validation else {}),
        "blessed": blessing.get("blessed"),
        "gate": blessing.get("reason"),
        "model": registration.get("name"),
        "model_version": registration.get("version"),
        "registered": registration.get("registered"),
        "registration_cached": earlier,
        # columns left out or repaired, and damaged objects rebuilt: what was done and why
        "warnings": report.get("warnings", []) + run.store.notices,
        "positive": report.get("positive"),
        **({"explanation": explained} if explained else {}),
        **({"report": str(run.get(run.refs["run_report"]).path / "report.html")} if "run_report" in run.refs else {}),
        **({"importance_screening": screening} if screening else {}),
    }


def explanation_summary(run) -> dict | None:  # noqa: ANN001
    """How the model was explained and the columns that move it most, or why it was not."""
    if "explanation" not in run.refs:
        return None
    folder = run.get(run.refs["explanation"]).path
    done = read_json(folder / "explanation.json")
    if "skipped" in done:
        return {"skipped": done["skipped"]}
    top = sorted(done["global"]["inputs"].items(), key=lambda kv: -kv[1])[:3]
    return {"method": done["method"], "top": [name for name, _ in top], "path": str(folder)}
