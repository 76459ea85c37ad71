"""Two small ASGI middlewares (plain ASGI, not BaseHTTPMiddleware, to keep a request cheap):
a request body limit (413) and Prometheus request metrics."""

from __future__ import annotations

import json
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

Scope = dict[str, Any]


async def _send_json(send: Any, status: int, body: dict) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    """Refuse a request body over `limit` bytes with 413, by its Content-Length or, for a
    chunked body, by counting (such a body is buffered up to the limit)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            if int(length) > self.limit:
                return await _send_json(send, 413, self._message(int(length)))
            return await self.app(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await _send_json(send, 413, self._message(size))
            if not message.get("more_body"):
                break
        body, sent = b"".join(chunks), False

        async def replay() -> dict:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    def _message(self, size: int) -> dict:
        return {"detail": f"request body of {size} bytes is over the limit of {self.limit} bytes "
                          "(serve.max_body_bytes); send smaller batches"}


class Metrics:
    """The server's Prometheus metrics, in a registry of its own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("modelfab_requests", "HTTP requests", ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("modelfab_request_seconds", "Request latency", ["endpoint"], registry=self.registry,
                                 buckets=(0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5))
        self.predictions = Counter("modelfab_predictions", "Predictions made", ["model"], registry=self.registry)
        self.version = Gauge("modelfab_model_version", "Registered version being served", ["model"],
                             registry=self.registry)
        self.watch_errors = Counter("modelfab_registry_watch_errors", "Failed checks of the registry alias",
                                    registry=self.registry)
        self.drift = Gauge("modelfab_drift_status", "Last `modelfab monitor` verdict: 0 ok, 1 warn, 2 drift, "
                           "-1 never monitored", ["model", "version"], registry=self.registry)

    def model_version(self, served: Any) -> None:
        self.version.clear()
        self.version.labels(served.name).set(served.version)

    def drift_status(self, latest: Any, served: Any) -> None:
        """The monitor's last verdict on the served model, read when /metrics is scraped."""
        level = -1
        try:
            verdict = json.loads(latest.read_text())
            if verdict.get("version") == served.version:
                level = {"ok": 0, "warn": 1, "drift": 2}.get(verdict.get("status"), -1)
        except (OSError, ValueError):
            pass
        self.drift.clear()
        self.drift.labels(served.name, str(served.version)).set(level)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    class Middleware:
        def __init__(self, app: Any, metrics: Metrics) -> None:
            self.app, self.metrics = app, metrics

        async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return await self.app(scope, receive, send)
            started, status = time.perf_counter(), [500]

            async def record(message: dict) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, record)
            finally:
                route = scope.get("route")
                endpoint = getattr(route, "path", "unmatched")  # the template, never the raw path
                self.metrics.requests.labels(endpoint, str(status[0])).inc()
                self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
