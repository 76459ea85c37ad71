"""Build the FeatureTransform, a scikit-learn Pipeline, from the spec and the data report.

Order: repair values (Cleaner) -> add row features (combinations, windows) -> impute what the
new columns left missing, power-transform, scale, encode categories -> select.
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import (
    SelectKBest,
    VarianceThreshold,
    mutual_info_classif,
    mutual_info_regression,
)
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PowerTransformer,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

from modelfab.data.repair import Cleaner
from modelfab.errors import SpecError
from modelfab.features.encode import SignedLog, TopKByModel
from modelfab.features.images import image_transformer
from modelfab.features.rows import RowFeatures, combination_name, date_names, lag_name
from modelfab.features.text import text_transformer
from modelfab.spec.schema import FabSpec
from modelfab.tasks import get_task

SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}


def build_transform(spec: FabSpec, report: dict) -> Pipeline:
    f, c, d = spec.features, spec.clean, spec.data
    numeric, categorical = list(report["numeric"]), list(report["categorical"])
    cleaner = Cleaner(
        numeric=numeric, categorical=categorical, numeric_missing=c.numeric_missing,
        categorical_missing=c.categorical_missing, outliers=c.outliers.method,
        factor=c.outliers.factor, outlier_columns=c.outliers.columns,
    )
    rows = RowFeatures(
        keep=report["features"],
        combine=[comb.model_dump() for comb in f.combine],
        windows=f.windows.model_dump() if f.windows else None,
        denoise=c.denoise.model_dump() if c.denoise else None,
        entity=d.entity, time=d.time,
        sequence=f.sequence.model_dump() if f.sequence else None,
        dates=list(report.get("datetime", [])),
    )
    derived = [combination_name(comb.op, comb.columns, comb.name) for comb in f.combine]
    derived += [name for col in report.get("datetime", []) for name in date_names(col)]
    unknown = [col for col in f.exclude if col not in numeric and col not in categorical]
    if unknown:
        raise SpecError([f"features.exclude: {unknown[0]!r} is not an input column; the inputs: "
                         f"{', '.join(numeric + categorical)}"])
    numeric = [col for col in numeric if col not in f.exclude]
    categorical = [col for col in categorical if col not in f.exclude]
    if f.windows:
        stats = f.windows.stats
        derived += [f"{col} {s}{f.windows.size}" for col in f.windows.columns for s in stats]
    if f.sequence:
        derived += [lag_name(col, k) for col in f.sequence.columns for k in range(f.sequence.steps - 1, 0, -1)]
    # The Cleaner has filled every gap of the original numeric columns; only derived ones (a
    # ratio over zero, a window's first rows) can still be missing, so only they are imputed.
    blocks = []
    for name, columns, impute in (("numeric", numeric, False), ("derived", derived, True)):
        powered = [col for col in columns if col in f.power_columns]
        plain = [col for col in columns if col not in powered]
        if plain:
            blocks.append((name, _numeric_steps(f.scale, None, impute), plain))
        if powered:
            blocks.append((f"{name} power", _numeric_steps(f.scale, f.power, impute), powered))
    for name, kind, columns in _encodings(f, categorical, report["columns"]):
        blocks.append((name, _encoder(kind, report["task"], spec.train.seed, f.onehot_max), columns))
    # Text and images are one column each; their transformers read it as a 1-column frame.
    if f.text:
        blocks.append(("text", text_transformer(f.text), [f.text.column]))
    if f.image:
        blocks.append(("image", image_transformer(f.image), [d.image_column]))
    columns = ColumnTransformer(blocks, remainder="drop", verbose_feature_names_out=False, sparse_threshold=0)
    return Pipeline([("clean", cleaner), ("rows", rows), ("columns", columns), ("select", _selector(spec, report))])


def _numeric_steps(scale: str, power: str | None, impute: bool) -> Pipeline | str:
    steps: list = [("impute", SimpleImputer(strategy="median", keep_empty_features=True))] if impute else []
    if power == "log":
        steps.append(("power", SignedLog()))
    elif power == "yeo-johnson":
        steps.append(("power", PowerTransformer(method="yeo-johnson", standardize=False)))
    if scale != "none":
        # The scaler's input is the column transformer's own selection (or the imputer's or power
        # transform's new array), never the caller's data: scaling in place saves a whole copy.
        steps.append(("scale", SCALERS[scale](copy=False)))
    return Pipeline(steps) if steps else "passthrough"


def _encodings(f, categorical: list[str], columns: dict) -> list[tuple[str, str, list[str]]]:  # noqa: ANN001
    """(block name, encoding, columns): under auto, one-hot for few categories, target encoding for many."""
    if f.encode != "auto":
        return [("categorical", f.encode, categorical)] if categorical else []
    many = [c for c in categorical if len(columns[c].get("categories") or []) > f.onehot_max]
    few = [c for c in categorical if c not in many]
    return [block for block in (("categorical", "onehot", few), ("categorical many", "target", many)) if block[2]]


def _encoder(kind: str, task: str, seed: int, onehot_max: int = 50):  # noqa: ANN202
    if kind == "onehot":  # a column of more categories gets one column for all its rarer ones
        return OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=onehot_max + 1, sparse_output=False)
    if kind == "ordinal":
        return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    target_type = task if get_task(task).has_classes else "continuous"
    return TargetEncoder(target_type=target_type, random_state=seed)


def _selector(spec: FabSpec, report: dict):  # noqa: ANN202
    s, task = spec.features.select, report["task"]
    if s.method == "variance":
        return VarianceThreshold(s.threshold)
    if s.method == "mutual_info":
        score = mutual_info_classif if get_task(task).has_classes else mutual_info_regression
        return SelectKBest(score, k=s.k)
    if s.method == "model":
        return TopKByModel(k=s.k, task=task, seed=spec.train.seed)
    return "passthrough"
