"""Batch prediction: a file in, a file of predictions out, through the registered package."""

from __future__ import annotations

from pathlib import Path

from modelfab.data.images import resolve_paths
from modelfab.data.read import read_table
from modelfab.models.package import Predictor
from modelfab.registry import client as registry
from modelfab.spec.load import Project


def predict_file(project: Project, ref: str, source: Path, output: Path) -> tuple[int, str]:
    info = registry.resolve(registry.client(project.tracking_uri), ref)
    predictor = Predictor(info.package)
    frame = read_table(source, key="DATA")
    for name, column in predictor.meta["schema"]["columns"].items():
        if column["kind"] == "image":  # a manifest's relative paths are relative to the manifest
            frame = resolve_paths(frame, name, source.parent, source.name)
    predictions = predictor.predict_frame(frame, source=str(source))
    result = frame.join(predictions, rsuffix="_predicted")
    tmp = output.with_name(f".{output.name}.tmp")  # written whole, then renamed: never half a file
    if output.suffix.lower() in (".parquet", ".pq"):
        result.to_parquet(tmp, index=False)
    else:
        result.to_csv(tmp, index=False)
    tmp.replace(output)
    return len(result), f"{info.name} version {info.version}"
