"""The dashboard's FastAPI application: plain HTML pages, on 127.0.0.1 unless told otherwise.
Reads go through `ui/read.py`; promote and roll back go through the registry, behind the
server's API key (serve.api_key_env or serve.api_key_file)."""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time.
import csv
import io
import json
import secrets
from html import escape
from importlib.resources import files
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from modelfab.errors import FabError
from modelfab.predlog.read import log_path
from modelfab.report.changes import flatten
from modelfab.spec.load import Project
from modelfab.ui import pages as p
from modelfab.ui import read

LIMIT = Query(50, ge=1, le=500, description="Rows a page.")
OFFSET = Query(0, ge=0, le=10_000_000, description="Rows skipped.")
LOG_COLUMNS = ["id", "time", "version", "prediction", "score", "label"]  # then the inputs


def create_ui(project: Project, api_key: str | None = None) -> FastAPI:
    app = FastAPI(title="modelfab ui", docs_url=None, redoc_url=None, openapi_url=None)
    _common(app)
    _run_pages(app, project)
    _model_pages(app, project, api_key)
    _log_pages(app, project)
    return app


def _common(app: FastAPI) -> None:
    """Error pages, the stylesheet (read once), no favicon."""
    css = files("modelfab.ui").joinpath("style.css").read_text()

    @app.exception_handler(RequestValidationError)
    def bad_query(request: Request, exc: RequestValidationError) -> HTMLResponse:
        said = "; ".join(f"{'.'.join(str(x) for x in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return HTMLResponse(p.layout("Bad request", f"<p>{escape(said)}</p>"), status_code=400)

    @app.exception_handler(HTTPException)
    def not_found(request: Request, exc: HTTPException) -> HTMLResponse:
        title = {404: "Not found", 401: "Not allowed"}.get(exc.status_code, "Error")
        return HTMLResponse(p.layout(title, f"<p>{escape(str(exc.detail))}</p>"), status_code=exc.status_code)

    @app.get("/static/style.css", include_in_schema=False)
    def style() -> Response:
        return Response(css, media_type="text/css")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)


