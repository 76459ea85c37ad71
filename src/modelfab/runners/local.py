"""How it runs: one loop over the ordered stages, with the cache, hooks and resume messages.

A runner only chooses where a stage's function executes; the local runner calls it in-process.
"""

from __future__ import annotations

import ctypes
import fcntl
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from modelfab.artifacts.store import ArtifactStore, Ref
from modelfab.errors import FabError, StageError, StoreError
from modelfab.pipeline.cache import cache_key, section_config
from modelfab.pipeline.graph import Pipeline, Stage
from modelfab.pipeline.run import Hook, HookSet, RunState, StageContext, StageRecord
from modelfab.spec.load import Project
from modelfab.spec.view import SpecView


class Interrupted(FabError):
    exit_code = 130


# Artifacts smaller than this stay in memory until their last reader has run, so a stage does
# not re-read what the previous one just wrote; larger ones are read back from the store, which
# keeps peak memory at about one stage's working set.
KEEP_IN_MEMORY_BYTES = 64 << 20
# Memory is handed back to the system only after a stage that held a table at least this large:
# after small stages there is little to give back, and trimming costs the next stage page faults.
TRIM_AFTER_BYTES = 32 << 20


class LocalRunner:
    def __init__(self, hooks: list[Hook] | None = None) -> None:
        self.hooks = HookSet(hooks or [])

    def execute(self, stage: Stage, kwargs: dict[str, Any]) -> Any:
        """Where the stage runs; other runners override only this."""
        return stage.func(**kwargs)

    def run(self, pipeline: Pipeline, project: Project, rerun_from: str | None = None) -> RunState:
        pipeline.check()
        store = ArtifactStore(project.store_dir)
        forced = pipeline.downstream(rerun_from) if rerun_from else set()
        with _locked(store):
            store.sweep()
            run = RunState(project=project, store=store)
            self.hooks.before_pipeline(run)
            order = pipeline.order()
            for i, stage in enumerate(order):
                self._run_stage(run, stage, force=stage.name in forced)
                _forget_unread(run, order[i + 1:])
                if run.held_large:
                    release_memory()
                    run.held_large = False
            self.hooks.after_pipeline(run)
        return run

    def _run_stage(self, run: RunState, stage: Stage, force: bool) -> None:
        inputs = {name: run.refs[name] for name in stage.inputs}
        config = section_config(run.project.spec, stage)
        started = time.perf_counter()
        self.hooks.before_stage(run, stage)
        try:
            ctx = stage_context(run, stage)
            ctx.inputs = {name: ref.digest for name, ref in inputs.items()}
            ctx.key = stage_key(run, stage, ctx, inputs, config)
            hit = None if force else cached_outputs(run, stage, ctx)
            if hit:
                outputs, cached = hit, True
            else:
                if not stage.volatile:  # a look-up of outside state is no computation
                    self.hooks.before_compute(run, stage)
                ctx.tracking_run_id = run.tracking_run_id
                ctx.events = lambda event, *args: getattr(self.hooks, event)(run, stage, *args)
                outputs, cached = self.compute(run, stage, inputs, ctx)
        except KeyboardInterrupt:
            self.hooks.on_stage_error(run, stage, KeyboardInterrupt())
            raise Interrupted(
                f"interrupted during stage {stage.name!r}. Every finished stage is stored; "
                f"resume with: modelfab run {run.project.spec_path}"
            ) from None
        except Exception as exc:
            self.hooks.on_stage_error(run, stage, exc)
            if isinstance(exc, FabError):
                raise
            raise StageError(
                f"stage {stage.name!r} failed: {type(exc).__name__}: {exc}. Finished stages are "
                f"stored; after fixing, `modelfab run {run.project.spec_path}` resumes from {stage.name!r}"
            ) from exc
        run.refs.update(outputs)
        record = StageRecord(stage.name, ctx.key, cached, time.perf_counter() - started, outputs, inputs, config)
        run.records.append(record)
        self.hooks.after_stage(run, stage, record)

    def compute(self, run: RunState, stage: Stage, inputs: dict[str, Ref],
                ctx: StageContext) -> tuple[dict[str, Ref], bool]:
        """Run the stage and store its outputs; also says whether all of them were stored
        already (a volatile stage's unchanged answer)."""
        kwargs: dict[str, Any] = {name: run.get(ref) for name, ref in inputs.items()}
        kwargs.update({s: ctx.spec.section(s) for s in stage.sections if s in stage.params})
        if stage.wants_ctx:
            kwargs["ctx"] = ctx
        try:
            produced = self._produce(stage, kwargs)
            stored = {name: run.store.put_new(artifact) for name, artifact in produced.items()}
            outputs = {name: ref for name, (ref, _) in stored.items()}
            self._keep(run, inputs, kwargs, produced, outputs)
        finally:
            for folder in ctx.folders:
                shutil.rmtree(folder, ignore_errors=True)
        if not stage.volatile:
            run.store.cache_put(ctx.key, {"stage": stage.name, "outputs": {n: r.to_dict() for n, r in outputs.items()}})
        return outputs, stage.volatile and not any(new for _, new in stored.values())

    def _produce(self, stage: Stage, kwargs: dict[str, Any]) -> dict[str, Any]:
        result = self.execute(stage, kwargs)
        produced = result if isinstance(result, dict) else {next(iter(stage.outputs)): result}
        if set(produced) != set(stage.outputs):
            raise StageError(f"stage {stage.name!r} returned {sorted(produced)}, expected {sorted(stage.outputs)}")
        return produced

    @staticmethod
    def _keep(run: RunState, inputs: dict[str, Ref], kwargs: dict[str, Any], produced: dict[str, Any],
              outputs: dict[str, Ref]) -> None:
        """Keep small outputs in memory for later stages; note whether a large table was held."""
        sizes = {name: artifact.memory_bytes() for name, artifact in produced.items()}
        run.sizes.update((outputs[name], size) for name, size in sizes.items())
        for name, ref in inputs.items():  # an input made earlier in this run was measured then
            if ref not in run.sizes:
                run.sizes[ref] = kwargs[name].memory_bytes()
        held = [run.sizes[ref] for ref in inputs.values()] + list(sizes.values())
        run.held_large = any((size or 0) >= TRIM_AFTER_BYTES for size in held)
        for name, artifact in produced.items():
            artifact.stored(run.store.path(outputs[name]))
            if sizes[name] is not None and sizes[name] <= KEEP_IN_MEMORY_BYTES:
                run.kept[outputs[name]] = artifact


