"""The champion, remembered between runs while the registry's SQLite file is unchanged.

The gate's cache key holds the champion's identity, so every run must know it. Asking MLflow
means importing it, 1-2 s here and the largest cost of a run that changes nothing. When the
registry is a local SQLite file whose state (size, modification time, write-ahead log) is the
one recorded after the last question, the answer recorded then still holds: any commit, by any
process, changes that state (short of one in the same clock tick that leaves both sizes alone).
Other registries (a server) are asked every time.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from modelfab.artifacts.store import atomic_write_text
from modelfab.registry.client import sqlite_file

FILE = "champion.json"
GATE_KEY_TAG = "modelfab.gate_key"  # on a version: the champion part of the gate key that blessed it


def file_state(path: Path) -> list[int] | None:
    """The database's size and modification time, and its write-ahead log's (an empty log counts
    as none: SQLite deletes it when the last connection closes)."""
    try:
        db = path.stat()
    except FileNotFoundError:
        return None
    wal = path.with_name(path.name + "-wal")
    log = wal.stat() if wal.is_file() else None
    return [db.st_size, db.st_mtime_ns, *((log.st_size, log.st_mtime_ns) if log and log.st_size else (0, 0))]


def recall(cache: Path, uri: str, name: str, alias: str) -> tuple[bool, dict | None]:
    """(True, champion or None) when the record still holds; (False, None) when MLflow must be asked."""
    entry = _valid_entry(cache, uri, name, alias)
    return (False, None) if entry is None else (True, entry.get("champion"))


def _valid_entry(cache: Path, uri: str, name: str, alias: str) -> dict | None:
    """The whole record, if it is for this question and the registry file is in its recorded state."""
    path = sqlite_file(uri)
    memo = cache / FILE
    if path is None or not memo.is_file():
        return None
    try:
        entry = json.loads(memo.read_text())
    except (OSError, ValueError):
        return None
    if entry.get("for") != [uri, name, alias] or entry.get("state") != file_state(path):
        return None
    return entry


def identity(info: Any) -> dict | None:
    """What the gate's cache key needs of a champion (a registry VersionInfo)."""
    if info is None:
        return None
    return {"name": info.name, "version": info.version, "digest": info.digest,
            "gate_key": info.tags.get(GATE_KEY_TAG)}


def remember(cache: Path, uri: str, name: str, alias: str) -> None:
    """After a run that loaded MLflow anyway: fold the write-ahead log into the file, record the
    file's state, then ask for the champion, in that order (a commit in between leaves a record
    that no longer matches the file, never a wrong one)."""
    path = sqlite_file(uri)
    if path is None or "mlflow" not in sys.modules or not path.is_file():
        return
    try:
        with sqlite3.connect(path, timeout=0.2) as con:
            busy = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        con.close()
    except sqlite3.Error:
        return
    if busy:  # a reader holds the log: its state will move; the next run asks MLflow
        return
    state = file_state(path)
    from modelfab.registry import client as registry

    info = registry.champion(registry.client(uri), name, alias)
    atomic_write_text(cache / FILE, json.dumps({"for": [uri, name, alias], "state": state,
                                                "champion": identity(info)}))


def recall_package(cache: Path, uri: str, name: str, alias: str) -> tuple[Path, int] | None:
    """The champion's package folder and version, when the record holds them and still holds."""
    known, champ = recall(cache, uri, name, alias)
    if not known or not champ or not champ.get("package"):
        return None
    package = Path(champ["package"])
    if not package.is_dir():
        return None
    from modelfab.registry.client import verify_package

    verify_package(package, champ.get("digest"), name, int(champ["version"]))
    return package, int(champ["version"])


def remember_package(cache: Path, uri: str, name: str, alias: str, info: Any) -> None:
    """Add where the champion's package is to the record, after a batch prediction asked MLflow
    for it, so the next one need not import MLflow (1-2 s of `modelfab predict`). Only a record
    that still holds and names this same version is extended; asking MLflow for a package writes
    nothing to the registry, so the recorded state stays true. A run does not record the path:
    it would cost each tracked run one more registry query, for a question only prediction asks."""
    entry = _valid_entry(cache, uri, name, alias)
    if entry is None or not entry.get("champion") or entry["champion"].get("version") != info.version:
        return
    entry["champion"]["package"] = str(info.package)
    atomic_write_text(cache / FILE, json.dumps(entry))
