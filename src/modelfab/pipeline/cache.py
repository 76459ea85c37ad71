"""Cache keys: a stage re-runs only when its code, its spec sections, its inputs or the outside
state it reads (the champion) change."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from modelfab.artifacts.store import Ref
from modelfab.pipeline.graph import Stage
from modelfab.spec.view import resolve


def section_config(spec: Any, stage: Stage) -> dict:
    """The values of the keys the stage declares: the same declaration makes `ctx.spec`."""
    return {key: _dump(resolve(spec, key)) for key in stage.sections}


def cache_key(stage: Stage, config: dict, inputs: dict[str, Ref], external: str = "") -> str:
    payload = {
        "stage": stage.name,
        "code": stage.code_version,
        "config": config,
        "inputs": {name: ref.digest for name, ref in sorted(inputs.items())},
        "external": external,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json", by_alias=True) if hasattr(value, "model_dump") else value
