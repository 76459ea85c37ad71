"""The model being served, and switching to a new one without dropping a request.

A request takes the current `Served` once and uses only that; a switch loads the new package
fully (transform and model) before one assignment makes it current, so a request in flight
finishes on the old model and the next one starts on the new.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from modelfab.errors import FabError, StoreError
from modelfab.package.predictor import Predictor
from modelfab.package.probe import probe
from modelfab.registry import client as registry
from modelfab.serve.schema import record_model


@dataclass(frozen=True)
class Served:
    name: str
    version: int
    predictor: Predictor
    record: type[BaseModel]
    graph: Any = None  # export.runtime.OnnxScorer under serve.runtime: onnx

    def scores(self, records: list[dict]) -> Any:
        """Scores of records already checked against the request model."""
        if self.graph is None:
            return self.predictor.scores_of_records(records)
        return self.graph.scores_of_records(records, self.predictor)

    @property
    def inputs(self) -> list[str]:
        return self.predictor.meta["inputs"]

    @cached_property
    def background(self) -> Any:
        """The package's first reference rows (a permutation explainer's), read on first use, or None."""
        return self.predictor.reference_rows(1000)


class ModelHolder:
    """The served model. `fallback="previous"`: when the one asked for cannot be served at start,
    serve the newest earlier version that can, and say so in `note`."""

    def __init__(self, tracking_uri: str, ref: str, memo_dir: Path | None = None, fallback: str = "none",
                 runtime: str = "python") -> None:
        self.runtime = runtime
        self.client = registry.client(tracking_uri)
        self.name, self.alias, self.version = registry.parse_reference(ref)
        self.memo_dir = memo_dir
        self.refused: dict[tuple[int, str | None], str] = {}  # versions that could not be served, and why
        self.note = ""
        self._lock = threading.Lock()  # one switch at a time; requests never take it
        wanted = registry.resolve(self.client, ref)
        try:
            self.current: Served = self.prepare(wanted)
        except StoreError as exc:
            if fallback != "previous":
                raise
            self.current = self._fall_back(wanted, exc)

    def prepare(self, info: Any) -> Served:
        """Verify, probe in a child process, then load: a version that fails is refused (and
        remembered as refused) before it can become current."""
        what = f"{info.name} version {info.version}"
        known = self.refused.get((info.version, info.digest))
        if known:
            raise StoreError(known)
        try:
            probe(info.package, what, self.memo_dir)  # info.package checks the digest first
            predictor = Predictor(info.package)
            predictor.warm()  # the transform, the model and the checked record path: before the switch
            graph = self._graph(info) if self.runtime == "onnx" else None
        except FabError as exc:  # StoreError, DataError, or a version with no graph
            self.refused[(info.version, info.digest)] = str(exc)
            raise StoreError(str(exc)) from None
        return Served(info.name, info.version, predictor, record_model(predictor.meta), graph)

    @staticmethod
    def _graph(info: Any) -> Any:
        """The version's exported graph, its digest checked against the registry's."""
        from modelfab.export.runtime import OnnxScorer

        folder, exported = info.onnx()
        return OnnxScorer(folder, exported)

    def _fall_back(self, wanted: Any, error: StoreError) -> Served:
        for info in sorted(registry.versions(self.client, self.name), key=lambda v: -v.version):
            if info.version >= wanted.version or not info.blessed:
                continue
            try:
                served = self.prepare(info)
            except StoreError:
                continue
            self.note = f"serving version {info.version}: {error}"
            return served
        raise StoreError(f"{error}; no earlier blessed version of {self.name} can be served either") from None

    def refresh(self) -> bool:
        """Follow the alias (a pinned version never moves); True if the model changed.

        Raises:
            InputsChanged: the new version takes other input columns; the requests this server
                accepts were typed for the current ones, so it keeps serving the current model.
        """
        if self.alias is None:
            return False
        with self._lock:
            info = registry.find(self.client, self.name, alias=self.alias)
            if info.version == self.current.version:
                return False
            new = self.prepare(info)
            if _signature(new) != _signature(self.current):
                raise InputsChanged(
                    f"{info.name} version {info.version} takes other inputs than version {self.current.version} "
                    f"({', '.join(new.inputs)}); still serving version {self.current.version}: restart the server "
                    "to serve the new one")
            self.current, self.note = new, ""
            return True


class InputsChanged(FabError):
    pass


def _signature(served: Served) -> list:
    columns = served.predictor.meta["schema"]["columns"]
    return [(c, columns[c]["kind"]) for c in served.inputs]
