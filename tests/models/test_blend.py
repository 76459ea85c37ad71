"""A blend of registered models: each member predicts through its own package, the blend is their
weighted mean, and it runs through evaluate, the gate, the registry and batch prediction."""

import json
import textwrap

import numpy as np
import pandas as pd
import pytest

import modelfab
from modelfab.errors import DataError
from modelfab.package.predictor import Predictor
from tests.conftest import BINARY_SPEC, write_project

LINEAR = BINARY_SPEC.replace("name: machines", "name: machines-linear").replace(
    "train: {type: lightgbm, n_estimators: 60, learning_rate: 0.1, num_leaves: 8, early_stopping_rounds: 20}",
    "train: {type: linear}")
BLEND = BINARY_SPEC.replace("name: machines", "name: machines-blend").replace(
    "train: {type: lightgbm, n_estimators: 60, learning_rate: 0.1, num_leaves: 8, early_stopping_rounds: 20}",
    "train: {type: blend, members: [{model: machines, weight: 3}, {model: machines-linear, weight: 1}]}")


@pytest.fixture
def members(tmp_path, machines):
    """Two members registered in one project folder (one store, one registry)."""
    spec = write_project(tmp_path / "proj", machines, BINARY_SPEC)
    (spec.parent / "linear.yaml").write_text(textwrap.dedent(LINEAR))
    (spec.parent / "blend.yaml").write_text(textwrap.dedent(BLEND))
    for name in ("fab.yaml", "linear.yaml"):
        modelfab.run(modelfab.load_spec(spec.parent / name), hooks=[])
    return spec.parent


def package(run):  # noqa: ANN001, ANN201
    return Predictor(run.store.path(run.refs["package"]))


def test_a_blend_is_the_weighted_mean_of_its_members_packages(members, machines, tmp_path):
    trees = package(modelfab.run(modelfab.load_spec(members / "fab.yaml"), hooks=[]))
    linear = package(modelfab.run(modelfab.load_spec(members / "linear.yaml"), hooks=[]))
    run = modelfab.run(modelfab.load_spec(members / "blend.yaml"), hooks=[])
    blend = package(run)
    assert [m["model"] for m in blend.meta["members"]] == ["machines", "machines-linear"]
    rows = machines.drop(columns=["Machine failure"]).head(40)
    expected = (3 * trees.scores(rows) + linear.scores(rows)) / 4
    np.testing.assert_allclose(blend.scores(rows), expected, rtol=1e-6)
    assert 0 < blend.meta["threshold"] < 1  # chosen on the validation rows' blended scores
    assert run.load("blessing").data["blessed"]  # evaluated, gated and registered like any model
    explained = json.loads((run.store.path(run.refs["explanation"]) / "explanation.json").read_text())
    assert explained["method"] == "permutation SHAP on the blend's input columns"
    for row in explained["rows"]:  # in the blend's probabilities, which its members' margins do not add up to
        assert row["base"][0] + sum(row["contributions"]["1"].values()) == pytest.approx(row["raw"][0], abs=1e-6)

    from modelfab.serve.batch import predict_file

    source = tmp_path / "in.csv"
    rows.to_csv(source, index=False)
    written, version = predict_file(run.project, "machines-blend@champion", source, tmp_path / "out.csv")
    assert (written, version) == (40, "machines-blend version 1")
    out = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(out["proba_1"], expected[:, 1], rtol=1e-6)


def test_a_blend_is_made_again_when_a_member_is_registered_again(members):
    first = modelfab.run(modelfab.load_spec(members / "blend.yaml"), hooks=[])
    assert not next(r for r in first.records if r.name == "train").cached
    again = modelfab.run(modelfab.load_spec(members / "blend.yaml"), hooks=[])
    assert next(r for r in again.records if r.name == "train").cached
    spec = (members / "linear.yaml").read_text().replace("train: {type: linear}", "train: {type: linear, C: 0.5}")
    # Blessed whatever its score against version 1 (no min_delta), so it becomes the champion.
    spec = spec.replace("{metric: roc_auc, min: 0.6, min_delta: 0.0}", "{metric: roc_auc, min: 0.5}")
    (members / "linear.yaml").write_text(spec)
    modelfab.run(modelfab.load_spec(members / "linear.yaml"), hooks=[])  # version 2 becomes the champion
    after = modelfab.run(modelfab.load_spec(members / "blend.yaml"), hooks=[])
    train = next(r for r in after.records if r.name == "train")
    assert not train.cached
    assert [m["version"] for m in package(after).meta["members"]] == [1, 2]


def test_a_member_that_answers_another_question_is_refused(members):
    text = (members / "blend.yaml").read_text().replace("{model: machines-linear, weight: 1}", "{model: machines-linear}")
    (members / "blend.yaml").write_text(text.replace("target: Machine failure", "target: Tool wear [min]")
                                        .replace("task: binary\n", ""))
    with pytest.raises(DataError, match="'machines' cannot join this blend: its task is binary"):
        modelfab.run(modelfab.load_spec(members / "blend.yaml"), hooks=[])


def test_a_member_that_is_not_registered_is_named(members):
    from modelfab.errors import RegistryError

    text = (members / "blend.yaml").read_text().replace("model: machines-linear", "model: machines-linaer")
    (members / "blend.yaml").write_text(text)
    with pytest.raises(RegistryError, match="'machines-linaer' is not in the registry.*machines-linear"):
        modelfab.run(modelfab.load_spec(members / "blend.yaml"), hooks=[])
