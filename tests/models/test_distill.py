"""`train.type: distill`: a teacher's soft outputs taught to one LightGBM, which the package
keeps alone; it follows its teacher, exports like any LightGBM, and reads back the same."""

from __future__ import annotations

import json

import numpy as np
import pytest

import modelfab
from modelfab.models.distill import DistillModel
from modelfab.package.predictor import Predictor
from modelfab.spec.sections.train import DistillConfig
from tests.conftest import write_project
from tests.export.test_export import SPEC, exported, table

TEACHER = "{type: ensemble, folds: 3, members: [{type: lightgbm, n_estimators: 60}, {type: extra_trees, n_estimators: 60}]}"


@pytest.mark.parametrize("task, n_classes", [("binary", 2), ("multiclass", 3), ("regression", 0)])
def test_the_student_follows_its_teacher_more_closely_than_chance(task, n_classes):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5)).astype(np.float32)
    signal = X[:, 0] + X[:, 1] * X[:, 2]
    y = {"binary": (signal > 0).astype(int), "multiclass": np.digitize(signal, [-0.5, 0.5]),
         "regression": signal}[task]
    config = DistillConfig.model_validate({"type": "distill", "augment": 2, "teacher": {"type": "extra_trees"},
                                           "student": {"n_estimators": 200}})
    model = DistillModel(config, task, n_classes).fit(X[:400], y[:400], X[400:500], y[400:500])
    assert model.rows_taught_ == 400 * 3
    student = model.predict_scores(X[500:])
    if task != "regression":
        assert student.shape == (100, n_classes) and np.allclose(student.sum(axis=1), 1.0)
        assert (student.argmax(axis=1) == y[500:]).mean() > 0.7
    else:
        assert np.corrcoef(student, y[500:])[0, 1] > 0.8
    assert model.fidelity_["mean_abs_gap"] < 0.2 * (1 if task != "regression" else np.std(y))


def test_a_distilled_package_keeps_only_the_student_and_exports_with_parity(tmp_path):
    train = f"{{type: distill, augment: 2, teacher: {TEACHER}, student: {{n_estimators: 100}}}}"
    frame = table().drop(columns=["Tool wear [min]"])
    spec = SPEC.format(task="multiclass", target="wear class", features="scale: standard", train=train,
                       rule="{metric: accuracy, min: 0.3}")
    spec = spec.replace('        - {op: ratio, columns: ["Tool wear [min]", "Torque [Nm]"], name: wear per torque}\n', "")
    run = modelfab.run(modelfab.load_spec(write_project(tmp_path, frame, spec)), hooks=[])
    folder = run.store.path(run.refs["package"])
    assert sorted(p.name for p in (folder / "model").iterdir()) == ["distill.json", "student.txt"]
    assert json.loads((folder / "model" / "distill.json").read_text())["teacher"] == "ensemble"
    info, _ = exported(run)
    assert info["exported"] and info["parity"]["max_abs_diff"] <= 1e-5, info.get("reason")
    predictor = Predictor(folder)
    rows = frame.head(50)
    assert np.allclose(predictor.unchecked_scores(rows), DistillModel.load(
        folder / "model", predictor.model.config, "multiclass", 3).predict_scores(predictor.transform.transform(rows)))
