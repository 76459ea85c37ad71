"""A stage's view of the spec: exactly the keys it declared, read-only.

A stage declares the keys it reads (`sections=("train", "data.entity")`): a top-level section,
or one key inside one. The same declaration makes the stage's cache key and this view, so what a
stage reads and what its key covers cannot drift apart: reading any other key raises
`UndeclaredKey`, in every run and every test.
"""

from __future__ import annotations

from typing import Any

from modelfab.errors import StageError


class UndeclaredKey(StageError):
    """A stage read a spec key it did not declare (a bug in the stage, not in fab.yaml)."""


def resolve(spec: Any, key: str) -> Any:
    """The value at a declared key: `train`, or `train.seed` (`validate`, not `validate_`)."""
    value = spec
    for part in key.split("."):
        value = getattr(value, f"{part}_" if hasattr(value, f"{part}_") else part)
    return value


class SpecView:
    """The declared keys of one spec, as attributes (`view.train.seed`, `view.data`).

    Holds only the declared values (pydantic models, which pickle), so it travels with a stage
    to another process."""

    def __init__(self, spec: Any, declared: tuple[str, ...], stage: str = "") -> None:
        tops: dict[str, set[str] | None] = {}
        for key in declared:
            top, _, sub = key.partition(".")
            if not sub:
                tops[top] = None
            elif tops.get(top, set()) is not None:
                tops.setdefault(top, set()).add(sub)
        self._stage = stage
        self._values = {top: _Part(resolve(spec, top), subs, f"{top}.", stage) if subs else resolve(spec, top)
                        for top, subs in tops.items()}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        key = name[:-1] if name.endswith("_") else name
        if key not in self._values:
            raise UndeclaredKey(f"stage {self._stage!r} read spec key {key!r}, which it does not declare "
                                f"(declared: {', '.join(self._values) or 'none'})")
        return self._values[key]

    def section(self, key: str) -> Any:
        return getattr(self, key)

    @property
    def model_name(self) -> str:
        """The registered model's name: `register.name`, else the spec's `name`."""
        return self.register.name or self.name


class _Part:
    """A section of which only some keys were declared."""

    def __init__(self, value: Any, keys: set[str], prefix: str, stage: str) -> None:
        self._value, self._keys, self._prefix, self._stage = value, keys, prefix, stage

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._keys:
            raise UndeclaredKey(f"stage {self._stage!r} read spec key '{self._prefix}{name}', which it does not "
                                f"declare (declared: {', '.join(self._prefix + k for k in sorted(self._keys))})")
        return getattr(self._value, name)
