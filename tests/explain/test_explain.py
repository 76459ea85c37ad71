"""Explanations add up: base value + contributions = the model's raw output, on every row, for
every family with exact values (each task) and for the permutation path; in the user's columns;
from the explain stage, `modelfab explain`, and with clear errors for what cannot be done."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter
from typer.testing import CliRunner

from modelfab.cli import app
from modelfab.explain.columns import feature_sources, to_inputs
from modelfab.models import family
from modelfab.spec.schema import TrainConfig
from tests.conftest import BINARY_SPEC, machine_table, write_project

TASKS = {"binary": 2, "multiclass": 3, "regression": 0}


def target(X: np.ndarray, task: str) -> np.ndarray:
    if task == "binary":
        return (X[:, 0] + X[:, 1] > 0).astype(int)
    if task == "multiclass":
        return np.digitize(X[:, 0], [-0.5, 0.5])
    return 2 * X[:, 0] + X[:, 2]


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("kind", ["lightgbm", "linear", "extra_trees", "random_forest"])
def test_exact_contributions_add_up_to_the_raw_output_on_every_row(kind, task):
    X = np.random.default_rng(0).normal(size=(500, 6))
    config = TypeAdapter(TrainConfig).validate_python({"type": kind, "n_estimators": 40} if kind != "linear"
                                                      else {"type": kind})
    model = family(kind)(config, task, TASKS[task]).fit(X, target(X, task))
    c = model.contributions(X[:200])
    outputs = TASKS[task] if task == "multiclass" else 1
    assert c.values.shape == (200, 6, outputs) and c.raw.shape == (200, outputs)
    np.testing.assert_allclose(c.base + c.values.sum(axis=1), c.raw, atol=1e-6)
    scores = model.predict_scores(X[:200])
    if c.space == "margin" and task == "binary":  # the margin is the logit of the positive class
        np.testing.assert_allclose(1 / (1 + np.exp(-c.raw[:, 0])), scores[:, 1], atol=1e-6)
    if c.space == "probability":
        np.testing.assert_allclose(c.raw, scores[:, 1:] if task == "binary" else scores, atol=1e-9)


def test_derived_features_are_summed_back_to_the_columns_they_came_from():
    class Rows:
        combine = [{"op": "product", "columns": ["Torque", "Speed"], "name": "power"}]

    class Transform:
        steps = [("rows", Rows())]

    features = ["Torque", "Speed", "power", "Type_H", "Type_L"]
    sources = feature_sources(features, ["Type", "Torque", "Speed"], Transform())
    assert sources == {"Torque": ["Torque"], "Speed": ["Speed"], "power": ["Torque", "Speed"],
                       "Type_H": ["Type"], "Type_L": ["Type"]}
    values = np.arange(10, dtype=float).reshape(2, 5, 1)
    columns, summed = to_inputs(values, features, sources)
    assert columns == ["Torque", "Speed", "Type"]
    np.testing.assert_allclose(summed.sum(axis=1), values.sum(axis=1))  # still adds up
    np.testing.assert_allclose(summed[0, :, 0], [0 + 1, 1 + 1, 3 + 4])


def cli(*args):  # noqa: ANN001, ANN201
    return CliRunner().invoke(app, [str(a) for a in args])


def test_the_run_explains_its_worst_rows_and_explain_writes_contributions_that_add_up(tmp_path):
    path = write_project(tmp_path, machine_table(), BINARY_SPEC)
    assert cli("run", path).exit_code == 0
    [found] = list((tmp_path / ".fab" / "objects").rglob("explanation.json"))
    explained = json.loads(found.read_text())
    assert explained["method"] == "tree SHAP (LightGBM)" and explained["space"] == "margin"
    assert set(explained["global"]["inputs"]) == {"Type", "Torque [Nm]", "Speed [rpm]", "Tool wear [min]"}
    errors = [r["error"] for r in explained["rows"]]
    assert errors == sorted(errors, reverse=True)  # the largest errors first
    for row in explained["rows"]:
        total = explained["base"][0] + sum(row["contributions"]["1"].values())
        assert total == pytest.approx(row["raw"][0], abs=1e-6)
    assert (found.parent / "plots" / "explain_summary.png").stat().st_size > 0

    rows = machine_table(30, seed=5).drop(columns=["Machine failure"])
    rows.to_csv(tmp_path / "rows.csv", index=False)
    result = cli("explain", tmp_path / "rows.csv", "-m", "machines@champion", "-o", tmp_path / "why.csv", "--spec", path)
    assert result.exit_code == 0, result.output
    why = pd.read_csv(tmp_path / "why.csv")
    assert list(why.columns) == ["Torque [Nm]", "Speed [rpm]", "Tool wear [min]", "Type", "base_value", "margin"]
    np.testing.assert_allclose(why.drop(columns=["margin"]).sum(axis=1), why["margin"], atol=1e-6)
    predicted = cli("predict", tmp_path / "rows.csv", "-m", "machines", "-o", tmp_path / "p.csv", "--spec", path)
    assert predicted.exit_code == 0
    np.testing.assert_allclose(1 / (1 + np.exp(-why["margin"])), pd.read_csv(tmp_path / "p.csv")["proba_1"], atol=1e-6)


def test_a_family_without_exact_values_takes_the_permutation_path_and_still_adds_up(tmp_path):
    spec = BINARY_SPEC.replace("train: {type: lightgbm, n_estimators: 60, learning_rate: 0.1, num_leaves: 8, "
                               "early_stopping_rounds: 20}",
                               "train: {type: mlp, epochs: 3, hidden: [16]}")
    path = write_project(tmp_path, machine_table(), spec + "explain: {rows: 20, method: permutation}\n")
    result = cli("run", path)
    assert result.exit_code == 0, result.output
    [found] = list((tmp_path / ".fab" / "objects").rglob("explanation.json"))
    explained = json.loads(found.read_text())
    assert explained["method"].startswith("permutation SHAP") and explained["space"] == "probability"
    for row in explained["rows"]:
        total = explained["base"][0] + sum(row["contributions"]["1"].values())
        assert total == pytest.approx(row["raw"][0], abs=1e-6)
    strict = write_project(tmp_path / "strict", machine_table(), spec + "explain: {method: exact}\n")
    refused = cli("run", strict)
    assert refused.exit_code == 2 and "explain.method: exact: the mlp family has no exact contributions; its " \
        "methods: gradients, permutation" in " ".join(refused.output.split())
    trees = write_project(tmp_path / "trees", machine_table(), BINARY_SPEC + "explain: {method: gradients}\n")
    refused = cli("run", trees)
    assert refused.exit_code == 2 and "explain.method: gradients: the lightgbm family is not a net; its methods: " \
        "exact, permutation" in " ".join(refused.output.split())
    assert "Traceback" not in refused.output


def test_explain_refuses_more_rows_than_its_limit_by_name(tmp_path):
    path = write_project(tmp_path, machine_table(), BINARY_SPEC + "explain: {max_rows: 10}\n")
    assert cli("run", path).exit_code == 0
    machine_table(30).drop(columns=["Machine failure"]).to_csv(tmp_path / "rows.csv", index=False)
    result = cli("explain", tmp_path / "rows.csv", "-m", "machines", "-o", tmp_path / "w.csv", "--spec", path)
    assert result.exit_code == 3 and "30 rows, more than explain.max_rows 10" in " ".join(result.output.split())


def test_post_explain_answers_contributions_that_add_up_and_names_bad_fields(tmp_path):
    from fastapi.testclient import TestClient

    import modelfab
    from modelfab.serve.app import create_app

    path = write_project(tmp_path, machine_table(), BINARY_SPEC + "serve: {watch_seconds: 0}\n")
    project = modelfab.load_spec(path)
    modelfab.run(project, hooks=[])
    row = {"Type": "L", "Torque [Nm]": 41.5, "Speed [rpm]": 1500.0, "Tool wear [min]": 245.0}
    with TestClient(create_app(project, "machines@champion", api_key="k")) as server:
        answer = server.post("/explain", json={"records": [row, row | {"Tool wear [min]": 5.0}]})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["method"] == "tree SHAP (LightGBM)" and body["space"] == "margin"
        for one in body["explanations"]:
            assert one["base_value"] + sum(one["contributions"].values()) == pytest.approx(one["raw"], abs=1e-6)
        worn, fresh = body["explanations"]
        assert worn["contributions"]["Tool wear [min]"] > fresh["contributions"]["Tool wear [min]"]
        p = server.post("/predict", json=row).json()["probabilities"]["1"]
        assert 1 / (1 + np.exp(-worn["raw"])) == pytest.approx(p, abs=1e-6)
        bad = server.post("/explain", json={"records": [{**row, "Torque [Nm]": "lots"}]})
        assert bad.status_code == 422 and "Torque [Nm]" in bad.text


def test_a_package_from_before_explanations_is_explained_or_refused_by_name(tmp_path):
    """Packages written before #19 have no reference rows: exact values need none; a method
    that needs a background says so, never a traceback."""
    import shutil

    import modelfab
    from modelfab.errors import ExplainError
    from modelfab.explain.compute import explain_frame
    from modelfab.package.predictor import Predictor

    rows = machine_table(20, seed=3).drop(columns=["Machine failure", "UDI"])
    mlp = BINARY_SPEC.replace("train: {type: lightgbm, n_estimators: 60, learning_rate: 0.1, num_leaves: 8, "
                              "early_stopping_rounds: 20}", "train: {type: mlp, epochs: 2, hidden: [8]}")
    for name, spec in (("trees", BINARY_SPEC), ("mlp", mlp)):
        run = modelfab.run(modelfab.load_spec(write_project(tmp_path / name, machine_table(), spec)), hooks=[])
        old = tmp_path / f"{name}-old"
        shutil.copytree(run.store.path(run.refs["package"]), old, ignore=shutil.ignore_patterns("reference.parquet"))
        predictor = Predictor(old)
        background = predictor.reference_rows(10)
        assert background is None
        if name == "trees":
            done = explain_frame(predictor, rows, "auto", background)
            np.testing.assert_allclose(done.base[:, 0] + done.values[:, :, 0].sum(1), done.raw[:, 0], atol=1e-6)
        else:
            with pytest.raises(ExplainError, match="needs background rows"):
                explain_frame(predictor, rows, "auto", background)
