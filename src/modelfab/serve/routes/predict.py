"""Predictions: `POST /predict` (one record), `/predict/batch`, and `/labels` (ground truth for
earlier predictions, joined by prediction id). Request models come from the package's schema."""

# No `from __future__ import annotations`: FastAPI reads the request models made at run time
# (Record, Batch) from the endpoints' annotations.
from typing import Any

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel

from modelfab.serve import schema as s
from modelfab.serve.state import Server


def add_routes(app: FastAPI, server: Server, Record: Any, Batch: Any) -> None:  # noqa: N803 - classes
    @app.post("/predict", response_model=s.PredictResponse, summary="Predict one record")
    def predict_one(record: Record) -> s.PredictResponse:  # type: ignore[valid-type]
        served = server.holder.current
        [p] = server.predict(served, [record.model_dump(by_alias=True)])
        return answer(s.PredictResponse(**p.model_dump(), model=served.name, version=served.version))

    @app.post("/predict/batch", response_model=s.BatchResponse, summary="Predict a batch of records")
    def predict_batch(batch: Batch) -> s.BatchResponse:  # type: ignore[valid-type]
        served = server.holder.current
        records = [r.model_dump(by_alias=True) for r in batch.records]
        return answer(s.BatchResponse(model=served.name, version=served.version,
                                      predictions=server.predict(served, records)))

    @app.post("/explain", response_model=s.ExplainResponse, summary="Why: each input column's contribution")
    def explain(batch: Batch) -> s.ExplainResponse:  # type: ignore[valid-type]
        from modelfab.errors import FabError
        from modelfab.explain.compute import explain_records

        served = server.holder.current
        records = [r.model_dump(by_alias=True) for r in batch.records]
        cfg = server.project.spec.explain
        try:
            done = explain_records(served.predictor, records, cfg.method, served.background, cfg.background,
                                   steps=cfg.steps)
        except FabError as exc:  # a family this cannot explain yet: said, not a 500
            raise HTTPException(409, str(exc)) from None
        pick = done.chosen()
        return s.ExplainResponse(model=served.name, version=served.version, method=done.method, space=done.space,
                                 explanations=[s.Explanation(
                                     output=done.outputs[k], base_value=float(done.base[i, k]), raw=float(done.raw[i, k]),
                                     contributions=dict(zip(done.columns, done.values[i, :, k].tolist(), strict=True)))
                                     for i, k in enumerate(pick)])

    @app.post("/labels", response_model=s.LabelsResponse, summary="True labels of earlier predictions")
    def labels(body: s.LabelsRequest) -> s.LabelsResponse:
        ids = [item.prediction_id for item in body.labels]
        unknown = sorted(set(ids) - server.log.known_ids(ids))
        if unknown:
            shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            raise HTTPException(404, f"no prediction with id {shown} in the prediction log; labels are "
                                     "joined to predictions by the prediction_id the server returned")
        server.log.add_labels([(item.prediction_id, item.label) for item in body.labels])
        return s.LabelsResponse(stored=len(ids))


def answer(body: BaseModel) -> Response:
    """The response, serialized once: returned as a model, FastAPI would validate it again against
    `response_model`, in a second hop to the thread pool (the models stay for the OpenAPI schema)."""
    return Response(body.model_dump_json(), media_type="application/json")
