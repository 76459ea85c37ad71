"""Anomaly detectors (task: anomaly): each ranks unusual rows above normal ones, learns from the
normal rows only, scores one row as it scores it in a batch, and reads back from its files the
same scores; the pipeline runs them end to end and says what it cannot do."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

import modelfab
from modelfab.cli import app
from modelfab.models import family
from modelfab.spec.schema import TrainConfig
from tests.conftest import machine_table, write_project

TYPES = ["isolation_forest", "lof", "knn", "ecod", "autoencoder", "detectors"]


def blobs(n: int = 600, outliers: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    normal = rng.normal(0, 1, (n, 4))
    odd = rng.normal(0, 1, (outliers, 4)) + rng.choice([-5, 5], (outliers, 4))
    return np.vstack([normal, odd]).astype(np.float32), np.r_[np.zeros(n, int), np.ones(outliers, int)]


def make(kind: str, **options):  # noqa: ANN201
    small = {"epochs": 30, "checkpoint_every": 0, "hidden": [8, 2]} if kind == "autoencoder" else {}
    config = TypeAdapter(TrainConfig).validate_python({"type": kind, **small, **options})
    return family(kind)(config, "anomaly", 2)


@pytest.mark.parametrize("kind", TYPES)
def test_a_detector_ranks_the_unusual_rows_first_and_scores_a_row_alone_as_in_a_batch(kind, tmp_path):
    X, y = blobs()
    test, truth = blobs(200, 20, seed=1)
    model = make(kind).fit(X, y)
    scores = model.predict_scores(test)
    assert scores.shape == (len(test), 2) and np.allclose(scores.sum(1), 1)
    assert roc_auc_score(truth, scores[:, 1]) > 0.95
    alone = np.vstack([model.predict_scores(test[i:i + 1]) for i in range(5)])
    np.testing.assert_allclose(alone, scores[:5], atol=1e-12)  # no score depends on the rows beside it
    model.save(tmp_path)
    loaded = type(model).load(tmp_path, model.config, "anomaly", 2)
    np.testing.assert_allclose(loaded.predict_scores(test), scores, atol=1e-12)


def test_an_ensemble_ranks_each_member_among_its_own_training_scores_and_can_hold_an_autoencoder():
    X, y = blobs()
    test, truth = blobs(200, 20, seed=1)
    members = [{"type": "ecod"}, {"type": "autoencoder", "epochs": 20, "checkpoint_every": 0, "hidden": [8, 2]}]
    ranked = make("detectors", members=members).fit(X, y)
    standard = make("detectors", members=members, combine="standard").fit(X, y)
    for model in (ranked, standard):
        assert roc_auc_score(truth, model.predict_scores(test)[:, 1]) > 0.95
    ecod_rank = np.interp(ranked.members_[0].standard(test), ranked.quantiles_[0], np.linspace(0, 1, 1001))
    assert ranked.quantiles_.shape == (2, 1001) and (ecod_rank >= 0).all()
    odd = ranked._raw(test[truth == 1])
    assert len(np.unique(odd)) == len(odd)  # past every training row the rank still grows: no ties at 1


def test_the_anomalous_training_rows_are_left_out_unless_train_on_all():
    X, y = blobs(outliers=200)
    test, truth = blobs(200, 20, seed=1)
    normal_only = make("knn").fit(X, y).predict_scores(test)[:, 1]
    config = TypeAdapter(TrainConfig).validate_python({"type": "knn", "on": "all"})
    everything = family("knn")(config, "anomaly", 2).fit(X, y).predict_scores(test)[:, 1]
    assert roc_auc_score(truth, normal_only) > roc_auc_score(truth, everything)


SPEC = """\
    version: 1
    name: machines-anomaly
    task: anomaly
    data:
      source: data.csv
      target: Machine failure
      drop: [UDI]
    features:
      combine:
        - {op: product, columns: ["Torque [Nm]", "Speed [rpm]"], name: power}
    train: {type: detectors, members: [{type: isolation_forest, n_estimators: 100}, {type: ecod}]}
    explain: {permutation_rows: 5}
    gate:
      rules: [{metric: roc_auc, min: 0.6}, {metric: flagged, max: 0.6}]
    """


def cli(*args):  # noqa: ANN001, ANN201
    return CliRunner().invoke(app, [str(a) for a in args])


def test_an_anomaly_task_runs_gates_registers_predicts_and_serves_the_same_scores(tmp_path):
    from fastapi.testclient import TestClient

    from modelfab.serve.app import create_app

    path = write_project(tmp_path, machine_table(1500), SPEC)
    result = cli("run", path)
    assert result.exit_code == 0, result.output
    project = modelfab.load_spec(path)
    run = modelfab.run(project, hooks=[])
    evaluation = run.load("blessing").data
    assert evaluation["blessed"] and evaluation["candidate"]["roc_auc"] > 0.7
    assert 0 < evaluation["candidate"]["flagged"] < 0.6
    rows = machine_table(40, seed=9).drop(columns=["Machine failure"])
    rows.to_csv(tmp_path / "new.csv", index=False)
    assert cli("predict", tmp_path / "new.csv", "-m", "machines-anomaly", "-o", tmp_path / "out.csv",
               "--spec", path).exit_code == 0
    batch = pd.read_csv(tmp_path / "out.csv")
    assert set(batch["prediction"]) <= {0, 1} and "proba_1" in batch
    with TestClient(create_app(project, "machines-anomaly@champion", api_key="k")) as server:
        record = rows.drop(columns=["UDI"]).iloc[0].to_dict()
        answer = server.post("/predict", json=record)
        assert answer.status_code == 200, answer.text
        assert answer.json()["probabilities"]["1"] == pytest.approx(batch["proba_1"].iloc[0], abs=1e-6)


@pytest.mark.parametrize("change, message", [
    ("train: {type: lightgbm}", "train.type: 'lightgbm' learns from labels; task anomaly takes a detector"),
    ("train: {type: ecod, threshold: {rule: contamination, value: 0.9}}", "of the validation rows, more than half"),
])
def test_what_a_detector_cannot_do_is_said(tmp_path, change, message):
    labelled = "train: {type: detectors, members: [{type: isolation_forest, n_estimators: 100}, {type: ecod}]}"
    spec = (UNLABELLED_SPEC if "contamination" in change else SPEC).replace(labelled, change)
    unlabelled = "train: {type: isolation_forest, n_estimators: 100, threshold: {rule: contamination, value: 0.05}}"
    spec = spec.replace(unlabelled, change)
    result = cli("run", write_project(tmp_path, machine_table(600), spec))
    assert result.exit_code in (2, 3) and message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


def test_a_label_column_with_one_value_and_a_detector_on_a_binary_task_are_named(tmp_path):
    one = machine_table(300).assign(**{"Machine failure": 0})
    result = cli("run", write_project(tmp_path / "one", one, SPEC))
    assert result.exit_code == 3 and "has 1 value(s)" in " ".join(result.output.split())
    binary = SPEC.replace("task: anomaly", "task: binary")
    result = cli("run", write_project(tmp_path / "bin", machine_table(300), binary))
    assert result.exit_code == 2 and "is an anomaly detector; it needs task: anomaly" in " ".join(result.output.split())
    assert textwrap  # (kept for the YAML above)


def test_yaml_on_is_a_key_and_excluded_columns_only_make_combinations(tmp_path):
    spec = SPEC.replace("train: {type: detectors, members: [{type: isolation_forest, n_estimators: 100}, "
                        "{type: ecod}]}", "train:\n      type: ecod\n      on: all")
    spec = spec.replace("        - {op: product, columns: [\"Torque [Nm]\", \"Speed [rpm]\"], name: power}\n",
                        "        - {op: product, columns: [\"Torque [Nm]\", \"Speed [rpm]\"], name: power}\n"
                        "      exclude: [\"Torque [Nm]\", Type]\n")
    path = write_project(tmp_path, machine_table(600), spec)
    project = modelfab.load_spec(path)
    assert project.spec.train.on == "all"  # YAML 1.1 would have read the key `on` as True
    run = modelfab.run(project, hooks=[])
    features = run.load("features").info["features"]
    assert "power" in features and "Torque [Nm]" not in features and not any(f.startswith("Type") for f in features)
    path.write_text(path.read_text().replace('exclude: ["Torque [Nm]", Type]', "exclude: [Torqe]"))
    result = cli("run", path)
    assert result.exit_code == 2 and "features.exclude: 'Torqe' is not an input column" in " ".join(result.output.split())


UNLABELLED_SPEC = """\
    version: 1
    name: machines-unlabelled
    task: anomaly
    data:
      source: data.csv
      drop: [UDI, Machine failure]
    train: {type: isolation_forest, n_estimators: 100, threshold: {rule: contamination, value: 0.05}}
    explain: {permutation_rows: 5}
    gate:
      rules: [{metric: flagged, min: 0.005, max: 0.15}]
    """


def test_with_no_label_every_row_is_normal_the_threshold_is_a_share_and_the_gate_bounds_it(tmp_path):
    path = write_project(tmp_path, machine_table(800), UNLABELLED_SPEC)
    result = cli("run", path, "--json")
    assert result.exit_code == 0, result.output
    run = modelfab.run(modelfab.load_spec(path), hooks=[])
    blessing = run.load("blessing").data
    assert blessing["blessed"] and set(blessing["candidate"]) == {"flagged"}  # nothing to score against
    assert run.load("report").data["positive"]["class"] == "anomalous"
    rows = machine_table(50, seed=4).drop(columns=["Machine failure"])
    rows.to_csv(tmp_path / "new.csv", index=False)
    assert cli("predict", tmp_path / "new.csv", "-m", "machines-unlabelled", "-o", tmp_path / "out.csv",
               "--spec", path).exit_code == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert set(out["prediction"]) <= {"normal", "anomalous"} and "proba_anomalous" in out


def test_data_normal_makes_every_other_value_anomalous_and_a_value_no_row_has_is_named(tmp_path):
    frame = machine_table(900)
    frame["state"] = np.where(frame["Machine failure"] == 1, np.where(frame["Tool wear [min]"] > 230, "worn", "power"),
                              "ok")
    spec = SPEC.replace("target: Machine failure\n      drop: [UDI]",
                        "target: state\n      normal: ok\n      drop: [UDI, Machine failure]")
    path = write_project(tmp_path, frame, spec)
    run = modelfab.run(modelfab.load_spec(path), hooks=[])
    report = run.load("report").data
    assert report["classes"] == ["normal", "anomalous"] and run.load("blessing").data["candidate"]["roc_auc"] > 0.6
    path.write_text(path.read_text().replace("normal: ok", "normal: fine"))
    result = cli("run", path)
    assert result.exit_code == 3 and "data.normal 'fine': no row of 'state' has it" in " ".join(result.output.split())
