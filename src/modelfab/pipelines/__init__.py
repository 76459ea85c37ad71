"""Pipelines, chosen by the spec: the composition root, above every stage.

A pipeline is a module with `PIPELINE` (its stages) and `after_run(run)`. The spec's task
names its pipeline (`tasks.get_task(spec.task).pipeline`); `modelfab run`, `status` and `init` ask
here. A second pipeline (process control: environment -> policy -> evaluate -> gate ->
register) is one more module in this folder and one more entry in `PIPELINES`, named by the
task that needs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

PIPELINES = {"tables": "modelfab.pipelines.tables"}


def pipeline_module(spec: Any) -> ModuleType:
    from modelfab.tasks import get_task

    return importlib.import_module(PIPELINES[get_task(spec.task).pipeline])


def default_hooks(progress: bool = True) -> list:
    from modelfab.hooks.history import HistoryHook
    from modelfab.hooks.lineage import LineageHook
    from modelfab.hooks.progress import ProgressHook
    from modelfab.hooks.tracking import TrackingHook

    hooks: list = [TrackingHook(), LineageHook(), HistoryHook()]
    if progress:
        hooks.append(ProgressHook())
    return hooks


def run(project: Any, rerun_from: str | None = None, hooks: list | None = None) -> Any:
    """Run the spec's pipeline with the local runner; returns the RunState."""
    from modelfab.errors import SpecError, did_you_mean
    from modelfab.runners.local import LocalRunner

    module = pipeline_module(project.spec)
    names = module.PIPELINE.names()
    if rerun_from and rerun_from not in names:
        raise SpecError([f"--from: no stage {rerun_from!r}.{did_you_mean(rerun_from, names)} "
                         f"Stages: {', '.join(names)}"], "command line")
    runner = LocalRunner(default_hooks() if hooks is None else hooks)
    result = runner.run(module.PIPELINE, project, rerun_from=rerun_from)
    module.after_run(result)
    return result
