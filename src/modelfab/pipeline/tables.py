"""The table pipeline: ingest -> validate -> clean -> split -> featurize -> train -> evaluate ->
gate -> register, and the function that runs it with the default hooks."""

from __future__ import annotations

from modelfab.data.clean import clean
from modelfab.data.ingest import ingest
from modelfab.data.split import split
from modelfab.data.validate import validate
from modelfab.evaluate.gate import gate
from modelfab.evaluate.stage import evaluate
from modelfab.features.featurize import featurize
from modelfab.hooks.base import Hook
from modelfab.pipeline.graph import Pipeline
from modelfab.registry.memo import remember
from modelfab.registry.stage import register
from modelfab.spec.load import Project
from modelfab.train.stage import train

TABLE_PIPELINE = Pipeline((ingest, validate, clean, split, featurize, train, evaluate, gate, register))


def default_hooks(progress: bool = True) -> list[Hook]:
    from modelfab.hooks.lineage import LineageHook
    from modelfab.hooks.progress import ProgressHook
    from modelfab.hooks.tracking import TrackingHook

    hooks: list[Hook] = [TrackingHook(), LineageHook()]
    if progress:
        hooks.append(ProgressHook())
    return hooks


def run_tables(project: Project, rerun_from: str | None = None, hooks: list[Hook] | None = None):  # noqa: ANN201
    from modelfab.errors import SpecError
    from modelfab.runners.local import LocalRunner

    if rerun_from and rerun_from not in TABLE_PIPELINE.names():
        from modelfab.errors import did_you_mean

        raise SpecError([f"--from: no stage {rerun_from!r}.{did_you_mean(rerun_from, TABLE_PIPELINE.names())} "
                         f"Stages: {', '.join(TABLE_PIPELINE.names())}"], "command line")
    runner = LocalRunner(default_hooks() if hooks is None else hooks)
    run = runner.run(TABLE_PIPELINE, project, rerun_from=rerun_from)
    spec = project.spec
    remember(run.store.cache, project.tracking_uri, spec.model_name, spec.register_.alias)
    return run