def _run_pages(app: FastAPI, project: Project) -> None:
    """The runs, one run and its report, two runs compared."""
    store, name = project.store_dir, project.spec.name
    rules = project.spec.gate.rules

    @app.get("/", response_class=HTMLResponse)
    def runs(offset: int = OFFSET, limit: int = LIMIT, metric: str | None = Query(None, max_length=200)) -> str:
        page = read.runs(store, offset, limit)
        metric = metric or (rules[0].metric if rules else None)
        rows = [[p.link(f"/runs/{r['run_id']}", r["run_id"]), p.when(r["finished"]), r["seconds"],
                 sum(s["cached"] for s in r["summary"]["stages"].values()), len(r["summary"]["stages"]),
                 r["summary"]["metrics"].get(metric) if metric else None, None if r["blessed"] is None else bool(r["blessed"]),
                 p.link(f"/models#v{r['version']}", f"{r['model']} v{r['version']}") if r["version"] else ""]
                for r in page.rows]
        header = ["run", "finished", "seconds", "stages cached", "stages", metric or "metric", "blessed", "registered"]
        compare = ("<form method=get action=/compare>compare run <input name=a size=14 required> with "
                   "<input name=b size=14 required> <button>compare</button></form>")
        body = (p.trend(read.trend(store, metric), metric) if metric else "") + compare \
            + p.table(header, rows, {2, 3, 4, 5}) + p.pager("/", {"metric": metric}, offset, limit, page.total)
        return p.layout(f"Runs of {name}", body, "/")

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def one_run(run_id: str) -> str:
        found = _run(run_id)
        s = found["summary"]
        stages = [[k, v["seconds"], "cache hit" if v["cached"] else "computed"] for k, v in s["stages"].items()]
        metrics = [[k, v] for k, v in s["metrics"].items()]
        report = p.link(f"/runs/{found['run_id']}/report", "the run report") if s.get("report") else "no report"
        body = (f"<p>finished {escape(p.when(found['finished']))}, {s['seconds']:.1f} s; {report}</p>"
                f"<h2>Gate</h2><p>{'blessed' if s.get('blessed') else 'not blessed'}: {escape(str(s.get('gate') or ''))}</p>"
                + (f"<p>registered {p.link('/models', _version_name(s))}</p>" if s.get("registered") else "")
                + "<h2>Metrics on the test rows</h2>" + p.table(["metric", "value"], metrics, {1})
                + "<h2>Stages</h2>" + p.table(["stage", "seconds", "cache"], stages, {1})
                + "<h2>Warnings</h2>" + p.table(["warning"], [[w] for w in s.get("warnings", [])])
                + f"<h2>Spec</h2><pre>{escape(json.dumps(found['spec'], indent=1))}</pre>")
        return p.layout(f"Run {found['run_id']}", body, "/")

    @app.get("/runs/{run_id}/report", include_in_schema=False)
    def run_report(run_id: str) -> FileResponse:
        path = _run(run_id)["summary"].get("report")
        if not path or not Path(path).is_file():
            raise HTTPException(404, f"run {run_id} has no report on disk")
        return FileResponse(path, media_type="text/html")

    @app.get("/compare", response_class=HTMLResponse)
    def compare(a: str = Query(..., max_length=40), b: str = Query(..., max_length=40)) -> str:
        one, two = _run(a), _run(b)
        old, new = flatten(one["spec"]), flatten(two["spec"])
        spec = [[k, old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        m1, m2 = one["summary"]["metrics"], two["summary"]["metrics"]
        metrics = [[k, m1.get(k), m2.get(k), (m2[k] - m1[k]) if isinstance(m1.get(k), (int, float))
                    and isinstance(m2.get(k), (int, float)) else None] for k in sorted(set(m1) | set(m2))]
        body = ("<h2>Spec keys that differ</h2>" + p.table(["key", one["run_id"], two["run_id"]], spec)
                + "<h2>Metrics</h2>" + p.table(["metric", one["run_id"], two["run_id"], "change"], metrics, {1, 2, 3}))
        return p.layout(f"Run {one['run_id']} against {two['run_id']}", body, "/")

    def _run(run_id: str) -> dict:
        try:
            found = read.run(store, run_id)
        except FabError as exc:
            raise HTTPException(400, str(exc)) from None
        if found is None:
            raise HTTPException(404, f"no run {run_id!r} in {store}")
        return found


def _model_pages(app: FastAPI, project: Project, api_key: str | None) -> None:
    """The model's versions; promote and roll back behind the API key."""
    name = project.spec.name

    @app.get("/models", response_class=HTMLResponse)
    def models() -> str:
        found = read.versions(project.tracking_uri, name)
        rows = [[_anchor(v["version"]), ", ".join(v["aliases"]), v["blessed"], v["reason"],
                 ", ".join(f"{k}={val}" for k, val in v["metrics"].items()), (v["run_id"] or "")[:12],
                 _promote_form(v["version"])] for v in found]
        body = (p.table(["version", "aliases", "blessed", "gate", "metrics", "MLflow run", "promote"], rows)
                + "<h2>Roll back</h2><form method=post action=/models/rollback>API key <input type=password "
                  "name=key> <button>give champion back to the version before</button></form>")
        return p.layout(f"Model {name}", body, "/models")

    def _check_key(key: str | None) -> None:
        if not api_key:
            raise HTTPException(401, f"promote and roll back are off: no API key is configured (set "
                                     f"{project.spec.serve.api_key_env} or serve.api_key_file)")
        if not key or not secrets.compare_digest(key.encode(), api_key.encode()):
            raise HTTPException(401, "missing or wrong API key: nothing was changed")

    @app.post("/models/promote", include_in_schema=False)
    async def promote(request: Request) -> RedirectResponse:
        form = await _form(request)
        _check_key(form.get("key"))
        if not form.get("version", "").isdigit():
            raise HTTPException(400, "version: expected a version number")
        return _change(lambda c, registry: registry.promote(c, name, int(form["version"])))

    @app.post("/models/rollback", include_in_schema=False)
    async def rollback(request: Request) -> RedirectResponse:
        _check_key((await _form(request)).get("key"))
        return _change(lambda c, registry: registry.rollback(c, name))

    def _change(move) -> RedirectResponse:  # noqa: ANN001
        from modelfab.registry import client as registry

        try:
            move(registry.client(project.tracking_uri), registry)
        except FabError as exc:
            raise HTTPException(409, str(exc)) from None
        return RedirectResponse("/models", status_code=303)


def _log_pages(app: FastAPI, project: Project) -> None:
    """The prediction log, paged and filtered, and its CSV export."""
    name = project.spec.name

    @app.get("/predictions", response_class=HTMLResponse)
    def predictions(offset: int = OFFSET, limit: int = LIMIT, q: LogQuery = Depends()) -> str:
        page = read.predictions(log_path(project), q.filter(name), offset, limit)
        columns = list(page.rows[0]["inputs"]) if page.rows else []
        rows = [[r["id"][:12], p.when(r["time"]), r["version"], r["prediction"], r["score"], r["label"],
                 *[r["inputs"].get(c) for c in columns]] for r in page.rows]
        query = q.query()
        form = ("<form method=get action=/predictions>"
                + "".join(f'{k} <input name="{k}" size=8 value="{escape(str(v))}">' if v is not None
                          else f'{k} <input name="{k}" size=8>' for k, v in query.items() if k != "labelled")
                + f'<label><input type=checkbox name=labelled value=true{" checked" if q.labelled else ""}> labelled only'
                  "</label> <button>filter</button></form>")
        csv_link = p.link("/predictions.csv?" + p.query_string(query), "export as CSV")
        body = (form + f"<p>{csv_link}</p>"
                + p.table([*LOG_COLUMNS, *columns], rows, {2, 4})
                + p.pager("/predictions", query, offset, limit, page.total, page.more))
        return p.layout(f"Prediction log of {name}", body, "/predictions")

    @app.get("/predictions.csv", include_in_schema=False)
    def predictions_csv(q: LogQuery = Depends()) -> Response:
        page = read.predictions(log_path(project), q.filter(name), 0, None)
        out = io.StringIO()
        columns = list(page.rows[0]["inputs"]) if page.rows else []
        writer = csv.writer(out)
        writer.writerow([*LOG_COLUMNS, *columns])
        for r in page.rows:
            writer.writerow([r["id"], r["time"], r["version"], r["prediction"], r["score"], r["label"],
                             *[r["inputs"].get(c) for c in columns]])
        return Response(out.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}-predictions.csv"'})



async def _form(request: Request) -> dict[str, str]:
    """A small url-encoded form (no multipart parser needed): its last value per field."""
    body = (await request.body())[:10_000].decode("utf-8", "replace")
    return {k: v[-1] for k, v in parse_qs(body).items()}


class LogQuery:
    """The prediction log's filters, as query parameters (bounds checked: a 400 names the one out of range)."""

    def __init__(self, version: int | None = Query(None, ge=1), predicted: str | None = Query(None, max_length=200),
                 score_min: float | None = None, score_max: float | None = None,
                 since: float | None = Query(None, ge=0, description="Unix seconds."),
                 until: float | None = Query(None, ge=0, description="Unix seconds."), labelled: bool = False) -> None:
        self.version, self.predicted, self.score_min, self.score_max = version, predicted, score_min, score_max
        self.since, self.until, self.labelled = since, until, labelled

    def filter(self, model: str) -> read.LogFilter:
        return read.LogFilter(model, self.version, self.predicted, self.score_min, self.score_max, self.since,
                              self.until, self.labelled)

    def query(self) -> dict:
        return {"version": self.version, "predicted": self.predicted, "score_min": self.score_min,
                "score_max": self.score_max, "since": self.since, "until": self.until,
                "labelled": "true" if self.labelled else None}


def _version_name(summary: dict) -> str:
    return f"{summary['model']} version {summary['model_version']}"


def _anchor(version: int) -> p.Raw:
    return p.Raw(f'<span id="v{int(version)}">{int(version)}</span>')


def _promote_form(version: int) -> p.Raw:
    return p.Raw(f'<form class=inline method=post action=/models/promote><input type=hidden name=version '
                 f'value="{int(version)}">API key <input type=password name=key size=10> <button>promote'
                 "</button></form>")
