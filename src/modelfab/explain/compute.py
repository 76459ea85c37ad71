"""Contributions of a package's inputs to its raw output, for any family.

Exact where the family has it (`ModelFamily.contributions`: LightGBM's own tree SHAP, SHAP's
TreeExplainer for the forests, a linear model's coefficients); Integrated Gradients for the nets
(`explain.gradients`: pixels, time steps and channels, tokens, or the raw image through a
backbone); else SHAP's permutation explainer on the model's feature matrix, with a sample of
training rows as the background (one forward and one backward pass per permutation, which keeps
additivity exact). A regression blend's are the
weighted sum of its members' (all in values); a blend of classifiers averages probabilities,
which its members' margins do not add up to: it is explained by the permutation explainer on the
user's columns, in probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelfab.errors import ExplainError
from modelfab.explain.columns import feature_sources, to_inputs
from modelfab.models.base import Contributions
from modelfab.tasks import get_task


@dataclass
class Explained:
    """Contributions in the user's columns (`values`: rows, columns, outputs) and in the model's
    features (`feature_values`), with each row's base value and raw output they add up to
    (`base`, `raw`: rows, outputs). `maps`: per row, a heat map over the image's pixels (nets
    reading images). An output a method left out (a backbone explains the shown class) is NaN."""

    columns: list[str]
    values: np.ndarray
    features: list[str]
    feature_values: np.ndarray
    base: np.ndarray
    raw: np.ndarray
    method: str
    space: str
    outputs: list[str]
    maps: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.base = np.broadcast_to(np.asarray(self.base, dtype=float), self.raw.shape).copy()

    def chosen(self) -> np.ndarray:
        """Per row, the output a one-output answer shows: the only one, or the predicted class."""
        return self.raw.argmax(axis=1) if len(self.outputs) > 1 else np.zeros(len(self.raw), dtype=int)


def explain_frame(predictor, frame: pd.DataFrame, method: str = "auto",  # noqa: ANN001
                  background: pd.DataFrame | None = None, background_rows: int = 20,
                  pick: np.ndarray | None = None, steps: int = 32, targets: np.ndarray | None = None) -> Explained:
    """Explain rows already checked against the package's schema: all of them, or the positions
    in `pick` (the whole frame is transformed, so windows see each entity's history). `targets`:
    one output per explained row, for a method that explains one at a time."""
    if predictor.members:
        return _blend(predictor, frame, method, background, background_rows, pick)
    if pick is not None and not predictor.meta["schema"].get("entity"):  # no history to see: the rows alone
        frame, pick = frame.iloc[pick], None
    X = predictor.transform.transform(frame).astype(np.float32)
    images = None
    if _layout(predictor) == "embedding":  # a backbone is explained against the raw image
        images = _images(predictor, frame if pick is None else frame.iloc[pick])
    return explain_matrix(predictor, X if pick is None else X[pick], method, background, background_rows,
                          steps=steps, images=images, targets=targets)


def explain_records(predictor, records: list[dict], method: str = "auto",  # noqa: ANN001
                    background: pd.DataFrame | None = None, background_rows: int = 20, steps: int = 32) -> Explained:
    """Explain a few records already checked against the schema (the server's requests), through
    the pandas-free record path where the package has one."""
    fast = None if predictor.members else predictor.record_transform
    if fast is None:
        frame = pd.DataFrame.from_records(records, columns=predictor.meta["inputs"])
        return explain_frame(predictor, frame, method, background, background_rows, steps=steps)
    return explain_matrix(predictor, fast.transform(records), method, background, background_rows, steps=steps)


def explain_matrix(predictor, X: np.ndarray, method: str, background: pd.DataFrame | None,  # noqa: ANN001
                   background_rows: int, steps: int = 32, images: np.ndarray | None = None,
                   targets: np.ndarray | None = None) -> Explained:
    """Explain rows of the model's feature matrix, in the user's columns."""
    family = _family_name(predictor)
    contributions = None
    nets = hasattr(predictor.model, "nets_")
    if method == "gradients" and not nets:
        raise ExplainError(f"explain.method: gradients: the {family} family is not a net; its methods: "
                           f"{'exact, ' if predictor.model.has_contributions else ''}permutation (or auto)")
    if hasattr(predictor.model, "anomaly_maps") and method == "auto":
        contributions = _anomaly_maps(predictor, X)
    elif nets and method in ("auto", "gradients"):
        contributions = _gradients(predictor, X, background, background_rows, steps, images, targets)
    elif method in ("auto", "exact"):
        try:
            contributions = predictor.model.contributions(X)
        except NotImplementedError:
            if method == "exact":
                others = "gradients, permutation" if nets else "permutation"
                raise ExplainError(f"explain.method: exact: the {family} family has no exact contributions; "
                                   f"its methods: {others} (or auto)") from None
    if contributions is None:
        contributions = _permutation(predictor, X, background, background_rows, family)
    features = contributions.features or list(predictor.meta["features"])
    sources = feature_sources(features, list(predictor.meta["inputs"]), predictor.transform)
    columns, values = to_inputs(contributions.values, features, sources)
    return Explained(columns, values, features, contributions.values, contributions.base, contributions.raw,
                     contributions.method, contributions.space, _outputs(predictor), contributions.maps)


def _gradients(predictor, X: np.ndarray, background: pd.DataFrame | None, rows: int, steps: int,  # noqa: ANN001
               images: np.ndarray | None, targets: np.ndarray | None) -> Contributions:
    from modelfab.explain.gradients import integrated_gradients

    if background is None:
        raise ExplainError("explain: Integrated Gradients needs background rows (the package's reference rows)")
    sample = background.head(rows)
    back = predictor.transform.transform(sample).astype(np.float32)
    back_images = _images(predictor, sample) if images is not None else None
    column = column_step(predictor, "image").column_ if images is not None else None
    return integrated_gradients(predictor.model, X, back, steps, images, back_images, targets,
                                list(predictor.meta["features"]), column)


def _anomaly_maps(predictor, X: np.ndarray) -> Contributions:  # noqa: ANN001
    """A patch detector explains itself: the image's score over a typical good image's (0.5, the
    good training images' median), and where: each patch's distance to the good bank."""
    step = column_step(predictor, "image")
    p = predictor.model.predict_scores(X)[:, 1:2]
    values = (p - 0.5)[:, None, :]
    return Contributions(values, np.array([0.5]), p, "PatchCore anomaly map (each patch's distance to the good "
                         "images' bank)", "probability", features=[step.column_],
                         maps=predictor.model.anomaly_maps(X, step.size).astype(np.float32))


def _layout(predictor) -> str:  # noqa: ANN001
    return (predictor.meta.get("layout") or {"kind": "flat"})["kind"]


def _images(predictor, frame: pd.DataFrame) -> np.ndarray:  # noqa: ANN001
    """The rows' images as the backbone reads them: (rows, 3, size, size) in [0, 1]."""
    from modelfab.features.images import load_image

    step = column_step(predictor, "image")
    return np.stack([load_image(str(path), step.size, 3) for path in frame[step.column_]])


def column_step(predictor, name: str):  # noqa: ANN001, ANN201
    """The package transform's fitted step for one kind of input column: "image" or "text"."""
    return predictor.transform.named_steps["columns"].named_transformers_[name]



def _family_name(predictor) -> str:  # noqa: ANN001
    return str(predictor.meta.get("family", "?"))


def _outputs(predictor) -> list[str]:  # noqa: ANN001
    if get_task(predictor.task).binary:
        return [str(predictor.classes[1])]
    if predictor.task == "multiclass":
        return [str(c) for c in predictor.classes]
    return [str(predictor.meta["target"])]


def _output_of(predictor, scores: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """The scores as the explained outputs: the positive class's probability, every class's, or the value."""
    scores = np.asarray(scores, dtype=float)
    if get_task(predictor.task).binary:
        return scores[:, 1:2]
    return scores.reshape(len(scores), -1)


def _permutation(predictor, X: np.ndarray, background: pd.DataFrame | None, rows: int,  # noqa: ANN001
                 family: str) -> Contributions:
    if _layout(predictor) != "flat":
        raise ExplainError(f"explain.method: permutation: the {family} family reads images, sequences or tokens; "
                           "its methods: gradients (or auto)")
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
    if predictor.task != "regression" or method == "permutation":
        return _blend_permutation(predictor, frame if pick is None else frame.iloc[pick], background, rows)
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


def _blend_permutation(predictor, frame: pd.DataFrame, background: pd.DataFrame | None,  # noqa: ANN001
                       rows: int) -> Explained:
    """SHAP's permutation explainer over the blend's input columns (each member transforms them
    its own way), in the blend's probabilities or values. Text and category columns travel as
    codes: SHAP's masker takes numbers."""
    import shap

    if background is None:
        raise ExplainError("explain: the permutation explainer needs background rows (the package's reference rows)")
    columns = list(predictor.meta["inputs"])
    both = pd.concat([frame[columns], background[columns].head(rows)])
    codes = {c: pd.Index(both[c].dropna().unique()) for c in columns if not pd.api.types.is_numeric_dtype(both[c])}

    def encode(part: pd.DataFrame) -> np.ndarray:
        out = part[columns].copy()
        for c, index in codes.items():
            out[c] = index.get_indexer(out[c]).astype(float)
        return out.to_numpy(dtype=float)

    def f(matrix: np.ndarray) -> np.ndarray:
        decoded = pd.DataFrame(matrix, columns=columns)
        for c, index in codes.items():
            k = decoded[c].to_numpy().astype(int)
            decoded[c] = pd.Series(np.where(k >= 0, index.to_numpy(dtype=object)[k.clip(0)], None), dtype=object)
        return _output_of(predictor, predictor.unchecked_scores(decoded.astype({c: frame[c].dtype for c in columns
                                                                                 if c not in codes})))

    X = encode(frame)
    explainer = shap.PermutationExplainer(f, shap.maskers.Independent(encode(both.iloc[len(frame):]),
                                                                      max_samples=rows))
    result = explainer(X, max_evals=2 * len(columns) + 2, silent=True)
    values = np.asarray(result.values, dtype=float)
    values = values if values.ndim == 3 else values[:, :, None]
    base = np.asarray(result.base_values, dtype=float).reshape(len(frame), -1)
    space = "value" if predictor.task == "regression" else "probability"
    return Explained(columns, values, columns, values, base, f(X), "permutation SHAP on the blend's input columns",
                     space, _outputs(predictor))
