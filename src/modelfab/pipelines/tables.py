"""The table pipeline: ingest -> validate -> clean -> split -> featurize -> members -> train ->
evaluate -> export -> explain -> champion -> gate -> register -> report. Tables, images, texts and sensor windows all take it."""

from __future__ import annotations

from modelfab.data.clean import clean
from modelfab.data.ingest import ingest
from modelfab.data.split import split
from modelfab.data.validate import validate
from modelfab.evaluate.gate import gate
from modelfab.evaluate.stage import evaluate
from modelfab.explain.stage import explain
from modelfab.export.stage import export
from modelfab.features.featurize import featurize
from modelfab.pipeline.graph import Pipeline
from modelfab.pipeline.run import RunState
from modelfab.registry.champion import champion
from modelfab.registry.memo import remember
from modelfab.registry.stage import register
from modelfab.report.stage import report
from modelfab.train.members import members
from modelfab.train.stage import train

PIPELINE = Pipeline((ingest, validate, clean, split, featurize, members, train, evaluate, export, explain, champion, gate,
                     register, report))


def after_run(run: RunState) -> None:
    """Record the champion while MLflow is loaded anyway, so the next run need not import it;
    record the run's report, which the next report compares with."""
    from modelfab.report import index

    spec = run.project.spec
    remember(run.store.cache, run.project.tracking_uri, spec.model_name, spec.register_.alias)
    if "run_report" in run.refs:
        index.remember(run.project.store_dir, run.run_id, str(run.store.path(run.refs["run_report"]) / "report.html"))