def stage_key(run: RunState, stage: Stage, ctx: StageContext, inputs: dict[str, Ref], config: dict) -> str:
    external = stage.external(ctx, run.store) if stage.external else ""
    return cache_key(stage, config, inputs, external)


def cached_outputs(run: RunState, stage: Stage, ctx: StageContext) -> dict[str, Ref] | None:
    """The outputs of the cache entry for `ctx.key` if it holds still, else None (a volatile
    stage never hits)."""
    hit = None if stage.volatile else run.store.cache_get(ctx.key)
    if hit and stage.still_true:
        try:
            loaded = {name: run.get(Ref(**r)) for name, r in hit["outputs"].items()}
        except StoreError as exc:  # damaged and moved aside: the stage makes it again
            run.store.notices.append(str(exc))
            return None
        if not stage.still_true(ctx, loaded):
            return None  # what the cached result says is no longer so outside the store
    return {name: Ref(**r) for name, r in hit["outputs"].items()} if hit else None


def stage_context(run: RunState, stage: Stage) -> StageContext:
    """What the stage may see: its declared spec keys and the project's places."""
    project = run.project
    return StageContext(stage=stage.name, spec=SpecView(project.spec, stage.sections, stage.name),
                        root=project.root, store_dir=project.store_dir, tmp=run.store.tmp)


def release_memory() -> None:
    """Give memory freed by the last stage back to the system. glibc keeps large freed blocks
    in the heap once its mmap threshold has grown, so without this every stage would start from
    the previous stage's peak."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl): nothing to give back this way
            pass


def _forget_unread(run: RunState, later: list[Stage]) -> None:
    wanted = {run.refs[name] for s in later for name in s.inputs if name in run.refs}
    for ref in [r for r in run.kept if r not in wanted]:
        del run.kept[ref]


@contextmanager
def _locked(store: ArtifactStore) -> Iterator[None]:
    """One run at a time per store: a second run waits for nothing and says why."""
    store.root.mkdir(parents=True, exist_ok=True)
    with open(store.root / "lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FabError(f"another modelfab run is using {store.root}; wait for it to finish") from None
        yield
