"""Read a CSV/TSV/TXT or Parquet file into a DataFrame whose index is each row's line number.

Shared by the ingest stage and batch prediction, so both read files the same way and report
problems by file and line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from modelfab.errors import DataError

SAMPLE_BYTES = 64 * 1024
PARQUET_SUFFIXES = {".parquet", ".pq"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}


def read_table(
    path: Path,
    *,
    fmt: str = "auto",
    delimiter: str | None = None,
    encoding: str = "auto",
    columns: list[str] | None = None,
    key: str = "data.source",
) -> pd.DataFrame:
    """Read a table; the index is the 1-based line number in the file (row number for Parquet).

    Raises:
        DataError: naming the file (and the spec `key` that points at it), the line and what
            was expected, for a missing, empty, ragged or undecodable file.
    """
    if not path.is_file():
        raise DataError(f"{key}: file not found: {path}")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty; expected a header row and data rows")
    if fmt == "parquet" or (fmt == "auto" and path.suffix.lower() in PARQUET_SUFFIXES):
        return _read_parquet(path)
    if fmt == "jsonl" or (fmt == "auto" and path.suffix.lower() in JSONL_SUFFIXES):
        return _read_jsonl(path, encoding)
    return _read_text(path, delimiter, encoding, columns)


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(path).to_pandas()
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="line")
    return _check_not_empty(frame, path)


def _read_jsonl(path: Path, encoding: str) -> pd.DataFrame:
    """One JSON object per line (texts with their labels, as annotation tools export them)."""
    import json

    with open(path, "rb") as f:
        raw = f.read()
    encoding = _detect_encoding(raw[:SAMPLE_BYTES]) if encoding == "auto" else encoding
    records, lines = [], []
    for number, line in enumerate(raw.decode(encoding, errors="replace").lstrip("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} line {number}: not valid JSON ({exc.msg}, column {exc.colno}); "
                            "expected one JSON object per line") from None
        if not isinstance(record, dict):
            raise DataError(f"{path} line {number}: got a JSON {type(record).__name__}; expected an object "
                            "such as {\"text\": \"...\", \"label\": \"...\"}")
        records.append(record)
        lines.append(number)
    frame = pd.DataFrame.from_records(records)
    frame.index = pd.Index(lines, name="line")
    return _check_not_empty(frame, path)


def _read_text(path: Path, delimiter: str | None, encoding: str, columns: list[str] | None) -> pd.DataFrame:
    with open(path, "rb") as f:
        sample_bytes = f.read(SAMPLE_BYTES)
    encoding = _detect_encoding(sample_bytes) if encoding == "auto" else encoding
    sample = sample_bytes.decode(encoding, errors="replace").lstrip("\ufeff")
    if not sample.strip():
        raise DataError(f"{path}: the file holds only blank lines; expected a header row and data rows")
    delimiter = delimiter or _detect_delimiter(sample)
    header = columns is None
    if delimiter == "whitespace":
        frame = _read_whitespace(path, encoding, columns)
    else:
        frame = _read_delimited(path, encoding, delimiter, columns)
    first_line = 2 if header else 1
    frame.index = pd.RangeIndex(first_line, first_line + len(frame), name="line")
    if header:
        frame.columns = [str(c).strip() for c in frame.columns]
        _check_header(frame, path)
    return _check_not_empty(frame, path)


def _read_delimited(path: Path, encoding: str, delimiter: str, columns: list[str] | None) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pc

    read = pc.ReadOptions(
        encoding=encoding, column_names=columns, block_size=16 << 20, use_threads=True
    )
    parse = pc.ParseOptions(delimiter=delimiter)
    convert = pc.ConvertOptions(strings_can_be_null=True)
    try:
        table = pc.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise _describe_parse_error(path, encoding, delimiter, columns, exc) from None
    # Free each Arrow column as soon as it is converted, so the table is not held twice.
    return table.to_pandas(self_destruct=True, split_blocks=True)


def _read_whitespace(path: Path, encoding: str, columns: list[str] | None) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, sep=r"\s+", header=None if columns else "infer", encoding=encoding)
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: {exc}") from None
    if columns is not None:
        if frame.shape[1] != len(columns):
            raise DataError(
                f"{path}: has {frame.shape[1]} columns but data.columns names {len(columns)}; "
                "give one name per column"
            )
        frame.columns = columns
    return frame


def _detect_encoding(sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8"  # pyarrow drops the byte-order mark itself
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not just a character cut at the sample's end
            return "latin-1"
    return "utf-8"


def _detect_delimiter(sample: str) -> str:
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        pass
    widths = {len(line.split()) for line in lines}
    if len(widths) == 1 and widths.pop() > 1:
        return "whitespace"
    return ","


def _describe_parse_error(
    path: Path, encoding: str, delimiter: str, columns: list[str] | None, exc: Exception
) -> DataError:
    """Find the first ragged line with the csv module, which knows line numbers."""
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        expected = len(columns) if columns else None
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if expected is None:
                expected = len(row)
                continue
            if len(row) != expected:
                return DataError(
                    f"{path} line {reader.line_num}: expected {expected} fields (as in the "
                    f"{'header' if columns is None else 'data.columns list'}), found {len(row)}; "
                    f"check the delimiter {delimiter!r} and quoting on that line"
                )
    return DataError(f"{path}: not a readable CSV file ({exc})")


def _check_header(frame: pd.DataFrame, path: Path) -> None:
    seen: set[str] = set()
    for name in frame.columns:
        if name == "" or name.startswith("Unnamed"):
            raise DataError(f"{path}: the header has an empty column name; name every column")
        if name in seen:
            raise DataError(f"{path}: the header names column {name!r} twice")
        seen.add(name)


def _check_not_empty(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    if len(frame) == 0:
        raise DataError(f"{path}: has a header but no data rows")
    return frame


def read_values(path: Path) -> list[float]:
    """One number per line (e.g. NASA's RUL file), as floats."""
    if not path.is_file():
        raise DataError(f"data.test.labels: file not found: {path}")
    text = path.read_text(encoding="utf-8", errors="replace")
    values = []
    for n, line in enumerate(io.StringIO(text), start=1):
        if line.strip():
            try:
                values.append(float(line.split()[0]))
            except ValueError:
                raise DataError(f"{path} line {n}: {line.strip()!r} is not a number") from None
    return values
