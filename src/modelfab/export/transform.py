"""The fitted feature transform as ONNX nodes, from raw input columns to the model's float32
features: the Cleaner's fills and bounds, the row combinations, each block of the column
transformer (median imputer, signed log, Yeo-Johnson, the three scalers, one-hot, ordinal and
target encoders) and the selection. Written op by op from the fitted objects' own numbers,
in float64 as scikit-learn computes, then cast to float32 as the Python path does.

Inputs are one (N, 1) tensor per raw column: double for numeric columns (NaN is missing),
string for categorical ones (the empty string is missing). What the graph cannot hold (text,
images, an entity's earlier rows) raises `Unconvertible` naming the step.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from onnx import TensorProto

from modelfab.export.graph import Graph
from modelfab.features.rows import combination_name


class Unconvertible(Exception):
    """A step of the package that has no ONNX form here; the message names it."""


def input_names(columns: list[str]) -> dict[str, str]:
    """Each raw column's ONNX input name: letters, digits and underscores, unique."""
    names: dict[str, str] = {}
    for column in columns:
        base = re.sub(r"[^0-9A-Za-z_]+", "_", column).strip("_") or "column"
        name, i = base, 2
        while name in names.values():
            name, i = f"{base}_{i}", i + 1
        names[column] = name
    return names


def transform_graph(g: Graph, pipeline: Any) -> tuple[str, dict[str, str]]:
    """Add the transform's nodes to `g`; return the name of the (N, F) float32 features and
    each raw column's input name."""
    steps = dict(pipeline.steps)
    if set(steps) != {"clean", "rows", "columns", "select"}:
        raise Unconvertible(f"the transform's steps {sorted(steps)} are not modelfab's four")
    clean, rows, columns, select = (steps[k] for k in ("clean", "rows", "columns", "select"))
    if rows.windows or rows.denoise or rows.sequence:
        raise Unconvertible("features.windows, features.sequence and clean.denoise read an entity's earlier rows; "
                            "a graph scores one row at a time")
    if getattr(rows, "dates", ()):
        raise Unconvertible(f"the date columns {list(rows.dates)} are parsed from text in Python")
    names = input_names([*clean.numeric, *clean.categorical])
    values = _cleaned(g, clean, names)
    for comb in rows.combine:
        values[combination_name(comb["op"], comb["columns"], comb.get("name"))] = _combined(g, comb, values)
    parts = [_block(g, name, transformer, list(cols), values)
             for name, transformer, cols in columns.transformers_ if transformer != "drop" and len(cols)]
    matrix = g.concat(parts)
    if select != "passthrough":
        keep = np.flatnonzero(select.get_support()).astype(np.int64)
        matrix = g.op("Gather", matrix, g.const(keep, np.int64), axis=1)
    return g.op("Cast", matrix, to=TensorProto.FLOAT), names


def _cleaned(g: Graph, clean: Any, names: dict[str, str]) -> dict[str, str]:
    values = {}
    for col in clean.numeric:
        x = g.input(names[col], TensorProto.DOUBLE)
        values[col] = g.fill(x, g.missing(x), g.const([clean.fill_[col]]))
    for col in clean.categorical:
        x = g.input(names[col], TensorProto.STRING)
        values[col] = g.fill(x, g.op("Equal", x, g.strings([""])), g.strings([clean.fill_[col]]))
    for col, (lo, hi) in clean.bounds_.items():
        values[col] = g.op("Max", g.op("Min", values[col], g.const([hi])), g.const([lo]))
    return values


def _combined(g: Graph, comb: dict, values: dict[str, str]) -> str:
    a, b = (values[name] for name in comb["columns"])
    op = comb["op"]
    if op == "ratio":
        b = g.fill(b, g.op("Equal", b, g.const([0.0])), g.const([np.nan]))
    out = g.op({"product": "Mul", "ratio": "Div", "difference": "Sub", "sum": "Add"}[op], a, b)
    return g.fill(out, g.missing(out), g.const([np.nan]))  # an overflow is missing, as in the Pipeline


def _block(g: Graph, name: str, transformer: Any, cols: list[str], values: dict[str, str]) -> str:
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

    if isinstance(transformer, OneHotEncoder):
        return _one_hot(g, transformer, [values[c] for c in cols])
    if isinstance(transformer, OrdinalEncoder):
        return _ordinal(g, transformer, [values[c] for c in cols])
    if isinstance(transformer, TargetEncoder):
        return _target(g, transformer, [values[c] for c in cols])
    if name in ("text", "image"):
        raise Unconvertible(f"the {name} column is read by a Python transformer (tokenizer or image decoder)")
    x = g.concat([values[c] for c in cols])
    if _identity(transformer):
        return x
    for step in [s for _, s in transformer.steps] if hasattr(transformer, "steps") else [transformer]:
        x = _numeric_step(g, step, x)
    return x


def _identity(transformer: Any) -> bool:
    """"passthrough", which a fitted ColumnTransformer holds as a FunctionTransformer of nothing."""
    from sklearn.preprocessing import FunctionTransformer

    return transformer == "passthrough" or (isinstance(transformer, FunctionTransformer) and transformer.func is None)


