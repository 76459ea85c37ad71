"""The same modelfab package served by BentoML, for the serving benchmark only.

Run from this folder in the peer venv (benchmarks/peers/setup_bentoml.sh):
    MODELFAB_PACKAGE=/path/to/package bentoml serve bento_service:Machine --port 3000

It scores through the package's record path, as `modelfab serve` does, so the two differ only
in the serving stack (and modelfab also commits every prediction to its log; this does not).
"""

import os

import bentoml

from modelfab.package.predictor import Predictor


@bentoml.service(workers=1)
class Machine:
    def __init__(self) -> None:
        self.predictor = Predictor(os.environ["MODELFAB_PACKAGE"])
        self.predictor.record_transform  # noqa: B018 - load and check before the first request

    @bentoml.api
    def predict(self, record: dict) -> dict:
        scores = self.predictor.scores_of_records([record])
        values, probabilities = self.predictor.outputs(scores)
        return {"prediction": values[0], "probabilities": None if probabilities is None else probabilities[0].tolist()}
