"""The prediction server: FastAPI over a registered model package.

Endpoints
    POST /predict, /predict/batch      one record, or {"records": [...]}
    POST /labels                       ground truth for earlier predictions, by prediction id
    GET  /v2/health/live|ready, GET /v2/models/{name}[/ready], POST /v2/models/{name}/infer
                                       the Open Inference Protocol v2 (KServe, Triton clients)
    GET  /metrics                      Prometheus
    POST /admin/reload|promote|rollback  need the API key (header X-API-Key or Bearer)

Every acknowledged prediction is in the prediction log first (see predlog/log.py). The routes
live in serve/routes/ by what they are for; this module assembles them.
"""

# No `from __future__ import annotations` here: FastAPI reads the request models made at run
# time (Record, Batch) from the endpoints' annotations.
import json
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from modelfab.predlog import PredictionLog, log_path
from modelfab.serve import schema as s
from modelfab.serve.holder import ModelHolder
from modelfab.serve.middleware import BodyLimit, Metrics
from modelfab.serve.routes import admin, oip, predict
from modelfab.serve.routes.admin import read_api_key
from modelfab.serve.state import Server
from modelfab.spec.load import Project

__all__ = ["create_app", "read_api_key"]


def create_app(project: Project, ref: str, api_key: str | None = None, fallback: str = "none",
               runtime: str | None = None) -> FastAPI:
    """The server for model `ref` (NAME@ALIAS, NAME/VERSION or NAME) of the project's registry;
    `fallback="previous"` serves the newest earlier good version when that one cannot be."""
    holder = ModelHolder(project.tracking_uri, ref, memo_dir=project.store_dir / "cache", fallback=fallback,
                         runtime=runtime or project.spec.serve.runtime)
    server = Server(project, holder, PredictionLog(log_path(project)), Metrics(),
                    api_key if api_key is not None else read_api_key(project))
    server.metrics.model_version(holder.current)
    app = FastAPI(title=f"modelfab: {holder.name}", version="1", lifespan=_lifespan(server))
    app.state.holder, app.state.log = holder, server.log
    Record = holder.current.record  # noqa: N806 - a class; a later model with new inputs needs a restart
    predict.add_routes(app, server, Record, s.batch_model(Record, server.cfg.max_batch))
    oip.add_routes(app, server)
    admin.add_routes(app, server)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # The default handler echoes each bad input, and JSON cannot carry NaN or infinity.
        return JSONResponse({"detail": [_plain_error(e) for e in exc.errors()]}, status_code=422)

    app.add_middleware(Metrics.Middleware, metrics=server.metrics)
    app.add_middleware(BodyLimit, limit=server.cfg.max_body_bytes)
    return app


def _lifespan(server: Server):  # noqa: ANN202
    """Watch the registry for a moved alias while serving; close the log at the end."""
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(server.cfg.watch_seconds):
            try:
                if server.holder.refresh():
                    server.metrics.model_version(server.holder.current)
            except Exception:  # noqa: BLE001 - a registry hiccup must not stop serving the current model
                server.metrics.watch_errors.inc()

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # noqa: ANN202
        watcher = threading.Thread(target=watch, name="champion-watch", daemon=True)
        if server.cfg.watch_seconds and server.holder.alias:
            watcher.start()
        yield
        stop.set()
        server.log.close()

    return lifespan


def _plain_error(error: dict) -> dict:
    out = {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type", "")}
    value = error.get("input")
    try:
        text = json.dumps(value, allow_nan=False)
        out["input"] = value if len(text) <= 200 else f"({type(value).__name__} of {len(value)} items, not repeated)"
    except (TypeError, ValueError):
        out["input"] = repr(value)[:200]
    return out
