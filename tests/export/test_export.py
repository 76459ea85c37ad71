"""The export stage: the whole package as one ONNX graph, from raw columns to scores, equal to
the package's scores (parity) for each transform step and family it converts; what does not
convert is said and, under export.required, refused by the gate; a swapped graph is refused."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import modelfab
from modelfab.cli import app
from modelfab.errors import StoreError
from modelfab.export.runtime import OnnxScorer, feed, session
from modelfab.package.predictor import Predictor
from tests.conftest import machine_table, write_project

SPEC = """\
    version: 1
    name: machines
    task: {task}
    data:
      source: data.csv
      target: {target}
      drop: [UDI]
    clean: {{outliers: {{method: iqr, factor: 1.5}}}}
    features:
      combine:
        - {{op: product, columns: ["Torque [Nm]", "Speed [rpm]"], name: power}}
        - {{op: ratio, columns: ["Tool wear [min]", "Torque [Nm]"], name: wear per torque}}
      {features}
    train: {train}
    evaluate: {{importance_repeats: 0}}
    explain: {{enabled: false}}
    gate:
      rules: [{rule}]
    """


def table(n: int = 500) -> pd.DataFrame:
    """Machines with gaps: missing numbers, missing categories, a zero torque (a ratio over zero)."""
    frame = machine_table(n)
    frame["Line"] = np.random.default_rng(1).choice(["north", "south", "east", "west"], n)
    frame.loc[::17, "Speed [rpm]"] = np.nan
    frame.loc[::23, "Type"] = None
    frame.loc[5, "Torque [Nm]"] = 0.0
    frame["wear class"] = np.where(frame["Tool wear [min]"] > 160, "worn", np.where(frame["Tool wear [min]"] > 80,
                                                                                     "used", "new"))
    return frame


def project(tmp_path, features: str = "scale: standard", train: str = "{type: lightgbm, n_estimators: 40}",
            task: str = "binary", target: str = "Machine failure", rule: str = "{metric: roc_auc, min: 0.5}",
            extra: str = ""):  # noqa: ANN201
    features = features.replace("; ", "\n      ")
    spec = SPEC.format(task=task, target=target, features=features, train=train, rule=rule).rstrip(" ") + extra
    return modelfab.load_spec(write_project(tmp_path, table(), spec))


def exported(run) -> tuple[dict, object]:  # noqa: ANN001
    folder = run.store.path(run.refs["onnx"])
    return json.loads((folder / "onnx.json").read_text()), folder


@pytest.mark.parametrize("features", [
    "scale: standard",
    "scale: minmax; encode: onehot",
    "scale: robust; encode: target; power: log; power_columns: ['Tool wear [min]']",
    "scale: none; power: yeo-johnson; power_columns: ['Speed [rpm]', 'Torque [Nm]']; select: {method: variance}",
])
def test_the_whole_package_is_one_graph_from_raw_columns_with_the_packages_scores(tmp_path, features):
    run = modelfab.run(project(tmp_path, features=features), hooks=[])
    info, folder = exported(run)
    assert info["exported"], (info.get("reason"), info.get("parity"))
    assert info["graph_input"] == "columns" and info["python_part"] is None
    assert info["parity"]["passed"] and info["parity"]["max_abs_diff"] <= 1e-5
    assert set(info["inputs"]) == {"Type", "Torque [Nm]", "Speed [rpm]", "Tool wear [min]", "Line", "wear class"}
    fresh = table(300).sample(frac=1.0, random_state=3)  # other rows, gaps included
    predictor = Predictor(run.store.path(run.refs["package"]))
    got = OnnxScorer(folder, info).scores(fresh)
    np.testing.assert_allclose(got, predictor.unchecked_scores(fresh), atol=1e-5, rtol=0)


@pytest.mark.parametrize("task, target, train, rule", [
    ("binary", "Machine failure", "{type: linear}", "{metric: roc_auc, min: 0.5}"),
    ("multiclass", "wear class", "{type: random_forest, n_estimators: 30}", "{metric: accuracy, min: 0.3}"),
    ("regression", "Tool wear [min]", "{type: lightgbm, n_estimators: 40}", "{metric: rmse, max: 500}"),
    ("multiclass", "wear class", "{type: mlp, hidden: [16], epochs: 3}", "{metric: accuracy, min: 0.1}"),
    ("regression", "Tool wear [min]", "{type: mlp, hidden: [16], epochs: 3, seeds: 2}", "{metric: rmse, max: 500}"),
])
def test_each_family_converts_within_its_tolerance(tmp_path, task, target, train, rule):
    frame = table().drop(columns=["wear class"] if target != "wear class" else ["Tool wear [min]"])
    spec = SPEC.format(task=task, target=target, features="scale: standard", train=train, rule=rule)
    if target != "Machine failure":  # the ratio reads the column these predict
        spec = spec.replace('        - {op: ratio, columns: ["Tool wear [min]", "Torque [Nm]"], name: wear per torque}\n', "")
    run = modelfab.run(modelfab.load_spec(write_project(tmp_path, frame, spec)), hooks=[])
    info, _ = exported(run)
    assert info["exported"], (info.get("reason"), info.get("parity"))
    tolerance = 1e-4 if "mlp" in train else 1e-5
    assert info["parity"]["max_abs_diff"] <= tolerance and info["parity"]["same_predictions"]


def test_what_does_not_convert_is_said_and_required_export_is_refused_by_the_gate(tmp_path):
    train = "{type: ensemble, members: [{type: lightgbm, n_estimators: 20}, {type: linear}]}"
    run = modelfab.run(project(tmp_path / "a", train=train), hooks=[])
    info, _ = exported(run)
    assert not info["exported"] and "'ensemble' has no ONNX converter" in info["reason"]
    assert run.load("blessing").data["blessed"]  # not required: registered without its ONNX part
    run = modelfab.run(project(tmp_path / "b", train=train, extra="    export: {required: true}\n"), hooks=[])
    blessing = run.load("blessing").data
    assert not blessing["blessed"] and "export.required" in blessing["reason"]


def test_a_swapped_graph_is_refused_and_export_writes_the_file_and_its_description(tmp_path):
    proj = project(tmp_path)
    run = modelfab.run(proj, hooks=[])
    info, folder = exported(run)
    out = tmp_path / "out" / "machines.onnx"
    result = CliRunner().invoke(app, ["export", "-m", "machines@champion", "-o", str(out), "--spec",
                                      str(proj.spec_path)])
    assert result.exit_code == 0, result.output
    described = json.loads(out.with_suffix(".json").read_text())
    assert described["parity"]["passed"] and described["inputs"]["Speed [rpm]"]["type"] == "double"
    rows = table(50)
    given = feed(rows, described["inputs"])
    scores = session(out.read_bytes()).run(["scores"], given)[0]
    predictor = Predictor(run.store.path(run.refs["package"]))
    np.testing.assert_allclose(scores, predictor.unchecked_scores(rows), atol=1e-5)
    other = tmp_path / "other"
    other.mkdir()
    (other / "model.onnx").write_bytes(out.read_bytes()[:-8] + b"\x00" * 8)
    with pytest.raises(StoreError, match="SHA-256 .* not the .* recorded at export"):
        OnnxScorer(other, info)
