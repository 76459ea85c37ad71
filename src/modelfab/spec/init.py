"""`modelfab init`: write a commented fab.yaml from a data file and a target column."""

from __future__ import annotations

from pathlib import Path

from modelfab.errors import DataError, FabError, did_you_mean

TEMPLATE = """\
# modelfab spec: `modelfab run` trains, evaluates, gates and registers a model from this file.
# `modelfab schema` prints every key with its type, default and description.
version: 1
name: {name}
task: {task}            # auto | binary | multiclass | regression (inferred from {target!r})

data:
  source: {source}
  target: {target}
  drop: {drop}    # identifiers and columns that leak the answer

split:
  method: auto          # stratified for classes, group with data.entity, else random
  test_size: 0.2
  valid_size: 0.15

features:
  scale: standard       # standard | minmax | robust | none
  encode: onehot        # onehot | ordinal | target

train:
  type: lightgbm        # lightgbm | linear
  n_estimators: 500
  learning_rate: 0.05

gate:                   # a candidate is registered only if it passes every rule
  rules:
    - {{metric: {metric}, {bound}: {value}, min_delta: 0.0}}
"""


def write_spec(data: Path, target: str, out: Path, force: bool = False) -> str:
    from modelfab.data.read import read_table
    from modelfab.data.validate import describe_column, infer_task

    if out.exists() and not force:
        raise FabError(f"{out} exists; pass --force to overwrite it")
    frame = read_table(data, key="DATA")
    if target not in frame.columns:
        raise DataError(f"--target: column {target!r} is not in {data.name}.{did_you_mean(target, frame.columns)}")
    task, _ = infer_task(frame[target].dropna(), "auto")
    ids = [c for c in frame.columns if c != target and describe_column(frame[c], 50)["kind"] == "identifier"]
    metric, bound, value = ("rmse", "max", _round(frame[target].std())) if task == "regression" else (
        ("f1", "min", 0.5) if task == "binary" else ("accuracy", "min", 0.5))
    try:
        source = data.resolve().relative_to(out.parent.resolve())
    except ValueError:
        source = data.resolve()
    name = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in data.stem).strip("-") or "model"
    text = TEMPLATE.format(name=name, task=task, target=target, source=source, drop=_yaml_list(ids),
                           metric=metric, bound=bound, value=value)
    out.write_text(text, encoding="utf-8")
    return task


def _yaml_list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _round(x: float) -> float:
    return float(f"{x:.3g}")
