"""The nouns passed between stages. Each documents its files on disk; none is a pickle.

An artifact is saved into an empty folder and loaded from one; the store decides where that
folder lives and names it by the hash of its content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=_plain, allow_nan=True)


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def write_json(path: Path, obj: Any) -> None:
    path.write_text(to_json(obj), encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class Artifact:
    """Base of every artifact: `save(folder)` writes files, `load(folder)` reads them back."""

    kind: ClassVar[str] = "artifact"

    def save(self, folder: Path) -> None:
        raise NotImplementedError

    def memory_bytes(self) -> int | None:
        """Bytes the artifact holds in memory, or None when it is not worth keeping in memory
        (a Folder points at files that are moved when stored)."""
        return None

    def stored(self, folder: Path) -> None:
        """Told where the store put this artifact's files (a table remembers its Parquet file)."""

    @classmethod
    def load(cls, folder: Path) -> Artifact:
        raise NotImplementedError


SMALL_FRAME_CELLS = 1_000_000


def _write_frame(*frames: Any, path: Path) -> None:
    """Write one or more frames with the same layout to one Parquet file, each as its own row
    groups (no concatenated copy of a large table)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    try:
        for frame in frames:  # one part in Arrow form at a time
            # Row order and the index are part of the content; the index is kept as a column.
            # Arrow converts columns on a thread pool; for a small part, starting it costs more
            # than the conversion (about 1 ms of a 2 ms write).
            threads = None if frame.size > SMALL_FRAME_CELLS else 1
            table = pa.Table.from_pandas(frame, preserve_index=True, nthreads=threads)
            if writer is None:
                # Dictionary pages pay off for text; for measurements they cost a third of the
                # write time and are dropped anyway once the dictionary overflows.
                text = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
                writer = pq.ParquetWriter(path, table.schema, compression="zstd", use_dictionary=text or False)
            writer.write_table(table)
            del table
    finally:
        if writer is not None:
            writer.close()


def _read_frame(path: Path) -> Any:
    import pyarrow.parquet as pq

    # Each Arrow column is freed as soon as it is converted, so a large table is not held twice.
    return pq.read_table(path).to_pandas(self_destruct=True, split_blocks=True)


@dataclass
class Table(Artifact):
    """A table and a JSON note about it.

    Files: `table.parquet` (the rows; the index holds each row's number in the source file),
    `info.json`.
    """

    frame: Any
    info: dict = field(default_factory=dict)
    # A stored Parquet file that holds exactly `frame`: a stage that passes its input's rows
    # through unchanged (clean, when nothing is dropped) copies that file instead of encoding
    # the rows again. A copy, not a hard link: damage to one object must not reach another.
    source: Path | None = field(default=None, repr=False, compare=False)
    kind: ClassVar[str] = "table"

    def save(self, folder: Path) -> None:
        if self.source is not None and self.source.is_file():
            _clone_or_copy(self.source, folder / "table.parquet")
        else:
            _write_frame(self.frame, path=folder / "table.parquet")
        write_json(folder / "info.json", self.info)

    def stored(self, folder: Path) -> None:
        self.source = folder / "table.parquet"

    def memory_bytes(self) -> int:
        return int(self.frame.memory_usage(index=True, deep=False).sum())

    @classmethod
    def load(cls, folder: Path) -> Table:
        return cls(_read_frame(folder / "table.parquet"), read_json(folder / "info.json"),
                   source=folder / "table.parquet")


def _clone_or_copy(source: Path, target: Path) -> None:
    """A copy-on-write clone where the file system has them (btrfs, XFS), else a plain copy."""
    import fcntl
    import shutil

    ficlone = 0x40049409  # FICLONE: share the blocks until either file is written
    with open(source, "rb") as src, open(target, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), ficlone, src.fileno())
            return
        except OSError:
            pass
    shutil.copyfile(source, target)


class RawTable(Table):
    """The table as ingested, with the target derived where the spec says so."""

    kind: ClassVar[str] = "raw_table"


class CleanTable(Table):
    """The table after duplicates and rows without a target are dropped."""

    kind: ClassVar[str] = "clean_table"


@dataclass
class JsonArtifact(Artifact):
    """An artifact that is one JSON document. Files: `<kind>.json`."""

    data: dict
    kind: ClassVar[str] = "json"

    def save(self, folder: Path) -> None:
        write_json(folder / f"{self.kind}.json", self.data)

    def memory_bytes(self) -> int:
        return 0

    @classmethod
    def load(cls, folder: Path) -> JsonArtifact:
        return cls(read_json(folder / f"{cls.kind}.json"))


class DataReport(JsonArtifact):
    """The inferred schema (type, range, categories, missing rate per column), the task and the
    target's classes, and any warnings. Prediction inputs are checked against its schema."""

    kind: ClassVar[str] = "data_report"


class Blessing(JsonArtifact):
    """The gate's verdict: `blessed`, the rule that decided, candidate and champion metrics."""

    kind: ClassVar[str] = "blessing"


class Registration(JsonArtifact):
    """What the registry did: model name, version, alias, or why nothing was registered."""

    kind: ClassVar[str] = "registration"


class Champion(JsonArtifact):
    """Who the gate judges against: `champion` (name, version, digest of the model in
    production, or null) and `key`, the identity the verdict is cached under."""

    kind: ClassVar[str] = "champion"


class BlendMembers(JsonArtifact):
    """The registered versions a blend averages (`members`: name, version, digest, package),
    empty for any other family."""

    kind: ClassVar[str] = "blend_members"


class Parts(Artifact):
    """Tables with the same meaning per part (train, validation, ...), named by `PARTS`. Files:
    `parts.parquet` (the parts stacked, in that order) and `parts.json` (rows per part) when the
    parts have the same columns and types, else one `<part>.parquet` each (a separate test file
    may type a column differently); `info.json`."""

    PARTS: ClassVar[tuple[str, ...]] = ()
    info: dict

    def save(self, folder: Path) -> None:
        frames = [getattr(self, part) for part in self.PARTS]
        if _same_layout(frames):
            # One file costs a third of three: a Parquet write has a large fixed part.
            _write_frame(*frames, path=folder / "parts.parquet")
            write_json(folder / "parts.json", {part: len(f) for part, f in zip(self.PARTS, frames, strict=True)})
        else:
            for part, frame in zip(self.PARTS, frames, strict=True):
                _write_frame(frame, path=folder / f"{part}.parquet")
        write_json(folder / "info.json", self.info)

    def memory_bytes(self) -> int:
        return sum(int(getattr(self, p).memory_usage(index=True, deep=False).sum()) for p in self.PARTS)

    @classmethod
    def load(cls, folder: Path) -> Parts:
        if (folder / "parts.parquet").is_file():
            whole, rows = _read_frame(folder / "parts.parquet"), read_json(folder / "parts.json")
            bounds = np.cumsum([0, *(rows[part] for part in cls.PARTS)])
            parts = [whole.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        else:
            parts = [_read_frame(folder / f"{part}.parquet") for part in cls.PARTS]
        return cls(*parts, info=read_json(folder / "info.json"))


@dataclass
class Splits(Parts):
    """Train, validation and test rows, with all their columns; `info.json` holds the method
    and sizes."""

    train: Any
    valid: Any
    test: Any
    info: dict = field(default_factory=dict)
    kind: ClassVar[str] = "splits"
    PARTS: ClassVar[tuple[str, ...]] = ("train", "valid", "test")


@dataclass
class FeatureSet(Parts):
    """Model-ready matrices of the rows a model learns from and is stopped on: one column per
    output feature plus `__target__`, for the train and validation parts. There is no test
    part: evaluate scores the test rows from their raw columns through the saved package, as
    prediction will, so a matrix of them here would be computed and stored for nothing."""

    train: Any
    valid: Any
    info: dict = field(default_factory=dict)
    kind: ClassVar[str] = "feature_set"
    PARTS: ClassVar[tuple[str, ...]] = ("train", "valid")


def _same_layout(frames: list) -> bool:
    first = frames[0]
    return all(
        f.columns.equals(first.columns) and f.dtypes.equals(first.dtypes)
        and f.index.dtype == first.index.dtype and f.index.names == first.index.names
        for f in frames[1:]
    )


@dataclass
class Folder(Artifact):
    """An artifact that is a folder of files its producer wrote (a model package, plots).

    Loading returns the folder's path in the store, for readers that know its layout.
    """

    path: Path
    kind: ClassVar[str] = "folder"

    def save(self, folder: Path) -> None:
        import shutil

        shutil.copytree(self.path, folder, dirs_exist_ok=True)

    @classmethod
    def load(cls, folder: Path) -> Folder:
        return cls(folder)


class FeatureTransform(Folder):
    """The fitted preprocessing. Files: `transform.skops` (scikit-learn pipeline, loaded only with
    an explicit list of trusted types), `transform.json` (input and output columns)."""

    kind: ClassVar[str] = "feature_transform"


class ModelPackage(Folder):
    """Everything prediction needs. Files: `package.json` (task, target, classes, threshold, input
    schema), `transform.skops`, `model/` (the family's own safe files, e.g. LightGBM text),
    `reference.parquet` (a sample of the training rows, the monitoring reference)."""

    kind: ClassVar[str] = "model_package"


class OnnxModel(Folder):
    """The package as ONNX (the export stage). Files: `onnx.json` (exported or why not, the
    graph's inputs and outputs, what runs in Python before it, the parity check on the test
    rows, the SHA-256 of the graph), and `model.onnx` where it exported."""

    kind: ClassVar[str] = "onnx_model"


class Evaluation(Folder):
    """Metrics and plots. Files: `metrics.json` (metrics, per-class scores, confusion matrix,
    cross-validation, permutation importance), `plots/*.png`."""

    kind: ClassVar[str] = "evaluation"


class Explanation(Folder):
    """Why the model says what it says. Files: `explanation.json` (method, output space, base
    value, mean |contribution| per input column and per model feature, and the per-row
    contributions of a sample of test rows, the largest errors first), `plots/*.png`."""

    kind: ClassVar[str] = "explanation"


class RunReport(Folder):
    """What a person opens after a run. Files: `report.html`, self-contained (styles inline,
    plots embedded, nothing fetched)."""

    kind: ClassVar[str] = "run_report"


ARTIFACT_TYPES: dict[str, type[Artifact]] = {
    t.kind: t
    for t in (
        RawTable, CleanTable, DataReport, Blessing, Registration, Champion, BlendMembers, Splits, FeatureSet,
        FeatureTransform, ModelPackage, OnnxModel, Evaluation, Explanation, RunReport,
    )
}
