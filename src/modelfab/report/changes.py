"""What changed since the last run that differed from this one: the spec's values, the input
artifacts, the metrics. Each report keeps `run.json`, what a later one compares with; the reports
on record (`report.index`) are searched newest first for one whose spec or inputs differ.

An unchanged re-run finds the same earlier run, so its report stays cached (and opens no MLflow
run); a changed one compares with the run before it, and going back to an earlier spec compares
with the one in between."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from modelfab.report.index import reports

RECORD = "run.json"


def spec_of(ctx, sections: tuple[str, ...]) -> dict:  # noqa: ANN001
    """The validated spec, defaults filled in, as JSON values."""
    out = {}
    for key in sections:
        value = getattr(ctx.spec, key)
        if value is not None:
            out[key] = value.model_dump(mode="json", by_alias=True) if hasattr(value, "model_dump") else value
    return out


def digest(spec: dict) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def previous(ctx, sections: tuple[str, ...]) -> tuple[str, dict | None]:  # noqa: ANN001
    """The newest report on record from a run with another spec or other inputs, and its record."""
    me = (digest(spec_of(ctx, sections)), dict(ctx.inputs))
    for path in reversed(reports(ctx.store_dir)):
        record = read_record(path)
        if record is not None and (record.get("spec_digest"), record.get("inputs")) != me:
            return path, record
    return "", None


def read_record(report: str) -> dict | None:
    try:
        return json.loads((Path(report).parent / RECORD).read_text())
    except (OSError, ValueError):
        return None  # a report from before run.json, or one moved away: nothing to compare


def flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, inner in value.items():
            out |= flatten(inner, f"{prefix}{key}.")
        return out
    return {prefix.rstrip("."): value}


def differences(now: dict, before: dict | None) -> list[str]:
    """Lines a person reads: each spec key that changed, the inputs that changed, metric moves."""
    if before is None:
        return ["the first run in this store (or the first with this spec and these inputs since reports "
                "were kept): nothing to compare with"]
    lines = []
    old, new = flatten(before.get("spec", {})), flatten(now["spec"])
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            lines.append(f"spec {key}: {_short(old.get(key, '(not set)'))} -> {_short(new.get(key, '(not set)'))}")
    for name, digest in sorted(now["inputs"].items()):
        if before.get("inputs", {}).get(name) not in (None, digest):
            lines.append(f"{name}: a different artifact ({before['inputs'][name][:12]} -> {digest[:12]})")
    for name, value in now["metrics"].items():
        was = before.get("metrics", {}).get(name)
        if isinstance(was, (int, float)) and isinstance(value, (int, float)) and abs(was - value) > 1e-12:
            lines.append(f"metric {name}: {was:.4g} -> {value:.4g} ({value - was:+.4g})")
    return lines or ["nothing in the spec, the inputs or the metrics"]


def _short(value: object) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."
