"""A content-addressed artifact store in a local folder, with atomic writes.

Layout under the store root (`.fab/` by default):

    objects/ab/abcdef.../   one folder per artifact, named by the SHA-256 of its kind and files
    manifests/ab/abcdef.json  each file's size, SHA-256 and mtime, written with the artifact
    damaged/                objects that failed a check, moved aside (never reused, never deleted)
    cache/<key>.json        which artifacts a stage produced for a cache key
    lineage/<digest>.json   which stage, inputs, config and code produced an artifact
    tmp/                    folders being written; renamed into objects/ only when complete

A folder appears under `objects/` by one `rename`, so a crash or Ctrl-C never leaves a half
artifact there, and nothing already stored is overwritten.

Nothing stored is trusted because it exists. Reading an artifact checks every file against the
manifest, by SHA-256, once per process; a cache hit checks names and sizes, and re-hashes any
file whose mtime changed (as git's index does), so an unchanged re-run reads no data. A damaged
object is moved aside with a note: the stage that made it runs again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from modelfab.artifacts.integrity import files_of, hash_file, problem, seal
from modelfab.artifacts.types import ARTIFACT_TYPES, Artifact, to_json
from modelfab.errors import StoreError

__all__ = ["ArtifactStore", "Ref", "atomic_write_text", "hash_file", "hash_folder"]


@dataclass(frozen=True)
class Ref:
    """The address of a stored artifact."""

    kind: str
    digest: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.digest[:12]}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "digest": self.digest}


def hash_folder(folder: Path, kind: str) -> str:
    """The digest alone, in one pass (a registered package's check); `seal` adds the manifest."""
    h = hashlib.sha256(kind.encode())
    for rel, path in files_of(folder).items():
        h.update(b"\0" + rel.encode() + b"\0")
        hash_file(path, h)
    return h.hexdigest()


def atomic_write_text(path: Path, text: str) -> None:
    """Write a small file so readers see the old or the new content, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.tmp = self.root / "tmp"
        self.cache = self.root / "cache"
        self.lineage = self.root / "lineage"
        self.manifests = self.root / "manifests"
        self.damaged = self.root / "damaged"
        self.notices: list[str] = []  # damage found and repaired by re-running, for the run summary

    # --- artifacts ---

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        """A fresh folder on the store's file system, removed afterwards."""
        folder = self.tmp / uuid.uuid4().hex
        folder.mkdir(parents=True)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def put(self, artifact: Artifact) -> Ref:
        return self.put_new(artifact)[0]

    def put_new(self, artifact: Artifact) -> tuple[Ref, bool]:
        """Store an artifact; also says whether its content was not stored before (a damaged
        copy already there is moved aside and replaced)."""
        with self.scratch() as folder:
            artifact.save(folder)
            digest, manifest = seal(folder, artifact.kind)
            ref = Ref(artifact.kind, digest)
            target = self.path(ref)
            # Hashed whole: a re-run made these bytes again because something may be wrong.
            if target.exists() and (why := self.check(ref, deep=True)):
                self.notices.append(why)
            new = not target.exists()
            if new:
                atomic_write_text(self._manifest_path(ref), json.dumps(manifest))
                target.parent.mkdir(parents=True, exist_ok=True)
                os.rename(folder, target)
        return ref, new

    def path(self, ref: Ref) -> Path:
        return self.objects / ref.digest[:2] / ref.digest

    def exists(self, ref: Ref) -> bool:
        return self.path(ref).is_dir()

    def get(self, ref: Ref) -> Artifact:
        """The artifact, after every file is checked against its manifest (once per process)."""
        folder = self.path(ref)
        if not folder.is_dir():
            raise StoreError(f"artifact {ref} is missing from {self.objects}; re-run with `modelfab run --from` its stage")
        if why := self.check(ref, deep=True):
            raise StoreError(f"{why}. Run again: the stage that made it runs again")
        return ARTIFACT_TYPES[ref.kind].load(folder)

    def check(self, ref: Ref, deep: bool = False) -> str | None:
        """None when the stored object is whole; else it is moved aside and this says why."""
        folder, path = self.path(ref), self._manifest_path(ref)
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError):  # written before manifests, or the manifest itself is damaged
            digest, manifest = seal(folder, ref.kind)
            if digest != ref.digest:
                return self._set_aside(ref, "its files do not match its digest")
            atomic_write_text(path, json.dumps(manifest))
            return None
        why, moved = problem(folder, manifest, deep)
        if why:
            return self._set_aside(ref, why)
        if moved:
            atomic_write_text(path, json.dumps(manifest))
        return None

    def _set_aside(self, ref: Ref, why: str) -> str:
        """Move a damaged object out of objects/ (kept for a post-mortem) and say where it went."""
        self.damaged.mkdir(parents=True, exist_ok=True)
        dest = self.damaged / f"{ref.digest[:16]}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        os.rename(self.path(ref), dest)
        note = {"artifact": ref.to_dict(), "problem": why, "moved": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        atomic_write_text(dest.with_suffix(".json"), to_json(note))
        self._manifest_path(ref).unlink(missing_ok=True)
        return f"artifact {ref} was damaged ({why}); it was moved to {dest}"

    def _manifest_path(self, ref: Ref) -> Path:
        return self.manifests / ref.digest[:2] / f"{ref.digest}.json"

    def sweep(self) -> None:
        """Remove folders left in tmp/ by a run that was killed."""
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- stage cache ---

    def cache_get(self, key: str) -> dict | None:
        """The cache entry for `key` when every output it names is stored and whole, else None."""
        path = self.cache / f"{key}.json"
        if not path.is_file():
            return None
        try:
            entry = json.loads(path.read_text())
            refs = [Ref(**r) for r in entry["outputs"].values()]
        except (ValueError, KeyError, TypeError):
            self.notices.append(f"cache entry {path} was unreadable; its stage runs again")
            return None
        if not all(self.exists(r) for r in refs):
            return None
        damage = [why for r in refs if (why := self.check(r))]
        self.notices.extend(f"{why}; its stage runs again" for why in damage)
        return None if damage else entry

    def cache_put(self, key: str, entry: dict) -> None:
        atomic_write_text(self.cache / f"{key}.json", to_json(entry))

    # --- input files ---

    def file_digest(self, path: Path) -> str:
        """SHA-256 of a data file, remembered by (path, size, mtime) so large files hash once."""
        stat = path.stat()
        memo_path = self.cache / "files.json"
        try:
            memo = json.loads(memo_path.read_text()) if memo_path.is_file() else {}
        except ValueError:  # a damaged memo only costs hashing the files again
            memo = {}
        key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        if key not in memo:
            memo = {k: v for k, v in memo.items() if not k.startswith(f"{path.resolve()}|")}
            memo[key] = hash_file(path)
            atomic_write_text(memo_path, json.dumps(memo, indent=1))
        return memo[key]
