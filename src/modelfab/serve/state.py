"""What every route of the server shares: the served model, the prediction log, the metrics,
the API key, and the one prediction path that logs before it answers."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import HTTPException

from modelfab.errors import FabError
from modelfab.predlog import LogError, PredictionLog
from modelfab.serve import schema as s
from modelfab.serve.holder import ModelHolder, Served
from modelfab.serve.middleware import Metrics


@dataclass
class Server:
    project: Any  # spec.load.Project
    holder: ModelHolder
    log: PredictionLog
    metrics: Metrics
    key: str | None

    @property
    def cfg(self) -> Any:
        return self.project.spec.serve

    def predict(self, served: Served, records: list[dict]) -> list[s.Prediction]:
        """Score records, commit them to the prediction log, then answer: an unlogged
        prediction is never acknowledged."""
        started = time.perf_counter()
        try:
            scores = served.scores(records)
        except (FabError, ValueError) as exc:  # values the transform refuses (scikit-learn raises ValueError)
            raise HTTPException(422, f"the model cannot score these records: {exc}") from None
        results = predictions(served, scores)
        ms = (time.perf_counter() - started) * 1000 / len(records)
        now = time.time()
        rows = [(p.prediction_id, now, served.name, served.version, rec,
                 {"prediction": p.prediction, "probabilities": p.probabilities}, ms)
                for p, rec in zip(results, records, strict=True)]
        try:
            self.log.add_predictions(rows)
        except LogError as exc:  # not logged, so not acknowledged
            raise HTTPException(503, f"{exc}; the predictions were not acknowledged, send them again") from None
        self.metrics.predictions.labels(served.name).inc(len(results))
        return results


def predictions(served: Served, scores: np.ndarray) -> list[s.Prediction]:
    values, probabilities = served.predictor.outputs(scores)
    names = [str(c) for c in served.predictor.classes]
    rows = probabilities.tolist() if probabilities is not None else [None] * len(values)
    return [s.Prediction(prediction_id=uuid.uuid4().hex, prediction=value,
                         probabilities=dict(zip(names, p, strict=True)) if p is not None else None)
            for value, p in zip(values, rows, strict=True)]
