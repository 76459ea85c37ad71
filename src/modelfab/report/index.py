"""Which report belongs to which run: `<store>/cache/reports.json`, newest last."""

from __future__ import annotations

import json
from pathlib import Path

from modelfab.artifacts.store import atomic_write_text
from modelfab.errors import DataError

KEEP = 200


def _path(store_dir: Path) -> Path:
    return store_dir / "cache" / "reports.json"


def _read(store_dir: Path) -> list[list[str]]:
    try:
        return json.loads(_path(store_dir).read_text())
    except (OSError, ValueError):
        return []


def remember(store_dir: Path, run_id: str, report: str) -> None:
    runs = [r for r in _read(store_dir) if r[0] != run_id] + [[run_id, report]]
    atomic_write_text(_path(store_dir), json.dumps(runs[-KEEP:]))


def reports(store_dir: Path) -> list[str]:
    """The reports on record, oldest first."""
    return [path for _, path in _read(store_dir)]


def find(store_dir: Path, run_id: str | None = None) -> str:
    runs = _read(store_dir)
    if not runs:
        raise DataError(f"no run report in {store_dir}; `modelfab run` writes one")
    if run_id is None:
        return runs[-1][1]
    found = [path for rid, path in runs if rid.startswith(run_id)]
    if not found:
        raise DataError(f"no report for run {run_id!r} in {store_dir}; the latest runs: "
                        f"{', '.join(r[0] for r in runs[-5:])}")
    return found[-1]
