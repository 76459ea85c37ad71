"""The prediction log's reader: what `monitor`, `retrain` and the dashboard ask of it.

Reads a window of one model's logged predictions as a table, one column per input (SQLite's
json_extract pulls them out in C, so a million rows take seconds; PostgreSQL's jsonb operators
do the same there), with the prediction, the class probabilities and any label that arrived.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pandas as pd

from modelfab.artifacts.integrity import sqlite_problem
from modelfab.errors import DataError
from modelfab.predlog.log import is_url


def log_path(project) -> Path | str:  # noqa: ANN001 - a spec.load.Project
    """The prediction log: a SQLite file, or a PostgreSQL URL as written in serve.log."""
    cfg = project.spec.serve
    if cfg.log and is_url(cfg.log):
        return cfg.log
    return project.path(cfg.log) if cfg.log else project.store_dir / "predictions.db"


def read_log(path: Path | str, model: str, meta: dict, window: tuple[int | None, float | None]) -> pd.DataFrame:
    """The logged rows of `model`, newest first within the window, one column per input."""
    last, hours = window
    inputs, classes = meta["inputs"], [str(c) for c in meta["classes"]]
    url = str(path) if is_url(path) else None
    if url is None and not Path(path).is_file():
        raise DataError(f"no prediction log at {path}; `modelfab serve` writes it (serve.log sets where)")
    if url is None and (why := sqlite_problem(Path(path))):
        raise DataError(f"the prediction log {path} is damaged: {why}; restore it from a backup or move it aside")
    numeric = {c for c in inputs if meta["schema"]["columns"][c]["kind"] == "numeric"}
    params: list = []
    if url:  # PostgreSQL: keys are bound parameters, so any column name is safe
        def field(doc: str, key: str | None, cast: bool = False) -> str:
            params.append(key)
            return f"(({doc})::jsonb ->> %s){'::double precision' if cast else ''}"

        picks = [f"{field('p.inputs', c, c in numeric)} AS i{i}" for i, c in enumerate(inputs)]
        picks += [f"(p.outputs::jsonb -> 'probabilities' ->> %s)::double precision AS p{j}" for j, _ in enumerate(classes)]
        params += classes
        head = ("SELECT p.id, p.time, p.version, p.outputs::jsonb ->> 'prediction' AS prediction, "
                "l.label::jsonb #>> '{}' AS label, ")
        mark = "%s"
    else:
        picks = [f"json_extract(p.inputs, '$.{_json_key(c)}') AS i{i}" for i, c in enumerate(inputs)]
        picks += [f"json_extract(p.outputs, '$.probabilities.{_json_key(c)}') AS p{j}" for j, c in enumerate(classes)]
        head = ("SELECT p.id, p.time, p.version, json_extract(p.outputs, '$.prediction') AS prediction, "
                "json_extract(l.label, '$') AS label, ")
        mark = "?"
    sql = (f"{head}{', '.join(picks)} FROM predictions p LEFT JOIN labels l ON l.prediction_id = p.id "
           f"WHERE p.model = {mark}")
    params.append(model)
    if hours:
        sql += f" AND p.time >= {mark}"
        params.append(time.time() - hours * 3600)
    sql += " ORDER BY p.time DESC"
    if last:
        sql += f" LIMIT {mark}"
        params.append(int(last))
    frame = _query(url, path, sql, params)
    names = {f"i{i}": c for i, c in enumerate(inputs)} | {f"p{j}": f"proba_{c}" for j, c in enumerate(classes)}
    return frame.rename(columns=names)


def _query(url: str | None, path: Path | str, sql: str, params: list) -> pd.DataFrame:
    if url:
        import psycopg

        with psycopg.connect(url) as conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            names = [d.name for d in cursor.description]
            return pd.DataFrame(cursor.fetchall(), columns=names)
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as conn:
        return pd.read_sql_query(sql, conn, params=params)


def _json_key(name: str) -> str:
    if '"' in name:
        raise DataError(f"column {name!r} has a double quote, which the log reader cannot address; rename it")
    return f'"{name}"'
