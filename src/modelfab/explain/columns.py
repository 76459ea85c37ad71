"""The model's features back in the user's columns: a one-hot column, a window statistic or a
lag belongs to the input column it came from; a combination of two columns is shared equally
between them. Contributions are summed through this map, so they still add up."""

from __future__ import annotations

import numpy as np

from modelfab.features.rows import combination_name

OTHER = "(other)"


def feature_sources(features: list[str], inputs: list[str], transform) -> dict[str, list[str]]:  # noqa: ANN001
    """Each model feature -> the input columns it is made from."""
    steps = dict(getattr(transform, "steps", []))
    rows = steps.get("rows")
    combined = {combination_name(c["op"], c["columns"], c.get("name")): list(c["columns"])
                for c in (getattr(rows, "combine", None) or ())}
    by_length = sorted(inputs, key=len, reverse=True)
    sources = {}
    for feature in features:
        if feature in inputs:
            sources[feature] = [feature]
        elif feature in combined:
            sources[feature] = combined[feature]
        else:  # one-hot "Type_H", a window's "s2_mean30", a lag's "s2_lag3": the longest prefix
            sources[feature] = [next((c for c in by_length if feature.startswith(c)), OTHER)]
    return sources


def to_inputs(values: np.ndarray, features: list[str], sources: dict[str, list[str]]) -> tuple[list[str], np.ndarray]:
    """(rows, features, outputs) contributions summed into (rows, columns, outputs)."""
    columns = list(dict.fromkeys(c for f in features for c in sources[f]))
    weights = np.zeros((len(features), len(columns)))
    index = {c: i for i, c in enumerate(columns)}
    for i, feature in enumerate(features):
        for column in sources[feature]:
            weights[i, index[column]] += 1.0 / len(sources[feature])
    return columns, np.einsum("nfk,fc->nck", values, weights)
