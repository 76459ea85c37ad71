"""`modelfab status`: which stages would be cache hits for the spec as it is now, as data.

Volatile stages (the registry's champion, a blend's members) are looked up, as a run would;
a stage after one that must run is to run too."""

from __future__ import annotations

from modelfab.artifacts import ArtifactStore
from modelfab.pipeline.cache import section_config
from modelfab.pipeline.run import RunState
from modelfab.pipelines import pipeline_module
from modelfab.spec.load import Project


def stage_status(project: Project) -> list[dict]:
    """One row a stage: `stage`, `state` (cached, checked or to run) and `outputs` (refs)."""
    from modelfab.runners.local import LocalRunner, cached_outputs, stage_context, stage_key

    store = ArtifactStore(project.store_dir)
    run, runner = RunState(project=project, store=store), LocalRunner([])
    rows, stale = [], False
    for stage in pipeline_module(project.spec).PIPELINE.order():
        if stale or any(name not in run.refs for name in stage.inputs):
            rows.append({"stage": stage.name, "state": "to run", "outputs": []})
            stale = True
            continue
        inputs = {n: run.refs[n] for n in stage.inputs}
        ctx = stage_context(run, stage)
        if stage.volatile:  # a look-up of outside state: do it, as a run would
            outputs, state = runner.compute(run, stage, inputs, ctx)[0], "checked"
        else:
            ctx.inputs = {name: ref.digest for name, ref in inputs.items()}
            ctx.key = stage_key(run, stage, ctx, inputs, section_config(project.spec, stage))
            outputs, state = cached_outputs(run, stage, ctx), "cached"
            if outputs is None:
                rows.append({"stage": stage.name, "state": "to run", "outputs": []})
                stale = True
                continue
        run.refs.update(outputs)
        rows.append({"stage": stage.name, "state": state, "outputs": [str(r) for r in outputs.values()]})
    return rows