def _numeric_step(g: Graph, step: Any, x: str) -> str:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import MinMaxScaler, PowerTransformer, RobustScaler, StandardScaler

    from modelfab.features.encode import SignedLog

    if isinstance(step, SimpleImputer) and step.strategy in ("median", "mean", "constant"):
        return g.fill(x, g.op("IsNaN", x), g.const(step.statistics_[None, :]))
    if isinstance(step, SignedLog):
        return g.op("Mul", g.op("Sign", x), g.op("Log", g.op("Add", g.op("Abs", x), g.const(1.0))))
    if isinstance(step, PowerTransformer) and step.method == "yeo-johnson" and not step.standardize:
        return _yeo_johnson(g, x, np.asarray(step.lambdas_, dtype=np.float64))
    if isinstance(step, StandardScaler):
        if step.mean_ is not None:
            x = g.op("Sub", x, g.const(step.mean_[None, :]))
        return g.op("Div", x, g.const(step.scale_[None, :])) if step.scale_ is not None else x
    if isinstance(step, MinMaxScaler) and not step.clip:
        return g.op("Add", g.op("Mul", x, g.const(step.scale_[None, :])), g.const(step.min_[None, :]))
    if isinstance(step, RobustScaler):
        if step.center_ is not None:
            x = g.op("Sub", x, g.const(step.center_[None, :]))
        return g.op("Div", x, g.const(step.scale_[None, :])) if step.scale_ is not None else x
    raise Unconvertible(f"the transform step {type(step).__name__} has no ONNX form here")


def _yeo_johnson(g: Graph, x: str, lam: np.ndarray) -> str:
    """scikit-learn's Yeo-Johnson, branch by branch; a lambda of 0 (or 2) takes the log branch."""
    positive = g.op("GreaterOrEqual", x, g.const(0.0))
    near0, near2 = np.abs(lam) < np.spacing(1.0), np.abs(lam - 2) <= np.spacing(2.0)
    lp, lm = np.where(near0, 1.0, lam)[None, :], np.where(near2, 1.0, 2 - lam)[None, :]
    xp = g.op("Max", x, g.const(0.0))
    xm = g.op("Max", g.op("Neg", x), g.const(0.0))
    pos_pow = g.op("Div", g.op("Sub", g.op("Pow", g.op("Add", xp, g.const(1.0)), g.const(lp)), g.const(1.0)),
                   g.const(lp))
    pos = g.op("Where", g.const(near0[None, :], bool), g.op("Log", g.op("Add", xp, g.const(1.0))), pos_pow)
    neg_pow = g.op("Neg", g.op("Div", g.op("Sub", g.op("Pow", g.op("Add", xm, g.const(1.0)), g.const(lm)),
                                           g.const(1.0)), g.const(lm)))
    neg = g.op("Where", g.const(near2[None, :], bool), g.op("Neg", g.op("Log", g.op("Add", xm, g.const(1.0)))),
               neg_pow)
    return g.op("Where", positive, pos, neg)


def _matches(g: Graph, x: str, categories: Any) -> list[str]:
    """One (N, 1) double per category: 1.0 where the column holds it."""
    return [g.op("Cast", g.op("Equal", x, g.strings([str(c)])), to=TensorProto.DOUBLE) for c in categories]


def _one_hot(g: Graph, encoder: Any, xs: list[str]) -> str:
    grouped = getattr(encoder, "_infrequent_enabled", False) and any(
        c is not None for c in encoder.infrequent_categories_)  # max_categories set, yet none grouped: plain
    if encoder.drop is not None or grouped:
        raise Unconvertible("a one-hot encoder that drops or groups categories")
    return g.concat([m for x, cats in zip(xs, encoder.categories_, strict=True) for m in _matches(g, x, cats)])


def _lookup(g: Graph, matches: list[str], values: np.ndarray, unknown: float) -> str:
    """sum(match_i * value_i), and `unknown` where no category matched."""
    if not matches:
        return g.const(np.full((1, 1), unknown))
    stacked = g.concat(matches)
    found = g.op("MatMul", stacked, g.const(values.reshape(-1, 1).astype(np.float64)))
    known = g.op("ReduceSum", stacked, g.const([1], np.int64), keepdims=1)
    return g.op("Add", found, g.op("Mul", g.op("Sub", g.const(1.0), known), g.const(float(unknown))))


def _ordinal(g: Graph, encoder: Any, xs: list[str]) -> str:
    if encoder.handle_unknown != "use_encoded_value":
        raise Unconvertible("an ordinal encoder that raises on unknown categories")
    return g.concat([_lookup(g, _matches(g, x, cats), np.arange(len(cats), dtype=np.float64), encoder.unknown_value)
                     for x, cats in zip(xs, encoder.categories_, strict=True)])


def _target(g: Graph, encoder: Any, xs: list[str]) -> str:
    out = []
    classes = len(encoder.classes_) if encoder.target_type_ == "multiclass" else 1
    means = np.atleast_1d(encoder.target_mean_)
    for j, (x, cats) in enumerate(zip(xs, encoder.categories_, strict=True)):
        matches = _matches(g, x, cats)
        for k in range(classes):
            out.append(_lookup(g, matches, np.asarray(encoder.encodings_[j * classes + k]), float(means[k])))
    return g.concat(out)
