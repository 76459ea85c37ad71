"""`evaluate.cv_folds`: the pipeline's recipe refitted in every fold, for a table model and a net."""

from __future__ import annotations

import pytest

import modelfab
from modelfab.artifacts import read_json
from tests.conftest import BINARY_SPEC, write_project


@pytest.mark.parametrize("train", [
    "{type: lightgbm, n_estimators: 30, num_leaves: 8}",
    "{type: mlp, hidden: [16], epochs: 3, batch_size: 64, optimizer: {name: adam, lr: 0.01}}",
])
def test_cross_validation_scores_every_fold(tmp_path, machines, train):
    evaluate = "evaluate: {cv_folds: 3, importance_repeats: 0, plots: false}"
    spec = (BINARY_SPEC.replace("evaluate: {importance_repeats: 2}", evaluate)
            .replace("train: {type: lightgbm, n_estimators: 60, learning_rate: 0.1, num_leaves: 8, early_stopping_rounds: 20}",
                     f"train: {train}"))
    run = modelfab.run(modelfab.load_spec(write_project(tmp_path / "p", machines, spec)), hooks=[])
    cv = read_json(run.store.path(run.refs["evaluation"]) / "metrics.json")["cross_validation"]
    assert cv["folds"] == 3 and len(cv["per_fold"]) == 3
    assert 0.5 < cv["mean"]["roc_auc"] <= 1 and cv["std"]["roc_auc"] >= 0
    assert all(set(fold) >= {"accuracy", "f1", "roc_auc"} for fold in cv["per_fold"])
