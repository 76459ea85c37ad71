"""Scoring through ONNX Runtime: an exported graph's session and its feed from raw rows.

ONNX Runtime starts a telemetry client at import that looks up a remote host; the variable
below stops it only if it is set before the import, so every import of onnxruntime in modelfab
goes through `session()` here (and `modelfab/__init__.py` sets it for the process too).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def session(model: bytes) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initializers are not the user's
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def feed_records(records: list[dict], inputs: dict) -> dict[str, np.ndarray]:
    """`feed` from records already checked against the request model, without a DataFrame
    (its construction alone costs more than the graph at batch 1)."""
    out = {}
    for column, spec in inputs.items():
        values = [r.get(column) for r in records]
        if spec["type"] == "double":
            out[spec["name"]] = np.array([np.nan if v is None else v for v in values], np.float64).reshape(-1, 1)
        else:
            out[spec["name"]] = np.array(["" if v is None else str(v) for v in values], object).reshape(-1, 1)
    return out


def feed(frame: pd.DataFrame, inputs: dict) -> dict[str, np.ndarray]:
    """The graph's inputs from raw rows: (N, 1) double for numeric columns (missing as NaN),
    (N, 1) string for categorical ones (missing as the empty string)."""
    out = {}
    for column, spec in inputs.items():
        values = frame[column]
        if spec["type"] == "double":
            out[spec["name"]] = pd.to_numeric(values, errors="coerce").to_numpy(np.float64).reshape(-1, 1)
        else:
            out[spec["name"]] = values.astype("string").fillna("").to_numpy(object).reshape(-1, 1)
    return out


def pixel_feed(values: Any, info: dict) -> dict[str, np.ndarray]:
    """The decoded images of an image graph (paths or data URLs)."""
    from modelfab.export.images import pixels

    return {"pixels": pixels(list(values), info["inputs"]["pixels"]["shape"][-1])}


def verified(path: Path, wanted: str, info: dict) -> bytes:
    """The file's bytes, if its SHA-256 is the one recorded at export."""
    from modelfab.errors import StoreError

    if not path.is_file():
        raise StoreError(f"{path.parent}: no {path.name} ({info.get('reason', 'not exported')})")
    data = path.read_bytes()
    found = hashlib.sha256(data).hexdigest()
    if found != wanted:
        raise StoreError(f"{path}: its SHA-256 {found[:12]} is not the {wanted[:12]} recorded at export "
                         "(the file was changed or swapped); it is not loaded")
    return data


FORMS = ("int8", "pruned")  # the compressed forms, each a record in onnx.json


def served_form(info: dict) -> tuple[str, str]:
    """The file (and its digest) a server loads: the fastest kept compressed form, or model.onnx."""
    kept = [(info[form][form]["ms_batch_64"], info[form]) for form in FORMS if (info.get(form) or {}).get("kept")]
    if not kept:
        return "model.onnx", info["sha256"]
    best = min(kept, key=lambda pair: pair[0])[1]
    return best["file"], best["sha256"]


class OnnxScorer:
    """An exported package's graph, loaded once its file matches the digest recorded at export."""

    def __init__(self, folder: Path, info: dict, int8: bool = True) -> None:
        """`int8`: load the compressed graph where the export kept one (int8 or pruned: the
        faster at batch 64, as measured then); otherwise the fp32 graph."""
        name, wanted = served_form(info) if int8 else ("model.onnx", info["sha256"])
        self.info, self.file = info, name
        self.session = session(verified(Path(folder) / name, wanted, info))

    def scores(self, frame: pd.DataFrame, features: np.ndarray | None = None) -> np.ndarray:
        """Scores as `predict_scores` gives them; `features` where the transform runs in Python."""
        if self.info["graph_input"] == "features":
            given = {"features": np.asarray(features, dtype=np.float32)}
        elif self.info["graph_input"] == "pixels":
            given = pixel_feed(frame[self.info["inputs"]["pixels"]["column"]], self.info)
        else:
            given = feed(frame, self.info["inputs"])
        return self._run(given)

    def scores_of_records(self, records: list[dict], predictor: Any) -> np.ndarray:
        """Scores of records checked against the request model (the server's path)."""
        if self.info["graph_input"] == "features":  # the transform runs in Python first
            return self._run({"features": predictor.features_of_records(records).astype(np.float32)})
        if self.info["graph_input"] == "pixels":  # only decoding runs in Python first
            column = self.info["inputs"]["pixels"]["column"]
            return self._run(pixel_feed([r.get(column) for r in records], self.info))
        return self._run(feed_records(records, self.info["inputs"]))

    def _run(self, given: dict) -> np.ndarray:
        out = np.asarray(self.session.run(["scores"], given)[0], dtype=np.float64)
        return out.ravel() if self.info["values"] else out
