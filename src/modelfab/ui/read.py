"""What the dashboard's pages ask of the project, and no more: a page of runs from the run
history, one run, the registry's versions with their gate verdicts and aliases, and a page of the
prediction log with its filters, each one indexed query."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelfab.errors import DataError
from modelfab.hooks.history import FILE, connect

COUNT_PAGES = 10  # the prediction log's pager counts at most this many pages past the one shown


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    total: int
    offset: int
    limit: int
    more: bool = False  # `total` is a lower bound: counting stopped there


def runs(store_dir: Path, offset: int, limit: int) -> Page:
    """Finished runs, newest first."""
    if not (store_dir / FILE).is_file():
        return Page([], 0, offset, limit)
    with closing(connect(store_dir)) as conn:
        total = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        found = conn.execute("SELECT run_id, name, finished, seconds, blessed, model, version, summary FROM runs "
                             "ORDER BY finished DESC LIMIT ? OFFSET ?", (limit, offset)).fetchall()
    keys = ("run_id", "name", "finished", "seconds", "blessed", "model", "version", "summary")
    rows = [dict(zip(keys, row, strict=True)) for row in found]
    for row in rows:
        row["summary"] = json.loads(row["summary"])
    return Page(rows, total, offset, limit)


def run(store_dir: Path, run_id: str) -> dict | None:
    """One run by its id (or the start of it), with its summary and spec."""
    if not (store_dir / FILE).is_file():
        return None
    with closing(connect(store_dir)) as conn:
        found = conn.execute("SELECT run_id, name, finished, summary, spec FROM runs WHERE run_id LIKE ? "
                             "ORDER BY finished DESC LIMIT 1", (_prefix(run_id),)).fetchone()
    if found is None:
        return None
    return {"run_id": found[0], "name": found[1], "finished": found[2], "summary": json.loads(found[3]),
            "spec": json.loads(found[4])}


def trend(store_dir: Path, metric: str, limit: int = 200) -> list[tuple[float, float]]:
    """(finished, value) of one metric over the latest runs, oldest first."""
    if not (store_dir / FILE).is_file():
        return []
    with closing(connect(store_dir)) as conn:
        found = conn.execute("SELECT finished, json_extract(summary, ?) FROM runs ORDER BY finished DESC LIMIT ?",
                             (f'$.metrics."{metric}"', limit)).fetchall()
    return [(t, float(v)) for t, v in reversed(found) if v is not None]


def _prefix(run_id: str) -> str:
    if not run_id.isalnum():
        raise DataError(f"run id {run_id!r}: expected letters and digits")
    return run_id + "%"


def versions(tracking_uri: str, name: str) -> list[dict]:
    """Every registered version of `name`: blessed, the gate's reason, its metrics and aliases."""
    from modelfab.registry import client as registry

    c = registry.client(tracking_uri)
    found = registry.versions(c, name, must_exist=False)
    aliases = registry.aliases(c, name) if found else {}
    history = json.loads(c.get_registered_model(name).tags.get(registry.HISTORY_TAG, "[]")) if found else []
    return [{"version": v.version, "blessed": v.blessed, "reason": v.tags.get("modelfab.reason", ""),
             "aliases": aliases.get((v.name, v.version), []), "run_id": v.run_id,
             "metrics": {k.removeprefix("modelfab.metric."): val for k, val in v.tags.items()
                         if k.startswith("modelfab.metric.")},
             "was_champion": v.version in history} for v in reversed(found)]


@dataclass(frozen=True)
class LogFilter:
    model: str
    version: int | None = None
    predicted: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    since: float | None = None
    until: float | None = None
    labelled: bool = False


def predictions(path: Path, f: LogFilter, offset: int, limit: int | None) -> Page:
    """Logged predictions, newest first, filtered in SQL (SQLite's JSON functions)."""
    if not Path(path).is_file():
        return Page([], 0, offset, limit or 0)
    where, params = ["p.model = ?"], [f.model]
    predicted = f.predicted.lower() if f.predicted and f.predicted.lower() in ("true", "false") else f.predicted
    for clause, value in (("p.version = ?", f.version), (_PREDICTED + " = ?", predicted),
                          ("p.time >= ?", f.since), ("p.time < ?", f.until), (_SCORE + " >= ?", f.score_min),
                          (_SCORE + " <= ?", f.score_max)):
        if value is not None:
            where.append(clause)
            params.append(value)
    if f.labelled:
        where.append("l.label IS NOT NULL")
    sql = " FROM predictions p LEFT JOIN labels l ON l.prediction_id = p.id WHERE " + " AND ".join(where)
    # Counting every match of a million rows costs more than the page: count up to ten pages on.
    cap = offset + (limit or 0) * COUNT_PAGES + 1 if limit else None
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as conn:
        counted = "SELECT COUNT(*) FROM (SELECT 1" + sql + (f" LIMIT {int(cap)})" if cap else ")")
        total = conn.execute(counted, params).fetchone()[0]
        page = f" ORDER BY p.time DESC LIMIT {int(limit)} OFFSET {int(offset)}" if limit else " ORDER BY p.time DESC"
        found = conn.execute("SELECT p.id, p.time, p.version, p.inputs, p.outputs, l.label" + sql + page, params)
        rows = [_logged(row) for row in found.fetchall()]
    return Page(rows, total, offset, limit or total, more=bool(cap and total >= cap))


# A row's prediction as text: JSON's true and false as those words, numbers and labels as written.
_PREDICTED = ("(CASE json_type(p.outputs, '$.prediction') WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
              "ELSE CAST(json_extract(p.outputs, '$.prediction') AS TEXT) END)")
# A row's score: the probability of its predicted class, or the predicted value.
_SCORE = ("COALESCE(json_extract(p.outputs, '$.probabilities.\"' || json_extract(p.outputs, '$.prediction') || '\"'), "
          "json_extract(p.outputs, '$.prediction'))")


def _logged(row: Any) -> dict:
    outputs = json.loads(row[4])
    probabilities = outputs.get("probabilities") or {}
    return {"id": row[0], "time": row[1], "version": row[2], "inputs": json.loads(row[3]),
            "prediction": outputs.get("prediction"),
            "score": probabilities.get(str(outputs.get("prediction"))), "label": row[5]}
