"""What runs: stages (plain functions with typed artifacts in and out) and the graph they form.

The graph is derived, not drawn: a stage's inputs are its parameters annotated with artifact
types, matched by name to other stages' outputs, and it is checked before anything runs.
"""

from __future__ import annotations

import graphlib
import hashlib
import importlib.util
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from modelfab.artifacts.types import Artifact
from modelfab.errors import StageError

CONTEXT_PARAM = "ctx"


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline.

    Attributes:
        name: the verb users see (`ingest`, `train`).
        func: called with input artifacts, spec sections and `ctx` as keyword arguments.
        inputs: parameter name -> artifact type, produced by earlier stages.
        outputs: output name -> artifact type.
        sections: the spec keys the stage reads, a section (`train`) or one key of one
            (`train.seed`). They make both its cache key and `ctx.spec`, which refuses any other
            key. Sections named as parameters are passed to `func`.
        code: packages whose source enters the cache key, so a code change re-runs the stage.
        external: `external(ctx, store)` returns a string for state outside the store that
            the result depends on (the input files' content), added to the cache key.
        volatile: the stage reads state outside the store (the registry) and runs every time;
            its output is content-addressed, so an unchanged answer keeps later stages cached.
        still_true: `still_true(ctx, outputs)` for a stage whose result is a fact outside the
            store (a registration): on a cache hit it says whether the fact still holds; when it
            does not, the stage runs again instead of reporting what is no longer so.
    """

    name: str
    func: Callable[..., Any]
    inputs: dict[str, type[Artifact]]
    outputs: dict[str, type[Artifact]]
    sections: tuple[str, ...] = ()
    code: tuple[str, ...] = ()
    external: Callable[[Any, Any], str] | None = field(default=None, compare=False)
    wants_ctx: bool = False
    params: tuple[str, ...] = ()
    volatile: bool = False
    still_true: Callable[[Any, dict], bool] | None = field(default=None, compare=False)

    @property
    def code_version(self) -> str:
        return _source_digest((self.func.__module__.rsplit(".", 1)[0], *self.code))


def stage(
    name: str,
    *,
    outputs: dict[str, type[Artifact]],
    sections: tuple[str, ...] = (),
    code: tuple[str, ...] = (),
    external: Callable[[Any, Any], str] | None = None,
    volatile: bool = False,
    still_true: Callable[[Any, dict], bool] | None = None,
) -> Callable[[Callable[..., Any]], Stage]:
    """Declare a stage; inputs come from the function's artifact-typed parameters.

    ```python
    @stage("split", outputs={"splits": Splits}, sections=("split",))
    def split(clean: CleanTable, report: DataReport, split: SplitConfig) -> Splits: ...
    ```
    """

    def wrap(func: Callable[..., Any]) -> Stage:
        hints = typing.get_type_hints(func)
        inputs = {}
        for param in inspect.signature(func).parameters:
            hint = hints.get(param)
            if isinstance(hint, type) and issubclass(hint, Artifact):
                inputs[param] = hint
            elif param not in sections and param != CONTEXT_PARAM:
                raise StageError(
                    f"stage {name!r}: parameter {param!r} is neither an artifact, a spec section "
                    f"{sections} nor {CONTEXT_PARAM!r}"
                )
        params = tuple(inspect.signature(func).parameters)
        return Stage(name, func, inputs, outputs, sections, code, external, CONTEXT_PARAM in params, params,
                     volatile, still_true)

    return wrap


@dataclass(frozen=True)
class Pipeline:
    stages: tuple[Stage, ...]

    def check(self) -> None:
        """Raise StageError unless every input has exactly one producer of the right type and
        there is no cycle."""
        producers: dict[str, Stage] = {}
        problems = []
        for s in self.stages:
            for out in s.outputs:
                if out in producers:
                    problems.append(f"output {out!r} is produced by both {producers[out].name!r} and {s.name!r}")
                producers[out] = s
        for s in self.stages:
            for inp, kind in s.inputs.items():
                src = producers.get(inp)
                if src is None:
                    problems.append(f"stage {s.name!r} needs {inp!r}, which no stage produces")
                elif not issubclass(src.outputs[inp], kind):
                    problems.append(
                        f"stage {s.name!r} needs {inp!r} as {kind.__name__}, but {src.name!r} "
                        f"produces {src.outputs[inp].__name__}"
                    )
        if problems:
            raise StageError("the pipeline is not valid:\n" + "\n".join(f"  - {p}" for p in problems))
        self.order()  # raises on cycles

    def order(self) -> list[Stage]:
        """Each stage after those it reads from; among the stages that are ready, the one declared
        first (so a look-up such as `members` runs just before its reader, where people look)."""
        producers = {out: s.name for s in self.stages for out in s.outputs}
        graph = {s.name: {producers[i] for i in s.inputs if i in producers} for s in self.stages}
        try:
            graphlib.TopologicalSorter(graph).prepare()
        except graphlib.CycleError as exc:
            raise StageError(f"the pipeline has a cycle: {' -> '.join(exc.args[1])}") from None
        done: list[Stage] = []
        while len(done) < len(self.stages):
            names = {d.name for d in done}
            done.append(next(s for s in self.stages if s.name not in names and graph[s.name] <= names))
        return done

    def names(self) -> list[str]:
        return [s.name for s in self.order()]

    def downstream(self, name: str) -> set[str]:
        """`name` and every stage that depends on it, directly or not."""
        result = {name}
        for s in self.order():
            producers = {out for r in self.stages if r.name in result for out in r.outputs}
            if producers & set(s.inputs):
                result.add(s.name)
        return result


@cache
def _source_digest(packages: tuple[str, ...]) -> str:
    """SHA-256 of the source of packages or modules, found without importing them (a module
    such as `modelfab.nn.pretrained` would import torch: seconds of an unchanged re-run)."""
    h = hashlib.sha256()
    for package in sorted(set(packages)):
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise StageError(f"code={package!r}: no such module")
        origin = Path(spec.origin)
        files = sorted(origin.parent.rglob("*.py")) if spec.submodule_search_locations else [origin]
        for path in files:
            h.update(path.as_posix().rsplit("modelfab/", 1)[-1].encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]
