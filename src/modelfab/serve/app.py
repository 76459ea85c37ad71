"""The prediction server: FastAPI over a registered model package.

Endpoints
    POST /predict, /predict/batch      one record, or {"records": [...]}
    POST /labels                       ground truth for earlier predictions, by prediction id
    GET  /v2/health/live|ready, GET /v2/models/{name}[/ready], POST /v2/models/{name}/infer
                                       the Open Inference Protocol v2 (KServe, Triton clients)
    GET  /metrics                      Prometheus
    POST /admin/reload|promote|rollback  need the API key (header X-API-Key or Bearer)

Every acknowledged prediction is in the prediction log first (see serve/log.py).
"""

# No `from __future__ import annotations` here: FastAPI reads the request models made at run
# time (Record, Batch) from the endpoints' annotations.
import json
import os
import secrets
import threading
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from modelfab.errors import FabError
from modelfab.monitor.run import latest_path, log_path
from modelfab.registry import client as registry
from modelfab.serve import schema as s
from modelfab.serve.holder import InputsChanged, ModelHolder, Served
from modelfab.serve.log import LogError, PredictionLog
from modelfab.serve.middleware import BodyLimit, Metrics
from modelfab.spec.load import Project


def create_app(project: Project, ref: str, api_key: str | None = None) -> FastAPI:
    """The server for model `ref` (NAME@ALIAS, NAME/VERSION or NAME) of the project's registry."""
    cfg = project.spec.serve
    holder = ModelHolder(project.tracking_uri, ref)
    log = PredictionLog(log_path(project))
    key = api_key if api_key is not None else read_api_key(project)
    metrics = Metrics()
    metrics.model_version(holder.current)
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(cfg.watch_seconds):
            try:
                if holder.refresh():
                    metrics.model_version(holder.current)
            except Exception:  # noqa: BLE001 - a registry hiccup must not stop serving the current model
                metrics.watch_errors.inc()

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # noqa: ANN202
        watcher = threading.Thread(target=watch, name="champion-watch", daemon=True)
        if cfg.watch_seconds and holder.alias:
            watcher.start()
        yield
        stop.set()
        log.close()

    app = FastAPI(title=f"modelfab: {holder.name}", version="1", lifespan=lifespan)
    app.state.holder, app.state.log = holder, log
    Record = holder.current.record  # noqa: N806 - a class; a later model with new inputs needs a restart
    Batch = s.batch_model(Record, cfg.max_batch)  # noqa: N806

    def predict(served: Served, records: list[dict]) -> list[s.Prediction]:
        started = time.perf_counter()
        try:
            scores = served.predictor.scores_of_records(records)
        except (FabError, ValueError) as exc:  # values the transform refuses (scikit-learn raises ValueError)
            raise HTTPException(422, f"the model cannot score these records: {exc}") from None
        results = _predictions(served, scores)
        ms = (time.perf_counter() - started) * 1000 / len(records)
        now = time.time()
        rows = [(p.prediction_id, now, served.name, served.version, rec,
                 {"prediction": p.prediction, "probabilities": p.probabilities}, ms)
                for p, rec in zip(results, records, strict=True)]
        try:
            log.add_predictions(rows)
        except LogError as exc:  # not logged, so not acknowledged
            raise HTTPException(503, f"{exc}; the predictions were not acknowledged, send them again") from None
        metrics.predictions.labels(served.name).inc(len(results))
        return results

    @app.post("/predict", response_model=s.PredictResponse, summary="Predict one record")
    def predict_one(record: Record) -> s.PredictResponse:  # type: ignore[valid-type]
        served = holder.current
        [p] = predict(served, [record.model_dump(by_alias=True)])
        return s.PredictResponse(**p.model_dump(), model=served.name, version=served.version)

    @app.post("/predict/batch", response_model=s.BatchResponse, summary="Predict a batch of records")
    def predict_batch(batch: Batch) -> s.BatchResponse:  # type: ignore[valid-type]
        served = holder.current
        records = [r.model_dump(by_alias=True) for r in batch.records]
        return s.BatchResponse(model=served.name, version=served.version, predictions=predict(served, records))

    @app.post("/labels", response_model=s.LabelsResponse, summary="True labels of earlier predictions")
    def labels(body: s.LabelsRequest) -> s.LabelsResponse:
        ids = [item.prediction_id for item in body.labels]
        unknown = sorted(set(ids) - log.known_ids(ids))
        if unknown:
            shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            raise HTTPException(404, f"no prediction with id {shown} in the prediction log; labels are "
                                     "joined to predictions by the prediction_id the server returned")
        log.add_labels([(item.prediction_id, item.label) for item in body.labels])
        return s.LabelsResponse(stored=len(ids))

    # --- Open Inference Protocol v2 ---

    @app.get("/v2/health/live")
    def live() -> dict:
        return {"live": True}

    @app.get("/v2/health/ready")
    def ready() -> dict:
        return {"ready": True}

    def served_as(name: str) -> Served:
        served = holder.current
        if name != served.name:
            raise OipError(404, f"model {name!r} is not served here; this server serves {served.name!r}")
        return served

    @app.get("/v2/models/{name}")
    def model_metadata(name: str) -> dict:
        served = served_as(name)
        columns = served.predictor.meta["schema"]["columns"]
        inputs = [{"name": c, "datatype": "FP64" if columns[c]["kind"] == "numeric" else "BYTES", "shape": [-1]}
                  for c in served.inputs]
        outputs = [{"name": "prediction", "datatype": _datatype(served), "shape": [-1]}]
        if served.predictor.task != "regression":
            outputs.append({"name": "probabilities", "datatype": "FP64", "shape": [-1, len(served.predictor.classes)]})
        return {"name": served.name, "versions": [str(served.version)], "platform": "modelfab",
                "inputs": inputs, "outputs": outputs}

    @app.get("/v2/models/{name}/ready")
    def model_ready(name: str) -> dict:
        served_as(name)
        return {"name": name, "ready": True}

    @app.post("/v2/models/{name}/infer", response_model=s.InferResponse, response_model_exclude_none=True,
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": s.InferRequest.model_json_schema(ref_template="#/components/schemas/{model}")}}}})
    async def infer(name: str, request: Request) -> s.InferResponse:
        # The protocol's body is JSON whatever the Content-Type says (Triton's client sends none).
        raw = await request.body()
        try:
            body = s.InferRequest.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "body"
            raise OipError(400, f"not an inference request: {where}: {first['msg']}") from None
        return await run_in_threadpool(infer_sync, name, body)

    def infer_sync(name: str, body: s.InferRequest) -> s.InferResponse:
        served = served_as(name)
        records = _records_from_tensors(body.inputs, served)
        try:
            results = predict(served, records)
        except HTTPException as exc:
            raise OipError(400, str(exc.detail)) from None
        outputs = [s.Tensor(name="prediction", shape=[len(results)], datatype=_datatype(served),
                            data=[p.prediction for p in results])]
        if served.predictor.task != "regression":
            classes = [str(c) for c in served.predictor.classes]
            flat = [p.probabilities[c] for p in results for c in classes]
            outputs.append(s.Tensor(name="probabilities", shape=[len(results), len(classes)], datatype="FP64", data=flat))
        return s.InferResponse(model_name=served.name, model_version=str(served.version), id=body.id,
                               parameters={"prediction_ids": [p.prediction_id for p in results]}, outputs=outputs)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # The default handler echoes each bad input, and JSON cannot carry NaN or infinity.
        return JSONResponse({"detail": [_plain_error(e) for e in exc.errors()]}, status_code=422)

    @app.exception_handler(OipError)
    async def oip_error(_: Request, exc: OipError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    # --- operations ---

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        metrics.drift_status(latest_path(project, holder.current.name), holder.current)
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    def admin(x_api_key: str | None = Header(None), authorization: str | None = Header(None)) -> None:
        given = x_api_key or (authorization.removeprefix("Bearer ").strip() if authorization else None)
        if not key:
            raise HTTPException(401, f"admin endpoints are off: no API key is configured (set "
                                     f"{cfg.api_key_env} or serve.api_key_file)")
        if not given or not secrets.compare_digest(given.encode(), key.encode()):
            raise HTTPException(401, "missing or wrong API key (send it as X-API-Key or Authorization: Bearer)")

    def state() -> s.ModelState:
        served = holder.current
        return s.ModelState(model=served.name, version=served.version, alias=holder.alias or "")

    @app.post("/admin/reload", response_model=s.ModelState, dependencies=[Depends(admin)])
    def reload() -> s.ModelState:
        try:
            if holder.refresh():
                metrics.model_version(holder.current)
        except InputsChanged as exc:
            raise HTTPException(409, str(exc)) from None
        return state()

    @app.post("/admin/promote", response_model=s.ModelState, dependencies=[Depends(admin)])
    def promote(body: s.PromoteRequest) -> s.ModelState:
        try:
            registry.promote(holder.client, holder.name, body.version, holder.alias or "champion")
        except FabError as exc:
            raise HTTPException(409, str(exc)) from None
        return reload()

    @app.post("/admin/rollback", response_model=s.ModelState, dependencies=[Depends(admin)])
    def rollback() -> s.ModelState:
        try:
            registry.rollback(holder.client, holder.name, holder.alias or "champion")
        except FabError as exc:
            raise HTTPException(409, str(exc)) from None
        return reload()

    app.add_middleware(Metrics.Middleware, metrics=metrics)
    app.add_middleware(BodyLimit, limit=cfg.max_body_bytes)
    return app


class OipError(Exception):
    """An error in the Open Inference Protocol's own shape: {"error": "..."}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def read_api_key(project: Project) -> str | None:
    cfg = project.spec.serve
    if os.environ.get(cfg.api_key_env):
        return os.environ[cfg.api_key_env].strip()
    if cfg.api_key_file:
        path = project.path(cfg.api_key_file)
        if not path.is_file():
            raise FabError(f"serve.api_key_file: {path} does not exist")
        return path.read_text().strip() or None
    return None


def _plain_error(error: dict) -> dict:
    out = {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type", "")}
    value = error.get("input")
    try:
        text = json.dumps(value, allow_nan=False)
        out["input"] = value if len(text) <= 200 else f"({type(value).__name__} of {len(value)} items, not repeated)"
    except (TypeError, ValueError):
        out["input"] = repr(value)[:200]
    return out


def _datatype(served: Served) -> str:
    if served.predictor.task == "regression":
        return "FP64"
    return "INT64" if all(isinstance(c, int) for c in served.predictor.classes) else "BYTES"


def _predictions(served: Served, scores: np.ndarray) -> list[s.Prediction]:
    values, probabilities = served.predictor.outputs(scores)
    names = [str(c) for c in served.predictor.classes]
    rows = probabilities.tolist() if probabilities is not None else [None] * len(values)
    return [s.Prediction(prediction_id=uuid.uuid4().hex, prediction=value,
                         probabilities=dict(zip(names, p, strict=True)) if p is not None else None)
            for value, p in zip(values, rows, strict=True)]


def _records_from_tensors(tensors: list[s.Tensor], served: Served) -> list[dict[str, Any]]:
    """OIP sends one tensor per input column; each becomes a column of records, checked by the
    same record model as /predict."""
    by_name = {t.name: t for t in tensors}
    missing = [c for c in served.inputs if c not in by_name]
    extra = [n for n in by_name if n not in served.inputs]
    if missing or extra:
        raise OipError(400, "inputs must be exactly the model's columns: "
                       + "; ".join(filter(None, [f"missing {missing}" if missing else "",
                                                 f"unknown {extra}" if extra else ""])))
    lengths = {len(t.data) for t in tensors}
    for t in tensors:
        if int(np.prod(t.shape)) != len(t.data) or (t.shape and t.shape[0] != len(t.data)):
            raise OipError(400, f"input {t.name!r}: shape {t.shape} does not match {len(t.data)} values; "
                                "expected shape [n] or [n, 1]")
    if len(lengths) != 1 or 0 in lengths:
        raise OipError(400, f"every input needs the same number of values, at least one; got {sorted(lengths)}")
    records = [{c: by_name[c].data[i] for c in served.inputs} for i in range(lengths.pop())]
    try:
        return [served.record.model_validate(r).model_dump(by_alias=True) for r in records]
    except ValidationError as exc:
        first = exc.errors()[0]
        raise OipError(400, f"input {first['loc'][0]!r}: {first['msg']} ({len(exc.errors())} problem(s))") from None
