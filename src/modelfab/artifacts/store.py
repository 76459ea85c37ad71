"""A content-addressed artifact store in a local folder, with atomic writes.

Layout under the store root (`.fab/` by default):

    objects/ab/abcdef.../   one folder per artifact, named by the SHA-256 of its kind and files
    cache/<key>.json        which artifacts a stage produced for a cache key
    lineage/<digest>.json   which stage, inputs, config and code produced an artifact
    tmp/                    folders being written; renamed into objects/ only when complete

A folder appears under `objects/` by one `rename`, so a crash or Ctrl-C never leaves a half
artifact there, and nothing already stored is overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from modelfab.artifacts.types import ARTIFACT_TYPES, Artifact, to_json
from modelfab.errors import StoreError

CHUNK = 1 << 20


@dataclass(frozen=True)
class Ref:
    """The address of a stored artifact."""

    kind: str
    digest: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.digest[:12]}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "digest": self.digest}


def hash_file(path: Path, h: hashlib._Hash | None = None) -> str:
    h = h or hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def hash_folder(folder: Path, kind: str) -> str:
    h = hashlib.sha256(kind.encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(b"\0" + path.relative_to(folder).as_posix().encode() + b"\0")
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
        """Store an artifact; also says whether its content was not stored before."""
        with self.scratch() as folder:
            artifact.save(folder)
            digest = hash_folder(folder, artifact.kind)
            target = self.path(Ref(artifact.kind, digest))
            new = not target.exists()
            if new:
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.rename(folder, target)
                except OSError:
                    if not target.exists():  # someone else stored the same content meanwhile
                        raise
        return Ref(artifact.kind, digest), new

    def path(self, ref: Ref) -> Path:
        return self.objects / ref.digest[:2] / ref.digest

    def exists(self, ref: Ref) -> bool:
        return self.path(ref).is_dir()

    def get(self, ref: Ref) -> Artifact:
        folder = self.path(ref)
        if not folder.is_dir():
            raise StoreError(f"artifact {ref} is missing from {self.objects}; re-run with `modelfab run --from` its stage")
        return ARTIFACT_TYPES[ref.kind].load(folder)

    def sweep(self) -> None:
        """Remove folders left in tmp/ by a run that was killed."""
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- stage cache ---

    def cache_get(self, key: str) -> dict | None:
        path = self.cache / f"{key}.json"
        if not path.is_file():
            return None
        entry = json.loads(path.read_text())
        refs = [Ref(**r) for r in entry["outputs"].values()]
        return entry if all(self.exists(r) for r in refs) else None

    def cache_put(self, key: str, entry: dict) -> None:
        atomic_write_text(self.cache / f"{key}.json", to_json(entry))

    # --- input files ---

    def file_digest(self, path: Path) -> str:
        """SHA-256 of a data file, remembered by (path, size, mtime) so large files hash once."""
        stat = path.stat()
        memo_path = self.cache / "files.json"
        memo = json.loads(memo_path.read_text()) if memo_path.is_file() else {}
        key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        if key not in memo:
            memo = {k: v for k, v in memo.items() if not k.startswith(f"{path.resolve()}|")}
            memo[key] = hash_file(path)
            atomic_write_text(memo_path, json.dumps(memo, indent=1))
        return memo[key]
