"""The bad-input suite: one case per kind of mistake a new user or a careless operator makes,
run against a project that already has a registered champion. Each must end with one clear
message naming the place (key, file, column, line, version), a usage or data exit code, no
traceback, and nothing already stored changed: every object still whole, the registry's
versions and aliases as they were."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import modelfab
from modelfab.artifacts import integrity
from modelfab.artifacts.store import ArtifactStore, Ref
from modelfab.cli import app
from modelfab.registry import client as registry
from modelfab.spec.load import tracking_uri
from tests.conftest import BINARY_SPEC, machine_table, write_project


def spec_edit(old: str, new: str):  # noqa: ANN201
    return lambda folder: (folder / "fab.yaml").write_text((folder / "fab.yaml").read_text().replace(old, new, 1))


def spec_add(text: str):  # noqa: ANN201
    return lambda folder: (folder / "fab.yaml").write_text((folder / "fab.yaml").read_text() + text)


def data_edit(change):  # noqa: ANN001, ANN201
    def apply(folder: Path) -> None:
        frame = pd.read_csv(folder / "data.csv")
        change(frame).to_csv(folder / "data.csv", index=False)
    return apply


def set_cells(column: str, rows: list[int], value: object):  # noqa: ANN201
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].astype(object)
        frame.loc[rows, column] = value
        return frame
    return data_edit(change)


def write(name: str, text: str | bytes):  # noqa: ANN201
    def apply(folder: Path) -> None:
        path = folder / name
        path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
    return apply


def rows_file(change=lambda f: f):  # noqa: ANN001, ANN201
    """A file of rows to predict, changed by `change`."""
    def apply(folder: Path) -> None:
        frame = machine_table(20, seed=3).drop(columns=["Machine failure"])
        change(frame).to_csv(folder / "rows.csv", index=False)
    return apply


def nothing(folder: Path) -> None:
    """The mistake is in the command line only."""


RUN = ("run", "{spec}")
PREDICT = ("predict", "{folder}/rows.csv", "-m", "machines@champion", "-o", "{folder}/out.csv", "--spec", "{spec}")
CASES = {
    # the spec
    "unknown key": (spec_edit("drop: [UDI]", "drop: [UDI]\n  tagret: x"), RUN, 2, ["data.tagret: unknown key"]),
    "wrong type": (spec_edit("n_estimators: 60", "n_estimators: many"), RUN, 2, ["train.n_estimators"]),
    "out of range": (spec_edit("learning_rate: 0.1", "learning_rate: -0.1"), RUN, 2, ["train.learning_rate: got -0.1"]),
    "not YAML": (spec_add("serve: [unclosed\n"), RUN, 2, ["fab.yaml", "not valid YAML"]),
    "unknown family": (spec_edit("type: lightgbm", "type: lightgbn"), RUN, 2,
                       ["line 10: train: got type 'lightgbn'", "Did you mean 'lightgbm'"]),
    "metric of another task": (spec_edit("metric: roc_auc, min: 0.6", "metric: rmse, max: 0.6"), RUN, 2,
                               ["gate.rules[0].metric: 'rmse' is not computed for binary tasks"]),
    "missing target column": (spec_edit("target: Machine failure", "target: Machine failur"), RUN, 3,
                              ["'Machine failur'", "Did you mean 'Machine failure'"]),
    "missing data file": (spec_edit("source: data.csv", "source: dat.csv"), RUN, 3, ["data.source", "dat.csv"]),
    "positive class not a class": (spec_edit("drop: [UDI]", "drop: [UDI]\n  positive: yes-fail"), RUN, 3,
                                   ["data.positive 'yes-fail' is not a class"]),
    "combined column not in data": (spec_edit('columns: ["Torque [Nm]", "Speed [rpm]"]', 'columns: ["Torque", "Speed [rpm]"]'),
                                    RUN, 3, ["'Torque'"]),
    "unknown stage for --from": (nothing, ("run", "{spec}", "--from", "trian"), 2, ["trian"]),
    "spec file missing": (nothing, ("run", "{folder}/nope.yaml"), 2, ["nope.yaml", "file not found"]),
    # the data
    "empty data file": (write("data.csv", ""), RUN, 3, ["data.csv", "empty"]),
    "ragged row": (lambda f: open(f / "data.csv", "a").write("1,L,2,3,4,5,6,7\n"), RUN, 3, ["data.csv line", "fields"]),
    "not a Parquet file": (write("data.csv", b"PAR1\x00garbage"), RUN, 3, ["data.csv"]),
    "one class only": (data_edit(lambda f: f.assign(**{"Machine failure": 0})), RUN, 3, ["single class"]),
    "target empty": (set_cells("Machine failure", list(range(400)), np.nan), RUN, 3, ["'Machine failure' has no values"]),
    "too few rows": (data_edit(lambda f: f.head(5)), RUN, 3, ["validate.min_rows"]),
    "typos under clean.invalid: error": (lambda f: (set_cells("Torque [Nm]", [3, 9], "abc")(f),
                                                    spec_add("clean: {invalid: error}\n")(f)), RUN, 3,
                                         ["'Torque [Nm]' holds numbers but 2 cells are not finite", "line 5: 'abc'"]),
    "mostly empty columns": (lambda f: (set_cells("Torque [Nm]", list(range(300)), np.nan)(f),
                                        set_cells("Tool wear [min]", list(range(300)), np.nan)(f)), RUN, 3,
                             ["2 columns are more missing than validate.max_missing_rate 50%", "'Tool wear [min]'"]),
    # prediction
    "prediction input missing a column": (rows_file(lambda f: f.drop(columns=["Torque [Nm]"])), PREDICT, 3,
                                          ["rows.csv: column 'Torque [Nm]' is missing"]),
    "prediction input with text in numbers": (rows_file(lambda f: f.astype({"Speed [rpm]": object}).assign(
        **{"Speed [rpm]": ["fast"] + list(f["Speed [rpm]"][1:])})), PREDICT, 3, ["rows.csv line 2", "'fast'"]),
    "prediction input file missing": (nothing, PREDICT, 3, ["rows.csv"]),
    "unknown model": (rows_file(), ("predict", "{folder}/rows.csv", "-m", "machine", "-o", "{folder}/o.csv",
                                    "--spec", "{spec}"), 4, ["model 'machine' is not in the registry"]),
    "unknown alias": (rows_file(), ("predict", "{folder}/rows.csv", "-m", "machines@staging", "-o", "{folder}/o.csv",
                                    "--spec", "{spec}"), 4, ["has no alias 'staging'"]),
    "promote a version that is not there": (nothing, ("models", "promote", "machines", "9", "--spec", "{spec}"), 4,
                                            ["has no version 9"]),
    "rollback with no earlier champion": (nothing, ("models", "rollback", "machines", "--spec", "{spec}"), 4,
                                          ["no earlier champion"]),
    "port out of range": (nothing, ("serve", "-m", "machines", "--spec", "{spec}", "--port", "70000"), 2, ["--port"]),
    "monitor with no prediction log": (nothing, ("monitor", "-m", "machines", "--spec", "{spec}"), 3,
                                       ["no prediction log"]),
    "init over an existing spec": (nothing, ("init", "{folder}/data.csv", "--target", "Machine failure", "-o",
                                             "{spec}"), 1, ["exists", "--force"]),
}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad-input") / "proj"
    modelfab.run(modelfab.load_spec(write_project(folder, machine_table(400), BINARY_SPEC)), hooks=[])
    return folder


def snapshot(folder: Path) -> tuple[set[str], list]:
    store = ArtifactStore(folder / ".fab")
    objects = {p.name for p in store.objects.glob("*/*")}
    c = registry.client(tracking_uri(None, folder / ".fab"))  # the spec may be the broken part
    versions = [(v.version, v.digest, v.aliases) for v in registry.versions(c, "machines")]
    return objects, versions


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_named_and_loses_nothing(base, tmp_path, case):
    folder = tmp_path / "proj"
    shutil.copytree(base, folder, symlinks=True)
    objects, versions = snapshot(base)
    change, command, code, needles = CASES[case]
    change(folder)
    result = CliRunner().invoke(app, [a.format(folder=folder, spec=folder / "fab.yaml") for a in command])
    text = " ".join(result.output.split())
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    for needle in needles:
        assert needle in text, result.output
    store = ArtifactStore(folder / ".fab")
    integrity._HASHED.clear()
    kinds = {p.name: p for p in store.manifests.glob("*/*.json")}
    for digest in objects:  # every object stored before is still there and whole
        kind = __import__("json").loads(kinds[f"{digest}.json"].read_text())["kind"]
        assert store.check(Ref(kind, digest), deep=True) is None, digest
    after_objects, after_versions = snapshot(folder)
    assert objects <= after_objects and after_versions == versions
