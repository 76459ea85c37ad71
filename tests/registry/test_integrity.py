"""A damaged registered package is refused before anything parses it: by batch prediction, the
server at start, `POST /admin/promote` and `models promote` (alias and served model unchanged)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import modelfab
from modelfab.cli import app
from modelfab.errors import StoreError
from modelfab.registry import client as registry
from modelfab.serve.app import create_app
from tests.conftest import BINARY_SPEC, machine_table, write_project

SERVE = "serve: {watch_seconds: 0}\n"
LENIENT = BINARY_SPEC.replace("{metric: roc_auc, min: 0.6, min_delta: 0.0}", "{metric: roc_auc, min: 0.5}")


@pytest.fixture
def two_versions(tmp_path):
    """Version 1, then version 2 (another learning rate) as champion."""
    path = write_project(tmp_path / "proj", machine_table(), BINARY_SPEC + SERVE)
    modelfab.run(modelfab.load_spec(path), hooks=[])
    path.write_text(LENIENT.replace("learning_rate: 0.1", "learning_rate: 0.2") + SERVE)
    project = modelfab.load_spec(path)
    modelfab.run(project, hooks=[])
    c = registry.client(project.tracking_uri)
    assert registry.champion(c, "machines").version == 2
    return project, c


def damage(c, version: int) -> None:  # noqa: ANN001
    model = registry.find(c, "machines", version=version).package / "model" / "model.txt"
    model.write_bytes(model.read_bytes()[:200])  # truncated: LightGBM would abort the process


def test_a_damaged_version_is_named_and_never_loaded(two_versions, tmp_path):
    project, c = two_versions
    damage(c, 2)
    with pytest.raises(StoreError, match=r"machines version 2 is damaged: model/model.txt \(changed\)"):
        _ = registry.find(c, "machines", version=2).package
    rows = tmp_path / "rows.csv"
    machine_table(20).drop(columns=["Machine failure"]).to_csv(rows, index=False)
    result = CliRunner().invoke(app, ["predict", str(rows), "--model", "machines@champion", "-o",
                                      str(tmp_path / "out.csv"), "--spec", str(project.spec_path)])
    assert result.exit_code != 0 and "machines version 2 is damaged" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out.csv").exists()
    with pytest.raises(StoreError, match="version 2 is damaged"):
        create_app(project, "machines@champion", api_key="k")  # a clear error at start, not a crash


def test_promoting_a_damaged_version_leaves_alias_and_server_as_they_were(two_versions):
    project, c = two_versions
    damage(c, 1)
    with TestClient(create_app(project, "machines@champion", api_key="k")) as server:
        r = server.post("/admin/promote", json={"version": 1}, headers={"X-API-Key": "k"})
        assert r.status_code == 409 and "machines version 1 is damaged" in r.json()["detail"]
        assert server.post("/admin/rollback", headers={"X-API-Key": "k"}).status_code == 409
        row = {"Type": "L", "Torque [Nm]": 41.5, "Speed [rpm]": 1500.0, "Tool wear [min]": 10.0}
        assert server.post("/predict", json=row).json()["version"] == 2
    assert registry.champion(c, "machines").version == 2
    result = CliRunner().invoke(app, ["models", "promote", "machines", "1", "--spec", str(project.spec_path)])
    assert result.exit_code != 0 and "damaged" in result.output
    assert registry.champion(c, "machines").version == 2


def run_json(spec_path) -> dict:  # noqa: ANN001
    result = CliRunner().invoke(app, ["run", str(spec_path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_registry_that_lost_the_champion_gets_it_again(tmp_path):
    path = write_project(tmp_path / "proj", machine_table(), BINARY_SPEC)
    first = run_json(path)
    assert first["registered"] and first["model_version"] == 1
    project = modelfab.load_spec(path)
    for db in project.store_dir.glob("mlflow.db*"):  # the registry is gone; the store is not
        db.unlink()
    # In a fresh process: this one's MLflow still holds the deleted file open.
    done = subprocess.run([sys.executable, "-m", "modelfab.cli", "run", str(path), "--json"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    again = json.loads(done.stdout.strip().splitlines()[-1])
    assert again["registered"] and again["model_version"] == 1, again  # not "already the champion"
    assert not again["stages"]["register"]["cached"] and again["stages"]["gate"]["cached"]


def test_a_new_name_registers_under_that_name(tmp_path):
    path = write_project(tmp_path / "proj", machine_table(), BINARY_SPEC)
    run_json(path)
    path.write_text(path.read_text().replace("name: machines", "name: line-3"))
    renamed = run_json(path)
    assert renamed["registered"] and renamed["model"] == "line-3" and renamed["model_version"] == 1
