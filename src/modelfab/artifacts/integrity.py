"""Manifests: what a stored object's files were when it was written, and the check against them.

A manifest lists each file's size, SHA-256 and mtime. The deep check hashes every file; the
shallow one compares names and sizes and hashes only files whose mtime moved, so a cache hit
costs a few `stat` calls and still sees a file truncated, deleted, added or rewritten.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20

# (folder, stat signature) of objects hashed whole in this process: reading one again while its
# files' sizes and mtimes are unchanged does not hash it again.
_HASHED: set[tuple[str, tuple]] = set()


def hash_file(path: Path, h: hashlib._Hash | None = None) -> str:
    h = h or hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def files_of(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def seal(folder: Path, kind: str) -> tuple[str, dict]:
    """One pass over the files: the object's digest (of its kind, names and bytes) and its manifest."""
    whole = hashlib.sha256(kind.encode())
    files = {}
    for rel, path in files_of(folder).items():
        whole.update(b"\0" + rel.encode() + b"\0")
        one = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                whole.update(chunk)
                one.update(chunk)
        stat = path.stat()
        files[rel] = {"size": stat.st_size, "sha256": one.hexdigest(), "mtime_ns": stat.st_mtime_ns}
    return whole.hexdigest(), {"kind": kind, "files": files}


def problem(folder: Path, manifest: dict, deep: bool) -> tuple[str | None, bool]:
    """What is wrong with `folder` against `manifest` (None when nothing), and whether a file's
    mtime moved while its bytes stayed the same (the manifest should be refreshed)."""
    present, expected = files_of(folder), manifest["files"]
    if missing := sorted(expected.keys() - present.keys()):
        return f"file {missing[0]!r} is missing", False
    if added := sorted(present.keys() - expected.keys()):
        return f"file {added[0]!r} was added", False
    stats = {rel: present[rel].stat() for rel in expected}
    for rel, want in expected.items():
        if stats[rel].st_size != want["size"]:
            return f"file {rel!r} is {stats[rel].st_size} bytes, {want['size']} were stored", False
    signature = (str(folder), tuple((rel, s.st_size, s.st_mtime_ns) for rel, s in stats.items()))
    deep = deep and signature not in _HASHED
    moved = False
    for rel, want in expected.items():
        if deep or stats[rel].st_mtime_ns != want["mtime_ns"]:
            if hash_file(present[rel]) != want["sha256"]:
                return f"file {rel!r} does not match its SHA-256 (its bytes changed)", False
            if stats[rel].st_mtime_ns != want["mtime_ns"]:
                want["mtime_ns"], moved = stats[rel].st_mtime_ns, True
    if deep:
        _HASHED.add(signature)
    return None, moved


_SOUND: set[tuple[str, int, int]] = set()  # SQLite files found sound in this process, by size and mtime


def sqlite_problem(path: Path) -> str | None:
    """Why a SQLite file cannot be used (not a database, pages damaged), or None. An absent or
    empty file is a new database. Checked in milliseconds, before a library that would retry
    for minutes opens it."""
    import sqlite3

    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if stat.st_size == 0 or key in _SOUND:
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if verdict != "ok":
        return f"its pages are damaged ({verdict})"
    _SOUND.add(key)
    return None
