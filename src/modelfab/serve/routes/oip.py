"""The Open Inference Protocol v2 (KServe, Triton clients): health, model metadata, infer."""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time.
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from modelfab.serve import schema as s
from modelfab.serve.holder import Served
from modelfab.serve.state import Server
from modelfab.tasks import get_task


def add_routes(app: FastAPI, server: Server) -> None:
    @app.get("/v2/health/live")
    def live() -> dict:
        return {"live": True}

    @app.get("/v2/health/ready")
    def ready() -> dict:
        return {"ready": True}

    def served_as(name: str) -> Served:
        served = server.holder.current
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
        if get_task(served.predictor.task).has_classes:
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
            results = server.predict(served, records)
        except HTTPException as exc:
            raise OipError(400, str(exc.detail)) from None
        outputs = [s.Tensor(name="prediction", shape=[len(results)], datatype=_datatype(served),
                            data=[p.prediction for p in results])]
        if get_task(served.predictor.task).has_classes:
            classes = [str(c) for c in served.predictor.classes]
            flat = [p.probabilities[c] for p in results for c in classes]
            outputs.append(s.Tensor(name="probabilities", shape=[len(results), len(classes)], datatype="FP64", data=flat))
        return s.InferResponse(model_name=served.name, model_version=str(served.version), id=body.id,
                               parameters={"prediction_ids": [p.prediction_id for p in results]}, outputs=outputs)

    @app.exception_handler(OipError)
    async def oip_error(_: Request, exc: OipError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)


class OipError(Exception):
    """An error in the Open Inference Protocol's own shape: {"error": "..."}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _datatype(served: Served) -> str:
    if not get_task(served.predictor.task).has_classes:
        return "FP64"
    return "INT64" if all(isinstance(c, int) for c in served.predictor.classes) else "BYTES"


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
