"""Validate: infer the schema of the table (type, range, categories, missing rate per column),
decide the task, and stop with every data problem named by file and column."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelfab.artifacts import DataReport, RawTable
from modelfab.data.dates import is_dates, parse_dates
from modelfab.errors import DataError, did_you_mean
from modelfab.pipeline import stage
from modelfab.spec.schema import FabSpec, ValidateConfig
from modelfab.tasks import get_task
from modelfab.tasks.anomaly import ANOMALOUS, NORMAL, UNLABELLED

MAX_CLASSES = 50  # an integer target with more distinct values is treated as regression
ID_HINTS = ("id", "udi", "uuid", "serial", "index")
SORT_DISTINCT_ROWS = 1_000_000  # from here on, mostly-distinct float columns are counted by sorting


@stage("validate", outputs={"report": DataReport}, sections=("data", "task", "validate", "clean", "features"))
def validate(raw: RawTable, raw_test: RawTable, ctx) -> DataReport:  # noqa: ANN001
    spec: FabSpec = ctx.spec
    report = build_report(raw.frame, spec, raw.info.get("source", spec.data.source))
    if len(raw_test.frame):
        problems = check_against_schema(raw_test.frame, report, f"{spec.data.test.source}", need_target=True)
        if problems:
            raise DataError("the test data does not match the training data:\n" + "\n".join(f"  - {p}" for p in problems))
    return DataReport(report)


def build_report(frame: pd.DataFrame, spec: FabSpec, source: str) -> dict:
    cfg: ValidateConfig = spec.validate_
    data = spec.data
    problems = check_named_columns(frame, spec, source)
    if problems:
        raise DataError(f"{source} does not have the columns fab.yaml names:\n" + "\n".join(f"  - {p}" for p in problems))
    if len(frame) < cfg.min_rows:
        raise DataError(f"{source}: has {len(frame)} rows; validate.min_rows asks for at least {cfg.min_rows}")

    target = frame[data.target]
    task, classes, positive = target_classes(target, spec, source)

    columns, warnings, problems, empty = {}, [], [], []
    left_out: dict[str, str] = {}  # column -> why it is not a feature, for the error when none is left
    excluded = {data.target, *data.drop, *([data.entity] if data.entity else [])}
    features = []
    modal = _modal_columns(spec)
    for name in frame.columns:
        col, invalid = frame[name], []
        if name not in modal and name != data.target and col.dtype == object:
            col, invalid = numbers_with_typos(col)
        if name != data.target and pd.api.types.is_float_dtype(col):
            col, infinite = without_infinities(col)
            invalid += infinite
        info = describe_column(col, cfg.max_categories)
        if name in modal:
            info["kind"] = modal[name]  # free text and image paths: many distinct values, yet features
        if invalid:
            info["invalid"] = {"rule": spec.clean.invalid, "cells": len(invalid), "examples": invalid[:5]}
            said = invalid_cells(name, invalid, source, spec.clean.invalid)
            (problems if spec.clean.invalid == "error" else warnings).append(said)
        columns[name] = info
        if name in excluded:
            if name in data.drop or name == data.entity:
                left_out[name] = "data.drop" if name in data.drop else "data.entity"
            continue
        if info["kind"] == "datetime" and info.get("unparsed"):
            warnings.append(unparsed_dates(name, info["unparsed"]))
        why, warning = _left_out(name, info, name in modal, len(frame), cfg.max_missing_rate)
        if warning:
            warnings.append(warning)
        if why == "missing":
            empty.append(f"{name!r} is {info['missing_rate']:.0%} missing")
        elif why:
            left_out[name] = why
        else:
            features.append(name)
    if empty:  # every problem at once: one run to learn them all, not one per column
        limit = f"validate.max_missing_rate {cfg.max_missing_rate:.0%}"
        problems.append(f"column {empty[0]}, more than {limit}; drop it (data.drop) or raise the limit" if len(empty) == 1
                        else f"{len(empty)} columns are more missing than {limit}: {', '.join(empty[:30])}"
                        f"{f' and {len(empty) - 30} more' if len(empty) > 30 else ''}; drop them (data.drop) or "
                        "raise the limit")
    if problems:
        raise DataError(f"{source} has {len(problems)} problem{'s' if len(problems) > 1 else ''}:\n"
                        + "\n".join(f"  - {p}" for p in problems))
    if not features:
        raise _nothing_left(source, left_out)
    warnings += _late_columns(frame, [f for f in features if columns[f]["kind"] == "datetime"], data.time)
    return {
        "source": source,
        "rows": len(frame),
        "task": task,
        "target": data.target,
        "classes": classes,
        **({"positive": positive} if positive else {}),
        "features": features,
        "numeric": [f for f in features if columns[f]["kind"] == "numeric"],
        "categorical": [f for f in features if columns[f]["kind"] == "categorical"],
        "text": [f for f in features if columns[f]["kind"] == "text"],
        "datetime": [f for f in features if columns[f]["kind"] == "datetime"],
        "image": [f for f in features if columns[f]["kind"] == "image"],
        "entity": data.entity,
        "time": data.time,
        "columns": columns,
        "warnings": warnings,
    }


def _late_columns(frame: pd.DataFrame, dates: list[str], time: str | None) -> list[str]:
    """Warnings for date features recorded after data.time (the outcome's moment): leaks."""
    from modelfab.data.leaks import after_time

    if not time or not dates or time not in frame.columns:
        return []
    return [f"column {leak.columns[0]!r} leaks the answer: {leak.evidence}; list it in data.drop"
            for leak in after_time(frame[[time, *[d for d in dates if d != time]]], time)]


def _nothing_left(source: str, left_out: dict[str, str]) -> DataError:
    """No feature column is left: name each one left out and why."""
    said = "; ".join(f"{name!r} ({why})" for name, why in list(left_out.items())[:12])
    more = f" and {len(left_out) - 12} more" if len(left_out) > 12 else ""
    constant = all(why in ("one value only", "data.drop", "data.entity") for why in left_out.values())
    hint = " (every feature column is constant)" if constant else ""
    return DataError(f"{source}: no feature columns are left{hint}; left out: {said}{more}")


def _left_out(name: str, info: dict, modal: bool, rows: int, max_missing: float) -> tuple[str | None, str | None]:
    """Why a column is not a feature ("missing" when too empty: an error), and what to warn."""
    if info["kind"] == "text" and not modal:
        return "free text", (f"column {name!r} is free text and is not used as a feature; name it in features.text "
                             "(method: tfidf) to use it, or list it in data.drop to silence this")
    if info["kind"] == "identifier":
        return "an identifier", (f"column {name!r} looks like an identifier ({info['n_unique']} distinct values in "
                                 f"{rows} rows) and is not used as a feature; list it in data.drop to silence this")
    if info["missing_rate"] > max_missing:
        return "missing", None
    if info["kind"] == "constant":
        return "one value only", f"column {name!r} holds one value only and is not used as a feature"
    return None, None


def unparsed_dates(name: str, unparsed: dict) -> str:
    shown = ", ".join(repr(v) for v in unparsed["examples"])
    return (f"column {name!r} holds dates, but {unparsed['cells']} filled cells are not dates in any format "
            f"(e.g. {shown}) and count as missing")


NUMBERS_AT_LEAST = 0.95  # of a column's filled cells, for the rest to be typos in a column of numbers
SAMPLE_CELLS = 1000


def numbers_with_typos(col: pd.Series) -> tuple[pd.Series, list[list]]:
    """A text column whose cells are nearly all numbers: the numbers (typos as missing) and the
    typos as [line, value]; any other column comes back as it is, with no typos."""
    head = col.head(SAMPLE_CELLS).dropna()  # most text columns are told apart by their first cells
    if len(head) and pd.to_numeric(head, errors="coerce").notna().mean() < NUMBERS_AT_LEAST:
        return col, []
    filled = col.notna()
    numbers = pd.to_numeric(col, errors="coerce")
    typos = filled & numbers.isna()
    if not typos.any() or numbers.notna().sum() < NUMBERS_AT_LEAST * filled.sum():
        return col, []
    return numbers, [[int(line), str(col.loc[line])] for line in col.index[typos]]


def without_infinities(col: pd.Series) -> tuple[pd.Series, list[list]]:
    """A float column with infinite cells as missing (the Cleaner fills them as it fills gaps),
    and those cells as [line, value]."""
    infinite = np.isinf(col.to_numpy())
    if not infinite.any():
        return col, []
    return col.mask(infinite), [[int(line), str(col.loc[line])] for line in col.index[infinite]]


def _cells(invalid: list) -> str:
    return f"{len(invalid)} cells are not finite numbers" if len(invalid) > 1 else "1 cell is not a finite number"


def invalid_cells(name: str, invalid: list[list], source: str, rule: str) -> str:
    """What `clean.invalid` did with a column's typos (null), or the problem that stops the run (error)."""
    shown = ", ".join(f"line {line}: {value!r}" for line, value in invalid[:5])
    more = f" and {len(invalid) - 5} more" if len(invalid) > 5 else ""
    if rule == "error":
        return (f"column {name!r} holds numbers but {_cells(invalid)} ({shown}{more}); "
                "fix them, or set clean.invalid: null to count them as missing")
    return (f"column {name!r}: {_cells(invalid)} ({shown}{more}) and count as missing "
            "(clean.invalid: null)")


def _modal_columns(spec: FabSpec) -> dict[str, str]:
    f = spec.features
    return ({f.text.column: "text"} if f.text else {}) | ({spec.data.image_column: "image"} if f.image else {})


def check_named_columns(frame: pd.DataFrame, spec: FabSpec, source: str) -> list[str]:
    named: list[tuple[str, str]] = [("data.target", spec.data.target)]
    f = spec.features
    named += [("features.text.column", f.text.column)] if f.text else []
    named += [("data.images.column", spec.data.image_column)] if f.image else []
    named += [("features.sequence.columns", c) for c in f.sequence.columns] if f.sequence else []
    named += [("data.drop", c) for c in spec.data.drop]
    named += [(f"data.{k}", getattr(spec.data, k)) for k in ("entity", "time") if getattr(spec.data, k)]
    named += [("features.power_columns", c) for c in spec.features.power_columns]
    named += [(f"features.combine[{i}].columns", c) for i, comb in enumerate(spec.features.combine) for c in comb.columns]
    if spec.features.windows:
        named += [("features.windows.columns", c) for c in spec.features.windows.columns]
    if spec.clean.denoise:
        named += [("clean.denoise.columns", c) for c in spec.clean.denoise.columns]
    if spec.clean.outliers.columns:
        named += [("clean.outliers.columns", c) for c in spec.clean.outliers.columns]
    return [
        f"{key}: column {col!r} is not in {source}.{did_you_mean(col, frame.columns)}"
        for key, col in named
        if col not in frame.columns
    ]


def target_classes(target: pd.Series, spec: FabSpec, source: str) -> tuple[str, list, dict | None]:
    """The task the target makes, its classes (a binary one's positive last) and how the positive
    class was chosen."""
    data = spec.data
    if target.isna().all():
        raise DataError(f"{source}: target column {data.target!r} has no values")
    if is_unlabelled(data.target, spec.task) and spec.task == "cluster":
        return "cluster", [], None
    if is_unlabelled(data.target, spec.task):
        positive = {"class": ANOMALOUS, "chosen": "no label column: every training row is taken as normal", "share": 0.0}
        return "anomaly", [NORMAL, ANOMALOUS], positive
    task, classes = infer_task(target.dropna(), spec.task)
    chosen = ANOMALOUS if data.normal is not None and task == "anomaly" else data.positive
    classes, positive = positive_last(target.dropna(), task, classes, chosen, source)
    if get_task(task).has_classes and len(classes) < 2:
        raise DataError(
            f"{source}: target {data.target!r} has a single class ({classes[0]!r}) in all "
            f"{target.notna().sum()} labelled rows; a classifier needs at least two classes"
        )
    return task, classes, positive


def is_unlabelled(target: str | None, task: str) -> bool:
    return target == UNLABELLED and task in ("anomaly", "cluster")


def infer_task(target: pd.Series, declared: str) -> tuple[str, list]:
    numeric = pd.api.types.is_numeric_dtype(target) and not pd.api.types.is_bool_dtype(target)
    if declared == "regression":
        if not numeric:
            raise DataError(f"task is regression but target {target.name!r} holds text, e.g. {target.iloc[0]!r}")
        return "regression", []
    values = np.sort(target.unique()) if numeric else sorted(target.astype(str).unique())
    integral = numeric and np.all(np.mod(target.to_numpy(dtype=float), 1) == 0)
    if declared == "auto" and numeric and (not integral or len(values) > MAX_CLASSES):
        return "regression", []
    classes = [v.item() if hasattr(v, "item") else v for v in values]
    if declared == "auto":
        declared = "binary" if len(classes) == 2 else "multiclass"
    if declared == "binary" and len(classes) > 2:
        raise DataError(f"task is binary but target {target.name!r} has {len(classes)} classes: {classes[:10]}")
    if declared == "anomaly" and len(classes) != 2:
        raise DataError(f"task anomaly: label column {target.name!r} has {len(classes)} value(s) {classes[:10]}; "
                        "expected two, the normal one and the anomalous one (data.positive names the anomalous)")
    return declared, classes


def positive_last(target: pd.Series, task: str, classes: list, chosen: object, source: str) -> tuple[list, dict | None]:
    """A binary task's classes with the positive one last (index 1: the class scores, F1 and the
    threshold are about), and how it was chosen: `data.positive`, else the rarer class."""
    if not get_task(task).binary:
        if chosen is not None:
            raise DataError(f"data.positive applies to a binary target; {target.name!r} is {task} here")
        return classes, None
    counts = target.astype(str).value_counts()
    if chosen is not None:
        if str(chosen) not in {str(c) for c in classes}:
            raise DataError(f"{source}: data.positive {chosen!r} is not a class of target {target.name!r} "
                            f"(its classes: {', '.join(map(repr, classes))})")
        positive, how = next(c for c in classes if str(c) == str(chosen)), "data.positive"
    else:
        rarer = min(classes, key=lambda c: (counts.get(str(c), 0), -classes.index(c)))  # a tie: the later class
        positive, how = rarer, "the rarer class"
    share = counts.get(str(positive), 0) / max(len(target), 1)
    return [c for c in classes if c != positive] + [positive], {"class": positive, "chosen": how, "share": share}


def describe_column(col: pd.Series, max_categories: int) -> dict:
    n = len(col)
    missing = int(col.isna().sum())
    n_unique = distinct_count(col)
    info: dict = {"dtype": str(col.dtype), "missing_rate": missing / n if n else 0.0, "n_unique": n_unique}
    if n_unique <= 1:
        info["kind"] = "constant"
    elif pd.api.types.is_datetime64_any_dtype(col) or is_dates(col):
        info["kind"] = "datetime"
        info.update(_unparsed(col))
    elif pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        values = col.to_numpy(dtype=float, na_value=np.nan)  # no copy for float columns
        info.update(kind="numeric", min=float(np.nanmin(values)), max=float(np.nanmax(values)),
                    mean=float(np.nanmean(values)), std=float(np.nanstd(values)))
        info["integer"] = bool(pd.api.types.is_integer_dtype(col) or np.nansum(values != np.floor(values)) == 0)
    elif n_unique <= max_categories:
        info.update(kind="categorical", categories=sorted(col.dropna().astype(str).unique().tolist()))
    elif is_free_text(col):
        info["kind"] = "text"
    elif n_unique <= REPEATS * (n - missing):  # many values, each seen again: part numbers, suppliers
        info.update(kind="categorical", categories=sorted(col.dropna().astype(str).unique().tolist()))
    else:
        info["kind"] = "identifier"
    if info["kind"] == "numeric" and n_unique == n and col.name and str(col.name).lower().strip() in ID_HINTS:
        info["kind"] = "identifier"
    return info


REPEATS = 0.5  # distinct values per filled cell at most, for a many-valued text column to be a category
WORDS_AT_LEAST = 3  # the median words per cell of free text (notes, defect descriptions)


def _unparsed(col: pd.Series) -> dict:
    """A text date column's filled cells that parse in no format (mixed formats are read row by row)."""
    if pd.api.types.is_datetime64_any_dtype(col):
        return {}
    bad = col[col.notna() & parse_dates(col).isna()]
    if not len(bad):
        return {}
    return {"unparsed": {"cells": int(len(bad)), "examples": bad.astype(str).unique()[:5].tolist()}}


def is_free_text(col: pd.Series) -> bool:
    """Text of several words per cell: read by TF-IDF, not as one category per distinct value."""
    sample = col.dropna().astype(str)
    sample = sample.iloc[:: max(len(sample) // 500, 1)][:500]
    return bool(len(sample)) and float(sample.str.count(r"[^\W\d_]+").median()) >= WORDS_AT_LEAST


def distinct_count(col: pd.Series) -> int:
    """Distinct non-missing values, as `Series.nunique()` counts them.

    A hash table over millions of distinct floats misses the cache on almost every insert:
    4M distinct values take 1.1 s, sorting a copy 0.3 s. When values repeat a lot the hash
    table is the faster (0.15 s against 0.4 s), so a strided sample of 10,000 decides."""
    if len(col) >= SORT_DISTINCT_ROWS and pd.api.types.is_float_dtype(col):
        values = col.to_numpy()
        sample = values[:: max(len(values) // 10_000, 1)]
        sample = sample[~np.isnan(sample)]
        if len(sample) and len(np.unique(sample)) > 0.9 * len(sample):
            ordered = np.sort(values[~np.isnan(values)])
            return int((ordered[1:] != ordered[:-1]).sum() + 1) if len(ordered) else 0
    return int(col.nunique())


def check_against_schema(frame: pd.DataFrame, report: dict, source: str, need_target: bool = False) -> list[str]:
    """Problems of a new table against the training schema: missing columns, text in numbers."""
    needed = list(report["features"]) + [c for c in (report.get("entity"), report.get("time")) if c]
    if need_target:
        needed.append(report["target"])
    problems = []
    for name in dict.fromkeys(needed):
        if name not in frame.columns:
            problems.append(f"{source}: column {name!r} is missing.{did_you_mean(name, frame.columns)}")
            continue
        column = report["columns"][name]
        if column.get("invalid", {}).get("rule") == "null":
            continue  # typos count as missing here too, as they did in training
        if column["kind"] == "numeric" and not pd.api.types.is_numeric_dtype(frame[name]):
            bad = first_non_number(frame[name])
            if bad is not None:
                line, value = bad
                problems.append(f"{source} line {line}: column {name!r} holds {value!r}; expected a number")
    return problems


def first_non_number(col: pd.Series) -> tuple[int, object] | None:
    converted = pd.to_numeric(col, errors="coerce")
    bad = converted.isna() & col.notna()
    if not bad.any():
        return None
    line = bad.idxmax()
    return int(line), col.loc[line]
