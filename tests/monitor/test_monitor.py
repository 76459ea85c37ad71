"""Monitoring real traffic: predictions go through the server into the log, then the monitor
compares them with the training reference."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import modelfab
from modelfab.cli import app as cli_app
from modelfab.errors import DataError
from modelfab.monitor.run import monitor
from modelfab.serve.app import create_app
from tests.conftest import BINARY_SPEC, machine_table, write_project

SPEC = BINARY_SPEC + "serve: {watch_seconds: 0}\n    monitor: {min_rows: 50}\n"
INPUTS = ["Type", "Torque [Nm]", "Speed [rpm]", "Tool wear [min]"]


@pytest.fixture
def served(tmp_path):
    path = write_project(tmp_path / "proj", machine_table(), SPEC)
    project = modelfab.load_spec(path)
    modelfab.run(project, hooks=[])
    with TestClient(create_app(project, "machines@champion", api_key="k")) as client:
        yield project, client


def send(client, frame, labels=None):
    records = json.loads(frame[INPUTS].to_json(orient="records"))
    ids = []
    for start in range(0, len(records), 500):
        answer = client.post("/predict/batch", json={"records": records[start:start + 500]})
        assert answer.status_code == 200, answer.text
        ids += [p["prediction_id"] for p in answer.json()["predictions"]]
    if labels is not None:
        body = {"labels": [{"prediction_id": i, "label": int(v)} for i, v in zip(ids, labels, strict=True)]}
        assert client.post("/labels", json=body).status_code == 200
    return ids


def test_same_distribution_is_not_drift(served, tmp_path):
    project, client = served
    fresh = machine_table(n=400, seed=7)
    send(client, fresh, labels=fresh["Machine failure"])
    report = monitor(project, "machines@champion", tmp_path / "report")
    assert report["status"] in ("ok", "warn"), report["reasons"]
    assert not report["predictions"]["drifted"]
    assert report["performance"]["labelled_rows"] == 400 and report["performance"]["current"] > 0.5
    assert (tmp_path / "report" / "report.html").read_text().count("<img") == 2
    assert json.loads((tmp_path / "report" / "report.json").read_text())["status"] == report["status"]


def test_shifted_line_is_drift_and_names_the_column(served, tmp_path):
    project, client = served
    shifted = machine_table(n=1500, seed=8)
    shifted["Torque [Nm]"] = shifted["Torque [Nm]"] + 15  # a new tool: every reading 15 Nm higher
    shifted["Type"] = np.where(np.arange(1500) % 10 == 0, "X", shifted["Type"])  # and a product never seen
    send(client, shifted)
    report = monitor(project, "machines@champion", tmp_path / "report")
    assert report["status"] == "drift"
    torque = report["columns"]["Torque [Nm]"]
    assert torque["drifted"] and torque["method"] == "wasserstein"  # 1,500 rows: judged by effect size
    scores = {name: r["score"] for name, r in report["columns"].items() if r["kind"] == "numeric"}
    assert max(scores, key=scores.get) == "Torque [Nm]"
    assert any("Torque [Nm]" in line and "drift" in line for line in report["reasons"] + report["warnings"])
    assert report["predictions"]["drifted"]
    assert any("never seen" in w and "X" in w for w in report["warnings"])
    assert 'modelfab_drift_status{model="machines",version="1"} 2.0' in client.get("/metrics").text


def test_cli_exit_code_and_window(served, tmp_path):
    project, client = served
    send(client, machine_table(n=120, seed=9))
    result = CliRunner().invoke(cli_app, ["monitor", "--model", "machines", "--spec", str(project.spec_path),
                                          "--last", "100", "-o", str(tmp_path / "r"), "--fail-on", "drift"])
    assert result.exit_code == 0, result.output
    assert "over 100 logged predictions" in result.output


def test_empty_log_is_refused_clearly(tmp_path):
    path = write_project(tmp_path / "proj", machine_table(), SPEC)
    project = modelfab.load_spec(path)
    modelfab.run(project, hooks=[])
    with pytest.raises(DataError, match="no prediction log"):
        monitor(project, "machines@champion", tmp_path / "r")
    with TestClient(create_app(project, "machines@champion")):
        pass  # creates an empty log
    with pytest.raises(DataError, match="holds 0 predictions"):
        monitor(project, "machines@champion", tmp_path / "r")
