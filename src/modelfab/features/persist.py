"""Save and load fitted scikit-learn objects with skops, trusting only known type families.

skops refuses to build any type it is not told to trust; we trust scikit-learn, NumPy, SciPy
and modelfab's own transforms, so a swapped file cannot make us construct anything else.
"""

from __future__ import annotations

import re
from pathlib import Path

from modelfab.errors import StoreError

TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "modelfab.", "builtins.", "collections.")


_ID = re.compile(r'"__id__": (\d+)|"file": "(\d+)\.npy"')


def save_transform(obj: object, path: Path) -> None:
    """Dump with skops, then make the bytes reproducible: skops names objects and array files by
    their memory address and stamps zip entries with the time, so the same fitted transform
    would get a new content address on every run. Addresses are renumbered in order of first
    appearance and timestamps fixed."""
    import io
    import zipfile

    import skops.io as sio

    raw = io.BytesIO()
    sio.dump(obj, raw)
    with zipfile.ZipFile(raw) as src:
        schema = src.read("schema.json").decode()
        numbers: dict[str, str] = {}
        for match in _ID.finditer(schema):
            numbers.setdefault(match.group(1) or match.group(2), str(len(numbers) + 1))

        def renumber(match: re.Match) -> str:
            if match.group(1):
                return f'"__id__": {numbers[match.group(1)]}'
            return f'"file": "{numbers[match.group(2)]}.npy"'

        files = {"schema.json": _ID.sub(renumber, schema).encode()}
        for name in src.namelist():
            if name.endswith(".npy"):
                files[f"{numbers.get(name[:-4], name[:-4])}.npy"] = src.read(name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(files):
            dst.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), files[name],
                         compress_type=zipfile.ZIP_DEFLATED)


def load_transform(path: Path) -> object:
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises zip, JSON and key errors for damaged files
        raise StoreError(f"{path}: not a readable skops file ({exc})") from None
    refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if refused:
        raise StoreError(f"{path}: holds types modelfab does not trust: {refused}; refusing to load it")
    return sio.load(path, trusted=untrusted)
