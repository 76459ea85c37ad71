"""Contributions of a package's inputs to its raw output, for any family.

Exact where the family has it (`ModelFamily.contributions`: LightGBM's own tree SHAP, SHAP's
TreeExplainer for the forests, a linear model's coefficients); else SHAP's permutation explainer
on the model's feature matrix, with a sample of training rows as the background (one forward and
one backward pass per permutation, which keeps additivity exact). A regression blend's are the
weighted sum of its members' (all in values); a blend of classifiers averages probabilities,
which its members' margins do not add up to: not explained yet, and said so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelfab.errors import ExplainError
from modelfab.explain.columns import feature_sources, to_inputs
from modelfab.models.base import Contributions


@dataclass
class Explained:
    """Contributions in the user's columns (`values`: rows, columns, outputs) and in the model's
    features (`feature_values`), with the base value and the raw output they add up to."""

    columns: list[str]
    values: np.ndarray
    features: list[str]
    feature_values: np.ndarray
    base: np.ndarray
    raw: np.ndarray
    method: str
    space: str
    outputs: list[str]

    def chosen(self) -> np.ndarray:
        """Per row, the output a one-output answer shows: the only one, or the predicted class."""
        return self.raw.argmax(axis=1) if len(self.outputs) > 1 else np.zeros(len(self.raw), dtype=int)


def explain_frame(predictor, frame: pd.DataFrame, method: str = "auto",  # noqa: ANN001
                  background: pd.DataFrame | None = None, background_rows: int = 20,
                  pick: np.ndarray | None = None) -> Explained:
    """Explain rows already checked against the package's schema: all of them, or the positions
    in `pick` (the whole frame is transformed, so windows see each entity's history)."""
    if predictor.members:
        return _blend(predictor, frame, method, background, background_rows, pick)
    X = predictor.transform.transform(frame).astype(np.float32)
    return explain_matrix(predictor, X if pick is None else X[pick], method, background, background_rows)


def explain_records(predictor, records: list[dict], method: str = "auto",  # noqa: ANN001
                    background: pd.DataFrame | None = None, background_rows: int = 20) -> Explained:
    """Explain a few records already checked against the schema (the server's requests), through
    the pandas-free record path where the package has one."""
    fast = None if predictor.members else predictor.record_transform
    if fast is None:
        frame = pd.DataFrame.from_records(records, columns=predictor.meta["inputs"])
        return explain_frame(predictor, frame, method, background, background_rows)
    return explain_matrix(predictor, fast.transform(records), method, background, background_rows)


def explain_matrix(predictor, X: np.ndarray, method: str, background: pd.DataFrame | None,  # noqa: ANN001
                   background_rows: int) -> Explained:
    """Explain rows of the model's feature matrix, in the user's columns."""
    family = _family_name(predictor)
    contributions = None
    if method in ("auto", "exact"):
        try:
            contributions = predictor.model.contributions(X)
        except NotImplementedError:
            if method == "exact":
                raise ExplainError(f"explain.method: exact: the {family} family has no exact contributions; "
                                "its methods: permutation (or auto)") from None
    if contributions is None:
        contributions = _permutation(predictor, X, background, background_rows, family)
    features = list(predictor.meta["features"])
    sources = feature_sources(features, list(predictor.meta["inputs"]), predictor.transform)
    columns, values = to_inputs(contributions.values, features, sources)
    return Explained(columns, values, features, contributions.values, contributions.base, contributions.raw,
                     contributions.method, contributions.space, _outputs(predictor))


def _family_name(predictor) -> str:  # noqa: ANN001
    return str(predictor.meta.get("family", "?"))


def _outputs(predictor) -> list[str]:  # noqa: ANN001
    if predictor.task == "binary":
        return [str(predictor.classes[1])]
    if predictor.task == "multiclass":
        return [str(c) for c in predictor.classes]
    return [str(predictor.meta["target"])]


def _output_of(predictor, scores: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """The scores as the explained outputs: the positive class's probability, every class's, or the value."""
    scores = np.asarray(scores, dtype=float)
    if predictor.task == "binary":
        return scores[:, 1:2]
    return scores.reshape(len(scores), -1)


def _permutation(predictor, X: np.ndarray, background: pd.DataFrame | None, rows: int,  # noqa: ANN001
                 family: str) -> Contributions:
    if (predictor.meta.get("layout") or {"kind": "flat"})["kind"] != "flat":
        raise ExplainError(f"explain: the {family} family reads images, sequences or tokens; gradient "
                        "attributions for them are not built yet (set explain.enabled: false)")
    import shap

    if background is None:
        raise ExplainError("explain: the permutation explainer needs background rows (the package's reference rows)")
    back = predictor.transform.transform(background.head(rows)).astype(np.float32)
    model = predictor.model

    def f(matrix: np.ndarray) -> np.ndarray:
        return _output_of(predictor, model.predict_scores(matrix.astype(np.float32)))

    explainer = shap.PermutationExplainer(f, shap.maskers.Independent(back, max_samples=len(back)))
    result = explainer(X, max_evals=2 * X.shape[1] + 2, silent=True)
    values = np.asarray(result.values, dtype=float)
    values = values if values.ndim == 3 else values[:, :, None]
    base = np.atleast_1d(np.asarray(result.base_values, dtype=float).reshape(len(X), -1)[0])
    space = "value" if predictor.task == "regression" else "probability"
    return Contributions(values, base, f(X), "permutation SHAP (one permutation, forward and back)", space)


def _blend(predictor, frame: pd.DataFrame, method: str, background: pd.DataFrame | None,  # noqa: ANN001
           rows: int, pick: np.ndarray | None) -> Explained:
    if predictor.task != "regression":
        raise ExplainError("explain: a blend of classifiers averages probabilities, which its members' exact "
                        "values (margins) do not add up to; explaining it is not built yet (explain.enabled: false)")
    total = sum(weight for weight, _ in predictor.members)
    parts = [(weight / total, explain_frame(member, frame, method, background, rows, pick))
             for weight, member in predictor.members]
    columns = list(dict.fromkeys(c for _, part in parts for c in part.columns))
    values = np.zeros((len(parts[0][1].raw), len(columns), 1))
    for weight, part in parts:
        for i, column in enumerate(part.columns):
            values[:, columns.index(column)] += weight * part.values[:, i]
    base = sum(weight * part.base for weight, part in parts)
    raw = sum(weight * part.raw for weight, part in parts)
    methods = ", ".join(sorted({part.method for _, part in parts}))
    return Explained(columns, values, columns, values, base, raw, f"blend: weighted sum of its members' ({methods})",
                     "value", _outputs(predictor))
