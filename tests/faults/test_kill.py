"""The fault suite for crashes: `kill -9` in every stage (its output written, not yet stored)
and at two points inside register; the registry and the prediction log damaged. Each must leave
nothing half-stored, and one more run must finish with the same model, registered once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelfab.artifacts.store import ArtifactStore
from modelfab.cli import app
from modelfab.pipelines.tables import PIPELINE
from tests.conftest import BINARY_SPEC, machine_table, write_project

ROOT = Path(__file__).resolve().parents[2]
# Run in a child process that kills itself with SIGKILL at the chosen point: in a stage, once its
# output is written into tmp/ and before it is renamed into the store; or inside register, after
# the model is logged to MLflow (before the version exists) or after the version exists (before
# the champion alias is set).
KILLER = textwrap.dedent("""
    import os, signal, sys
    import modelfab
    from modelfab.artifacts import store
    from modelfab.pipeline.run import Hook
    from modelfab.registry import client

    where = sys.argv[2]
    def die(*_args, **_kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    class Watch(Hook):
        def before_compute(self, run, stage):
            if stage.name == where:
                store.seal = die
    if where == "register:logged":
        import mlflow
        mlflow.register_model = die
    if where == "register:versioned":
        client.promote = die
    modelfab.run(modelfab.load_spec(sys.argv[1]), hooks=[Watch()])
""")
POINTS = [s.name for s in PIPELINE.stages if not s.volatile] + ["register:logged", "register:versioned"]


def run_json(path: Path) -> dict:
    result = CliRunner().invoke(app, ["run", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> dict:
    return run_json(write_project(tmp_path_factory.mktemp("ref") / "proj", machine_table(400), BINARY_SPEC))


@pytest.mark.parametrize("point", POINTS)
def test_a_run_killed_anywhere_is_finished_by_the_next_one(tmp_path, expected, point):
    path = write_project(tmp_path / "proj", machine_table(400), BINARY_SPEC)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.run([sys.executable, "-c", KILLER, str(path), point], env=env, capture_output=True,
                            text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    store = ArtifactStore(tmp_path / "proj" / ".fab")
    if ":" not in point and point != "register":
        assert any(store.tmp.iterdir())  # it died holding a half-made output
    result = run_json(path)
    assert result["metrics"] == expected["metrics"]
    assert result["blessed"] and result["model_version"] == 1  # one version, whatever was half done
    assert not any(store.tmp.iterdir()) if store.tmp.exists() else True
    again = run_json(path)
    assert all(s["cached"] for s in again["stages"].values()) and not again["warnings"]


def damage_file(path: Path, how: str) -> None:
    if how == "garbage":
        path.write_bytes(os.urandom(8192))
    else:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("how", ["garbage", "truncated"])
def test_a_damaged_registry_is_named_at_once_and_nothing_is_changed(tmp_path, how):
    path = write_project(tmp_path / "proj", machine_table(400), BINARY_SPEC)
    run_json(path)
    db = tmp_path / "proj" / ".fab" / "mlflow.db"
    damage_file(db, how)
    before = db.read_bytes()
    for args in (["run", str(path)], ["models", "list", "--spec", str(path)]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code != 0 and "Traceback" not in result.output
        assert f"registry database {db} is damaged" in " ".join(result.output.split()), result.output
    assert db.read_bytes() == before
    db.unlink()  # moved aside, as the message says: a new registry, and the model registered again
    assert run_json(path)["model_version"] == 1


def test_an_emptied_registry_is_noticed_and_the_model_registered_again(tmp_path):
    path = write_project(tmp_path / "proj", machine_table(400), BINARY_SPEC)
    run_json(path)
    (tmp_path / "proj" / ".fab" / "mlflow.db").write_bytes(b"")
    # In a new process, as a user's next command would be (this one keeps MLflow's engine open).
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([str(Path(sys.executable).with_name("modelfab")), "run", str(path), "--json"], env=env,
                          capture_output=True, text=True, timeout=300)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["registered"] and result["model_version"] == 1


def test_a_damaged_prediction_log_is_named(tmp_path):
    from modelfab.predlog import LogError, PredictionLog

    log = tmp_path / "predictions.db"
    PredictionLog(log).add_labels([("a", 1)])
    damage_file(log, "garbage")
    with pytest.raises(LogError, match=f"prediction log {log} is damaged"):
        PredictionLog(log)
