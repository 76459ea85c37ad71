"""Clean: drop what must not be learned from (duplicates, rows without a target) once, before
the split; value fixes (gaps, outliers, noise) are transforms fitted on the training split and
saved with the model, so prediction repairs values exactly as training did."""

from __future__ import annotations

import pandas as pd

from modelfab.artifacts import CleanTable, DataReport, RawTable
from modelfab.errors import DataError
from modelfab.pipeline import stage
from modelfab.spec.schema import CleanConfig


@stage("clean", outputs={"clean": CleanTable}, sections=("clean",))
def clean(raw: RawTable, report: DataReport, clean: CleanConfig) -> CleanTable:
    frame = raw.frame
    target = report.data["target"]
    info = {"rows_in": len(frame)}
    # Index only when something is dropped: each boolean index copies the whole table.
    if clean.duplicates == "drop":
        duplicated = duplicate_rows(frame)
        info["duplicates_dropped"] = int(duplicated.sum())
        if info["duplicates_dropped"]:
            frame = frame[~duplicated]
    missing = frame[target].isna()
    if missing.any() and clean.missing_target == "error":
        raise DataError(f"{report.data['source']} line {missing.idxmax()}: target {target!r} is missing "
                        "(clean.missing_target: error)")
    info["missing_target_dropped"] = int(missing.sum())
    if info["missing_target_dropped"]:
        frame = frame[~missing]
    info["rows_out"] = len(frame)
    # Nothing dropped: the stored raw rows are these rows, so their file is linked, not rewritten.
    return CleanTable(frame, info, source=raw.source if frame is raw.frame else None)


def duplicate_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows equal to an earlier row, as `DataFrame.duplicated()` finds them, in less memory.

    `duplicated()` factorizes every column at once (eight bytes per cell); a 64-bit hash per
    row costs eight bytes per row. Rows whose hashes collide are compared exactly, so a hash
    collision can never drop a row that is not a true duplicate.
    """
    hashes = pd.util.hash_pandas_object(frame, index=False)
    candidates = hashes.duplicated(keep=False)
    duplicated = pd.Series(False, index=frame.index)
    if candidates.any():
        subset = frame[candidates.to_numpy()]
        duplicated[candidates.to_numpy()] = subset.duplicated().to_numpy()
    return duplicated
