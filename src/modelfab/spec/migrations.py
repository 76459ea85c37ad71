"""Upgrades of older `fab.yaml` formats, one small function per version step.

A migration takes the raw mapping of version N and returns the mapping of version N + 1, so an
old spec keeps working and `modelfab schema` always describes the newest format.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelfab.spec.schema import CURRENT_VERSION

Raw = dict[str, Any]
MIGRATIONS: dict[int, Callable[[Raw], Raw]] = {}


def migration(from_version: int) -> Callable[[Callable[[Raw], Raw]], Callable[[Raw], Raw]]:
    """Register `func` as the upgrade from `from_version` to `from_version + 1`."""

    def register(func: Callable[[Raw], Raw]) -> Callable[[Raw], Raw]:
        MIGRATIONS[from_version] = func
        return func

    return register


def migrate(raw: Raw) -> tuple[Raw, list[int]]:
    """Upgrade `raw` to the current version; returns it and the versions it passed through."""
    version = raw.get("version", CURRENT_VERSION)
    passed: list[int] = []
    while isinstance(version, int) and version < CURRENT_VERSION and version in MIGRATIONS:
        raw = MIGRATIONS[version](dict(raw))
        passed.append(version)
        version += 1
        raw["version"] = version
    return raw, passed
