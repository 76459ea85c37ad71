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


MLP = {"type": "mlp", "hidden": [32], "epochs": 30, "batch_size": 64, "optimizer": {"name": "adam", "lr": 0.01}}


@pytest.mark.parametrize("task, n_classes", [("multiclass", 3), ("regression", 0)])
def test_a_net_student_learns_the_teachers_soft_outputs(tmp_path, task, n_classes):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5)).astype(np.float32)
    signal = X[:, 0] + X[:, 1] * X[:, 2]
    y = np.digitize(signal, [-0.5, 0.5]) if task == "multiclass" else signal
    config = DistillConfig.model_validate({"type": "distill", "augment": 1, "teacher": {"type": "extra_trees"},
                                           "student": MLP | {"checkpoint_every": 0}})
    model = DistillModel(config, task, n_classes).fit(X[:400], y[:400], X[400:500], y[400:500])
    assert model.student_.type == "mlp" and not hasattr(model, "booster_")
    student = model.predict_scores(X[500:])
    if task == "multiclass":
        assert np.allclose(student.sum(axis=1), 1.0) and (student.argmax(axis=1) == y[500:]).mean() > 0.7
    else:
        assert np.corrcoef(student, y[500:])[0, 1] > 0.8
    model.save(tmp_path)
    again = DistillModel.load(tmp_path, config, task, n_classes)
    assert np.allclose(again.predict_scores(X[500:]), student, atol=1e-6)


def test_a_registered_teacher_teaches_a_net_student_that_exports(tmp_path):
    frame = table()
    teacher = SPEC.format(task="binary", target="Machine failure", features="scale: standard",
                          train="{type: lightgbm, n_estimators: 60}", rule="{metric: roc_auc, min: 0.5}")
    modelfab.run(modelfab.load_spec(write_project(tmp_path, frame, teacher)), hooks=[])
    student = json.dumps(MLP | {"checkpoint_every": 0})
    spec = teacher.replace("name: machines", "name: machines-student").replace(
        "train: {type: lightgbm, n_estimators: 60}", f"train: {{type: distill, teacher: {{model: machines}}, "
                                                     f"student: {student}}}")
    (tmp_path / "fab.yaml").write_text(spec)
    run = modelfab.run(modelfab.load_spec(tmp_path / "fab.yaml"), hooks=[])
    members = run.load("members").data["members"]
    assert [m["name"] for m in members] == ["machines"]
    folder = run.store.path(run.refs["package"])
    record = json.loads((folder / "model" / "distill.json").read_text())
    assert record["teacher"] == "machines" and record["student"] == "mlp"
    assert record["fidelity"]["rows"] == "training" and record["fidelity"]["mean_abs_gap"] < 0.1
    assert (folder / "model" / "student" / "net.json").is_file()
    info, _ = exported(run)
    assert info["exported"] and info["net"] == "mlp" and info["kind"] == "net", info.get("reason")


def test_a_registered_teacher_must_answer_the_same_question(tmp_path):
    from modelfab.errors import DataError

    frame = table()
    teacher = SPEC.format(task="regression", target="Torque [Nm]", features="scale: standard",
                          train="{type: lightgbm, n_estimators: 20}", rule="{metric: rmse, max: 100}")
    teacher = teacher.replace('["Torque [Nm]", "Speed [rpm]"]', '["Tool wear [min]", "Speed [rpm]"]').replace(
        '["Tool wear [min]", "Torque [Nm]"]', '["Tool wear [min]", "Speed [rpm]"]')
    modelfab.run(modelfab.load_spec(write_project(tmp_path, frame, teacher)), hooks=[])
    spec = SPEC.format(task="binary", target="Machine failure", features="scale: standard",
                       train="{type: distill, teacher: {model: machines}, student: {type: lightgbm}}",
                       rule="{metric: roc_auc, min: 0.5}").replace("name: machines", "name: other")
    (tmp_path / "fab.yaml").write_text(spec)
    with pytest.raises(DataError, match=r"train.teacher: model 'machines' cannot teach here: its task is regression"):
        modelfab.run(modelfab.load_spec(tmp_path / "fab.yaml"), hooks=[])
