"""Save and load fitted scikit-learn objects with skops, trusting only known type families.

skops refuses to build any type it is not told to trust; we trust scikit-learn, NumPy, SciPy
and modelfab's own transforms, so a swapped file cannot make us construct anything else.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from modelfab.errors import StoreError

TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "modelfab.", "builtins.", "collections.")


def skops_io():  # noqa: ANN201
    """`skops.io`, imported without importing PyTorch.

    On import, skops lists scikit-learn's estimators, and the walk through scikit-learn's
    packages imports `sklearn.externals.array_api_compat.torch`, which imports torch: 2-3 s
    here, in every process that saves or loads a transform (a table run, `modelfab predict`,
    the server), for a package no table model uses. The walk skips a package that fails to
    import, and that one is not an estimator, so with torch unimportable for the moment the
    list is the same (208 names) and the import takes half the time. Where torch is already
    loaded (a deep-learning run), nothing is blocked."""
    import sys

    if "skops.io" in sys.modules or "torch" in sys.modules:
        import skops.io

        return skops.io
    blocker = _NoTorch()
    sys.meta_path.insert(0, blocker)
    try:
        import skops.io
    finally:
        sys.meta_path.remove(blocker)
    return skops.io


class _NoTorch:
    """An import finder that makes `import torch` fail, while installed."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"{name} is not imported while skops lists its trusted types", name=name)


def save_transform(obj: object, path: Path) -> None:
    """Dump with skops, then make the bytes depend on the fitted values alone.

    skops names objects and array files by their memory address, memoizes objects by identity
    (so whether two equal strings were one object shows in the file) and stamps zip entries
    with the time. Strings are immutable, so each string node gets its own id; then ids are
    renumbered in order of appearance and timestamps fixed. The same fitted transform gets the
    same content address whichever way its inputs reached it (read from the store or handed
    on in memory)."""
    import zipfile

    schema, arrays = _skops_state(obj)
    numbers = _canonical_ids(schema)
    files = {"schema.json": json.dumps(schema).encode()}
    for name, data in arrays.items():
        stem, suffix = name.rsplit(".", 1)
        files[f"{numbers.get(stem, stem)}.{suffix}"] = data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(files):
            dst.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), files[name],
                         compress_type=zipfile.ZIP_DEFLATED)
    data = out.getvalue()
    path.write_bytes(data)
    _remember(data, obj)


def _skops_state(obj: object) -> tuple[dict, dict[str, bytes]]:
    """What `skops.io.dump` writes: the schema and the array files.

    `dump` builds the same schema with the same `get_state`, then writes it with `indent=2`,
    which runs Python's slow JSON encoder: 8 of its 10 ms for a table's transform, for text that
    `save_transform` would only parse again. The steps are skops' own (`skops.io._persist._save`,
    pinned version); a test checks that the file holds what `skops.io.dump` writes."""
    import zipfile

    skops_io()
    import skops
    from skops.io._utils import SaveContext, get_state

    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as zip_file:
        context = SaveContext(zip_file=zip_file)
        state = get_state(obj, context)
        context.clear_memo()
        state["protocol"] = context.protocol
        state["_skops_version"] = skops.__version__
    with zipfile.ZipFile(raw) as src:
        arrays = {name: src.read(name) for name in src.namelist()}
    return state, arrays


def _canonical_ids(schema: object) -> dict[str, str]:
    """Renumber `__id__` (and the names of array files, which share the ids) in document order,
    in place; returns old id -> new id for the array files."""
    numbers: dict[str, str] = {}
    counter = iter(range(1, 1 << 62))

    def visit(node: object) -> None:
        if isinstance(node, (list, tuple)):  # the state skops builds holds tuples where its JSON has lists
            for item in node:
                visit(item)
            return
        if not isinstance(node, dict):
            return
        if "__id__" in node:
            old = str(node["__id__"])
            if node.get("__class__") == "str" and node.get("__loader__") == "JsonNode":
                node["__id__"] = next(counter)  # never shared: identity of a string means nothing
            else:
                numbers.setdefault(old, str(next(counter)))
                node["__id__"] = int(numbers[old])
        if isinstance(node.get("file"), str) and "." in node["file"]:  # .npy arrays, .npz sparse matrices
            old, suffix = node["file"].rsplit(".", 1)
            numbers.setdefault(old, str(next(counter)))
            node["file"] = f"{numbers[old]}.{suffix}"
        for key, value in node.items():
            if key not in ("__id__", "file"):
                visit(value)

    visit(schema)
    return numbers


def load_transform(path: Path) -> object:
    data = path.read_bytes()
    saved = _SAVED.get(hashlib.sha256(data).digest())
    if saved is not None:
        return saved
    sio = skops_io()
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # skops raises zip, JSON and key errors for damaged files
        raise StoreError(f"{path}: not a readable skops file ({exc})") from None
    refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if refused:
        raise StoreError(f"{path}: holds types modelfab does not trust: {refused}; refusing to load it")
    return sio.loads(data, trusted=untrusted)


# The transforms this process saved last, by the SHA-256 of their file. A file with the same
# bytes would load back into an equal object, so evaluating a package right after training
# (same run, same bytes) skips parsing and auditing it again (10-17 ms a run). A swapped or
# damaged file has other bytes and takes the checked path. Two entries: the newest transform
# and one before it; fitted transforms can be large.
_SAVED: dict[bytes, object] = {}
_SAVED_KEEP = 2


def forget_saved() -> None:
    """Make the next loads parse their files (tests of the file round trip)."""
    _SAVED.clear()


def _remember(data: bytes, obj: object) -> None:
    _SAVED[hashlib.sha256(data).digest()] = obj
    while len(_SAVED) > _SAVED_KEEP:
        del _SAVED[next(iter(_SAVED))]
