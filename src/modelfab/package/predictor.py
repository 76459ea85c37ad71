"""A model package: the fitted transform, the model and the input schema, in one folder.

Prediction anywhere (batch, the MLflow pyfunc, the server) goes through `Predictor`, so every
path applies exactly the preprocessing training applied.

Files: `package.json`, `transform.skops`, `model/` (the family's files).
"""

from __future__ import annotations

from functools import cache, cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from modelfab.data.validate import check_against_schema
from modelfab.errors import DataError
from modelfab.features.persist import load_transform
from modelfab.models import ModelFamily
from modelfab.models import family as model_family
from modelfab.package.format import read_meta
from modelfab.tasks import get_task


@cache
def _train_config():  # noqa: ANN202
    """The validator of a package's `train:` config, built once per process (about 1 ms each)."""
    from pydantic import TypeAdapter

    from modelfab.spec.schema import TrainConfig

    return TypeAdapter(TrainConfig)


def _member(folder: Path, name: str) -> Path:
    """A blend member's folder, which must lie inside the blend's own package."""
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()) or path == folder.resolve():
        raise DataError(f"{folder / 'package.json'}: member folder {name!r} is outside the package; it is not loaded")
    return path


class Predictor:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.meta = read_meta(self.folder)
        # A blend (package/blend.py): packages of its own, whose scores are averaged.
        self.members = [(float(m["weight"]), Predictor(_member(self.folder, m["folder"])))
                        for m in self.meta.get("members", [])]

    @cached_property
    def transform(self):  # noqa: ANN201
        return load_transform(self.folder / "transform.skops")

    @cached_property
    def model(self) -> ModelFamily:
        config = _train_config().validate_python(self.meta["config"])
        family = model_family(self.meta["family"])
        return family.load(self.folder / "model", config, self.meta["task"], len(self.meta["classes"]))

    @cached_property
    def record_transform(self):  # noqa: ANN201
        """The pandas-free path for a few records, if this transform allows it and it gives the
        Pipeline's numbers on the package's reference rows; else None (the Pipeline is used)."""
        import warnings

        from modelfab.features.records import RecordTransform, Unsupported

        if self.members or not (self.folder / "reference.parquet").is_file():
            return None
        try:
            fast = RecordTransform(self.transform)
        except Unsupported:
            return None
        sample = self.reference_rows(64, self.meta["inputs"])
        if sample is None:
            return None
        expected = self.transform.transform(sample).astype(np.float32)
        got = fast.transform(sample.to_dict("records"))
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-6, atol=1e-9, equal_nan=True):
            warnings.warn(f"{self.folder}: the record path disagrees with the Pipeline on the reference rows; "
                          "using the Pipeline", stacklevel=2)
            return None
        return fast

    def reference_rows(self, rows: int, columns: list[str] | None = None) -> pd.DataFrame | None:
        """The first `rows` of the package's reference sample (reading no more), or None."""
        import pyarrow.parquet as pq

        path = self.folder / "reference.parquet"
        if not path.is_file():
            return None
        batch = next(pq.ParquetFile(path).iter_batches(batch_size=rows, columns=columns), None)
        return None if batch is None else batch.to_pandas()

    def scores_of_records(self, records: list[dict]) -> np.ndarray:
        """Scores for records already checked against the input schema (the server's request models)."""
        if self.record_transform is None:
            return self.scores(pd.DataFrame.from_records(records, columns=self.meta["inputs"]), source="request")
        return self.model.predict_scores(self.record_transform.transform(records))

    def features_of_records(self, records: list[dict]) -> np.ndarray:
        """The model's features for records already checked against the input schema."""
        if self.record_transform is not None:
            return self.record_transform.transform(records)
        frame = pd.DataFrame.from_records(records, columns=self.meta["inputs"])
        self.check(frame, "request")
        return self.transform.transform(frame)

    def outputs(self, scores: np.ndarray) -> tuple[list, np.ndarray | None]:
        """Per row: the prediction (class label or value), and class probabilities if any."""
        return get_task(self.task).predictions(scores, self.classes, self.meta["threshold"])

    @property
    def task(self) -> str:
        return self.meta["task"]

    @property
    def classes(self) -> list:
        return self.meta["classes"]

    def check(self, frame: pd.DataFrame, source: str = "input") -> None:
        problems = check_against_schema(frame, self.meta["schema"], source)
        if problems:
            raise DataError(f"{source} does not match the model's input schema:\n" + "\n".join(f"  - {p}" for p in problems))

    def scores(self, frame: pd.DataFrame, source: str = "input") -> np.ndarray:
        self.check(frame, source)
        return self.unchecked_scores(frame)

    def unchecked_scores(self, frame: pd.DataFrame) -> np.ndarray:
        """Scores of rows already checked against the schema (importance's shuffled copies)."""
        if self.members:
            total = sum(weight for weight, _ in self.members)
            return sum(weight * member.unchecked_scores(frame) for weight, member in self.members) / total
        return self.model.predict_scores(self.transform.transform(frame).astype(np.float32))

    def warm(self) -> None:
        """Load what a prediction needs now (the server, before a switch), not on a request."""
        if self.members:
            for _, member in self.members:
                member.warm()
        else:
            self.transform, self.model, self.record_transform  # noqa: B018

    def predict_frame(self, frame: pd.DataFrame, source: str = "input") -> pd.DataFrame:
        """One row per input row: `prediction`, and `proba_<class>` columns for classifiers."""
        scores = self.scores(frame, source)
        return self.frame_from_scores(scores, frame.index)

    def frame_from_scores(self, scores: np.ndarray, index: pd.Index) -> pd.DataFrame:
        values, probabilities = self.outputs(scores)
        out = pd.DataFrame({"prediction": values}, index=index)
        if probabilities is not None:
            for i, c in enumerate(self.classes):
                out[f"proba_{c}"] = probabilities[:, i]
        return out
