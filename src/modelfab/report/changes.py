"""What changed since the last run: the spec's values, the data and model digests, the metrics.
Each report keeps `run.json` (what the next one compares with); the newest report on record
(`report.index`) is the last run's."""

from __future__ import annotations

import json
from pathlib import Path

from modelfab.report.index import latest

RECORD = "run.json"


def previous_report(ctx, store) -> str:  # noqa: ANN001 - the report stage's `external`
    """The last run's report: part of the report's cache key, so "what changed" is never stale."""
    return latest(ctx.store_dir) or ""


def last_run(store_dir: Path) -> dict | None:
    path = latest(store_dir)
    try:
        return json.loads((Path(path).parent / RECORD).read_text()) if path else None
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
        return ["the first run with a report in this store: nothing to compare with"]
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
    return lines or ["nothing: the same spec, data and model as the last run"]


def _short(value: object) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."
