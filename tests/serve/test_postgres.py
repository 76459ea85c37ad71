"""The prediction log on PostgreSQL (serve.log: postgresql://...), against a real server that
the test starts in a temporary folder and stops again."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import modelfab
from modelfab.monitor.run import monitor
from modelfab.predlog.log import PredictionLog
from modelfab.serve.app import create_app
from tests.conftest import BINARY_SPEC, machine_table, write_project
from tests.monitor.test_monitor import send


@pytest.fixture(scope="module")
def postgres_url():
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    base = Path(tempfile.mkdtemp(prefix="modelfab-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server")
        shutil.chown(base, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = base / "data"
    subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
                   check=True, capture_output=True)
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(base / "server.log"), "-w", "start", "-o",
                    f"-p {port} -k {base} -c listen_addresses='' -c fsync=off"], check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@/postgres?host={base}&port={port}"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_log_on_postgres(postgres_url):
    log = PredictionLog(postgres_url)
    log.add_predictions([("a", 1.0, "m", 1, {"x": 1.5}, {"prediction": 1}, 0.3),
                         ("b", 2.0, "m", 1, {"x": None}, {"prediction": 0}, 0.2)])
    log.add_labels([("a", 1)])
    log.add_labels([("a", 0)])  # a corrected label replaces the first
    assert log.known_ids(["a", "b", "zz"]) == {"a", "b"}
    assert log.count() == 2 and log.count("labels") == 1
    log.close()


def test_serve_and_monitor_on_postgres(postgres_url, tmp_path):
    spec = BINARY_SPEC + f"serve: {{watch_seconds: 0, log: '{postgres_url}'}}\n    monitor: {{min_rows: 50}}\n"
    project = modelfab.load_spec(write_project(tmp_path / "proj", machine_table(), spec))
    modelfab.run(project, hooks=[])
    with TestClient(create_app(project, "machines@champion")) as client:
        fresh = machine_table(n=300, seed=11)
        send(client, fresh, labels=fresh["Machine failure"])
    assert not (project.store_dir / "predictions.db").exists()  # nothing went to SQLite
    report = monitor(project, "machines@champion", tmp_path / "report")
    assert report["rows"] == 300 and report["performance"]["labelled_rows"] == 300
    assert report["columns"]["Torque [Nm]"]["kind"] == "numeric"
