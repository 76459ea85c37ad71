"""The prediction log: every prediction the server acknowledges, in SQLite (WAL) by default or
PostgreSQL by URL (`serve.log: postgresql://user@host/db`).

Durability: flush before acknowledging, with group commit. A request queues its rows and takes
the log's lock; whoever holds it writes everything queued in one transaction, commits, and
releases every request whose rows it wrote. So a response is sent only for rows already
committed, and concurrent requests share one commit instead of paying one each.
SQLite in WAL mode with `synchronous=NORMAL` keeps every committed transaction when the server
process is killed (SIGKILL); only a power cut or an OS crash can take back the last commits
(`durable: full` in the code below trades throughput for that too). PostgreSQL commits are
durable as the server is configured (its default: to disk).

Tables: `predictions(id, time, model, version, inputs, outputs, latency_ms)` with inputs and
outputs as JSON, and `labels(prediction_id, label, time)` for ground truth that arrives later.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from modelfab.artifacts.integrity import sqlite_problem
from modelfab.errors import FabError

SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id TEXT PRIMARY KEY, time DOUBLE PRECISION NOT NULL, model TEXT NOT NULL, version INTEGER NOT NULL,
    inputs TEXT NOT NULL, outputs TEXT NOT NULL, latency_ms DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS predictions_time ON predictions(time);
CREATE INDEX IF NOT EXISTS predictions_model_time ON predictions(model, time);
CREATE TABLE IF NOT EXISTS labels (
    prediction_id TEXT PRIMARY KEY REFERENCES predictions(id), label TEXT NOT NULL, time DOUBLE PRECISION NOT NULL);
"""
MAX_BATCH = 5000  # rows in one transaction at most


def is_url(where: str | Path) -> bool:
    return str(where).startswith(("postgresql://", "postgres://"))


class LogError(FabError):
    pass


@dataclass
class _Job:
    sql: str
    rows: list[tuple]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class PredictionLog:
    def __init__(self, where: str | Path, durable: str = "normal") -> None:
        self.url = str(where) if is_url(where) else None
        self.path = None if self.url else Path(where)
        self.where = self.url or str(self.path)
        self.mark = "%s" if self.url else "?"  # the driver's placeholder
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if why := sqlite_problem(self.path):
                raise LogError(f"the prediction log {self.path} is damaged: {why}. Nothing was written to it; "
                               f"restore it from a backup or move it aside to start a new log")
        self._durable = durable
        conn = self._connect()
        for statement in filter(str.strip, SCHEMA.split(";")):
            conn.execute(statement)
        conn.close()
        # Group commit without a writer thread (flat combining): a request queues its rows and
        # takes the lock; whoever holds it commits all that is queued. One client pays no thread
        # hand-off; concurrent requests that queue while a commit runs share the next one.
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._conn = None
        self._closed = False

    def _connect(self):  # noqa: ANN202 - sqlite3 or psycopg connection, in autocommit mode
        if self.url:
            import psycopg

            try:
                return psycopg.connect(self.url, autocommit=True)
            except psycopg.Error as exc:
                raise LogError(f"serve.log: cannot connect to {self.url}: {exc}") from None
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if self._durable == 'full' else 'NORMAL'}")
        return conn

    # --- writing: called from request threads, returns once committed ---

    def add_predictions(self, rows: list[tuple[str, float, str, int, dict, dict, float]]) -> None:
        encoded = [(i, t, m, v, json.dumps(x, default=str), json.dumps(y, default=str), ms)
                   for i, t, m, v, x, y, ms in rows]
        self._submit(f"INSERT INTO predictions VALUES ({', '.join([self.mark] * 7)})", encoded)

    def add_labels(self, labels: list[tuple[str, object]]) -> None:
        now = time.time()
        rows = [(pid, json.dumps(label), now) for pid, label in labels]
        m = self.mark
        self._submit(f"INSERT INTO labels VALUES ({m}, {m}, {m}) ON CONFLICT (prediction_id) "
                     "DO UPDATE SET label = excluded.label, time = excluded.time", rows)

    def _submit(self, sql: str, rows: list[tuple]) -> None:
        if not rows:
            return
        job = _Job(sql, rows)
        self._jobs.put(job)
        while not job.done.is_set():
            with self._lock:  # whoever holds it commits everything queued, its own rows with the rest
                if not job.done.is_set():
                    self._commit_queued()
        if job.error is not None:
            raise LogError(f"prediction log {self.where}: could not write: {job.error}") from job.error

    def _commit_queued(self) -> None:
        """One transaction for the jobs queued so far (up to MAX_BATCH rows' jobs); a failed batch
        is retried job by job, so one bad job (a duplicate id) does not fail the others."""
        batch: list[_Job] = []
        while len(batch) < MAX_BATCH:
            try:
                batch.append(self._jobs.get_nowait())
            except queue.Empty:
                break
        try:
            if self._conn is None:
                if self._closed:
                    raise LogError("the log is closed")
                self._conn = self._connect()
            try:
                self._commit(self._conn, batch)
            except Exception:  # noqa: BLE001 - sqlite3 and psycopg errors alike
                for j in batch:
                    try:
                        self._commit(self._conn, [j])
                    except Exception as exc:  # noqa: BLE001
                        j.error = exc
        except LogError as exc:  # no connection: every job of the batch is refused
            for j in batch:
                j.error = exc
        for j in batch:
            j.done.set()

    @staticmethod
    def _commit(conn, batch: list[_Job]) -> None:  # noqa: ANN001
        conn.execute("BEGIN")
        try:
            for j in batch:
                cursor = conn.cursor()
                cursor.executemany(j.sql, j.rows)
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # --- reading: a connection per call, so readers never wait on the writer ---

    def known_ids(self, ids: list[str]) -> set[str]:
        with closing(self._connect()) as conn:
            found: set[str] = set()
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join([self.mark] * len(chunk))
                rows = conn.execute(f"SELECT id FROM predictions WHERE id IN ({marks})", chunk).fetchall()
                found |= {r[0] for r in rows}
            return found

    def count(self, table: str = "predictions") -> int:
        if table not in ("predictions", "labels"):
            raise ValueError(table)
        with closing(self._connect()) as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
