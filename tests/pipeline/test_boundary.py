"""The stage boundary: a stage sees exactly the spec keys it declares, and its cache key covers
exactly those keys; the context it gets and the errors it raises survive pickling."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from modelfab.errors import DataError, SpecError, StageError
from modelfab.pipeline.cache import section_config
from modelfab.pipeline.run import StageContext
from modelfab.pipelines.tables import PIPELINE
from modelfab.spec import parse_spec
from modelfab.spec.view import SpecView, UndeclaredKey

# A spec that sets a value in every section a stage of the table pipeline reads, so that every
# key below is a real leaf of it.
FULL = """\
version: 1
name: plant
task: regression
store: .fab
data:
  source: data.csv
  target: life
  entity: unit
  time: cycle
  drop: [serial]
  remaining_life: {cap: 125, horizon: 50}
  test: {source: test.csv, rows: last}
validate: {max_missing_rate: 0.4, min_rows: 30}
clean: {numeric_missing: mean, outliers: {method: iqr, factor: 2.0}}
split: {method: group, test_size: 0.25, valid_size: 0.2, seed: 3}
features: {scale: robust, windows: {columns: [s1], size: 5}}
train: {type: lightgbm, n_estimators: 50, seed: 7}
evaluate: {cv_folds: 0, importance_repeats: 3}
gate: {rules: [{metric: rmse, max: 40.0}]}
register: {name: plant-model, alias: production}
tracking: {uri: "sqlite:///x.db", experiment: plant}
serve: {port: 8100}
monitor: {psi: 0.3}
retrain: {min_labelled: 50}
"""


def leaves(value: object, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in leaves(v, (*path, k))]
    return [path]


def changed(raw: dict, path: tuple) -> dict | None:
    """The raw spec with the value at `path` changed to another valid one, or None."""
    import copy

    out = copy.deepcopy(raw)
    node = out
    for part in path[:-1]:
        node = node[part]
    value = node[path[-1]]
    if path[-1] in ("type", "version", "task") or value is None:
        return None  # another variant, not another value
    if isinstance(value, bool):
        node[path[-1]] = not value
    elif isinstance(value, int):
        node[path[-1]] = value + 1
    elif isinstance(value, float):
        node[path[-1]] = value / 2 if 0 < value < 1 else value + 1
    elif isinstance(value, str):
        node[path[-1]] = value + "x"
    elif isinstance(value, list) and value and not isinstance(value[0], dict):
        node[path[-1]] = value + value[:1]
    else:
        return None
    return out


def declares(stage, path: tuple) -> bool:  # noqa: ANN001
    dotted = ".".join(str(p) for p in path)
    return any(dotted == key or dotted.startswith(key + ".") or key.startswith(dotted + ".")
               for key in stage.sections)


def test_changing_any_key_changes_exactly_the_keys_of_the_stages_that_declare_it():
    spec = parse_spec(FULL)
    raw = spec.model_dump(mode="json", by_alias=True)
    before = {s.name: section_config(spec, s) for s in PIPELINE.stages}
    tried = 0
    for path in leaves(raw):
        other = changed(raw, path)
        if other is None:
            continue
        try:
            new = parse_spec(__import__("json").dumps(other))
        except SpecError:
            continue  # the changed value is not valid there; another leaf covers the section
        tried += 1
        for stage in PIPELINE.stages:
            moved = section_config(new, stage) != before[stage.name]
            assert moved == declares(stage, path), (".".join(map(str, path)), stage.name, stage.sections)
    assert tried > 40  # the walk reached most of the spec, not a handful of keys


def test_a_stage_reading_an_undeclared_key_fails():
    spec = parse_spec(FULL)
    view = SpecView(spec, ("train", "data.entity"), stage="demo")
    assert view.train.seed == 7 and view.data.entity == "unit"
    with pytest.raises(UndeclaredKey, match="stage 'demo' read spec key 'features'"):
        _ = view.features
    with pytest.raises(UndeclaredKey, match="'data.time'"):
        _ = view.data.time
    with pytest.raises(UndeclaredKey, match="'register'"):
        _ = view.model_name  # the registered name reads `name` and `register`


def test_every_stage_declares_what_it_reads_in_a_real_run(binary_project):
    """A run goes through every stage of the table pipeline with views that refuse undeclared
    keys, so any stage that reads around its declaration fails here."""
    import modelfab

    result = modelfab.run(modelfab.load_spec(binary_project), hooks=[])
    assert [r.name for r in result.records] == PIPELINE.names()


def test_stage_context_and_errors_survive_pickling(tmp_path: Path):
    spec = parse_spec(FULL)
    ctx = StageContext(stage="train", spec=SpecView(spec, ("train", "tracking.uri"), "train"), root=tmp_path,
                       store_dir=tmp_path / ".fab", tmp=tmp_path / "tmp", key="k" * 64,
                       events=lambda *a: None)
    back = pickle.loads(pickle.dumps(ctx))
    assert back.spec.train == spec.train and back.key == ctx.key and back.tracking_uri == "sqlite:///x.db"
    back.progress(1, 2, "half")  # no hooks over there: kept for the runner to replay
    assert back.pending == [("stage_progress", 1, 2, "half")]
    with pytest.raises(UndeclaredKey):
        _ = back.spec.data

    errors = [SpecError(["data.target: required key is missing", "train.seed: got 'x'"], "fab.yaml"),
              DataError("data.csv: column 'Torque' holds text"), StageError("stage 'train' failed"),
              UndeclaredKey("stage 'x' read spec key 'y'")]
    for error in errors:
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error) and str(again) == str(error)
    assert pickle.loads(pickle.dumps(errors[0])).problems == errors[0].problems
