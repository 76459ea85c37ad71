"""Save and load fitted scikit-learn objects with skops, trusting only known type families.

skops refuses to build any type it is not told to trust; we trust scikit-learn, NumPy, SciPy
and modelfab's own transforms, so a swapped file cannot make us construct anything else.
"""

from __future__ import annotations

from pathlib import Path

from modelfab.errors import StoreError

TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "modelfab.", "builtins.", "collections.")


def save_transform(obj: object, path: Path) -> None:
    import skops.io as sio

    sio.dump(obj, path)


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
