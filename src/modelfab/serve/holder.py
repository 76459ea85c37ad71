"""The model being served, and switching to a new one without dropping a request.

A request takes the current `Served` once and uses only that; a switch loads the new package
fully (transform and model) before one assignment makes it current, so a request in flight
finishes on the old model and the next one starts on the new.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from modelfab.errors import FabError
from modelfab.package.predictor import Predictor
from modelfab.registry import client as registry
from modelfab.serve.schema import record_model


@dataclass(frozen=True)
class Served:
    name: str
    version: int
    predictor: Predictor
    record: type[BaseModel]

    @property
    def inputs(self) -> list[str]:
        return self.predictor.meta["inputs"]


class ModelHolder:
    def __init__(self, tracking_uri: str, ref: str) -> None:
        self.client = registry.client(tracking_uri)
        self.name, self.alias, self.version = registry.parse_reference(ref)
        self._lock = threading.Lock()  # one switch at a time; requests never take it
        self.current: Served = self._load(registry.resolve(self.client, ref))

    @staticmethod
    def _load(info: Any) -> Served:
        predictor = Predictor(info.package)
        predictor.warm()  # the transform, the model and the checked record path: before the switch
        return Served(info.name, info.version, predictor, record_model(predictor.meta))

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
            new = self._load(info)
            if _signature(new) != _signature(self.current):
                raise InputsChanged(
                    f"{info.name} version {info.version} takes other inputs than version {self.current.version} "
                    f"({', '.join(new.inputs)}); still serving version {self.current.version}: restart the server "
                    "to serve the new one")
            self.current = new
            return True


class InputsChanged(FabError):
    pass


def _signature(served: Served) -> list:
    columns = served.predictor.meta["schema"]["columns"]
    return [(c, columns[c]["kind"]) for c in served.inputs]
