"""Operations: Prometheus `/metrics`, and `/admin/reload|promote|rollback` behind the API key
(header X-API-Key or Authorization: Bearer)."""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time.
import os
import secrets

from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import Response

from modelfab.errors import FabError
from modelfab.monitor.run import latest_path
from modelfab.registry import client as registry
from modelfab.serve import schema as s
from modelfab.serve.state import Server
from modelfab.spec.load import Project


def add_routes(app: FastAPI, server: Server) -> None:
    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        served = server.holder.current
        server.metrics.drift_status(latest_path(server.project, served.name), served)
        body, content_type = server.metrics.render()
        return Response(body, media_type=content_type)

    def admin(x_api_key: str | None = Header(None), authorization: str | None = Header(None)) -> None:
        given = x_api_key or (authorization.removeprefix("Bearer ").strip() if authorization else None)
        if not server.key:
            raise HTTPException(401, f"admin endpoints are off: no API key is configured (set "
                                     f"{server.cfg.api_key_env} or serve.api_key_file)")
        if not given or not secrets.compare_digest(given.encode(), server.key.encode()):
            raise HTTPException(401, "missing or wrong API key (send it as X-API-Key or Authorization: Bearer)")

    def state() -> s.ModelState:
        served = server.holder.current
        return s.ModelState(model=served.name, version=served.version, alias=server.holder.alias or "")

    @app.post("/admin/reload", response_model=s.ModelState, dependencies=[Depends(admin)])
    def reload() -> s.ModelState:
        try:
            if server.holder.refresh():
                server.metrics.model_version(server.holder.current)
        except FabError as exc:  # other inputs, or a damaged package: the current model stays
            raise HTTPException(409, str(exc)) from None
        return state()

    @app.post("/admin/promote", response_model=s.ModelState, dependencies=[Depends(admin)])
    def promote(body: s.PromoteRequest) -> s.ModelState:
        holder = server.holder
        try:  # loaded and scored in a child process before the alias moves
            holder.prepare(registry.find(holder.client, holder.name, version=body.version))
            registry.promote(holder.client, holder.name, body.version, holder.alias or "champion")
        except FabError as exc:
            raise HTTPException(409, str(exc)) from None
        return reload()

    @app.post("/admin/rollback", response_model=s.ModelState, dependencies=[Depends(admin)])
    def rollback() -> s.ModelState:
        holder = server.holder
        try:
            registry.rollback(holder.client, holder.name, holder.alias or "champion", check=holder.prepare)
        except FabError as exc:
            raise HTTPException(409, str(exc)) from None
        return reload()


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
