"""The model package's format, written and read here only.

A package is one folder: `package.json` (what the model is and expects: family and config,
task, target, classes, threshold, inputs, features, layout, schema), `transform.skops` (the
fitted transform), `model/` (the family's files), `reference.parquet` (the monitoring
reference), and for a blend `member-<i>/` packages. A second runtime (ONNX) adds its files and
keys here, with the format number.
"""

from __future__ import annotations

from pathlib import Path

from modelfab.artifacts import read_json, write_json
from modelfab.errors import DataError
from modelfab.version import __version__

PACKAGE_FILE = "package.json"
FORMAT = 1  # raise it when a key changes meaning; readers refuse a format newer than theirs


def write_meta(folder: Path, meta: dict) -> None:
    """Write `package.json`, led by the format and the modelfab version that wrote it."""
    write_json(Path(folder) / PACKAGE_FILE, {"format": FORMAT, "modelfab": __version__, **meta})


def read_meta(folder: Path) -> dict:
    """`package.json` of a package folder; DataError names the folder when it is none."""
    path = Path(folder) / PACKAGE_FILE
    if not path.is_file():
        raise DataError(f"{folder} is not a modelfab model package (no {PACKAGE_FILE})")
    meta = read_json(path)
    if int(meta.get("format", 1)) > FORMAT:
        raise DataError(f"{path}: package format {meta['format']} is newer than this modelfab reads "
                        f"({FORMAT}); upgrade modelfab to load it")
    return meta


def describe(config, report: dict, threshold: float, inputs: list[str], features: list[str],  # noqa: ANN001
             layout: dict | None, trained_on_validation: bool) -> dict:
    """What package.json says of a fitted model (the keys after `format` and `modelfab`)."""
    return {
        "family": config.type,
        "config": config.model_dump(mode="json"),
        "task": report["task"],
        "target": report["target"],
        "classes": report["classes"],
        "threshold": threshold,
        "trained_on_validation": trained_on_validation,
        "inputs": inputs,
        "features": features,
        "layout": layout,
        "schema": {k: report[k] for k in ("features", "entity", "time", "target")}
        | {"columns": {c: report["columns"][c] for c in inputs}},
    }


def describe_blend(config, report: dict, members: dict) -> dict:  # noqa: ANN001
    """package.json's keys for a blend: `members` and the inputs and schema covering theirs."""
    return {"family": "blend", "config": config.model_dump(mode="json"), "task": report["task"],
            "target": report["target"], "classes": report["classes"], "threshold": 0.5, "features": [],
            "layout": None, **members}
