"""MLflow's SQLite file: WAL and synchronous=NORMAL on modelfab's store, nothing else touched."""

import sqlite3
import threading

import sqlalchemy

from modelfab.registry.client import client


def test_the_tracking_database_is_in_wal_mode_and_other_databases_are_not(tmp_path):
    ours = tmp_path / "mlflow.db"
    c = client(f"sqlite:///{ours}")
    c.search_experiments()
    assert sqlite3.connect(ours).execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    other = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with other.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.exec_driver_sql("PRAGMA synchronous").fetchone()[0] == 2  # FULL, SQLite's default


def test_a_reader_does_not_block_the_registry_while_a_run_writes(tmp_path):
    """A server reading the registry holds a read transaction; MLflow's writes still commit."""
    path = tmp_path / "mlflow.db"
    c = client(f"sqlite:///{path}")
    experiment = c.create_experiment("e")
    reader = sqlite3.connect(path, timeout=0.1, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM runs").fetchone()  # a read transaction stays open
    errors = []

    def write():
        try:
            run = c.create_run(experiment)
            c.set_terminated(run.info.run_id)
        except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(30)
    reader.rollback()
    assert not errors and not thread.is_alive()
    assert len(c.search_runs([experiment])) == 1
