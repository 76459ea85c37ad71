"""Image files as a table: one row per image with its path (and, for a class-per-folder tree, its
class). Every image is decoded once here, so a damaged file is named at ingest (or skipped and
counted, by `data.images.bad_files`), never found deep inside training."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from modelfab.errors import DataError
from modelfab.spec.schema import DataConfig

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"}


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def folder_digest(folder: Path) -> str:
    """Names, sizes and modification times of every image: a new, removed or rewritten image
    changes it without reading every byte of a large tree."""
    h = hashlib.sha256()
    for p in image_files(folder):
        st = p.stat()
        h.update(f"{p.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def read_image_folder(folder: Path, data: DataConfig, key: str = "data.source") -> pd.DataFrame:
    """`folder/<class>/<image>`: a row per image with its absolute path and class."""
    classes = sorted(p for p in folder.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"{key}: {folder} has no class folders; expected one subfolder of images per class "
                        "(or a CSV manifest with a path column)")
    rows = []
    for class_folder in classes:
        files = image_files(class_folder)
        if not files:
            raise DataError(f"{key}: class folder {class_folder} holds no images ({', '.join(sorted(SUFFIXES))}); "
                            "remove the empty class or add its images")
        rows += [(str(p.resolve()), class_folder.name) for p in files]
    frame = pd.DataFrame(rows, columns=[data.image_column, data.target])
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="line")
    return frame


def resolve_paths(frame: pd.DataFrame, column: str, base: Path, source: str) -> pd.DataFrame:
    """Manifest paths made absolute (relative ones are relative to the manifest's folder)."""
    if column not in frame.columns:
        from modelfab.errors import did_you_mean

        raise DataError(f"data.images.column: column {column!r} is not in {source}.{did_you_mean(column, frame.columns)}")
    paths = frame[column].astype(str)
    absolute = [p if Path(p).is_absolute() else str((base / p).resolve()) for p in paths]
    return frame.assign(**{column: absolute})


def check_images(frame: pd.DataFrame, data: DataConfig, source: str) -> tuple[pd.DataFrame, list[dict]]:
    """Decode every image; stop at the first bad one, or drop the bad ones and list them."""
    bad_files = data.images.bad_files if data.images else "error"
    column, bad = data.image_column, []
    for line, path in frame[column].items():
        problem = "file not found" if not Path(path).is_file() else check_image(Path(path))
        if problem:
            if bad_files == "error":
                raise DataError(f"{source} line {line}: image {path} is not usable ({problem}); fix or remove it, "
                                "or set data.images.bad_files: skip")
            bad.append({"line": int(line), "path": path, "problem": problem})
    if bad:
        frame = frame.drop(index=[b["line"] for b in bad])
    return frame, bad


def check_image(path: Path) -> str | None:
    """Why the file is not a usable image, or None. Decodes fully: a truncated file passes
    `verify()` but fails here."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            if im.width < 1 or im.height < 1:
                return "the image is empty"
    except Exception as exc:  # Pillow raises many types for damaged files
        return f"{type(exc).__name__}: {exc}"
    return None
