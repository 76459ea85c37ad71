"""Retraining closes the loop: labelled traffic in, a gated challenger out, or a clear refusal."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import modelfab
from modelfab.cli import app as cli_app
from modelfab.errors import DataError
from modelfab.monitor.retrain import retrain
from modelfab.registry import client as registry
from modelfab.serve.app import create_app
from tests.conftest import BINARY_SPEC, machine_table, write_project
from tests.monitor.test_monitor import send

SPEC = BINARY_SPEC + "serve: {watch_seconds: 0}\n    retrain: {min_labelled: 100, holdout: 0.4}\n"


def changed_line(n: int, seed: int):
    """After a process change, tools fail from 150 minutes of wear instead of 230."""
    frame = machine_table(n=n, seed=seed)
    frame["Machine failure"] = ((frame["Tool wear [min]"] > 150) | (frame["Machine failure"] == 1)).astype(int)
    return frame


@pytest.fixture
def project(tmp_path):
    project = modelfab.load_spec(write_project(tmp_path / "proj", machine_table(), SPEC))
    modelfab.run(project, hooks=[])
    return project


def champion(project) -> int:
    return registry.resolve(registry.client(project.tracking_uri), "machines@champion").version


def test_too_few_labels_is_refused_and_the_champion_stays(project):
    with TestClient(create_app(project, "machines@champion")) as client:
        fresh = changed_line(60, seed=3)
        send(client, fresh, labels=fresh["Machine failure"])
    with pytest.raises(DataError, match=r"only 60 logged predictions .* have labels.*untouched"):
        retrain(project, hooks=[])
    assert champion(project) == 1


def test_a_changed_line_gets_a_better_champion(project):
    with TestClient(create_app(project, "machines@champion")) as client:
        fresh = changed_line(800, seed=4)
        send(client, fresh, labels=fresh["Machine failure"])
    result = retrain(project, hooks=[])
    assert result["held_out"] == 320 and result["trained_on_logged"] == 480
    assert result["blessed"], result["reason"]
    assert result["registered"] and result["version"] == 2 and champion(project) == 2
    assert result["metrics"]["f1"] > result["champion_metrics"]["f1"]  # judged on the same fresh rows


def test_watch_monitors_and_retrains_on_drift(project):
    with TestClient(create_app(project, "machines@champion")) as client:
        fresh = changed_line(800, seed=5)
        fresh["Torque [Nm]"] = fresh["Torque [Nm]"] + np.where(fresh.index % 2 == 0, 15, 0)
        send(client, fresh, labels=fresh["Machine failure"])
    result = CliRunner().invoke(cli_app, ["watch", str(project.spec_path), "--times", "1", "--every", "1s"])
    assert result.exit_code == 0, result.output
    assert "drift" in result.output and "promoted" in result.output
    assert champion(project) == 2
