"""`modelfab status`: which stages would be cache hits for the spec as it is now."""

from __future__ import annotations

from modelfab.artifacts import ArtifactStore, Ref
from modelfab.pipeline.cache import cache_key, section_config
from modelfab.pipeline.tables import TABLE_PIPELINE
from modelfab.spec.load import Project


def stage_status(project: Project) -> list[tuple[str, str, str]]:
    from modelfab.runners.local import RunState

    store = ArtifactStore(project.store_dir)
    run = RunState(project=project, store=store)
    rows, stale = [], False
    for stage in TABLE_PIPELINE.order():
        if stale or any(name not in run.refs for name in stage.inputs):
            rows.append((stage.name, "[yellow]to run[/yellow]", ""))
            stale = True
            continue
        external = stage.external(run) if stage.external else ""
        key = cache_key(stage, section_config(project.spec, stage), {n: run.refs[n] for n in stage.inputs}, external)
        hit = store.cache_get(key)
        if not hit:
            rows.append((stage.name, "[yellow]to run[/yellow]", ""))
            stale = True
            continue
        outputs = {n: Ref(**r) for n, r in hit["outputs"].items()}
        run.refs.update(outputs)
        rows.append((stage.name, "[green]cached[/green]", ", ".join(str(r) for r in outputs.values())))
    return rows
